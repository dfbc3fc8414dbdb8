//! Planning: refresh what state tracks, evaluate the configuration in dependency order, and
//! diff each resource instance into a [`ResourceChange`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use inferform_lang::config::{Config, Resource};
use inferform_lang::decode::decode_body;
use inferform_lang::eval::{eval, Scope};
use inferform_provider::wait::{condition, create_failed, settle, Condition};
use inferform_provider::{Object, OpContext};
use inferform_state::State;
use inferform_types::{
    Diagnostic, Diagnostics, InstanceKey, ModulePath, ResourceAddr, ResourceInstanceAddr, Value,
};

use crate::conditions::{check_blocks, resource_conditions};
use crate::diff::{diff, mark_sensitive, planned_create, state_attributes};
use crate::graph::{body_exprs, condition_exprs, ConfigGraph, Node};
use crate::scope::{Env, Roots};
use crate::{Action, Engine};

/// What to plan.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// Read every tracked object from its cloud first (`--refresh=false` turns it off).
    pub refresh: bool,
    /// Plan to delete everything state tracks.
    pub destroy: bool,
    /// The configuration directory, for `path.*` and `file()`.
    pub base_dir: Option<PathBuf>,
    /// Only record what changed outside inferform; plan no changes (`--refresh-only`).
    pub refresh_only: bool,
    /// Plan only these resources or instances and what they depend on (`--target`); when
    /// destroying, these and what depends on them.
    pub targets: Vec<ResourceInstanceAddr>,
    /// `--target module.NAME[KEY]`: everything in those module instances (a step without a
    /// key takes every instance).
    pub module_targets: Vec<ModulePath>,
    /// Replace these instances even if nothing forces it (`--replace`).
    pub replace: Vec<ResourceInstanceAddr>,
    /// The current workspace: what `inferform.workspace` gives, in every module. The plan
    /// carries it to the apply, which evaluates again. Empty means `default`.
    pub workspace: String,
    /// Told of each object refresh reads, for progress on a terminal; the plan does not
    /// depend on it.
    pub observer: Option<ReadObserver>,
}

/// What a refresh read reports to: the apply's observer, each read a change with
/// [`Action::Read`] that starts, then finishes (with the object's id) or fails.
#[derive(Clone)]
pub struct ReadObserver(pub std::sync::Arc<dyn crate::ApplyObserver>);

impl std::fmt::Debug for ReadObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadObserver")
    }
}

impl ReadObserver {
    /// Runs one refresh read of `addr`, telling the observer it started and how it ended.
    async fn observe<T, E: std::fmt::Display>(
        observer: Option<ReadObserver>,
        addr: String,
        read: impl std::future::Future<Output = T>,
        outcome: impl Fn(&T) -> Result<Option<String>, &E>,
    ) -> T {
        let (Some(observer), Ok(parsed)) = (observer, addr.parse::<ResourceInstanceAddr>()) else {
            return read.await;
        };
        observer.0.started(&parsed, Action::Read);
        let start = std::time::Instant::now();
        let result = read.await;
        match outcome(&result) {
            Ok(id) => observer
                .0
                .finished(&parsed, Action::Read, id.as_deref(), start.elapsed()),
            Err(e) => observer.0.failed(&parsed, Action::Read, &e.to_string()),
        }
        result
    }
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            refresh: false,
            destroy: false,
            base_dir: None,
            refresh_only: false,
            targets: Vec::new(),
            module_targets: Vec::new(),
            replace: Vec::new(),
            workspace: crate::scope::DEFAULT_WORKSPACE.to_string(),
            observer: None,
        }
    }
}

/// The planned change of one resource instance.
#[derive(Clone, Debug)]
pub struct ResourceChange {
    pub addr: ResourceInstanceAddr,
    pub provider: String,
    pub action: Action,
    /// Prior state (refreshed), sensitive attributes marked. `None` for `Create`.
    pub before: Option<Value>,
    /// Planned state, with unknowns and sensitive marks. `None` for `Delete`.
    pub after: Option<Value>,
    /// Attribute paths whose change forces the replacement.
    pub replace_paths: Vec<String>,
    /// Resources this instance depends on (from configuration, or from state for deletes).
    pub dependencies: Vec<ResourceAddr>,
}

/// A change made outside inferform, found by refresh.
#[derive(Clone, Debug)]
pub struct Drift {
    pub addr: String,
    /// The state inferform had recorded.
    pub before: Value,
    /// What the cloud reports now; `None` when the object is gone.
    pub after: Option<Value>,
}

/// A root output's planned value.
#[derive(Clone, Debug)]
pub struct OutputChange {
    pub name: String,
    pub before: Option<Value>,
    pub after: Value,
    pub sensitive: bool,
}

/// A complete plan.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// One entry per resource instance in configuration or state, sorted by address.
    pub changes: Vec<ResourceChange>,
    pub drift: Vec<Drift>,
    pub outputs: Vec<OutputChange>,
    pub destroy: bool,
    /// Every resource value the configuration can refer to, as planned, by module instance:
    /// apply starts from it.
    pub roots: Roots,
    /// The root module's variables.
    pub vars: BTreeMap<String, Value>,
    /// Instances adopted from unresolved create intents.
    pub adopted: Vec<String>,
    /// Create intents of earlier runs that this plan resolved (adopted or found absent): the
    /// apply clears them.
    pub resolved_intents: Vec<String>,
    /// `moved` blocks that apply: (from, to) addresses.
    pub moved: Vec<(String, String)>,
    /// Instances that `import` blocks bring under management, with their import ids.
    pub imports: BTreeMap<String, String>,
    /// Objects the apply must record as they are now (imports, and with `refresh_only` every
    /// refreshed object): address → (type, provider, attributes; `None` when gone).
    pub record: BTreeMap<String, (String, String, Option<serde_json::Value>)>,
    /// The plan only records refreshed state (`--refresh-only`).
    pub refresh_only: bool,
    /// Targeting was in effect: the plan may be incomplete.
    pub targeted: bool,
    /// Why an instance is replaced when no attribute forces it: `tainted`, `requested`
    /// (`--replace`) or `triggered` (`replace_triggered_by`).
    pub replace_reasons: BTreeMap<String, String>,
    /// The workspace the plan was made in ([`PlanOptions::workspace`]), so that the apply
    /// evaluates `inferform.workspace` as the plan did. Empty means `default`.
    pub workspace: String,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.moved.is_empty()
            || !self.imports.is_empty()
            || (self.refresh_only && !self.drift.is_empty())
            || self.changes.iter().any(|c| c.action != Action::NoOp)
            || self.outputs.iter().any(|o| {
                o.before.as_ref().map(Value::deep_unmarked) != Some(o.after.deep_unmarked())
            })
    }

    /// (to add, to change, to destroy), counting a replace as one add and one destroy.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for ch in &self.changes {
            match ch.action {
                Action::Create => c.0 += 1,
                Action::Update => c.1 += 1,
                Action::Replace { .. } => {
                    c.0 += 1;
                    c.2 += 1
                }
                Action::Delete => c.2 += 1,
                Action::NoOp | Action::Read | Action::Forget => {}
            }
        }
        c
    }
}

