//! Phases 4 and 5: `moved` blocks carry state to new addresses; `import` blocks read the
//! objects they bring under management.

use std::collections::BTreeMap;

use inferform_lang::config::{Config, Import};
use inferform_lang::eval::{eval, Scope};
use inferform_provider::OpContext;
use inferform_types::{Diagnostic, Value};

use super::{PlanCtx, Prior, Recorded};
use crate::Engine;

/// Phase 4: state recorded under a `moved` block's old address now belongs to the new one,
/// unless the new one is taken or the old one holds nothing.
pub(super) fn apply_moved(cx: &mut PlanCtx<'_>) {
    for m in &cx.config.moved {
        if cx.prior.contains_key(&m.to) {
            continue;
        }
        let Some(prior) = cx.prior.remove(&m.from) else {
            continue;
        };
        cx.prior.insert(m.to.clone(), prior);
        // The record moves with its deposed objects.
        if let Some(deposed) = cx.deposed.remove(&m.from) {
            cx.deposed.insert(m.to.clone(), deposed);
        }
        if let Some(keys) = cx.plan.drop_deposed.remove(&m.from) {
            cx.plan.drop_deposed.insert(m.to.clone(), keys);
        }
        for d in &mut cx.plan.drift {
            if d.addr == m.from {
                d.addr = m.to.clone();
            }
        }
        cx.plan.moved.push((m.from.clone(), m.to.clone()));
    }
}

/// The id an `import` block names, evaluated with the root module's variables.
fn import_id(import: &Import, scope: &Scope) -> Result<String, Diagnostic> {
    let v = eval(&import.id, scope)?;
    match v.as_str() {
        Some(s) => Ok(s.to_string()),
        None => Err(Diagnostic::error(
            "inferform::plan::import_id",
            format!("the import id must be a known string, got {}", v.kind()),
        )
        .with_span(import.id.span())
        .with_help("write the object's id as a string, or build it from variables")),
    }
}

fn no_import_target(import: &Import) -> Diagnostic {
    let to = &import.to;
    Diagnostic::error(
        "inferform::plan::import_target",
        format!("cannot import into {to}: the configuration has no such resource"),
    )
    .with_span(import.span.clone())
    .with_help(format!(
        "add a `resource \"{}\" \"{}\"` block for the object",
        to.resource.type_name, to.resource.name
    ))
}

impl Engine {
    /// Phase 5: reads the objects of `import` blocks that state does not track yet.
    pub(super) async fn plan_imports(&self, cx: &mut PlanCtx<'_>) {
        let meta = Value::object([(
            "workspace",
            Value::string(crate::scope::workspace_name(&cx.opts.workspace)),
        )]);
        let root = BTreeMap::from([
            ("var".to_string(), Value::Object(cx.vars.clone())),
            ("inferform".to_string(), meta.clone()),
            ("terraform".to_string(), meta),
        ]);
        let scope = Scope {
            root: Some(&root),
            bound: Vec::new(),
            base_dir: cx.opts.base_dir.clone(),
        };
        let config: &Config = cx.config;
        for import in &config.imports {
            if cx.prior.contains_key(&import.to) || cx.opts.destroy {
                continue;
            }
            let Some(resource) = config.resource(&import.to.resource.config_addr()) else {
                cx.diags.push(no_import_target(import));
                continue;
            };
            let id = match import_id(import, &scope) {
                Ok(id) => id,
                Err(d) => {
                    cx.diags.push(d);
                    continue;
                }
            };
            let provider_name = Config::provider_key(resource);
            let Some(provider) = self.providers.get(&provider_name) else {
                continue;
            };
            let (addr, type_name) = (import.to.to_string(), &import.to.resource.type_name);
            match provider.import(&OpContext::silent(), type_name, &id).await {
                Ok(Some(obj)) => {
                    let attrs = serde_json::Value::Object(obj);
                    let prior = Prior {
                        type_name: type_name.clone(),
                        provider: provider_name.clone(),
                        attributes: attrs.clone(),
                        dependencies: Vec::new(),
                        sensitive_paths: Vec::new(),
                    };
                    cx.prior.insert(import.to.clone(), prior);
                    let record = Recorded {
                        type_name: type_name.clone(),
                        provider: provider_name,
                        attributes: Some(attrs),
                    };
                    cx.plan.record.insert(import.to.clone(), record);
                    cx.plan.imports.insert(import.to.clone(), id);
                }
                Ok(None) => cx.diags.push(
                    Diagnostic::error(
                        "inferform::plan::import_missing",
                        format!("cannot import {addr}: no {type_name} has the id {id:?}"),
                    )
                    .with_span(import.span.clone())
                    .with_help(
                        "check the id; for objects inside a workspace it is WORKSPACE_ID/OBJECT_ID",
                    ),
                ),
                Err(e) => cx.diags.push(
                    Diagnostic::error(
                        "inferform::plan::import_failed",
                        format!("cannot import {addr}: {e}"),
                    )
                    .with_span(import.span.clone())
                    .with_help("check the provider's credentials and the id's form: WORKSPACE_ID/OBJECT_ID for objects inside a workspace"),
                ),
            }
        }
    }
}
