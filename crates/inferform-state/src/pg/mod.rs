//! State in PostgreSQL, as Terraform's `pg` backend keeps it: shared by everyone who can reach
//! the database, one workspace per row of `workspaces`, locked per workspace with a session
//! advisory lock.
//!
//! Tables (in the configured schema, created by `inferform init`):
//! - `meta (key, value)`: the format version;
//! - `workspaces (name, lineage, serial, created_at)`;
//! - `records (workspace, kind, key, value)`: one row per resource, output and intent, the
//!   value as JSON text;
//! - `history (workspace, serial, at, who, command, fingerprint, resources, snapshot)`;
//! - `locks (workspace, info, backend_pid)`: who holds a workspace's lock, for messages and
//!   `force-unlock`; the lock itself is the advisory lock, which dies with its session.
//!
//! Like the sled store, every write is one transaction that also bumps the workspace's serial
//! and returns after COMMIT; concurrent writes share a transaction (group commit, in
//! `worker.rs`).
//!
//! Records and history snapshots go through the backend's [`Sealer`]: with encryption on, a
//! record's `key` is an HMAC of its name and its `value` a sealed blob, and a snapshot is
//! sealed whole, so a dump of the schema shows no address, id or value. The columns beside
//! them stay clear: workspace names, lineage, serial, and history's when/who/command/
//! fingerprint/count, which describe runs rather than the estate. `meta` keeps, per workspace,
//! the id of the key its records are sealed with (`sealed_with/NAME`).

mod admin;
mod conn;
mod sql;
mod worker;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use futures_util::FutureExt as _;

pub use admin::PgBackend;
use sql::{INTENT, OUTPUT, RESOURCE};
use worker::{Conn, Session, Write};

use crate::encryption::{Records, Sealer, CLEAR};
use crate::{
    Change, HistoryEntry, Intent, OutputState, ResourceState, State, StateError, StateStore,
};

/// One workspace's state in PostgreSQL, over a connection of its own (which holds the
/// workspace's lock when it was opened with one). Get one with
/// [`Backend::open`](crate::backend::Backend::open).
pub struct PgStore {
    conn: Arc<Conn>,
    workspace: Arc<str>,
    sealer: Arc<Sealer>,
    /// The workspace's lineage, read once: bound into every sealed record.
    lineage: RwLock<Option<String>>,
    /// Whether every record is known to be sealed with the write key (see
    /// [`PgStore::settle`]).
    settled: Mutex<bool>,
}

/// Sealed bytes as the text the tables hold: a sealed blob is ASCII, a clear one JSON.
fn text(bytes: Vec<u8>) -> Result<String, StateError> {
    String::from_utf8(bytes).map_err(|e| StateError::Write(e.to_string()))
}

/// The `meta` key holding the id of the key a workspace's records are sealed with.
fn sealed_with_key(workspace: &str) -> String {
    format!("sealed_with/{workspace}")
}

/// History snapshots are bound to their workspace and serial, not to a lineage (a
/// workspace's history outlives `state push` of another one); `seed` chooses the salt.
fn history_records<'a>(sealer: &'a Sealer, workspace: &'a str, seed: &'a str) -> Records<'a> {
    Records::new(sealer, workspace, seed).history()
}

fn seal_snapshot(
    sealer: &Sealer,
    workspace: &str,
    seed: &str,
    serial: u64,
    state: &State,
) -> Result<String, StateError> {
    let serial = serial.to_string();
    text(history_records(sealer, workspace, seed).seal("history", &serial, &serial, state)?)
}

