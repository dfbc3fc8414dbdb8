//! `inferform apply` and `inferform destroy`: plan, ask, apply with progress, summarise.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inferform_engine::{Action, ApplyInput, ApplyObserver};
use inferform_types::ResourceInstanceAddr;

use inferform_engine::planfile::{fingerprint, PlanFile};
use inferform_engine::Plan;

use super::plan::{
    action_json, compute_plan, make_plan, options, prepare, resource_json, Prepared,
};
use crate::ui::Ui;
use crate::workspace::CliVar;
use crate::{ApplyArgs, DestroyArgs, PlanFlags, RefreshArgs};

/// Prints progress lines as Terraform does, and "Still ..." every 10 seconds.
struct Progress {
    color: bool,
    /// Report as JSON lines (`apply_start`, `apply_progress`, ...) instead of text.
    json: bool,
    in_flight: Mutex<BTreeMap<String, InFlight>>,
}

/// A change in progress: what it does, when it started, the cloud status last seen.
type InFlight = (Action, Instant, Option<String>);

impl Progress {
    fn print(&self, line: String) {
        println!("{line}");
    }

    fn bold(&self, s: &str) -> String {
        inferform_render::Style { color: self.color }.bold(s)
    }

    fn still(verb: Action) -> &'static str {
        match verb {
            Action::Create => "Still creating...",
            Action::Update => "Still modifying...",
            Action::Replace { .. } => "Still replacing...",
            Action::Delete => "Still destroying...",
            _ => "Still working...",
        }
    }

    fn emit(&self, kind: &str, message: String, hook: serde_json::Value) {
        Ui {
            color: false,
            json: true,
        }
        .emit("info", &message, kind, serde_json::json!({"hook": hook}));
    }

    fn hook(addr: &ResourceInstanceAddr, action: Action) -> serde_json::Value {
        serde_json::json!({"resource": resource_json(addr), "action": action_json(action)})
    }

    fn tick(&self) {
        let now = Instant::now();
        let flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        for (addr, (action, start, status)) in flight.iter() {
            let secs = now.duration_since(*start).as_secs();
            if self.json {
                if let Ok(a) = addr.parse::<ResourceInstanceAddr>() {
                    let mut hook = Self::hook(&a, *action);
                    hook["elapsed_seconds"] = secs.into();
                    self.emit(
                        "apply_progress",
                        format!("{addr}: {} [{secs}s elapsed]", Self::still(*action)),
                        hook,
                    );
                }
                continue;
            }
            let status = status
                .as_ref()
                .map(|s| format!(", status {s}"))
                .unwrap_or_default();
            self.print(format!(
                "{}: {} [{secs}s elapsed{status}]",
                self.bold(addr),
                Self::still(*action)
            ));
        }
    }
}

fn elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// How progress names a deposed object: `ADDR (deposed object KEY)`, as Terraform does.
fn deposed_label(addr: &ResourceInstanceAddr, key: &str) -> String {
    format!("{addr} (deposed object {key})")
}

impl Progress {
    /// A step on what `a` names (the address, or one of its deposed objects) starts.
    fn start(&self, a: String, addr: &ResourceInstanceAddr, action: Action) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(a.clone(), (action, Instant::now(), None));
        if self.json {
            self.emit(
                "apply_start",
                format!("{a}: {}...", action.progressive()),
                Self::hook(addr, action),
            );
            return;
        }
        self.print(format!("{}: {}...", self.bold(&a), action.progressive()));
    }

    /// A step on what `a` names finished.
    fn finish(
        &self,
        a: String,
        addr: &ResourceInstanceAddr,
        action: Action,
        id: Option<&str>,
        took: Duration,
    ) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&a);
        if self.json {
            let mut hook = Self::hook(addr, action);
            hook["elapsed_seconds"] = took.as_secs().into();
            if let Some(id) = id {
                hook["id_key"] = "id".into();
                hook["id_value"] = id.into();
            }
            self.emit(
                "apply_complete",
                format!("{a}: {} after {}", action.completed(), elapsed(took)),
                hook,
            );
            return;
        }
        let id = id.map(|i| format!(" [id={i}]")).unwrap_or_default();
        self.print(format!(
            "{}: {} after {}{id}",
            self.bold(&a),
            action.completed(),
            elapsed(took)
        ));
    }
}

impl ApplyObserver for Progress {
    fn started(&self, addr: &ResourceInstanceAddr, action: Action) {
        self.start(addr.to_string(), addr, action)
    }

    fn started_deposed(&self, addr: &ResourceInstanceAddr, key: &str, action: Action) {
        self.start(deposed_label(addr, key), addr, action)
    }

