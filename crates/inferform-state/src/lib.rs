//! State: what inferform knows of the objects it manages. [`State`] holds a lineage (which
//! history this is), a serial (bumped on every write), one [`ResourceState`] per resource
//! instance, the outputs, and the create [`Intent`]s not yet resolved.
//!
//! [`StateStore`] is how the engine and the binary reach it; [`SledStore`] keeps it in an
//! embedded sled database under `.inferform/state`, writing each resource as it finishes and
//! flushing before returning, so a crash loses at most the operation in flight, whose intent
//! survives it. [`MemoryStore`] serves tests. Only this crate touches sled.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

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

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the state in {path} is in use by another inferform process")]
    Locked { path: String },
    #[error("cannot open the state in {path}: {message}")]
    Open { path: String, message: String },
    #[error("cannot write the state: {0}")]
    Write(String),
    #[error("the state holds a record that does not decode: {0}")]
    Corrupt(String),
}

/// Where state lives. Every write is durable when the call returns.
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
}

/// State kept in memory, for tests.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new(state: State) -> Self {
        MemoryStore {
            state: Mutex::new(state),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        guard.serial += 1;
        f(&mut guard)
    }
}

impl StateStore for MemoryStore {
    fn load(&self) -> Result<State, StateError> {
        Ok(self.state.lock().unwrap_or_else(|p| p.into_inner()).clone())
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
}

/// State in an embedded sled database. sled holds an exclusive file lock on the database, so a
/// second process gets [`StateError::Locked`] instead of a corrupted state.
pub struct SledStore {
    db: sled::Db,
    meta: sled::Tree,
    resources: sled::Tree,
    outputs: sled::Tree,
    intents: sled::Tree,
    sync: GroupCommit,
}

/// Group commit: writers that finish at about the same time share one flush to disk instead of
/// queueing for one each. A writer returns only after a flush that began after its write.
#[derive(Default)]
struct GroupCommit {
    state: Mutex<SyncState>,
    done: std::sync::Condvar,
}

#[derive(Default)]
struct SyncState {
    /// Tickets handed out: one per write that asked to be made durable.
    requested: u64,
    /// Every write with a ticket up to this one is on disk.
    completed: u64,
    in_progress: bool,
}

const LINEAGE: &[u8] = b"lineage";
const SERIAL: &[u8] = b"serial";

impl SledStore {
    /// Opens (creating if needed) the state database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        let path = dir.display().to_string();
        let db = sled::Config::new().path(dir).open().map_err(|e| {
            let message = e.to_string();
            if message.contains("lock")
                || message.contains("WouldBlock")
                || message.contains("temporarily unavailable")
            {
                StateError::Locked { path: path.clone() }
            } else {
                StateError::Open {
                    path: path.clone(),
                    message,
                }
            }
        })?;
        let open = |name: &str| {
            db.open_tree(name).map_err(|e| StateError::Open {
                path: path.clone(),
                message: e.to_string(),
            })
        };
        let store = SledStore {
            meta: open("meta")?,
            resources: open("resources")?,
            outputs: open("outputs")?,
            intents: open("intents")?,
            db,
            sync: GroupCommit::default(),
        };
        if store.meta.get(LINEAGE).map_err(write_err)?.is_none() {
            store
                .meta
                .insert(LINEAGE, uuid::Uuid::new_v4().to_string().as_bytes())
                .map_err(write_err)?;
            store
                .meta
                .insert(SERIAL, &0u64.to_be_bytes())
                .map_err(write_err)?;
            store.flush()?;
        }
        Ok(store)
    }

