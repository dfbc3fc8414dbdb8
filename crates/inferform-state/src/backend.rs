//! Where a working directory's state lives: its workspaces, each opened under a lock. Two
//! backends: [`LocalBackend`] (sled under `.inferform/`, one person, one machine) and
//! [`PgBackend`](crate::pg::PgBackend) (PostgreSQL, shared by a team). The binary picks one from the configuration's
//! `backend` block and goes through [`Backend`] for everything else.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{LockInfo, SledStore, State, StateError, StateStore};

/// The workspace every backend has, which cannot be deleted.
pub use crate::DEFAULT_WORKSPACE as DEFAULT;

/// The pg backend's settings, as Terraform's pg backend names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgConfig {
    /// A `postgres://` URL or `key=value` pairs; `sslmode` may be any of libpq's.
    pub conn_str: String,
    /// The schema the tables live in.
    pub schema_name: String,
    /// The schema must already exist: `init` does not try to create it (for a role that may
    /// not create schemas).
    pub skip_schema_creation: bool,
}

/// How to open a workspace.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// What the lock record says the holder is doing (`OperationTypeApply`...).
    pub operation: String,
    /// Take the lock. Without it (`--lock=false`) another run may write at the same time.
    pub lock: bool,
    /// How long to wait for another run's lock before giving up with
    /// [`StateError::LockedBy`].
    pub timeout: Duration,
}

/// An opened workspace's state; the lock (if taken) is held until this is dropped or the
/// process dies.
pub struct Opened {
    pub store: Arc<dyn StateStore>,
    /// The lock record, when a lock was taken.
    pub lock: Option<LockInfo>,
    /// Releases the lock (and its record) on drop.
    _guard: Option<Box<dyn Send + Sync>>,
}

impl Opened {
    pub(crate) fn new(
        store: Arc<dyn StateStore>,
        lock: Option<LockInfo>,
        guard: Option<Box<dyn Send + Sync>>,
    ) -> Opened {
        Opened {
            store,
            lock,
            _guard: guard,
        }
    }
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("lock", &self.lock)
            .finish_non_exhaustive()
    }
}

/// What `force_unlock` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForceUnlocked {
    /// Nobody held the lock.
    NotLocked,
    /// The holder was already gone (its lock went with it); its leftover record was removed.
    StaleRecordRemoved,
    /// The holder was still running: its database session was ended, which released the lock
    /// and makes its next write fail.
    HolderStopped,
}

/// Where a working directory's workspaces live.
pub trait Backend: Send + Sync {
    /// The state's location for messages, never with a password: `.inferform/state`, or
    /// `postgres://inferform@127.0.0.1:5432/inferform_test (schema inferform_remote_state)`.
    fn describe(&self) -> String;
    /// Makes the backend ready: reachable, schema and tables created (with
    /// `skip_schema_creation`, the schema must exist), format version checked and recorded.
    fn init(&self) -> Result<(), StateError>;
    /// The workspaces, sorted; always includes "default".
    fn workspaces(&self) -> Result<Vec<String>, StateError>;
    fn create_workspace(&self, name: &str) -> Result<(), StateError>;
    /// Deletes a workspace's state and history. "default" cannot be deleted, nor a workspace
    /// someone holds the lock of ([`StateError::LockedBy`]).
    fn delete_workspace(&self, name: &str) -> Result<(), StateError>;
    /// Opens a workspace, taking its lock if `opts.lock`, waiting up to `opts.timeout`.
    /// "default" always exists; any other must have been created ([`StateError::NoWorkspace`]).
    fn open(&self, workspace: &str, opts: &OpenOptions) -> Result<Opened, StateError>;
    /// Reads a workspace without locking it; `None` if it has no state. (Local state cannot be
    /// read at all while another process has it open: that is [`StateError::LockedBy`].)
    fn read(&self, workspace: &str) -> Result<Option<State>, StateError>;
    /// Removes the lock with this ID: a holder that is gone leaves only a record to remove;
    /// one still running is stopped where the backend can (pg), refused where it cannot
    /// (local). An ID that is not the current lock's is an error naming the holder.
    fn force_unlock(&self, workspace: &str, id: &str) -> Result<ForceUnlocked, StateError>;
}

