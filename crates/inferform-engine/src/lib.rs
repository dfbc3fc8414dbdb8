//! The engine: the configuration graph (petgraph), refresh, diff → [`Plan`], and the apply
//! scheduler. It knows clouds only through the [`Provider`](inferform_provider::Provider)
//! trait and state only through [`StateStore`](inferform_state::StateStore); it reads no
//! files of its own, prints nothing and opens no socket, so plans and scheduling are tested
//! without any of them.

use std::collections::BTreeMap;
use std::sync::Arc;

use inferform_provider::Provider;
use inferform_types::Schema;

pub mod apply;
pub mod builtin;
mod conditions;
pub mod console;
pub mod diff;
pub mod graph;
mod instances;
pub mod plan;
pub mod planfile;
mod schedule;
pub mod scope;

pub use apply::{ApplyFailure, ApplyInput, ApplyObserver, ApplyOutcome};
pub use builtin::{BuiltinFactory, RemoteStateReader};
pub use plan::{
    Drift, OutputChange, Plan, PlanOptions, ReadObserver, Recorded, ReplaceReason, ResourceChange,
};

/// A key a provider may add to what [`Provider::read_data`] returns: a JSON list of attribute
/// paths (each a list of object keys and list indexes, as strings) that are sensitive in this
/// reading although the schema cannot say so, because only the reading knows (a remote
/// state's outputs are sensitive or not one by one, and their names come from the other
/// configuration). The engine removes the key and marks those parts, so they show as
/// `(sensitive value)` and stay out of output.
pub const SENSITIVE_PATHS: &str = "__inferform_sensitive_paths";

/// What a plan will do to one resource instance.
///
/// `Create`: before = None, after = Some. `Delete`: before = Some, after = None.
/// `Update`, `NoOp`: both Some, same object. `Replace { create_first }`: both Some; the old
/// object is deleted and a new one created, the new one first when `create_first` (from
/// `lifecycle { create_before_destroy = true }`). `Read`: a data source read during apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    NoOp,
    Create,
    Read,
    Update,
    Replace {
        create_first: bool,
    },
    Delete,
    /// The object leaves state but stays in its cloud: its resource is in a `removed` block
    /// with `lifecycle { destroy = false }`.
    Forget,
}

impl Action {
    /// The verb for progress lines: `Creating`, `Modifying`, `Destroying`.
    pub fn progressive(&self) -> &'static str {
        match self {
            Action::Create => "Creating",
            Action::Update => "Modifying",
            Action::Replace { .. } => "Replacing",
            Action::Delete => "Destroying",
            Action::Read => "Reading",
            Action::NoOp => "Keeping",
            Action::Forget => "Removing from state",
        }
    }

    /// The past tense for completion lines: `Creation complete`.
    pub fn completed(&self) -> &'static str {
        match self {
            Action::Create => "Creation complete",
            Action::Update => "Modifications complete",
            Action::Replace { .. } => "Replacement complete",
            Action::Delete => "Destruction complete",
            Action::Read => "Read complete",
            Action::NoOp => "No changes",
            Action::Forget => "Removed from state",
        }
    }
}

/// Configured providers and every resource schema: what plans and applies need to know.
pub struct Engine {
    /// Configured providers by name (`fabric`, `alaya`, `inferform`).
    pub providers: BTreeMap<String, Arc<dyn Provider>>,
    /// Resource type → schema.
    pub schemas: BTreeMap<String, Schema>,
    /// Data source type → schema.
    pub data_schemas: BTreeMap<String, Schema>,
    /// How many API calls may be in flight at once (`--parallelism`), across every provider.
    /// Waiting for a cloud status holds no slot: see [`inferform_provider::CALL_SLOTS`].
    pub parallelism: usize,
}

impl Engine {
    /// Runs `fut` with this engine's API-call slots in place.
    pub(crate) fn with_slots<F: std::future::Future>(
        slots: &Arc<tokio::sync::Semaphore>,
        fut: F,
    ) -> impl std::future::Future<Output = F::Output> {
        inferform_provider::CALL_SLOTS.scope(slots.clone(), fut)
    }

    /// A fresh set of API-call slots for one run.
    pub(crate) fn call_slots(&self) -> Arc<tokio::sync::Semaphore> {
        Arc::new(tokio::sync::Semaphore::new(self.parallelism.max(1)))
    }
}