fn open_snapshot(
    sealer: &Sealer,
    workspace: &str,
    serial: u64,
    stored: &str,
) -> Result<State, StateError> {
    let serial = serial.to_string();
    history_records(sealer, workspace, "")
        .open::<State>("history", &serial, stored.as_bytes(), "")
        .map(|o| o.value)
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StateError {
    StateError::Corrupt(format!("{what}: {e}"))
}

/// A workspace's whole state, read in one statement and opened with `sealer`; `None` if the
/// workspace does not exist.
pub(crate) async fn load(
    s: &Session,
    workspace: &str,
    sealer: &Sealer,
) -> Result<Option<State>, StateError> {
    let p = s.prepared().await?;
    let rows = s
        .client
        .query(&p.load, &[&workspace])
        .await
        .map_err(|e| s.err(e))?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let lineage: String = first.try_get(0).map_err(|e| corrupt("lineage", e))?;
    let serial: i64 = first.try_get(1).map_err(|e| corrupt("serial", e))?;
    let mut state = State {
        lineage,
        serial: serial as u64,
        ..State::default()
    };
    let records = Records::new(sealer, workspace, &state.lineage);
    for row in &rows {
        let kind: Option<&str> = row.try_get(2).map_err(|e| corrupt("kind", e))?;
        let Some(kind) = kind else { continue };
        let key: String = row.try_get(3).map_err(|e| corrupt("key", e))?;
        let value: &str = row.try_get(4).map_err(|e| corrupt("value", e))?;
        let value = value.as_bytes();
        match kind {
            RESOURCE => {
                let r = records.open("resource", &key, value, "")?;
                state.resources.insert(r.name, r.value);
            }
            OUTPUT => {
                let o = records.open("output", &key, value, "")?;
                state.outputs.insert(o.name, o.value);
            }
            INTENT => {
                let i = records.open("intent", &key, value, "")?;
                state.intents.insert(i.name, i.value);
            }
            // A kind a later version added: not ours to interpret (a newer format would
            // have been refused on open).
            _ => {}
        }
    }
    Ok(Some(state))
}

/// Every record of `state`, sealed into its slot: (kinds, keys, values) for `unnest`.
type Encoded = (Vec<&'static str>, Vec<String>, Vec<String>);

fn encode_state(sealer: &Sealer, workspace: &str, state: &State) -> Result<Encoded, StateError> {
    let records = Records::new(sealer, workspace, &state.lineage);
    let mut out: Encoded = (Vec::new(), Vec::new(), Vec::new());
    fn push<T: serde::Serialize>(
        out: &mut Encoded,
        records: &Records<'_>,
        kind: &'static str,
        map: &BTreeMap<String, T>,
    ) -> Result<(), StateError> {
        for (name, v) in map {
            let slot = records.slot(kind_name(kind), name)?;
            let sealed = text(records.seal(kind_name(kind), &slot, name, v)?)?;
            out.0.push(kind);
            out.1.push(slot);
            out.2.push(sealed);
        }
        Ok(())
    }
    push(&mut out, &records, RESOURCE, &state.resources)?;
    push(&mut out, &records, OUTPUT, &state.outputs)?;
    push(&mut out, &records, INTENT, &state.intents)?;
    Ok(out)
}

/// Sets one `meta` row (such as the id of the key a workspace is sealed with), inside the
/// caller's transaction.
async fn set_meta(s: &worker::Session, key: &str, value: &str) -> Result<(), StateError> {
    s.client
        .execute(
            &format!(
                "INSERT INTO {} (key, value) VALUES ($1::text, $2::text)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                s.sql.t("meta")
            ),
            &[&key, &value],
        )
        .await
        .map_err(|e| s.err(e))?;
    Ok(())
}

/// Replaces every record of `workspace` with `encoded`, inside the caller's transaction.
async fn replace_records(
    s: &worker::Session,
    workspace: &str,
    encoded: &Encoded,
) -> Result<(), StateError> {
    let (kinds, keys, values) = encoded;
    let records = s.sql.t("records");
    s.client
        .execute(
            &format!("DELETE FROM {records} WHERE workspace = $1::text"),
            &[&workspace],
        )
        .await
        .map_err(|e| s.err(e))?;
    s.client
        .execute(
            &format!(
                "INSERT INTO {records} (workspace, kind, key, value)
                 SELECT $1::text, u.kind, u.key, u.value
                 FROM unnest($2::text[], $3::text[], $4::text[]) AS u(kind, key, value)"
            ),
            &[&workspace, kinds, keys, values],
        )
        .await
        .map_err(|e| s.err(e))?;
    Ok(())
}

/// How a whole-state write sets the serial.
#[derive(Clone, Copy)]
enum Serial {
    /// Past both the old and the new (`replace`).
    Bump,
    /// Exactly the given state's (`restore`).
    Exact,
}

/// A record's kind as the table writes it, and as sealing binds it.
fn kind_name(kind: &str) -> &'static str {
    match kind {
        RESOURCE => "resource",
        OUTPUT => "output",
        _ => "intent",
    }
}

impl PgStore {
    pub(crate) fn new(conn: Arc<Conn>, workspace: &str, sealer: Arc<Sealer>) -> PgStore {
        PgStore {
            conn,
            workspace: Arc::from(workspace),
            sealer,
            lineage: RwLock::new(None),
            settled: Mutex::new(false),
        }
    }

    /// The workspace's lineage, read on first use.
    fn lineage(&self) -> Result<String, StateError> {
        if let Some(l) = self
            .lineage
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(l.clone());
        }
        let ws = self.workspace.clone();
        let gone = self.gone();
        let lineage: String = self.conn.call(move |s| {
            async move {
                let ws: &str = &ws;
                let row = s
                    .client
                    .query_opt(
                        &format!(
                            "SELECT lineage FROM {} WHERE name = $1::text",
                            s.sql.t("workspaces")
                        ),
                        &[&ws],
                    )
                    .await
                    .map_err(|e| s.err(e))?;
                row.ok_or(gone)?
                    .try_get(0)
                    .map_err(|e| corrupt("lineage", e))
            }
            .boxed_local()
        })?;
        *self.lineage.write().unwrap_or_else(|p| p.into_inner()) = Some(lineage.clone());
        Ok(lineage)
    }

    /// Before the first write: unless `meta` says every record of the workspace is sealed
    /// with the write key, opens every record and history snapshot and writes it again with
    /// that key, in one transaction, so that a rotation or a migration completes with the
    /// first command that writes (as in the sled store).
    fn settle(&self) -> Result<(), StateError> {
        let mut settled = self.settled.lock().unwrap_or_else(|p| p.into_inner());
        if *settled {
            return Ok(());
        }
        let lineage = self.lineage()?;
        let write_id = Records::new(&self.sealer, &self.workspace, &lineage).write_id()?;
        let ws = self.workspace.clone();
        let sealer = self.sealer.clone();
        let gone = self.gone();
        self.conn.call(move |s| {
            async move {
                let marker = sealed_with_key(&ws);
                let meta = s.sql.t("meta");
                let row = s
                    .client
                    .query_opt(
                        &format!("SELECT value FROM {meta} WHERE key = $1::text"),
                        &[&marker],
                    )
                    .await
                    .map_err(|e| s.err(e))?;
                let current: Option<String> = match row {
                    Some(r) => Some(r.try_get(0).map_err(|e| corrupt("meta", e))?),
                    None => None,
                };
                if current.as_deref().unwrap_or(CLEAR) == write_id {
                    return Ok(());
                }
                s.transaction(async {
                    let state = load(s, &ws, &sealer).await?.ok_or(gone)?;
                    let (kinds, keys, values) = encode_state(&sealer, &ws, &state)?;
                    let ws: &str = &ws;
                    replace_records(s, ws, &(kinds, keys, values)).await?;
                    let history = s.sql.t("history");
                    let rows = s
                        .client
                        .query(
                            &format!("SELECT serial, snapshot FROM {history} WHERE workspace = $1::text"),
                            &[&ws],
                        )
                        .await
                        .map_err(|e| s.err(e))?;
                    for row in rows {
                        let serial: i64 = row.try_get(0).map_err(|e| corrupt("history", e))?;
                        let stored: &str = row.try_get(1).map_err(|e| corrupt("history", e))?;
                        let snapshot = open_snapshot(&sealer, ws, serial as u64, stored)?;
                        let sealed =
                            seal_snapshot(&sealer, ws, &state.lineage, serial as u64, &snapshot)?;
                        s.client
                            .execute(
                                &format!(
                                    "UPDATE {history} SET snapshot = $3::text WHERE workspace = $1::text AND serial = $2::bigint"
                                ),
                                &[&ws, &serial, &sealed],
                            )
                            .await
                            .map_err(|e| s.err(e))?;
                    }
                    set_meta(s, &marker, &write_id).await
                })
                .await
            }
            .boxed_local()
        })?;
        *settled = true;
        Ok(())
    }

    fn records_for<'a>(&'a self, lineage: &'a str) -> Records<'a> {
        Records::new(&self.sealer, &self.workspace, lineage)
    }

    /// Record `name` of `kind`, sealed into its slot.
    fn put_record<T: serde::Serialize>(
        &self,
        kind: &'static str,
        name: &str,
        value: &T,
    ) -> Result<(), StateError> {
        self.settle()?;
        let lineage = self.lineage()?;
        let records = self.records_for(&lineage);
        let slot = records.slot(kind_name(kind), name)?;
        let sealed = text(records.seal(kind_name(kind), &slot, name, value)?)?;
        self.put(kind, &slot, sealed)
    }

    fn remove_record(&self, kind: &'static str, name: &str) -> Result<(), StateError> {
        self.settle()?;
        let lineage = self.lineage()?;
        let slot = self.records_for(&lineage).slot(kind_name(kind), name)?;
        self.remove(kind, &slot)
    }

    fn gone(&self) -> StateError {
        StateError::NoWorkspace {
            name: self.workspace.to_string(),
            available: Vec::new(),
        }
    }

    fn put(&self, kind: &'static str, key: &str, value: String) -> Result<(), StateError> {
        let write = Write::Put {
            kind,
            key: key.to_string(),
            value,
        };
        self.conn.write(&self.workspace, write)
    }

    fn remove(&self, kind: &'static str, key: &str) -> Result<(), StateError> {
        let write = Write::Remove {
            kind,
            key: key.to_string(),
        };
        self.conn.write(&self.workspace, write)
    }

    /// Swaps every record of the workspace for `state`'s, in one transaction.
    fn swap(&self, state: &State, rule: Serial) -> Result<(), StateError> {
        self.settle()?;
        let (kinds, keys, values) = encode_state(&self.sealer, &self.workspace, state)?;
        let marker = sealed_with_key(&self.workspace);
        let write_id = self.records_for(&state.lineage).write_id()?;
        let lineage = state.lineage.clone();
        let new_serial = state.serial as i64;
        let ws = self.workspace.clone();
        let gone = self.gone();
        self.conn.call(move |s| {
            async move {
                let ws: &str = &ws;
                s.transaction(async {
                    let row = s
                        .client
                        .query_opt(
                            &format!(
                                "SELECT serial FROM {} WHERE name = $1::text FOR UPDATE",
                                s.sql.t("workspaces")
                            ),
                            &[&ws],
                        )
                        .await
                        .map_err(|e| s.err(e))?;
                    let old: i64 = row
                        .ok_or(gone)?
                        .try_get(0)
                        .map_err(|e| corrupt("serial", e))?;
                    let serial = match rule {
                        Serial::Bump => old.max(new_serial) + 1,
                        Serial::Exact => new_serial,
                    };
                    replace_records(s, ws, &(kinds, keys, values)).await?;
                    s.client
                        .execute(
                            &format!(
                                "UPDATE {} SET lineage = $2::text, serial = $3::bigint WHERE name = $1::text",
                                s.sql.t("workspaces")
                            ),
                            &[&ws, &lineage, &serial],
                        )
                        .await
                        .map_err(|e| s.err(e))?;
                    set_meta(s, &marker, &write_id).await
                })
                .await
            }
            .boxed_local()
        })?;
        *self.lineage.write().unwrap_or_else(|p| p.into_inner()) = Some(state.lineage.clone());
        Ok(())
    }
}

