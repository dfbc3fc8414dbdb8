//! The JSON renderings commands share, each written once: a diagnostic as Terraform's JSON
//! shapes it (in `--json` lines and in `validate --json`), the `validate --json` document, and
//! root outputs as `output --json`, `show --json` and the `outputs` line of `apply --json`
//! write them, and the state as `show --json` writes it.

use std::collections::BTreeMap;

use inferform_state::OutputState;
use inferform_types::Diagnostic;
use serde_json::{json, Map, Value as Json};

/// A diagnostic as Terraform's JSON shapes it: severity, code, summary, detail, and the range
/// (file, line, column, byte of its start) when it has a place.
pub fn diagnostic_json(d: &Diagnostic) -> Json {
    let range = d.span.as_ref().map(|s| {
        let (line, column) = s.line_col();
        json!({"filename": &*s.file, "start": {"line": line, "column": column, "byte": s.range.start}})
    });
    json!({
        "severity": if d.is_error() { "error" } else { "warning" },
        "code": d.code,
        "summary": d.message,
        "detail": d.help.clone().unwrap_or_default(),
        "range": range,
    })
}

/// `validate --json`: whether the configuration is valid, the counts, and every diagnostic.
pub fn validate_json(diags: &[Diagnostic]) -> Json {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    json!({
        "format_version": "1.0",
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": diags.len() - errors,
        "diagnostics": diags.iter().map(diagnostic_json).collect::<Vec<_>>(),
    })
}

/// Whether a sensitive output's value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SensitiveOutputs {
    /// As `output --json` does, like Terraform's: the user asked for the values.
    Shown,
    /// `null`, its `sensitive` flag saying it is there: everywhere else.
    Null,
}

/// Root outputs by name: `{"sensitive", "type", "value"}` each.
pub fn outputs_json(outputs: &BTreeMap<String, OutputState>, sensitive: SensitiveOutputs) -> Json {
    let doc: Map<String, Json> = outputs
        .iter()
        .map(|(k, o)| {
            let value = if o.sensitive && sensitive == SensitiveOutputs::Null {
                Json::Null
            } else {
                o.value.clone()
            };
            let ty = inferform_types::value::output_type(&o.value, o.sensitive);
            (
                k.clone(),
                json!({"sensitive": o.sensitive, "type": ty, "value": value}),
            )
        })
        .collect();
    Json::Object(doc)
}

/// The state's values as `terraform show -json` shapes them; sensitive values are null and only
/// marked in `sensitive_values`.
pub fn state_json(
    state: &inferform_state::State,
    schemas: &std::collections::BTreeMap<String, inferform_types::Schema>,
) -> serde_json::Value {
    let resources: Vec<serde_json::Value> = state
        .resources
        .values()
        .filter_map(|r| {
            let addr: inferform_types::ResourceInstanceAddr = r.addr.parse().ok()?;
            let schema = schemas.get(&r.type_name);
            // The current object, then each deposed one with its `deposed_key`, as
            // Terraform lists them.
            let current = (inferform_engine::diff::marked(r.value(), schema), None);
            let deposed = r.deposed.iter().map(|(key, d)| {
                (
                    inferform_engine::diff::marked(d.value(), schema),
                    Some(key.as_str()),
                )
            });
            let entries: Vec<serde_json::Value> = std::iter::once(current)
                .chain(deposed)
                .map(|(marked, key)| {
                    let mut entry = serde_json::json!({
                        "address": r.addr,
                        "mode": "managed",
                        "type": r.type_name,
                        "name": addr.resource.name,
                        "provider_name": r.provider,
                        "values": marked.to_json_redacted(),
                        "sensitive_values": state_sensitive_marks(&marked),
                    });
                    match &addr.key {
                        inferform_types::InstanceKey::None => {}
                        inferform_types::InstanceKey::Int(i) => entry["index"] = (*i).into(),
                        inferform_types::InstanceKey::Str(k) => entry["index"] = k.clone().into(),
                    }
                    match key {
                        Some(key) => entry["deposed_key"] = key.into(),
                        None if r.tainted => entry["tainted"] = true.into(),
                        None => {}
                    }
                    entry
                })
                .collect();
            Some(entries)
        })
        .flatten()
        .collect();
    let outputs = outputs_json(&state.outputs, SensitiveOutputs::Null);
    serde_json::json!({
        "format_version": "1.0",
        "inferform_version": env!("CARGO_PKG_VERSION"),
        "values": {"outputs": outputs, "root_module": {"resources": resources}},
    })
}

