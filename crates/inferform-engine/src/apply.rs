//! Applying a plan: every change starts the moment the changes it depends on finish, in its
//! own task, so a slow object never holds up an unrelated one. Creates and updates wait for
//! their dependencies; deletes wait for the deletes of whatever depended on them (the order
//! is `schedule`'s). A failure skips its dependents and nothing else; each success is
//! written to state as it happens, and a create's intent is recorded before the create is
//! sent. A create-first replacement deposes the old object in its address's record before
//! its replacement's create is sent, and destroys it (dropping it from the record) only once
//! what used it has moved on: a kill or a failed delete in between leaves it in state, for
//! the next plan to destroy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use inferform_lang::config::Config;
use inferform_lang::decode::decode_body;
use inferform_lang::eval::Scope;
use inferform_provider::outcome::create_failure;
use inferform_provider::{Object, OpContext, Progress, Provider};
use inferform_state::{DeposedObject, Intent, OutputState, ResourceState, StateStore};
use inferform_types::{
    Diagnostic, Diagnostics, InstanceKey, ResourceAddr, ResourceInstanceAddr, Schema, Value,
};
use tokio::task::JoinSet;

use crate::conditions::{check_blocks, read_scoped_data, resource_conditions};
use crate::diff::object_value;
use crate::instances::{
    data_value, expand, instance_scope, json_object, remove_instance, resource_exprs, set_instance,
    strip_nulls,
};
use crate::plan::{Plan, ReplaceReason, ResourceChange};
use crate::schedule::{self, Part};
use crate::scope::{Env, Roots};
use crate::{Action, Engine};

/// Receives apply progress, for display.
pub trait ApplyObserver: Send + Sync {
    /// A change starts (`Creating...`).
    fn started(&self, addr: &ResourceInstanceAddr, action: Action);
    /// The cloud object's status changed while waiting.
    fn status(&self, addr: &ResourceInstanceAddr, status: &str);
    /// A change finished; `id` is the object's id when it has one.
    fn finished(
        &self,
        addr: &ResourceInstanceAddr,
        action: Action,
        id: Option<&str>,
        elapsed: Duration,
    );
    /// A change failed.
    fn failed(&self, addr: &ResourceInstanceAddr, action: Action, error: &str);
    /// The destroy of `addr`'s deposed object `key` starts (Terraform shows
    /// `ADDR (deposed object KEY): Destroying...`). By default, as [`ApplyObserver::started`].
    fn started_deposed(&self, addr: &ResourceInstanceAddr, key: &str, action: Action) {
        let _ = key;
        self.started(addr, action)
    }
    /// The destroy of a deposed object finished. By default, as [`ApplyObserver::finished`].
    fn finished_deposed(
        &self,
        addr: &ResourceInstanceAddr,
        key: &str,
        action: Action,
        elapsed: Duration,
    ) {
        let _ = key;
        self.finished(addr, action, None, elapsed)
    }
    /// The destroy of a deposed object failed. By default, as [`ApplyObserver::failed`].
    fn failed_deposed(&self, addr: &ResourceInstanceAddr, key: &str, action: Action, error: &str) {
        let _ = key;
        self.failed(addr, action, error)
    }
}

/// A change that failed.
#[derive(Clone, Debug)]
pub struct ApplyFailure {
    pub addr: ResourceInstanceAddr,
    /// The change's planned action (a replacement reads `Replace` whichever half failed).
    pub action: Action,
    /// Why. A mistake in the configuration (a failed condition, an expression that cannot
    /// be evaluated) keeps its span and help; a cloud's error is
    /// `inferform::apply::failed`. Its message is the one line progress shows.
    pub diagnostic: Diagnostic,
}

impl ApplyFailure {
    /// The one-line reason: what progress shows after the address.
    pub fn reason(&self) -> &str {
        &self.diagnostic.message
    }
}

/// How an apply ended.
#[derive(Debug, Default)]
pub struct ApplyOutcome {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    /// Changes that failed, with why.
    pub failures: Vec<ApplyFailure>,
    /// Changes not started because something they depend on failed, or the run was stopped.
    pub skipped: Vec<ResourceInstanceAddr>,
    pub diagnostics: Diagnostics,
    /// Outputs after apply.
    pub outputs: BTreeMap<String, OutputState>,
}

/// Inputs of an apply.
pub struct ApplyInput {
    pub config: Arc<Config>,
    pub plan: Plan,
    pub store: Arc<dyn StateStore>,
    pub observer: Arc<dyn ApplyObserver>,
    /// Set to stop starting new changes (Ctrl-C); changes in flight finish and are recorded.
    pub stop: Arc<AtomicBool>,
    pub base_dir: Option<PathBuf>,
}

struct Ctx {
    engine: Arc<Engine>,
    config: Arc<Config>,
    /// Resource values by module instance, updated as changes finish.
    root: RwLock<Roots>,
    /// The root module's variables.
    vars: BTreeMap<String, Value>,
    /// The workspace the plan was made in, for `inferform.workspace`.
    workspace: String,
    store: Arc<dyn StateStore>,
    observer: Arc<dyn ApplyObserver>,
    base_dir: Option<PathBuf>,
    /// Each resource's instance keys and `each.value`s, worked out once: `count` and
    /// `for_each` are known at plan time and do not change during apply. Keyed by the
    /// resource in its module instance.
    expansions: Mutex<BTreeMap<ResourceAddr, Arc<Expansion>>>,
    /// Addresses an interrupted run was creating whose object the plan did not find by name.
    /// A list that lags behind creates may not show it yet, so a refusal of the create made
    /// now ("already exists") does not prove that nothing was made: the intent is kept.
    unfound_intents: BTreeSet<ResourceInstanceAddr>,
    /// Each address's record as this apply last wrote or loaded it, one lock per address:
    /// every write of a record carries the deposed objects the record holds (a record is
    /// written whole), so they are read and written under the address's lock.
    records: Mutex<BTreeMap<String, Slot>>,
    /// The deposed key each create-first replacement gave its old object, for its destroy.
    deposing: Mutex<BTreeMap<ResourceInstanceAddr, String>>,
    /// Creates the cloud clearly refused: they made nothing.
    made_nothing: Mutex<BTreeSet<ResourceInstanceAddr>>,
}

