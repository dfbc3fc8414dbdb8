//! The [`Provider`] trait through which the engine reaches a cloud, the [`ProviderFactory`]
//! that configures one from a `provider` block, and what every cloud client shares: HTTP with
//! retry, backoff and `Retry-After`, waiting for a status, and redaction of secrets.
//!
//! Providers speak plain JSON objects ([`Object`]): by the time a provider is called every value
//! is known. The engine owns unknowns, sensitivity marks and diffs; a provider owns the wire.
//! Nothing here prints, reads argv or reads the process environment: the binary passes the
//! environment in through [`ProviderEnv`]. Only provider crates speak HTTP, and none of them
//! serves it (the local cloud does, and no provider depends on it).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use inferform_types::Schema;

pub mod chat;
pub mod deadline;
pub mod http;
pub mod lookup;
pub mod outcome;
pub mod redact;
pub mod settings;
pub mod shape;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod wait;

pub use http::{
    ClientSettings, HttpClient, HttpRequest, HttpResponse, Opened, ResponseStream, RetryPolicy,
};
pub use redact::{Redactor, Secret};
pub use wait::{create_or_adopt, wait_for, Deadline, Observed};

/// A resource's attributes as JSON: nested single blocks are objects, list blocks arrays.
pub type Object = serde_json::Map<String, serde_json::Value>;

/// The environment a provider may read its defaults from (`HW_ACCESS_KEY`, ...).
#[derive(Clone, Debug, Default)]
pub struct ProviderEnv {
    pub vars: BTreeMap<String, String>,
}

impl ProviderEnv {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

tokio::task_local! {
    /// The API-call slots of the current run (`--parallelism`): every HTTP attempt a provider
    /// makes holds one while it is in flight, and none while it waits for a status or a retry,
    /// so waiting objects never keep ready work from starting. Unset, calls are not bounded.
    pub static CALL_SLOTS: Arc<tokio::sync::Semaphore>;
}

/// A status change or note reported while an operation runs, for the progress display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The cloud object now has this status (`CREATING`, `RUNNING`, `starting`...).
    Status(String),
}

/// What an operation may use besides its inputs.
#[derive(Clone)]
pub struct OpContext {
    /// Called on every status change.
    pub progress: Arc<dyn Fn(Progress) + Send + Sync>,
    /// How long the operation may wait for the cloud in all (`timeouts { create = ... }`).
    pub timeout: Option<Duration>,
}

impl OpContext {
    pub fn silent() -> Self {
        OpContext {
            progress: Arc::new(|_| {}),
            timeout: None,
        }
    }

    pub fn report(&self, p: Progress) {
        (self.progress)(p)
    }
}

