//! Phase 7: the walk. Every resource and data block, in dependency order: expanded into its
//! instances in every instance of its module, evaluated, and diffed against the prior object
//! into a [`ResourceChange`].

use std::collections::{BTreeMap, BTreeSet};

use inferform_lang::config::{Config, Resource};
use inferform_lang::decode::decode_body;
use inferform_lang::eval::Scope;
use inferform_provider::wait::{condition, create_failed, Condition};
use inferform_types::{
    Diagnostic, Diagnostics, InstanceKey, ModulePath, ResourceAddr, ResourceInstanceAddr,
    ResourceMode, Value,
};

use super::{PlanCtx, Prior, ReplaceReason, ResourceChange};
use crate::conditions::resource_conditions;
use crate::diff::{diff, mark_sensitive, object_value, planned_create};
use crate::graph::{ConfigGraph, Node};
use crate::instances::{
    expand, instance_scope, read_data_source, resource_exprs, set_instance, set_placeholder,
};
use crate::scope::{Env, Roots};
use crate::{Action, Engine};

/// What one resource block is planned with: where it stands in the configuration and what
/// it can read.
struct Block<'p> {
    r: &'p Resource,
    roots: &'p Roots,
    env: &'p Env<'p>,
    /// The resources it depends on, from the graph.
    dependencies: Vec<ResourceAddr>,
}

impl Engine {
    /// Phase 7: plans every resource and data block in `order`.
    pub(super) async fn walk(
        &self,
        cx: &mut PlanCtx<'_>,
        env: &Env<'_>,
        graph: &ConfigGraph,
        order: &[Node],
    ) {
        let failed = failed_objects(&cx.prior, &cx.plan.adopted, &cx.waited);
        for node in order {
            // Variables, locals, module calls and outputs are worked out when something reads
            // them, by `env`. A destroy plan plans no block: everything state tracks goes,
            // and the values references see stay as they are, so module expansions can
            // still be worked out.
            let (Node::Resource(i), false) = (node, cx.opts.destroy) else {
                continue;
            };
            let r = &cx.config.resources[*i];
            let dependencies = graph.resource_dependencies(cx.config, *i);
            if r.addr.mode == ResourceMode::Data {
                self.walk_data(cx, env, r, dependencies).await;
            } else {
                self.walk_resource(cx, env, r, dependencies, &failed);
            }
        }
    }

    async fn walk_data(
        &self,
        cx: &mut PlanCtx<'_>,
        env: &Env<'_>,
        r: &Resource,
        dependencies: Vec<ResourceAddr>,
    ) {
        let roots = std::mem::take(&mut cx.roots);
        let block = Block {
            r,
            roots: &roots,
            env,
            dependencies,
        };
        let planned = self.plan_data(&block, &mut cx.diags).await;
        cx.roots = roots;
        for (addr, value, change) in planned {
            set_instance(&mut cx.roots, &addr, value);
            if let Some(change) = change {
                cx.plan.changes.push(change);
            }
        }
    }

    fn walk_resource(
        &self,
        cx: &mut PlanCtx<'_>,
        env: &Env<'_>,
        r: &Resource,
        dependencies: Vec<ResourceAddr>,
        failed: &BTreeSet<ResourceInstanceAddr>,
    ) {
        let triggered = triggered(r, &cx.plan.changes);
        let (state, opts, prior) = (cx.state, cx.opts, &cx.prior);
        let reason = |a: &ResourceInstanceAddr| -> Option<ReplaceReason> {
            let tainted = state
                .resources
                .get(&a.to_string())
                .is_some_and(|r| r.tainted);
            if (tainted || failed.contains(a)) && prior.contains_key(a) {
                Some(ReplaceReason::Tainted)
            } else if opts.replace.iter().any(|t| t == a) {
                Some(ReplaceReason::Requested)
            } else if triggered.iter().any(|m| m.related(&a.resource.module)) {
                Some(ReplaceReason::Triggered)
            } else {
                None
            }
        };
        let block = Block {
            r,
            roots: &cx.roots,
            env,
            dependencies,
        };
        let (changes, diags) = self.plan_resource(&block, prior, &|a| reason(a).is_some());
        let reasons: Vec<Option<ReplaceReason>> =
            changes.iter().flatten().map(|c| reason(&c.addr)).collect();
        cx.diags.extend(diags);
        let Some(changes) = changes else { return };
        // Reset the resource's entry in every module instance, so that instances no longer
        // configured vanish.
        for m in env.instances(&cx.roots, &r.addr.module) {
            let root = cx.roots.entry(m.clone()).or_default();
            if let Some(Value::Object(by_name)) = root.get_mut(&r.addr.type_name) {
                by_name.remove(&r.addr.name);
            }
            if r.count.is_some() {
                set_placeholder(root, &r.addr, Value::List(Vec::new()));
            } else if r.for_each.is_some() {
                set_placeholder(root, &r.addr, Value::Object(BTreeMap::new()));
            }
        }
        for (change, why) in changes.into_iter().zip(reasons) {
            cx.in_config.insert(change.addr.clone());
            if let (Action::Replace { .. }, true, Some(why)) =
                (change.action, change.replace_paths.is_empty(), why)
            {
                cx.plan.replace_reasons.insert(change.addr.clone(), why);
            }
            let v = change
                .after
                .clone()
                .or_else(|| change.before.clone())
                .unwrap_or(Value::Null);
            set_instance(&mut cx.roots, &change.addr, v);
            cx.plan.changes.push(change);
        }
    }