/// One address's record, as the apply last wrote it (`None`: no record).
type Slot = Arc<Mutex<Option<ResourceState>>>;

/// The key a deposed object is kept under: 8 hex digits, as Terraform's, worked out from the
/// address and the object so that the create and the destroy half agree on it.
fn deposed_key(addr: &ResourceInstanceAddr, attributes: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(addr.to_string().as_bytes());
    h.update(b"\n");
    h.update(attributes.to_string().as_bytes());
    hex::encode(&h.finalize()[..4])
}

/// A change's failure that is the cloud's or the state's, not the configuration's.
fn fail(message: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error("inferform::apply::failed", message.to_string())
}

impl Ctx {
    fn slot(&self, addr: &str) -> Slot {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(addr.to_string())
            .or_default()
            .clone()
    }

    /// Writes an address's current object, keeping the deposed objects its record holds.
    fn put_record(&self, mut record: ResourceState) -> Result<(), Diagnostic> {
        let slot = self.slot(&record.addr);
        let mut held = slot.lock().unwrap_or_else(|p| p.into_inner());
        record.deposed = held.as_ref().map(|r| r.deposed.clone()).unwrap_or_default();
        self.store.put_resource(&record).map_err(fail)?;
        *held = Some(record);
        Ok(())
    }

    /// Removes an address's record, which must hold no deposed object: those are destroyed
    /// first (see `schedule`), and one whose destroy failed keeps the record.
    fn remove_record(&self, addr: &str) -> Result<(), Diagnostic> {
        let slot = self.slot(addr);
        let mut held = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = held.as_ref().filter(|r| !r.deposed.is_empty()) {
            let keys: Vec<&str> = r.deposed.keys().map(String::as_str).collect();
            return Err(fail(format!(
                "its record still holds deposed object {} not yet destroyed, so it stays in state",
                keys.join(", ")
            ))
            .with_help("run apply again: it destroys the deposed objects first"));
        }
        self.store.remove_resource(addr).map_err(fail)?;
        *held = None;
        Ok(())
    }

