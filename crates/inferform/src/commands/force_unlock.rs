//! `inferform force-unlock ID`. Locks are released by what holds them: the local state's is
//! the database's exclusive file lock, which the operating system frees when its holder exits;
//! the pg backend's is a session advisory lock, which PostgreSQL frees when the holder's
//! connection ends. So a crashed or killed run never leaves a lock behind, and force-unlock
//! is for the other case: a run that still holds the lock but must be stopped (pg: its
//! database session is ended, and its next write fails), or a holder record left over.

use std::path::Path;

use inferform_state::backend::ForceUnlocked;

use crate::backend;
use crate::ui::Ui;
use crate::ForceUnlockArgs;

pub fn run(dir: &Path, args: &ForceUnlockArgs, ui: &Ui) -> u8 {
    let target = backend::for_dir(dir);
    let target = match target {
        Ok(b) => b,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    let workspace = match backend::current_workspace(dir) {
        Ok(w) => w,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    if !args.force {
        let question = format!(
            "Do you really want to force-unlock?\n  inferform will remove the lock {} on the state of workspace \"{workspace}\".\n  A run still holding it will have its database session ended.\n  Only 'yes' will be accepted to confirm.\n\n  Enter a value: ",
            args.lock_id
        );
        match ui.ask(&question) {
            Some(a) if a == "yes" => {}
            Some(_) => {
                ui.error_line("\nforce-unlock cancelled.");
                return 1;
            }
            None => {
                ui.error_line("\nError: no answer to the confirmation prompt (standard input is closed)\n  Run with --force to unlock without asking.");
                return 1;
            }
        }
    }
    match target.force_unlock(&workspace, &args.lock_id) {
        Ok(ForceUnlocked::NotLocked) => {
            // Nothing was unlocked: a lock ID from another workspace's run, most likely.
            let d = inferform_types::Diagnostic::error(
                "inferform::lock::not_locked",
                format!("the state of workspace \"{workspace}\" is not locked: no lock {} to remove", args.lock_id),
            )
            .with_help("if the lock belongs to another workspace, select it first (or set INFERFORM_WORKSPACE) and run force-unlock again");
            ui.diagnostics([&d]);
            1
        }
        Ok(ForceUnlocked::StaleRecordRemoved) => {
            ui.line("inferform state has been successfully unlocked!\n\nThe run that held the lock no longer exists; its lock record was removed.");
            0
        }
        Ok(ForceUnlocked::HolderStopped) => {
            ui.line("inferform state has been successfully unlocked!\n\nThe run that held the lock had its database session ended: it can write nothing more,\nand its next write fails. Check what it recorded with `inferform plan` before applying again.");
            0
        }
        Err(e) => {
            ui.diagnostics([&backend::state_diag("inferform::lock::force_unlock", &e)]);
            1
        }
    }
}
