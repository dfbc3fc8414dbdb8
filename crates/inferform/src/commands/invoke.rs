//! `inferform invoke ADDR --message TEXT`: sends one chat message to a running service that
//! state tracks (a Fabric service instance, an Alaya deployment) and prints the answer as it
//! streams in.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use inferform_provider::{ErrorKind, OpContext, ProviderError};
use inferform_state::ResourceState;
use inferform_types::{Diagnostic, ResourceInstanceAddr};

use super::plan::{prepare, Prepared};
use crate::ui::Ui;
use crate::workspace::CliVar;
use crate::InvokeArgs;

/// The resource types whose objects answer chat messages.
const INVOKABLE: [&str; 2] = ["fabric_service_instance", "alaya_expert_deployment"];

/// How long one answer may take, a cold start of a service scaled to zero included.
const TIMEOUT: Duration = Duration::from_secs(10 * 60);

fn fail(ui: &Ui, d: Diagnostic) -> u8 {
    ui.diagnostics([&d]);
    1
}

pub async fn run(dir: &Path, args: &InvokeArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    let addr: ResourceInstanceAddr = match args.addr.parse() {
        Ok(a) => a,
        Err(e) => {
            return fail(
                ui,
                Diagnostic::error("inferform::invoke::address", e.to_string()).with_help(
                    "write TYPE.NAME, TYPE.NAME[0] or TYPE.NAME[\"key\"], such as fabric_service_instance.chat",
                ),
            )
        }
    };
    let p = match prepare(dir, &args.flags, vars, "OperationTypeInvoke", ui).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = invoke(&p, &addr, &args.message, ui).await;
    p.finish().await;
    code
}

/// The addresses in state that can be invoked, for help lines.
fn invokable_in_state(p: &Prepared) -> Vec<&str> {
    p.state
        .resources
        .values()
        .filter(|r| INVOKABLE.contains(&r.type_name.as_str()))
        .map(|r| r.addr.as_str())
        .collect()
}

/// A help line naming what can be invoked instead.
fn candidates_help(p: &Prepared) -> String {
    let found = invokable_in_state(p);
    if found.is_empty() {
        format!(
            "state tracks no {} or {}; declare one and run `inferform apply` first",
            INVOKABLE[0], INVOKABLE[1]
        )
    } else {
        format!(
            "state tracks these that answer messages: {}",
            found.join(", ")
        )
    }
}

/// Finds the instance to invoke, or explains why it cannot be.
fn target<'p>(
    p: &'p Prepared,
    addr: &ResourceInstanceAddr,
) -> Result<&'p ResourceState, Diagnostic> {
    let Some(record) = p.state.resources.get(&addr.to_string()) else {
        let declared =
            p.ws.config
                .resources
                .iter()
                .any(|r| r.addr == addr.resource.config_addr());
        let help = if declared {
            format!(
                "the configuration declares {} but it has not been created yet: run `inferform apply` first",
                addr.resource
            )
        } else {
            candidates_help(p)
        };
        return Err(Diagnostic::error(
            "inferform::invoke::not_in_state",
            format!("cannot invoke {addr}: it is not in the state"),
        )
        .with_help(help));
    };
    if !INVOKABLE.contains(&record.type_name.as_str()) {
        return Err(Diagnostic::error(
            "inferform::invoke::type",
            format!(
                "cannot invoke {addr}: a {} does not answer messages",
                record.type_name
            ),
        )
        .with_help(format!(
            "only a {} or an {} can be invoked; {}",
            INVOKABLE[0],
            INVOKABLE[1],
            candidates_help(p)
        )));
    }
    Ok(record)
}

async fn invoke(p: &Prepared, addr: &ResourceInstanceAddr, message: &str, ui: &Ui) -> u8 {
    let record = match target(p, addr) {
        Ok(r) => r,
        Err(d) => return fail(ui, d),
    };
    let Some(provider) = p.engine.providers.get(&record.provider) else {
        return fail(
            ui,
            Diagnostic::error(
                "inferform::invoke::provider",
                format!(
                    "cannot invoke {addr}: provider `{}` is not configured",
                    record.provider
                ),
            )
            .with_help("add its provider block, or set its credentials in the environment"),
        );
    };
    let serde_json::Value::Object(attributes) = &record.attributes else {
        return fail(
            ui,
            Diagnostic::error(
                "inferform::invoke::state",
                format!("cannot invoke {addr}: its state holds no attributes"),
            )
            .with_help("run `inferform refresh` to read the object again"),
        );
    };
    let ctx = OpContext {
        timeout: Some(TIMEOUT),
        ..OpContext::silent()
    };
    let printed = AtomicBool::new(false);
    let on_text = |text: &str| {
        if !text.is_empty() {
            printed.store(true, Ordering::Relaxed);
            ui.out(text);
        }
    };
    let result = provider
        .invoke(&ctx, &record.type_name, attributes, message, &on_text)
        .await;
    // End the answer's line, even a partial one, so that the prompt (or an error) starts on
    // its own line.
    if result.is_ok() || printed.load(Ordering::Relaxed) {
        ui.line("");
    }
    match result {
        Ok(()) => 0,
        Err(e) => fail(ui, failed(addr, &e)),
    }
}

/// The diagnostic for a failed call: the address, then the call, status, the cloud's code,
/// message and request id (all in the error's `Display`), and what to try.
fn failed(addr: &ResourceInstanceAddr, e: &ProviderError) -> Diagnostic {
    let help = match (e.kind, e.status) {
        (ErrorKind::Auth, _) | (_, Some(401 | 403)) => {
            "check the provider's credentials (and, for an Alaya deployment, that its apiKey has not been rotated: `inferform refresh` reads it again)"
        }
        (_, Some(404)) => {
            "the object is gone from the cloud: `inferform plan` shows it, `inferform apply` creates it again"
        }
        (_, Some(429)) | (_, Some(500..=599)) | (ErrorKind::Transport | ErrorKind::Timeout, _) => {
            "the service did not answer; try again in a moment"
        }
        _ => "check that the service is running: `inferform refresh`, then `inferform state show` shows its status",
    };
    Diagnostic::error(
        "inferform::invoke::failed",
        format!("cannot invoke {addr}: {e}"),
    )
    .with_help(help)
}