    /// Plans one data block: reads it now when its arguments are known; otherwise plans a
    /// read during apply, its values unknown until then.
    async fn plan_data(
        &self,
        b: &Block<'_>,
        diags: &mut Diagnostics,
    ) -> Vec<(ResourceInstanceAddr, Value, Option<ResourceChange>)> {
        let r = b.r;
        let Some(schema) = self.data_schemas.get(&r.addr.type_name) else {
            diags.push(
                Diagnostic::error(
                    "inferform::plan::unknown_type",
                    format!("unknown data source `{}`", r.addr.type_name),
                )
                .with_span(r.span.clone()),
            );
            return Vec::new();
        };
        let provider_key = Config::provider_key(r);
        let Some(provider) = self.providers.get(&provider_key).cloned() else {
            diags.push(
                Diagnostic::error(
                    "inferform::plan::no_provider",
                    format!("provider `{provider_key}` is not configured"),
                )
                .with_span(r.span.clone()),
            );
            return Vec::new();
        };
        let what = format!("data \"{}\" \"{}\"", r.addr.type_name, r.addr.name);
        let Some(instances) = instances_of(r, b.roots, b.env, diags) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (m, key, each, scope) in instances {
            let addr = r.addr.clone().in_module(m).instance(key.clone());
            let iscope = instance_scope(&scope, &key, &each, r.count.is_some());
            let before = diags.0.len();
            let cfg = decode_body(&r.body, schema, &iscope, &what, diags);
            if diags.0[before..].iter().any(|d| d.is_error()) {
                continue;
            }
            let Some(json) = cfg.to_json() else {
                // A check's data source is read again once the apply is done, when the
                // check is judged, rather than in the apply's own order.
                if r.check.is_some() {
                    out.push((addr, Value::Unknown, None));
                    continue;
                }
                let after = mark_sensitive(planned_create(&cfg, schema), schema);
                let change = ResourceChange {
                    addr: addr.clone(),
                    provider: provider_key.clone(),
                    action: Action::Read,
                    before: None,
                    after: Some(after.clone()),
                    replace_paths: Vec::new(),
                    dependencies: b.dependencies.clone(),
                    deposed: None,
                };
                out.push((addr, after, Some(change)));
                continue;
            };
            let read =
                read_data_source(provider.as_ref(), &r.addr.type_name, &cfg, json, schema).await;
            match read {
                Ok(value) => out.push((addr, value, None)),
                // A check's data source that cannot be read fails the check, which warns:
                // the plan goes on.
                Err(e) if r.check.is_some() => {
                    diags.push(crate::conditions::scoped_data_failed(r, &addr, &e));
                    out.push((addr, Value::Unknown, None));
                }
                Err(e) => {
                    diags.push(data_read_failed(r, &addr, &e));
                    // What refers to it sees an unknown value, not a second error.
                    out.push((addr, Value::Unknown, None));
                }
            }
        }
        out
    }

