//! One PostgreSQL connection, driven by its own OS thread running a current-thread tokio
//! runtime. Callers are synchronous and may themselves be on a tokio worker of the command's
//! runtime, where blocking on a future of ours would stall or panic; so they send requests over
//! a channel and wait on a plain reply channel, and the connection's runtime is never theirs.
//!
//! Writes are grouped: the worker takes every request queued at that moment and runs the
//! writes among them in one transaction, their statements pipelined, and answers each after
//! COMMIT. An apply whose tasks finish together pays one round trip for the lot instead of
//! one per resource. A caller is synchronous, so its own writes stay in order.
//!
//! A session advisory lock lives as long as this connection, which is what makes the pg
//! backend's lock safe: when the process dies, however it dies, the server ends the session
//! and the lock with it. Once the connection is gone every call fails at once with
//! [`StateError::ConnectionLost`].

use std::cell::OnceCell;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{join_all, LocalBoxFuture};
use futures_util::FutureExt as _;
use tokio_postgres::{Client, Statement};

use super::conn::{chain, Target};
use super::sql::Sql;
use crate::StateError;

/// A write to one workspace: one statement that also bumps the serial.
pub(crate) enum Write {
    Put {
        kind: &'static str,
        key: String,
        value: String,
    },
    Remove {
        kind: &'static str,
        key: String,
    },
    Outputs {
        keys: Vec<String>,
        values: Vec<String>,
    },
}

struct WriteJob {
    workspace: Arc<str>,
    write: Write,
    reply: SyncSender<Result<(), StateError>>,
}

type CallFn = Box<dyn for<'a> FnOnce(&'a Session) -> LocalBoxFuture<'a, ()> + Send>;

enum Job {
    Write(WriteJob),
    /// Anything else, run alone in queue order: reads, whole-state writes, locks.
    Call(CallFn),
}

/// Gives a closure the higher-ranked signature a [`CallFn`] needs.
fn call_fn<F>(f: F) -> CallFn
where
    F: for<'a> FnOnce(&'a Session) -> LocalBoxFuture<'a, ()> + Send + 'static,
{
    Box::new(f)
}

/// Why the connection ended, once it has.
#[derive(Default)]
struct Lost(Mutex<Option<String>>);

impl Lost {
    fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn set(&self, cause: String) {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(cause);
        }
    }
}

/// What requests run against, on the worker thread.
pub(crate) struct Session {
    pub client: Client,
    pub sql: Sql,
    pub target: Target,
    prepared: OnceCell<Prepared>,
    lost: Arc<Lost>,
}

/// The statements every write and load uses, prepared once per connection.
pub(crate) struct Prepared {
    put: Statement,
    remove: Statement,
    outputs: Statement,
    pub load: Statement,
}

