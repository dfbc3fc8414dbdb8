//! `inferform output`: the root outputs recorded in state.

use std::path::Path;

use inferform_types::Diagnostic;

use crate::ui::Ui;
use crate::workspace;
use crate::OutputArgs;

pub fn run(dir: &Path, args: &OutputArgs, ui: &Ui) -> u8 {
    let (_lock, state) = match workspace::read_state(dir, &args.lock, "OperationTypeOutput", ui) {
        Ok(s) => s,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    match &args.name {
        Some(name) => {
            let Some(o) = state.outputs.get(name) else {
                let d = Diagnostic::error(
                    "inferform::output::missing",
                    format!("output `{name}` not found"),
                )
                .with_help(
                    "run inferform output to list the outputs; apply first if the list is empty",
                );
                ui.diagnostics([&d]);
                return 1;
            };
            if args.json {
                ui.line(&o.value.to_string());
            } else if args.raw {
                match &o.value {
                    serde_json::Value::String(s) => ui.out(s),
                    serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                        ui.out(&o.value.to_string())
                    }
                    _ => {
                        let d = Diagnostic::error(
                            "inferform::output::not_raw",
                            format!("output `{name}` is not a string, number or bool"),
                        )
                        .with_help("use --json for lists and objects");
                        ui.diagnostics([&d]);
                        return 1;
                    }
                }
            } else if o.sensitive {
                ui.line("<sensitive>");
            } else {
                ui.line(&inferform_render::format_value(
                    &inferform_types::Value::from_json(&o.value),
                    0,
                ));
            }
        }
        None => {
            if args.json {
                // As Terraform's `output -json`: the user asked for the values.
                let doc = inferform_render::outputs_json(
                    &state.outputs,
                    inferform_render::SensitiveOutputs::Shown,
                );
                ui.line(&serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else if state.outputs.is_empty() {
                ui.error_line(
                    "No outputs found. Apply the configuration first, or add output blocks.",
                );
            } else {
                ui.out(&inferform_render::render_outputs(&state.outputs));
            }
        }
    }
    0
}
