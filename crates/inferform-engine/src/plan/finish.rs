//! Phases 8 to 12: what the walk leaves. Every module value is checked; objects the
//! configuration no longer has are deleted (or forgotten); root outputs are worked out;
//! `--target` trims the plan; `prevent_destroy` is enforced.

use std::collections::BTreeSet;

use inferform_lang::config::{Config, Resource};
use inferform_types::{
    Diagnostic, Diagnostics, InstanceKey, ModulePath, ResourceAddr, ResourceInstanceAddr, Value,
};

use super::{OutputChange, Plan, PlanCtx, PlanOptions, ResourceChange};
use crate::diff::object_value;
use crate::graph::ConfigGraph;
use crate::instances::remove_instance;
use crate::scope::Env;
use crate::{Action, Engine};

/// Phase 8: every local, and every input and output of every module instance, is worked
/// out, so that a mistake in one nothing reads is reported too.
pub(super) fn check_module_values(cx: &PlanCtx<'_>, env: &Env<'_>) {
    for path in &cx.config.module_paths() {
        let Some(view) = cx.config.module(path) else {
            continue;
        };
        for m in env.instances(&cx.roots, path) {
            for name in view.locals.keys() {
                env.local(&cx.roots, &m, name);
            }
            if !m.is_root() {
                for name in view.variables.keys() {
                    env.var(&cx.roots, &m, name);
                }
                for name in view.outputs.keys() {
                    env.output(&cx.roots, &m, name);
                }
            }
        }
    }
}

impl Engine {
    /// Phase 9: objects in state that the configuration no longer has (or everything, to
    /// destroy) are deleted; those a `removed` block with `destroy = false` names are
    /// forgotten.
    pub(super) fn plan_orphans(&self, cx: &mut PlanCtx<'_>) {
        let orphans: Vec<_> = cx
            .prior
            .iter()
            .filter(|(addr, _)| !cx.in_config.contains(*addr))
            .collect();
        let mut changes = Vec::new();
        for (addr, prior) in orphans {
            // What references see no longer includes it (`count` lowered, a key gone).
            remove_instance(&mut cx.roots, addr);
            let forget = !cx.opts.destroy
                && cx.config.removed.iter().any(|r| {
                    !r.destroy
                        && r.from == addr.resource.config_addr()
                        && addr.resource.module.is_root()
                });
            changes.push(ResourceChange {
                addr: addr.clone(),
                provider: prior.provider.clone(),
                action: if forget {
                    Action::Forget
                } else {
                    Action::Delete
                },
                before: Some(cx.prior_value(self, prior)),
                after: None,
                replace_paths: Vec::new(),
                dependencies: prior
                    .dependencies
                    .iter()
                    .filter_map(|d| d.parse::<ResourceInstanceAddr>().ok().map(|a| a.resource))
                    .collect(),
                deposed: None,
            });
        }
        cx.plan.changes.extend(changes);
    }

    /// Phase 9, continued: every deposed object in state (the old object of a create-first
    /// replacement that a kill or a failed delete left) is destroyed, whatever the
    /// configuration says. One that is the address's current object as well is the old
    /// object of a replacement whose create made nothing: it is not destroyed, but dropped
    /// from the deposed objects.
    pub(super) fn plan_deposed(&self, cx: &mut PlanCtx<'_>) {
        let mut changes = Vec::new();
        for (addr, deposed) in &cx.deposed {
            let current = cx.prior.get(addr);
            for (key, object) in &deposed.objects {
                let same =
                    current.is_some_and(|p| super::same_object(&p.attributes, &object.attributes));
                if same {
                    cx.plan
                        .drop_deposed
                        .entry(addr.clone())
                        .or_default()
                        .push(key.clone());
                    continue;
                }
                changes.push(ResourceChange {
                    addr: addr.clone(),
                    provider: deposed.provider.clone(),
                    action: Action::Delete,
                    before: Some(object_value(
                        &object.attributes,
                        &object.sensitive_paths,
                        self.schemas.get(&addr.resource.type_name),
                    )),
                    after: None,
                    replace_paths: Vec::new(),
                    dependencies: object
                        .dependencies
                        .iter()
                        .filter_map(|d| d.parse::<ResourceInstanceAddr>().ok().map(|a| a.resource))
                        .collect(),
                    deposed: Some(key.clone()),
                });
            }
        }
        cx.plan.changes.extend(changes);
    }
}