impl Session {
    /// A server error as the error a user can act on.
    pub fn err(&self, e: tokio_postgres::Error) -> StateError {
        let lost = |cause: String| {
            self.lost.set(cause.clone());
            StateError::ConnectionLost { cause }
        };
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            let message = self.target.scrub(db.message().to_string());
            return match code {
                // admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now
                "57P01" | "57P02" | "57P03" => lost(format!("{code}: {message}")),
                // invalid_schema_name, undefined_table
                "3F000" | "42P01" => StateError::NotInitialized {
                    target: format!("{} (schema {})", self.target.display, self.sql.schema),
                    cause: message,
                },
                "28P01" | "28000" => StateError::Auth {
                    target: self.target.display.clone(),
                    cause: message,
                },
                _ => StateError::Database {
                    cause: format!("SQLSTATE {code}: {message}"),
                },
            };
        }
        if e.is_closed() {
            return lost(
                self.lost
                    .get()
                    .unwrap_or_else(|| "connection closed".into()),
            );
        }
        let cause = self.target.scrub(chain(&e));
        let io = std::error::Error::source(&e).is_some_and(|c| c.is::<std::io::Error>());
        if io {
            // The socket failed: nothing more can go over this connection.
            lost(cause)
        } else {
            StateError::Database { cause }
        }
    }

    /// Runs `sql` (one or more statements, no parameters).
    pub async fn exec(&self, sql: &str) -> Result<(), StateError> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| self.err(e))
    }

    /// The prepared statements, preparing them on first use (the tables must exist by then).
    pub async fn prepared(&self) -> Result<&Prepared, StateError> {
        if let Some(p) = self.prepared.get() {
            return Ok(p);
        }
        let prepare =
            |sql: String| async move { self.client.prepare(&sql).await.map_err(|e| self.err(e)) };
        let (put, remove, outputs, load) = futures_util::try_join!(
            prepare(self.sql.put()),
            prepare(self.sql.remove()),
            prepare(self.sql.outputs()),
            prepare(self.sql.load()),
        )?;
        Ok(self.prepared.get_or_init(|| Prepared {
            put,
            remove,
            outputs,
            load,
        }))
    }

    /// Runs `f` in a transaction: COMMIT if it succeeds, ROLLBACK if not.
    pub async fn transaction<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, StateError>>,
    ) -> Result<T, StateError> {
        self.exec("BEGIN").await?;
        match f.await {
            Ok(v) => {
                self.exec("COMMIT").await?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
                Err(e)
            }
        }
    }

    async fn run_write(&self, p: &Prepared, job: &WriteJob) -> Result<(), StateError> {
        let ws: &str = &job.workspace;
        let rows = match &job.write {
            Write::Put { kind, key, value } => {
                self.client.query(&p.put, &[&ws, kind, key, value]).await
            }
            Write::Remove { kind, key } => self.client.query(&p.remove, &[&ws, kind, key]).await,
            Write::Outputs { keys, values } => {
                self.client.query(&p.outputs, &[&ws, keys, values]).await
            }
        }
        .map_err(|e| self.err(e))?;
        if rows.is_empty() {
            return Err(StateError::NoWorkspace {
                name: ws.to_string(),
                available: Vec::new(),
            });
        }
        Ok(())
    }

    /// Runs a group of writes: alone if there is one; otherwise all in one transaction, or,
    /// if one of them fails, each alone so that only the failing one reports its error.
    async fn commit_group(&self, writes: Vec<WriteJob>) {
        if writes.is_empty() {
            return;
        }
        if let Some(cause) = self.lost.get() {
            for w in writes {
                let _ = w.reply.send(Err(StateError::ConnectionLost {
                    cause: cause.clone(),
                }));
            }
            return;
        }
        let p = match self.prepared().await {
            Ok(p) => p,
            Err(e) => {
                for w in writes {
                    let _ = w.reply.send(Err(e.clone()));
                }
                return;
            }
        };
        if writes.len() == 1 {
            let r = self.run_write(p, &writes[0]).await;
            let _ = writes[0].reply.send(r);
            return;
        }
        let grouped: Result<bool, StateError> = async {
            self.exec("BEGIN").await?;
            let results = join_all(writes.iter().map(|w| self.run_write(p, w))).await;
            if results.iter().all(Result::is_ok) {
                self.exec("COMMIT").await?;
                Ok(true)
            } else {
                self.exec("ROLLBACK").await?;
                Ok(false)
            }
        }
        .await;
        match grouped {
            Ok(true) => {
                for w in writes {
                    let _ = w.reply.send(Ok(()));
                }
            }
            Ok(false) => {
                for w in writes {
                    let r = self.run_write(p, &w).await;
                    let _ = w.reply.send(r);
                }
            }
            Err(e) => {
                for w in writes {
                    let _ = w.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// A handle on one connection. Dropping the last handle ends the worker and the session
/// (and any advisory lock the session holds).
pub(crate) struct Conn {
    tx: tokio::sync::mpsc::UnboundedSender<Job>,
    lost: Arc<Lost>,
}

impl Conn {
    /// Connects, on a new worker thread, and waits until the connection is up.
    pub fn open(target: &Target, sql: &Sql) -> Result<Conn, StateError> {
        let tls = target.tls()?;
        let (ready_tx, ready_rx) = sync_channel::<Result<(), StateError>>(1);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let lost = Arc::new(Lost::default());
        let target = target.clone();
        let sql = sql.clone();
        let worker_lost = lost.clone();
        let spawned = std::thread::Builder::new()
            .name("inferform-pg".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StateError::Database {
                            cause: format!("cannot start the connection's runtime: {e}"),
                        }));
                        return;
                    }
                };
                rt.block_on(serve(target, tls, sql, rx, ready_tx, worker_lost));
            });
        if let Err(e) = spawned {
            return Err(StateError::Database {
                cause: format!("cannot start the connection's thread: {e}"),
            });
        }
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Conn { tx, lost }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StateError::ConnectionLost {
                cause: "the connection's thread stopped".into(),
            }),
        }
    }

    /// Why the connection is gone, if it is.
    pub fn lost(&self) -> Option<StateError> {
        self.lost
            .get()
            .map(|cause| StateError::ConnectionLost { cause })
    }

    fn gone(&self) -> StateError {
        self.lost().unwrap_or(StateError::ConnectionLost {
            cause: "the connection's thread stopped".into(),
        })
    }

    /// Runs `f` on the connection and waits for its result.
    pub fn call<T, F>(&self, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a Session) -> LocalBoxFuture<'a, Result<T, StateError>>
            + Send
            + 'static,
    {
        if let Some(e) = self.lost() {
            return Err(e);
        }
        let (reply, answer) = sync_channel(1);
        let job = call_fn(move |s| {
            let fut = f(s);
            async move {
                let _ = reply.send(fut.await);
            }
            .boxed_local()
        });
        self.tx.send(Job::Call(job)).map_err(|_| self.gone())?;
        answer.recv().unwrap_or_else(|_| Err(self.gone()))
    }

    /// Makes a write to `workspace`, grouped with whatever other writes are waiting, and
    /// returns once it is committed.
    pub fn write(&self, workspace: &Arc<str>, write: Write) -> Result<(), StateError> {
        if let Some(e) = self.lost() {
            return Err(e);
        }
        let (reply, answer) = sync_channel(1);
        let job = WriteJob {
            workspace: workspace.clone(),
            write,
            reply,
        };
        self.tx.send(Job::Write(job)).map_err(|_| self.gone())?;
        answer.recv().unwrap_or_else(|_| Err(self.gone()))
    }
}