impl StateStore for PgStore {
    fn load(&self) -> Result<State, StateError> {
        let ws = self.workspace.clone();
        let gone = self.gone();
        let sealer = self.sealer.clone();
        let state = self
            .conn
            .call(move |s| async move { load(s, &ws, &sealer).await?.ok_or(gone) }.boxed_local())?;
        *self.lineage.write().unwrap_or_else(|p| p.into_inner()) = Some(state.lineage.clone());
        Ok(state)
    }

    fn put_resource(&self, resource: &ResourceState) -> Result<(), StateError> {
        self.put_record(RESOURCE, &resource.addr, resource)
    }

    fn remove_resource(&self, addr: &str) -> Result<(), StateError> {
        self.remove_record(RESOURCE, addr)
    }

    fn put_outputs(&self, outputs: &BTreeMap<String, OutputState>) -> Result<(), StateError> {
        self.settle()?;
        let lineage = self.lineage()?;
        let records = self.records_for(&lineage);
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for (name, o) in outputs {
            let slot = records.slot("output", name)?;
            values.push(text(records.seal("output", &slot, name, o)?)?);
            keys.push(slot);
        }
        self.conn
            .write(&self.workspace, Write::Outputs { keys, values })
    }

    fn record_intent(&self, intent: &Intent) -> Result<(), StateError> {
        self.put_record(INTENT, &intent.addr, intent)
    }

