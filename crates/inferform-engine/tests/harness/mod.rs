//! The engine's table-driven harness: a configuration, the state an earlier configuration
//! left (in a `MemoryStore`, with the scripted changes of [`Setup`]) and a scripted cloud
//! ([`cloud::Cloud`]) go in; the plan's changes, reasons and forcing paths, its diagnostics,
//! and the apply's order and outcome come out, as lines compared with a case's table row.
//! Everything runs in process: no binary, no socket.

pub mod cloud;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use inferform_engine::{Action, ApplyInput, ApplyObserver, BuiltinFactory, Engine, Plan};
use inferform_engine::{ApplyOutcome, PlanOptions};
use inferform_lang::config::Config;
use inferform_provider::{ProviderEnv, ProviderFactory};
use inferform_state::{MemoryStore, State, StateStore};
use inferform_types::{Diagnostics, ModulePath, ResourceInstanceAddr, Severity};

use cloud::Cloud;

/// One row of a table.
pub struct Case {
    pub name: &'static str,
    /// Files beside the configuration (`modules/app/main.hcl`), the same for `before` and
    /// `config`.
    pub files: &'static [(&'static str, &'static str)],
    /// A configuration applied first: the plan starts from the state it leaves ("" for an
    /// empty state).
    pub before: &'static str,
    /// What happens between that apply and the plan, to state or to the cloud.
    pub setup: &'static [Setup],
    pub config: &'static str,
    pub opts: Opts,
    /// The plan, one line per entry that does something (see [`plan_lines`]).
    pub plan: &'static [&'static str],
    /// The plan's diagnostics: `error CODE` or `warning CODE`, in order.
    pub diags: &'static [&'static str],
    /// Apply the plan and check what happened; `None`: plan only.
    pub apply: Option<Applied>,
}

/// A case's defaults: empty state, no diagnostics, plan only.
pub const CASE: Case = Case {
    name: "",
    files: &[],
    before: "",
    setup: &[],
    config: "",
    opts: Opts::PLAN,
    plan: &[],
    diags: &[],
    apply: None,
};

/// The plan's options, with addresses as the command line writes them.
pub struct Opts {
    pub refresh: bool,
    pub destroy: bool,
    pub refresh_only: bool,
    /// `--target`: resource addresses, or `module.NAME[KEY]`.
    pub targets: &'static [&'static str],
    pub replace: &'static [&'static str],
}

impl Opts {
    /// A plan with refresh, as `inferform plan` makes by default.
    pub const PLAN: Opts = Opts {
        refresh: true,
        destroy: false,
        refresh_only: false,
        targets: &[],
        replace: &[],
    };
}

/// A change between the first apply and the plan.
pub enum Setup {
    /// State marks the instance tainted.
    Taint(&'static str),
    /// The cloud's object called `name` gets `attr = value` (JSON) behind inferform's back.
    Drift(&'static str, &'static str, &'static str),
    /// The cloud's object called `name` is deleted behind inferform's back.
    Vanish(&'static str),
    /// The cloud gets an object made outside inferform: id, then attributes as JSON.
    Make(&'static str, &'static str),
    /// The cloud refuses to create an object with this name.
    Refuse(&'static str),
    /// State holds the intent of a create an interrupted run sent: the address, and the
    /// name it was creating.
    Intent(&'static str, &'static str),
    /// The cloud refuses to delete the object with this name (until the `then` round).
    RefuseDelete(&'static str),
    /// The cloud's answer to creating an object with this name is a 500, after it made the
    /// object (`true`) or without making it (`false`) (until the `then` round).
    Unanswered(&'static str, bool),
    /// The cloud refuses to delete an object another object's `parent` names.
    GuardParents,
    /// The cloud gets an object called `name` (id `old-NAME`), which state records as a
    /// deposed object of the address, as an interrupted replacement leaves it.
    Depose(&'static str, &'static str),
}

/// What the apply must do.
pub struct Applied {
    /// Pairs of cloud calls (`create NAME`, `update NAME`, `delete NAME`, `lookup NAME`)
    /// that must happen, the first before the second.
    pub order: &'static [(&'static str, &'static str)],
    /// Every cloud call, sorted.
    pub calls: &'static [&'static str],
    /// Changes that failed: `ADDR VERB CODE`, then ` at TEXT` with the configuration text
    /// the failure points at, if any.
    pub failed: &'static [&'static str],
    /// Changes not started because something they wait for failed.
    pub skipped: &'static [&'static str],
    /// The addresses state holds afterwards.
    pub state: &'static [&'static str],
    /// Root outputs afterwards, `NAME = JSON`.
    pub outputs: &'static [&'static str],
    /// The addresses whose records hold deposed objects afterwards, `ADDR: N deposed`.
    pub deposed: &'static [&'static str],
    /// A call after which the apply is stopped, as an interrupt stops it.
    pub stop_after: Option<&'static str>,
    /// Then, with the cloud's refusals lifted, the next plan (as [`Case::plan`]): it is
    /// applied and must succeed, converge, and leave no deposed object.
    pub then: &'static [&'static str],
}