async fn serve(
    target: Target,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    sql: Sql,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>,
    ready: SyncSender<Result<(), StateError>>,
    lost: Arc<Lost>,
) {
    let (client, connection) = match target.config.connect(tls).await {
        Ok(pair) => pair,
        Err(e) => {
            let _ = ready.send(Err(target.connect_error(&e)));
            return;
        }
    };
    let driver_lost = lost.clone();
    let driver_target = target.clone();
    let driver = tokio::spawn(async move {
        let cause = match connection.await {
            Ok(()) => "the server closed the connection".to_string(),
            Err(e) => driver_target.scrub(chain(&e)),
        };
        driver_lost.set(cause);
    });
    let _ = ready.send(Ok(()));
    let session = Session {
        client,
        sql,
        target,
        prepared: OnceCell::new(),
        lost,
    };
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let mut writes = Vec::new();
        for job in batch {
            match job {
                Job::Write(w) => writes.push(w),
                Job::Call(f) => {
                    session.commit_group(std::mem::take(&mut writes)).await;
                    f(&session).await;
                }
            }
        }
        session.commit_group(writes).await;
    }
    // Every handle is gone: end the session politely, so its locks go at once.
    drop(session);
    let _ = tokio::time::timeout(Duration::from_secs(2), driver).await;
}
