//! State in an embedded sled database: one record per resource, output and intent, each write a
//! transaction that also bumps the serial, flushed before returning.
//!
//! Every record goes through the store's [`Sealer`]: with encryption on, a record's key in
//! sled is an HMAC of its name and its value a sealed blob, so nothing a configuration or a
//! cloud said is in the files; the meta tree (lineage, serial, format version, the id of the
//! key everything is sealed with) holds none of that and stays clear, since it is needed
//! before any key is.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::encryption::{Records, Sealer, CLEAR};
use crate::{
    Change, HistoryEntry, Intent, OutputState, ResourceState, State, StateError, StateStore,
    FORMAT_VERSION,
};

/// State in an embedded sled database. sled holds an exclusive file lock on the database, so a
/// second process gets [`StateError::Locked`] instead of a corrupted state.
pub struct SledStore {
    db: sled::Db,
    meta: sled::Tree,
    resources: sled::Tree,
    outputs: sled::Tree,
    intents: sled::Tree,
    /// Snapshots by serial (big-endian, so the tree's order is the history's order).
    history: sled::Tree,
    sync: GroupCommit,
    sealer: Arc<Sealer>,
    /// The workspace, bound into every sealed record.
    workspace: String,
    /// The lineage, cached: bound into every sealed record and the seed of its key.
    lineage: RwLock<String>,
    /// Whether every record is known to be sealed with the current write key. Until it is,
    /// the first write re-seals them all (a key rotation, or a migration into or out of
    /// encryption, completes there).
    settled: Mutex<bool>,
    /// Writes hold it shared while their transaction runs; reading the whole state holds it
    /// exclusively. sled cannot iterate inside a transaction, so this is what makes a loaded
    /// state (and a history snapshot) one consistent moment rather than trees read at
    /// different times while other writers go on.
    gate: RwLock<()>,
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

/// How long a lock that looks held is given to go (see [`SledStore::open`]).
const RELEASE_GRACE: Duration = Duration::from_millis(500);

const LINEAGE: &[u8] = b"lineage";
const SERIAL: &[u8] = b"serial";
const VERSION: &[u8] = b"format_version";
/// The id of the key every record is sealed with (`clear`, or a key check); a store without
/// it predates encryption and is clear.
const SEALED_WITH: &[u8] = b"sealed_with";

/// A history record: the entry and the state it describes.
#[derive(Serialize, Deserialize)]
struct HistoryRecord {
    entry: HistoryEntry,
    snapshot: State,
}

type TxResult = Result<(), sled::transaction::ConflictableTransactionError<()>>;

impl SledStore {
    /// Opens (creating if needed) the state database in `dir`.
    ///
    /// A database that cannot be read is never written: opening it fails with
    /// [`StateError::Damaged`] and leaves its files as they were, with one exception, which is
    /// recovery rather than a change: a torn snapshot file (see [`discard_torn_snapshots`]).
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        Self::open_sealed(
            dir,
            crate::DEFAULT_WORKSPACE,
            Arc::new(Sealer::clear("state")),
        )
    }

