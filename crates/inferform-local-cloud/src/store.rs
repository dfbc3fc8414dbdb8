//! Objects of both clouds, their lazy lifecycle, and their persistence.
//!
//! Each object stores its current status, when that status began, and at most one scheduled
//! transition (`next`: at a given time, become this status, or disappear). Nothing runs in the
//! background: every access first applies the transitions that are due (found through a queue
//! ordered by time, so a call costs the same with ten objects or ten thousand). A file keeps
//! the object as its last explicit change left it, scheduled transition included, so loading
//! it replays the same transitions: a restart continues where the clock says, not where the
//! process was, and the clock's changes need no writes (only a file whose object the clock
//! removed is deleted, as housekeeping).
//!
//! # Persistence
//!
//! With a data folder, each object is one JSON file `{dir}/{kind}/{id}.json`, written to a
//! temporary file, synced, and renamed over the old one, so a crash leaves either the old or
//! the new version, never a torn file.
//!
//! The disk is not touched under the objects' lock. A change runs in memory under the lock,
//! takes the next sequence number, and hands a snapshot of what it touched to one writer
//! thread, in sequence order (the hand-over happens under the lock). The writer takes every
//! change waiting (group commit), keeps the last version of each object, writes and syncs
//! the files, renames them in sequence order, syncs the folders, and only then reports the
//! batch durable. A call answers only once its own change, and the last change to every
//! object it read (or found missing, or iterated over by kind), is durable. So no answer,
//! not even a read, shows state that a crash could still take back, and a client can only
//! build on objects that are on disk: an endpoint is never written before the workspace a
//! client saw it in. A read of objects with nothing pending answers at once.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{oneshot, watch};

use crate::Error;

/// The kinds of object, named after the inferform resource types (and, for Alaya's sibling
/// kinds, after their mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    FabricWorkspace,
    FabricEndpoint,
    FabricModel,
    FabricModelVersion,
    FabricServiceInstance,
    AlayaExpertDeployment,
    AlayaQuickStartDeployment,
    AlayaLoraDeployment,
}