    /// Changes the deposed objects an address's record holds, and writes the record.
    fn update_deposed(
        &self,
        addr: &str,
        f: impl FnOnce(&mut BTreeMap<String, DeposedObject>),
    ) -> Result<(), Diagnostic> {
        let slot = self.slot(addr);
        let mut held = slot.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut record) = held.clone() else {
            return Err(fail(format!("{addr} has no record in state")));
        };
        f(&mut record.deposed);
        if Some(&record) == held.as_ref() {
            return Ok(());
        }
        self.store.put_resource(&record).map_err(fail)?;
        *held = Some(record);
        Ok(())
    }

    /// The deposed object a step destroys, if it destroys one: a deposed object's delete, or
    /// the destroy half of a create-first replacement (once its create deposed the old one).
    fn deposed_of(&self, change: &ResourceChange, part: Part) -> Option<String> {
        match (change.action, part) {
            (Action::Replace { create_first: true }, Part::Destroy) => self
                .deposing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&change.addr)
                .cloned(),
            _ => change.deposed.clone(),
        }
    }

    /// The record of an address as the apply last wrote or loaded it.
    fn current_record(&self, addr: &str) -> Option<ResourceState> {
        let slot = self.slot(addr);
        let held = slot.lock().unwrap_or_else(|p| p.into_inner());
        held.clone()
    }

    /// Runs `f` with the instance's resource, schema and scope as they are now that
    /// everything it depends on is applied: variables, locals and module outputs are worked
    /// out afresh, since what they read may have been applied since the plan.
    fn in_instance_scope<T>(
        &self,
        change: &ResourceChange,
        f: impl FnOnce(
            &inferform_lang::config::Resource,
            &Schema,
            &Scope,
            &Env,
        ) -> Result<T, Diagnostic>,
    ) -> Result<T, Diagnostic> {
        let r = self
            .config
            .resource(&change.addr.resource.config_addr())
            .ok_or_else(|| {
                fail(format!(
                    "{} is not in the configuration",
                    change.addr.resource
                ))
            })?;
        let schemas = match r.addr.mode {
            inferform_types::ResourceMode::Managed => &self.engine.schemas,
            inferform_types::ResourceMode::Data => &self.engine.data_schemas,
        };
        let schema = schemas
            .get(&r.addr.type_name)
            .ok_or_else(|| fail("unknown resource type"))?;
        let roots = self.root.read().unwrap_or_else(|p| p.into_inner());
        let env = Env::for_apply(&self.config, &self.vars, self.base_dir.clone())
            .with_workspace(&self.workspace);
        let scope = env.scope(&roots, &change.addr.resource.module, &resource_exprs(r));
        let cached = self
            .expansions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&change.addr.resource)
            .cloned();
        let keys = match cached {
            Some(k) => k,
            None => {
                let k: Arc<Expansion> = Arc::new(expand(r, &scope)?.into_iter().collect());
                self.expansions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(change.addr.resource.clone(), k.clone());
                k
            }
        };
        let each = keys.get(&change.addr.key).cloned().flatten();
        let iscope = instance_scope(&scope, &change.addr.key, &each, r.count.is_some());
        f(r, schema, &iscope, &env)
    }

    /// Evaluates the instance's configuration now that everything it depends on is applied,
    /// once its preconditions hold.
    fn configured(&self, change: &ResourceChange) -> Result<(Value, Object), Diagnostic> {
        self.in_instance_scope(change, |r, schema, iscope, env| {
            let subject = change.addr.to_string();
            if let Some(d) = resource_conditions(r, iscope, &subject, None, true).first() {
                return Err(with_help(d, &subject));
            }
            let what = format!("resource \"{}\" \"{}\"", r.addr.type_name, r.addr.name);
            let mut diags = env.take_diagnostics();
            let cfg = decode_body(&r.body, schema, iscope, &what, &mut diags);
            if let Some(d) = diags.iter().find(|d| d.is_error()) {
                return Err(d.clone());
            }
            let json = cfg.to_json().ok_or_else(|| {
                fail("a value is still unknown after its dependencies were applied")
            })?;
            Ok((cfg, json_object(&strip_nulls(json))))
        })
    }

    /// Checks the postconditions of an object just made or changed (`self` is `object`).
    /// The object stays in state either way; a failure stops what depends on it.
    fn postconditions(&self, change: &ResourceChange, object: &Value) -> Result<(), Diagnostic> {
        self.in_instance_scope(change, |r, _, iscope, _| {
            let subject = change.addr.to_string();
            match resource_conditions(r, iscope, &subject, Some(object), true).first() {
                Some(d) => Err(with_help(d, &subject)),
                None => Ok(()),
            }
        })
    }

    fn timeout(&self, change: &ResourceChange, op: &str) -> Option<Duration> {
        let r = self.config.resource(&change.addr.resource.config_addr())?;
        r.timeouts.get(op).map(|s| Duration::from_secs(*s))
    }

    fn op_context(&self, change: &ResourceChange, op: &str) -> OpContext {
        let observer = self.observer.clone();
        let addr = change.addr.clone();
        OpContext {
            progress: Arc::new(move |p| match p {
                Progress::Status(s) => observer.status(&addr, &s),
            }),
            timeout: self.timeout(change, op),
        }
    }

    /// Writes an object's state. `cfg` is its configuration as evaluated: the parts it made
    /// sensitive (and those the plan marked) are recorded so that they stay hidden.
    fn record(
        &self,
        change: &ResourceChange,
        type_name: &str,
        attrs: &Object,
        cfg: &Value,
    ) -> Result<Value, Diagnostic> {
        let full = serde_json::Value::Object(attrs.clone());
        let state = ResourceState {
            addr: change.addr.to_string(),
            type_name: type_name.to_string(),
            provider: change.provider.clone(),
            attributes: for_state(&self.engine.schemas, type_name, full.clone()),
            dependencies: change.dependencies.iter().map(|d| d.to_string()).collect(),
            tainted: false,
            sensitive_paths: sensitive_paths(cfg, change.after.as_ref()),
            deposed: BTreeMap::new(),
        };
        self.put_record(state.clone())?;
        // What depends on it sees every value, those state does not keep included.
        let v = object_value(
            &full,
            &state.sensitive_paths,
            self.engine.schemas.get(type_name),
        );
        set_instance(
            &mut self.root.write().unwrap_or_else(|p| p.into_inner()),
            &change.addr,
            v.clone(),
        );
        Ok(v)
    }

    async fn create(
        &self,
        provider: &dyn Provider,
        change: &ResourceChange,
        cfg: &Value,
        planned: &Object,
    ) -> Result<Object, Diagnostic> {
        let type_name = &change.addr.resource.type_name;
        let intent = Intent {
            addr: change.addr.to_string(),
            type_name: type_name.clone(),
            provider: change.provider.clone(),
            planned: strip_nulls(cfg.to_json_redacted()),
            dependencies: change.dependencies.iter().map(|d| d.to_string()).collect(),
        };
        self.store.record_intent(&intent).map_err(fail)?;
        match provider
            .create(&self.op_context(change, "create"), type_name, planned)
            .await
        {
            Ok(obj) => {
                let made = self.record(change, type_name, &obj, cfg)?;
                self.store.clear_intent(&intent.addr).map_err(fail)?;
                self.postconditions(change, &made)?;
                Ok(obj)
            }
            Err(e) if e.kind == inferform_provider::ErrorKind::Failed => {
                // The cloud made the object but it failed to start: track it as tainted so
                // that the next plan replaces it, rather than leaving it unknown to state.
                match provider
                    .find(&OpContext::silent(), type_name, planned)
                    .await
                {
                    Ok(Some(obj)) => {
                        let record = ResourceState {
                            addr: intent.addr.clone(),
                            type_name: type_name.clone(),
                            provider: change.provider.clone(),
                            attributes: for_state(
                                &self.engine.schemas,
                                type_name,
                                serde_json::Value::Object(obj),
                            ),
                            dependencies: intent.dependencies.clone(),
                            tainted: true,
                            sensitive_paths: sensitive_paths(cfg, change.after.as_ref()),
                            deposed: BTreeMap::new(),
                        };
                        self.put_record(record)?;
                        self.store.clear_intent(&intent.addr).map_err(fail)?;
                        Err(fail(format!("{e}; the failed object is kept in state as tainted and will be replaced by the next apply")))
                    }
                    // Not found, or the look-up failed: the cloud did make the object (it
                    // reported its failed status), and a list may lag behind. The intent is
                    // kept for the next run to look it up again, adopt it and replace it.
                    Ok(None) | Err(_) => Err(fail(e)),
                }
            }
            Err(e) => {
                // Only a clear refusal (a 4xx, a request that could not be built) created
                // nothing. Any other failure — a 5xx, no answer, a timeout, a 2xx answer that
                // cannot be read — leaves the outcome unknown: the intent is kept so that the
                // next run looks the object up by name and adopts it, rather than leave it
                // orphaned and the address stuck behind "already exists". Nor does a refusal
                // prove anything where an earlier run's create was not found (see
                // `Ctx::unfound_intents`).
                if create_failure(&e).may_have_made_it() {
                    Err(fail(e))
                } else if self.unfound_intents.contains(&change.addr) {
                    Err(fail(format!(
                        "{e}; an interrupted run was creating this object and the plan did not \
                         find it, so it may exist under this name where the cloud's list does \
                         not show it yet: the next run looks it up by name again and adopts it"
                    )))
                } else {
                    let _ = self.store.clear_intent(&intent.addr);
                    self.made_nothing
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(change.addr.clone());
                    Err(fail(e))
                }
            }
        }
    }

    async fn delete(
        &self,
        provider: &dyn Provider,
        change: &ResourceChange,
        before: &Value,
    ) -> Result<(), Diagnostic> {
        let type_name = &change.addr.resource.type_name;
        let prior = json_object(&before.to_json().unwrap_or_default());
        provider
            .delete(&self.op_context(change, "delete"), type_name, &prior)
            .await
            .map_err(fail)?;
        self.remove_record(&change.addr.to_string())
    }

    /// Sets the old object of a create-first replacement aside in its address's record, as
    /// deposed, before its replacement's create is sent. Returns its key.
    fn depose(&self, change: &ResourceChange) -> Result<String, Diagnostic> {
        let addr = change.addr.to_string();
        let type_name = &change.addr.resource.type_name;
        let record = self.current_record(&addr);
        // The object as refresh read it, without what state does not keep.
        let attributes = change
            .before
            .as_ref()
            .and_then(|v| v.deep_unmarked().to_json())
            .map(|v| for_state(&self.engine.schemas, type_name, v))
            .or_else(|| record.as_ref().map(|r| r.attributes.clone()))
            .unwrap_or_default();
        let key = deposed_key(&change.addr, &attributes);
        let old = DeposedObject {
            attributes,
            dependencies: record
                .as_ref()
                .map(|r| r.dependencies.clone())
                .unwrap_or_else(|| change.dependencies.iter().map(|d| d.to_string()).collect()),
            sensitive_paths: record
                .as_ref()
                .map(|r| r.sensitive_paths.clone())
                .unwrap_or_default(),
        };
        self.update_deposed(&addr, |d| {
            d.insert(key.clone(), old);
        })?;
        self.deposing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(change.addr.clone(), key.clone());
        Ok(key)
    }

    /// Destroys the deposed object `key` of the change's address and drops it from the
    /// record. A failure keeps it there, for the next apply to destroy.
    async fn destroy_deposed(
        &self,
        provider: &dyn Provider,
        change: &ResourceChange,
        key: &str,
        before: Option<&Value>,
    ) -> Result<(), Diagnostic> {
        let addr = change.addr.to_string();
        let type_name = &change.addr.resource.type_name;
        let prior = match before.and_then(|v| v.deep_unmarked().to_json()) {
            Some(v) => v,
            None => self
                .current_record(&addr)
                .and_then(|r| r.deposed.get(key).map(|d| d.attributes.clone()))
                .ok_or_else(|| fail(format!("deposed object {key} is not in state")))?,
        };
        provider
            .delete(&self.op_context(change, "delete"), type_name, &json_object(&prior))
            .await
            .map_err(|e| {
                fail(format!(
                    "destroying deposed object {key} failed: {e}; it stays in state as deposed object {key}, and the next apply destroys it"
                ))
            })?;
        self.update_deposed(&addr, |d| {
            d.remove(key);
        })
    }

    /// A change that failed or was not attempted: what references (outputs) read of it is
    /// the object as it stands, its value before the change, or unknown where there may be
    /// none (a create, a replacement half done), never the value it was planned to have.
    fn not_made(&self, change: &ResourceChange) {
        // A deposed object is nothing references read.
        if change.deposed.is_some() {
            return;
        }
        let before = match change.action {
            Action::Update | Action::Delete | Action::NoOp | Action::Forget => {
                change.before.clone()
            }
            Action::Create | Action::Replace { .. } | Action::Read => None,
        };
        let mut root = self.root.write().unwrap_or_else(|p| p.into_inner());
        set_instance(&mut root, &change.addr, before.unwrap_or(Value::Unknown));
    }

    /// Carries out one step of a change. Returns the object's id when it has one.
    async fn run(&self, change: &ResourceChange, part: Part) -> Result<Option<String>, Diagnostic> {
        let provider = self
            .engine
            .providers
            .get(&change.provider)
            .cloned()
            .ok_or_else(|| fail(format!("provider `{}` is not configured", change.provider)))?;
        let type_name = &change.addr.resource.type_name;
        let id_of = |o: &Object| o.get("id").and_then(|v| v.as_str()).map(str::to_string);
        match (change.action, part) {
            (Action::NoOp, _) => Ok(None),
            (Action::Read, _) => {
                let (cfg, query) = self.configured(change)?;
                let obj = provider
                    .read_data(&self.op_context(change, "read"), type_name, &query)
                    .await
                    .map_err(fail)?;
                let v = match self.engine.data_schemas.get(type_name) {
                    Some(s) => data_value(obj, &cfg, s),
                    None => Value::from_json(&serde_json::Value::Object(obj)),
                };
                set_instance(
                    &mut self.root.write().unwrap_or_else(|p| p.into_inner()),
                    &change.addr,
                    v,
                );
                Ok(None)
            }
            (Action::Create, _) => {
                let (cfg, planned) = self.configured(change)?;
                self.create(provider.as_ref(), change, &cfg, &planned)
                    .await
                    .map(|o| id_of(&o))
            }
            (Action::Update, _) => {
                let (cfg, planned) = self.configured(change)?;
                let before = change
                    .before
                    .as_ref()
                    .and_then(Value::to_json)
                    .unwrap_or_default();
                let obj = provider
                    .update(
                        &self.op_context(change, "update"),
                        type_name,
                        &json_object(&before),
                        &planned,
                    )
                    .await
                    .map_err(fail)?;
                let changed = self.record(change, type_name, &obj, &cfg)?;
                self.postconditions(change, &changed)?;
                Ok(id_of(&obj))
            }
            // A create-first replacement's create: the old object is deposed in state
            // first, so that whatever happens next it is not lost; the new one takes the
            // address. A create the cloud refused restores the old object; one whose outcome
            // is unknown leaves it deposed and current at once, a pair the next plan
            // settles once it knows whether the new object exists.
            (Action::Replace { create_first: true }, Part::Create) => {
                let (cfg, planned) = self.configured(change)?;
                let key = self.depose(change)?;
                match self.create(provider.as_ref(), change, &cfg, &planned).await {
                    Ok(o) => Ok(id_of(&o)),
                    Err(d) => {
                        let refused = self
                            .made_nothing
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .contains(&change.addr);
                        if refused {
                            self.update_deposed(&change.addr.to_string(), |dep| {
                                dep.remove(&key);
                            })?;
                        }
                        Err(d)
                    }
                }
            }
            // Its destroy, once everything that used the old object has moved on.
            (Action::Replace { create_first: true }, _) => {
                let key = self
                    .deposing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&change.addr)
                    .cloned()
                    .ok_or_else(|| fail("the old object was not deposed"))?;
                self.destroy_deposed(provider.as_ref(), change, &key, change.before.as_ref())
                    .await?;
                Ok(None)
            }
            // A destroy-then-create replacement runs as two steps (see `schedule`).
            (
                Action::Replace {
                    create_first: false,
                },
                Part::Destroy,
            ) => {
                let before = change.before.clone().unwrap_or(Value::Null);
                self.delete(provider.as_ref(), change, &before).await?;
                Ok(None)
            }
            // Its create half: the destroy half is matched above.
            (
                Action::Replace {
                    create_first: false,
                },
                _,
            ) => {
                let (cfg, planned) = self.configured(change)?;
                self.create(provider.as_ref(), change, &cfg, &planned)
                    .await
                    .map(|o| id_of(&o))
            }
            // A deposed object an earlier run left: references never read it.
            (Action::Delete, _) if change.deposed.is_some() => {
                let key = change.deposed.clone().unwrap_or_default();
                self.destroy_deposed(provider.as_ref(), change, &key, change.before.as_ref())
                    .await?;
                Ok(None)
            }
            // Forgotten: state lets go of the object; the cloud keeps it.
            (Action::Forget, _) => {
                self.remove_record(&change.addr.to_string())?;
                let mut root = self.root.write().unwrap_or_else(|p| p.into_inner());
                remove_instance(&mut root, &change.addr);
                Ok(None)
            }
            (Action::Delete, _) => {
                let before = change.before.clone().unwrap_or(Value::Null);
                self.delete(provider.as_ref(), change, &before).await?;
                let mut root = self.root.write().unwrap_or_else(|p| p.into_inner());
                remove_instance(&mut root, &change.addr);
                Ok(None)
            }
        }
    }
}

