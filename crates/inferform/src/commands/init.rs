//! `inferform init`: checks the configured backend (reachable, schema present or created,
//! stored format not newer than this inferform's), and when it differs from the backend this
//! working directory used before, refuses to go on until the state is copied across
//! (`--migrate-state`) or the user says to start afresh (`--reconfigure`). State is never
//! silently left behind, and the source of a copy is never written.

use std::path::Path;

use inferform_state::backend::Backend;
use inferform_types::Diagnostic;

use crate::backend::{self, one, Settings};
use crate::ui::Ui;
use crate::workspace::{self, CliVar};
use crate::InitArgs;

pub fn run(dir: &Path, args: &InitArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    match init(dir, args, vars, ui) {
        Ok(()) => 0,
        Err(diags) => {
            ui.diagnostics(diags.iter());
            1
        }
    }
}

type Diags = inferform_types::Diagnostics;

fn init(dir: &Path, args: &InitArgs, vars: &[CliVar], ui: &Ui) -> Result<(), Diags> {
    let ws = workspace::load_for_init(dir, vars)?;
    ui.diagnostics(ws.warnings.iter());
    let kind = ws
        .config
        .backend
        .as_ref()
        .map_or("local", |b| b.kind.as_str())
        .to_string();
    let previous = backend::recorded(dir).map_err(one)?;
    let mut cli = backend::cli_settings(&kind, &args.backend_config).map_err(one)?;
    if args.backend_config.is_empty() && !args.reconfigure {
        // A re-run of init keeps the settings given to the last one; --reconfigure forgets them.
        if let Some(prev) = previous.as_ref().filter(|p| p.kind == kind) {
            cli = prev.cli.clone();
        }
    }
    let wanted = backend::configured(&ws.config, &ws.vars, cli)?;
    ui.line("Initializing the backend...");
    // Both sides use the configuration's state encryption: a migration moves state between
    // backends, not between keys (the fallback reads either way).
    let sealer = ws.state_sealer();
    let target = wanted.open_sealed(dir, sealer.clone()).map_err(one)?;
    target
        .init()
        .map_err(|e| one(backend::state_diag("inferform::backend::init", &e)))?;
    if backend::block_has_password(&wanted) {
        ui.diagnostics([&Diagnostic::warning(
            "inferform::backend::password_in_config",
            "the backend block's conn_str holds a password",
        )
        .with_help("it is recorded in .inferform/backend.json, and a variable holding it is written in clear into saved plans; set PG_CONN_STR in the environment instead")]);
    }
    let before = previous.clone().unwrap_or_else(Settings::local);
    let wanted_id = wanted.identity(dir).map_err(one)?;
    let changed = before.identity(dir).ok().as_deref() != Some(wanted_id.as_str());
    if changed && !args.reconfigure {
        let source = before.open_sealed(dir, sealer.clone()).map_err(|mut d| {
            d.help = Some(format!(
                "{}; the working directory used {} before, and init must read it to know whether state is left there: restore its settings, or pass --reconfigure to leave it behind",
                d.help.unwrap_or_default(),
                before.describe()
            ));
            one(d)
        })?;
        let held = states_held(source.as_ref()).map_err(|e| {
            let mut d = backend::state_diag("inferform::backend::previous", &e);
            d.help = Some(format!(
                "{}; the working directory used {} before, and init must know whether state is left there: fix the access, or pass --reconfigure to leave it behind",
                d.help.unwrap_or_default(),
                before.describe()
            ));
            one(d)
        })?;
        if !held.is_empty() && !args.migrate_state {
            let list = held
                .iter()
                .map(|(name, n)| format!("{name} ({n} resource instance(s))"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(one(
                Diagnostic::error(
                    "inferform::backend::changed",
                    format!(
                        "Backend configuration changed: {} holds state that {} does not have",
                        before.describe(),
                        wanted.describe()
                    ),
                )
                .with_help(format!(
                    "state of workspace(s) {list} would be left behind: run `inferform init --migrate-state` to copy it to the new backend, or `inferform init --reconfigure` to start afresh and leave it where it is"
                )),
            ));
        }
        if args.migrate_state {
            for (name, _) in &held {
                migrate(source.as_ref(), target.as_ref(), name, args, ui)?;
                ui.line(&format!(
                    "Copied the state of workspace \"{name}\" from {} to {}.",
                    before.describe(),
                    wanted.describe()
                ));
            }
        }
    }
    if previous.is_some() || wanted.kind != "local" {
        backend::record(dir, &wanted).map_err(one)?;
    }
    let current = backend::current_workspace(dir).map_err(one)?;
    if current != "default" {
        let known = target
            .workspaces()
            .map_err(|e| one(backend::state_diag("inferform::backend::workspaces", &e)))?;
        if !known.contains(&current) {
            ui.diagnostics([&Diagnostic::warning(
                "inferform::workspace::missing",
                format!("the selected workspace \"{current}\" does not exist in {}", wanted.describe()),
            )
            .with_help("create it with `inferform workspace new`, or select another with `inferform workspace select`")]);
        }
    }
    if wanted.kind == "local" {
        ui.line("\nThe state is kept locally in .inferform/state.");
    } else if changed {
        ui.line(&format!(
            "\nSuccessfully configured the backend \"{}\"! inferform will automatically\nuse this backend unless the backend configuration changes.",
            wanted.kind
        ));
    }
    ui.line("\ninferform has been successfully initialized!");
    Ok(())
}

/// The workspaces of `source` whose state tracks anything, with how many instances.
fn states_held(source: &dyn Backend) -> Result<Vec<(String, usize)>, inferform_state::StateError> {
    let mut out = Vec::new();
    for name in source.workspaces()? {
        if let Some(state) = source.read(&name)? {
            let n = state.resources.len();
            if n > 0 || !state.outputs.is_empty() || !state.intents.is_empty() {
                out.push((name, n));
            }
        }
    }
    Ok(out)
}

/// Copies one workspace's state exactly (lineage, serial, resources, outputs, create intents,
/// sensitive marks), holding both locks so nobody writes either side meanwhile. A destination
/// that already holds another history is refused, never overwritten.
fn migrate(
    source: &dyn Backend,
    target: &dyn Backend,
    name: &str,
    args: &InitArgs,
    ui: &Ui,
) -> Result<(), Diags> {
    let diag = |e: inferform_state::StateError| {
        one(backend::state_diag("inferform::backend::migrate", &e))
    };
    let from =
        workspace::open_state(source, name, "OperationTypeMigrate", &args.lock, ui).map_err(one)?;
    let state = from.store.load().map_err(diag)?;
    if name != "default" && !target.workspaces().map_err(diag)?.iter().any(|w| w == name) {
        target.create_workspace(name).map_err(diag)?;
    }
    let to =
        workspace::open_state(target, name, "OperationTypeMigrate", &args.lock, ui).map_err(one)?;
    let existing = to.store.load().map_err(diag)?;
    let occupied = !existing.resources.is_empty()
        || !existing.outputs.is_empty()
        || !existing.intents.is_empty();
    if occupied && existing.lineage != state.lineage {
        return Err(one(
            Diagnostic::error(
                "inferform::backend::lineage",
                format!(
                    "cannot migrate workspace \"{name}\": the new backend already holds a different state there (lineage {}, {} resource instance(s)); the source's lineage is {}",
                    existing.lineage,
                    existing.resources.len(),
                    state.lineage
                ),
            )
            .with_help("these are two different histories and one would be lost: point the backend at another schema_name or workspace, or delete that workspace first if its objects are gone"),
        ));
    }
    if occupied && existing.serial > state.serial {
        return Err(one(
            Diagnostic::error(
                "inferform::backend::newer",
                format!(
                    "cannot migrate workspace \"{name}\": the new backend's state is newer (serial {}) than the one being copied (serial {})",
                    existing.serial, state.serial
                ),
            )
            .with_help("that backend has changes the source lacks; use it as it is with `inferform init --reconfigure`"),
        ));
    }
    to.store.restore(&state).map_err(diag)?;
    to.record("init --migrate-state", None, ui);
    Ok(())
}
