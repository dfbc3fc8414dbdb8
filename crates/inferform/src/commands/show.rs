//! `inferform show [PLANFILE]`: the state as resource blocks, or a saved plan as `plan` prints it.

use std::collections::BTreeSet;
use std::path::Path;

use inferform_engine::planfile::PlanFile;
use inferform_types::Diagnostic;

use super::state::render_resource;
use crate::ui::Ui;
use crate::workspace;
use crate::ShowArgs;

/// Reads a saved plan, and refuses one this inferform cannot read exactly or one that was
/// changed after `plan --out` wrote it: what is shown and applied is what was reviewed. A plan
/// sealed under the `plan` encryption target is opened with the keys the configuration in
/// `dir` (or `INFERFORM_ENCRYPTION`) gives.
pub fn read_plan_file(
    dir: &Path,
    path: &Path,
    schemas: &std::collections::BTreeMap<String, inferform_types::Schema>,
) -> Result<PlanFile, Diagnostic> {
    let not_a_plan = |e: String| {
        Diagnostic::error(
            "inferform::plan::read",
            format!("{} is not a saved plan: {e}", path.display()),
        )
        .with_help("pass a file written by `inferform plan --out FILE`")
    };
    let bytes = std::fs::read(path).map_err(|e| not_a_plan(e.to_string()))?;
    let spec = crate::encryption::for_dir(dir)?;
    let sealer = crate::encryption::plan_sealer(spec.as_ref());
    let text = crate::encryption::open_plan(&sealer, path, &bytes)
        .map_err(|e| crate::encryption::crypto_diag("inferform::plan::decrypt", &e))?;
    let file: PlanFile = serde_json::from_slice(&text).map_err(|e| not_a_plan(e.to_string()))?;
    if file.format_version != inferform_engine::planfile::FORMAT_VERSION {
        return Err(Diagnostic::error(
            "inferform::plan::stale",
            format!(
                "Saved plan is stale: it was written in plan format {}, this inferform reads {}",
                file.format_version,
                inferform_engine::planfile::FORMAT_VERSION
            ),
        )
        .with_help("make a new plan with this inferform (`inferform plan --out FILE`), review it, and apply that"));
    }
    file.verify(schemas).map_err(|why| {
        Diagnostic::error(
            "inferform::plan::tampered",
            format!(
                "{} was changed after `inferform plan --out` wrote it: {why}",
                path.display()
            ),
        )
        .with_help(
            "a saved plan is applied only exactly as it was reviewed: make and review a new plan",
        )
    })?;
    Ok(file)
}

pub fn run(dir: &Path, args: &ShowArgs, ui: &Ui) -> u8 {
    let schemas = workspace::schemas(&workspace::factories());
    if let Some(path) = &args.plan_file {
        let prices = match crate::prices::load(args.prices.as_deref()) {
            Ok(p) => p,
            Err(d) => {
                ui.diagnostics([&d]);
                return 1;
            }
        };
        let file = match read_plan_file(dir, path, &schemas) {
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
        // Which resource blocks the configuration has, so deletes say why; without a loadable
        // configuration, those of the plan's own non-deleted changes.
        let (config, diags) = inferform_lang::load_dir(dir, &workspace::display_dir(dir));
        let in_config: BTreeSet<String> = if diags.has_errors() {
            plan.changes
                .iter()
                .filter(|c| c.action != inferform_engine::Action::Delete)
                .map(|c| c.addr.resource.to_string())
                .collect()
        } else {
            config
                .resources
                .iter()
                .map(|r| r.addr.to_string())
                .collect()
        };
        if args.json {
            ui.line(
                &inferform_render::plan_json_priced(&plan, &schemas, &in_config, prices.as_ref())
                    .to_string(),
            );
        } else if args.markdown {
            ui.out(&inferform_render::plan_markdown_priced(
                &plan,
                &schemas,
                &in_config,
                prices.as_ref(),
            ));
        } else {
            ui.out(&inferform_render::render_plan_priced(
                &plan,
                &schemas,
                &in_config,
                ui.render(),
                prices.as_ref(),
            ));
        }
        return 0;
    }
    let (_lock, state) = match workspace::read_state(dir, &args.lock, "OperationTypeShow", ui) {
        Ok(s) => s,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    if args.json {
        ui.line(&state_json(&state, &schemas).to_string());
        return 0;
    }
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

/// The state's values as `terraform show -json` shapes them; sensitive values are null and only
/// marked in `sensitive_values`.
fn state_json(
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
                        "sensitive_values": sensitive_marks(&marked),
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
    let outputs: serde_json::Map<String, serde_json::Value> = state
        .outputs
        .iter()
        .map(|(k, o)| {
            let value = if o.sensitive {
                serde_json::Value::Null
            } else {
                o.value.clone()
            };
            (
                k.clone(),
                serde_json::json!({"sensitive": o.sensitive, "type": inferform_types::value::output_type(&o.value, o.sensitive), "value": value}),
            )
        })
        .collect();
    serde_json::json!({
        "format_version": "1.0",
        "inferform_version": env!("CARGO_PKG_VERSION"),
        "values": {"outputs": outputs, "root_module": {"resources": resources}},
    })
}

/// `true` where a value is sensitive, in the value's shape; `{}` elsewhere.
fn sensitive_marks(v: &inferform_types::Value) -> serde_json::Value {
    use inferform_types::Value;
    match v {
        Value::Sensitive(_) => serde_json::Value::Bool(true),
        Value::Object(m) => serde_json::Value::Object(
            m.iter()
                .filter(|(_, v)| v.is_sensitive())
                .map(|(k, v)| (k.clone(), sensitive_marks(v)))
                .collect(),
        ),
        Value::List(items) | Value::Set(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| {
                    if i.is_sensitive() {
                        sensitive_marks(i)
                    } else {
                        serde_json::json!({})
                    }
                })
                .collect(),
        ),
        _ => serde_json::json!({}),
    }
}