    fn clear_intent(&self, addr: &str) -> Result<(), StateError> {
        self.remove_record(INTENT, addr)
    }

    fn replace(&self, state: &State) -> Result<(), StateError> {
        self.swap(state, Serial::Bump)
    }

    fn restore(&self, state: &State) -> Result<(), StateError> {
        self.swap(state, Serial::Exact)
    }

    fn record_history(&self, change: &Change) -> Result<HistoryEntry, StateError> {
        self.settle()?;
        let ws = self.workspace.clone();
        let gone = self.gone();
        let change = change.clone();
        let sealer = self.sealer.clone();
        self.conn.call(move |s| {
            async move {
                // The load is one statement, so the snapshot and its serial are one moment;
                // this store's writes all pass through this connection after it.
                let state = load(s, &ws, &sealer).await?.ok_or(gone)?;
                let entry = change.entry(&state);
                let snapshot = seal_snapshot(&sealer, &ws, &state.lineage, entry.serial, &state)?;
                let ws: &str = &ws;
                s.client
                    .execute(
                        &format!(
                            "INSERT INTO {} (workspace, serial, at, who, command, fingerprint, resources, snapshot)
                             VALUES ($1::text, $2::bigint, $3::text, $4::text, $5::text, $6::text, $7::integer, $8::text)
                             ON CONFLICT (workspace, serial) DO UPDATE SET
                               at = EXCLUDED.at, who = EXCLUDED.who, command = EXCLUDED.command,
                               fingerprint = EXCLUDED.fingerprint, resources = EXCLUDED.resources,
                               snapshot = EXCLUDED.snapshot",
                            s.sql.t("history")
                        ),
                        &[
                            &ws,
                            &(entry.serial as i64),
                            &entry.at,
                            &entry.who,
                            &entry.command,
                            &entry.fingerprint,
                            &(entry.resources as i32),
                            &snapshot,
                        ],
                    )
                    .await
                    .map_err(|e| s.err(e))?;
                Ok(entry)
            }
            .boxed_local()
        })
    }

    fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        let ws = self.workspace.clone();
        self.conn.call(move |s| {
            async move {
                let ws: &str = &ws;
                let rows = s
                    .client
                    .query(
                        &format!(
                            "SELECT serial, at, who, command, fingerprint, resources FROM {}
                             WHERE workspace = $1::text ORDER BY serial",
                            s.sql.t("history")
                        ),
                        &[&ws],
                    )
                    .await
                    .map_err(|e| s.err(e))?;
                rows.iter()
                    .map(|row| {
                        let serial: i64 = row.try_get(0).map_err(|e| corrupt("history", e))?;
                        let resources: i32 = row.try_get(5).map_err(|e| corrupt("history", e))?;
                        Ok(HistoryEntry {
                            serial: serial as u64,
                            at: row.try_get(1).map_err(|e| corrupt("history", e))?,
                            who: row.try_get(2).map_err(|e| corrupt("history", e))?,
                            command: row.try_get(3).map_err(|e| corrupt("history", e))?,
                            fingerprint: row.try_get(4).map_err(|e| corrupt("history", e))?,
                            resources: resources.max(0) as usize,
                        })
                    })
                    .collect()
            }
            .boxed_local()
        })
    }

    fn state_at(&self, serial: u64) -> Result<Option<State>, StateError> {
        let ws = self.workspace.clone();
        let sealer = self.sealer.clone();
        self.conn.call(move |s| {
            async move {
                let ws: &str = &ws;
                let row = s
                    .client
                    .query_opt(
                        &format!(
                            "SELECT snapshot FROM {} WHERE workspace = $1::text AND serial = $2::bigint",
                            s.sql.t("history")
                        ),
                        &[&ws, &(serial as i64)],
                    )
                    .await
                    .map_err(|e| s.err(e))?;
                match row {
                    None => Ok(None),
                    Some(row) => {
                        let stored: &str = row.try_get(0).map_err(|e| corrupt("history", e))?;
                        open_snapshot(&sealer, ws, serial, stored).map(Some)
                    }
                }
            }
            .boxed_local()
        })
    }
}