/// `true` where a value is sensitive, in the value's shape; `{}` elsewhere (the form
/// `show --json` of the state has always had).
fn state_sensitive_marks(v: &inferform_types::Value) -> serde_json::Value {
    use inferform_types::Value;
    match v {
        Value::Sensitive(_) => serde_json::Value::Bool(true),
        Value::Object(m) => serde_json::Value::Object(
            m.iter()
                .filter(|(_, v)| v.is_sensitive())
                .map(|(k, v)| (k.clone(), state_sensitive_marks(v)))
                .collect(),
        ),
        Value::List(items) | Value::Set(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| {
                    if i.is_sensitive() {
                        state_sensitive_marks(i)
                    } else {
                        serde_json::json!({})
                    }
                })
                .collect(),
        ),
        _ => serde_json::json!({}),
    }
}

/// The outputs after an apply or in `show`: `Outputs:` and one `name = value` line each,
/// sensitive ones as `<sensitive>`, after a blank line; nothing when there are none.
pub fn outputs_section(outputs: &BTreeMap<String, OutputState>) -> String {
    if outputs.is_empty() {
        return String::new();
    }
    format!("\nOutputs:\n\n{}", crate::render_outputs(outputs))
}

/// How an apply or destroy ended, as counts.
#[derive(Clone, Copy, Debug)]
pub struct ApplySummary {
    pub destroy: bool,
    /// Nothing failed.
    pub ok: bool,
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
}

/// `Apply complete! Resources: 1 added, 0 changed, 0 destroyed.` (or `Apply failed.`, or
/// `Destroy complete! Resources: 2 destroyed.`), after a blank line.
pub fn apply_summary(s: ApplySummary, style: crate::Style) -> String {
    if s.destroy {
        let head = if s.ok {
            "Destroy complete!"
        } else {
            "Destroy failed."
        };
        return format!(
            "\n{} Resources: {} destroyed.",
            style.bold(head),
            s.destroyed
        );
    }
    let head = if s.ok {
        "Apply complete!"
    } else {
        "Apply failed."
    };
    format!(
        "\n{} Resources: {} added, {} changed, {} destroyed.",
        style.bold(head),
        s.added,
        s.changed,
        s.destroyed
    )
}

/// `fmt --diff`: a unified diff of a file's text before and after, with three lines of
/// context and Terraform's `old/FILE` and `new/FILE` headers.
pub fn file_diff(old: &str, new: &str, shown: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("old/{shown}"), &format!("new/{shown}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sensitive_output_is_null_unless_shown() {
        let outputs = BTreeMap::from([
            (
                "id".to_string(),
                OutputState {
                    value: json!("ws-1"),
                    sensitive: false,
                },
            ),
            (
                "key".to_string(),
                OutputState {
                    value: json!("s3cret"),
                    sensitive: true,
                },
            ),
        ]);
        let hidden = outputs_json(&outputs, SensitiveOutputs::Null);
        assert_eq!(hidden["key"]["value"], Json::Null);
        assert_eq!(hidden["key"]["sensitive"], json!(true));
        assert_eq!(hidden["id"]["value"], json!("ws-1"));
        assert!(!hidden.to_string().contains("s3cret"));
        let shown = outputs_json(&outputs, SensitiveOutputs::Shown);
        assert_eq!(shown["key"]["value"], json!("s3cret"));
    }

    #[test]
    fn validate_counts_errors_and_warnings() {
        let diags = [
            Diagnostic::error("inferform::x", "bad").with_help("fix it"),
            Diagnostic::warning("inferform::y", "odd"),
        ];
        let doc = validate_json(&diags);
        assert_eq!(doc["valid"], json!(false));
        assert_eq!(doc["error_count"], json!(1));
        assert_eq!(doc["warning_count"], json!(1));
        assert_eq!(doc["diagnostics"][0]["detail"], json!("fix it"));
        assert_eq!(doc["diagnostics"][1]["severity"], json!("warning"));
    }
}