pub(crate) fn json_object(v: &serde_json::Value) -> Object {
    v.as_object().cloned().unwrap_or_default()
}

/// What a data source's reading is to the configuration: the provider's attributes, marked
/// sensitive where the schema says, where the evaluated configuration `cfg` was (a look-up
/// argument from a sensitive variable stays hidden when the provider echoes it), and where the
/// provider says this reading is ([`crate::SENSITIVE_PATHS`], which it may add for values
/// whose sensitivity only the reading knows, such as a remote state's outputs).
pub(crate) fn data_value(mut obj: Object, cfg: &Value, schema: &inferform_types::Schema) -> Value {
    let mut paths = cfg.sensitive_paths();
    if let Some(extra) = obj.remove(crate::SENSITIVE_PATHS) {
        paths.extend(
            extra
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_array())
                .map(|p| {
                    p.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect::<Vec<String>>()
                }),
        );
    }
    // A remote state's `defaults` stand in for missing outputs: one from a sensitive value
    // stays sensitive among the outputs.
    if schema.attributes.contains_key("defaults") && schema.attributes.contains_key("outputs") {
        let from_defaults: Vec<Vec<String>> = paths
            .iter()
            .filter(|p| p.first().is_some_and(|h| h == "defaults"))
            .map(|p| {
                std::iter::once("outputs".to_string())
                    .chain(p[1..].iter().cloned())
                    .collect()
            })
            .collect();
        paths.extend(from_defaults);
    }
    let v = Value::from_json(&serde_json::Value::Object(obj)).mark_paths(&paths);
    mark_sensitive(v, schema)
}

/// Keys of a resource's instances, from `count` or `for_each`, with the value of `each`.
pub(crate) fn expand(
    r: &Resource,
    scope: &Scope,
) -> Result<Vec<(InstanceKey, Option<Value>)>, Diagnostic> {
    expand_meta(r.count.as_ref(), r.for_each.as_ref(), scope)
}

/// Keys of the instances a `count` or `for_each` makes, with the value of `each`.
pub(crate) fn expand_meta(
    count: Option<&inferform_lang::Expr>,
    for_each: Option<&inferform_lang::Expr>,
    scope: &Scope,
) -> Result<Vec<(InstanceKey, Option<Value>)>, Diagnostic> {
    if let Some(count) = count {
        let v = eval(count, scope)?;
        if v.is_unknown() {
            return Err(unknown_keys(count, "count"));
        }
        // A string of a number counts, as Terraform converts it (`--var n=3` is a string).
        let n = match v.unmarked() {
            Value::String(s) => inferform_types::Number::parse(s).map(|n| n.to_f64()),
            other => other.as_f64(),
        };
        let n = n.filter(|n| n.fract() == 0.0 && *n >= 0.0).ok_or_else(|| {
            Diagnostic::error(
                "inferform::plan::bad_count",
                format!("`count` must be a whole number of 0 or more, got {}", v),
            )
            .with_span(count.span())
            .with_help("write count = 3, or an expression that gives a whole number")
        })?;
        return Ok((0..n as i64).map(|i| (InstanceKey::Int(i), None)).collect());
    }
    if let Some(for_each) = for_each {
        let v = eval(for_each, scope)?;
        if !v.is_wholly_known() && (v.is_unknown() || v.as_object().is_none()) {
            return Err(unknown_keys(for_each, "for_each"));
        }
        return match v.deep_unmarked() {
            Value::Object(map) => Ok(map
                .into_iter()
                .map(|(k, v)| (InstanceKey::Str(k), Some(v)))
                .collect()),
            Value::List(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => {
                            out.push((InstanceKey::Str(s.clone()), Some(Value::String(s))))
                        }
                        Value::Unknown => return Err(unknown_keys(for_each, "for_each")),
                        other => {
                            return Err(Diagnostic::error(
                                "inferform::plan::bad_for_each",
                                format!(
                                    "`for_each` over a set takes strings, found a {}",
                                    other.kind()
                                ),
                            )
                            .with_span(for_each.span())
                            .with_help("use toset([\"a\", \"b\"]) or a map"))
                        }
                    }
                }
                out.sort_by(|a, b| a.0.cmp(&b.0));
                out.dedup_by(|a, b| a.0 == b.0);
                Ok(out)
            }
            other => Err(Diagnostic::error(
                "inferform::plan::bad_for_each",
                format!(
                    "`for_each` takes a map or a set of strings, got {}",
                    other.kind()
                ),
            )
            .with_span(for_each.span())
            .with_help("use a map, or toset([...]) of strings")),
        };
    }
    Ok(vec![(InstanceKey::None, None)])
}

fn unknown_keys(expr: &inferform_lang::Expr, what: &str) -> Diagnostic {
    Diagnostic::error("inferform::plan::unknown_keys", format!("the `{what}` value depends on values known only after apply"))
        .with_span(expr.span())
        .with_help(format!("`{what}` must be known at plan time: base it on variables and locals, or apply the resources it reads first with --target"))
}

/// The scope of one instance of a resource or module call: `count.index` (when `counted`)
/// or `each.key`/`each.value` bound.
pub(crate) fn instance_scope<'a>(
    base: &Scope<'a>,
    key: &InstanceKey,
    each: &Option<Value>,
    counted: bool,
) -> Scope<'a> {
    let mut scope = base.clone();
    match key {
        InstanceKey::Int(i) if counted => {
            scope = scope.with("count", Value::object([("index", Value::number(*i))]));
        }
        InstanceKey::Str(k) => {
            scope = scope.with(
                "each",
                Value::object([
                    ("key", Value::string(k.clone())),
                    ("value", each.clone().unwrap_or(Value::Null)),
                ]),
            );
        }
        _ => {}
    }
    scope
}