/// An apply's defaults: nothing expected of it but success.
pub const APPLIED: Applied = Applied {
    order: &[],
    calls: &[],
    failed: &[],
    skipped: &[],
    state: &[],
    outputs: &[],
    deposed: &[],
    stop_after: None,
    then: &[],
};

struct Quiet;

impl ApplyObserver for Quiet {
    fn started(&self, _: &ResourceInstanceAddr, _: Action) {}
    fn status(&self, _: &ResourceInstanceAddr, _: &str) {}
    fn finished(&self, _: &ResourceInstanceAddr, _: Action, _: Option<&str>, _: Duration) {}
    fn failed(&self, _: &ResourceInstanceAddr, _: Action, _: &str) {}
}

/// A fresh directory for one case's files.
fn case_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!("inferform-engine-cases-{}-{n}", std::process::id()))
}

fn write_files(dir: &Path, main: &str, files: &[(&str, &str)]) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("main.hcl"), main).unwrap();
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn load(dir: &Path) -> Result<(Config, BTreeMap<String, inferform_types::Value>), String> {
    let (config, diags) = inferform_lang::load_dir(dir, ".");
    if diags.has_errors() {
        return Err(format!(
            "the configuration does not load: {:?}",
            codes(&diags)
        ));
    }
    let (vars, diags) = inferform_lang::vars::resolve(&config, &[]);
    if diags.has_errors() {
        return Err(format!("variables: {:?}", codes(&diags)));
    }
    Ok((config, vars))
}

pub fn engine(cloud: Arc<Cloud>) -> Arc<Engine> {
    let builtin = BuiltinFactory::default();
    let inferform = builtin
        .configure(&Default::default(), &ProviderEnv::default())
        .unwrap();
    Arc::new(Engine {
        providers: BTreeMap::from([
            (
                "test".to_string(),
                cloud as Arc<dyn inferform_provider::Provider>,
            ),
            ("inferform".to_string(), inferform),
        ]),
        schemas: builtin
            .resource_schemas()
            .into_iter()
            .chain([("test_thing".to_string(), cloud::thing_schema())])
            .collect(),
        data_schemas: builtin
            .data_source_schemas()
            .into_iter()
            .chain([("test_lookup".to_string(), cloud::lookup_schema())])
            .collect(),
        parallelism: 4,
    })
}

fn codes(diags: &Diagnostics) -> Vec<String> {
    diags
        .0
        .iter()
        .map(|d| match d.severity {
            Severity::Error => format!("error {}", d.code),
            Severity::Warning => format!("warning {}", d.code),
        })
        .collect()
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::NoOp => "no-op",
        Action::Create => "create",
        Action::Read => "read",
        Action::Update => "update",
        Action::Replace {
            create_first: false,
        } => "replace",
        Action::Replace { create_first: true } => "replace-cbd",
        Action::Delete => "delete",
        Action::Forget => "forget",
    }
}

/// The plan as lines: `adopt ADDR`, `move FROM -> TO`, `import ADDR = ID`, then one line per change that
/// does something, `VERB ADDR`, with ` forced by PATHS` when attributes force a
/// replacement and ` (REASON)` when something else does; `drift ADDR` (or `drift ADDR gone`)
/// in a refresh-only plan; `output NAME = VALUE` for each root output that changes.
pub fn plan_lines(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = plan.adopted.iter().map(|a| format!("adopt {a}")).collect();
    out.extend(
        plan.moved
            .iter()
            .map(|(from, to)| format!("move {from} -> {to}")),
    );
    out.extend(
        plan.imports
            .iter()
            .map(|(addr, id)| format!("import {addr} = {id}")),
    );
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let mut line = format!("{} {}", verb(c.action), c.addr);
        if c.deposed.is_some() {
            line.push_str(" (deposed)");
        }
        if !c.replace_paths.is_empty() {
            line.push_str(&format!(" forced by {}", c.replace_paths.join(", ")));
        }
        if let Some(reason) = plan.replace_reasons.get(&c.addr) {
            line.push_str(&format!(" ({})", reason.as_str()));
        }
        out.push(line);
    }
    if plan.refresh_only {
        for d in &plan.drift {
            let gone = if d.after.is_none() { " gone" } else { "" };
            out.push(format!("drift {}{gone}", d.addr));
        }
    }
    for o in &plan.outputs {
        if o.before.as_ref().map(|v| v.deep_unmarked()) != Some(o.after.deep_unmarked()) {
            out.push(format!("output {} = {}", o.name, o.after));
        }
    }
    out
}

