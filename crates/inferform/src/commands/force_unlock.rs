//! `inferform force-unlock ID`. The embedded state's lock is the database's own exclusive file
//! lock, which the operating system releases when its holder exits, however it exits; so, as
//! with Terraform's local state, a lock held by a running process cannot be taken from it,
//! and a holder record left by a killed run is only cleaned up.

use std::path::Path;

use inferform_types::Diagnostic;

use crate::ui::Ui;
use crate::workspace;
use crate::ForceUnlockArgs;

pub fn run(dir: &Path, args: &ForceUnlockArgs, ui: &Ui) -> u8 {
    let info_path = workspace::lock_info_path(dir);
    let holder = workspace::read_lock_info(&info_path);
    if let Some(h) = &holder {
        if h.id != args.lock_id {
            let d = Diagnostic::error(
                "inferform::lock::id",
                format!("lock ID {:?} does not match the current lock", args.lock_id),
            )
            .with_help(format!("the current lock:\n{}", h.describe()));
            ui.diagnostics([&d]);
            return 1;
        }
    }
    match workspace::open_state(dir, "OperationTypeForceUnlock", std::time::Duration::ZERO) {
        Ok(lock) => {
            drop(lock);
            // The holder is gone; its record (if any) is stale.
            let _ = std::fs::remove_file(&info_path);
            if holder.is_some() {
                ui.line("inferform state has been successfully unlocked!\n\nThe run that held the lock no longer exists; its lock record was removed.");
            } else {
                ui.line("The state is not locked.");
            }
            0
        }
        Err(_) => {
            let d = Diagnostic::error(
                "inferform::lock::held",
                "Local state cannot be unlocked by another process: the run holding the lock is still running",
            )
            .with_help("wait for it to finish, or stop it (Ctrl-C lets it record what it did); its lock is released when it exits");
            ui.diagnostics([&d]);
            1
        }
    }
}