/// Sets an instance's value in its module instance's root: `root[type][name]`, `[index]` or
/// `["key"]`.
pub(crate) fn set_instance(roots: &mut Roots, addr: &ResourceInstanceAddr, value: Value) {
    let root = roots.entry(addr.resource.module.clone()).or_default();
    let (top, container) = match addr.resource.mode {
        inferform_types::ResourceMode::Managed => (addr.resource.type_name.clone(), None),
        inferform_types::ResourceMode::Data => {
            ("data".to_string(), Some(addr.resource.type_name.clone()))
        }
    };
    let mut slot = root
        .entry(top)
        .or_insert_with(|| Value::Object(BTreeMap::new()));
    if let Some(ty) = container {
        let Value::Object(map) = slot else { return };
        slot = map
            .entry(ty)
            .or_insert_with(|| Value::Object(BTreeMap::new()));
    }
    let Value::Object(by_name) = slot else { return };
    match &addr.key {
        InstanceKey::None => {
            by_name.insert(addr.resource.name.clone(), value);
        }
        InstanceKey::Int(i) => {
            let entry = by_name
                .entry(addr.resource.name.clone())
                .or_insert_with(|| Value::List(Vec::new()));
            if let Value::List(items) = entry {
                let i = *i as usize;
                if items.len() <= i {
                    items.resize(i + 1, Value::Null);
                }
                items[i] = value;
            }
        }
        InstanceKey::Str(k) => {
            let entry = by_name
                .entry(addr.resource.name.clone())
                .or_insert_with(|| Value::Object(BTreeMap::new()));
            if let Value::Object(map) = entry {
                map.insert(k.clone(), value);
            }
        }
    }
}

/// Takes a deleted instance out of its module instance's root, so that references no longer
/// see it: a `count` list ends before it, a `for_each` map loses its key, a single resource
/// is gone. (A null left in its place would make `resource[*].attr` fail.)
pub(crate) fn remove_instance(roots: &mut Roots, addr: &ResourceInstanceAddr) {
    let Some(root) = roots.get_mut(&addr.resource.module) else {
        return;
    };
    let by_name = match addr.resource.mode {
        inferform_types::ResourceMode::Managed => root.get_mut(&addr.resource.type_name),
        inferform_types::ResourceMode::Data => match root.get_mut("data") {
            Some(Value::Object(types)) => types.get_mut(&addr.resource.type_name),
            _ => None,
        },
    };
    let Some(Value::Object(by_name)) = by_name else {
        return;
    };
    match (&addr.key, by_name.get_mut(&addr.resource.name)) {
        (InstanceKey::None, _) => {
            by_name.remove(&addr.resource.name);
        }
        (InstanceKey::Int(i), Some(Value::List(items))) => {
            if let Some(slot) = items.get_mut(*i as usize) {
                *slot = Value::Null;
            }
            while items.last().is_some_and(Value::is_null) {
                items.pop();
            }
        }
        (InstanceKey::Str(k), Some(Value::Object(map))) => {
            map.remove(k);
        }
        _ => {}
    }
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
            let fired = changes
                .iter()
                .filter(|c| c.addr.resource.config_addr() == target)
                .filter(|c| {
                    if c.action == Action::NoOp || c.action == Action::Delete {
                        return false;
                    }
                    match reference.attrs.first() {
                        None => true,
                        Some(attr) => {
                            let before = c
                                .before
                                .as_ref()
                                .and_then(|b| b.get(attr))
                                .map(Value::deep_unmarked);
                            let after = c.after.as_ref().and_then(|a| a.get(attr));
                            match after {
                                None => before.is_some(),
                                Some(a) => {
                                    !a.is_wholly_known() || Some(a.deep_unmarked()) != before
                                }
                            }
                        }
                    }
                })
                .map(|c| c.addr.resource.module.clone());
            out.extend(fired);
        }
    }
    out
}

/// Keeps only the changes `--target` selects: the targeted resources or instances and what
/// they depend on; when destroying, the targets and what depends on them.
fn retain_targets(
    plan: &mut Plan,
    targets: &[ResourceInstanceAddr],
    module_targets: &[ModulePath],
    destroy: bool,
    config: &Config,
) {
    let in_module = |m: &ModulePath, t: &ModulePath| {
        m.0.len() >= t.0.len()
            && m.0
                .iter()
                .zip(&t.0)
                .all(|(x, y)| x.name == y.name && (y.key == InstanceKey::None || x.key == y.key))
    };
    let matches =
        |addr: &ResourceInstanceAddr, t: &ResourceInstanceAddr| {
            let (a, b) = (&addr.resource, &t.resource);
            (a.mode, &a.type_name, &a.name) == (b.mode, &b.type_name, &b.name)
                && a.module.0.len() == b.module.0.len()
                && a.module.0.iter().zip(&b.module.0).all(|(x, y)| {
                    x.name == y.name && (y.key == InstanceKey::None || x.key == y.key)
                })
                && (t.key == InstanceKey::None || addr.key == t.key)
        };
    let graph = ConfigGraph::build(config);
    let mut keep: BTreeSet<String> = plan
        .changes
        .iter()
        .filter(|c| {
            targets.iter().any(|t| matches(&c.addr, t))
                || module_targets
                    .iter()
                    .any(|t| in_module(&c.addr.resource.module, t))
        })
        .map(|c| c.addr.to_string())
        .collect();
    loop {
        let before = keep.len();
        for c in &plan.changes {
            if keep.contains(&c.addr.to_string()) && !destroy {
                // What a kept change depends on is kept too.
                let mut deps: Vec<ResourceAddr> = c.dependencies.clone();
                if let Some(idx) = config.resource_position(&c.addr.resource.config_addr()) {
                    deps.extend(graph.resource_dependencies(config, idx));
                }
                for other in &plan.changes {
                    if deps.contains(&other.addr.resource.config_addr())
                        && other.addr.resource.module.related(&c.addr.resource.module)
                    {
                        keep.insert(other.addr.to_string());
                    }
                }
            }
            if destroy
                && c.dependencies.iter().any(|d| {
                    plan.changes.iter().any(|o| {
                        &o.addr.resource.config_addr() == d
                            && o.addr.resource.module.related(&c.addr.resource.module)
                            && keep.contains(&o.addr.to_string())
                    })
                })
            {
                // What depends on a destroyed target goes too.
                keep.insert(c.addr.to_string());
            }
        }
        if keep.len() == before {
            break;
        }
    }
    plan.changes.retain(|c| keep.contains(&c.addr.to_string()));
}