fn options(opts: &Opts) -> Result<PlanOptions, String> {
    let mut plan = PlanOptions {
        refresh: opts.refresh,
        destroy: opts.destroy,
        refresh_only: opts.refresh_only,
        ..PlanOptions::default()
    };
    for t in opts.targets {
        match t.parse::<ResourceInstanceAddr>() {
            Ok(a) => plan.targets.push(a),
            Err(_) => plan
                .module_targets
                .push(t.parse::<ModulePath>().map_err(|e| format!("{t}: {e}"))?),
        }
    }
    for r in opts.replace {
        plan.replace
            .push(r.parse().map_err(|e| format!("{r}: {e}"))?);
    }
    Ok(plan)
}

async fn apply(
    engine: &Arc<Engine>,
    config: Config,
    plan: Plan,
    store: &Arc<MemoryStore>,
) -> ApplyOutcome {
    apply_until(
        engine,
        config,
        plan,
        store,
        Arc::new(AtomicBool::new(false)),
    )
    .await
}

async fn apply_until(
    engine: &Arc<Engine>,
    config: Config,
    plan: Plan,
    store: &Arc<MemoryStore>,
    stop: Arc<AtomicBool>,
) -> ApplyOutcome {
    engine
        .apply(ApplyInput {
            config: Arc::new(config),
            plan,
            store: store.clone(),
            observer: Arc::new(Quiet),
            stop,
            base_dir: None,
        })
        .await
}

/// `ADDR: N deposed` for every record holding deposed objects.
fn deposed_lines(store: &MemoryStore) -> Vec<String> {
    let state = store.load().unwrap();
    state
        .resources
        .values()
        .filter(|r| !r.deposed.is_empty())
        .map(|r| format!("{}: {} deposed", r.addr, r.deposed.len()))
        .collect()
}

/// `ADDR VERB CODE`, and ` at TEXT` when the failure points into the configuration.
fn failure_lines(outcome: &ApplyOutcome) -> Vec<String> {
    outcome
        .failures
        .iter()
        .map(|f| {
            let d = &f.diagnostic;
            let at = d.span.as_ref().map_or(String::new(), |s| {
                format!(" at {}", &s.text[s.range.clone()])
            });
            format!("{} {} {}{at}", f.addr, verb(f.action), d.code)
        })
        .collect()
}

