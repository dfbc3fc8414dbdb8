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
    let warnings = diags.len() - errors;
    if args.json {
        let items: Vec<serde_json::Value> = diags
            .iter()
            .map(|d| {
                let range = d.span.as_ref().map(|s| {
                    let (line, column) = s.line_col();
                    serde_json::json!({"filename": &*s.file, "start": {"line": line, "column": column, "byte": s.range.start}})
                });
                serde_json::json!({
                    "severity": if d.is_error() { "error" } else { "warning" },
                    "code": d.code,
                    "summary": d.message,
                    "detail": d.help.clone().unwrap_or_default(),
                    "range": range,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "format_version": "1.0",
            "valid": errors == 0,
            "error_count": errors,
            "warning_count": warnings,
            "diagnostics": items,
        });
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
