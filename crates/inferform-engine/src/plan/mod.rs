//! Planning: refresh what state tracks, evaluate the configuration in dependency order, and
//! diff each resource instance into a [`ResourceChange`].
//!
//! [`Engine::plan`] runs the phases below in this order, each a function over one
//! `PlanCtx`:
//!
//! 1. `intents::resolve_intents`: look up the objects of creates an earlier run left
//!    unfinished, and adopt those found.
//! 2. `refresh::refresh`: read every tracked object again (drift, objects gone).
//! 3. `refresh::refresh_only`: with `--refresh-only`, record what refresh found and stop.
//! 4. `blocks::apply_moved`: `moved` blocks carry state to new addresses.
//! 5. `blocks::plan_imports`: `import` blocks read the objects they bring in.
//! 6. the graph: `ConfigGraph::build` and `order`.
//! 7. `walk::walk`: every resource and data block in dependency order, expanded and diffed.
//! 8. `finish::check_module_values`: every module instance's locals, inputs and outputs.
//! 9. `finish::plan_orphans`: what state has and the configuration no longer does; then
//!    `finish::plan_deposed`: the deposed objects an interrupted or failed apply left.
//! 10. `finish::plan_outputs` and the check blocks.
//! 11. `finish::retain_targets`: `--target`.
//! 12. `refresh::prune_gone` and `finish::check_prevent_destroy`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use inferform_lang::config::Config;
use inferform_state::{DeposedObject, State};
use inferform_types::{Diagnostics, ModulePath, ResourceAddr, ResourceInstanceAddr, Value};

use crate::diff::object_value;
use crate::graph::ConfigGraph;
use crate::instances::set_instance;
use crate::scope::{Env, Roots};
use crate::{Action, Engine};

mod blocks;
mod finish;
mod intents;
mod refresh;
mod walk;

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
    pub(super) async fn observe<T, E: std::fmt::Display>(
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
    /// `Some(KEY)`: the change is the `Delete` of the address's deposed object KEY (an old
    /// object a `create_before_destroy` replacement set aside and did not destroy), not of
    /// its current object.
    pub deposed: Option<String>,
}

/// A change made outside inferform, found by refresh.
#[derive(Clone, Debug)]
pub struct Drift {
    pub addr: ResourceInstanceAddr,
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

/// An object the apply records in state as it is now, touching no cloud.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub type_name: String,
    pub provider: String,
    /// Its attributes; `None` when it is gone, and leaves state.
    pub attributes: Option<serde_json::Value>,
}

/// Why an instance is replaced when no attribute of it forces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceReason {
    /// State marks it tainted, or it was found failed (a create that failed after making the
    /// object, one adopted or waited for in a failed status).
    Tainted,
    /// `--replace`.
    Requested,
    /// `lifecycle { replace_triggered_by }`.
    Triggered,
}

impl ReplaceReason {
    /// The reason's name, as plan files record it: `tainted`, `requested`, `triggered`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplaceReason::Tainted => "tainted",
            ReplaceReason::Requested => "requested",
            ReplaceReason::Triggered => "triggered",
        }
    }

    /// The reason [`ReplaceReason::as_str`] names.
    pub fn parse(name: &str) -> Option<ReplaceReason> {
        [
            ReplaceReason::Tainted,
            ReplaceReason::Requested,
            ReplaceReason::Triggered,
        ]
        .into_iter()
        .find(|r| r.as_str() == name)
    }
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
    pub adopted: Vec<ResourceInstanceAddr>,
    /// Create intents of earlier runs that this plan resolved (adopted or found absent): the
    /// apply clears them.
    pub resolved_intents: Vec<ResourceInstanceAddr>,
    /// `moved` blocks that apply: (from, to) addresses.
    pub moved: Vec<(ResourceInstanceAddr, ResourceInstanceAddr)>,
    /// Instances that `import` blocks bring under management, with their import ids.
    pub imports: BTreeMap<ResourceInstanceAddr, String>,
    /// Objects the apply must record as they are now (imports, and with `refresh_only` every
    /// refreshed object).
    pub record: BTreeMap<ResourceInstanceAddr, Recorded>,
    /// The plan only records refreshed state (`--refresh-only`).
    pub refresh_only: bool,
    /// Targeting was in effect: the plan may be incomplete.
    pub targeted: bool,
    /// Why an instance is replaced when no attribute forces it.
    pub replace_reasons: BTreeMap<ResourceInstanceAddr, ReplaceReason>,
    /// The workspace the plan was made in ([`PlanOptions::workspace`]), so that the apply
    /// evaluates `inferform.workspace` as the plan did. Empty means `default`.
    pub workspace: String,
    /// Deposed objects the apply drops from state, by address: those refresh found gone,
    /// and those that are the address's current object (a create-first replacement whose
    /// create made nothing leaves its old object deposed and current at once).
    pub drop_deposed: BTreeMap<ResourceInstanceAddr, Vec<String>>,
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