    /// Plans every instance of one resource block. `None` when the block could not be
    /// expanded. `force_replace` says which instances are replaced whatever their diff.
    fn plan_resource(
        &self,
        b: &Block<'_>,
        prior: &BTreeMap<ResourceInstanceAddr, Prior>,
        force_replace: &dyn Fn(&ResourceInstanceAddr) -> bool,
    ) -> (Option<Vec<ResourceChange>>, Diagnostics) {
        let (r, mut diags) = (b.r, Diagnostics::new());
        let Some(schema) = self.schemas.get(&r.addr.type_name) else {
            diags.push(
                Diagnostic::error(
                    "inferform::plan::unknown_type",
                    format!("unknown resource type `{}`", r.addr.type_name),
                )
                .with_span(r.span.clone()),
            );
            return (None, diags);
        };
        let Some(instances) = instances_of(r, b.roots, b.env, &mut diags) else {
            return (None, diags);
        };
        let what = format!("resource \"{}\" \"{}\"", r.addr.type_name, r.addr.name);
        let mut out = Vec::new();
        for (m, key, each, scope) in instances {
            let addr = r.addr.clone().in_module(m).instance(key.clone());
            let iscope = instance_scope(&scope, &key, &each, r.count.is_some());
            let before_errors = diags.0.len();
            let subject = addr.to_string();
            resource_conditions(r, &iscope, &subject, None, false)
                .into_iter()
                .for_each(|d| diags.push(d));
            let mut cfg = decode_body(&r.body, schema, &iscope, &what, &mut diags);
            if diags.0[before_errors..].iter().any(|d| d.is_error()) {
                continue;
            }
            if r.addr.type_name == "inferform_data" {
                if let Value::Object(m) = &mut cfg {
                    let input = m.get("input").cloned().unwrap_or(Value::Null);
                    m.insert("output".into(), input);
                }
            }
            let instance = Instance {
                block: b,
                schema,
                addr,
                cfg,
            };
            let prior_value = prior
                .get(&instance.addr)
                .map(|p| object_value(&p.attributes, &p.sensitive_paths, None));
            let change = match prior_value {
                None => instance.create(),
                Some(before) => {
                    let forced = force_replace(&instance.addr);
                    instance.change(before, forced, &mut diags)
                }
            };
            if let Some(planned) = &change.after {
                resource_conditions(r, &iscope, &subject, Some(planned), false)
                    .into_iter()
                    .for_each(|d| diags.push(d));
            }
            out.push(change);
        }
        (Some(out), diags)
    }
}

/// One instance of a managed resource, its configuration evaluated.
struct Instance<'b, 'p> {
    block: &'b Block<'p>,
    schema: &'b inferform_types::Schema,
    addr: ResourceInstanceAddr,
    cfg: Value,
}

impl Instance<'_, '_> {
    fn change_of(
        self,
        action: Action,
        before: Option<Value>,
        after: Value,
        replace_paths: Vec<String>,
    ) -> ResourceChange {
        ResourceChange {
            addr: self.addr,
            provider: Config::provider_key(self.block.r),
            action,
            before: before.map(|v| mark_sensitive(v, self.schema)),
            after: Some(mark_sensitive(after, self.schema)),
            replace_paths,
            dependencies: self.block.dependencies.clone(),
            deposed: None,
        }
    }

    /// A new object.
    fn create(self) -> ResourceChange {
        let after = planned_create(&self.cfg, self.schema);
        self.change_of(Action::Create, None, after, Vec::new())
    }

    /// An object that exists: no change, an update, or a replacement (when an attribute
    /// forces it, or `forced`).
    fn change(self, before: Value, forced: bool, diags: &mut Diagnostics) -> ResourceChange {
        let (r, cfg, schema) = (self.block.r, &self.cfg, self.schema);
        let d = diff(cfg, &before, schema, &r.lifecycle.ignore_changes);
        let mut planned = d.planned;
        if r.addr.type_name == "inferform_data" && !d.changed.is_empty() {
            if let Value::Object(m) = &mut planned {
                let input = cfg.get("input").cloned().unwrap_or(Value::Null);
                m.insert("output".into(), input);
            }
        }
        let action = if !d.replace_paths.is_empty() || forced {
            planned = planned_create(cfg, schema);
            Action::Replace {
                create_first: r.lifecycle.create_before_destroy,
            }
        } else if d.changed.is_empty() {
            Action::NoOp
        } else {
            Action::Update
        };
        if r.lifecycle.prevent_destroy && matches!(action, Action::Replace { .. }) {
            diags.push(super::finish::prevent_destroy(r, &self.addr));
        }
        self.change_of(action, Some(before), planned, d.replace_paths)
    }
}

