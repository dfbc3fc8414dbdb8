//! `inferform plan`, and the preparation plan, apply, destroy, refresh and import share.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use inferform_engine::planfile::{config_hash, PlanFile, SavedOptions};
use inferform_engine::{Engine, Plan, PlanOptions, ReadObserver};
use inferform_local_cloud::LocalCloud;
use inferform_state::State;
use inferform_types::{Diagnostic, Diagnostics, ResourceInstanceAddr};

use super::progress::Progress;
use crate::ui::Ui;
use crate::workspace::{self, CliVar, LockedState, Workspace};
use crate::{PlanArgs, PlanFlags};

/// Everything a plan needs, ready.
pub struct Prepared {
    pub ws: Workspace,
    pub lock: LockedState,
    pub state: State,
    pub engine: Arc<Engine>,
    /// Kept alive for the run; shut down at the end.
    pub local_cloud: Option<LocalCloud>,
    /// The user's prices (`--prices`), to show what the plan's capacity change costs.
    pub prices: Option<inferform_render::Prices>,
}

impl Prepared {
    pub async fn finish(self) {
        if let Some(cloud) = self.local_cloud {
            cloud.shutdown().await;
        }
    }

    /// What a saved plan records of the inputs.
    pub fn config_hash(&self) -> String {
        config_hash(self.ws.config.sources.iter().map(|s| (&*s.name, &*s.text)))
    }
}

/// Prints diagnostics and turns them into an exit code.
fn fail(ui: &Ui, d: &Diagnostic) -> u8 {
    ui.diagnostics([d]);
    1
}

/// Loads, validates, locks and reads state, starts the local cloud if asked, configures
/// providers. On failure the diagnostics are printed and the exit code returned.
pub async fn prepare(
    dir: &Path,
    flags: &PlanFlags,
    vars: &[CliVar],
    operation: &str,
    ui: &Ui,
) -> Result<Prepared, u8> {
    // A bad price file is found before any state is locked or cloud called.
    let prices = crate::prices::load(flags.prices.as_deref()).map_err(|d| fail(ui, &d))?;
    let ws = match workspace::load(dir, vars) {
        Ok(ws) => ws,
        Err(diags) => {
            ui.diagnostics(diags.iter());
            return Err(1);
        }
    };
    ui.diagnostics(ws.warnings.iter());
    let (lock, state) = open_configured_state(dir, &ws, flags, operation, ui)?;
    let local_cloud = if flags.local_cloud {
        Some(
            workspace::start_local_cloud(dir)
                .await
                .map_err(|d| fail(ui, &d))?,
        )
    } else {
        None
    };
    let needed = workspace::needed_providers(&ws, &state);
    let providers =
        match workspace::configure_providers(&ws, &needed, local_cloud.as_ref(), &lock.workspace) {
            Ok(p) => p,
            Err(diags) => {
                ui.diagnostics(diags.iter());
                if let Some(cloud) = local_cloud {
                    cloud.shutdown().await;
                }
                return Err(1);
            }
        };
    let engine = Arc::new(Engine {
        providers,
        schemas: ws.schemas.clone(),
        data_schemas: ws.data_schemas.clone(),
        parallelism: flags.parallelism,
    });
    Ok(Prepared {
        ws,
        lock,
        state,
        engine,
        local_cloud,
        prices,
    })
}

/// Opens the state of the selected workspace in the backend the configuration asks for, once
/// `init` has set that backend up, and reads it.
fn open_configured_state(
    dir: &Path,
    ws: &Workspace,
    flags: &PlanFlags,
    operation: &str,
    ui: &Ui,
) -> Result<(LockedState, State), u8> {
    let (_, backend) = ws.backend().map_err(|diags| {
        ui.diagnostics(diags.iter());
        1u8
    })?;
    workspace::read_state_in(backend.as_ref(), dir, &flags.lock, operation, ui)
        .map_err(|d| fail(ui, &d))
}