/// A condition's diagnostic as the failure of `subject` (which the failure is reported
/// against, so its name is not repeated): its message says what failed and the help that
/// says why; span and help stay.
fn with_help(d: &Diagnostic, subject: &str) -> Diagnostic {
    let message = d
        .message
        .strip_prefix(&format!("{subject}: "))
        .unwrap_or(&d.message);
    let message = match &d.help {
        Some(help) => format!("{message} ({help})"),
        None => message.to_string(),
    };
    Diagnostic {
        message,
        ..d.clone()
    }
}

/// A resource's instance keys, with each instance's `each.value`.
type Expansion = BTreeMap<InstanceKey, Option<Value>>;

/// The sensitive paths of an object's evaluated configuration and of its planned value.
fn sensitive_paths(cfg: &Value, planned: Option<&Value>) -> Vec<Vec<String>> {
    let mut paths = cfg.sensitive_paths();
    if let Some(p) = planned {
        paths.extend(p.sensitive_paths());
    }
    paths.sort();
    paths.dedup();
    paths
}

/// What an apply task reports: the change's index, its result, how long it took.
type TaskResult = (usize, Result<Option<String>, Diagnostic>, Duration);

/// A state store whose writes, which wait for the disk, run off the async workers: with few
/// cores, a synchronous fsync inside a task would hold up every poll and create due meanwhile.
/// It also notes the first write that fails (a full disk, a lost database connection): the
/// apply then starts nothing new, since whatever it did could not be recorded.
struct OffThread(Arc<dyn StateStore>, Arc<AtomicBool>);

