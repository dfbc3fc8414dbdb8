//! Phase 1: creates an earlier run left unfinished. Their objects are looked up by name and
//! adopted when found.

use std::collections::BTreeMap;
use std::time::Duration;

use inferform_lang::config::Config;
use inferform_provider::wait::{condition, settle, Condition};
use inferform_provider::OpContext;
use inferform_state::State;
use inferform_types::{Diagnostic, Diagnostics, ResourceInstanceAddr};

use super::{PlanCtx, Prior, Recorded};
use crate::instances::json_object;
use crate::Engine;

/// How long a plan waits at most for an object an interrupted run was creating or changing to
/// settle, when its resource sets no `timeouts { create }` (or `update`): a plan must end.
pub(crate) const ADOPTION_SETTLE: Duration = Duration::from_secs(30 * 60);

/// How long a plan waits for the object at `addr` to settle after an interrupted `op`: the
/// resource's own timeout for that operation, or [`ADOPTION_SETTLE`].
pub(super) fn settle_timeout(config: &Config, addr: &str, op: &str) -> Duration {
    addr.parse::<ResourceInstanceAddr>()
        .ok()
        .and_then(|a| config.resource(&a.resource.config_addr()))
        .and_then(|r| r.timeouts.get(op))
        .map_or(ADOPTION_SETTLE, |s| Duration::from_secs(*s))
}

/// Whether the record's current object is also one of its deposed objects: a create-first
/// replacement deposed it and sent its replacement's create, whose answer was not recorded.
fn create_first_in_flight(record: &inferform_state::ResourceState) -> bool {
    record
        .deposed
        .values()
        .any(|d| super::same_object(&d.attributes, &record.attributes))
}

impl Engine {
    /// Resolves every create intent state holds: the object found is adopted (recorded as it
    /// is, planned on as a prior object); one not found is only cleared.
    pub(super) async fn resolve_intents(&self, cx: &mut PlanCtx<'_>) {
        let state = cx.state;
        for (key, found) in self.find_intents(cx.config, state, &mut cx.diags).await {
            // Intents are recorded under addresses the engine printed: they parse.
            let Ok(addr) = key.parse::<ResourceInstanceAddr>() else {
                continue;
            };
            cx.plan.resolved_intents.push(addr.clone());
            let (Some(obj), Some(intent)) = (found, state.intents.get(&key)) else {
                continue;
            };
            let record = Recorded {
                type_name: intent.type_name.clone(),
                provider: intent.provider.clone(),
                attributes: Some(obj.clone()),
            };
            cx.plan.record.insert(addr.clone(), record);
            let sensitive_paths = state
                .resources
                .get(&key)
                .map(|r| r.sensitive_paths.clone())
                .unwrap_or_default();
            let prior = Prior {
                type_name: intent.type_name.clone(),
                provider: intent.provider.clone(),
                attributes: obj,
                dependencies: intent.dependencies.clone(),
                sensitive_paths,
            };
            cx.prior.insert(addr.clone(), prior);
            cx.plan.adopted.push(addr);
        }
    }

    /// Looks up the objects of unresolved create intents by name. Returns adopted states.
    ///
    /// An object found still changing (`CREATING`, `starting`) is waited for, as the
    /// interrupted create would have waited: adopted in passing, it would be planned on as
    /// healthy, and a create that then fails would leave a failed object in state that no
    /// plan replaces. The wait is bounded by the resource's `timeouts { create }`, or
    /// [`ADOPTION_SETTLE`]; past it the object is adopted as it is (and replaced later
    /// should its create fail, see `walk::failed_objects`).
    async fn find_intents(
        &self,
        config: &Config,
        state: &State,
        diags: &mut Diagnostics,
    ) -> BTreeMap<String, Option<serde_json::Value>> {
        let mut out = BTreeMap::new();
        for (addr, intent) in &state.intents {
            let stale = state.resources.get(addr);
            let Some(provider) = self.providers.get(&intent.provider) else {
                if stale.is_some() {
                    out.insert(addr.clone(), None);
                }
                continue;
            };
            // A record beside the intent: a replacement (delete, then create) was interrupted.
            // Its create was sent only after the old object was deleted, so while the old
            // object still exists there is no new one to find; once it is gone, an object of
            // the intent's name is the new one, and must be adopted, or it would be orphaned
            // and its name refused as taken on every run. A create-first replacement sent its
            // create while the old object stood, deposed in the record first: its new object
            // is looked up whatever became of the old one.
            if let Some(record) = stale.filter(|r| !create_first_in_flight(r)) {
                let old = json_object(&record.attributes);
                let old_gone = matches!(
                    provider
                        .read(&OpContext::silent(), &record.type_name, &old)
                        .await,
                    Ok(None)
                );
                if !old_gone {
                    out.insert(addr.clone(), None);
                    continue;
                }
            }
            let found = provider
                .find(
                    &OpContext::silent(),
                    &intent.type_name,
                    &json_object(&intent.planned),
                )
                .await;
            // The old object itself, found by its name: nothing new was made.
            let found = match found {
                Ok(Some(f)) if stale.is_some_and(|r| r.attributes.get("id") == f.get("id")) => {
                    Ok(None)
                }
                other => other,
            };
            match found {
                Ok(Some(found)) if condition(&found) == Condition::Changing => {
                    let ctx = OpContext {
                        timeout: Some(settle_timeout(config, addr, "create")),
                        ..OpContext::silent()
                    };
                    let (type_name, silent) = (&intent.type_name, OpContext::silent());
                    let settled =
                        settle(&ctx, addr, || provider.read(&silent, type_name, &found)).await;
                    // Gone while waiting: nothing to adopt. A wait that fails adopts the
                    // object as first found; the refresh that follows reads it again.
                    let now = settled.unwrap_or_else(|_| Some(found.clone()));
                    out.insert(addr.clone(), now.map(serde_json::Value::Object));
                }
                Ok(found) => {
                    out.insert(addr.clone(), found.map(serde_json::Value::Object));
                }
                Err(e) => diags.push(Diagnostic::error(
                    "inferform::plan::intent",
                    format!("{addr}: an earlier run was interrupted while creating it, and looking it up failed: {e}"),
                )),
            }
        }
        out
    }
}