    fn finished_deposed(
        &self,
        addr: &ResourceInstanceAddr,
        key: &str,
        action: Action,
        took: Duration,
    ) {
        self.finish(deposed_label(addr, key), addr, action, None, took)
    }

    fn failed_deposed(
        &self,
        addr: &ResourceInstanceAddr,
        key: &str,
        _action: Action,
        _error: &str,
    ) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&deposed_label(addr, key));
    }

    fn status(&self, addr: &ResourceInstanceAddr, status: &str) {
        let a = addr.to_string();
        let mut flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = flight.get_mut(&a) {
            if entry.2.as_deref() != Some(status) {
                entry.2 = Some(status.to_string());
                let secs = entry.1.elapsed().as_secs();
                if self.json {
                    let mut hook = Self::hook(addr, entry.0);
                    hook["elapsed_seconds"] = secs.into();
                    hook["status"] = status.into();
                    self.emit(
                        "apply_progress",
                        format!(
                            "{a}: {} [{secs}s elapsed, status {status}]",
                            Self::still(entry.0)
                        ),
                        hook,
                    );
                    return;
                }
                self.print(format!(
                    "{}: {} [{secs}s elapsed, status {status}]",
                    self.bold(&a),
                    Self::still(entry.0)
                ));
            }
        }
    }

    fn finished(
        &self,
        addr: &ResourceInstanceAddr,
        action: Action,
        id: Option<&str>,
        took: Duration,
    ) {
        self.finish(addr.to_string(), addr, action, id, took)
    }

    fn failed(&self, addr: &ResourceInstanceAddr, _action: Action, _error: &str) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&addr.to_string());
    }
}

/// `inferform apply [PLANFILE]`.
/// Machine-readable output cannot answer a prompt.
fn json_needs_approval(json: bool, approved: bool, ui: &Ui) -> bool {
    if json && !approved {
        let d = inferform_types::Diagnostic::error("inferform::cli::json_approve", "--json needs --auto-approve (or a saved plan)")
            .with_help("with machine-readable output there is no prompt: pass --auto-approve, or apply a reviewed plan file");
        ui.diagnostics([&d]);
        return true;
    }
    false
}