impl Engine {
    /// Plans one data block: reads it now when its arguments are known; otherwise plans a
    /// read during apply, its values unknown until then.
    async fn plan_data(
        &self,
        config: &Config,
        idx: usize,
        roots: &Roots,
        env: &Env<'_>,
        dependencies: Vec<ResourceAddr>,
        diags: &mut Diagnostics,
    ) -> Vec<(ResourceInstanceAddr, Value, Option<ResourceChange>)> {
        let r = &config.resources[idx];
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
        let Some(instances) = instances_of(r, roots, env, diags) else {
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
            match cfg.to_json() {
                Some(json) => {
                    let query = json_object(&crate::apply::strip_nulls(json));
                    match provider
                        .read_data(&OpContext::silent(), &r.addr.type_name, &query)
                        .await
                    {
                        Ok(obj) => out.push((addr, data_value(obj, &cfg, schema), None)),
                        Err(e) => {
                            let help = if r.addr.type_name == crate::builtin::REMOTE_STATE {
                                "check `backend`, `config` and `workspace`: the other configuration's state must exist, applied at least once in that workspace"
                            } else {
                                "check the look-up arguments: the object must exist before this plan"
                            };
                            diags.push(
                                Diagnostic::error(
                                    "inferform::plan::data_read",
                                    format!("{addr}: {e}"),
                                )
                                .with_span(r.span.clone())
                                .with_help(help),
                            );
                            // What refers to it sees an unknown value, not a second error.
                            out.push((addr, Value::Unknown, None));
                        }
                    }
                }
                None => {
                    let after = mark_sensitive(planned_create(&cfg, schema), schema);
                    let change = ResourceChange {
                        addr: addr.clone(),
                        provider: provider_key.clone(),
                        action: Action::Read,
                        before: None,
                        after: Some(after.clone()),
                        replace_paths: Vec::new(),
                        dependencies: dependencies.clone(),
                    };
                    out.push((addr, after, Some(change)));
                }
            }
        }
        out
    }

