//! State: what inferform knows of the objects it manages. [`State`] holds a lineage (which
//! history this is), a serial (bumped on every write), one [`ResourceState`] per resource
//! instance, the outputs, and the create [`Intent`]s not yet resolved.
//!
//! [`StateStore`] is how the engine and the binary reach one workspace's state. Every write is
//! durable when the call returns, because state is written per resource as each change
//! finishes: a crash loses at most the operation in flight, whose intent survives it.
//! [`SledStore`] keeps it in an embedded sled database under `.inferform/state`;
//! [`pg::PgStore`] keeps it in PostgreSQL, shared by a team and locked per workspace;
//! [`MemoryStore`] serves tests. Each also keeps a history: a snapshot of the state after each
//! command that changed it, with who ran which command.
//!
//! [`backend::Backend`] is where a working directory's workspaces live: it lists, creates and
//! deletes them and opens one workspace's store under its lock ([`LockInfo`] names the
//! holder). Only this crate touches sled and PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

pub mod backend;
pub mod encryption;
mod error;
#[cfg(test)]
mod fixtures;
mod lock;
pub mod pg;
mod sled_store;

pub use error::StateError;
pub use lock::{who, LockInfo};
pub use sled_store::SledStore;

/// The workspace every backend has, which cannot be deleted: beneath the stores and the
/// backends alike, which both open it.
pub const DEFAULT_WORKSPACE: &str = "default";

/// The version of the stored format. Each store records the highest version that has opened
/// it (an older store is raised on open), and a store with a higher one than this is refused
/// ([`StateError::TooNew`]): an older inferform must not rewrite records it does not
/// understand.
///
/// 2: a record may hold deposed objects (`ResourceState::deposed`), which version 1 would drop
/// on its next write of that record, orphaning the objects in their cloud.
pub const FORMAT_VERSION: u32 = 2;

/// The state of one resource instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// The instance address, as text (`fabric_endpoint.chat`).
    pub addr: String,
    pub type_name: String,
    /// The provider configuration that manages it (`fabric`).
    pub provider: String,
    /// Every attribute, as the provider last reported it.
    pub attributes: serde_json::Value,
    /// Addresses of the resources this one depended on when it was last applied, so that
    /// deletes run in reverse order even after the configuration forgets them.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// The object exists but did not reach a working state (its create failed after the cloud
    /// made it): the next plan replaces it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tainted: bool,
    /// Paths inside `attributes` whose values are sensitive because the configuration made
    /// them so (a sensitive variable written into an attribute): they stay hidden wherever
    /// state is shown. Attributes that are sensitive by schema need no entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_paths: Vec<Vec<String>>,
    /// Old objects of this address that a `create_before_destroy` replacement set aside and
    /// has not destroyed yet, by deposed key (8 hex digits, as Terraform's). The old object is
    /// deposed in this record before the create of its replacement is sent, so a run killed
    /// or failing between the create and the delete leaves it here, and the next plan
    /// destroys it. A record written before deposed objects existed reads as having none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deposed: BTreeMap<String, DeposedObject>,
}

/// An old object of an address, set aside by a `create_before_destroy` replacement and
/// waiting to be destroyed (see [`ResourceState::deposed`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeposedObject {
    /// Every attribute, as the provider last reported it.
    pub attributes: serde_json::Value,
    /// What the object depended on: it is destroyed only after whatever used it.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// As [`ResourceState::sensitive_paths`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_paths: Vec<Vec<String>>,
}

impl DeposedObject {
    /// The attributes as a value, with the recorded sensitive parts marked.
    pub fn value(&self) -> inferform_types::Value {
        inferform_types::Value::from_json(&self.attributes).mark_paths(&self.sensitive_paths)
    }
}

impl ResourceState {
    /// The attributes as a value, with the recorded sensitive parts marked.
    pub fn value(&self) -> inferform_types::Value {
        inferform_types::Value::from_json(&self.attributes).mark_paths(&self.sensitive_paths)
    }
}