/// Terraform's rule for workspace names: letters, digits, `-` and `_`; and at most 90 long,
/// so a name fits in paths, lock keys and messages.
pub fn valid_workspace_name(name: &str) -> Result<(), StateError> {
    let ok = !name.is_empty()
        && name.len() <= 90
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StateError::BadWorkspaceName {
            name: name.to_string(),
        })
    }
}

/// State in sled under the `.inferform` directory. "default" is at `state` (where it always
/// was, so existing working directories carry on unchanged); workspace NAME at
/// `workspaces/NAME/state`. Each has its holder record beside it, in `state.lock.json`.
///
/// The lock is sled's exclusive file lock, which the operating system releases when the
/// process ends however it ends, so a killed run never leaves local state locked; the holder
/// record only names who has it.
pub struct LocalBackend {
    data_dir: PathBuf,
    /// Seals every record of every workspace (clear unless encryption is configured).
    sealer: Arc<crate::encryption::Sealer>,
}

/// How often a blocked open tries the lock again.
const POLL: Duration = Duration::from_millis(200);

impl LocalBackend {
    /// The backend for the `.inferform` directory `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        LocalBackend {
            data_dir: data_dir.to_path_buf(),
            sealer: Arc::new(crate::encryption::Sealer::clear("state")),
        }
    }

    /// The same backend, its records sealed by `sealer`.
    pub fn with_sealer(mut self, sealer: Arc<crate::encryption::Sealer>) -> Self {
        self.sealer = sealer;
        self
    }

    fn open_store(&self, name: &str) -> Result<SledStore, StateError> {
        SledStore::open_sealed(&self.state_dir(name), name, self.sealer.clone())
    }

    fn workspace_dir(&self, name: &str) -> PathBuf {
        self.data_dir.join("workspaces").join(name)
    }

    fn state_dir(&self, name: &str) -> PathBuf {
        if name == DEFAULT {
            self.data_dir.join("state")
        } else {
            self.workspace_dir(name).join("state")
        }
    }

    fn holder_path(&self, name: &str) -> PathBuf {
        if name == DEFAULT {
            self.data_dir.join("state.lock.json")
        } else {
            self.workspace_dir(name).join("state.lock.json")
        }
    }

    fn exists(&self, name: &str) -> bool {
        self.state_dir(name).is_dir()
    }

    fn no_workspace(&self, name: &str) -> StateError {
        StateError::NoWorkspace {
            name: name.to_string(),
            available: self.workspaces().unwrap_or_default(),
        }
    }

    fn locked(&self, name: &str) -> StateError {
        StateError::LockedBy {
            info: read_holder(&self.holder_path(name)).map(Box::new),
            path: self.state_dir(name).display().to_string(),
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> StateError {
    StateError::Open {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Creates a directory (and its parents) readable by its owner only: state holds what the
/// clouds said about the objects, which is not everyone's to read.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Writes a file readable by its owner only, whole: to a temporary file renamed over it, so
/// that a reader never sees half a record. Its folder is created private if it is missing.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn read_holder(path: &Path) -> Option<LockInfo> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Removes the holder record on drop, if it is still ours.
struct HolderFile {
    path: PathBuf,
    id: String,
}

impl Drop for HolderFile {
    fn drop(&mut self) {
        if read_holder(&self.path).is_some_and(|i| i.id == self.id) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Backend for LocalBackend {
    fn describe(&self) -> String {
        self.state_dir(DEFAULT).display().to_string()
    }

    fn init(&self) -> Result<(), StateError> {
        create_private_dir(&self.data_dir).map_err(|e| io_error(&self.data_dir, e))?;
        // A directory an older inferform made (0755) is made private too.
        crate::sled_store::make_private_dir(&self.data_dir);
        Ok(())
    }

    fn workspaces(&self) -> Result<Vec<String>, StateError> {
        let mut names = vec![DEFAULT.to_string()];
        let dir = self.data_dir.join("workspaces");
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(|e| io_error(&dir, e))?;
                    let name = entry.file_name().to_string_lossy().to_string();
                    if name != DEFAULT
                        && valid_workspace_name(&name).is_ok()
                        && entry.path().join("state").is_dir()
                    {
                        names.push(name);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&dir, e)),
        }
        names.sort();
        Ok(names)
    }

    fn create_workspace(&self, name: &str) -> Result<(), StateError> {
        valid_workspace_name(name)?;
        if name == DEFAULT || self.exists(name) {
            return Err(StateError::WorkspaceExists {
                name: name.to_string(),
            });
        }
        let dir = self.state_dir(name);
        create_private_dir(&dir).map_err(|e| io_error(&dir, e))?;
        // Opening creates the database: its lineage and format version.
        match self.open_store(name) {
            Ok(_) => Ok(()),
            Err(StateError::Locked { .. }) => Err(self.locked(name)),
            Err(e) => Err(e),
        }
    }

    fn delete_workspace(&self, name: &str) -> Result<(), StateError> {
        valid_workspace_name(name)?;
        if name == DEFAULT {
            return Err(StateError::DefaultWorkspace);
        }
        if !self.exists(name) {
            return Err(self.no_workspace(name));
        }
        match self.open_store(name) {
            Ok(store) => drop(store),
            Err(StateError::Locked { .. }) => return Err(self.locked(name)),
            Err(e) => return Err(e),
        }
        let dir = self.workspace_dir(name);
        std::fs::remove_dir_all(&dir).map_err(|e| io_error(&dir, e))
    }

    fn open(&self, workspace: &str, opts: &OpenOptions) -> Result<Opened, StateError> {
        valid_workspace_name(workspace)?;
        let dir = self.state_dir(workspace);
        // `.inferform/` may have been made by an older inferform, or by another tool, with
        // the umask's 0755: it holds state and locks, so it is its owner's alone.
        crate::sled_store::make_private_dir(&self.data_dir);
        if workspace == DEFAULT {
            create_private_dir(&dir).map_err(|e| io_error(&dir, e))?;
        } else if !self.exists(workspace) {
            return Err(self.no_workspace(workspace));
        }
        let deadline = Instant::now() + opts.timeout;
        let store = loop {
            match self.open_store(workspace) {
                Ok(store) => break store,
                Err(StateError::Locked { .. }) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(self.locked(workspace));
                    }
                    std::thread::sleep(POLL.min(deadline - now));
                }
                Err(e) => return Err(e),
            }
        };
        // sled's file lock cannot be skipped, so even `lock: false` holds it: say so in the
        // record, so that whoever is blocked sees who has it.
        let info = LockInfo::new(&opts.operation, &dir.display().to_string());
        let path = self.holder_path(workspace);
        let text = serde_json::to_string_pretty(&info).unwrap_or_default();
        write_private(&path, text.as_bytes()).map_err(|e| io_error(&path, e))?;
        let guard = HolderFile {
            path,
            id: info.id.clone(),
        };
        Ok(Opened::new(
            Arc::new(store),
            Some(info),
            Some(Box::new(guard)),
        ))
    }

    fn read(&self, workspace: &str) -> Result<Option<State>, StateError> {
        valid_workspace_name(workspace)?;
        if !self.exists(workspace) {
            return Ok(None);
        }
        match self.open_store(workspace) {
            Ok(store) => store.load().map(Some),
            Err(StateError::Locked { .. }) => Err(self.locked(workspace)),
            Err(e) => Err(e),
        }
    }

    fn force_unlock(&self, workspace: &str, id: &str) -> Result<ForceUnlocked, StateError> {
        valid_workspace_name(workspace)?;
        let path = self.holder_path(workspace);
        let holder = read_holder(&path);
        if let Some(h) = &holder {
            if h.id != id {
                return Err(StateError::LockIdMismatch {
                    id: id.to_string(),
                    holder: Box::new(h.clone()),
                });
            }
        }
        if !self.exists(workspace) {
            return Ok(ForceUnlocked::NotLocked);
        }
        let dir = self.state_dir(workspace);
        match self.open_store(workspace) {
            Ok(store) => {
                drop(store);
                // The holder is gone; its record (if any) is stale.
                if holder.is_some() && path.exists() {
                    std::fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
                    Ok(ForceUnlocked::StaleRecordRemoved)
                } else {
                    Ok(ForceUnlocked::NotLocked)
                }
            }
            Err(StateError::Locked { .. }) => Err(StateError::LocalLockHeld {
                path: dir.display().to_string(),
                info: holder.map(Box::new),
            }),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