    /// Reads the objects of `import` blocks that state does not track yet.
    #[allow(clippy::too_many_arguments)]
    async fn plan_imports(
        &self,
        config: &Config,
        vars: &BTreeMap<String, Value>,
        opts: &PlanOptions,
        prior: &mut BTreeMap<String, serde_json::Value>,
        providers_of: &mut BTreeMap<String, (String, String, Vec<String>)>,
        plan: &mut Plan,
        diags: &mut Diagnostics,
    ) {
        let meta = Value::object([(
            "workspace",
            Value::string(crate::scope::workspace_name(&opts.workspace)),
        )]);
        let root = BTreeMap::from([
            ("var".to_string(), Value::Object(vars.clone())),
            ("inferform".to_string(), meta.clone()),
            ("terraform".to_string(), meta),
        ]);
        let scope = Scope {
            root: Some(&root),
            bound: Vec::new(),
            base_dir: opts.base_dir.clone(),
        };
        for import in &config.imports {
            let addr = import.to.to_string();
            if prior.contains_key(&addr) || opts.destroy {
                continue;
            }
            if config.resource(&import.to.resource.config_addr()).is_none() {
                diags.push(
                    Diagnostic::error(
                        "inferform::plan::import_target",
                        format!(
                            "cannot import into {addr}: the configuration has no such resource"
                        ),
                    )
                    .with_span(import.span.clone())
                    .with_help(format!(
                        "add a `resource \"{}\" \"{}\"` block for the object",
                        import.to.resource.type_name, import.to.resource.name
                    )),
                );
                continue;
            }
            let id = match eval(&import.id, &scope) {
                Ok(v) => match v.as_str() {
                    Some(s) => s.to_string(),
                    None => {
                        diags.push(
                            Diagnostic::error(
                                "inferform::plan::import_id",
                                format!("the import id must be a known string, got {}", v.kind()),
                            )
                            .with_span(import.id.span())
                            .with_help(
                                "write the object's id as a string, or build it from variables",
                            ),
                        );
                        continue;
                    }
                },
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            let provider_name = config
                .resource(&import.to.resource.config_addr())
                .map(Config::provider_key)
                .unwrap_or_else(|| import.to.resource.provider_name().to_string());
            let Some(provider) = self.providers.get(&provider_name) else {
                continue;
            };
            let type_name = &import.to.resource.type_name;
            match provider.import(&OpContext::silent(), type_name, &id).await {
                Ok(Some(obj)) => {
                    let attrs = serde_json::Value::Object(obj);
                    prior.insert(addr.clone(), attrs.clone());
                    providers_of.insert(
                        addr.clone(),
                        (type_name.clone(), provider_name.clone(), Vec::new()),
                    );
                    plan.record.insert(
                        addr.clone(),
                        (type_name.clone(), provider_name, Some(attrs)),
                    );
                    plan.imports.insert(addr, id);
                }
                Ok(None) => diags.push(
                    Diagnostic::error(
                        "inferform::plan::import_missing",
                        format!("cannot import {addr}: no {type_name} has the id {id:?}"),
                    )
                    .with_span(import.span.clone())
                    .with_help(
                        "check the id; for objects inside a workspace it is WORKSPACE_ID/OBJECT_ID",
                    ),
                ),
                Err(e) => diags.push(
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

    /// Reads every object state tracks, in parallel. Returns the refreshed state, drift, and
    /// the objects it waited for.
    ///
    /// An object that state last saw steady but that reads as changing (`starting`,
    /// `UPDATING`) is being changed: most often by a run killed in the middle of an update,
    /// whose next plan would otherwise find "no changes" and report healthy an object that
    /// may yet fail. It is waited for, as the interrupted update would have waited, up to
    /// the resource's `timeouts { update }` or [`ADOPTION_SETTLE`]; past that the reading
    /// stands as it is.
    async fn refresh(
        &self,
        config: &Config,
        state: &State,
        observer: Option<ReadObserver>,
        diags: &mut Diagnostics,
    ) -> (
        BTreeMap<String, Option<serde_json::Value>>,
        Vec<Drift>,
        BTreeSet<String>,
    ) {
        let mut set = tokio::task::JoinSet::new();
        let slots = self.call_slots();
        for (addr, r) in &state.resources {
            let Some(provider) = self.providers.get(&r.provider).cloned() else {
                diags.push(Diagnostic::error(
                    "inferform::plan::no_provider",
                    format!(
                        "{addr} is managed by provider `{}`, which is not configured",
                        r.provider
                    ),
                ));
                continue;
            };
            let (addr, r) = (addr.clone(), r.clone());
            let settle_within = settle_timeout(config, &addr, "update");
            let observer = observer.clone();
            let watched = addr.clone();
            let read = async move {
                let (silent, prior) = (OpContext::silent(), json_object(&r.attributes));
                let res = provider.read(&silent, &r.type_name, &prior).await;
                let was_steady = condition(&prior) != Condition::Changing;
                let res = match res {
                    Ok(Some(found)) if was_steady && condition(&found) == Condition::Changing => {
                        let ctx = OpContext {
                            timeout: Some(settle_within),
                            ..OpContext::silent()
                        };
                        let settled =
                            settle(&ctx, &addr, || provider.read(&silent, &r.type_name, &found))
                                .await;
                        // A wait that fails leaves the first reading standing.
                        let now = settled.unwrap_or_else(|_| Some(found.clone()));
                        return (addr, r, Ok(now), true);
                    }
                    other => other,
                };
                (addr, r, res, false)
            };
            set.spawn(Engine::with_slots(
                &slots,
                ReadObserver::observe(observer, watched, read, |(_, _, res, _)| match res {
                    Ok(found) => Ok(found
                        .as_ref()
                        .and_then(|o| o.get("id"))
                        .and_then(|v| v.as_str())
                        .map(str::to_string)),
                    Err(e) => Err(e),
                }),
            ));
        }
        let mut refreshed = BTreeMap::new();
        let mut drift = Vec::new();
        let mut waited = BTreeSet::new();
        while let Some(joined) = set.join_next().await {
            let Ok((addr, r, res, settled)) = joined else {
                continue;
            };
            if settled {
                waited.insert(addr.clone());
            }
            match res {
                Ok(found) => {
                    let after = found.map(serde_json::Value::Object);
                    let schema = self.schemas.get(&r.type_name);
                    // State keeps no secret the cloud gives again, so those are no drift.
                    let kept = |v: &serde_json::Value| {
                        schema.map_or(v.clone(), |s| state_attributes(v.clone(), s))
                    };
                    if after.as_ref().map(kept) != Some(kept(&r.attributes)) {
                        let mark = |v: Value| schema.map_or(v.clone(), |s| mark_sensitive(v, s));
                        let before = mark(r.value());
                        let now = after.as_ref().map(|a| mark(Value::from_json(&kept(a)).mark_paths(&r.sensitive_paths)));
                        if now.as_ref().map(Value::deep_unmarked) != Some(before.deep_unmarked()) {
                            drift.push(Drift { addr: addr.clone(), before, after: now });
                        }
                    }
                    refreshed.insert(addr, after);
                }
                Err(e) => diags.push(
                    Diagnostic::error("inferform::plan::refresh", format!("{addr}: cannot read the object: {e}"))
                        .with_help("check the provider's credentials and endpoint, or plan with --refresh=false"),
                ),
            }
        }
        drift.sort_by(|a, b| a.addr.cmp(&b.addr));
        (refreshed, drift, waited)
    }

    /// Sets every prior object's value, marked sensitive where state or schema says so, in
    /// `roots`: what references see of objects that do not change.
    fn set_prior(
        &self,
        roots: &mut Roots,
        prior: &BTreeMap<String, serde_json::Value>,
        providers_of: &BTreeMap<String, (String, String, Vec<String>)>,
        marks: &BTreeMap<String, Vec<Vec<String>>>,
    ) {
        for (addr, attrs) in prior {
            if let (Ok(a), Some((ty, _, _))) =
                (addr.parse::<ResourceInstanceAddr>(), providers_of.get(addr))
            {
                let v =
                    Value::from_json(attrs).mark_paths(marks.get(addr).map_or(&[], Vec::as_slice));
                let v = self
                    .schemas
                    .get(ty)
                    .map_or(v.clone(), |s| mark_sensitive(v, s));
                set_instance(roots, &a, v);
            }
        }
    }

    /// Looks up the objects of unresolved create intents by name. Returns adopted states.
    ///
    /// An object found still changing (`CREATING`, `starting`) is waited for, as the
    /// interrupted create would have waited: adopted in passing, it would be planned on as
    /// healthy, and a create that then fails would leave a failed object in state that no
    /// plan replaces. The wait is bounded by the resource's `timeouts { create }`, or
    /// [`ADOPTION_SETTLE`]; past it the object is adopted as it is (and replaced later
    /// should its create fail, see [`failed_objects`]).
    pub(crate) async fn find_intents(
        &self,
        config: &Config,
        state: &State,
        diags: &mut Diagnostics,
    ) -> BTreeMap<String, Option<serde_json::Value>> {
        let mut out = BTreeMap::new();
        for (addr, intent) in &state.intents {
            let stale = state.resources.get(addr);
            let Some(provider) = self.providers.get(&intent.provider) else {
                if stale.is_some() {
                    out.insert(addr.clone(), None);
                }
                continue;
            };
            // A record beside the intent: a replacement (delete, then create) was interrupted.
            // Its create was sent only after the old object was deleted, so while the old
            // object still exists there is no new one to find; once it is gone, an object of
            // the intent's name is the new one, and must be adopted, or it would be orphaned
            // and its name refused as taken on every run.
            if let Some(record) = stale {
                let old = json_object(&record.attributes);
                let old_gone = matches!(
                    provider
                        .read(&OpContext::silent(), &record.type_name, &old)
                        .await,
                    Ok(None)
                );
                if !old_gone {
                    out.insert(addr.clone(), None);
                    continue;
                }
            }
            let found = provider
                .find(
                    &OpContext::silent(),
                    &intent.type_name,
                    &json_object(&intent.planned),
                )
                .await;
            // The old object itself, found by its name: nothing new was made.
            let found = match found {
                Ok(Some(f)) if stale.is_some_and(|r| r.attributes.get("id") == f.get("id")) => {
                    Ok(None)
                }
                other => other,
            };
            match found {
                Ok(Some(found)) if condition(&found) == Condition::Changing => {
                    let ctx = OpContext {
                        timeout: Some(settle_timeout(config, addr, "create")),
                        ..OpContext::silent()
                    };
                    let (type_name, silent) = (&intent.type_name, OpContext::silent());
                    let settled =
                        settle(&ctx, addr, || provider.read(&silent, type_name, &found)).await;
                    // Gone while waiting: nothing to adopt. A wait that fails adopts the
                    // object as first found; the refresh that follows reads it again.
                    let now = settled.unwrap_or_else(|_| Some(found.clone()));
                    out.insert(addr.clone(), now.map(serde_json::Value::Object));
                }
                Ok(found) => {
                    out.insert(addr.clone(), found.map(serde_json::Value::Object));
                }
                Err(e) => diags.push(Diagnostic::error(
                    "inferform::plan::intent",
                    format!("{addr}: an earlier run was interrupted while creating it, and looking it up failed: {e}"),
                )),
            }
        }
        out
    }

    /// Plans the configuration against state.
    pub async fn plan(
        &self,
        config: &Config,
        vars: &BTreeMap<String, Value>,
        state: &State,
        opts: &PlanOptions,
    ) -> (Plan, Diagnostics) {
        let mut diags = Diagnostics::new();
        let mut plan = Plan {
            destroy: opts.destroy,
            workspace: crate::scope::workspace_name(&opts.workspace).to_string(),
            ..Plan::default()
        };
        // Parts of tracked objects that the configuration made sensitive stay marked.
        let mut marks: BTreeMap<String, Vec<Vec<String>>> = state
            .resources
            .iter()
            .filter(|(_, r)| !r.sensitive_paths.is_empty())
            .map(|(k, r)| (k.clone(), r.sensitive_paths.clone()))
            .collect();
        let mut prior: BTreeMap<String, serde_json::Value> = state
            .resources
            .iter()
            .map(|(k, v)| (k.clone(), v.attributes.clone()))
            .collect();
        let mut providers_of: BTreeMap<String, (String, String, Vec<String>)> = state
            .resources
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    (
                        v.type_name.clone(),
                        v.provider.clone(),
                        v.dependencies.clone(),
                    ),
                )
            })
            .collect();
        for (addr, found) in self.find_intents(config, state, &mut diags).await {
            plan.resolved_intents.push(addr.clone());
            if let (Some(obj), Some(intent)) = (found, state.intents.get(&addr)) {
                plan.record.insert(
                    addr.clone(),
                    (
                        intent.type_name.clone(),
                        intent.provider.clone(),
                        Some(obj.clone()),
                    ),
                );
                prior.insert(addr.clone(), obj);
                providers_of.insert(
                    addr.clone(),
                    (
                        intent.type_name.clone(),
                        intent.provider.clone(),
                        intent.dependencies.clone(),
                    ),
                );
                plan.adopted.push(addr);
            }
        }
        // Tracked (or adopted) objects that refresh found gone.
        let mut gone: BTreeSet<String> = BTreeSet::new();
        // Tracked objects refresh found changing and waited for.
        let mut waited: BTreeSet<String> = BTreeSet::new();
        if opts.refresh {
            let mut refresh_state = state.clone();
            for addr in &plan.adopted {
                if let (Some(attrs), Some((ty, provider, deps))) =
                    (prior.get(addr), providers_of.get(addr))
                {
                    refresh_state.resources.insert(
                        addr.clone(),
                        inferform_state::ResourceState {
                            addr: addr.clone(),
                            type_name: ty.clone(),
                            provider: provider.clone(),
                            attributes: attrs.clone(),
                            dependencies: deps.clone(),
                            tainted: false,
                            sensitive_paths: Vec::new(),
                        },
                    );
                }
            }
            let (refreshed, drift, settled) = self
                .refresh(config, &refresh_state, opts.observer.clone(), &mut diags)
                .await;
            waited = settled;
            for (addr, found) in refreshed {
                match found {
                    Some(v) => {
                        // An adopted object is recorded as it reads now.
                        if let Some(entry) = plan.record.get_mut(&addr) {
                            entry.2 = Some(v.clone());
                        }
                        prior.insert(addr, v);
                    }
                    None => {
                        prior.remove(&addr);
                        gone.insert(addr);
                    }
                }
            }
            plan.drift = drift;
        }
        if diags.has_errors() {
            return (plan, diags);
        }
        if opts.refresh_only {
            plan.refresh_only = true;
            for d in &plan.drift {
                if let Some(r) = state.resources.get(&d.addr) {
                    let now = d
                        .after
                        .as_ref()
                        .map(|_| prior.get(&d.addr).cloned().unwrap_or_default());
                    plan.record.insert(
                        d.addr.clone(),
                        (r.type_name.clone(), r.provider.clone(), now),
                    );
                }
            }
            // Outputs are worked out again from the objects as they are now; one that reads
            // an object found gone is unknown, and left out of state (as Terraform does).
            self.set_prior(&mut plan.roots, &prior, &providers_of, &marks);
            for addr in &gone {
                if let Ok(a) = addr.parse::<ResourceInstanceAddr>() {
                    set_instance(&mut plan.roots, &a, Value::Unknown);
                }
            }
            return (plan, diags);
        }

        // `moved` blocks: state recorded under the old address now belongs to the new one.
        for m in &config.moved {
            let (from, to) = (m.from.to_string(), m.to.to_string());
            if prior.contains_key(&to) || !prior.contains_key(&from) {
                continue;
            }
            if let (Some(attrs), Some(p)) = (prior.remove(&from), providers_of.remove(&from)) {
                prior.insert(to.clone(), attrs);
                providers_of.insert(to.clone(), p);
                if let Some(m) = marks.remove(&from) {
                    marks.insert(to.clone(), m);
                }
                for d in &mut plan.drift {
                    if d.addr == from {
                        d.addr = to.clone();
                    }
                }
                plan.moved.push((from, to));
            }
        }

        // `import` blocks: read each object that state does not know yet.
        self.plan_imports(
            config,
            vars,
            opts,
            &mut prior,
            &mut providers_of,
            &mut plan,
            &mut diags,
        )
        .await;
        if diags.has_errors() {
            return (plan, diags);
        }

        let env =
            Env::for_plan(config, vars, opts.base_dir.clone()).with_workspace(&opts.workspace);
        let mut roots: Roots = BTreeMap::new();

        let graph = ConfigGraph::build(config);
        let order = match graph.order(config) {
            Ok(o) => o,
            Err(cycle) => {
                cycle.into_iter().for_each(|d| diags.push(d));
                return (plan, diags);
            }
        };

        // Prior values are what references see for objects that do not change.
        self.set_prior(&mut roots, &prior, &providers_of, &marks);

        let failed = failed_objects(&prior, &plan.adopted, &waited);
        let mut in_config: BTreeSet<String> = BTreeSet::new();
        for node in &order {
            let Node::Resource(i) = node else {
                // Variables, locals, module calls and outputs are worked out when something
                // reads them, by `env`.
                continue;
            };
            let r = &config.resources[*i];
            let dependencies = graph.resource_dependencies(config, *i);
            if r.addr.mode == inferform_types::ResourceMode::Data {
                if opts.destroy {
                    continue;
                }
                for (addr, value, change) in self
                    .plan_data(config, *i, &roots, &env, dependencies, &mut diags)
                    .await
                {
                    set_instance(&mut roots, &addr, value);
                    if let Some(change) = change {
                        plan.changes.push(change);
                    }
                }
                continue;
            }
            if opts.destroy {
                // Everything state tracks goes; the values references see stay as they are,
                // so module expansions can still be worked out.
                continue;
            }
            let triggered = triggered(r, &plan.changes);
            let reason = |a: &ResourceInstanceAddr| -> Option<&'static str> {
                let key = a.to_string();
                if (state.resources.get(&key).is_some_and(|r| r.tainted) || failed.contains(&key))
                    && prior.contains_key(&key)
                {
                    Some("tainted")
                } else if opts.replace.iter().any(|t| t == a) {
                    Some("requested")
                } else if triggered.iter().any(|m| m.related(&a.resource.module)) {
                    Some("triggered")
                } else {
                    None
                }
            };
            let force = |a: &ResourceInstanceAddr| reason(a).is_some();
            let changes = self.plan_resource(
                config,
                *i,
                &roots,
                &env,
                dependencies,
                &prior,
                &marks,
                opts.destroy,
                &force,
                &mut diags,
            );
            let Some(changes) = changes else { continue };
            // Reset the resource's entry in every module instance, so that instances no
            // longer configured vanish.
            for m in env.instances(&roots, &r.addr.module) {
                let root = roots.entry(m.clone()).or_default();
                if let Some(Value::Object(by_name)) = root.get_mut(&r.addr.type_name) {
                    by_name.remove(&r.addr.name);
                }
                if r.count.is_some() {
                    set_placeholder(root, &r.addr, Value::List(Vec::new()));
                } else if r.for_each.is_some() {
                    set_placeholder(root, &r.addr, Value::Object(BTreeMap::new()));
                }
            }
            for change in changes {
                in_config.insert(change.addr.to_string());
                if let (Action::Replace { .. }, true, Some(why)) = (
                    change.action,
                    change.replace_paths.is_empty(),
                    reason(&change.addr),
                ) {
                    plan.replace_reasons
                        .insert(change.addr.to_string(), why.to_string());
                }
                let v = change
                    .after
                    .clone()
                    .or_else(|| change.before.clone())
                    .unwrap_or(Value::Null);
                set_instance(&mut roots, &change.addr, v);
                plan.changes.push(change);
            }
        }
        if !opts.destroy {
            // Every local and output of every module instance is worked out, so that a
            // mistake in one nothing reads is reported too.
            for path in &config.module_paths() {
                let Some(view) = config.module(path) else {
                    continue;
                };
                for m in env.instances(&roots, path) {
                    for name in view.locals.keys() {
                        env.local(&roots, &m, name);
                    }
                    if !m.is_root() {
                        for name in view.variables.keys() {
                            env.var(&roots, &m, name);
                        }
                        for name in view.outputs.keys() {
                            env.output(&roots, &m, name);
                        }
                    }
                }
            }
        }

        // Objects in state that the configuration no longer has (or everything, to destroy).
        for (addr, attrs) in &prior {
            if in_config.contains(addr) {
                continue;
            }
            let Ok(a) = addr.parse::<ResourceInstanceAddr>() else {
                continue;
            };
            let Some((ty, provider, deps)) = providers_of.get(addr) else {
                continue;
            };
            let before =
                Value::from_json(attrs).mark_paths(marks.get(addr).map_or(&[], Vec::as_slice));
            let before = self
                .schemas
                .get(ty)
                .map_or(before.clone(), |s| mark_sensitive(before, s));
            // What references see no longer includes it (`count` lowered, a key gone).
            remove_instance(&mut roots, &a);
            // A `removed` block with `destroy = false`: state lets go, the cloud keeps it.
            let forget = !opts.destroy
                && config.removed.iter().any(|r| {
                    !r.destroy && r.from == a.resource.config_addr() && a.resource.module.is_root()
                });
            plan.changes.push(ResourceChange {
                addr: a,
                provider: provider.clone(),
                action: if forget {
                    Action::Forget
                } else {
                    Action::Delete
                },
                before: Some(before),
                after: None,
                replace_paths: Vec::new(),
                dependencies: deps
                    .iter()
                    .filter_map(|d| d.parse::<ResourceInstanceAddr>().ok().map(|a| a.resource))
                    .collect(),
            });
        }

        if !opts.destroy {
            for (name, output) in &config.outputs {
                let scope = env.scope(&roots, &ModulePath::root(), &[&output.value]);
                match eval(&output.value, &scope) {
                    Ok(v) => {
                        let sensitive = output.sensitive || v.is_sensitive();
                        if v.is_sensitive() && !output.sensitive {
                            diags.push(
                                Diagnostic::error("inferform::plan::output_sensitive", format!("output `{name}` shows a sensitive value"))
                                    .with_span(output.value.span())
                                    .with_help("add `sensitive = true` to the output block to show it only on request"),
                            );
                        }
                        plan.outputs.push(OutputChange {
                            name: name.clone(),
                            before: state.outputs.get(name).map(|o| {
                                let v = Value::from_json(&o.value);
                                if o.sensitive {
                                    v.sensitive()
                                } else {
                                    v
                                }
                            }),
                            after: if sensitive { v.sensitive() } else { v },
                            sensitive,
                        });
                    }
                    Err(d) => diags.push(d),
                }
            }
        }
        // Check blocks read the plan's values, complete only when nothing failed.
        if !opts.destroy && !diags.has_errors() {
            check_blocks(config, &env, &roots)
                .into_iter()
                .for_each(|d| diags.push(d));
        }
        plan.changes.sort_by(|a, b| a.addr.cmp(&b.addr));
        if !opts.targets.is_empty() || !opts.module_targets.is_empty() {
            plan.targeted = true;
            retain_targets(
                &mut plan,
                &opts.targets,
                &opts.module_targets,
                opts.destroy,
                config,
            );
        }
        prune_gone(&mut plan, &gone, &providers_of);
        check_prevent_destroy(config, &plan, &mut diags);
        diags.extend(env.take_diagnostics());
        plan.roots = roots;
        plan.vars = vars.clone();
        (plan, diags)
    }

    /// Plans every instance of one resource block. `None` when the block could not be expanded.
    #[allow(clippy::too_many_arguments)]
    fn plan_resource(
        &self,
        config: &Config,
        idx: usize,
        roots: &Roots,
        env: &Env,
        dependencies: Vec<ResourceAddr>,
        prior: &BTreeMap<String, serde_json::Value>,
        marks: &BTreeMap<String, Vec<Vec<String>>>,
        destroy: bool,
        force_replace: &dyn Fn(&ResourceInstanceAddr) -> bool,
        diags: &mut Diagnostics,
    ) -> Option<Vec<ResourceChange>> {
        let r = &config.resources[idx];
        if destroy {
            return Some(Vec::new());
        }
        let Some(schema) = self.schemas.get(&r.addr.type_name) else {
            diags.push(
                Diagnostic::error(
                    "inferform::plan::unknown_type",
                    format!("unknown resource type `{}`", r.addr.type_name),
                )
                .with_span(r.span.clone()),
            );
            return None;
        };
        let instances = instances_of(r, roots, env, diags)?;
        let provider = Config::provider_key(r);
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
            let mut cfg = decode_body(&r.body, schema, &iscope, &what, diags);
            if diags.0[before_errors..].iter().any(|d| d.is_error()) {
                continue;
            }
            if r.addr.type_name == "inferform_data" {
                if let Value::Object(m) = &mut cfg {
                    let input = m.get("input").cloned().unwrap_or(Value::Null);
                    m.insert("output".into(), input);
                }
            }
            let key = addr.to_string();
            let prior_value = prior.get(&key).map(|j| {
                Value::from_json(j).mark_paths(marks.get(&key).map_or(&[], Vec::as_slice))
            });
            let change = match prior_value {
                None => ResourceChange {
                    addr,
                    provider: provider.clone(),
                    action: Action::Create,
                    before: None,
                    after: Some(mark_sensitive(planned_create(&cfg, schema), schema)),
                    replace_paths: Vec::new(),
                    dependencies: dependencies.clone(),
                },
                Some(before) => {
                    let d = diff(&cfg, &before, schema, &r.lifecycle.ignore_changes);
                    let mut planned = d.planned;
                    if r.addr.type_name == "inferform_data" && !d.changed.is_empty() {
                        if let Value::Object(m) = &mut planned {
                            let input = cfg.get("input").cloned().unwrap_or(Value::Null);
                            m.insert("output".into(), input);
                        }
                    }
                    let forced = force_replace(&addr);
                    let action = if !d.replace_paths.is_empty() || forced {
                        planned = planned_create(&cfg, schema);
                        Action::Replace {
                            create_first: r.lifecycle.create_before_destroy,
                        }
                    } else if d.changed.is_empty() {
                        Action::NoOp
                    } else {
                        Action::Update
                    };
                    if r.lifecycle.prevent_destroy && matches!(action, Action::Replace { .. }) {
                        diags.push(prevent_destroy(r, &addr));
                    }
                    ResourceChange {
                        addr,
                        provider: provider.clone(),
                        action,
                        before: Some(mark_sensitive(before, schema)),
                        after: Some(mark_sensitive(planned, schema)),
                        replace_paths: d.replace_paths,
                        dependencies: dependencies.clone(),
                    }
                }
            };
            if let Some(planned) = &change.after {
                resource_conditions(r, &iscope, &subject, Some(planned), false)
                    .into_iter()
                    .for_each(|d| diags.push(d));
            }
            out.push(change);
        }
        Some(out)
    }
}