/// A create about to be sent: if the process dies before the answer is recorded, the next run
/// looks the object up by name and adopts it, or drops the intent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub addr: String,
    pub type_name: String,
    pub provider: String,
    /// The planned attributes that were sent (no secret: the engine strips sensitive values).
    pub planned: serde_json::Value,
    #[serde(default)]
    pub dependencies: Vec<String>,
}

/// A root output's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputState {
    pub value: serde_json::Value,
    pub sensitive: bool,
}

/// The whole state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub lineage: String,
    pub serial: u64,
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceState>,
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputState>,
    #[serde(default)]
    pub intents: BTreeMap<String, Intent>,
}

/// One entry of a workspace's history: a command that changed the state, and the serial the
/// state had after it. The snapshot itself is read with [`StateStore::state_at`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The state's serial after the change.
    pub serial: u64,
    /// When the entry was recorded, RFC 3339 UTC.
    pub at: String,
    /// `user@host` of whoever ran the command.
    pub who: String,
    /// The command: `apply`, `destroy`, `import`, `refresh`, `state mv`, `state rm`,
    /// `state push`, `init --migrate-state`.
    pub command: String,
    /// The fingerprint of the plan the command applied, when it applied one.
    pub fingerprint: Option<String>,
    /// Resource instances in the snapshot.
    pub resources: usize,
}

/// What a command says about a change it made, for history.
#[derive(Clone, Debug)]
pub struct Change {
    pub who: String,
    pub command: String,
    pub fingerprint: Option<String>,
}

impl Change {
    /// A change made by this process's user with `command`.
    pub fn new(command: &str, fingerprint: Option<String>) -> Change {
        Change {
            who: who(),
            command: command.to_string(),
            fingerprint,
        }
    }

    /// The entry recording this change at `state`.
    pub(crate) fn entry(&self, state: &State) -> HistoryEntry {
        HistoryEntry {
            serial: state.serial,
            at: lock::now_rfc3339(),
            who: self.who.clone(),
            command: self.command.clone(),
            fingerprint: self.fingerprint.clone(),
            resources: state.resources.len(),
        }
    }
}

/// Where one workspace's state lives. Every write is durable when the call returns, and bumps
/// the serial by one.
pub trait StateStore: Send + Sync {
    fn load(&self) -> Result<State, StateError>;
    fn put_resource(&self, resource: &ResourceState) -> Result<(), StateError>;
    fn remove_resource(&self, addr: &str) -> Result<(), StateError>;
    fn put_outputs(&self, outputs: &BTreeMap<String, OutputState>) -> Result<(), StateError>;
    fn record_intent(&self, intent: &Intent) -> Result<(), StateError>;
    fn clear_intent(&self, addr: &str) -> Result<(), StateError>;
    /// Replaces the whole state (`state push`), keeping nothing of the old one but bumping the
    /// serial past both.
    fn replace(&self, state: &State) -> Result<(), StateError>;
    /// Writes `state` exactly as given — lineage, serial, resources (with their sensitive
    /// paths), outputs, intents — replacing what is there, in one transaction. This is how
    /// state moves between backends: the copy must be indistinguishable from the original, so
    /// unlike [`StateStore::replace`] the serial is not bumped.
    fn restore(&self, state: &State) -> Result<(), StateError>;
    /// Records a history entry holding a snapshot of the current state (read in the same
    /// transaction as its serial, so the entry's serial and snapshot agree) and returns it.
    /// A second entry for the same serial replaces the first: nothing changed in between.
    fn record_history(&self, change: &Change) -> Result<HistoryEntry, StateError>;
    /// Every history entry, oldest first.
    fn history(&self) -> Result<Vec<HistoryEntry>, StateError>;
    /// The snapshot recorded with serial `serial`, if history has one.
    fn state_at(&self, serial: u64) -> Result<Option<State>, StateError>;
}

/// State kept in memory, for tests.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    state: State,
    history: BTreeMap<u64, (HistoryEntry, State)>,
}