async fn setup(step: &Setup, cloud: &Cloud, store: &MemoryStore) -> Result<(), String> {
    match step {
        Setup::Taint(addr) => {
            let state = store.load().map_err(|e| e.to_string())?;
            let mut r = state
                .resources
                .get(*addr)
                .cloned()
                .ok_or_else(|| format!("cannot taint {addr}: not in state"))?;
            r.tainted = true;
            store.put_resource(&r).map_err(|e| e.to_string())?;
        }
        Setup::Drift(name, attr, value) => {
            let mut objects = cloud.objects.lock().unwrap();
            let obj = objects
                .values_mut()
                .find(|o| o.get("name").and_then(|v| v.as_str()) == Some(name))
                .ok_or_else(|| format!("no object {name} to drift"))?;
            obj.insert(attr.to_string(), serde_json::from_str(value).unwrap());
        }
        Setup::Vanish(name) => {
            let id = cloud
                .by_name(name)
                .and_then(|o| o.get("id").and_then(|v| v.as_str()).map(str::to_string))
                .ok_or_else(|| format!("no object {name} to delete"))?;
            cloud.objects.lock().unwrap().remove(&id);
        }
        Setup::Make(id, attrs) => cloud.make(id, serde_json::from_str(attrs).unwrap()),
        Setup::Refuse(name) => {
            cloud.refuse.lock().unwrap().insert(name.to_string());
        }
        Setup::GuardParents => cloud.guard_parents.store(true, Ordering::SeqCst),
        Setup::Depose(addr, name) => {
            let id = format!("old-{name}");
            cloud.make(&id, serde_json::json!({ "name": name }));
            let object = cloud
                .by_name(name)
                .ok_or("the deposed object was not made")?;
            let state = store.load().map_err(|e| e.to_string())?;
            let mut r = state
                .resources
                .get(*addr)
                .cloned()
                .ok_or_else(|| format!("cannot depose into {addr}: not in state"))?;
            r.deposed.insert(
                "0badcafe".into(),
                inferform_state::DeposedObject {
                    attributes: serde_json::Value::Object(object),
                    dependencies: Vec::new(),
                    sensitive_paths: Vec::new(),
                },
            );
            store.put_resource(&r).map_err(|e| e.to_string())?;
        }
        Setup::Unanswered(name, made) => {
            cloud
                .unanswered
                .lock()
                .unwrap()
                .insert(name.to_string(), *made);
        }
        Setup::RefuseDelete(name) => {
            cloud.refuse_delete.lock().unwrap().insert(name.to_string());
        }
        Setup::Intent(addr, name) => {
            let type_name = addr.split('.').next().unwrap_or_default();
            let intent = inferform_state::Intent {
                addr: addr.to_string(),
                type_name: type_name.to_string(),
                provider: "test".to_string(),
                planned: serde_json::json!({ "name": name }),
                dependencies: Vec::new(),
            };
            store.record_intent(&intent).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn opts_targeted(opts: &Opts) -> bool {
    !opts.targets.is_empty()
}

/// Runs one case; every way it differs from its row, as messages.
pub async fn run(case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    let dir = case_dir();
    let cloud = Arc::new(Cloud::default());
    let engine = engine(cloud.clone());
    let store = Arc::new(MemoryStore::new(State::default()));
    if !case.before.is_empty() {
        write_files(&dir, case.before, case.files);
        let (config, vars) = match load(&dir) {
            Ok(c) => c,
            Err(e) => return vec![format!("before: {e}")],
        };
        let (plan, diags) = engine
            .plan(&config, &vars, &State::default(), &PlanOptions::default())
            .await;
        if diags.has_errors() {
            return vec![format!("before: plan: {:?}", codes(&diags))];
        }
        let outcome = apply(&engine, config, plan, &store).await;
        if !outcome.failures.is_empty() || outcome.diagnostics.has_errors() {
            return vec![format!("before: apply: {:?}", outcome.failures)];
        }
    }
    for step in case.setup {
        if let Err(e) = setup(step, &cloud, &store).await {
            return vec![format!("setup: {e}")];
        }
    }
    cloud.calls.lock().unwrap().clear();

    write_files(&dir, case.config, case.files);
    let (config, vars) = match load(&dir) {
        Ok(c) => c,
        Err(e) => return vec![e],
    };
    let opts = match options(&case.opts) {
        Ok(o) => o,
        Err(e) => return vec![e],
    };
    let state = store.load().unwrap();
    let (plan, diags) = engine.plan(&config, &vars, &state, &opts).await;
    let lines = plan_lines(&plan);
    if lines != case.plan {
        problems.push(format!("plan:\n  want {:?}\n  got  {:?}", case.plan, lines));
    }
    let got = codes(&diags);
    if got != case.diags {
        let messages: Vec<&str> = diags.0.iter().map(|d| d.message.as_str()).collect();
        problems.push(format!(
            "diagnostics:\n  want {:?}\n  got  {got:?} {messages:?}",
            case.diags
        ));
    }
    let Some(want) = &case.apply else {
        let _ = std::fs::remove_dir_all(&dir);
        return problems;
    };
    let stop = Arc::new(AtomicBool::new(false));
    if let Some(call) = want.stop_after {
        *cloud.stop_after.lock().unwrap() = Some((call.to_string(), stop.clone()));
    }
    let outcome = apply_until(&engine, config, plan, &store, stop).await;
    *cloud.stop_after.lock().unwrap() = None;
    let calls = cloud.calls.lock().unwrap().clone();
    problems.extend(check_apply(want, &outcome, &calls, &store));
    let deposed = deposed_lines(&store);
    if deposed != want.deposed {
        problems.push(format!(
            "deposed:\n  want {:?}\n  got  {deposed:?}",
            want.deposed
        ));
    }
    if !want.then.is_empty() && problems.is_empty() {
        cloud.refuse_delete.lock().unwrap().clear();
        cloud.refuse.lock().unwrap().clear();
        cloud.unanswered.lock().unwrap().clear();
        problems.extend(then_round(want, &engine, &dir, &store).await);
    }
    let interrupted = want.stop_after.is_some() || !want.then.is_empty();
    if want.failed.is_empty() && !interrupted && problems.is_empty() {
        // A finished apply converges: the same configuration plans nothing more.
        let (config, vars) = match load(&dir) {
            Ok(c) => c,
            Err(e) => return vec![e],
        };
        let state = store.load().unwrap();
        let again = PlanOptions {
            refresh: true,
            ..PlanOptions::default()
        };
        let (plan, _) = engine.plan(&config, &vars, &state, &again).await;
        let partial =
            opts.destroy || opts.refresh_only || plan.targeted || opts_targeted(&case.opts);
        if !partial && plan.has_changes() {
            problems.push(format!(
                "the next plan is not empty: {:?}",
                plan_lines(&plan)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    problems
}

/// The round after a failed or interrupted apply: its plan is `want.then`; applied, it
/// succeeds, leaves no deposed object, and the plan after it is empty.
async fn then_round(
    want: &Applied,
    engine: &Arc<Engine>,
    dir: &Path,
    store: &Arc<MemoryStore>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let again = PlanOptions {
        refresh: true,
        ..PlanOptions::default()
    };
    let (config, vars) = match load(dir) {
        Ok(c) => c,
        Err(e) => return vec![e],
    };
    let (plan, diags) = engine
        .plan(&config, &vars, &store.load().unwrap(), &again)
        .await;
    let lines = plan_lines(&plan);
    if lines != want.then || diags.has_errors() {
        problems.push(format!(
            "then plan:\n  want {:?}\n  got  {lines:?} {:?}",
            want.then,
            codes(&diags)
        ));
        return problems;
    }
    let outcome = apply(engine, config, plan, store).await;
    if !outcome.failures.is_empty() || outcome.diagnostics.has_errors() {
        problems.push(format!(
            "then apply: {:?} {:?}",
            failure_lines(&outcome),
            codes(&outcome.diagnostics)
        ));
    }
    let deposed = deposed_lines(store);
    if !deposed.is_empty() {
        problems.push(format!("then: deposed objects left: {deposed:?}"));
    }
    let (config, vars) = match load(dir) {
        Ok(c) => c,
        Err(e) => return vec![e],
    };
    let (plan, _) = engine
        .plan(&config, &vars, &store.load().unwrap(), &again)
        .await;
    if plan.has_changes() {
        problems.push(format!(
            "then: the next plan is not empty: {:?}",
            plan_lines(&plan)
        ));
    }
    problems
}

fn check_apply(
    want: &Applied,
    outcome: &ApplyOutcome,
    calls: &[String],
    store: &MemoryStore,
) -> Vec<String> {
    let mut problems = Vec::new();
    let position = |call: &str| calls.iter().position(|c| c == call);
    for (first, second) in want.order {
        match (position(first), position(second)) {
            (Some(a), Some(b)) if a < b => {}
            _ => problems.push(format!(
                "order: want {first} before {second}, calls {calls:?}"
            )),
        }
    }
    let mut sorted = calls.to_vec();
    sorted.sort();
    if !want.calls.is_empty() && sorted != want.calls {
        problems.push(format!(
            "calls:\n  want {:?}\n  got  {sorted:?}",
            want.calls
        ));
    }
    let failed = failure_lines(outcome);
    if failed != want.failed {
        problems.push(format!(
            "failed:\n  want {:?}\n  got  {failed:?} ({:?})",
            want.failed, outcome.failures
        ));
    }
    let skipped: Vec<String> = outcome.skipped.iter().map(ToString::to_string).collect();
    if skipped != want.skipped {
        problems.push(format!(
            "skipped:\n  want {:?}\n  got  {:?}",
            want.skipped, outcome.skipped
        ));
    }
    let state = store.load().unwrap();
    if !state.intents.is_empty() && want.failed.is_empty() {
        problems.push(format!("intents left: {:?}", state.intents.keys()));
    }
    let addrs: Vec<&str> = state.resources.keys().map(String::as_str).collect();
    if addrs != want.state {
        problems.push(format!("state:\n  want {:?}\n  got  {addrs:?}", want.state));
    }
    let outputs: Vec<String> = state
        .outputs
        .iter()
        .map(|(k, v)| format!("{k} = {}", v.value))
        .collect();
    if outputs != want.outputs {
        problems.push(format!(
            "outputs:\n  want {:?}\n  got  {outputs:?}",
            want.outputs
        ));
    }
    problems
}

/// Runs every case of a table; fails with every difference of every case at once.
pub async fn run_all(cases: &[Case]) {
    let mut report = Vec::new();
    for case in cases {
        let problems = run(case).await;
        if !problems.is_empty() {
            report.push(format!("case `{}`:\n{}", case.name, problems.join("\n")));
        }
    }
    assert!(report.is_empty(), "\n{}\n", report.join("\n\n"));
}