    /// Makes every write done so far durable, sharing the flush with concurrent writers.
    fn flush(&self) -> Result<(), StateError> {
        fn lock(m: &Mutex<SyncState>) -> std::sync::MutexGuard<'_, SyncState> {
            m.lock().unwrap_or_else(|p| p.into_inner())
        }
        let mut st = lock(&self.sync.state);
        st.requested += 1;
        let ticket = st.requested;
        loop {
            if st.completed >= ticket {
                return Ok(());
            }
            if !st.in_progress {
                st.in_progress = true;
                let upto = st.requested;
                drop(st);
                let result = self.db.flush();
                st = lock(&self.sync.state);
                st.in_progress = false;
                if result.is_ok() {
                    st.completed = st.completed.max(upto);
                }
                self.sync.done.notify_all();
                result.map_err(write_err)?;
                continue;
            }
            st = self.sync.done.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Applies one change to a tree and bumps the serial, atomically, then makes it durable.
    fn write(
        &self,
        tree: &sled::Tree,
        key: &str,
        value: Option<Vec<u8>>,
    ) -> Result<(), StateError> {
        use sled::Transactional;
        (&self.meta, tree)
            .transaction(|(meta, tree)| {
                let serial = meta.get(SERIAL)?.map(|v| decode_serial(&v)).unwrap_or(0);
                meta.insert(SERIAL, &(serial + 1).to_be_bytes())?;
                match &value {
                    Some(bytes) => tree.insert(key.as_bytes(), bytes.as_slice())?,
                    None => tree.remove(key.as_bytes())?,
                };
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StateError::Write(format!("{e:?}")))?;
        self.flush()
    }

    fn read_tree<T: for<'de> Deserialize<'de>>(
        tree: &sled::Tree,
    ) -> Result<BTreeMap<String, T>, StateError> {
        let mut out = BTreeMap::new();
        for item in tree.iter() {
            let (k, v) = item.map_err(|e| StateError::Corrupt(e.to_string()))?;
            let key = String::from_utf8_lossy(&k).to_string();
            let value = serde_json::from_slice(&v)
                .map_err(|e| StateError::Corrupt(format!("{key}: {e}")))?;
            out.insert(key, value);
        }
        Ok(out)
    }
}

fn decode_serial(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

fn write_err(e: sled::Error) -> StateError {
    StateError::Write(e.to_string())
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(value).map_err(|e| StateError::Write(e.to_string()))
}

impl StateStore for SledStore {
    fn load(&self) -> Result<State, StateError> {
        let lineage = self
            .meta
            .get(LINEAGE)
            .map_err(|e| StateError::Corrupt(e.to_string()))?
            .map(|v| String::from_utf8_lossy(&v).to_string())
            .unwrap_or_default();
        let serial = self
            .meta
            .get(SERIAL)
            .map_err(|e| StateError::Corrupt(e.to_string()))?
            .map(|v| decode_serial(&v))
            .unwrap_or(0);
        Ok(State {
            lineage,
            serial,
            resources: Self::read_tree(&self.resources)?,
            outputs: Self::read_tree(&self.outputs)?,
            intents: Self::read_tree(&self.intents)?,
        })
    }

    fn put_resource(&self, r: &ResourceState) -> Result<(), StateError> {
        self.write(&self.resources, &r.addr, Some(json(r)?))
    }

    fn remove_resource(&self, addr: &str) -> Result<(), StateError> {
        self.write(&self.resources, addr, None)
    }

    fn put_outputs(&self, outputs: &BTreeMap<String, OutputState>) -> Result<(), StateError> {
        use sled::Transactional;
        let encoded: Vec<(String, Vec<u8>)> = outputs
            .iter()
            .map(|(k, v)| Ok((k.clone(), json(v)?)))
            .collect::<Result<_, StateError>>()?;
        let old: Vec<sled::IVec> = self
            .outputs
            .iter()
            .keys()
            .collect::<Result<_, _>>()
            .map_err(write_err)?;
        (&self.meta, &self.outputs)
            .transaction(|(meta, tree)| {
                let serial = meta.get(SERIAL)?.map(|v| decode_serial(&v)).unwrap_or(0);
                meta.insert(SERIAL, &(serial + 1).to_be_bytes())?;
                for key in &old {
                    tree.remove(key)?;
                }
                for (k, v) in &encoded {
                    tree.insert(k.as_bytes(), v.as_slice())?;
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StateError::Write(format!("{e:?}")))?;
        self.flush()
    }

    fn record_intent(&self, intent: &Intent) -> Result<(), StateError> {
        self.write(&self.intents, &intent.addr, Some(json(intent)?))
    }

    fn clear_intent(&self, addr: &str) -> Result<(), StateError> {
        self.write(&self.intents, addr, None)
    }

    fn replace(&self, state: &State) -> Result<(), StateError> {
        use sled::Transactional;
        let keys = |t: &sled::Tree| {
            t.iter()
                .keys()
                .collect::<Result<Vec<sled::IVec>, _>>()
                .map_err(write_err)
        };
        let (old_r, old_o, old_i) = (
            keys(&self.resources)?,
            keys(&self.outputs)?,
            keys(&self.intents)?,
        );
        let resources: Vec<(String, Vec<u8>)> = state
            .resources
            .iter()
            .map(|(k, v)| Ok((k.clone(), json(v)?)))
            .collect::<Result<_, StateError>>()?;
        let outputs: Vec<(String, Vec<u8>)> = state
            .outputs
            .iter()
            .map(|(k, v)| Ok((k.clone(), json(v)?)))
            .collect::<Result<_, StateError>>()?;
        (&self.meta, &self.resources, &self.outputs, &self.intents)
            .transaction(|(meta, res, out, int)| {
                let serial = meta.get(SERIAL)?.map(|v| decode_serial(&v)).unwrap_or(0);
                meta.insert(SERIAL, &(serial.max(state.serial) + 1).to_be_bytes())?;
                meta.insert(LINEAGE, state.lineage.as_bytes())?;
                for k in &old_r {
                    res.remove(k)?;
                }
                for k in &old_o {
                    out.remove(k)?;
                }
                for k in &old_i {
                    int.remove(k)?;
                }
                for (k, v) in &resources {
                    res.insert(k.as_bytes(), v.as_slice())?;
                }
                for (k, v) in &outputs {
                    out.insert(k.as_bytes(), v.as_slice())?;
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StateError::Write(format!("{e:?}")))?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(addr: &str) -> ResourceState {
        ResourceState {
            addr: addr.into(),
            type_name: "inferform_data".into(),
            provider: "inferform".into(),
            attributes: serde_json::json!({"id": addr}),
            dependencies: vec![],
            tainted: false,
            sensitive_paths: vec![],
        }
    }

    #[test]
    fn sled_store_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let lineage;
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.put_resource(&resource("a.b")).unwrap();
            store.put_resource(&resource("a.c")).unwrap();
            store.remove_resource("a.c").unwrap();
            store
                .record_intent(&Intent {
                    addr: "a.d".into(),
                    type_name: "t".into(),
                    provider: "p".into(),
                    planned: serde_json::json!({}),
                    dependencies: vec![],
                })
                .unwrap();
            let state = store.load().unwrap();
            lineage = state.lineage.clone();
            assert_eq!(state.serial, 4);
        }
        let store = SledStore::open(dir.path()).unwrap();
        let state = store.load().unwrap();
        assert_eq!(state.lineage, lineage);
        assert_eq!(state.resources.keys().collect::<Vec<_>>(), vec!["a.b"]);
        assert!(state.intents.contains_key("a.d"));
        assert_eq!(state.serial, 4);
    }

    #[test]
    fn replace_swaps_everything_and_moves_serial_forward() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        store.put_resource(&resource("a.old")).unwrap();
        let mut next = State {
            lineage: "other".into(),
            serial: 2,
            ..State::default()
        };
        next.resources.insert("a.new".into(), resource("a.new"));
        store.replace(&next).unwrap();
        let state = store.load().unwrap();
        assert_eq!(state.resources.keys().collect::<Vec<_>>(), vec!["a.new"]);
        assert_eq!(state.lineage, "other");
        assert!(state.serial > 2);
    }

    #[test]
    fn concurrent_writers_are_all_durable() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = std::sync::Arc::new(SledStore::open(dir.path()).unwrap());
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let store = store.clone();
                    std::thread::spawn(move || {
                        store.put_resource(&resource(&format!("a.r{i}"))).unwrap()
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
        }
        let state = SledStore::open(dir.path()).unwrap().load().unwrap();
        assert_eq!(state.resources.len(), 16);
        assert_eq!(state.serial, 16);
    }

    #[test]
    fn second_open_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _first = SledStore::open(dir.path()).unwrap();
        match SledStore::open(dir.path()) {
            Err(StateError::Locked { .. }) => {}
            Err(other) => panic!("expected Locked, got {other}"),
            Ok(_) => panic!("expected Locked, got a second store"),
        }
    }
}
