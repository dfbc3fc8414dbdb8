//! Objects of both clouds, their lazy lifecycle, and their persistence.
//!
//! Each object stores its current status, when that status began, and at most one scheduled
//! transition (`next`: at a given time, become this status, or disappear). Nothing runs in the
//! background: every access first applies the transitions that are due, and persists them. A
//! restart therefore continues where the clock says, not where the process was.
//!
//! With a data folder, each object is one JSON file `{dir}/{kind}/{id}.json`, written to a
//! temporary file, synced, and renamed over the old one, so a crash leaves either the old or
//! the new version, never a torn file.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;

/// The kinds of object, named after the inferform resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    FabricWorkspace,
    FabricEndpoint,
    FabricModel,
    FabricModelVersion,
    FabricServiceInstance,
    AlayaExpertDeployment,
}

impl Kind {
    pub(crate) const ALL: [Kind; 6] = [
        Kind::FabricWorkspace,
        Kind::FabricEndpoint,
        Kind::FabricModel,
        Kind::FabricModelVersion,
        Kind::FabricServiceInstance,
        Kind::AlayaExpertDeployment,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::FabricWorkspace => "fabric_workspace",
            Kind::FabricEndpoint => "fabric_endpoint",
            Kind::FabricModel => "fabric_model",
            Kind::FabricModelVersion => "fabric_model_version",
            Kind::FabricServiceInstance => "fabric_service_instance",
            Kind::AlayaExpertDeployment => "alaya_expert_deployment",
        }
    }
}

/// The status name a transition uses to say "the object is gone".
pub(crate) const GONE: &str = "";

/// An error carried by a failed object (`error_code`, `error_msg`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ObjError {
    pub code: String,
    pub msg: String,
}

/// A scheduled status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Transition {
    /// Unix milliseconds at which it happens.
    pub at_ms: u64,
    /// The new status, or [`GONE`].
    pub to: String,
    /// Fields merged (top level, replacing) into the body when it happens (updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<Map<String, Value>>,
    /// The error the object carries afterwards (failed creates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ObjError>,
}

/// One object of either cloud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Object {
    pub kind: Kind,
    pub id: String,
    /// The API fields, as the cloud shows them, less the status and error fields.
    pub body: Map<String, Value>,
    pub status: String,
    /// Unix milliseconds at which `status` began.
    pub since_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Transition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ObjError>,
    /// Unix milliseconds of the last invocation (Alaya scale to zero).
    #[serde(default)]
    pub last_used_ms: u64,
}

impl Object {
    pub(crate) fn new(
        kind: Kind,
        id: String,
        body: Map<String, Value>,
        status: &str,
        now: u64,
    ) -> Self {
        Object {
            kind,
            id,
            body,
            status: status.to_owned(),
            since_ms: now,
            next: None,
            error: None,
            last_used_ms: now,
        }
    }

    /// A string field of the body, or "".
    pub(crate) fn str(&self, field: &str) -> &str {
        self.body.get(field).and_then(Value::as_str).unwrap_or("")
    }

    /// Schedules `to` after `after_ms` from `now`, starting status `status` now.
    pub(crate) fn begin(&mut self, status: &str, now: u64, after_ms: u64, to: &str) {
        self.status = status.to_owned();
        self.since_ms = now;
        self.next = Some(Transition {
            at_ms: now.saturating_add(after_ms),
            to: to.to_owned(),
            merge: None,
            error: None,
        });
    }

    /// Applies the scheduled transition if it is due; `false` when the object is now gone.
    fn advance(&mut self, now: u64) -> Advance {
        let Some(next) = &self.next else {
            return Advance::Unchanged;
        };
        if next.at_ms > now {
            return Advance::Unchanged;
        }
        let Some(next) = self.next.take() else {
            return Advance::Unchanged;
        };
        if next.to == GONE {
            return Advance::Gone;
        }
        self.status = next.to;
        self.since_ms = next.at_ms;
        if let Some(merge) = next.merge {
            for (k, v) in merge {
                self.body.insert(k, v);
            }
        }
        self.error = next.error;
        Advance::Changed
    }
}

enum Advance {
    Unchanged,
    Changed,
    Gone,
}

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A failure to write an object to the data folder.
#[derive(Debug)]
pub(crate) struct WriteError(pub String);

/// The objects, behind one lock, with their optional folder.
pub(crate) struct Store {
    dir: Option<PathBuf>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    objects: BTreeMap<Kind, BTreeMap<String, Object>>,
    /// The earliest scheduled transition, so that a sweep with nothing due costs nothing.
    next_due: u64,
}

