//! `inferform import ADDR ID`: read an existing object into state at an address the
//! configuration declares.

use std::path::Path;

use inferform_provider::OpContext;
use inferform_state::ResourceState;
use inferform_types::{Diagnostic, ResourceInstanceAddr};

use super::plan::prepare;
use crate::ui::Ui;
use crate::workspace::CliVar;
use crate::ImportArgs;

fn fail(ui: &Ui, d: Diagnostic) -> u8 {
    ui.diagnostics([&d]);
    1
}

pub async fn run(dir: &Path, args: &ImportArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    let addr: ResourceInstanceAddr = match args.addr.parse() {
        Ok(a) => a,
        Err(e) => {
            return fail(
                ui,
                Diagnostic::error("inferform::import::address", e.to_string())
                    .with_help("write TYPE.NAME, TYPE.NAME[0] or TYPE.NAME[\"key\"]"),
            )
        }
    };
    let p = match prepare(dir, &args.flags, vars, "OperationTypeImport", ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = import(&p, &addr, &args.id, ui).await;
    p.finish().await;
    code
}

async fn import(p: &super::plan::Prepared, addr: &ResourceInstanceAddr, id: &str, ui: &Ui) -> u8 {
    let Some(idx) =
        p.ws.config
            .resources
            .iter()
            .position(|r| r.addr == addr.resource.config_addr())
    else {
        return fail(
            ui,
            Diagnostic::error(
                "inferform::import::not_configured",
                format!(
                    "cannot import to {addr}: the configuration does not declare {}",
                    addr.resource
                ),
            )
            .with_help(format!(
                "add `resource \"{}\" \"{}\" {{ ... }}` first, then import",
                addr.resource.type_name, addr.resource.name
            )),
        );
    };
    if p.state.resources.contains_key(&addr.to_string()) {
        return fail(
            ui,
            Diagnostic::error("inferform::import::exists", format!("{addr} is already managed by inferform"))
                .with_help("to import into another object, remove this one from state first with `inferform state rm`"),
        );
    }
    let provider_name = inferform_lang::Config::provider_key(&p.ws.config.resources[idx]);
    let Some(provider) = p.engine.providers.get(&provider_name) else {
        return fail(
            ui,
            Diagnostic::error(
                "inferform::import::provider",
                format!("provider `{provider_name}` is not configured"),
            ),
        );
    };
    ui.line(&format!("{addr}: Importing from ID \"{id}\"..."));
    match provider
        .import(&OpContext::silent(), &addr.resource.type_name, id)
        .await
    {
        Ok(Some(obj)) => {
            let record = ResourceState {
                addr: addr.to_string(),
                type_name: addr.resource.type_name.clone(),
                provider: provider_name,
                // Without the secrets the cloud gives again on every read (an apiKey).
                attributes: match p.ws.schemas.get(&addr.resource.type_name) {
                    Some(s) => inferform_engine::diff::state_attributes(obj.into(), s),
                    None => obj.into(),
                },
                dependencies: inferform_engine::graph::resource_dependencies(&p.ws.config, idx)
                    .iter()
                    .map(|d| d.to_string())
                    .collect(),
                tainted: false,
                sensitive_paths: Vec::new(),
                deposed: Default::default(),
            };
            if let Err(e) = p.lock.store.put_resource(&record) {
                return fail(
                    ui,
                    Diagnostic::error(
                        "inferform::state::write",
                        format!("cannot write the state: {e}"),
                    ),
                );
            }
            ui.line(&format!(
                "{addr}: Import prepared!\n  Prepared {} for import",
                addr.resource.type_name
            ));
            p.lock.record("import", None, ui);
            ui.line("\nImport successful!\n\nThe resources that were imported are shown above. These resources are now in\nyour inferform state and will henceforth be managed by inferform.");
            0
        }
        Ok(None) => fail(
            ui,
            Diagnostic::error(
                "inferform::import::missing",
                format!(
                    "cannot import {addr}: no {} has the id {id:?}",
                    addr.resource.type_name
                ),
            )
            .with_help("check the id; for objects inside a workspace it is WORKSPACE_ID/OBJECT_ID"),
        ),
        Err(e) => fail(
            ui,
            Diagnostic::error(
                "inferform::import::failed",
                format!("cannot import {addr}: {e}"),
            ),
        ),
    }
}