impl OffThread {
    fn run<T, E>(&self, f: impl FnOnce(&dyn StateStore) -> Result<T, E>) -> Result<T, E> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let result = match Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| f(self.0.as_ref())),
            _ => f(self.0.as_ref()),
        };
        if result.is_err() {
            self.1.store(true, Ordering::SeqCst);
        }
        result
    }
}

impl StateStore for OffThread {
    fn load(&self) -> Result<inferform_state::State, inferform_state::StateError> {
        self.run(|s| s.load())
    }
    fn put_resource(&self, r: &ResourceState) -> Result<(), inferform_state::StateError> {
        self.run(|s| s.put_resource(r))
    }
    fn remove_resource(&self, addr: &str) -> Result<(), inferform_state::StateError> {
        self.run(|s| s.remove_resource(addr))
    }
    fn put_outputs(
        &self,
        outputs: &BTreeMap<String, OutputState>,
    ) -> Result<(), inferform_state::StateError> {
        self.run(|s| s.put_outputs(outputs))
    }
    fn record_intent(&self, intent: &Intent) -> Result<(), inferform_state::StateError> {
        self.run(|s| s.record_intent(intent))
    }
    fn clear_intent(&self, addr: &str) -> Result<(), inferform_state::StateError> {
        self.run(|s| s.clear_intent(addr))
    }
    fn replace(&self, state: &inferform_state::State) -> Result<(), inferform_state::StateError> {
        self.run(|s| s.replace(state))
    }
    fn restore(&self, state: &inferform_state::State) -> Result<(), inferform_state::StateError> {
        self.run(|s| s.restore(state))
    }
    fn record_history(
        &self,
        change: &inferform_state::Change,
    ) -> Result<inferform_state::HistoryEntry, inferform_state::StateError> {
        self.run(|s| s.record_history(change))
    }
    fn history(&self) -> Result<Vec<inferform_state::HistoryEntry>, inferform_state::StateError> {
        self.run(|s| s.history())
    }
    fn state_at(
        &self,
        serial: u64,
    ) -> Result<Option<inferform_state::State>, inferform_state::StateError> {
        self.run(|s| s.state_at(serial))
    }
}

