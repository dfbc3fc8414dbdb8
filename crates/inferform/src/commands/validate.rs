//! `inferform validate`: load and check the configuration; touches no state and no cloud.

use std::path::Path;

use crate::ui::Ui;
use crate::workspace;
use crate::ValidateArgs;

pub fn run(dir: &Path, args: &ValidateArgs, ui: &Ui) -> u8 {
    // Validation does not need variable values: missing ones are not errors here.
    let result = workspace::load(dir, &[]);
    let diags: Vec<inferform_types::Diagnostic> = match &result {
        Ok(ws) => ws.warnings.iter().cloned().collect(),
        Err(d) => d
            .iter()
            .filter(|d| d.code != "inferform::vars::missing")
            .cloned()
            .collect(),
    };
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if args.json {
        let doc = inferform_render::validate_json(&diags);
        ui.line(&serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        ui.diagnostics(diags.iter());
        if errors == 0 {
            ui.line("Success! The configuration is valid.");
        }
    }
    if errors == 0 {
        0
    } else {
        1
    }
}
