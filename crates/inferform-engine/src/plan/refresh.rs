//! Phases 2 and 3: refresh reads every tracked object again; `--refresh-only` records what
//! it found and plans nothing else. And, last of all, `prune_gone`.

use std::collections::{BTreeMap, BTreeSet};

use inferform_provider::wait::{condition, settle, Condition};
use inferform_provider::OpContext;
use inferform_state::{ResourceState, State};
use inferform_types::{Diagnostic, Diagnostics, ResourceInstanceAddr, Value};

use super::intents::settle_timeout;
use super::{Drift, PlanCtx, Recorded};
use crate::diff::{marked, state_attributes};
use crate::instances::{json_object, set_instance};
use crate::Engine;

/// What reading every tracked object found.
struct Refreshed {
    /// Each object as it reads now; `None` when it is gone.
    objects: BTreeMap<String, Option<serde_json::Value>>,
    drift: Vec<Drift>,
    /// The objects found changing and waited for.
    waited: BTreeSet<String>,
}

impl Engine {
    /// Phase 2: reads every tracked or adopted object again. An adopted object is recorded
    /// as it reads now; one found gone leaves `prior` for `gone`.
    pub(super) async fn refresh(&self, cx: &mut PlanCtx<'_>) {
        let mut tracked = cx.state.clone();
        for addr in &cx.plan.adopted {
            if let Some(p) = cx.prior.get(addr) {
                let record = ResourceState {
                    addr: addr.to_string(),
                    type_name: p.type_name.clone(),
                    provider: p.provider.clone(),
                    attributes: p.attributes.clone(),
                    dependencies: p.dependencies.clone(),
                    tainted: false,
                    sensitive_paths: Vec::new(),
                    deposed: BTreeMap::new(),
                };
                tracked.resources.insert(addr.to_string(), record);
            }
        }
        let observer = cx.opts.observer.clone();
        let found = self
            .read_tracked(cx.config, &tracked, observer, &mut cx.diags)
            .await;
        cx.waited = found.waited.iter().filter_map(|a| a.parse().ok()).collect();
        for (addr, now) in found.objects {
            let Ok(a) = addr.parse::<ResourceInstanceAddr>() else {
                continue;
            };
            match now {
                Some(v) => {
                    if let Some(entry) = cx.plan.record.get_mut(&a) {
                        entry.attributes = Some(v.clone());
                    }
                    if let Some(p) = cx.prior.get_mut(&a) {
                        p.attributes = v;
                    }
                }
                None => {
                    if let Some(p) = cx.prior.remove(&a) {
                        cx.gone.insert(a, p);
                    }
                }
            }
        }
        cx.plan.drift = found.drift;
        self.refresh_deposed(cx).await;
    }

    /// Reads every deposed object again: one found gone leaves state, the others are
    /// destroyed as they read now.
    async fn refresh_deposed(&self, cx: &mut PlanCtx<'_>) {
        let mut gone = Vec::new();
        for (addr, deposed) in cx.deposed.iter_mut() {
            let type_name = &addr.resource.type_name;
            let Some(provider) = self.providers.get(&deposed.provider) else {
                continue;
            };
            for (key, object) in deposed.objects.iter_mut() {
                let prior = json_object(&object.attributes);
                match provider.read(&OpContext::silent(), type_name, &prior).await {
                    Ok(Some(now)) => {
                        object.attributes = match self.schemas.get(type_name) {
                            Some(s) => state_attributes(serde_json::Value::Object(now), s),
                            None => serde_json::Value::Object(now),
                        }
                    }
                    Ok(None) => gone.push((addr.clone(), key.clone())),
                    Err(e) => cx.diags.push(
                        Diagnostic::error(
                            "inferform::plan::refresh",
                            format!("{addr} (deposed object {key}): cannot read the object: {e}"),
                        )
                        .with_help("check the provider's credentials and endpoint, or plan with --refresh=false"),
                    ),
                }
            }
        }
        for (addr, key) in gone {
            if let Some(deposed) = cx.deposed.get_mut(&addr) {
                deposed.objects.remove(&key);
            }
            cx.plan.drop_deposed.entry(addr).or_default().push(key);
        }
    }

    /// Phase 3 (`--refresh-only`): the apply records every drifted object as it reads now.
    /// Outputs are worked out again from the objects as they are; one that reads an object
    /// found gone is unknown, and left out of state (as Terraform does).
    pub(super) fn refresh_only(&self, cx: &mut PlanCtx<'_>) {
        cx.plan.refresh_only = true;
        for d in &cx.plan.drift {
            if let Some(r) = cx.state.resources.get(&d.addr.to_string()) {
                let now = d.after.as_ref().map(|_| {
                    cx.prior
                        .get(&d.addr)
                        .map(|p| p.attributes.clone())
                        .unwrap_or_default()
                });
                let record = Recorded {
                    type_name: r.type_name.clone(),
                    provider: r.provider.clone(),
                    attributes: now,
                };
                cx.plan.record.insert(d.addr.clone(), record);
            }
        }
        let mut roots = std::mem::take(&mut cx.plan.roots);
        cx.set_prior(self, &mut roots);
        for addr in cx.gone.keys() {
            set_instance(&mut roots, addr, Value::Unknown);
        }
        cx.plan.roots = roots;
    }