/// Parses `--target`/`--replace` addresses.
fn addresses(flag: &str, texts: &[String]) -> Result<Vec<ResourceInstanceAddr>, Diagnostic> {
    texts
        .iter()
        .map(|t| {
            t.parse::<ResourceInstanceAddr>().map_err(|e| {
                Diagnostic::error("inferform::cli::address", format!("--{flag} {t:?}: {e}"))
                    .with_help(
                        "write an address such as fabric_endpoint.chat, inferform_data.item[0] or module.env[\"dev\"]",
                    )
            })
        })
        .collect()
}

/// The plan options from the command line.
pub fn options(p: &Prepared, flags: &PlanFlags, destroy: bool) -> Result<PlanOptions, Diagnostic> {
    // `--target module.env["dev"]` selects everything in a module instance.
    let (module_targets, resource_targets): (Vec<_>, Vec<_>) = flags
        .targets
        .iter()
        .map(|t| match t.parse::<inferform_types::ModulePath>() {
            Ok(m) if !m.is_root() => Ok(m),
            _ => Err(t.clone()),
        })
        .partition(Result::is_ok);
    let module_targets = module_targets.into_iter().filter_map(Result::ok).collect();
    let resource_targets: Vec<String> = resource_targets
        .into_iter()
        .filter_map(Result::err)
        .collect();
    Ok(PlanOptions {
        refresh: flags.refresh || flags.refresh_only,
        destroy,
        base_dir: Some(p.ws.dir.clone()),
        refresh_only: flags.refresh_only,
        targets: addresses("target", &resource_targets)?,
        module_targets,
        replace: addresses("replace", &flags.replace)?,
        workspace: p.lock.workspace.clone(),
        observer: None,
    })
}

/// Plans without printing the plan. `None` (after printing diagnostics) on error.
pub async fn compute_plan(p: &Prepared, opts: &PlanOptions, ui: &Ui) -> Option<Plan> {
    if opts.refresh {
        for (addr, r) in &p.state.resources {
            let id = r
                .attributes
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            ui.line(&format!("{addr}: Refreshing state... [id={id}]"));
            for (key, d) in &r.deposed {
                let id = d
                    .attributes
                    .get("id")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                ui.line(&format!(
                    "{addr} (deposed object {key}): Refreshing state... [id={id}]"
                ));
            }
        }
        if !p.state.resources.is_empty() {
            ui.line("");
        }
    }
    let (plan, diags) = plan_with_progress(p, opts, ui).await;
    if ui.diagnostics(first_causes(diags).iter()) {
        return None;
    }
    for addr in &plan.adopted {
        ui.line(&format!(
            "{addr}: found the object an interrupted run was creating; it will be adopted"
        ));
    }
    Some(plan)
}

/// Plans; on a live terminal, with the reads of a refresh in the status area while they run.
async fn plan_with_progress(p: &Prepared, opts: &PlanOptions, ui: &Ui) -> (Plan, Diagnostics) {
    if !opts.refresh || !ui.live || p.state.resources.is_empty() {
        return p
            .engine
            .plan(&p.ws.config, &p.ws.vars, &p.state, opts)
            .await;
    }
    let out = ui.progress();
    let progress = Arc::new(Progress::of_reads(out.clone(), p.state.resources.len()));
    let opts = PlanOptions {
        observer: Some(ReadObserver(progress.clone())),
        ..opts.clone()
    };
    let ticker = progress.tick_every_second();
    let planned = p
        .engine
        .plan(&p.ws.config, &p.ws.vars, &p.state, &opts)
        .await;
    ticker.abort();
    out.close();
    planned
}

/// The diagnostics worth showing: when a module input failed its type or its validation, or a
/// chain of values was too deep to evaluate, only those (and the warnings). The engine carries
/// such a value on as unknown, so everything that reads it fails in its own words ("the `count`
/// value depends on values known only after apply", "unknown name `inferform_data`"...):
/// errors that are only consequences, and mislead. A root variable that fails stops the command
/// before planning, the same way.
pub fn first_causes(diags: Diagnostics) -> Diagnostics {
    let cause = |d: &Diagnostic| {
        d.is_error()
            && (d.code.starts_with("inferform::vars::") || d.code == "inferform::eval::too_deep")
    };
    if !diags.iter().any(cause) {
        return diags;
    }
    Diagnostics(
        diags
            .into_iter()
            .filter(|d| !d.is_error() || cause(d))
            .collect(),
    )
}

