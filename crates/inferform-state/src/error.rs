//! What can go wrong reaching state. Every message names the state the way the backend
//! describes it (a PostgreSQL target as `postgres://user@host:port/db`, never with its
//! password), and [`StateError::help`] says how to fix it, so the binary can print both without
//! knowing the backends.

use crate::encryption::CryptoError;
use crate::LockInfo;

#[derive(Clone, Debug, thiserror::Error)]
pub enum StateError {
    /// A sled database is open in another process (its exclusive file lock). Backends turn this
    /// into [`StateError::LockedBy`] with the holder's record.
    #[error("the state in {path} is in use by another inferform process")]
    Locked { path: String },
    #[error("Error acquiring the state lock\n\nthe state in {path} is in use by another inferform run\n{}", holder(info))]
    LockedBy {
        /// Boxed to keep every `Result<_, StateError>` small.
        info: Option<Box<LockInfo>>,
        path: String,
    },
    #[error("cannot open the state in {path}: {message}")]
    Open { path: String, message: String },
    /// The local database's own files are damaged (sled found data that fails its checks).
    /// Nothing was written: the files are as the failed run found them.
    #[error("the state in {path} is damaged and cannot be read: {detail}")]
    Damaged { path: String, detail: String },
    #[error("cannot write the state: {0}")]
    Write(String),
    #[error("the state holds a record that does not decode: {0}")]
    Corrupt(String),
    #[error("cannot reach PostgreSQL at {target}: {cause}")]
    Unreachable { target: String, cause: String },
    #[error("PostgreSQL at {target} refused the login: {cause}")]
    Auth { target: String, cause: String },
    /// The TLS handshake failed (the server refused TLS under `sslmode=require`, or its
    /// certificate did not verify under `verify-ca`/`verify-full`).
    #[error("cannot set up TLS with PostgreSQL at {target}: {cause}")]
    Tls { target: String, cause: String },
    /// The backend's settings cannot be used as given (a conn_str that does not parse, a
    /// schema name that is not an identifier).
    #[error("invalid backend configuration: {message}")]
    BadConfig { message: String },
    #[error("the schema \"{schema}\" does not exist, and skip_schema_creation is set")]
    NoSchema { schema: String },
    /// The schema or its tables are missing: `inferform init` has not been run against it.
    #[error("{target} holds no inferform state: {cause}")]
    NotInitialized { target: String, cause: String },
    #[error("the state was written by a newer inferform: its format version is {found}, and this inferform reads up to {supported}")]
    TooNew { found: u32, supported: u32 },
    #[error("workspace \"{name}\" doesn't exist")]
    NoWorkspace {
        name: String,
        available: Vec<String>,
    },
    #[error("workspace \"{name}\" already exists")]
    WorkspaceExists { name: String },
    #[error("{name:?} is not a valid workspace name")]
    BadWorkspaceName { name: String },
    #[error("the default workspace cannot be deleted")]
    DefaultWorkspace,
    /// `force-unlock` was given an ID that is not the current lock's.
    #[error("lock ID {id:?} does not match the current lock")]
    LockIdMismatch { id: String, holder: Box<LockInfo> },
    /// `force-unlock` of local state held by a running process: sled's file lock cannot be
    /// taken from its holder.
    #[error("local state cannot be unlocked by another process: the run holding the lock is still running\n{}", holder(info))]
    LocalLockHeld {
        path: String,
        info: Option<Box<LockInfo>>,
    },
    #[error("the connection to PostgreSQL was lost: {cause}")]
    ConnectionLost { cause: String },
    #[error("PostgreSQL error: {cause}")]
    Database { cause: String },
    /// Sealing or opening a record failed: a wrong key, a damaged record, clear state where
    /// encryption is required, a key provider that failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

fn holder(info: &Option<Box<LockInfo>>) -> String {
    match info {
        Some(i) => i.describe(),
        None => "Lock Info: (the holder has not written its details yet)".into(),
    }
}

impl StateError {
    /// How to fix it, in one line (or a few), when there is something to say.
    pub fn help(&self) -> Option<String> {
        let text = match self {
            StateError::Locked { .. } | StateError::LockedBy { .. } => {
                let id = match self {
                    StateError::LockedBy { info: Some(i), .. } => i.id.as_str(),
                    _ => "ID",
                };
                format!(
                    "inferform locks the state so that two runs never write it at once: wait for the other run, \
                     or pass --lock-timeout 5m to wait for it. The lock is released when that run exits; \
                     if its holder is gone for good, `inferform force-unlock {id}` removes it."
                )
            }
            StateError::Open { .. } => {
                "check that the directory exists, is writable, and is not on a full disk".into()
            }
            StateError::Damaged { path, .. } => format!(
                "inferform changed nothing. If a disk filled up, free some space and run the command again. \
                 Otherwise keep a copy of {path} for inspection, then restore that directory from a backup, \
                 or move it aside and load a saved copy with `inferform state push FILE` (one saved earlier \
                 with `inferform state pull`)"
            ),
            StateError::Write(_) => {
                "the change was not recorded: check the disk or database, then run `inferform plan` to see where things stand".into()
            }
            StateError::Corrupt(_) => {
                "the stored state is damaged: restore it from history (`inferform state history`) or a backup, or `inferform state push` a good copy".into()
            }
            StateError::Unreachable { .. } => {
                "check that the PostgreSQL server is running and that the host and port in conn_str are right; \
                 conn_str can be set with the PG_CONN_STR environment variable or \
                 `inferform init --backend-config conn_str=postgres://user:password@host:5432/db`"
                    .into()
            }
            StateError::Auth { .. } => {
                "check the user and password in conn_str (PG_CONN_STR or --backend-config conn_str=...), \
                 and that the role may log in to that database"
                    .into()
            }
            StateError::Tls { .. } => {
                "sslmode=require wants a server with TLS; verify-ca and verify-full want a certificate signed by a \
                 known authority (give yours with sslrootcert=/path/to/ca.pem); sslmode=disable turns TLS off"
                    .into()
            }
            StateError::BadConfig { .. } => {
                "conn_str is a URL (postgres://user:password@host:5432/db?sslmode=require) or key=value pairs \
                 (host=... user=... dbname=...); schema_name is a plain identifier (letters, digits, _)"
                    .into()
            }
            StateError::NoSchema { schema } => format!(
                "create it (CREATE SCHEMA \"{schema}\") as a role that may, or unset skip_schema_creation so that `inferform init` creates it"
            ),
            StateError::NotInitialized { .. } => {
                "run `inferform init` to create the state tables".into()
            }
            StateError::TooNew { .. } => {
                "upgrade inferform to the version that wrote this state (or newer) to use it".into()
            }
            StateError::NoWorkspace { available, .. } => {
                if available.is_empty() {
                    "create it with `inferform workspace new NAME`".into()
                } else {
                    format!(
                        "the workspaces are: {}; create a new one with `inferform workspace new NAME`",
                        available.join(", ")
                    )
                }
            }
            StateError::WorkspaceExists { .. } => {
                "select it with `inferform workspace select NAME`, or choose another name".into()
            }
            StateError::BadWorkspaceName { .. } => {
                "a workspace name is 1 to 90 letters, digits, '-' and '_'".into()
            }
            StateError::DefaultWorkspace => {
                "the default workspace always exists; to empty it, destroy what it manages".into()
            }
            StateError::LockIdMismatch { holder, .. } => {
                format!("the current lock:\n{}", holder.describe())
            }
            StateError::LocalLockHeld { .. } => {
                "wait for it to finish, or stop it (Ctrl-C lets it record what it did); its lock is released when it exits".into()
            }
            StateError::ConnectionLost { .. } => {
                "the server released this run's lock with the connection, and nothing after the last reported change was recorded: \
                 check the server, then run `inferform plan` to see where things stand"
                    .into()
            }
            StateError::Database { .. } => {
                "check the server's log and that the conn_str role may use the schema".into()
            }
            StateError::Crypto(e) => e.help(),
        };
        Some(text)
    }
}
