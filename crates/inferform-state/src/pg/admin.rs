//! The pg backend: workspaces as rows, each opened over a connection of its own that holds the
//! workspace's session advisory lock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;

use super::conn::Target;
use super::sql::{key_halves, lock_key, Sql, FORMAT_KEY};
use super::worker::{Conn, Session};
use super::PgStore;
use crate::backend::{
    valid_workspace_name, Backend, ForceUnlocked, OpenOptions, Opened, PgConfig, DEFAULT,
};
use crate::{LockInfo, State, StateError, FORMAT_VERSION};

/// State in PostgreSQL. Connects lazily: making one never touches the network, so commands
/// that do not need state do not need the database.
pub struct PgBackend {
    config: PgConfig,
    /// Seals every record of every workspace (clear unless encryption is configured).
    sealer: Arc<crate::encryption::Sealer>,
    /// The connection for everything but opened workspaces (init, listing, reads,
    /// force-unlock), made on first use and again if it is lost.
    admin: Mutex<Option<Arc<Conn>>>,
}

/// How often a blocked open tries the lock again.
const POLL: Duration = Duration::from_millis(200);

impl PgBackend {
    pub fn new(config: PgConfig) -> Self {
        PgBackend {
            config,
            sealer: Arc::new(crate::encryption::Sealer::clear("state")),
            admin: Mutex::new(None),
        }
    }

    /// The same backend, its records sealed by `sealer`.
    pub fn with_sealer(mut self, sealer: Arc<crate::encryption::Sealer>) -> Self {
        self.sealer = sealer;
        self
    }

    fn setup(&self) -> Result<(Target, Sql), StateError> {
        Ok((
            Target::parse(&self.config.conn_str)?,
            Sql::new(&self.config.schema_name)?,
        ))
    }

    fn admin(&self) -> Result<Arc<Conn>, StateError> {
        let mut guard = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(conn) = guard.as_ref().filter(|c| c.lost().is_none()) {
            return Ok(conn.clone());
        }
        let (target, sql) = self.setup()?;
        let conn = Arc::new(Conn::open(&target, &sql)?);
        *guard = Some(conn.clone());
        Ok(conn)
    }

    /// What lock records and messages call a workspace's state.
    fn path(&self, workspace: &str) -> String {
        format!("{}, workspace \"{workspace}\"", self.describe())
    }
}

/// Checks that `init` has run and that no newer inferform has written here.
async fn check_version(s: &Session) -> Result<(), StateError> {
    let row = s
        .client
        .query_opt(
            &format!("SELECT value FROM {} WHERE key = $1::text", s.sql.t("meta")),
            &[&FORMAT_KEY],
        )
        .await
        .map_err(|e| s.err(e))?;
    let Some(row) = row else {
        return Err(StateError::NotInitialized {
            target: format!("{} (schema {})", s.target.display, s.sql.schema),
            cause: "the schema has no format version".into(),
        });
    };
    let text: String = row
        .try_get(0)
        .map_err(|e| super::corrupt("format version", e))?;
    let found: u32 = text
        .trim()
        .parse()
        .map_err(|_| StateError::Corrupt(format!("format version {text:?}")))?;
    if found > FORMAT_VERSION {
        return Err(StateError::TooNew {
            found,
            supported: FORMAT_VERSION,
        });
    }
    Ok(())
}

/// Raises the stored format version to this inferform's, once it has been checked, where a
/// command may write (`init`, and opening a workspace): an older inferform must refuse the
/// state from then on. Readers leave it as it is, so that a role that may only read still
/// reads.
async fn raise_version(s: &Session) -> Result<(), StateError> {
    s.client
        .execute(
            &format!(
                "UPDATE {} SET value = $2::text WHERE key = $1::text AND value <> $2::text",
                s.sql.t("meta")
            ),
            &[&FORMAT_KEY, &FORMAT_VERSION.to_string()],
        )
        .await
        .map_err(|e| s.err(e))?;
    Ok(())
}

async fn names(s: &Session) -> Result<Vec<String>, StateError> {
    let rows = s
        .client
        .query(&format!("SELECT name FROM {}", s.sql.t("workspaces")), &[])
        .await
        .map_err(|e| s.err(e))?;
    let mut names: Vec<String> = rows
        .iter()
        .map(|r| {
            r.try_get(0)
                .map_err(|e| super::corrupt("workspace name", e))
        })
        .collect::<Result<_, _>>()?;
    names.push(DEFAULT.to_string());
    names.sort();
    names.dedup();
    Ok(names)
}

