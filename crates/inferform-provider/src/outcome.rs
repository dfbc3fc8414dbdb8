//! What a failed call says about the object it was for: the one place that decides whether
//! a failed create may have made its object. The HTTP client, waiting and adoption
//! (`wait::create_or_adopt`) and the engine's create intents all ask here.

use crate::{ErrorKind, ProviderError};

/// What a failed create says about its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateFailure {
    /// The cloud clearly refused ([`create_refused`]): nothing was made.
    Refused,
    /// A 5xx, or no answer ([`is_ambiguous`]): the object may exist. It is looked up, and
    /// the create may be sent again if it is not found.
    Lost,
    /// Accepted, but the answer cannot be read: the object exists. It is looked up, and
    /// the create is never sent again.
    Unreadable,
    /// Anything else (a timeout while waiting, a failed status): the object may exist.
    Unknown,
}

impl CreateFailure {
    /// Whether the object may exist after all, so that a create intent must be kept for the
    /// next run to look it up by name.
    pub fn may_have_made_it(self) -> bool {
        self != CreateFailure::Refused
    }
}

/// What `error`, the failure of a create, says about its object.
/// A lost answer counts before anything else: whatever status came with it, the object may
/// exist.
pub fn create_failure(error: &ProviderError) -> CreateFailure {
    if is_ambiguous(error) {
        CreateFailure::Lost
    } else if create_refused(error) {
        CreateFailure::Refused
    } else if answered_unreadably(error) {
        CreateFailure::Unreadable
    } else {
        CreateFailure::Unknown
    }
}

/// True when a failed create may have created the object all the same: a 5xx, or no answer.
pub fn is_ambiguous(error: &ProviderError) -> bool {
    match error.kind {
        ErrorKind::Transport => true,
        ErrorKind::Api => error.status.is_some_and(|s| s >= 500),
        _ => false,
    }
}

/// True when a create was answered as a success (2xx) whose body could not be read, or
/// answered in a way only reading a body reports (an API error without a status, such as
/// "answered without an id"): the cloud took the request, so the object may well exist.
fn answered_unreadably(error: &ProviderError) -> bool {
    match error.status {
        // With an error code, the answer was read: it is a refusal (see [`create_refused`]).
        Some(status) => (200..300).contains(&status) && error.code.is_none(),
        None => error.kind == ErrorKind::Api,
    }
}

/// True when the cloud clearly refused a create, so that nothing was made: a 4xx answer
/// (a bad request, a name already taken, wrong credentials), or a request that could not
/// even be built (`Invalid`, with no answer). Every other failure leaves the outcome unknown —
/// a 5xx, no answer, a timeout while waiting, a failed status, a 2xx answer that cannot be
/// read — and the object may exist: the caller must keep its create intent so that the next
/// run looks the object up by name and adopts it, rather than leave it orphaned and its
/// address stuck behind "already exists".
pub fn create_refused(error: &ProviderError) -> bool {
    match error.status {
        Some(400..=499) => true,
        // A success status carrying the cloud's error code (an Alaya envelope whose `code`
        // is not 0) is a refusal the client did read. Kept as unknown, a refusal because
        // the name is taken would have the next run adopt somebody else's object.
        Some(200..=299) => error.code.is_some(),
        Some(_) => false,
        None => error.kind == ErrorKind::Invalid,
    }
}
