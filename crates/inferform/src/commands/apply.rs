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

use super::plan::{compute_plan, make_plan, options, prepare, Prepared};
use crate::ui::Ui;
use crate::workspace::CliVar;
use crate::{ApplyArgs, DestroyArgs, PlanFlags, RefreshArgs};

/// Prints progress lines as Terraform does, and "Still ..." every 10 seconds.
struct Progress {
    color: bool,
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

    fn tick(&self) {
        let now = Instant::now();
        let flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        for (addr, (action, start, status)) in flight.iter() {
            let secs = now.duration_since(*start).as_secs();
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

impl ApplyObserver for Progress {
    fn started(&self, addr: &ResourceInstanceAddr, action: Action) {
        let a = addr.to_string();
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(a.clone(), (action, Instant::now(), None));
        self.print(format!("{}: {}...", self.bold(&a), action.progressive()));
    }

    fn status(&self, addr: &ResourceInstanceAddr, status: &str) {
        let a = addr.to_string();
        let mut flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = flight.get_mut(&a) {
            if entry.2.as_deref() != Some(status) {
                entry.2 = Some(status.to_string());
                let secs = entry.1.elapsed().as_secs();
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
        let a = addr.to_string();
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&a);
        let id = id.map(|i| format!(" [id={i}]")).unwrap_or_default();
        self.print(format!(
            "{}: {} after {}{id}",
            self.bold(&a),
            action.completed(),
            elapsed(took)
        ));
    }

    fn failed(&self, addr: &ResourceInstanceAddr, _action: Action, _error: &str) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&addr.to_string());
    }
}

/// `inferform apply [PLANFILE]`.
pub async fn run_apply(dir: &Path, args: &ApplyArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    if let Some(file) = &args.plan_file {
        return apply_saved(dir, file, &args.flags, vars, ui).await;
    }
    let prepared = match prepare(dir, &args.flags, vars, "OperationTypeApply", ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = match make_plan(&prepared, &args.flags, false, ui).await {
        Some(plan) => execute(&prepared, plan, Mode::Apply, args.auto_approve, ui).await,
        None => 1,
    };
    prepared.finish().await;
    code
}

/// `inferform destroy`.
pub async fn run_destroy(dir: &Path, args: &DestroyArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    let prepared = match prepare(dir, &args.flags, vars, "OperationTypeApply", ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = match make_plan(&prepared, &args.flags, true, ui).await {
        Some(plan) => execute(&prepared, plan, Mode::Destroy, args.auto_approve, ui).await,
        None => 1,
    };
    prepared.finish().await;
    code
}

/// `inferform refresh`: a refresh-only apply that needs no approval, as Terraform's.
pub async fn run_refresh(dir: &Path, args: &RefreshArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    let mut flags = args.flags.clone();
    flags.refresh_only = true;
    let prepared = match prepare(dir, &flags, vars, "OperationTypeRefresh", ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = match make_plan(&prepared, &flags, false, ui).await {
        Some(plan) => execute(&prepared, plan, Mode::Apply, true, ui).await,
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
    let saved: PlanFile = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(f) => f,
        Err(e) => {
            let d = inferform_types::Diagnostic::error(
                "inferform::plan::read",
                format!("{} is not a saved plan: {e}", file.display()),
            )
            .with_help("pass a file written by `inferform plan --out FILE`");
            ui.diagnostics([&d]);
            return 1;
        }
    };
    if saved.format_version != inferform_engine::planfile::FORMAT_VERSION {
        return stale(
            ui,
            format!(
                "it was written in plan format {}, this inferform reads {}",
                saved.format_version,
                inferform_engine::planfile::FORMAT_VERSION
            ),
        );
    }
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
    execute(p, plan, mode, true, ui).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Apply,
    Destroy,
}

/// Asks (unless approved), applies with progress, prints the summary and outputs.
async fn execute(p: &Prepared, plan: Plan, mode: Mode, auto_approve: bool, ui: &Ui) -> u8 {
    let destroy = mode == Mode::Destroy;
    let state_only = !plan.record.is_empty() || !plan.resolved_intents.is_empty();
    if !plan.has_changes() && !state_only {
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
    ticker.abort();
    interrupt.abort();
    for (addr, message) in &outcome.failures {
        let d = inferform_types::Diagnostic::error(
            "inferform::apply::failed",
            format!("{addr}: {message}"),
        );
        ui.diagnostics([&d]);
    }
    ui.diagnostics(outcome.diagnostics.iter());
    if !outcome.skipped.is_empty() {
        ui.error_line(&format!(
            "Not attempted because something they depend on failed or the run stopped: {}",
            outcome.skipped.join(", ")
        ));
    }
    let ok = outcome.failures.is_empty() && !outcome.diagnostics.has_errors();
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

fn print_outputs(p: &Prepared, ui: &Ui) {
    if !p.state.outputs.is_empty() {
        ui.line("\nOutputs:\n");
        ui.out(&inferform_render::render_outputs(&p.state.outputs));
    }
}