impl MemoryStore {
    pub fn new(state: State) -> Self {
        MemoryStore {
            inner: Mutex::new(MemoryInner {
                state,
                history: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self.lock();
        guard.state.serial += 1;
        f(&mut guard.state)
    }
}

impl StateStore for MemoryStore {
    fn load(&self) -> Result<State, StateError> {
        Ok(self.lock().state.clone())
    }
    fn put_resource(&self, r: &ResourceState) -> Result<(), StateError> {
        self.with(|s| s.resources.insert(r.addr.clone(), r.clone()));
        Ok(())
    }
    fn remove_resource(&self, addr: &str) -> Result<(), StateError> {
        self.with(|s| s.resources.remove(addr));
        Ok(())
    }
    fn put_outputs(&self, outputs: &BTreeMap<String, OutputState>) -> Result<(), StateError> {
        self.with(|s| s.outputs = outputs.clone());
        Ok(())
    }
    fn record_intent(&self, intent: &Intent) -> Result<(), StateError> {
        self.with(|s| s.intents.insert(intent.addr.clone(), intent.clone()));
        Ok(())
    }
    fn clear_intent(&self, addr: &str) -> Result<(), StateError> {
        self.with(|s| s.intents.remove(addr));
        Ok(())
    }
    fn replace(&self, state: &State) -> Result<(), StateError> {
        self.with(|s| {
            let serial = s.serial.max(state.serial);
            *s = State {
                serial,
                ..state.clone()
            };
        });
        Ok(())
    }
    fn restore(&self, state: &State) -> Result<(), StateError> {
        self.lock().state = state.clone();
        Ok(())
    }
    fn record_history(&self, change: &Change) -> Result<HistoryEntry, StateError> {
        let mut guard = self.lock();
        let snapshot = guard.state.clone();
        let entry = change.entry(&snapshot);
        guard
            .history
            .insert(snapshot.serial, (entry.clone(), snapshot));
        Ok(entry)
    }
    fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        Ok(self
            .lock()
            .history
            .values()
            .map(|(e, _)| e.clone())
            .collect())
    }
    fn state_at(&self, serial: u64) -> Result<Option<State>, StateError> {
        Ok(self.lock().history.get(&serial).map(|(_, s)| s.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_deposed_objects_reads_and_writes_as_before() {
        let old = r#"{"addr":"a.b","type_name":"t","provider":"p","attributes":{"id":"x"}}"#;
        let r: ResourceState = serde_json::from_str(old).unwrap();
        assert!(r.deposed.is_empty());
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            old.replace("}}", "},\"dependencies\":[]}")
        );
        let mut with = r.clone();
        with.deposed.insert(
            "1f2e3d4c".into(),
            DeposedObject {
                attributes: serde_json::json!({"id": "old"}),
                dependencies: vec!["a.c".into()],
                sensitive_paths: vec![],
            },
        );
        let text = serde_json::to_string(&with).unwrap();
        assert!(
            text.contains(r#""deposed":{"1f2e3d4c":{"attributes":{"id":"old"}"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<ResourceState>(&text).unwrap(), with);
    }

    #[test]
    fn memory_store_keeps_history_and_restores_exactly() {
        let store = MemoryStore::default();
        store.put_outputs(&BTreeMap::new()).unwrap();
        let first = store.record_history(&Change::new("apply", None)).unwrap();
        assert_eq!(first.serial, 1);
        store.put_outputs(&BTreeMap::new()).unwrap();
        let second = store
            .record_history(&Change::new("destroy", Some("fp".into())))
            .unwrap();
        assert_eq!(store.history().unwrap(), vec![first, second]);
        assert_eq!(store.state_at(1).unwrap().unwrap().serial, 1);
        assert!(store.state_at(7).unwrap().is_none());
        let exact = State {
            lineage: "l".into(),
            serial: 42,
            ..State::default()
        };
        store.restore(&exact).unwrap();
        assert_eq!(store.load().unwrap(), exact);
    }
}