/// One object the plan starts from: tracked by state, adopted from a create intent, or
/// imported; its attributes as refresh last read them.
#[derive(Clone, Debug)]
pub(crate) struct Prior {
    pub type_name: String,
    pub provider: String,
    pub attributes: serde_json::Value,
    /// What it depended on when recorded (resource addresses).
    pub dependencies: Vec<String>,
    /// The parts its configuration made sensitive, as state records them.
    pub sensitive_paths: Vec<Vec<String>>,
}

/// Whether two recorded objects are the same cloud object: the same `id`, or, for objects
/// without one, the same attributes.
pub(crate) fn same_object(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let id = |v: &serde_json::Value| v.get("id").filter(|i| !i.is_null()).cloned();
    match (id(a), id(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The deposed objects of one address.
#[derive(Clone, Debug)]
pub(crate) struct Deposed {
    pub provider: String,
    pub objects: BTreeMap<String, DeposedObject>,
}

/// What every phase of one plan reads and builds.
pub(crate) struct PlanCtx<'a> {
    pub config: &'a Config,
    pub vars: &'a BTreeMap<String, Value>,
    pub state: &'a State,
    pub opts: &'a PlanOptions,
    /// The plan being built.
    pub plan: Plan,
    pub diags: Diagnostics,
    /// The objects the plan starts from, by address.
    pub prior: BTreeMap<ResourceInstanceAddr, Prior>,
    /// Tracked (or adopted) objects that refresh found gone.
    pub gone: BTreeMap<ResourceInstanceAddr, Prior>,
    /// Tracked objects refresh found changing and waited for.
    pub waited: BTreeSet<ResourceInstanceAddr>,
    /// Resource values by module instance, as planned so far: what references read.
    pub roots: Roots,
    /// Instances the configuration has; the rest of `prior` is deleted or forgotten.
    pub in_config: BTreeSet<ResourceInstanceAddr>,
    /// The deposed objects state holds, by address and key, as refresh last read them, with
    /// the provider their address's record names.
    pub deposed: BTreeMap<ResourceInstanceAddr, Deposed>,
}

impl<'a> PlanCtx<'a> {
    fn new(
        config: &'a Config,
        vars: &'a BTreeMap<String, Value>,
        state: &'a State,
        opts: &'a PlanOptions,
    ) -> Self {
        let prior = state
            .resources
            .iter()
            .filter_map(|(addr, r)| {
                let addr = addr.parse::<ResourceInstanceAddr>().ok()?;
                let prior = Prior {
                    type_name: r.type_name.clone(),
                    provider: r.provider.clone(),
                    attributes: r.attributes.clone(),
                    dependencies: r.dependencies.clone(),
                    sensitive_paths: r.sensitive_paths.clone(),
                };
                Some((addr, prior))
            })
            .collect();
        let deposed = state
            .resources
            .iter()
            .filter(|(_, r)| !r.deposed.is_empty())
            .filter_map(|(addr, r)| {
                let deposed = Deposed {
                    provider: r.provider.clone(),
                    objects: r.deposed.clone(),
                };
                Some((addr.parse().ok()?, deposed))
            })
            .collect();
        PlanCtx {
            config,
            vars,
            state,
            opts,
            plan: Plan {
                destroy: opts.destroy,
                workspace: crate::scope::workspace_name(&opts.workspace).to_string(),
                ..Plan::default()
            },
            diags: Diagnostics::new(),
            prior,
            gone: BTreeMap::new(),
            waited: BTreeSet::new(),
            roots: Roots::new(),
            in_config: BTreeSet::new(),
            deposed,
        }
    }

    /// The environment expressions are evaluated in.
    fn env(&self) -> Env<'a> {
        Env::for_plan(self.config, self.vars, self.opts.base_dir.clone())
            .with_workspace(&self.opts.workspace)
    }

    /// A prior object's value as references see it, sensitive parts marked.
    fn prior_value(&self, engine: &Engine, prior: &Prior) -> Value {
        object_value(
            &prior.attributes,
            &prior.sensitive_paths,
            engine.schemas.get(&prior.type_name),
        )
    }

    /// Sets every prior object's value in `roots`: what references see of objects that do
    /// not change.
    fn set_prior(&self, engine: &Engine, roots: &mut Roots) {
        for (addr, prior) in &self.prior {
            set_instance(roots, addr, self.prior_value(engine, prior));
        }
    }

    /// The plan and its diagnostics. A plan that ends early (errors, `--refresh-only`)
    /// carries no variables: nothing is evaluated from it.
    fn finish(self) -> (Plan, Diagnostics) {
        (self.plan, self.diags)
    }
}

impl Engine {
    /// Plans the configuration against state, phase by phase (see the module's list).
    pub async fn plan(
        &self,
        config: &Config,
        vars: &BTreeMap<String, Value>,
        state: &State,
        opts: &PlanOptions,
    ) -> (Plan, Diagnostics) {
        let mut cx = PlanCtx::new(config, vars, state, opts);
        self.resolve_intents(&mut cx).await;
        if opts.refresh {
            self.refresh(&mut cx).await;
        }
        if cx.diags.has_errors() {
            return cx.finish();
        }
        if opts.refresh_only {
            self.refresh_only(&mut cx);
            return cx.finish();
        }
        blocks::apply_moved(&mut cx);
        self.plan_imports(&mut cx).await;
        if cx.diags.has_errors() {
            return cx.finish();
        }
        let env = cx.env();
        let graph = ConfigGraph::build(config);
        let order = match graph.order(config) {
            Ok(order) => order,
            Err(cycle) => {
                cycle.into_iter().for_each(|d| cx.diags.push(d));
                return cx.finish();
            }
        };
        let mut roots = Roots::new();
        cx.set_prior(self, &mut roots);
        cx.roots = roots;
        self.walk(&mut cx, &env, &graph, &order).await;
        if !opts.destroy {
            finish::check_module_values(&cx, &env);
        }
        self.plan_orphans(&mut cx);
        self.plan_deposed(&mut cx);
        if !opts.destroy {
            finish::plan_outputs(&mut cx, &env);
            // Check blocks read the plan's values, complete only when nothing failed.
            if !cx.diags.has_errors() {
                let checks = crate::conditions::check_blocks(config, &env, &cx.roots);
                checks.into_iter().for_each(|d| cx.diags.push(d));
            }
        }
        cx.plan.changes.sort_by(|a, b| a.addr.cmp(&b.addr));
        if !opts.targets.is_empty() || !opts.module_targets.is_empty() {
            cx.plan.targeted = true;
            finish::retain_targets(&mut cx.plan, opts, config);
        }
        refresh::prune_gone(&mut cx);
        finish::check_prevent_destroy(config, &cx.plan, &mut cx.diags);
        cx.diags.extend(env.take_diagnostics());
        cx.plan.roots = std::mem::take(&mut cx.roots);
        cx.plan.vars = vars.clone();
        cx.finish()
    }
}