    /// Reads every object `state` tracks, in parallel.
    ///
    /// An object that state last saw steady but that reads as changing (`starting`,
    /// `UPDATING`) is being changed: most often by a run killed in the middle of an update,
    /// whose next plan would otherwise find "no changes" and report healthy an object that
    /// may yet fail. It is waited for, as the interrupted update would have waited, up to
    /// the resource's `timeouts { update }` or [`super::intents::ADOPTION_SETTLE`]; past that the
    /// reading stands as it is.
    async fn read_tracked(
        &self,
        config: &inferform_lang::config::Config,
        state: &State,
        observer: Option<super::ReadObserver>,
        diags: &mut Diagnostics,
    ) -> Refreshed {
        let mut set = tokio::task::JoinSet::new();
        let slots = self.call_slots();
        for (addr, r) in &state.resources {
            let Some(provider) = self.providers.get(&r.provider).cloned() else {
                diags.push(Diagnostic::error(
                    "inferform::plan::no_provider",
                    format!(
                        "{addr} is managed by provider `{}`, which is not configured",
                        r.provider
                    ),
                ));
                continue;
            };
            let (addr, r) = (addr.clone(), r.clone());
            let settle_within = settle_timeout(config, &addr, "update");
            let observer = observer.clone();
            let watched = addr.clone();
            let read = async move {
                let (silent, prior) = (OpContext::silent(), json_object(&r.attributes));
                let res = provider.read(&silent, &r.type_name, &prior).await;
                let was_steady = condition(&prior) != Condition::Changing;
                let res = match res {
                    Ok(Some(found)) if was_steady && condition(&found) == Condition::Changing => {
                        let ctx = OpContext {
                            timeout: Some(settle_within),
                            ..OpContext::silent()
                        };
                        let settled =
                            settle(&ctx, &addr, || provider.read(&silent, &r.type_name, &found))
                                .await;
                        // A wait that fails leaves the first reading standing.
                        let now = settled.unwrap_or_else(|_| Some(found.clone()));
                        return (addr, r, Ok(now), true);
                    }
                    other => other,
                };
                (addr, r, res, false)
            };
            set.spawn(Engine::with_slots(
                &slots,
                super::ReadObserver::observe(observer, watched, read, |(_, _, res, _)| match res {
                    Ok(found) => Ok(found
                        .as_ref()
                        .and_then(|o| o.get("id"))
                        .and_then(|v| v.as_str())
                        .map(str::to_string)),
                    Err(e) => Err(e),
                }),
            ));
        }
        let mut out = Refreshed {
            objects: BTreeMap::new(),
            drift: Vec::new(),
            waited: BTreeSet::new(),
        };
        while let Some(joined) = set.join_next().await {
            let Ok((addr, r, res, settled)) = joined else {
                continue;
            };
            if settled {
                out.waited.insert(addr.clone());
            }
            match res {
                Ok(found) => {
                    let after = found.map(serde_json::Value::Object);
                    let drift = addr
                        .parse::<ResourceInstanceAddr>()
                        .ok()
                        .and_then(|a| self.drift(a, &r, after.as_ref()));
                    if let Some(d) = drift {
                        out.drift.push(d);
                    }
                    out.objects.insert(addr, after);
                }
                Err(e) => diags.push(
                    Diagnostic::error("inferform::plan::refresh", format!("{addr}: cannot read the object: {e}"))
                        .with_help("check the provider's credentials and endpoint, or plan with --refresh=false"),
                ),
            }
        }
        out.drift.sort_by(|a, b| a.addr.cmp(&b.addr));
        out
    }

    /// The drift of one object: what state recorded against what the cloud reports now
    /// (`None`: gone), or `None` when they agree. State keeps no secret the cloud gives
    /// again, so those are no drift.
    fn drift(
        &self,
        addr: ResourceInstanceAddr,
        r: &ResourceState,
        after: Option<&serde_json::Value>,
    ) -> Option<Drift> {
        let schema = self.schemas.get(&r.type_name);
        let kept =
            |v: &serde_json::Value| schema.map_or(v.clone(), |s| state_attributes(v.clone(), s));
        if after.map(kept) == Some(kept(&r.attributes)) {
            return None;
        }
        let before = marked(r.value(), schema);
        let now = after.map(|a| {
            marked(
                Value::from_json(&kept(a)).mark_paths(&r.sensitive_paths),
                schema,
            )
        });
        if now.as_ref().map(Value::deep_unmarked) == Some(before.deep_unmarked()) {
            return None;
        }
        Some(Drift {
            addr,
            before,
            after: now,
        })
    }
}

/// Last phase: drops from state the records of objects that refresh found gone and that no
/// change of the plan takes care of (a create or a replace writes the address again): an
/// object deleted outside inferform, or by a run killed before it could record the delete,
/// and no longer configured. Without this the record would stay forever, shown as "has been
/// deleted" by every plan while apply had nothing to do. A targeted plan leaves records it
/// does not target alone.
pub(super) fn prune_gone(cx: &mut PlanCtx<'_>) {
    if cx.plan.targeted {
        return;
    }
    for (addr, prior) in &cx.gone {
        if cx
            .plan
            .changes
            .iter()
            .any(|c| &c.addr == addr && c.deposed.is_none())
        {
            continue;
        }
        let record = Recorded {
            type_name: prior.type_name.clone(),
            provider: prior.provider.clone(),
            attributes: None,
        };
        cx.plan.record.insert(addr.clone(), record);
        // An adopted object that vanished since is not adopted after all.
        cx.plan.adopted.retain(|a| a != addr);
    }
}