impl fmt::Debug for OpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpContext")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A configured provider: one set of credentials and endpoints.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// Reads the object that `prior` (its last known state) describes.
    /// `Ok(None)` when it no longer exists.
    async fn read(
        &self,
        ctx: &OpContext,
        type_name: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError>;

    /// Creates the object and waits until it is ready; returns its whole state.
    /// `planned` holds the configured attributes; computed ones are absent.
    async fn create(
        &self,
        ctx: &OpContext,
        type_name: &str,
        planned: &Object,
    ) -> Result<Object, ProviderError>;

    /// Updates the object in place and waits until it is ready; returns its whole state.
    async fn update(
        &self,
        ctx: &OpContext,
        type_name: &str,
        prior: &Object,
        planned: &Object,
    ) -> Result<Object, ProviderError>;

    /// Deletes the object and waits until it is gone. Deleting an object that is already gone
    /// succeeds.
    async fn delete(
        &self,
        ctx: &OpContext,
        type_name: &str,
        prior: &Object,
    ) -> Result<(), ProviderError>;

    /// Looks for an existing object with the unique name (within its parent) that `planned`
    /// would create; used to adopt an object after an ambiguous create or an interrupted apply.
    async fn find(
        &self,
        ctx: &OpContext,
        type_name: &str,
        planned: &Object,
    ) -> Result<Option<Object>, ProviderError>;

    /// Reads an existing object by its import id, for `inferform import` and `import` blocks.
    /// The id format is per type (`WORKSPACE_ID/ENDPOINT_ID` for objects inside a workspace).
    /// `Ok(None)` when no such object exists.
    async fn import(
        &self,
        ctx: &OpContext,
        type_name: &str,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        let _ = (ctx, id);
        Err(ProviderError::new(
            ErrorKind::Invalid,
            format!("{type_name} cannot be imported"),
        ))
    }

    /// Reads a data source: looks an existing object up by the arguments in `config` (its name,
    /// and its parent) and returns all its attributes. No match is an error.
    async fn read_data(
        &self,
        ctx: &OpContext,
        type_name: &str,
        config: &Object,
    ) -> Result<Object, ProviderError> {
        let _ = (ctx, config);
        Err(ProviderError::new(
            ErrorKind::Invalid,
            format!("there is no data source {type_name}"),
        ))
    }

    /// Sends one chat message to a running service (a Fabric service instance, an Alaya
    /// deployment) and streams the answer: `on_text` receives each piece as it arrives.
    /// (The `for<'t>` is spelled out: `async_trait` would otherwise tie the text's lifetime to
    /// the call's, and pieces that live shorter could not be passed.)
    async fn invoke(
        &self,
        ctx: &OpContext,
        type_name: &str,
        state: &Object,
        message: &str,
        on_text: &(dyn for<'t> Fn(&'t str) + Send + Sync),
    ) -> Result<(), ProviderError> {
        let _ = (ctx, state, message, on_text);
        Err(ProviderError::new(
            ErrorKind::Invalid,
            format!("{type_name} cannot be invoked"),
        ))
    }
}

/// Knows a provider's schemas and builds a configured [`Provider`] from a `provider` block.
pub trait ProviderFactory: Send + Sync {
    /// The provider's name, the prefix of its resource types (`fabric`).
    fn name(&self) -> &'static str;

    /// The schema of the `provider "NAME" { ... }` block.
    fn provider_schema(&self) -> Schema;

    /// Every resource type this provider serves, with its schema.
    fn resource_schemas(&self) -> BTreeMap<String, Schema>;

    /// Every data source type this provider serves, with its schema: the look-up arguments
    /// are required or optional, everything else computed.
    fn data_source_schemas(&self) -> BTreeMap<String, Schema> {
        BTreeMap::new()
    }

    /// The parts of the id `inferform import` takes for `type_name`, joined by `/` when there
    /// are several (`["WORKSPACE_ID", "ENDPOINT_ID"]`); empty when the type cannot be imported.
    /// The generated reference docs print it, so it lives beside the schemas.
    fn import_id_format(&self, type_name: &str) -> Vec<&'static str> {
        let _ = type_name;
        Vec::new()
    }

    /// Builds a provider from the block's attributes (unset ones absent) and the environment.
    fn configure(
        &self,
        config: &Object,
        env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConfigureError>;
}

/// A provider block that cannot be used, such as a missing credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigureError {
    /// The attribute at fault, when there is one, so the message can point at it.
    pub attribute: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

/// What kind of failure a [`ProviderError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The cloud answered with an error status.
    Api,
    /// The object reached a failed status (`CREATE_FAILED`, `failed`).
    Failed,
    /// No answer: connection refused or dropped, timed out.
    Transport,
    /// Waited longer than the operation's timeout.
    Timeout,
    /// The cloud said the credentials are wrong.
    Auth,
    /// The request could not be built from the configuration.
    Invalid,
}

/// An error from a cloud call, with everything the user needs to act on it.
/// Never holds a credential, signature or API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// The call, as `POST /v1/workspaces`.
    pub call: Option<String>,
    pub status: Option<u16>,
    /// The cloud's error code (`dataartsfabric.00010195`, `APIG.1002`).
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            call: None,
            status: None,
            code: None,
            message: message.into(),
            request_id: None,
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(call) = &self.call {
            write!(f, "{call}")?;
            if let Some(status) = self.status {
                write!(f, " returned {status}")?;
            }
            f.write_str(": ")?;
        }
        if let Some(code) = &self.code {
            write!(f, "{code}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}