/// How long a plan waits at most for an object an interrupted run was creating or changing to
/// settle, when its resource sets no `timeouts { create }` (or `update`): a plan must end.
pub(crate) const ADOPTION_SETTLE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// How long a plan waits for the object at `addr` to settle after an interrupted `op`: the
/// resource's own timeout for that operation, or [`ADOPTION_SETTLE`].
fn settle_timeout(config: &Config, addr: &str, op: &str) -> std::time::Duration {
    addr.parse::<ResourceInstanceAddr>()
        .ok()
        .and_then(|a| config.resource(&a.resource.config_addr()))
        .and_then(|r| r.timeouts.get(op))
        .map_or(ADOPTION_SETTLE, |s| std::time::Duration::from_secs(*s))
}

/// The objects to replace because they are failed: adopted ones in any failed status (the
/// create an interrupted run started has failed; adopted as healthy, the object would stay
/// in state, broken, and everything built on it would fail on every apply), tracked ones
/// that refresh waited for and saw end failed (the change an interrupted run started has
/// failed), and tracked ones whose create failed (`CREATE_FAILED`: they never came up). All
/// are treated as tainted, as a failed create is.
fn failed_objects(
    prior: &BTreeMap<String, serde_json::Value>,
    adopted: &[String],
    waited: &BTreeSet<String>,
) -> BTreeSet<String> {
    prior
        .iter()
        .filter(|(addr, attrs)| {
            let Some(obj) = attrs.as_object() else {
                return false;
            };
            let settled_here = adopted.contains(addr) || waited.contains(*addr);
            create_failed(obj) || (settled_here && condition(obj) == Condition::Failed)
        })
        .map(|(addr, _)| addr.clone())
        .collect()
}

