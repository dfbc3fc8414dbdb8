//! `inferform show [PLANFILE]`: the state as resource blocks, or a saved plan as `plan` prints it.

use std::collections::BTreeSet;
use std::path::Path;

use inferform_engine::planfile::PlanFile;
use inferform_state::StateStore as _;
use inferform_types::Diagnostic;

use super::state::render_resource;
use crate::ui::Ui;
use crate::workspace;
use crate::ShowArgs;

/// Reads a saved plan file.
pub fn read_plan_file(path: &Path) -> Result<PlanFile, Diagnostic> {
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|e| {
            Diagnostic::error(
                "inferform::plan::read",
                format!("{} is not a saved plan: {e}", path.display()),
            )
            .with_help("pass a file written by `inferform plan --out FILE`")
        })
}

pub fn run(dir: &Path, args: &ShowArgs, ui: &Ui) -> u8 {
    let schemas = workspace::schemas(&workspace::factories());
    if let Some(path) = &args.plan_file {
        let file = match read_plan_file(path) {
            Ok(f) => f,
            Err(d) => {
                ui.diagnostics([&d]);
                return 1;
            }
        };
        let plan = match file.to_plan() {
            Ok(p) => p,
            Err(e) => {
                ui.diagnostics([&Diagnostic::error(
                    "inferform::plan::read",
                    format!("{}: {e}", path.display()),
                )]);
                return 1;
            }
        };
        let in_config: BTreeSet<String> = plan
            .changes
            .iter()
            .filter(|c| c.action != inferform_engine::Action::Delete)
            .map(|c| c.addr.resource.to_string())
            .collect();
        ui.out(&inferform_render::render_plan(
            &plan,
            &schemas,
            &in_config,
            ui.render(),
        ));
        return 0;
    }
    let timeout = match workspace::parse_timeout(&args.lock.lock_timeout) {
        Ok(t) => t,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    let lock = match workspace::open_state(dir, "OperationTypeShow", timeout) {
        Ok(l) => l,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    let state = match lock.store.load() {
        Ok(s) => s,
        Err(e) => {
            ui.diagnostics([&Diagnostic::error("inferform::state::read", e.to_string())]);
            return 1;
        }
    };
    if state.resources.is_empty() && state.outputs.is_empty() {
        ui.line("The state file is empty. No resources are represented.");
        return 0;
    }
    for r in state.resources.values() {
        ui.out(&render_resource(r, schemas.get(&r.type_name)));
        ui.line("");
    }
    if !state.outputs.is_empty() {
        ui.line("\nOutputs:\n");
        ui.out(&inferform_render::render_outputs(&state.outputs));
    }
    0
}