/// A change under way: reads and writes of the objects, and the list of what to persist.
pub(crate) struct Txn<'a> {
    inner: &'a mut Inner,
    touched: Vec<(Kind, String)>,
    pub now: u64,
}

impl Store {
    /// Opens the store, loading every object from `dir` when there is one.
    pub(crate) fn open(dir: Option<PathBuf>) -> Result<Store, Error> {
        let mut inner = Inner::default();
        if let Some(dir) = &dir {
            for kind in Kind::ALL {
                let sub = dir.join(kind.name());
                fs::create_dir_all(&sub).map_err(|source| Error::Io {
                    path: sub.clone(),
                    source,
                })?;
                let entries = fs::read_dir(&sub).map_err(|source| Error::Io {
                    path: sub.clone(),
                    source,
                })?;
                for entry in entries {
                    let entry = entry.map_err(|source| Error::Io {
                        path: sub.clone(),
                        source,
                    })?;
                    let path = entry.path();
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.contains(".tmp") {
                        // A write that a crash interrupted before its rename: the object file
                        // beside it (if any) is still the previous, whole version.
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if !name.ends_with(".json") {
                        continue;
                    }
                    let text = fs::read_to_string(&path).map_err(|source| Error::Io {
                        path: path.clone(),
                        source,
                    })?;
                    let obj: Object =
                        serde_json::from_str(&text).map_err(|source| Error::Corrupt {
                            path: path.clone(),
                            source,
                        })?;
                    inner
                        .objects
                        .entry(obj.kind)
                        .or_default()
                        .insert(obj.id.clone(), obj);
                }
            }
        }
        inner.next_due = 0;
        Ok(Store {
            dir,
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-changed in a way that
        // matters more than refusing service would, so keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the objects after applying due transitions, then persists what changed.
    /// The lock is held throughout, so each call is atomic with respect to the others.
    pub(crate) fn tx<R>(&self, f: impl FnOnce(&mut Txn<'_>) -> R) -> Result<R, WriteError> {
        let now = now_ms();
        let mut guard = self.lock();
        let mut txn = Txn {
            inner: &mut guard,
            touched: Vec::new(),
            now,
        };
        txn.sweep();
        let out = f(&mut txn);
        let touched = std::mem::take(&mut txn.touched);
        // Whatever the change scheduled must be seen by the next sweep.
        for (kind, id) in &touched {
            let due = guard
                .objects
                .get(kind)
                .and_then(|m| m.get(id))
                .and_then(|o| o.next.as_ref())
                .map(|n| n.at_ms);
            if let Some(at) = due {
                guard.next_due = guard.next_due.min(at);
            }
        }
        if let Some(dir) = &self.dir {
            let mut seen = std::collections::HashSet::new();
            for (kind, id) in touched {
                if !seen.insert((kind, id.clone())) {
                    continue;
                }
                let path = dir.join(kind.name()).join(format!("{id}.json"));
                match guard.objects.get(&kind).and_then(|m| m.get(&id)) {
                    Some(obj) => write_atomic(&path, obj)?,
                    None => match fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(WriteError(format!(
                                "cannot remove {}: {e}",
                                path.display()
                            )))
                        }
                    },
                }
            }
        }
        Ok(out)
    }
}

/// Writes `obj` to `path` through a synced temporary file and a rename.
fn write_atomic(path: &Path, obj: &Object) -> Result<(), WriteError> {
    let err = |e: std::io::Error| WriteError(format!("cannot write {}: {e}", path.display()));
    let text = serde_json::to_vec_pretty(obj)
        .map_err(|e| WriteError(format!("cannot encode object {}: {e}", obj.id)))?;
    let tmp = path.with_extension(format!("json.tmp{}", uuid::Uuid::new_v4().simple()));
    let mut file = fs::File::create(&tmp).map_err(err)?;
    file.write_all(&text).map_err(err)?;
    file.sync_all().map_err(err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(err)?;
    if let Some(parent) = path.parent() {
        // Make the rename itself durable; not every platform can open a folder, so this is
        // best effort.
        if let Ok(d) = fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl Txn<'_> {
    /// Applies every transition that is due.
    fn sweep(&mut self) {
        if self.inner.next_due > self.now {
            return;
        }
        let now = self.now;
        let mut next_due = u64::MAX;
        let mut touched = Vec::new();
        for (kind, map) in self.inner.objects.iter_mut() {
            let mut gone = Vec::new();
            for (id, obj) in map.iter_mut() {
                // A chain of transitions may all be due (e.g. after a long stop).
                loop {
                    match obj.advance(now) {
                        Advance::Unchanged => break,
                        Advance::Changed => touched.push((*kind, id.clone())),
                        Advance::Gone => {
                            gone.push(id.clone());
                            break;
                        }
                    }
                }
                if let Some(n) = &obj.next {
                    next_due = next_due.min(n.at_ms);
                }
            }
            for id in gone {
                map.remove(&id);
                touched.push((*kind, id));
            }
        }
        self.inner.next_due = next_due;
        self.touched.extend(touched);
    }

    pub(crate) fn get(&self, kind: Kind, id: &str) -> Option<&Object> {
        self.inner.objects.get(&kind).and_then(|m| m.get(id))
    }

    /// A mutable object; it will be persisted.
    pub(crate) fn get_mut(&mut self, kind: Kind, id: &str) -> Option<&mut Object> {
        let obj = self
            .inner
            .objects
            .get_mut(&kind)
            .and_then(|m| m.get_mut(id))?;
        self.touched.push((kind, id.to_owned()));
        Some(obj)
    }

    pub(crate) fn insert(&mut self, obj: Object) {
        self.touched.push((obj.kind, obj.id.clone()));
        self.inner
            .objects
            .entry(obj.kind)
            .or_default()
            .insert(obj.id.clone(), obj);
    }

    pub(crate) fn remove(&mut self, kind: Kind, id: &str) -> Option<Object> {
        let obj = self.inner.objects.get_mut(&kind)?.remove(id)?;
        self.touched.push((kind, id.to_owned()));
        Some(obj)
    }

    /// Every object of a kind, in id order.
    pub(crate) fn iter(&self, kind: Kind) -> impl Iterator<Item = &Object> {
        self.inner
            .objects
            .get(&kind)
            .into_iter()
            .flat_map(|m| m.values())
    }

    /// Removes every object.
    pub(crate) fn clear(&mut self) {
        let all: Vec<(Kind, String)> = self
            .inner
            .objects
            .iter()
            .flat_map(|(k, m)| m.keys().map(move |id| (*k, id.clone())))
            .collect();
        self.inner.objects.clear();
        self.touched.extend(all);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(name: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(name.into()));
        m
    }

    #[test]
    fn transitions_apply_lazily_and_chain() {
        let store = Store::open(None).expect("memory store");
        store
            .tx(|t| {
                let mut o = Object::new(
                    Kind::FabricEndpoint,
                    "e1".into(),
                    body("a"),
                    "CREATING",
                    t.now,
                );
                o.begin("CREATING", t.now - 100, 10, "RUNNING");
                t.insert(o);
            })
            .expect("tx");
        let status = store
            .tx(|t| t.get(Kind::FabricEndpoint, "e1").map(|o| o.status.clone()))
            .expect("tx");
        assert_eq!(status.as_deref(), Some("RUNNING"));
        store
            .tx(|t| {
                if let Some(o) = t.get_mut(Kind::FabricEndpoint, "e1") {
                    o.begin("DELETING", 0, 0, GONE);
                }
            })
            .expect("tx");
        let gone = store
            .tx(|t| t.get(Kind::FabricEndpoint, "e1").is_none())
            .expect("tx");
        assert!(gone);
    }

    #[test]
    fn objects_survive_a_reopen_and_temp_files_are_ignored() {
        let dir = std::env::temp_dir().join(format!("ifl-store-{}", uuid::Uuid::new_v4().simple()));
        {
            let store = Store::open(Some(dir.clone())).expect("open");
            store
                .tx(|t| {
                    t.insert(Object::new(
                        Kind::FabricWorkspace,
                        "w1".into(),
                        body("a"),
                        "",
                        t.now,
                    ));
                    t.insert(Object::new(
                        Kind::FabricWorkspace,
                        "w2".into(),
                        body("b"),
                        "",
                        t.now,
                    ));
                })
                .expect("tx");
            store
                .tx(|t| {
                    t.remove(Kind::FabricWorkspace, "w2");
                })
                .expect("tx");
        }
        // A torn write from a crash: the temporary file is ignored and removed.
        let torn = dir.join("fabric_workspace").join("w3.json.tmpdeadbeef");
        fs::write(&torn, b"{\"kind\": ").expect("write torn file");
        let store = Store::open(Some(dir.clone())).expect("reopen");
        let names: Vec<String> = store
            .tx(|t| {
                t.iter(Kind::FabricWorkspace)
                    .map(|o| o.str("name").to_owned())
                    .collect()
            })
            .expect("tx");
        assert_eq!(names, vec!["a".to_owned()]);
        assert!(!torn.exists());
        let _ = fs::remove_dir_all(&dir);
    }
}