/// Phase 10: the root module's outputs as planned. An output showing a sensitive value must
/// say `sensitive = true`.
pub(super) fn plan_outputs(cx: &mut PlanCtx<'_>, env: &Env<'_>) {
    for (name, output) in &cx.config.outputs {
        let v = match env.output_value(&cx.roots, &ModulePath::root(), output) {
            Ok(v) => v,
            Err(d) => {
                cx.diags.push(d);
                continue;
            }
        };
        let sensitive = output.sensitive || v.is_sensitive();
        if v.is_sensitive() && !output.sensitive {
            cx.diags.push(
                Diagnostic::error(
                    "inferform::plan::output_sensitive",
                    format!("output `{name}` shows a sensitive value"),
                )
                .with_span(output.value.span())
                .with_help("add `sensitive = true` to the output block to show it only on request"),
            );
        }
        let before = cx.state.outputs.get(name).map(|o| {
            let v = Value::from_json(&o.value);
            if o.sensitive {
                v.sensitive()
            } else {
                v
            }
        });
        cx.plan.outputs.push(OutputChange {
            name: name.clone(),
            before,
            after: if sensitive { v.sensitive() } else { v },
            sensitive,
        });
    }
}

/// Whether module instance `m` is in the module instance `t` a target names (a step of `t`
/// without a key takes every instance).
fn in_module(m: &ModulePath, t: &ModulePath) -> bool {
    m.0.len() >= t.0.len()
        && m.0
            .iter()
            .zip(&t.0)
            .all(|(x, y)| x.name == y.name && (y.key == InstanceKey::None || x.key == y.key))
}

/// Whether `addr` is what the `--target` address `t` names (a step or an instance without a
/// key takes every instance).
fn targeted(addr: &ResourceInstanceAddr, t: &ResourceInstanceAddr) -> bool {
    let (a, b) = (&addr.resource, &t.resource);
    (a.mode, &a.type_name, &a.name) == (b.mode, &b.type_name, &b.name)
        && a.module.0.len() == b.module.0.len()
        && in_module(&a.module, &b.module)
        && (t.key == InstanceKey::None || addr.key == t.key)
}

/// Phase 11: keeps only the changes `--target` selects: the targeted resources or instances
/// and what they depend on; when destroying, the targets and what depends on them.
pub(super) fn retain_targets(plan: &mut Plan, opts: &PlanOptions, config: &Config) {
    let graph = ConfigGraph::build(config);
    let mut keep: BTreeSet<ResourceInstanceAddr> = plan
        .changes
        .iter()
        .filter(|c| {
            opts.targets.iter().any(|t| targeted(&c.addr, t))
                || opts
                    .module_targets
                    .iter()
                    .any(|t| in_module(&c.addr.resource.module, t))
        })
        .map(|c| c.addr.clone())
        .collect();
    loop {
        let before = keep.len();
        for c in &plan.changes {
            if opts.destroy {
                if destroys_kept_dependency(c, &plan.changes, &keep) {
                    // What depends on a destroyed target goes too.
                    keep.insert(c.addr.clone());
                }
            } else if keep.contains(&c.addr) {
                // What a kept change depends on is kept too.
                let mut deps: Vec<ResourceAddr> = c.dependencies.clone();
                if let Some(idx) = config.resource_position(&c.addr.resource.config_addr()) {
                    deps.extend(graph.resource_dependencies(config, idx));
                }
                for other in &plan.changes {
                    if deps.contains(&other.addr.resource.config_addr())
                        && other.addr.resource.module.related(&c.addr.resource.module)
                    {
                        keep.insert(other.addr.clone());
                    }
                }
            }
        }
        if keep.len() == before {
            break;
        }
    }
    plan.changes.retain(|c| keep.contains(&c.addr));
}

/// Whether `c` depends on a change that is kept, in a related module instance.
fn destroys_kept_dependency(
    c: &ResourceChange,
    changes: &[ResourceChange],
    keep: &BTreeSet<ResourceInstanceAddr>,
) -> bool {
    c.dependencies.iter().any(|d| {
        changes.iter().any(|o| {
            &o.addr.resource.config_addr() == d
                && o.addr.resource.module.related(&c.addr.resource.module)
                && keep.contains(&o.addr)
        })
    })
}

pub(crate) fn prevent_destroy(r: &Resource, addr: &ResourceInstanceAddr) -> Diagnostic {
    Diagnostic::error("inferform::plan::prevent_destroy", format!("{addr} has lifecycle.prevent_destroy set, but the plan would destroy it"))
        .with_span(r.span.clone())
        .with_help("remove prevent_destroy, or change the configuration so the object is not replaced or removed")
}

/// Phase 12: reports deletes of resources whose configuration still says prevent_destroy.
pub(crate) fn check_prevent_destroy(config: &Config, plan: &Plan, diags: &mut Diagnostics) {
    for change in &plan.changes {
        if change.action == Action::Delete && change.deposed.is_none() {
            if let Some(r) = config.resource(&change.addr.resource.config_addr()) {
                if r.lifecycle.prevent_destroy {
                    diags.push(prevent_destroy(r, &change.addr));
                }
            }
        }
    }
}
