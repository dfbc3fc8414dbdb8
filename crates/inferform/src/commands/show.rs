//! `inferform show [PLANFILE]`: the state as resource blocks, or a saved plan as `plan` prints it.

use std::collections::BTreeSet;
use std::path::Path;

use inferform_engine::planfile::PlanFile;
use inferform_types::Diagnostic;

use crate::ui::Ui;
use crate::workspace;
use crate::ShowArgs;

/// Resource type → schema.
type Schemas = std::collections::BTreeMap<String, inferform_types::Schema>;

/// Reads a saved plan, and refuses one this inferform cannot read exactly or one that was
/// changed after `plan --out` wrote it: what is shown and applied is what was reviewed. A plan
/// sealed under the `plan` encryption target is opened with the keys the configuration in
/// `dir` (or `INFERFORM_ENCRYPTION`) gives.
pub fn read_plan_file(
    dir: &Path,
    path: &Path,
    schemas: &std::collections::BTreeMap<String, inferform_types::Schema>,
) -> Result<PlanFile, Diagnostic> {
    let not_a_plan = |e: String| {
        Diagnostic::error(
            "inferform::plan::read",
            format!("{} is not a saved plan: {e}", path.display()),
        )
        .with_help("pass a file written by `inferform plan --out FILE`")
    };
    let bytes = std::fs::read(path).map_err(|e| not_a_plan(e.to_string()))?;
    let spec = crate::encryption::for_dir(dir)?;
    let sealer = crate::encryption::plan_sealer(spec.as_ref());
    let text = crate::encryption::open_plan(&sealer, path, &bytes)
        .map_err(|e| crate::encryption::crypto_diag("inferform::plan::decrypt", &e))?;
    let file: PlanFile = serde_json::from_slice(&text).map_err(|e| not_a_plan(e.to_string()))?;
    if file.format_version != inferform_engine::planfile::FORMAT_VERSION {
        return Err(Diagnostic::error(
            "inferform::plan::stale",
            format!(
                "Saved plan is stale: it was written in plan format {}, this inferform reads {}",
                file.format_version,
                inferform_engine::planfile::FORMAT_VERSION
            ),
        )
        .with_help("make a new plan with this inferform (`inferform plan --out FILE`), review it, and apply that"));
    }
    file.verify(schemas).map_err(|why| {
        Diagnostic::error(
            "inferform::plan::tampered",
            format!(
                "{} was changed after `inferform plan --out` wrote it: {why}",
                path.display()
            ),
        )
        .with_help(
            "a saved plan is applied only exactly as it was reviewed: make and review a new plan",
        )
    })?;
    Ok(file)
}

pub fn run(dir: &Path, args: &ShowArgs, ui: &Ui) -> u8 {
    let schemas = workspace::schemas(&workspace::factories());
    match &args.plan_file {
        Some(path) => show_plan(dir, path, args, &schemas, ui),
        None => show_state(dir, args, &schemas, ui),
    }
}

/// `show PLANFILE`: the saved plan as `plan` prints it, as Terraform's JSON plan (`--json`),
/// or as a pull-request report (`--markdown`).
fn show_plan(dir: &Path, path: &Path, args: &ShowArgs, schemas: &Schemas, ui: &Ui) -> u8 {
    let prices = match crate::prices::load(args.prices.as_deref()) {
        Ok(p) => p,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    let file = match read_plan_file(dir, path, schemas) {
        Ok(f) => f,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    let plan = match file.to_plan() {
        Ok(p) => p,
        Err(e) => {
            ui.diagnostics([&Diagnostic::error(
                "inferform::plan::read",
                format!("{}: {e}", path.display()),
            )]);
            return 1;
        }
    };
    // Which resource blocks the configuration has, so deletes say why; without a loadable
    // configuration, those of the plan's own non-deleted changes.
    let (config, diags) = inferform_lang::load_dir(dir, &workspace::display_dir(dir));
    let config = (!diags.has_errors()).then_some(config);
    let in_config: BTreeSet<String> = match &config {
        None => plan
            .changes
            .iter()
            .filter(|c| c.action != inferform_engine::Action::Delete)
            .map(|c| c.addr.resource.to_string())
            .collect(),
        Some(config) => config
            .resources
            .iter()
            .map(|r| r.addr.to_string())
            .collect(),
    };
    if args.json {
        let doc = plan_json(
            plan,
            &file,
            path,
            config.as_ref(),
            &in_config,
            prices.as_ref(),
        );
        ui.line(&doc.to_string());
    } else if args.markdown {
        ui.out(&inferform_render::plan_markdown_priced(
            &plan,
            schemas,
            &in_config,
            prices.as_ref(),
        ));
    } else {
        ui.out(&inferform_render::render_plan_priced(
            &plan,
            schemas,
            &in_config,
            ui.render(),
            prices.as_ref(),
        ));
    }
    0
}

/// A saved plan as Terraform's JSON plan, with the variables it was made with (sensitive
/// ones only as marks), the configuration it was made from and when.
fn plan_json(
    mut plan: inferform_engine::Plan,
    file: &PlanFile,
    path: &Path,
    config: Option<&inferform_lang::Config>,
    in_config: &BTreeSet<String>,
    prices: Option<&inferform_render::Prices>,
) -> serde_json::Value {
    plan.vars = file
        .variables
        .iter()
        .map(|(name, saved)| (name.clone(), inferform_engine::planfile::decode(saved)))
        .collect();
    let factories = workspace::factories();
    let schemas = workspace::schemas(&factories);
    let data_schemas = workspace::data_schemas(&factories);
    let provider_schemas = factories
        .iter()
        .map(|(name, f)| (name.clone(), f.provider_schema()))
        .collect();
    let timestamp = plan_timestamp(path);
    let source = inferform_render::PlanSource {
        config,
        schemas: inferform_render::ConfigSchemas {
            resources: &schemas,
            data_sources: &data_schemas,
            providers: &provider_schemas,
        },
        timestamp: &timestamp,
    };
    inferform_render::plan_json_full(&plan, &schemas, in_config, prices, Some(source))
}

/// `show`: the state as resource blocks and outputs, or as Terraform's JSON state (`--json`).
fn show_state(dir: &Path, args: &ShowArgs, schemas: &Schemas, ui: &Ui) -> u8 {
    let (_lock, state) = match workspace::read_state(dir, &args.lock, "OperationTypeShow", ui) {
        Ok(s) => s,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    if args.json {
        ui.line(&inferform_render::state_json(&state, schemas).to_string());
        return 0;
    }
    if state.resources.is_empty() && state.outputs.is_empty() {
        ui.line("The state file is empty. No resources are represented.");
        return 0;
    }
    for r in state.resources.values() {
        ui.out(&inferform_render::resource_block(
            r,
            schemas.get(&r.type_name),
        ));
        ui.line("");
    }
    ui.out(&inferform_render::outputs_section(&state.outputs));
    0
}

/// When a saved plan was made, for the JSON plan's `timestamp`: the time `plan --out` wrote the
/// file (RFC 3339, UTC, whole seconds, as Terraform writes it); now, when the file system
/// does not say.
fn plan_timestamp(path: &Path) -> String {
    let written = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(time::OffsetDateTime::from)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let whole = written.replace_nanosecond(0).unwrap_or(written);
    whole
        .to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