pub async fn run_apply(dir: &Path, args: &ApplyArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    let ui = &ui.with_json(args.flags.json);
    if json_needs_approval(
        args.flags.json,
        args.auto_approve || args.plan_file.is_some(),
        ui,
    ) {
        return 1;
    }
    if let Some(file) = &args.plan_file {
        return apply_saved(dir, file, &args.flags, vars, ui).await;
    }
    let prepared = match prepare(dir, &args.flags, vars, "OperationTypeApply", ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = match make_plan(&prepared, &args.flags, false, ui).await {
        Some(plan) => {
            let fp = direct_fingerprint(&prepared, &plan);
            execute(
                &prepared,
                plan,
                Mode::Apply,
                args.auto_approve,
                Some(fp),
                ui,
            )
            .await
        }
        None => 1,
    };
    prepared.finish().await;
    code
}

/// `inferform destroy`.
pub async fn run_destroy(dir: &Path, args: &DestroyArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    let ui = &ui.with_json(args.flags.json);
    if json_needs_approval(args.flags.json, args.auto_approve, ui) {
        return 1;
    }
    let prepared = match prepare(dir, &args.flags, vars, "OperationTypeApply", ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = match make_plan(&prepared, &args.flags, true, ui).await {
        Some(plan) => {
            let fp = direct_fingerprint(&prepared, &plan);
            execute(
                &prepared,
                plan,
                Mode::Destroy,
                args.auto_approve,
                Some(fp),
                ui,
            )
            .await
        }
        None => 1,
    };
    prepared.finish().await;
    code
}

/// `inferform refresh`: a refresh-only apply that needs no approval, as Terraform's.
pub async fn run_refresh(dir: &Path, args: &RefreshArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    let ui = &ui.with_json(args.flags.json);
    let mut flags = args.flags.clone();
    flags.refresh_only = true;
    let prepared = match prepare(dir, &flags, vars, "OperationTypeRefresh", ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = match make_plan(&prepared, &flags, false, ui).await {
        Some(plan) => execute(&prepared, plan, Mode::Refresh, true, None, ui).await,
        None => 1,
    };
    prepared.finish().await;
    code
}

fn stale(ui: &Ui, why: String) -> u8 {
    let d = inferform_types::Diagnostic::error("inferform::plan::stale", format!("Saved plan is stale: {why}"))
        .with_help("the saved plan can no longer be applied exactly as reviewed; make a new plan with `inferform plan --out FILE`, review it, and apply that");
    ui.diagnostics([&d]);
    1
}

/// `inferform apply PLANFILE`: re-plans from the same inputs and applies only if the result is
/// exactly the saved plan.
async fn apply_saved(dir: &Path, file: &Path, flags: &PlanFlags, vars: &[CliVar], ui: &Ui) -> u8 {
    let saved = match super::show::read_plan_file(
        dir,
        file,
        &crate::workspace::schemas(&crate::workspace::factories()),
    ) {
        Ok(f) => f,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    // The plan's own variable values win, except secrets, which the file does not hold: those
    // come from the usual sources and are checked against the plan's hashes.
    let mut vars = vars.to_vec();
    for (name, encoded) in &saved.variables {
        if !encoded.get("$sensitive").is_some_and(|v| v.is_string()) {
            vars.push(CliVar::Saved(
                name.clone(),
                inferform_engine::planfile::decode(encoded),
            ));
        }
    }
    let mut flags = flags.clone();
    flags.refresh = saved.options.refresh;
    flags.refresh_only = saved.options.refresh_only;
    flags.targets = saved.options.targets.clone();
    flags.replace = saved.options.replace.clone();
    let prepared = match prepare(dir, &flags, &vars, "OperationTypeApply", ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = apply_checked(&prepared, &saved, &flags, ui).await;
    prepared.finish().await;
    code
}

async fn apply_checked(p: &Prepared, saved: &PlanFile, flags: &PlanFlags, ui: &Ui) -> u8 {
    if p.state.lineage != saved.lineage {
        return stale(
            ui,
            "it was made for a different state (another lineage)".into(),
        );
    }
    if p.state.serial != saved.serial {
        return stale(
            ui,
            format!(
                "the state changed since the plan was made (serial {} then, {} now)",
                saved.serial, p.state.serial
            ),
        );
    }
    if p.config_hash() != saved.config_hash {
        return stale(
            ui,
            "the configuration files changed since the plan was made".into(),
        );
    }
    for (name, value) in &p.ws.vars {
        if let Some(why) = saved.variable_differs(name, value) {
            return stale(ui, why);
        }
    }
    let opts = match options(p, flags, saved.options.destroy) {
        Ok(o) => o,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    let Some(plan) = compute_plan(p, &opts, ui).await else {
        return 1;
    };
    if fingerprint(&plan, &p.ws.schemas, &saved.salt) != saved.fingerprint {
        return stale(ui, "a fresh plan from the same configuration would do something else: the objects changed in the cloud since the plan was made".into());
    }
    let mode = if saved.options.destroy {
        Mode::Destroy
    } else {
        Mode::Apply
    };
    execute(p, plan, mode, true, Some(saved.fingerprint.clone()), ui).await
}

/// The fingerprint of a plan applied without being saved first, for the state's history: the
/// same digest a saved plan carries, with a salt of its own.
fn direct_fingerprint(p: &Prepared, plan: &Plan) -> String {
    fingerprint(plan, &p.ws.schemas, &inferform_engine::planfile::new_salt())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Apply,
    Destroy,
    /// An apply of a refresh-only plan (`inferform refresh`).
    Refresh,
}

impl Mode {
    /// The command as the state's history names it.
    fn command(self) -> &'static str {
        match self {
            Mode::Apply => "apply",
            Mode::Destroy => "destroy",
            Mode::Refresh => "refresh",
        }
    }
}

/// Asks (unless approved), applies with progress, prints the summary and outputs.
async fn execute(
    p: &Prepared,
    plan: Plan,
    mode: Mode,
    auto_approve: bool,
    fingerprint: Option<String>,
    ui: &Ui,
) -> u8 {
    let destroy = mode == Mode::Destroy;
    let state_only = !plan.record.is_empty() || !plan.resolved_intents.is_empty();
    if !plan.has_changes() && !state_only {
        if ui.json {
            let operation = if destroy { "destroy" } else { "apply" };
            ui.emit(
                "info",
                "Apply complete! Resources: 0 added, 0 changed, 0 destroyed.",
                "change_summary",
                serde_json::json!({"changes": {"add": 0, "change": 0, "import": 0, "remove": 0, "operation": operation}}),
            );
        }
        if destroy {
            ui.line("\nDestroy complete! Resources: 0 destroyed.");
        } else {
            ui.line("\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.");
            print_outputs(p, ui);
        }
        return 0;
    }
    if !auto_approve {
        let question = if destroy {
            "\nDo you really want to destroy all resources?\n  inferform will destroy all your managed infrastructure, as shown above.\n  There is no undo. Only 'yes' will be accepted to confirm.\n\n  Enter a value: "
        } else {
            "\nDo you want to perform these actions?\n  inferform will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
        };
        match ui.ask(question) {
            Some(answer) if answer == "yes" => ui.line(""),
            Some(_) => {
                ui.error_line(if destroy {
                    "\nDestroy cancelled."
                } else {
                    "\nApply cancelled."
                });
                return 1;
            }
            None => {
                ui.error_line(
                    "\nError: no answer to the confirmation prompt (standard input is closed)",
                );
                ui.error_line(
                    "  Run with --auto-approve to apply without asking, for example in CI.",
                );
                return 1;
            }
        }
    } else {
        ui.line("");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress {
        color: ui.color,
        json: ui.json,
        in_flight: Mutex::new(BTreeMap::new()),
    });
    let ticker = {
        let progress = progress.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(10));
            interval.tick().await;
            loop {
                interval.tick().await;
                progress.tick();
            }
        })
    };
    let interrupt = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
                eprintln!("\nInterrupt received.\nPlease wait for inferform to exit or data loss may occur.\nGracefully shutting down: changes in flight will finish and be recorded...");
            }
        })
    };
    let input = ApplyInput {
        config: Arc::new(p.ws.config.clone()),
        plan,
        store: p.lock.store.clone(),
        observer: progress.clone(),
        stop,
        base_dir: Some(p.ws.dir.clone()),
    };
    let outcome = p.engine.apply(input).await;
    p.lock.record(mode.command(), fingerprint, ui);
    ticker.abort();
    interrupt.abort();
    for failure in &outcome.failures {
        let d = inferform_types::Diagnostic::error(
            "inferform::apply::failed",
            format!("{}: {}", failure.addr, failure.reason()),
        );
        ui.diagnostics([&d]);
    }
    ui.diagnostics(outcome.diagnostics.iter());
    if !outcome.skipped.is_empty() {
        ui.error_line(&format!(
            "Not attempted because something they depend on failed or the run stopped: {}",
            outcome
                .skipped
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let ok = outcome.failures.is_empty() && !outcome.diagnostics.has_errors();
    if ui.json {
        for failure in &outcome.failures {
            let (addr, action) = (&failure.addr, failure.action);
            ui.emit(
                "error",
                &format!("{addr}: {} errored: {}", action.progressive(), failure.reason()),
                "apply_errored",
                serde_json::json!({"hook": {"resource": resource_json(addr), "action": action_json(action)}}),
            );
        }
        let operation = if destroy { "destroy" } else { "apply" };
        let head = if ok { "complete" } else { "failed" };
        ui.emit(
            if ok { "info" } else { "error" },
            &format!("Apply {head}! Resources: {} added, {} changed, {} destroyed.", outcome.added, outcome.changed, outcome.destroyed),
            "change_summary",
            serde_json::json!({"changes": {"add": outcome.added, "change": outcome.changed, "import": 0, "remove": outcome.destroyed, "operation": operation}}),
        );
        if !destroy {
            emit_outputs(&outcome.outputs, ui);
        }
        return if ok { 0 } else { 1 };
    }
    let style = inferform_render::Style { color: ui.color };
    if destroy {
        let head = if ok {
            "Destroy complete!"
        } else {
            "Destroy failed."
        };
        ui.line(&format!(
            "\n{} Resources: {} destroyed.",
            style.bold(head),
            outcome.destroyed
        ));
    } else {
        let head = if ok {
            "Apply complete!"
        } else {
            "Apply failed."
        };
        ui.line(&format!(
            "\n{} Resources: {} added, {} changed, {} destroyed.",
            style.bold(head),
            outcome.added,
            outcome.changed,
            outcome.destroyed
        ));
        if !outcome.outputs.is_empty() {
            ui.line("\nOutputs:\n");
            ui.out(&inferform_render::render_outputs(&outcome.outputs));
        }
    }
    if ok {
        0
    } else {
        1
    }
}

/// The outputs as one `outputs` line; sensitive values are left out.
fn emit_outputs(outputs: &BTreeMap<String, inferform_state::OutputState>, ui: &Ui) {
    let doc: serde_json::Map<String, serde_json::Value> = outputs
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
    ui.emit(
        "info",
        &format!("Outputs: {}", outputs.len()),
        "outputs",
        serde_json::json!({"outputs": doc}),
    );
}

fn print_outputs(p: &Prepared, ui: &Ui) {
    if ui.json {
        emit_outputs(&p.state.outputs, ui);
        return;
    }
    if !p.state.outputs.is_empty() {
        ui.line("\nOutputs:\n");
        ui.out(&inferform_render::render_outputs(&p.state.outputs));
    }
}