/// Drops from state the records of objects that refresh found gone and that no change of the
/// plan takes care of (a create or a replace writes the address again): an object deleted
/// outside inferform, or by a run killed before it could record the delete, and no longer
/// configured. Without this the record would stay forever, shown as "has been deleted" by
/// every plan while apply had nothing to do. A targeted plan leaves records it does not
/// target alone.
fn prune_gone(
    plan: &mut Plan,
    gone: &BTreeSet<String>,
    providers_of: &BTreeMap<String, (String, String, Vec<String>)>,
) {
    if plan.targeted {
        return;
    }
    for addr in gone {
        if plan.changes.iter().any(|c| &c.addr.to_string() == addr) {
            continue;
        }
        let Some((ty, provider, _)) = providers_of.get(addr) else {
            continue;
        };
        plan.record
            .insert(addr.clone(), (ty.clone(), provider.clone(), None));
        // An adopted object that vanished since is not adopted after all.
        plan.adopted.retain(|a| a != addr);
    }
}

/// Every instance of a resource block, in every instance of its module: the module
/// instance, the key, `each.value`, and the scope its body is evaluated in (without
/// `count`/`each`). `None` when a `count` or `for_each` cannot be expanded.
#[allow(clippy::type_complexity)]
fn instances_of<'r>(
    r: &Resource,
    roots: &'r Roots,
    env: &Env,
    diags: &mut Diagnostics,
) -> Option<Vec<(ModulePath, InstanceKey, Option<Value>, Scope<'r>)>> {
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

/// Every expression of a resource block that is evaluated: body, count, for_each.
pub(crate) fn resource_exprs(r: &Resource) -> Vec<&inferform_lang::Expr> {
    let mut exprs = body_exprs(&r.body);
    exprs.extend(r.count.iter());
    exprs.extend(r.for_each.iter());
    exprs.extend(condition_exprs(r));
    exprs
}

fn set_placeholder(root: &mut BTreeMap<String, Value>, addr: &ResourceAddr, value: Value) {
    if let Value::Object(m) = root
        .entry(addr.type_name.clone())
        .or_insert_with(|| Value::Object(BTreeMap::new()))
    {
        m.insert(addr.name.clone(), value);
    }
}

pub(crate) fn prevent_destroy(r: &Resource, addr: &ResourceInstanceAddr) -> Diagnostic {
    Diagnostic::error("inferform::plan::prevent_destroy", format!("{addr} has lifecycle.prevent_destroy set, but the plan would destroy it"))
        .with_span(r.span.clone())
        .with_help("remove prevent_destroy, or change the configuration so the object is not replaced or removed")
}

/// Reports deletes of resources whose configuration still says prevent_destroy.
pub(crate) fn check_prevent_destroy(config: &Config, plan: &Plan, diags: &mut Diagnostics) {
    for change in &plan.changes {
        if change.action == Action::Delete {
            if let Some(r) = config.resource(&change.addr.resource.config_addr()) {
                if r.lifecycle.prevent_destroy {
                    diags.push(prevent_destroy(r, &change.addr));
                }
            }
        }
    }
}
