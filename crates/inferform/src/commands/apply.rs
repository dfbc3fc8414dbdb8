//! `inferform apply` and `inferform destroy`: plan, ask, apply with progress, summarise.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use inferform_engine::{Action, ApplyInput, ApplyOutcome};
use inferform_types::ResourceInstanceAddr;

use inferform_engine::planfile::{fingerprint, PlanFile};
use inferform_engine::Plan;

use super::plan::{compute_plan, make_plan, options, prepare, Prepared};
use inferform_render::ui_json::{change_summary, hook_json};

use super::progress::Progress;
use crate::ui::Ui;
use crate::workspace::CliVar;
use crate::{ApplyArgs, DestroyArgs, PlanFlags, RefreshArgs};

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
    let before = saved.stale_before_planning(
        &p.state.lineage,
        p.state.serial,
        &p.config_hash(),
        &p.ws.vars,
    );
    if let Some(why) = before {
        return stale(ui, why);
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
    if let Some(why) = saved.stale_after_planning(&plan, &p.ws.schemas) {
        return stale(ui, why);
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
        return nothing_to_do(p, destroy, ui);
    }
    if auto_approve {
        ui.line("");
    } else if let Err(code) = confirm(destroy, ui) {
        return code;
    }
    let changes: Vec<(ResourceInstanceAddr, Action)> = plan
        .changes
        .iter()
        .map(|c| (c.addr.clone(), c.action))
        .collect();
    let outcome = apply_with_progress(p, plan, &changes, ui).await;
    p.lock.record(mode.command(), fingerprint, ui);
    report(&outcome, destroy, ui)
}

/// A plan with nothing to do: the summary (and outputs) at once.
fn nothing_to_do(p: &Prepared, destroy: bool, ui: &Ui) -> u8 {
    if ui.json {
        let operation = if destroy { "destroy" } else { "apply" };
        ui.emit(
            "info",
            "Apply complete! Resources: 0 added, 0 changed, 0 destroyed.",
            "change_summary",
            change_summary(0, 0, 0, 0, operation),
        );
    }
    if destroy {
        ui.line("\nDestroy complete! Resources: 0 destroyed.");
    } else {
        ui.line("\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.");
        print_outputs(p, ui);
    }
    0
}

/// Asks for `yes`; anything else (or no answer) cancels with exit code 1.
fn confirm(destroy: bool, ui: &Ui) -> Result<(), u8> {
    let question = if destroy {
        "\nDo you really want to destroy all resources?\n  inferform will destroy all your managed infrastructure, as shown above.\n  There is no undo. Only 'yes' will be accepted to confirm.\n\n  Enter a value: "
    } else {
        "\nDo you want to perform these actions?\n  inferform will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    };
    match ui.ask(question) {
        Some(answer) if answer == "yes" => {
            ui.line("");
            Ok(())
        }
        Some(_) => {
            ui.error_line(if destroy {
                "\nDestroy cancelled."
            } else {
                "\nApply cancelled."
            });
            Err(1)
        }
        None => {
            ui.error_line(
                "\nError: no answer to the confirmation prompt (standard input is closed)",
            );
            ui.error_line("  Run with --auto-approve to apply without asking, for example in CI.");
            Err(1)
        }
    }
}

/// Applies the plan while [`Progress`] follows it (a tick every second) and Ctrl-C stops new
/// work from starting; the status area is gone when it returns.
async fn apply_with_progress(
    p: &Prepared,
    plan: Plan,
    changes: &[(ResourceInstanceAddr, Action)],
    ui: &Ui,
) -> ApplyOutcome {
    let stop = Arc::new(AtomicBool::new(false));
    let out = ui.progress();
    let progress = Arc::new(Progress::of_changes(out.clone(), changes));
    let ticker = progress.clone().tick_every_second();
    let interrupt = {
        let stop = stop.clone();
        let out = out.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
                out.error_line("\nInterrupt received.\nPlease wait for inferform to exit or data loss may occur.\nGracefully shutting down: changes in flight will finish and be recorded...");
            }
        })
    };
    let input = ApplyInput {
        config: Arc::new(p.ws.config.clone()),
        plan,
        store: p.lock.store.clone(),
        observer: progress,
        stop,
        base_dir: Some(p.ws.dir.clone()),
    };
    let outcome = p.engine.apply(input).await;
    ticker.abort();
    interrupt.abort();
    out.close();
    outcome
}

/// What went wrong, then the summary and outputs, as text or JSON lines; the exit code.
fn report(outcome: &ApplyOutcome, destroy: bool, ui: &Ui) -> u8 {
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
        report_json(outcome, destroy, ok, ui);
    } else {
        report_text(outcome, destroy, ok, ui);
    }
    if ok {
        0
    } else {
        1
    }
}

/// The `apply_errored` lines, the `change_summary` and the `outputs`.
fn report_json(outcome: &ApplyOutcome, destroy: bool, ok: bool, ui: &Ui) {
    for failure in &outcome.failures {
        let (addr, action) = (&failure.addr, failure.action);
        ui.emit(
            "error",
            &format!(
                "{addr}: {} errored: {}",
                action.progressive(),
                failure.reason()
            ),
            "apply_errored",
            serde_json::json!({ "hook": hook_json(addr, action) }),
        );
    }
    let operation = if destroy { "destroy" } else { "apply" };
    let head = if ok { "complete" } else { "failed" };
    ui.emit(
        if ok { "info" } else { "error" },
        &format!(
            "Apply {head}! Resources: {} added, {} changed, {} destroyed.",
            outcome.added, outcome.changed, outcome.destroyed
        ),
        "change_summary",
        change_summary(
            outcome.added,
            outcome.changed,
            0,
            outcome.destroyed,
            operation,
        ),
    );
    if !destroy {
        emit_outputs(&outcome.outputs, ui);
    }
}

/// `Apply complete! Resources: ...` (or `Destroy ...`), and the outputs.
fn report_text(outcome: &ApplyOutcome, destroy: bool, ok: bool, ui: &Ui) {
    let summary = inferform_render::ApplySummary {
        destroy,
        ok,
        added: outcome.added,
        changed: outcome.changed,
        destroyed: outcome.destroyed,
    };
    ui.line(&inferform_render::apply_summary(
        summary,
        inferform_render::Style { color: ui.color },
    ));
    if !destroy {
        ui.out(&inferform_render::outputs_section(&outcome.outputs));
    }
}

/// The action a failed change had, for its `apply_errored` line.
/// The outputs as one `outputs` line; sensitive values are left out.
fn emit_outputs(outputs: &BTreeMap<String, inferform_state::OutputState>, ui: &Ui) {
    let doc = inferform_render::outputs_json(outputs, inferform_render::SensitiveOutputs::Null);
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
    ui.out(&inferform_render::outputs_section(&p.state.outputs));
}