/// Prints a plan.
pub fn print_plan(p: &Prepared, plan: &Plan, ui: &Ui) {
    if ui.json {
        for event in inferform_render::ui_json::plan_events(plan) {
            ui.event(&event);
        }
        return;
    }
    let in_config: BTreeSet<String> =
        p.ws.config
            .resources
            .iter()
            .map(|r| r.addr.to_string())
            .collect();
    ui.out(&inferform_render::render_plan_priced(
        plan,
        &p.ws.schemas,
        &in_config,
        ui.render(),
        p.prices.as_ref(),
    ));
}

/// Plans and prints the plan. `None` (after printing diagnostics) on error.
pub async fn make_plan(p: &Prepared, flags: &PlanFlags, destroy: bool, ui: &Ui) -> Option<Plan> {
    let opts = match options(p, flags, destroy) {
        Ok(o) => o,
        Err(d) => {
            ui.diagnostics([&d]);
            return None;
        }
    };
    let plan = compute_plan(p, &opts, ui).await?;
    print_plan(p, &plan, ui);
    Some(plan)
}

pub async fn run(dir: &Path, args: &PlanArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    let ui = &ui.with_json(args.flags.json);
    let prepared = match prepare(dir, &args.flags, vars, "OperationTypePlan", ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = plan(&prepared, args, ui).await;
    prepared.finish().await;
    code
}

async fn plan(p: &Prepared, args: &PlanArgs, ui: &Ui) -> u8 {
    let Some(plan) = make_plan(p, &args.flags, args.destroy, ui).await else {
        return 1;
    };
    if let Some(out) = &args.out {
        let options = SavedOptions {
            destroy: args.destroy,
            refresh: args.flags.refresh,
            refresh_only: args.flags.refresh_only,
            targets: args.flags.targets.clone(),
            replace: args.flags.replace.clone(),
        };
        let file = PlanFile::new(
            &plan,
            &p.ws.schemas,
            &p.state.lineage,
            p.state.serial,
            p.config_hash(),
            options,
            &p.ws.vars,
        );
        let text = match serde_json::to_string_pretty(&file) {
            Ok(t) => t,
            Err(e) => {
                return fail(
                    ui,
                    &Diagnostic::error(
                        "inferform::plan::save",
                        format!("cannot encode the plan: {e}"),
                    ),
                )
            }
        };
        // Sealed under the `plan` target when it encrypts; private to its owner whatever the
        // setting, since a plan names what is planned even with its secrets hashed.
        let sealer = crate::encryption::plan_sealer(p.ws.encryption.as_ref());
        let bytes = match crate::encryption::seal_plan(&sealer, &text) {
            Ok(b) => b,
            Err(e) => {
                return fail(
                    ui,
                    &crate::encryption::crypto_diag("inferform::plan::encrypt", &e),
                )
            }
        };
        if let Err(e) = inferform_state::backend::write_private(out, &bytes) {
            return fail(
                ui,
                &Diagnostic::error(
                    "inferform::plan::save",
                    format!("cannot write the plan to {}: {e}", out.display()),
                )
                .with_help("check that the folder exists and is writable"),
            );
        }
        ui.line(&format!("\n{}\n", "─".repeat(77)));
        ui.line(&format!(
            "Saved the plan to: {}\n\nTo perform exactly these actions, run the following command to apply:\n    inferform apply {}",
            out.display(),
            out.display()
        ));
    } else {
        ui.line(&format!("\n{}\n", "─".repeat(77)));
        ui.line("Note: You didn't use the --out option to save this plan, so inferform can't\nguarantee to take exactly these actions if you run \"inferform apply\" now.");
    }
    if args.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    }
}