impl Kind {
    pub(crate) const ALL: [Kind; 8] = [
        Kind::FabricWorkspace,
        Kind::FabricEndpoint,
        Kind::FabricModel,
        Kind::FabricModelVersion,
        Kind::FabricServiceInstance,
        Kind::AlayaExpertDeployment,
        Kind::AlayaQuickStartDeployment,
        Kind::AlayaLoraDeployment,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::FabricWorkspace => "fabric_workspace",
            Kind::FabricEndpoint => "fabric_endpoint",
            Kind::FabricModel => "fabric_model",
            Kind::FabricModelVersion => "fabric_model_version",
            Kind::FabricServiceInstance => "fabric_service_instance",
            Kind::AlayaExpertDeployment => "alaya_expert_deployment",
            Kind::AlayaQuickStartDeployment => "alaya_quick_start_deployment",
            Kind::AlayaLoraDeployment => "alaya_lora_deployment",
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
    /// With a data folder: the sequence number of the last change that wrote this object
    /// (whether or not it is on disk yet).
    #[serde(skip)]
    pub(crate) seq: u64,
    /// The order of creation, so that lists are oldest first even within one millisecond
    /// (0 for objects written before it was kept).
    #[serde(default)]
    pub(crate) order: u64,
    /// Unix milliseconds of creation, for the lag of list answers (0 for objects written
    /// before it was kept: those always show).
    #[serde(default)]
    pub(crate) created_ms: u64,
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
            seq: 0,
            order: 0,
            created_ms: now,
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
#[derive(Debug, Clone)]
pub(crate) struct WriteError(pub String);

/// How many changes the writer takes in one batch at most.
const MAX_BATCH: usize = 1024;

/// The objects, behind one lock, with their optional folder.
pub(crate) struct Store {
    inner: Mutex<Inner>,
    disk: Option<Disk>,
}

/// The data folder's writer: a thread fed in sequence order, and how far it has got.
struct Disk {
    /// `None` once the store is dropped, which lets the writer finish and stop.
    queue: Option<mpsc::Sender<Change>>,
    /// The sequence number of the last change on disk (or given up on, after a write error).
    durable: watch::Receiver<u64>,
    writer: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Inner {
    objects: BTreeMap<Kind, BTreeMap<String, Object>>,
    /// Every scheduled transition, by time: the sweep looks at the due ones only.
    due: BTreeSet<(u64, Kind, String)>,
    /// The time each object is queued under in `due`.
    scheduled: HashMap<(Kind, String), u64>,
    /// The sequence number of the last change handed to the writer.
    seq: u64,
    /// With a folder: the sequence number of the last change to any object of a kind,
    /// removals included (what a call that iterates over the kind has seen).
    kind_seq: HashMap<Kind, u64>,
    /// With a folder: the sequence numbers of recent removals, since a call that finds no
    /// object has seen the removal.
    removed: HashMap<Kind, HashMap<String, u64>>,
    removed_count: usize,
    /// The last creation order handed out.
    order: u64,
}

/// Past this many remembered removals, those already on disk are forgotten.
const MAX_REMOVED: usize = 4096;

/// One change for the writer: the touched objects as they are after it (`None`: removed).
struct Change {
    seq: u64,
    writes: Vec<(Kind, String, Option<Object>)>,
    done: oneshot::Sender<Result<(), WriteError>>,
}

/// What a call waits for before it answers.
enum Ticket {
    /// Nothing: no folder, or everything it could see is already on disk.
    Ready,
    /// Its own change.
    Written(oneshot::Receiver<Result<(), WriteError>>),
    /// Changes it may have seen, up to this sequence number.
    Seen(u64, watch::Receiver<u64>),
}

impl Ticket {
    async fn wait(self) -> Result<(), WriteError> {
        let stopped = || WriteError("the local cloud's data writer has stopped".into());
        match self {
            Ticket::Ready => Ok(()),
            Ticket::Written(rx) => rx.await.map_err(|_| stopped())?,
            Ticket::Seen(seq, mut rx) => rx
                .wait_for(|durable| *durable >= seq)
                .await
                .map(|_| ())
                .map_err(|_| stopped()),
        }
    }
}

/// A change under way: reads and writes of the objects, and the list of what to persist.
pub(crate) struct Txn<'a> {
    inner: &'a mut Inner,
    /// What the call itself changed: it waits for these.
    touched: Vec<(Kind, String)>,
    /// What the clock removed: the files go too, but nobody waits for that.
    swept: Vec<(Kind, String)>,
    /// Whether reads and writes are tracked (with a folder only).
    track: bool,
    /// The newest sequence number among what the call read.
    saw: Cell<u64>,
    pub now: u64,
}

impl Store {
    /// Opens the store, loading every object from `dir` when there is one, and starts the
    /// folder's writer thread.
    pub(crate) fn open(dir: Option<PathBuf>) -> Result<Store, Error> {
        let mut inner = Inner::default();
        let Some(dir) = dir else {
            return Ok(Store {
                inner: Mutex::new(inner),
                disk: None,
            });
        };
        for kind in Kind::ALL {
            let sub = dir.join(kind.name());
            let io = |source| Error::Io {
                path: sub.clone(),
                source,
            };
            fs::create_dir_all(&sub).map_err(io)?;
            for entry in fs::read_dir(&sub).map_err(io)? {
                let entry = entry.map_err(io)?;
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
                let obj: Object = serde_json::from_str(&text).map_err(|source| Error::Corrupt {
                    path: path.clone(),
                    source,
                })?;
                let key = (obj.kind, obj.id.clone());
                inner.order = inner.order.max(obj.order);
                inner
                    .objects
                    .entry(obj.kind)
                    .or_default()
                    .insert(obj.id.clone(), obj);
                inner.reschedule(key);
            }
        }
        let (queue, rx) = mpsc::channel();
        let (durable_tx, durable) = watch::channel(0);
        let writer_dir = dir.clone();
        let writer = std::thread::Builder::new()
            .name("local-cloud-writer".into())
            .spawn(move || writer(&writer_dir, rx, durable_tx))
            .map_err(|source| Error::Io { path: dir, source })?;
        Ok(Store {
            inner: Mutex::new(inner),
            disk: Some(Disk {
                queue: Some(queue),
                durable,
                writer: Some(writer),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-changed in a way that
        // matters more than refusing service would, so keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the objects after applying due transitions, atomically with respect to
    /// every other call, then waits until what it changed (or could have seen) is on disk.
    pub(crate) async fn tx<R>(&self, f: impl FnOnce(&mut Txn<'_>) -> R) -> Result<R, WriteError> {
        let (out, ticket) = self.run(f);
        ticket.wait().await?;
        Ok(out)
    }

    /// The in-memory part of [`Store::tx`]: the lock is held only here, never across the
    /// disk.
    fn run<R>(&self, f: impl FnOnce(&mut Txn<'_>) -> R) -> (R, Ticket) {
        let now = now_ms();
        let mut guard = self.lock();
        let seq = guard.seq + 1;
        let mut txn = Txn {
            inner: &mut guard,
            touched: Vec::new(),
            swept: Vec::new(),
            track: self.disk.is_some(),
            saw: Cell::new(0),
            now,
        };
        txn.sweep();
        let out = f(&mut txn);
        let saw = txn.saw.get();
        let mut touched = std::mem::take(&mut txn.touched);
        let mut swept = std::mem::take(&mut txn.swept);
        let mut seen = HashSet::new();
        touched.retain(|key| seen.insert(key.clone()));
        swept.retain(|key| !seen.contains(key));
        let inner = &mut *guard;
        // Whatever the change scheduled must be seen by the next sweep.
        for key in &touched {
            inner.reschedule(key.clone());
        }
        let (Some(disk), Some(queue)) = (
            &self.disk,
            self.disk.as_ref().and_then(|d| d.queue.as_ref()),
        ) else {
            return (out, Ticket::Ready);
        };
        let seen_ticket = |upto: u64| {
            if *disk.durable.borrow() >= upto {
                Ticket::Ready
            } else {
                Ticket::Seen(upto, disk.durable.clone())
            }
        };
        if touched.is_empty() && swept.is_empty() {
            return (out, seen_ticket(saw));
        }
        inner.seq = seq;
        let own = !touched.is_empty();
        let mut writes: Vec<(Kind, String, Option<Object>)> = swept
            .into_iter()
            .map(|(kind, id)| (kind, id, None))
            .collect();
        for (kind, id) in touched {
            inner.kind_seq.insert(kind, seq);
            let obj = match inner.objects.get_mut(&kind).and_then(|m| m.get_mut(&id)) {
                Some(obj) => {
                    obj.seq = seq;
                    Some(obj.clone())
                }
                None => {
                    inner
                        .removed
                        .entry(kind)
                        .or_default()
                        .insert(id.clone(), seq);
                    inner.removed_count += 1;
                    None
                }
            };
            writes.push((kind, id, obj));
        }
        if inner.removed_count > MAX_REMOVED {
            let durable = *disk.durable.borrow();
            for m in inner.removed.values_mut() {
                m.retain(|_, s| *s > durable);
            }
            inner.removed_count = inner.removed.values().map(HashMap::len).sum();
        }
        let (done, rx) = oneshot::channel();
        let change = Change { seq, writes, done };
        // Sent under the lock, so the writer receives changes in sequence order.
        let rx = match queue.send(change) {
            Ok(()) => rx,
            Err(mpsc::SendError(change)) => {
                let _ = change.done.send(Err(WriteError(
                    "the local cloud's data writer has stopped".into(),
                )));
                rx
            }
        };
        if own {
            (out, Ticket::Written(rx))
        } else {
            // Only the clock removed things: nothing to wait for but what the call read.
            (out, seen_ticket(saw))
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(disk) = &mut self.disk {
            // Closing the queue lets the writer finish what it holds, then stop.
            disk.queue = None;
            if let Some(writer) = disk.writer.take() {
                let _ = writer.join();
            }
        }
    }
}

impl Inner {
    /// Puts an object's scheduled transition (if any) in the due queue, replacing the old one.
    fn reschedule(&mut self, key: (Kind, String)) {
        let at = self
            .objects
            .get(&key.0)
            .and_then(|m| m.get(&key.1))
            .and_then(|o| o.next.as_ref())
            .map(|n| n.at_ms);
        let old = self.scheduled.get(&key).copied();
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.due.remove(&(old, key.0, key.1.clone()));
            self.scheduled.remove(&key);
        }
        if let Some(at) = at {
            self.due.insert((at, key.0, key.1.clone()));
            self.scheduled.insert(key, at);
        }
    }
}

/// The writer thread: takes every change waiting, writes the last version of each object,
/// and reports the batch.
fn writer(dir: &Path, rx: mpsc::Receiver<Change>, durable: watch::Sender<u64>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(change) => batch.push(change),
                Err(_) => break,
            }
        }
        let last = batch.last().map(|c| c.seq).unwrap_or(0);
        let mut writes: Vec<(Kind, String, Option<Object>)> = Vec::new();
        let mut dones = Vec::with_capacity(batch.len());
        for change in batch {
            writes.extend(change.writes);
            dones.push(change.done);
        }
        let result = write_batch(dir, writes);
        for done in dones {
            let _ = done.send(result.clone());
        }
        durable.send_replace(last);
    }
}

/// Writes a batch: the last version of each object, each through a synced temporary file,
/// renamed in the order of the changes, then the folders synced.
fn write_batch(dir: &Path, writes: Vec<(Kind, String, Option<Object>)>) -> Result<(), WriteError> {
    // The last version of each object wins; it keeps the place of its last change.
    let mut last: HashMap<(Kind, String), usize> = HashMap::new();
    for (i, (kind, id, _)) in writes.iter().enumerate() {
        last.insert((*kind, id.clone()), i);
    }
    let mut steps = Vec::with_capacity(last.len());
    for (i, (kind, id, obj)) in writes.into_iter().enumerate() {
        if last.get(&(kind, id.clone())) != Some(&i) {
            continue;
        }
        let path = dir.join(kind.name()).join(format!("{id}.json"));
        steps.push((kind, path, obj));
    }
    // Syncing a file mostly waits on the disk, so the files are written by a few threads at
    // once: their waits overlap, and the file system can commit them together.
    let tmps = write_all_synced(&steps)?;
    let steps: Vec<(Kind, PathBuf, Option<PathBuf>)> = steps
        .into_iter()
        .zip(tmps)
        .map(|((kind, path, _), tmp)| (kind, path, tmp))
        .collect();
    let mut folders = BTreeSet::new();
    for (kind, path, tmp) in steps {
        folders.insert(kind);
        match tmp {
            Some(tmp) => fs::rename(&tmp, &path).map_err(|e| {
                let _ = fs::remove_file(&tmp);
                WriteError(format!("cannot write {}: {e}", path.display()))
            })?,
            None => match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(WriteError(format!("cannot remove {}: {e}", path.display()))),
            },
        }
    }
    for kind in folders {
        // Make the renames durable; not every platform can open a folder, so this is best
        // effort.
        if let Ok(d) = fs::File::open(dir.join(kind.name())) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// How many threads write one batch's files at most.
const WRITER_THREADS: usize = 8;

/// Writes each object (those that are not removals) to a synced temporary file beside its
/// path, several at a time; gives the temporary files' paths, in order. On an error, the
/// temporary files already written are removed.
fn write_all_synced(
    steps: &[(Kind, PathBuf, Option<Object>)],
) -> Result<Vec<Option<PathBuf>>, WriteError> {
    let one = |(_, path, obj): &(Kind, PathBuf, Option<Object>)| match obj {
        Some(obj) => write_synced(path, obj).map(Some),
        None => Ok(None),
    };
    let results: Vec<Result<Option<PathBuf>, WriteError>> = if steps.len() <= 1 {
        steps.iter().map(one).collect()
    } else {
        let per = steps.len().div_ceil(WRITER_THREADS);
        std::thread::scope(|scope| {
            let handles: Vec<_> = steps
                .chunks(per)
                .map(|chunk| scope.spawn(move || chunk.iter().map(one).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![Err(WriteError("a writer thread panicked".into()))]
                    })
                })
                .collect()
        })
    };
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        let e = e.clone();
        for tmp in results.into_iter().flatten().flatten() {
            let _ = fs::remove_file(tmp);
        }
        return Err(e);
    }
    Ok(results.into_iter().map(|r| r.ok().flatten()).collect())
}

/// Writes `obj` beside `path` in a synced temporary file, and gives that file's path.
fn write_synced(path: &Path, obj: &Object) -> Result<PathBuf, WriteError> {
    let err = |e: std::io::Error| WriteError(format!("cannot write {}: {e}", path.display()));
    let text = serde_json::to_vec_pretty(obj)
        .map_err(|e| WriteError(format!("cannot encode object {}: {e}", obj.id)))?;
    let tmp = path.with_extension(format!("json.tmp{}", uuid::Uuid::new_v4().simple()));
    let written = fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(&text)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(tmp)
}

impl Txn<'_> {
    /// Applies every transition that is due, taking them from the due queue in time order.
    fn sweep(&mut self) {
        let now = self.now;
        while let Some((at, kind, id)) = self.inner.due.first().cloned() {
            if at > now {
                break;
            }
            self.inner.due.pop_first();
            let key = (kind, id);
            self.inner.scheduled.remove(&key);
            let Some(map) = self.inner.objects.get_mut(&kind) else {
                continue;
            };
            let Some(obj) = map.get_mut(&key.1) else {
                continue;
            };
            // A chain of transitions may all be due (e.g. after a long stop).
            let mut gone = false;
            loop {
                match obj.advance(now) {
                    Advance::Unchanged => break,
                    Advance::Changed => {}
                    Advance::Gone => {
                        gone = true;
                        break;
                    }
                }
            }
            // The file is not rewritten: the version on disk holds the transition, so it
            // reaches the same state whenever it is loaded, and nobody waits for the clock.
            // Only a file whose object is gone is removed, as housekeeping.
            if gone {
                map.remove(&key.1);
                self.swept.push(key.clone());
            }
            self.inner.reschedule(key);
        }
    }

    /// Notes that the call read something last changed by change `seq`.
    fn saw(&self, seq: u64) {
        if seq > self.saw.get() {
            self.saw.set(seq);
        }
    }

    pub(crate) fn get(&self, kind: Kind, id: &str) -> Option<&Object> {
        let found = self.inner.objects.get(&kind).and_then(|m| m.get(id));
        if self.track {
            match found {
                Some(obj) => self.saw(obj.seq),
                None => {
                    let removed = self.inner.removed.get(&kind).and_then(|m| m.get(id));
                    self.saw(removed.copied().unwrap_or(0));
                }
            }
        }
        found
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

    /// A mutable object whose change need not survive a restart (the time of the last
    /// invocation, say): it is not written, and the call does not wait for the disk.
    pub(crate) fn get_mut_volatile(&mut self, kind: Kind, id: &str) -> Option<&mut Object> {
        self.inner.objects.get_mut(&kind)?.get_mut(id)
    }

    pub(crate) fn insert(&mut self, mut obj: Object) {
        if obj.order == 0 {
            self.inner.order += 1;
            obj.order = self.inner.order;
        }
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
        if self.track {
            self.saw(self.inner.kind_seq.get(&kind).copied().unwrap_or(0));
        }
        self.inner
            .objects
            .get(&kind)
            .into_iter()
            .flat_map(|m| m.values())
    }

    /// Every object of a kind, oldest first (by creation), so that pages are stable.
    pub(crate) fn oldest_first(&self, kind: Kind) -> impl Iterator<Item = &Object> {
        let mut all: Vec<&Object> = self.iter(kind).collect();
        all.sort_by(|a, b| {
            (a.order, a.str("create_time"), a.id.as_str()).cmp(&(
                b.order,
                b.str("create_time"),
                b.id.as_str(),
            ))
        });
        all.into_iter()
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

    #[tokio::test]
    async fn transitions_apply_lazily_and_chain() {
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
            .await
            .expect("tx");
        let status = store
            .tx(|t| t.get(Kind::FabricEndpoint, "e1").map(|o| o.status.clone()))
            .await
            .expect("tx");
        assert_eq!(status.as_deref(), Some("RUNNING"));
        store
            .tx(|t| {
                if let Some(o) = t.get_mut(Kind::FabricEndpoint, "e1") {
                    o.begin("DELETING", 0, 0, GONE);
                }
            })
            .await
            .expect("tx");
        let gone = store
            .tx(|t| t.get(Kind::FabricEndpoint, "e1").is_none())
            .await
            .expect("tx");
        assert!(gone);
    }

    #[tokio::test]
    async fn objects_survive_a_reopen_and_temp_files_are_ignored() {
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
                .await
                .expect("tx");
            store
                .tx(|t| {
                    t.remove(Kind::FabricWorkspace, "w2");
                })
                .await
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
            .await
            .expect("tx");
        assert_eq!(names, vec!["a".to_owned()]);
        assert!(!torn.exists());
        let _ = fs::remove_dir_all(&dir);
    }

    fn on_disk(dir: &Path, kind: Kind, id: &str) -> Option<Object> {
        let text = fs::read_to_string(dir.join(kind.name()).join(format!("{id}.json"))).ok()?;
        serde_json::from_str(&text).ok()
    }

    #[tokio::test]
    async fn concurrent_changes_to_one_object_leave_the_last_on_disk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = std::sync::Arc::new(Store::open(Some(dir.path().to_owned())).expect("open"));
        store
            .tx(|t| {
                let o = Object::new(Kind::FabricWorkspace, "w".into(), body("0"), "", t.now);
                t.insert(o);
            })
            .await
            .expect("tx");
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .tx(|t| {
                        if let Some(o) = t.get_mut(Kind::FabricWorkspace, "w") {
                            let n: u32 = o.str("name").parse().unwrap_or(0);
                            o.body
                                .insert("name".into(), Value::from((n + 1).to_string()));
                        }
                    })
                    .await
            }));
        }
        for task in tasks {
            task.await.expect("task").expect("tx");
        }
        let in_memory = store
            .tx(|t| {
                t.get(Kind::FabricWorkspace, "w")
                    .map(|o| o.str("name").to_owned())
            })
            .await
            .expect("tx");
        assert_eq!(in_memory.as_deref(), Some("200"));
        let disk = on_disk(dir.path(), Kind::FabricWorkspace, "w").expect("the file");
        assert_eq!(disk.str("name"), "200", "the newest version wins on disk");
        drop(store);
        let names: Vec<String> = std::fs::read_dir(dir.path().join("fabric_workspace"))
            .expect("folder")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            vec!["w.json".to_owned()],
            "no temporary file is left"
        );
    }

    #[tokio::test]
    async fn what_a_read_shows_survives_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(Some(dir.path().to_owned())).expect("open");
        store
            .tx(|t| {
                let mut o = Object::new(Kind::FabricEndpoint, "e".into(), body("a"), "", t.now);
                o.begin("CREATING", t.now, 30, "RUNNING");
                t.insert(o);
                let mut gone = Object::new(Kind::FabricEndpoint, "g".into(), body("b"), "", t.now);
                gone.begin("DELETING", t.now, 30, GONE);
                t.insert(gone);
            })
            .await
            .expect("tx");
        // Answered only once on disk.
        let on_file = on_disk(dir.path(), Kind::FabricEndpoint, "e").expect("the file");
        assert_eq!(on_file.status, "CREATING");
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        // This read applies both transitions in memory; the clock's changes are not written,
        // since the files replay them.
        let (status, gone) = store
            .tx(|t| {
                (
                    t.get(Kind::FabricEndpoint, "e").map(|o| o.status.clone()),
                    t.get(Kind::FabricEndpoint, "g").is_none(),
                )
            })
            .await
            .expect("tx");
        assert_eq!(status.as_deref(), Some("RUNNING"));
        assert!(gone);
        drop(store);
        assert!(
            on_disk(dir.path(), Kind::FabricEndpoint, "g").is_none(),
            "the removed object's file is cleaned up"
        );
        let store = Store::open(Some(dir.path().to_owned())).expect("reopen");
        let (status, gone) = store
            .tx(|t| {
                (
                    t.get(Kind::FabricEndpoint, "e").map(|o| o.status.clone()),
                    t.get(Kind::FabricEndpoint, "g").is_none(),
                )
            })
            .await
            .expect("tx");
        assert_eq!(
            status.as_deref(),
            Some("RUNNING"),
            "the same as before the restart"
        );
        assert!(gone);
    }

    #[tokio::test]
    async fn only_due_transitions_are_applied() {
        let store = Store::open(None).expect("memory store");
        store
            .tx(|t| {
                for i in 0..1000 {
                    let mut o = Object::new(
                        Kind::FabricEndpoint,
                        format!("e{i:04}"),
                        body("x"),
                        "",
                        t.now,
                    );
                    // Half are due at once, half in an hour.
                    let after = if i % 2 == 0 { 0 } else { 3_600_000 };
                    o.begin("CREATING", t.now, after, "RUNNING");
                    t.insert(o);
                }
            })
            .await
            .expect("tx");
        let running = store
            .tx(|t| {
                t.iter(Kind::FabricEndpoint)
                    .filter(|o| o.status == "RUNNING")
                    .count()
            })
            .await
            .expect("tx");
        assert_eq!(running, 500);
    }
}
