//! `inferform apply` and `inferform destroy`: plan, ask, apply with progress, summarise.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inferform_engine::{Action, ApplyInput, ApplyObserver};
use inferform_types::ResourceInstanceAddr;

use super::plan::{make_plan, prepare};
use crate::ui::Ui;
use crate::workspace::CliVar;
use crate::ApplyArgs;

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

pub async fn run(dir: &Path, args: &ApplyArgs, vars: &[CliVar], destroy: bool, ui: &Ui) -> u8 {
    let prepared = match prepare(dir, &args.flags, vars, ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = apply(&prepared, args, destroy, ui).await;
    prepared.finish().await;
    code
}

async fn apply(p: &super::plan::Prepared, args: &ApplyArgs, destroy: bool, ui: &Ui) -> u8 {
    let Some(plan) = make_plan(p, &args.flags, destroy, ui).await else {
        return 1;
    };
    if !plan.has_changes() && plan.adopted.is_empty() {
        if destroy {
            ui.line("\nDestroy complete! Resources: 0 destroyed.");
        } else {
            ui.line("\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.");
            print_outputs(p, ui);
        }
        return 0;
    }
    if !args.auto_approve {
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
        store: p.store.clone(),
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

fn print_outputs(p: &super::plan::Prepared, ui: &Ui) {
    if !p.state.outputs.is_empty() {
        ui.line("\nOutputs:\n");
        ui.out(&inferform_render::render_outputs(&p.state.outputs));
    }
}