async fn exists(s: &Session, name: &str) -> Result<bool, StateError> {
    let row = s
        .client
        .query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM {} WHERE name = $1::text)",
                s.sql.t("workspaces")
            ),
            &[&name],
        )
        .await
        .map_err(|e| s.err(e))?;
    row.try_get(0)
        .map_err(|e| super::corrupt("query result", e))
}

/// Gives workspace `name` a row with a new lineage, unless it has one; whether it was made.
async fn insert_workspace(s: &Session, name: &str) -> Result<bool, StateError> {
    let made = s
        .client
        .execute(
            &format!(
                "INSERT INTO {} (name, lineage, serial) VALUES ($1::text, $2::text, 0)
                 ON CONFLICT (name) DO NOTHING",
                s.sql.t("workspaces")
            ),
            &[&name, &uuid::Uuid::new_v4().to_string()],
        )
        .await
        .map_err(|e| s.err(e))?;
    Ok(made > 0)
}

/// Makes sure the workspace has a row: "default" always exists, so it is made on demand;
/// any other must have been created.
async fn ensure(s: &Session, name: &str) -> Result<(), StateError> {
    if name == DEFAULT {
        insert_workspace(s, name).await?;
        return Ok(());
    }
    if !exists(s, name).await? {
        return Err(StateError::NoWorkspace {
            name: name.to_string(),
            available: names(s).await?,
        });
    }
    Ok(())
}

async fn try_lock(s: &Session, key: i64) -> Result<bool, StateError> {
    let row = s
        .client
        .query_one("SELECT pg_try_advisory_lock($1::bigint)", &[&key])
        .await
        .map_err(|e| s.err(e))?;
    row.try_get(0)
        .map_err(|e| super::corrupt("query result", e))
}

async fn unlock(s: &Session, key: i64) -> Result<(), StateError> {
    s.client
        .query_one("SELECT pg_advisory_unlock($1::bigint)", &[&key])
        .await
        .map_err(|e| s.err(e))?;
    Ok(())
}

/// The record of whoever holds the workspace's lock now, if they wrote one.
async fn holder(s: &Session, name: &str, key: i64) -> Result<Option<Box<LockInfo>>, StateError> {
    let (hi, lo) = key_halves(key);
    let row = s
        .client
        .query_opt(&s.sql.live_holder(), &[&name, &hi, &lo])
        .await
        .map_err(|e| s.err(e))?;
    match row {
        None => Ok(None),
        Some(row) => {
            let value: serde_json::Value = row
                .try_get(0)
                .map_err(|e| super::corrupt("lock record", e))?;
            // A record that does not decode names nobody rather than failing the message.
            Ok(serde_json::from_value(value).ok().map(Box::new))
        }
    }
}

async fn holds_lock(s: &Session, pid: i32, key: i64) -> Result<bool, StateError> {
    let (hi, lo) = key_halves(key);
    let row = s
        .client
        .query_one(s.sql.holds_lock(), &[&pid, &hi, &lo])
        .await
        .map_err(|e| s.err(e))?;
    row.try_get(0)
        .map_err(|e| super::corrupt("query result", e))
}

/// Releases an opened workspace's lock when the [`Opened`] goes: its record first, then the
/// advisory lock. If the connection is gone, so is the lock.
struct LockGuard {
    conn: Arc<Conn>,
    workspace: String,
    id: String,
    key: i64,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let (ws, id, key) = (self.workspace.clone(), self.id.clone(), self.key);
        let _ = self.conn.call(move |s| {
            async move {
                let ws: &str = &ws;
                // The record goes first so nobody reads a holder that has left; whether or not
                // that works, the lock itself is always released.
                let _ = s
                    .client
                    .execute(
                        &format!(
                            "DELETE FROM {} WHERE workspace = $1::text AND info->>'ID' = $2::text",
                            s.sql.t("locks")
                        ),
                        &[&ws, &id],
                    )
                    .await;
                unlock(s, key).await
            }
            .boxed_local()
        });
    }
}

impl Backend for PgBackend {
    fn describe(&self) -> String {
        let target = Target::parse(&self.config.conn_str)
            .map(|t| t.display)
            .unwrap_or_else(|_| "postgres (conn_str does not parse)".into());
        format!("{target} (schema {})", self.config.schema_name)
    }