    /// Opens the state of `workspace` in `dir`, its records sealed and opened by `sealer`. The
    /// directory and every file in it are made private to their owner: sled creates its files
    /// with the process's umask, and a directory from an older inferform may be 0755.
    pub fn open_sealed(
        dir: &Path,
        workspace: &str,
        sealer: Arc<Sealer>,
    ) -> Result<Self, StateError> {
        let path = dir.display().to_string();
        // Whether the directory already held a database, decided before sled touches it: a
        // database that held one but opens without a lineage is damaged, not new.
        let existed = held_a_database(dir);
        let try_open = || {
            sled::Config::new().path(dir).open().map_err(|e| {
                let message = describe(&e);
                if matches!(e, sled::Error::Corruption { .. }) {
                    StateError::Damaged {
                        path: path.clone(),
                        detail: message,
                    }
                } else if message.contains("lock")
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
            })
        };
        // sled lets go of its file lock a moment after the database is dropped (its I/O
        // threads close the file last), so opening again straight after closing, in the same
        // process, can find it still locked: give that moment before calling it locked.
        let grace = Instant::now() + RELEASE_GRACE;
        let mut recovered = false;
        let db = loop {
            match try_open() {
                Err(StateError::Locked { .. }) if Instant::now() < grace => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                // sled reads a snapshot before anything else, holding the database's lock, so
                // a failure here means no other process is writing one: a torn one is left over.
                Err(StateError::Damaged { .. })
                    if !recovered && discard_torn_snapshots(dir) > 0 =>
                {
                    recovered = true;
                }
                other => break other?,
            }
        };
        let open = |name: &str| {
            db.open_tree(name).map_err(|e| StateError::Open {
                path: path.clone(),
                message: describe(&e),
            })
        };
        let store = SledStore {
            meta: open("meta")?,
            resources: open("resources")?,
            outputs: open("outputs")?,
            intents: open("intents")?,
            history: open("history")?,
            db,
            sync: GroupCommit::default(),
            sealer,
            workspace: workspace.to_string(),
            lineage: RwLock::new(String::new()),
            settled: Mutex::new(false),
            gate: RwLock::new(()),
        };
        let lineage = store.meta.get(LINEAGE).map_err(read_err)?;
        if lineage.is_none() && existed {
            // sled reads a log it cannot make sense of as an empty database. Writing a new
            // lineage into it would turn a damaged state into an empty one that the next apply
            // fills with duplicates of everything: refuse, and write nothing.
            return Err(StateError::Damaged {
                path,
                detail:
                    "its database holds no state record (no lineage), though its files are there"
                        .into(),
            });
        }
        match store.meta.get(VERSION).map_err(read_err)? {
            Some(v) => {
                let found = v
                    .as_ref()
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| StateError::Corrupt("the format version".into()))?;
                if found > FORMAT_VERSION {
                    return Err(StateError::TooNew {
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
                // Opened by this version from now on: an older one must refuse it.
                if found < FORMAT_VERSION {
                    store
                        .meta
                        .insert(VERSION, &FORMAT_VERSION.to_be_bytes())
                        .map_err(write_err)?;
                }
            }
            None => {
                // A new store, or one from before versions were recorded (which is version 1).
                store
                    .meta
                    .insert(VERSION, &FORMAT_VERSION.to_be_bytes())
                    .map_err(write_err)?;
            }
        }
        let lineage = match lineage {
            Some(l) => String::from_utf8_lossy(&l).to_string(),
            None => {
                let lineage = uuid::Uuid::new_v4().to_string();
                let sealed_with = store.records(&lineage).write_id()?;
                store
                    .meta
                    .insert(LINEAGE, lineage.as_bytes())
                    .map_err(write_err)?;
                store
                    .meta
                    .insert(SERIAL, &0u64.to_be_bytes())
                    .map_err(write_err)?;
                store
                    .meta
                    .insert(SEALED_WITH, sealed_with.as_bytes())
                    .map_err(write_err)?;
                lineage
            }
        };
        *store.lineage.write().unwrap_or_else(|p| p.into_inner()) = lineage;
        store.flush()?;
        make_private(dir);
        Ok(store)
    }

    fn records<'a>(&'a self, lineage: &'a str) -> Records<'a> {
        Records::new(&self.sealer, &self.workspace, lineage)
    }

    fn lineage(&self) -> String {
        self.lineage
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Before the first write: if records may be sealed with another key than the write key
    /// (or be clear where writes are sealed, or the other way round), opens every one and
    /// writes it again with the write key, history included, in one transaction. A rotation
    /// or migration thus completes with the first command that writes, and a store is never
    /// left half in one key and half in another by a write.
    fn settle(&self) -> Result<(), StateError> {
        let mut settled = self.settled.lock().unwrap_or_else(|p| p.into_inner());
        if *settled {
            return Ok(());
        }
        let _exclusive = self.gate.write().unwrap_or_else(|p| p.into_inner());
        let lineage = self.lineage();
        let records = self.records(&lineage);
        let write_id = records.write_id()?;
        let sealed_with = self
            .meta
            .get(SEALED_WITH)
            .map_err(read_err)?
            .map(|v| String::from_utf8_lossy(&v).to_string())
            .unwrap_or_else(|| CLEAR.to_string());
        if sealed_with == write_id {
            *settled = true;
            return Ok(());
        }
        let state = self.load_locked()?;
        let history: Vec<(sled::IVec, Vec<u8>)> = self
            .history
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(read_err)?;
                let serial = decode_serial(&k).to_string();
                let history = records.history();
                let record: HistoryRecord = history
                    .open("history", &serial, &v, &write_id)
                    .map(|o| o.value)?;
                Ok((k, history.seal("history", &serial, &serial, &record)?))
            })
            .collect::<Result<_, StateError>>()?;
        let encoded = [
            encode_map(&records, "resource", &state.resources)?,
            encode_map(&records, "output", &state.outputs)?,
            encode_map(&records, "intent", &state.intents)?,
        ];
        let old = [
            Self::keys(&self.resources)?,
            Self::keys(&self.outputs)?,
            Self::keys(&self.intents)?,
        ];
        use sled::Transactional;
        (
            &self.meta,
            &self.resources,
            &self.outputs,
            &self.intents,
            &self.history,
        )
            .transaction(|(m, res, out, int, hist)| {
                for (tree, old, new) in [
                    (res, &old[0], &encoded[0]),
                    (out, &old[1], &encoded[1]),
                    (int, &old[2], &encoded[2]),
                ] {
                    for k in old {
                        tree.remove(k)?;
                    }
                    for (k, v) in new {
                        tree.insert(k.as_bytes(), v.as_slice())?;
                    }
                }
                for (k, v) in &history {
                    hist.insert(k, v.as_slice())?;
                }
                m.insert(SEALED_WITH, write_id.as_bytes())?;
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(tx_err)?;
        drop(_exclusive);
        self.flush()?;
        *settled = true;
        Ok(())
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

    /// Runs `f` as one transaction over every tree, under the shared side of the gate, then
    /// makes it durable.
    fn transact(&self, f: impl Fn(&Trees<'_>) -> TxResult) -> Result<(), StateError> {
        use sled::Transactional;
        self.settle()?;
        {
            let _shared = self.gate.read().unwrap_or_else(|p| p.into_inner());
            (&self.meta, &self.resources, &self.outputs, &self.intents)
                .transaction(|(meta, resources, outputs, intents)| {
                    f(&Trees {
                        meta,
                        resources,
                        outputs,
                        intents,
                    })
                })
                .map_err(tx_err)?;
        }
        self.flush()
    }

    /// Applies one change to a tree and bumps the serial, atomically, then makes it durable.
    fn write(&self, which: Which, key: &str, value: Option<Vec<u8>>) -> Result<(), StateError> {
        self.transact(|t| {
            bump(t.meta, 1)?;
            let tree = t.pick(which);
            match &value {
                Some(bytes) => tree.insert(key.as_bytes(), bytes.as_slice())?,
                None => tree.remove(key.as_bytes())?,
            };
            Ok(())
        })
    }

    fn keys(tree: &sled::Tree) -> Result<Vec<sled::IVec>, StateError> {
        tree.iter()
            .keys()
            .collect::<Result<Vec<_>, _>>()
            .map_err(write_err)
    }

    /// Swaps every record for `state`'s and sets the meta with `meta`, in one transaction.
    fn swap_all(
        &self,
        state: &State,
        meta: impl Fn(&sled::transaction::TransactionalTree) -> TxResult,
    ) -> Result<(), StateError> {
        // History keeps its own lineages' records: bring it to the write key first.
        self.settle()?;
        let records = self.records(&state.lineage);
        let resources = encode_map(&records, "resource", &state.resources)?;
        let outputs = encode_map(&records, "output", &state.outputs)?;
        let intents = encode_map(&records, "intent", &state.intents)?;
        let sealed_with = records.write_id()?;
        // Keys to remove are read under the exclusive gate so no writer adds one meanwhile.
        let _exclusive = self.gate.write().unwrap_or_else(|p| p.into_inner());
        let old = [
            Self::keys(&self.resources)?,
            Self::keys(&self.outputs)?,
            Self::keys(&self.intents)?,
        ];
        use sled::Transactional;
        (&self.meta, &self.resources, &self.outputs, &self.intents)
            .transaction(|(m, res, out, int)| {
                meta(m)?;
                m.insert(SEALED_WITH, sealed_with.as_bytes())?;
                for (tree, old, new) in [
                    (res, &old[0], &resources),
                    (out, &old[1], &outputs),
                    (int, &old[2], &intents),
                ] {
                    for k in old {
                        tree.remove(k)?;
                    }
                    for (k, v) in new {
                        tree.insert(k.as_bytes(), v.as_slice())?;
                    }
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(tx_err)?;
        *self.lineage.write().unwrap_or_else(|p| p.into_inner()) = state.lineage.clone();
        drop(_exclusive);
        self.flush()
    }

    fn read_tree<T: for<'de> Deserialize<'de>>(
        records: &Records<'_>,
        kind: &str,
        write_id: &str,
        tree: &sled::Tree,
    ) -> Result<BTreeMap<String, T>, StateError> {
        let mut out = BTreeMap::new();
        for item in tree.iter() {
            let (k, v) = item.map_err(read_err)?;
            let slot = String::from_utf8_lossy(&k).to_string();
            let opened = records.open(kind, &slot, &v, write_id)?;
            out.insert(opened.name, opened.value);
        }
        Ok(out)
    }

    /// The whole state; the caller holds the exclusive side of the gate.
    fn load_locked(&self) -> Result<State, StateError> {
        let lineage = self
            .meta
            .get(LINEAGE)
            .map_err(read_err)?
            .map(|v| String::from_utf8_lossy(&v).to_string())
            .unwrap_or_default();
        let serial = self
            .meta
            .get(SERIAL)
            .map_err(read_err)?
            .map(|v| decode_serial(&v))
            .unwrap_or(0);
        let records = self.records(&lineage);
        let write_id = records.write_id()?;
        Ok(State {
            resources: Self::read_tree(&records, "resource", &write_id, &self.resources)?,
            outputs: Self::read_tree(&records, "output", &write_id, &self.outputs)?,
            intents: Self::read_tree(&records, "intent", &write_id, &self.intents)?,
            lineage,
            serial,
        })
    }
}

impl SledStore {
    /// Writes record `name` into tree `which`, sealed.
    fn put<T: Serialize>(&self, which: Which, name: &str, value: &T) -> Result<(), StateError> {
        self.settle()?;
        let lineage = self.lineage();
        let records = self.records(&lineage);
        let slot = records.slot(which.kind(), name)?;
        let sealed = records.seal(which.kind(), &slot, name, value)?;
        self.write(which, &slot, Some(sealed))
    }

    fn remove(&self, which: Which, name: &str) -> Result<(), StateError> {
        self.settle()?;
        let lineage = self.lineage();
        let slot = self.records(&lineage).slot(which.kind(), name)?;
        self.write(which, &slot, None)
    }

    fn open_history(&self, serial: u64, stored: &[u8]) -> Result<HistoryRecord, StateError> {
        let lineage = self.lineage();
        let records = self.records(&lineage);
        let serial = serial.to_string();
        // Which key opened it does not matter here: history is re-sealed by `settle`.
        records
            .history()
            .open::<HistoryRecord>("history", &serial, stored, "")
            .map(|o| o.value)
    }
}

#[derive(Clone, Copy)]
enum Which {
    Resources,
    Intents,
}

struct Trees<'a> {
    meta: &'a sled::transaction::TransactionalTree,
    resources: &'a sled::transaction::TransactionalTree,
    outputs: &'a sled::transaction::TransactionalTree,
    intents: &'a sled::transaction::TransactionalTree,
}

impl Which {
    fn kind(self) -> &'static str {
        match self {
            Which::Resources => "resource",
            Which::Intents => "intent",
        }
    }
}

impl Trees<'_> {
    fn pick(&self, which: Which) -> &sled::transaction::TransactionalTree {
        match which {
            Which::Resources => self.resources,
            Which::Intents => self.intents,
        }
    }
}

/// Adds `by` to the serial inside a transaction.
fn bump(meta: &sled::transaction::TransactionalTree, by: u64) -> TxResult {
    let serial = meta.get(SERIAL)?.map(|v| decode_serial(&v)).unwrap_or(0);
    meta.insert(SERIAL, &(serial + by).to_be_bytes())?;
    Ok(())
}

fn decode_serial(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

fn write_err(e: sled::Error) -> StateError {
    StateError::Write(describe(&e))
}

fn read_err(e: sled::Error) -> StateError {
    StateError::Corrupt(describe(&e))
}

fn tx_err(e: sled::transaction::TransactionError<()>) -> StateError {
    match e {
        sled::transaction::TransactionError::Storage(e) => write_err(e),
        sled::transaction::TransactionError::Abort(()) => {
            StateError::Write("the transaction was abandoned".into())
        }
    }
}

/// A sled error in words a person can act on. sled's own `Display` of a corruption is "Read
/// corrupted data at file offset None backtrace ()", which says nothing useful.
fn describe(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) => io.to_string(),
        sled::Error::Corruption { at: Some(at), .. } => {
            format!("the database files hold damaged data (at {at})")
        }
        sled::Error::Corruption { at: None, .. } => {
            "the database files hold damaged data (a snapshot or log record fails its checksum)"
                .into()
        }
        sled::Error::CollectionNotFound(name) => format!(
            "the database has no table {:?}",
            String::from_utf8_lossy(name)
        ),
        sled::Error::Unsupported(why) => why.clone(),
        sled::Error::ReportableBug(what) => format!("the storage engine failed: {what}"),
    }
}

/// Whether `dir` already holds a sled database with something in it.
fn held_a_database(dir: &Path) -> bool {
    let non_empty = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.len() > 0);
    non_empty(&dir.join("db"))
        || std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("snap."))
        })
}

