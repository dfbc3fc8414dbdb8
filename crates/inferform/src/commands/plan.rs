//! `inferform plan`, and the preparation plan, apply and destroy share.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use inferform_engine::{Engine, Plan, PlanOptions};
use inferform_local_cloud::LocalCloud;
use inferform_state::{SledStore, State, StateStore as _};
use inferform_types::Diagnostic;

use crate::ui::Ui;
use crate::workspace::{self, CliVar, Workspace};
use crate::{PlanArgs, PlanFlags};

/// Everything a plan needs, ready.
pub struct Prepared {
    pub ws: Workspace,
    pub store: Arc<SledStore>,
    pub state: State,
    pub engine: Arc<Engine>,
    /// Kept alive for the run; shut down at the end.
    pub local_cloud: Option<LocalCloud>,
}

impl Prepared {
    pub async fn finish(self) {
        if let Some(cloud) = self.local_cloud {
            cloud.shutdown().await;
        }
    }
}

/// Loads, validates, opens state, starts the local cloud if asked, configures providers.
/// On failure the diagnostics are printed and the exit code returned.
pub async fn prepare(
    dir: &Path,
    flags: &PlanFlags,
    vars: &[CliVar],
    ui: &Ui,
) -> Result<Prepared, u8> {
    let ws = match workspace::load(dir, vars) {
        Ok(ws) => ws,
        Err(diags) => {
            ui.diagnostics(diags.iter());
            return Err(1);
        }
    };
    ui.diagnostics(ws.warnings.iter());
    let store = workspace::open_state(dir).map_err(|d| {
        ui.diagnostics([&d]);
        1u8
    })?;
    let state = store.load().map_err(|e| {
        ui.diagnostics([&Diagnostic::error("inferform::state::read", e.to_string())]);
        1u8
    })?;
    let local_cloud = if flags.local_cloud {
        Some(workspace::start_local_cloud(dir).await.map_err(|d| {
            ui.diagnostics([&d]);
            1u8
        })?)
    } else {
        None
    };
    let needed = workspace::needed_providers(&ws, &state);
    let providers = match workspace::configure_providers(&ws, &needed, local_cloud.as_ref()) {
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
    });
    Ok(Prepared {
        ws,
        store,
        state,
        engine,
        local_cloud,
    })
}

/// Plans and prints the plan. `None` (after printing diagnostics) on error.
pub async fn make_plan(p: &Prepared, flags: &PlanFlags, destroy: bool, ui: &Ui) -> Option<Plan> {
    let opts = PlanOptions {
        refresh: flags.refresh,
        destroy,
        base_dir: Some(p.ws.dir.clone()),
    };
    for addr in p.state.resources.keys() {
        if flags.refresh {
            let id = p.state.resources[addr]
                .attributes
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            ui.line(&format!("{addr}: Refreshing state... [id={id}]"));
        }
    }
    let (plan, diags) = p
        .engine
        .plan(&p.ws.config, &p.ws.vars, &p.state, &opts)
        .await;
    if ui.diagnostics(diags.iter()) {
        return None;
    }
    if !p.state.resources.is_empty() && flags.refresh {
        ui.line("");
    }
    for addr in &plan.adopted {
        ui.line(&format!(
            "{addr}: found the object an interrupted run was creating; it will be adopted"
        ));
    }
    let in_config: BTreeSet<String> =
        p.ws.config
            .resources
            .iter()
            .map(|r| r.addr.to_string())
            .collect();
    ui.out(&inferform_render::render_plan(
        &plan,
        &p.ws.schemas,
        &in_config,
        ui.render(),
    ));
    Some(plan)
}

pub async fn run(dir: &Path, args: &PlanArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    let prepared = match prepare(dir, &args.flags, vars, ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let plan = make_plan(&prepared, &args.flags, args.destroy, ui).await;
    prepared.finish().await;
    match plan {
        None => 1,
        Some(plan) if args.detailed_exitcode && plan.has_changes() => 2,
        Some(_) => 0,
    }
}