    fn init(&self) -> Result<(), StateError> {
        let conn = self.admin()?;
        let skip = self.config.skip_schema_creation;
        conn.call(move |s| {
            async move {
                let schema = s.sql.schema.clone();
                let row = s
                    .client
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::text)",
                        &[&schema],
                    )
                    .await
                    .map_err(|e| s.err(e))?;
                let present: bool = row
                    .try_get(0)
                    .map_err(|e| super::corrupt("schema check", e))?;
                if !present && skip {
                    return Err(StateError::NoSchema { schema });
                }
                s.transaction(async {
                    // Two inits at once would race on CREATE ... IF NOT EXISTS.
                    let init_key = lock_key(&schema, "\0init");
                    s.client
                        .execute("SELECT pg_advisory_xact_lock($1::bigint)", &[&init_key])
                        .await
                        .map_err(|e| s.err(e))?;
                    // Creating only what is missing lets a role without CREATE on the
                    // database use a schema someone made for it.
                    if !present {
                        s.exec(&s.sql.create_schema()).await?;
                    }
                    s.exec(&s.sql.create_tables()).await?;
                    let meta = s.sql.t("meta");
                    s.client
                        .execute(
                            &format!(
                                "INSERT INTO {meta} (key, value) VALUES ($1::text, $2::text)
                                 ON CONFLICT (key) DO NOTHING"
                            ),
                            &[&FORMAT_KEY, &FORMAT_VERSION.to_string()],
                        )
                        .await
                        .map_err(|e| s.err(e))?;
                    check_version(s).await?;
                    raise_version(s).await?;
                    ensure(s, DEFAULT).await
                })
                .await
            }
            .boxed_local()
        })
    }

    fn workspaces(&self) -> Result<Vec<String>, StateError> {
        self.admin()?.call(|s| {
            async move {
                check_version(s).await?;
                names(s).await
            }
            .boxed_local()
        })
    }

    fn create_workspace(&self, name: &str) -> Result<(), StateError> {
        valid_workspace_name(name)?;
        let conn = self.admin()?;
        let name = name.to_string();
        conn.call(move |s| {
            async move {
                check_version(s).await?;
                let name: &str = &name;
                if name == DEFAULT {
                    ensure(s, name).await?;
                    return Err(StateError::WorkspaceExists { name: name.into() });
                }
                if !insert_workspace(s, name).await? {
                    return Err(StateError::WorkspaceExists { name: name.into() });
                }
                Ok(())
            }
            .boxed_local()
        })
    }

    fn delete_workspace(&self, name: &str) -> Result<(), StateError> {
        valid_workspace_name(name)?;
        if name == DEFAULT {
            return Err(StateError::DefaultWorkspace);
        }
        let (_, sql) = self.setup()?;
        let key = lock_key(&sql.schema, name);
        let path = self.path(name);
        let conn = self.admin()?;
        let name = name.to_string();
        conn.call(move |s| {
            async move {
                check_version(s).await?;
                let name: &str = &name;
                if !exists(s, name).await? {
                    return Err(StateError::NoWorkspace {
                        name: name.into(),
                        available: names(s).await?,
                    });
                }
                // Holding the lock while deleting keeps anyone from opening it meanwhile.
                if !try_lock(s, key).await? {
                    return Err(StateError::LockedBy {
                        info: holder(s, name, key).await?,
                        path,
                    });
                }
                let deleted = s
                    .transaction(async {
                        for (table, column) in [
                            ("history", "workspace"),
                            ("records", "workspace"),
                            ("locks", "workspace"),
                            ("workspaces", "name"),
                        ] {
                            s.client
                                .execute(
                                    &format!(
                                        "DELETE FROM {} WHERE {column} = $1::text",
                                        s.sql.t(table)
                                    ),
                                    &[&name],
                                )
                                .await
                                .map_err(|e| s.err(e))?;
                        }
                        s.client
                            .execute(
                                &format!("DELETE FROM {} WHERE key = $1::text", s.sql.t("meta")),
                                &[&format!("sealed_with/{name}")],
                            )
                            .await
                            .map_err(|e| s.err(e))?;
                        Ok(())
                    })
                    .await;
                let unlocked = unlock(s, key).await;
                deleted.and(unlocked)
            }
            .boxed_local()
        })
    }

    fn open(&self, workspace: &str, opts: &OpenOptions) -> Result<Opened, StateError> {
        valid_workspace_name(workspace)?;
        let (target, sql) = self.setup()?;
        let key = lock_key(&sql.schema, workspace);
        let path = self.path(workspace);
        // A connection of its own: the advisory lock belongs to the session, so it lives
        // exactly as long as this workspace is open (or this process).
        let conn = Arc::new(Conn::open(&target, &sql)?);
        let name = workspace.to_string();
        conn.call(move |s| {
            async move {
                check_version(s).await?;
                raise_version(s).await?;
                ensure(s, &name).await
            }
            .boxed_local()
        })?;
        let mut lock = None;
        let mut guard: Option<Box<dyn Send + Sync>> = None;
        if opts.lock {
            let deadline = Instant::now() + opts.timeout;
            loop {
                if conn.call(move |s| try_lock(s, key).boxed_local())? {
                    break;
                }
                let now = Instant::now();
                if now >= deadline {
                    let name = workspace.to_string();
                    let info = conn
                        .call(move |s| async move { holder(s, &name, key).await }.boxed_local())?;
                    return Err(StateError::LockedBy { info, path });
                }
                std::thread::sleep(POLL.min(deadline - now));
            }
            let info = LockInfo::new(&opts.operation, &path);
            let (name, record) = (workspace.to_string(), info.clone());
            conn.call(move |s| {
                async move {
                    let record = serde_json::to_value(&record)
                        .map_err(|e| StateError::Write(e.to_string()))?;
                    let name: &str = &name;
                    s.client
                        .execute(
                            &format!(
                                "INSERT INTO {} (workspace, info, backend_pid)
                                 VALUES ($1::text, $2::jsonb, pg_backend_pid())
                                 ON CONFLICT (workspace) DO UPDATE
                                 SET info = EXCLUDED.info, backend_pid = EXCLUDED.backend_pid",
                                s.sql.t("locks")
                            ),
                            &[&name, &record],
                        )
                        .await
                        .map_err(|e| s.err(e))?;
                    Ok(())
                }
                .boxed_local()
            })?;
            guard = Some(Box::new(LockGuard {
                conn: conn.clone(),
                workspace: workspace.to_string(),
                id: info.id.clone(),
                key,
            }));
            lock = Some(info);
        }
        let store = PgStore::new(conn, workspace, self.sealer.clone());
        Ok(Opened::new(Arc::new(store), lock, guard))
    }

    fn read(&self, workspace: &str) -> Result<Option<State>, StateError> {
        valid_workspace_name(workspace)?;
        let name = workspace.to_string();
        let sealer = self.sealer.clone();
        self.admin()?.call(move |s| {
            async move {
                check_version(s).await?;
                super::load(s, &name, &sealer).await
            }
            .boxed_local()
        })
    }

    fn force_unlock(&self, workspace: &str, id: &str) -> Result<ForceUnlocked, StateError> {
        valid_workspace_name(workspace)?;
        let (_, sql) = self.setup()?;
        let key = lock_key(&sql.schema, workspace);
        let (name, id) = (workspace.to_string(), id.to_string());
        self.admin()?.call(move |s| {
            async move {
                check_version(s).await?;
                let name: &str = &name;
                let row = s
                    .client
                    .query_opt(
                        &format!(
                            "SELECT info, backend_pid FROM {} WHERE workspace = $1::text",
                            s.sql.t("locks")
                        ),
                        &[&name],
                    )
                    .await
                    .map_err(|e| s.err(e))?;
                let Some(row) = row else {
                    return Ok(ForceUnlocked::NotLocked);
                };
                let info: serde_json::Value = row.try_get(0).map_err(|e| super::corrupt("lock record", e))?;
                let pid: i32 = row.try_get(1).map_err(|e| super::corrupt("lock record", e))?;
                let info: LockInfo = serde_json::from_value(info)
                    .map_err(|e| StateError::Corrupt(format!("the lock record: {e}")))?;
                if info.id != id {
                    return Err(StateError::LockIdMismatch {
                        id,
                        holder: Box::new(info),
                    });
                }
                let outcome = if holds_lock(s, pid, key).await? {
                    s.client
                        .query_one("SELECT pg_terminate_backend($1::integer)", &[&pid])
                        .await
                        .map_err(|e| s.err(e))?;
                    // Terminating is a signal; wait for the session (and its lock) to end.
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while holds_lock(s, pid, key).await? {
                        if Instant::now() >= deadline {
                            return Err(StateError::Database {
                                cause: format!(
                                    "the lock holder's session (backend {pid}) did not end within 10 s of being terminated"
                                ),
                            });
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    ForceUnlocked::HolderStopped
                } else {
                    ForceUnlocked::StaleRecordRemoved
                };
                s.client
                    .execute(
                        &format!(
                            "DELETE FROM {} WHERE workspace = $1::text AND info->>'ID' = $2::text",
                            s.sql.t("locks")
                        ),
                        &[&name, &id],
                    )
                    .await
                    .map_err(|e| s.err(e))?;
                Ok(outcome)
            }
            .boxed_local()
        })
    }
}