/// Removes snapshot files that sled began and never finished, returning how many.
///
/// sled (0.34) writes a snapshot at every open that finds new log records: into
/// `snap.<lsn>.generating`, then synced and renamed to `snap.<lsn>`. A full disk (or a kill)
/// leaves the `.generating` file empty or cut short; sled nonetheless reads it as the newest
/// snapshot at the next open, fails its checksum, and refuses the database for good. Such a
/// file holds nothing the database needs: the log it summarises is intact, and the previous
/// snapshot (if any) is still in place, because sled removes old ones only after a rename.
/// Only files that fail sled's own check (a length and CRC-32 trailer) are removed; a complete
/// one that missed its rename is valid, and sled reads it.
fn discard_torn_snapshots(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !(name.starts_with("snap.") && name.ends_with(".generating")) {
            continue;
        }
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        if !snapshot_is_whole(&bytes) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// sled's snapshot check: the body, then its length (8 bytes) and its CRC-32 (4 bytes, little
/// endian).
fn snapshot_is_whole(bytes: &[u8]) -> bool {
    if bytes.len() <= 12 {
        return false;
    }
    let (body, trailer) = bytes.split_at(bytes.len() - 12);
    let crc = u32::from_le_bytes([trailer[8], trailer[9], trailer[10], trailer[11]]);
    crc32(body) == crc
}

/// CRC-32 (IEEE, as crc32fast computes it for sled), bit by bit: snapshots are small and this
/// runs only on a damaged database.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Every record of a map sealed into its slot: slot → stored bytes.
fn encode_map<T: Serialize>(
    records: &Records<'_>,
    kind: &str,
    map: &BTreeMap<String, T>,
) -> Result<BTreeMap<String, Vec<u8>>, StateError> {
    map.iter()
        .map(|(name, v)| {
            let slot = records.slot(kind, name)?;
            let sealed = records.seal(kind, &slot, name, v)?;
            Ok((slot, sealed))
        })
        .collect()
}

/// Makes `dir` itself (not what it holds) private to its owner.
pub(crate) fn make_private_dir(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Makes `dir` and everything in it readable by its owner only (best effort: a file sled
/// removes meanwhile is no error).
pub(crate) fn make_private(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => make_private(&path),
                Ok(t) if t.is_file() => {
                    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
                }
                _ => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

impl StateStore for SledStore {
    fn load(&self) -> Result<State, StateError> {
        let _exclusive = self.gate.write().unwrap_or_else(|p| p.into_inner());
        self.load_locked()
    }

    fn put_resource(&self, r: &ResourceState) -> Result<(), StateError> {
        self.put(Which::Resources, &r.addr, r)
    }

    fn remove_resource(&self, addr: &str) -> Result<(), StateError> {
        self.remove(Which::Resources, addr)
    }

    fn put_outputs(&self, outputs: &BTreeMap<String, OutputState>) -> Result<(), StateError> {
        self.settle()?;
        let lineage = self.lineage();
        let encoded = encode_map(&self.records(&lineage), "output", outputs)?;
        let old = {
            let _exclusive = self.gate.write().unwrap_or_else(|p| p.into_inner());
            Self::keys(&self.outputs)?
        };
        // Outputs are written by one caller at a time (the end of a run), so keys read just
        // before the transaction are the keys it replaces.
        self.transact(|t| {
            bump(t.meta, 1)?;
            for key in &old {
                t.outputs.remove(key)?;
            }
            for (k, v) in &encoded {
                t.outputs.insert(k.as_bytes(), v.as_slice())?;
            }
            Ok(())
        })
    }

    fn record_intent(&self, intent: &Intent) -> Result<(), StateError> {
        self.put(Which::Intents, &intent.addr, intent)
    }

    fn clear_intent(&self, addr: &str) -> Result<(), StateError> {
        self.remove(Which::Intents, addr)
    }

    fn replace(&self, state: &State) -> Result<(), StateError> {
        self.swap_all(state, |meta| {
            let serial = meta.get(SERIAL)?.map(|v| decode_serial(&v)).unwrap_or(0);
            meta.insert(SERIAL, &(serial.max(state.serial) + 1).to_be_bytes())?;
            meta.insert(LINEAGE, state.lineage.as_bytes())?;
            Ok(())
        })
    }

    fn restore(&self, state: &State) -> Result<(), StateError> {
        self.swap_all(state, |meta| {
            meta.insert(SERIAL, &state.serial.to_be_bytes())?;
            meta.insert(LINEAGE, state.lineage.as_bytes())?;
            Ok(())
        })
    }

    fn record_history(&self, change: &Change) -> Result<HistoryEntry, StateError> {
        self.settle()?;
        let entry = {
            let _exclusive = self.gate.write().unwrap_or_else(|p| p.into_inner());
            let snapshot = self.load_locked()?;
            let entry = change.entry(&snapshot);
            let record = HistoryRecord {
                entry: entry.clone(),
                snapshot,
            };
            let lineage = self.lineage();
            let serial = entry.serial.to_string();
            let sealed = self
                .records(&lineage)
                .history()
                .seal("history", &serial, &serial, &record)?;
            self.history
                .insert(entry.serial.to_be_bytes(), sealed)
                .map_err(write_err)?;
            entry
        };
        self.flush()?;
        Ok(entry)
    }

    fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        self.history
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(read_err)?;
                self.open_history(decode_serial(&k), &v).map(|r| r.entry)
            })
            .collect()
    }

    fn state_at(&self, serial: u64) -> Result<Option<State>, StateError> {
        let Some(v) = self.history.get(serial.to_be_bytes()).map_err(read_err)? else {
            return Ok(None);
        };
        self.open_history(serial, &v).map(|r| Some(r.snapshot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{full_state, resource};

    fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| {
                (
                    e.file_name().to_string_lossy().to_string(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_torn_snapshot_is_discarded_and_the_state_kept() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.put_resource(&resource("a.b")).unwrap();
        }
        // Opened again, so that sled writes a snapshot: that one is whole, and is kept.
        drop(SledStore::open(dir.path()).unwrap());
        let torn = dir.path().join("snap.00000000FFFFFFFF.generating");
        std::fs::write(&torn, b"").unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert!(!torn.exists());
        assert_eq!(store.load().unwrap().resources.len(), 1);
        drop(store);
        for (name, bytes) in files(dir.path()) {
            if name.starts_with("snap.") {
                assert!(snapshot_is_whole(&bytes), "{name}");
            }
        }
    }

    #[test]
    fn a_damaged_database_is_refused_and_not_written() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.put_resource(&resource("a.b")).unwrap();
        }
        std::fs::write(
            dir.path().join("snap.FFFFFFFFFFFFFFF0"),
            b"not a snapshot, no",
        )
        .unwrap();
        let before = files(dir.path());
        match SledStore::open(dir.path()) {
            Err(e @ StateError::Damaged { .. }) => {
                let text = e.to_string();
                assert!(
                    !text.contains("backtrace") && !text.contains("None"),
                    "{text}"
                );
                assert!(e.help().unwrap().contains("changed nothing"));
            }
            Err(other) => panic!("expected Damaged, got {other}"),
            Ok(_) => panic!("expected Damaged, got a store"),
        }
        assert_eq!(files(dir.path()), before);
    }

    #[test]
    fn a_database_without_a_lineage_is_not_started_afresh() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.put_resource(&resource("a.b")).unwrap();
            store.meta.remove(LINEAGE).unwrap();
            store.db.flush().unwrap();
        }
        match SledStore::open(dir.path()) {
            Err(StateError::Damaged { detail, .. }) => assert!(detail.contains("no lineage")),
            Err(other) => panic!("expected Damaged, got {other}"),
            Ok(_) => panic!("expected Damaged, got a store"),
        }
        // A new directory is still a new store.
        let fresh = tempfile::tempdir().unwrap();
        assert!(SledStore::open(fresh.path()).is_ok());
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

    #[test]
    fn restore_writes_exactly_what_it_is_given_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let wanted = full_state("copied-lineage", 17);
        {
            let store = SledStore::open(dir.path()).unwrap();
            for i in 0..30 {
                store.put_resource(&resource(&format!("a.old{i}"))).unwrap();
            }
            store.restore(&wanted).unwrap();
            assert_eq!(store.load().unwrap(), wanted);
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.load().unwrap(), wanted);
        store.put_resource(&resource("a.next")).unwrap();
        assert_eq!(store.load().unwrap().serial, 18);
    }

    #[test]
    fn history_keeps_snapshots_by_serial() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        store.put_resource(&resource("a.one")).unwrap();
        let first = store
            .record_history(&Change::new("apply", Some("fp1".into())))
            .unwrap();
        assert_eq!((first.serial, first.resources), (1, 1));
        assert_eq!(first.fingerprint.as_deref(), Some("fp1"));
        store.put_resource(&resource("a.two")).unwrap();
        store.remove_resource("a.one").unwrap();
        let second = store
            .record_history(&Change::new("state rm", None))
            .unwrap();
        assert_eq!(second.serial, 3);
        drop(store);

        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.history().unwrap(), vec![first, second.clone()]);
        let at1 = store.state_at(1).unwrap().unwrap();
        assert_eq!(at1.resources.keys().collect::<Vec<_>>(), vec!["a.one"]);
        let at3 = store.state_at(3).unwrap().unwrap();
        assert_eq!(at3.resources.keys().collect::<Vec<_>>(), vec!["a.two"]);
        assert!(store.state_at(2).unwrap().is_none());
        // The same serial again replaces its entry.
        let again = store.record_history(&Change::new("refresh", None)).unwrap();
        assert_eq!(again.serial, 3);
        let all = store.history().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].command, "refresh");
    }

    #[test]
    fn an_older_format_version_is_raised_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.meta.insert(VERSION, &1u32.to_be_bytes()).unwrap();
            store.db.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(
            store.meta.get(VERSION).unwrap().unwrap().as_ref(),
            FORMAT_VERSION.to_be_bytes()
        );
    }

    #[test]
    fn a_newer_format_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            assert_eq!(
                store.meta.get(VERSION).unwrap().unwrap().as_ref(),
                FORMAT_VERSION.to_be_bytes()
            );
            store
                .meta
                .insert(VERSION, &(FORMAT_VERSION + 1).to_be_bytes())
                .unwrap();
            store.db.flush().unwrap();
        }
        match SledStore::open(dir.path()) {
            Err(StateError::TooNew { found, supported }) => {
                assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION))
            }
            Err(other) => panic!("expected TooNew, got {other}"),
            Ok(_) => panic!("expected TooNew, got a store"),
        }
    }

    mod sealed {
        use super::*;
        use crate::encryption::tests::{clear_method, key_a, key_b, state_sealer as sealer};
        use crate::encryption::CryptoError;

        /// Every byte of every file under `dir`.
        fn all_bytes(dir: &Path) -> Vec<u8> {
            let mut out = Vec::new();
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    out.extend(all_bytes(&p));
                } else {
                    out.extend(std::fs::read(&p).unwrap());
                }
            }
            out
        }

        fn contains(hay: &[u8], needle: &str) -> bool {
            hay.windows(needle.len()).any(|w| w == needle.as_bytes())
        }

        fn fill(store: &SledStore) -> State {
            store
                .put_resource(&resource("fabric_endpoint.secretname"))
                .unwrap();
            store
                .record_intent(&crate::fixtures::intent("fabric_model.hiddenmodel"))
                .unwrap();
            let outputs = BTreeMap::from([(
                "private_output".to_string(),
                OutputState {
                    value: serde_json::json!("https://very.private.example"),
                    sensitive: false,
                },
            )]);
            store.put_outputs(&outputs).unwrap();
            store.record_history(&Change::new("apply", None)).unwrap();
            store.load().unwrap()
        }

        #[test]
        fn no_name_or_value_reaches_the_files() {
            let dir = tempfile::tempdir().unwrap();
            let wanted = {
                let store =
                    SledStore::open_sealed(dir.path(), "default", sealer(key_a(), None)).unwrap();
                fill(&store)
            };
            let bytes = all_bytes(dir.path());
            for needle in [
                "secretname",
                "hiddenmodel",
                "private_output",
                "very.private",
                "inferform_data",
            ] {
                assert!(!contains(&bytes, needle), "{needle} is in the files");
            }
            let store =
                SledStore::open_sealed(dir.path(), "default", sealer(key_a(), None)).unwrap();
            assert_eq!(store.load().unwrap(), wanted);
            assert_eq!(store.history().unwrap().len(), 1);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o700);
                for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
                    let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
                    assert!(
                        mode == 0o600 || mode == 0o700,
                        "{:?}: {mode:o}",
                        entry.path()
                    );
                }
            }
        }

        #[test]
        fn rotation_completes_with_the_first_write() {
            let dir = tempfile::tempdir().unwrap();
            let wanted = {
                let store =
                    SledStore::open_sealed(dir.path(), "default", sealer(key_a(), None)).unwrap();
                fill(&store)
            };
            {
                let store =
                    SledStore::open_sealed(dir.path(), "default", sealer(key_b(), Some(key_a())))
                        .unwrap();
                assert_eq!(store.load().unwrap(), wanted);
                store.put_resource(&resource("a.new")).unwrap();
            }
            let store =
                SledStore::open_sealed(dir.path(), "default", sealer(key_b(), None)).unwrap();
            let state = store.load().unwrap();
            assert_eq!(state.resources.len(), 2);
            assert_eq!(store.history().unwrap().len(), 1);
            assert!(store.state_at(wanted.serial).unwrap().is_some());
            drop(store);
            // Key A alone no longer opens anything.
            let store =
                SledStore::open_sealed(dir.path(), "default", sealer(key_a(), None)).unwrap();
            assert!(matches!(
                store.load(),
                Err(StateError::Crypto(CryptoError::NoKey { .. }))
            ));
        }

        #[test]
        fn migration_into_and_out_of_encryption() {
            let dir = tempfile::tempdir().unwrap();
            let wanted = fill(&SledStore::open(dir.path()).unwrap());
            // Encryption without a fallback refuses clear state, and says how to migrate.
            {
                let store =
                    SledStore::open_sealed(dir.path(), "default", sealer(key_a(), None)).unwrap();
                match store.load() {
                    Err(StateError::Crypto(e @ CryptoError::Unencrypted { .. })) => {
                        assert!(e.help().contains("fallback"))
                    }
                    other => panic!("expected Unencrypted, got {other:?}"),
                }
                assert!(store.put_resource(&resource("a.x")).is_err());
            }
            {
                let store = SledStore::open_sealed(
                    dir.path(),
                    "default",
                    sealer(key_a(), Some(clear_method())),
                )
                .unwrap();
                assert_eq!(store.load().unwrap(), wanted);
                store.record_history(&Change::new("apply", None)).unwrap();
            }
            // (Not checked here: that the old clear bytes are gone from the files. sled keeps
            // superseded records in its log until it reuses the space; the README says how to
            // start a fresh encrypted database instead.)
            let store =
                SledStore::open_sealed(dir.path(), "default", sealer(key_a(), None)).unwrap();
            assert_eq!(store.load().unwrap(), wanted);
            drop(store);
            // And back to clear.
            {
                let store = SledStore::open_sealed(
                    dir.path(),
                    "default",
                    sealer(clear_method(), Some(key_a())),
                )
                .unwrap();
                store.put_resource(&resource("a.back")).unwrap();
            }
            let store = SledStore::open(dir.path()).unwrap();
            assert_eq!(store.load().unwrap().resources.len(), 2);
            assert_eq!(store.history().unwrap().len(), 1);
        }

        #[test]
        fn a_flipped_byte_is_tampering_of_that_record() {
            let dir = tempfile::tempdir().unwrap();
            {
                let store =
                    SledStore::open_sealed(dir.path(), "default", sealer(key_a(), None)).unwrap();
                fill(&store);
                let (k, v) = store.resources.iter().next().unwrap().unwrap();
                let mut bad = v.to_vec();
                let i = bad.len() - 5;
                bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
                store.resources.insert(k, bad).unwrap();
                store.db.flush().unwrap();
            }
            let store =
                SledStore::open_sealed(dir.path(), "default", sealer(key_a(), None)).unwrap();
            match store.load() {
                Err(StateError::Crypto(e @ CryptoError::Tampered { .. })) => {
                    let text = e.to_string();
                    assert!(text.contains("resource record ~"), "{text}");
                    assert!(!text.contains("not found"));
                }
                other => panic!("expected Tampered, got {other:?}"),
            }
            // A record copied into another's slot is refused too.
            drop(store);
            let store = SledStore::open_sealed(dir.path(), "other", sealer(key_a(), None)).unwrap();
            assert!(matches!(
                store.load(),
                Err(StateError::Crypto(CryptoError::Tampered { .. }))
            ));
        }
    }
}
