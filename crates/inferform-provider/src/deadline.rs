//! When an operation must give up, and how long it waited, for messages. Beneath both the
//! HTTP client (a request's own deadline) and waiting for a status.

use std::time::Duration;

use tokio::time::Instant;

use crate::OpContext;

/// When an operation must give up: from [`OpContext::timeout`], counted from its start.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Option<Instant>,
    timeout: Option<Duration>,
}

impl Deadline {
    /// The deadline of an operation starting now.
    pub fn start(ctx: &OpContext) -> Self {
        Deadline {
            at: ctx.timeout.map(|t| Instant::now() + t),
            timeout: ctx.timeout,
        }
    }

    /// No deadline.
    pub fn never() -> Self {
        Deadline {
            at: None,
            timeout: None,
        }
    }

    /// The time left; `None` when there is no deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    pub fn passed(&self) -> bool {
        self.remaining().is_some_and(|r| r.is_zero())
    }

    /// The configured timeout, for messages.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

/// `90s` → `1m30s`, for messages.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}