/// `attrs` as state keeps them: without the secrets the cloud gives again on every read
/// (see [`crate::diff::state_attributes`]).
fn for_state(
    schemas: &BTreeMap<String, Schema>,
    type_name: &str,
    attrs: serde_json::Value,
) -> serde_json::Value {
    match schemas.get(type_name) {
        Some(schema) => crate::diff::state_attributes(attrs, schema),
        None => attrs,
    }
}

/// Carries out the state-only parts of a plan: `moved` blocks, imported objects, and
/// refreshed objects of a refresh-only plan. These touch no cloud.
fn record_moves_and_imports(
    plan: &Plan,
    store: &dyn StateStore,
    config: &Config,
    schemas: &BTreeMap<String, Schema>,
) -> Result<(), inferform_state::StateError> {
    let mut state = store.load()?;
    if !plan.moved.is_empty() {
        for (from, to) in &plan.moved {
            if let Some(r) = state.resources.get(&from.to_string()) {
                let moved = ResourceState {
                    addr: to.to_string(),
                    ..r.clone()
                };
                store.put_resource(&moved)?;
                store.remove_resource(&from.to_string())?;
            }
        }
        state = store.load()?;
    }
    // Deposed objects refresh found gone, and those that are the current object itself.
    for (addr, keys) in &plan.drop_deposed {
        if let Some(r) = state.resources.get_mut(&addr.to_string()) {
            let before = r.deposed.len();
            r.deposed.retain(|k, _| !keys.contains(k));
            if r.deposed.len() != before {
                store.put_resource(r)?;
            }
        }
    }
    for (addr, recorded) in &plan.record {
        // Refresh may have read the object again since: the latest reading wins.
        let attrs = &plan
            .changes
            .iter()
            .find(|c| c.action == Action::NoOp && &c.addr == addr)
            .and_then(|c| c.before.as_ref())
            .and_then(|v| v.deep_unmarked().to_json())
            .or_else(|| recorded.attributes.clone());
        // The record keeps the deposed objects it holds.
        let deposed = state
            .resources
            .get(&addr.to_string())
            .map(|r| r.deposed.clone())
            .unwrap_or_default();
        let Some(attrs) = attrs else {
            if deposed.is_empty() {
                store.remove_resource(&addr.to_string())?;
            }
            continue;
        };
        let dependencies = config
            .resource_position(&addr.resource.config_addr())
            .map(|idx| {
                crate::graph::resource_dependencies(config, idx)
                    .iter()
                    .map(|d| d.to_string())
                    .collect()
            })
            .unwrap_or_default();
        // An object adopted in a failed status is recorded tainted, as a failed create
        // records it: should its replacement not happen now (a failure upstream, a kill),
        // the next plan still replaces it.
        let tainted = plan.replace_reasons.get(addr) == Some(&ReplaceReason::Tainted);
        let type_name = &recorded.type_name;
        let record = ResourceState {
            addr: addr.to_string(),
            type_name: type_name.clone(),
            provider: recorded.provider.clone(),
            attributes: for_state(schemas, type_name, attrs.clone()),
            dependencies,
            tainted,
            sensitive_paths: Vec::new(),
            deposed,
        };
        store.put_resource(&record)?;
    }
    for addr in &plan.resolved_intents {
        store.clear_intent(&addr.to_string())?;
    }
    Ok(())
}

