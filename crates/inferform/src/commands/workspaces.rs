//! `inferform workspace list|show|new|select|delete`: separate states of one configuration, in
//! the local and pg backends alike. The selection is kept in `.inferform/environment`;
//! `INFERFORM_WORKSPACE` overrides it.

use std::path::Path;

use inferform_state::StateError;
use inferform_types::Diagnostic;

use crate::backend;
use crate::ui::Ui;
use crate::workspace;
use crate::WorkspaceCommand;

pub fn run(dir: &Path, cmd: &WorkspaceCommand, ui: &Ui) -> u8 {
    match run_inner(dir, cmd, ui) {
        Ok(()) => 0,
        Err(d) => {
            ui.diagnostics([&d]);
            1
        }
    }
}

fn state_err(e: StateError) -> Diagnostic {
    backend::state_diag("inferform::workspace::backend", &e)
}

fn run_inner(dir: &Path, cmd: &WorkspaceCommand, ui: &Ui) -> Result<(), Diagnostic> {
    let current = backend::current_workspace(dir)?;
    if let WorkspaceCommand::Show = cmd {
        ui.line(&current);
        return Ok(());
    }
    let target = backend::for_dir(dir)?;
    match cmd {
        WorkspaceCommand::Show => unreachable!("answered above"),
        WorkspaceCommand::List => {
            for name in target.workspaces().map_err(state_err)? {
                let mark = if name == current { "*" } else { " " };
                ui.line(&format!("{mark} {name}"));
            }
        }
        WorkspaceCommand::New { name, lock } => {
            target.create_workspace(name).map_err(state_err)?;
            // Open it once, so that the new state (its lineage) exists before anyone uses it.
            drop(workspace::open_state(
                target.as_ref(),
                name,
                "OperationTypeWorkspaceNew",
                lock,
                ui,
            )?);
            if backend::workspace_from_env() {
                ui.line(&format!("Created workspace \"{name}\". INFERFORM_WORKSPACE chooses the workspace, so it was not selected."));
                return Ok(());
            }
            select(dir, name)?;
            ui.line(&format!(
                "Created and switched to workspace \"{name}\"!\n\nYou're now on a new, empty workspace. Workspaces isolate their state,\nso if you run \"inferform plan\" inferform will not see any existing state\nfor this configuration."
            ));
        }
        WorkspaceCommand::Select { name } => {
            let known = target.workspaces().map_err(state_err)?;
            if !known.contains(name) {
                let help = match inferform_lang::suggest::did_you_mean(
                    name,
                    known.iter().map(String::as_str),
                ) {
                    Some(s) => format!(
                        "did you mean \"{s}\"? Or create it with `inferform workspace new {name}`"
                    ),
                    None => format!(
                        "create it with `inferform workspace new {name}`; the workspaces are: {}",
                        known.join(", ")
                    ),
                };
                return Err(Diagnostic::error(
                    "inferform::workspace::missing",
                    format!("Workspace \"{name}\" doesn't exist."),
                )
                .with_help(help));
            }
            select(dir, name)?;
            ui.line(&format!("Switched to workspace \"{name}\"."));
        }
        WorkspaceCommand::Delete { name, force, lock } => {
            if name == &current {
                return Err(Diagnostic::error(
                    "inferform::workspace::active",
                    format!("Workspace \"{name}\" is your active workspace."),
                )
                .with_help("you cannot delete the workspace you are using: select another first with `inferform workspace select`"));
            }
            if name == "default" {
                return Err(Diagnostic::error(
                    "inferform::workspace::default",
                    "the \"default\" workspace cannot be deleted",
                )
                .with_help(
                    "it always exists; remove what it tracks with `inferform destroy` instead",
                ));
            }
            // Hold its lock while checking and deleting, so no run writes it meanwhile.
            let held = workspace::open_state(
                target.as_ref(),
                name,
                "OperationTypeWorkspaceDelete",
                lock,
                ui,
            )?;
            let state = held.store.load().map_err(state_err)?;
            let tracked = state.resources.len() + state.intents.len();
            if tracked > 0 && !force {
                return Err(Diagnostic::error(
                    "inferform::workspace::not_empty",
                    format!(
                        "Workspace \"{name}\" is not empty: its state tracks {} resource instance(s) and {} create(s) an interrupted run may have made",
                        state.resources.len(),
                        state.intents.len()
                    ),
                )
                .with_help("destroy them first (`inferform destroy` in that workspace), or pass --force to delete the workspace and leave the objects in the cloud, unmanaged"));
            }
            drop(held);
            target.delete_workspace(name).map_err(state_err)?;
            if tracked > 0 {
                ui.diagnostics([&Diagnostic::warning(
                    "inferform::workspace::orphans",
                    format!(
                        "{} resource instance(s) that workspace \"{name}\" tracked are still in the cloud, now unmanaged",
                        state.resources.len()
                    ),
                )
                .with_help("import them into another workspace to manage them again")]);
            }
            ui.line(&format!("Deleted workspace \"{name}\"!"));
        }
    }
    Ok(())
}

fn select(dir: &Path, name: &str) -> Result<(), Diagnostic> {
    if backend::workspace_from_env() {
        return Err(Diagnostic::error(
            "inferform::workspace::env",
            "the workspace is set by INFERFORM_WORKSPACE",
        )
        .with_help(
            "unset INFERFORM_WORKSPACE to select workspaces with `inferform workspace select`",
        ));
    }
    backend::select_workspace(dir, name)
}