fn data_read_failed(
    r: &Resource,
    addr: &ResourceInstanceAddr,
    e: &inferform_provider::ProviderError,
) -> Diagnostic {
    let help = if r.addr.type_name == crate::builtin::REMOTE_STATE {
        "check `backend`, `config` and `workspace`: the other configuration's state must exist, applied at least once in that workspace"
    } else {
        "check the look-up arguments: the object must exist before this plan"
    };
    Diagnostic::error("inferform::plan::data_read", format!("{addr}: {e}"))
        .with_span(r.span.clone())
        .with_help(help)
}

/// Where a resource's `replace_triggered_by` fires: the module instances in which a
/// referenced resource is created, updated or replaced, or a referenced attribute's planned
/// value differs from its prior one. An instance of the resource is replaced when its own
/// module instance is among them.
fn triggered(r: &Resource, changes: &[ResourceChange]) -> Vec<ModulePath> {
    use inferform_lang::refs::{references, Subject};
    let mut out = Vec::new();
    for expr in &r.lifecycle.replace_triggered_by {
        for reference in references(expr) {
            let Subject::Resource(target) = reference.subject else {
                continue;
            };
            let target = target.in_module(r.addr.module.clone());
            let attr = reference.attrs.first();
            let fired = changes
                .iter()
                .filter(|c| c.addr.resource.config_addr() == target && fires(c, attr))
                .map(|c| c.addr.resource.module.clone());
            out.extend(fired);
        }
    }
    out
}

/// Whether a change of a resource that `replace_triggered_by` names fires it: any create,
/// update or replacement, or only one that changes `attr` when the reference names one.
fn fires(c: &ResourceChange, attr: Option<&String>) -> bool {
    if c.action == Action::NoOp || c.action == Action::Delete {
        return false;
    }
    let Some(attr) = attr else {
        return true;
    };
    let before = c
        .before
        .as_ref()
        .and_then(|b| b.get(attr))
        .map(Value::deep_unmarked);
    match c.after.as_ref().and_then(|a| a.get(attr)) {
        None => before.is_some(),
        Some(a) => !a.is_wholly_known() || Some(a.deep_unmarked()) != before,
    }
}

/// The objects to replace because they are failed: adopted ones in any failed status (the
/// create an interrupted run started has failed; adopted as healthy, the object would stay
/// in state, broken, and everything built on it would fail on every apply), tracked ones
/// that refresh waited for and saw end failed (the change an interrupted run started has
/// failed), and tracked ones whose create failed (`CREATE_FAILED`: they never came up). All
/// are treated as tainted, as a failed create is.
fn failed_objects(
    prior: &BTreeMap<ResourceInstanceAddr, Prior>,
    adopted: &[ResourceInstanceAddr],
    waited: &BTreeSet<ResourceInstanceAddr>,
) -> BTreeSet<ResourceInstanceAddr> {
    prior
        .iter()
        .filter(|(addr, p)| {
            let Some(obj) = p.attributes.as_object() else {
                return false;
            };
            let settled_here = adopted.contains(addr) || waited.contains(*addr);
            create_failed(obj) || (settled_here && condition(obj) == Condition::Failed)
        })
        .map(|(addr, _)| addr.clone())
        .collect()
}

/// One instance of a resource block: its module instance, its key, `each.value`, and the
/// scope its body is evaluated in (without `count`/`each`).
type InstanceOf<'r> = (ModulePath, InstanceKey, Option<Value>, Scope<'r>);

/// Every instance of a resource block, in every instance of its module: the module
/// instance, the key, `each.value`, and the scope its body is evaluated in (without
/// `count`/`each`). `None` when a `count` or `for_each` cannot be expanded.
fn instances_of<'r>(
    r: &Resource,
    roots: &'r Roots,
    env: &Env,
    diags: &mut Diagnostics,
) -> Option<Vec<InstanceOf<'r>>> {
    let exprs = resource_exprs(r);
    let mut instances = Vec::new();
    for m in env.instances(roots, &r.addr.module) {
        let scope = env.scope(roots, &m, &exprs);
        match expand(r, &scope) {
            Ok(keys) => instances.extend(
                keys.into_iter()
                    .map(|(k, e)| (m.clone(), k, e, scope.clone())),
            ),
            Err(d) => {
                diags.push(d);
                return None;
            }
        }
    }
    Some(instances)
}