/// The steps of one apply, and how far each got: the scheduler's queue.
struct Run {
    changes: Arc<Vec<ResourceChange>>,
    steps: Vec<schedule::Step>,
    /// For each step, how many steps it still waits for.
    waiting: Vec<usize>,
    /// For each step, the steps that wait for it.
    dependents: Vec<Vec<usize>>,
    /// Finished, failed or skipped.
    done: Vec<bool>,
    /// Something asked the run to stop starting changes (Ctrl-C, a failed state write).
    stopped: bool,
}

impl Run {
    fn new(changes: Vec<ResourceChange>) -> Run {
        let (steps, waits) = schedule::steps(&changes);
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
        for (i, ws) in waits.iter().enumerate() {
            for &w in ws {
                dependents[w].push(i);
            }
        }
        Run {
            changes: Arc::new(changes),
            waiting: waits.iter().map(Vec::len).collect(),
            done: vec![false; steps.len()],
            steps,
            dependents,
            stopped: false,
        }
    }

    fn change(&self, step: usize) -> &ResourceChange {
        &self.changes[self.steps[step].change]
    }

    /// Counts a finished step in the outcome.
    fn count(outcome: &mut ApplyOutcome, action: Action) {
        match action {
            Action::Create => outcome.added += 1,
            Action::Update => outcome.changed += 1,
            Action::Delete => outcome.destroyed += 1,
            Action::Replace { .. } => {
                outcome.added += 1;
                outcome.destroyed += 1
            }
            Action::NoOp | Action::Read | Action::Forget => {}
        }
    }

    /// Step `i` failed or was not attempted: what references read of its change is the
    /// object as it stands (see `Ctx::not_made`). The destroy half of a create-first
    /// replacement leaves that to its create: if the create succeeded, the new object
    /// stands and keeps the address.
    fn not_made(&self, i: usize, ctx: &Ctx) {
        let step = self.steps[i];
        let change = &self.changes[step.change];
        if step.part == Part::Destroy && change.action == (Action::Replace { create_first: true }) {
            return;
        }
        ctx.not_made(change);
    }

    /// Marks everything downstream of step `i` skipped.
    fn skip_dependents(&mut self, i: usize, ctx: &Ctx, outcome: &mut ApplyOutcome) {
        let mut stack = self.dependents[i].clone();
        while let Some(d) = stack.pop() {
            if !self.done[d] {
                self.done[d] = true;
                let skipped = &self.changes[self.steps[d].change];
                outcome.skipped.push(skipped.addr.clone());
                self.not_made(d, ctx);
                stack.extend(self.dependents[d].iter().copied());
            }
        }
    }

    /// What was never started is skipped too; a replacement whose destroy half failed is a
    /// failure, not also a skip.
    fn skip_unstarted(&self, ctx: &Ctx, outcome: &mut ApplyOutcome) {
        for (i, finished) in self.done.iter().enumerate() {
            let change = self.change(i);
            if !finished && !outcome.skipped.contains(&change.addr) {
                outcome.skipped.push(change.addr.clone());
                self.not_made(i, ctx);
            }
        }
        let failed: BTreeSet<&ResourceInstanceAddr> =
            outcome.failures.iter().map(|f| &f.addr).collect();
        outcome.skipped.retain(|a| !failed.contains(a));
        outcome.skipped.sort();
        outcome.skipped.dedup();
    }
}

impl Engine {
    /// Applies a plan. Never stops at the first failure: independent changes go on.
    pub async fn apply(self: &Arc<Self>, input: ApplyInput) -> ApplyOutcome {
        let mut outcome = ApplyOutcome::default();
        if let Err(e) = record_moves_and_imports(
            &input.plan,
            input.store.as_ref(),
            &input.config,
            &self.schemas,
        ) {
            outcome.diagnostics.push(Diagnostic::error(
                "inferform::state::write",
                format!("cannot record the plan's moves and imports in state: {e}"),
            ));
            return outcome;
        }
        let records = match input.store.load() {
            Ok(state) => state
                .resources
                .into_iter()
                .map(|(addr, r)| (addr, Arc::new(Mutex::new(Some(r)))))
                .collect(),
            Err(e) => {
                outcome.diagnostics.push(Diagnostic::error(
                    "inferform::state::read",
                    format!("cannot read the state: {e}"),
                ));
                return outcome;
            }
        };
        let state_failed = Arc::new(AtomicBool::new(false));
        let ctx = Arc::new(Ctx {
            engine: self.clone(),
            config: input.config.clone(),
            root: RwLock::new(input.plan.roots),
            vars: input.plan.vars.clone(),
            workspace: input.plan.workspace.clone(),
            store: Arc::new(OffThread(input.store.clone(), state_failed.clone())),
            observer: input.observer.clone(),
            base_dir: input.base_dir.clone(),
            expansions: Mutex::new(BTreeMap::new()),
            unfound_intents: input
                .plan
                .resolved_intents
                .iter()
                .filter(|a| !input.plan.adopted.contains(a))
                .cloned()
                .collect(),
            records: Mutex::new(records),
            deposing: Mutex::new(BTreeMap::new()),
            made_nothing: Mutex::new(BTreeSet::new()),
        });
        let changes = input.plan.changes;
        let mut run = Run::new(
            changes
                .into_iter()
                .filter(|c| c.action != Action::NoOp)
                .collect(),
        );
        self.run_steps(&ctx, &mut run, &input.stop, &state_failed, &mut outcome)
            .await;
        run.skip_unstarted(&ctx, &mut outcome);
        if state_failed.load(Ordering::SeqCst) {
            outcome.diagnostics.push(
                Diagnostic::error(
                    "inferform::apply::state_failed",
                    "the state could not be written, so no new change was started after that",
                )
                .with_help(
                    "the changes listed as failed with a state error may have been made in the cloud without being recorded; \
                     once the state is reachable again, run apply: it refreshes, and adopts any object a recorded create intent names",
                ),
            );
        } else if run.stopped {
            outcome.diagnostics.push(
                Diagnostic::error(
                    "inferform::apply::interrupted",
                    "the apply was interrupted; changes in flight finished and are recorded",
                )
                .with_help("run apply again to carry out the rest"),
            );
        }
        if !input.plan.destroy {
            self.apply_outputs(&ctx, input.store.as_ref(), &mut outcome)
                .await;
        }
        if let Err(e) = input.store.put_outputs(&outcome.outputs) {
            outcome.diagnostics.push(Diagnostic::error(
                "inferform::state::write",
                format!("cannot write outputs to state: {e}"),
            ));
        }
        outcome
    }