/// The test database's URL, for tests that need PostgreSQL: `INFERFORM_TEST_PG`, or the
/// project's usual local server. `None` (after printing why to stderr) when it cannot be
/// reached, so that tests skip on a machine without it; but with `CI=true` an unreachable
/// server fails the test instead, because CI must not pass by skipping.
#[doc(hidden)]
pub fn test_url() -> Option<String> {
    const DEFAULT: &str = "postgres://inferform:inferform@127.0.0.1:5432/inferform_test";
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    let url = std::env::var("INFERFORM_TEST_PG")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT.to_string());
    let shown = conn::Target::parse(&url)
        .map(|t| t.display)
        .unwrap_or_else(|_| "INFERFORM_TEST_PG (does not parse)".into());
    let probe = PROBE.get_or_init(|| {
        let mut target = conn::Target::parse(&url).map_err(|e| e.to_string())?;
        target
            .config
            .connect_timeout(std::time::Duration::from_secs(3));
        let sql = sql::Sql::new("public").map_err(|e| e.to_string())?;
        let conn = Conn::open(&target, &sql).map_err(|e| match e {
            StateError::Unreachable { cause, .. }
            | StateError::Auth { cause, .. }
            | StateError::Tls { cause, .. } => cause,
            other => other.to_string(),
        })?;
        conn.call(|s| async move { s.exec("SELECT 1").await }.boxed_local())
            .map_err(|e| e.to_string())
    });
    match probe {
        Ok(()) => Some(url),
        Err(cause) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL not reachable at {shown}: {cause} (CI=true: tests that need it must run)");
            }
            // Once per test binary, and past the test harness's capture (which hides what
            // passing tests print), so that `cargo test` shows what did not run and why.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: the tests that need PostgreSQL (not reachable at {shown}: {cause}); set INFERFORM_TEST_PG, or see README.md"
                );
            });
            None
        }
    }
}

/// A fresh schema in the test database, dropped (with everything in it) when this is dropped,
/// so tests can run in parallel against one server. `None` when the test should skip (see
/// [`test_url`]).
#[doc(hidden)]
pub struct TestSchema {
    pub url: String,
    pub schema: String,
}

impl TestSchema {
    pub fn new() -> Option<TestSchema> {
        let url = test_url()?;
        Some(TestSchema {
            url,
            schema: format!("inferform_test_{}", uuid::Uuid::new_v4().simple()),
        })
    }

    /// A backend configuration for this schema.
    pub fn config(&self) -> crate::backend::PgConfig {
        crate::backend::PgConfig {
            conn_str: self.url.clone(),
            schema_name: self.schema.clone(),
            skip_schema_creation: false,
        }
    }

    /// Runs `sql` in the test database (for tests that poke at the tables directly).
    pub fn exec(&self, sql: &str) -> Result<(), StateError> {
        let target = conn::Target::parse(&self.url)?;
        let conn = Conn::open(&target, &sql::Sql::new(&self.schema)?)?;
        let sql = sql.to_string();
        conn.call(move |s| async move { s.exec(&sql).await }.boxed_local())
    }

    /// Every row of every table of the schema, as text: what a dump of it would show.
    pub fn dump(&self) -> Result<String, StateError> {
        let target = conn::Target::parse(&self.url)?;
        let conn = Conn::open(&target, &sql::Sql::new(&self.schema)?)?;
        conn.call(move |s| {
            async move {
                let mut out = String::new();
                for table in ["meta", "workspaces", "records", "history", "locks"] {
                    let row = s
                        .client
                        .query_one(
                            &format!(
                                "SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {} t",
                                s.sql.t(table)
                            ),
                            &[],
                        )
                        .await
                        .map_err(|e| s.err(e))?;
                    let text: String = row.try_get(0).map_err(|e| corrupt("dump", e))?;
                    out.push_str(&text);
                    out.push('\n');
                }
                Ok(out)
            }
            .boxed_local()
        })
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        drop_schema(&self.url, &self.schema);
    }
}

/// Drops a test schema and everything in it, if it exists; for tests' cleanup, so failures
/// are ignored.
#[doc(hidden)]
pub fn drop_schema(url: &str, schema: &str) {
    let Ok(sql) = sql::Sql::new(schema) else {
        return;
    };
    let Ok(target) = conn::Target::parse(url) else {
        return;
    };
    if let Ok(conn) = Conn::open(&target, &sql) {
        let _ = conn.call(move |s| {
            async move {
                let statement = format!("DROP SCHEMA IF EXISTS {} CASCADE", s.sql.quoted());
                s.exec(&statement).await
            }
            .boxed_local()
        });
    }
}

#[cfg(test)]
mod tests;