    /// Runs every step the moment the steps it waits for finish, each in its own task, until
    /// none is left to start.
    async fn run_steps(
        &self,
        ctx: &Arc<Ctx>,
        run: &mut Run,
        stop: &AtomicBool,
        state_failed: &AtomicBool,
        outcome: &mut ApplyOutcome,
    ) {
        let mut set: JoinSet<TaskResult> = JoinSet::new();
        let slots = self.call_slots();
        let spawn = |i: usize, set: &mut JoinSet<TaskResult>, run: &Run| {
            let (ctx, changes, step) = (ctx.clone(), run.changes.clone(), run.steps[i]);
            set.spawn(Engine::with_slots(&slots, async move {
                let change = &changes[step.change];
                let action = step.action(&changes);
                match ctx.deposed_of(change, step.part) {
                    Some(key) => ctx.observer.started_deposed(&change.addr, &key, action),
                    None => ctx.observer.started(&change.addr, action),
                }
                let start = Instant::now();
                let result = ctx.run(change, step.part).await;
                (i, result, start.elapsed())
            }));
        };
        for i in (0..run.steps.len()).filter(|i| run.waiting[*i] == 0) {
            spawn(i, &mut set, run);
        }
        while let Some(joined) = set.join_next().await {
            let (i, result, elapsed) = match joined {
                Ok(r) => r,
                Err(e) => {
                    outcome.diagnostics.push(fail(format!(
                        "(task): an apply task stopped unexpectedly: {e}"
                    )));
                    continue;
                }
            };
            run.done[i] = true;
            let change = run.change(i).clone();
            let action = run.steps[i].action(&run.changes);
            let deposed = ctx.deposed_of(&change, run.steps[i].part);
            match result {
                Ok(id) => {
                    match &deposed {
                        Some(key) => {
                            ctx.observer
                                .finished_deposed(&change.addr, key, action, elapsed)
                        }
                        None => ctx
                            .observer
                            .finished(&change.addr, action, id.as_deref(), elapsed),
                    }
                    Run::count(outcome, action);
                    if stop.load(Ordering::SeqCst) || state_failed.load(Ordering::SeqCst) {
                        run.stopped = true;
                        continue;
                    }
                    for d in run.dependents[i].clone() {
                        run.waiting[d] -= 1;
                        if run.waiting[d] == 0 && !run.done[d] {
                            spawn(d, &mut set, run);
                        }
                    }
                }
                Err(diagnostic) => {
                    match &deposed {
                        Some(key) => ctx.observer.failed_deposed(
                            &change.addr,
                            key,
                            action,
                            &diagnostic.message,
                        ),
                        None => ctx
                            .observer
                            .failed(&change.addr, action, &diagnostic.message),
                    }
                    run.not_made(i, ctx);
                    outcome.failures.push(ApplyFailure {
                        addr: change.addr.clone(),
                        action: change.action,
                        diagnostic,
                    });
                    run.skip_dependents(i, ctx, outcome);
                }
            }
        }
    }

    /// Root outputs from the final values, and the check blocks judged on the objects as
    /// they now are, their data sources read afresh (failures warn). An apply that did not finish keeps the recorded value of
    /// an output it cannot work out (it reads a change that failed or was not made), as
    /// Terraform does: that value is lost otherwise, while the objects it describes may well
    /// still stand.
    async fn apply_outputs(&self, ctx: &Ctx, store: &dyn StateStore, outcome: &mut ApplyOutcome) {
        let unfinished = !outcome.failures.is_empty() || !outcome.skipped.is_empty();
        let recorded = if unfinished {
            store.load().map(|s| s.outputs).unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        let mut roots = ctx.root.read().unwrap_or_else(|p| p.into_inner()).clone();
        let env = Env::for_apply(&ctx.config, &ctx.vars, ctx.base_dir.clone())
            .with_workspace(&ctx.workspace);
        let root = inferform_types::ModulePath::root();
        for (name, output) in &ctx.config.outputs {
            match env.output_value(&roots, &root, output) {
                Ok(v) if v.is_wholly_known() => {
                    let sensitive = output.sensitive || v.is_sensitive();
                    let value = v.to_json().unwrap_or_default();
                    outcome
                        .outputs
                        .insert(name.clone(), OutputState { value, sensitive });
                }
                Ok(_) | Err(_) if unfinished => {
                    if let Some(kept) = recorded.get(name) {
                        outcome.outputs.insert(name.clone(), kept.clone());
                    }
                }
                Ok(_) => {}
                Err(d) => outcome.diagnostics.push(d),
            }
        }
        for d in read_scoped_data(self, &ctx.config, &env, &mut roots).await {
            outcome.diagnostics.push(d);
        }
        for d in check_blocks(&ctx.config, &env, &roots) {
            outcome.diagnostics.push(d);
        }
    }
}
