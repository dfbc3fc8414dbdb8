//! Counters of every fault the local cloud injected, for `GET /_local/faults/stats`: a soak
//! or a regression test checks that the faults it asked for really happened (a test that
//! passes because no fault fired proves nothing).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Fault counts by fault name and by call kind. Names: `throttled`, `latency`, `error`,
/// `ambiguous.error500`, `ambiguous.drop`, `create_failure`, `malformed.{garbage, empty,
/// wrong_shape, html502, wrong_content_type, truncated}`.
#[derive(Debug, Default)]
pub(crate) struct FaultStats {
    counts: Mutex<Counts>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Counts {
    /// Every fault injected since start (or the last reset).
    pub total: u64,
    /// By fault name.
    pub faults: BTreeMap<String, u64>,
    /// By call kind, then fault name.
    pub calls: BTreeMap<String, BTreeMap<String, u64>>,
}

impl FaultStats {
    /// Counts one `fault` injected into a call of kind `call`.
    pub(crate) fn record(&self, call: &str, fault: &str) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_add(1);
        let n = c.faults.entry(fault.to_owned()).or_default();
        *n = n.saturating_add(1);
        let n = c
            .calls
            .entry(call.to_owned())
            .or_default()
            .entry(fault.to_owned())
            .or_default();
        *n = n.saturating_add(1);
    }

    pub(crate) fn snapshot(&self) -> Counts {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn reset(&self) {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner()) = Counts::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_fault_and_call() {
        let s = FaultStats::default();
        s.record("fabric.model.list", "malformed.empty");
        s.record("fabric.model.list", "malformed.empty");
        s.record("alaya.deployment.show", "error");
        let c = s.snapshot();
        assert_eq!(c.total, 3);
        assert_eq!(c.faults["malformed.empty"], 2);
        assert_eq!(c.calls["fabric.model.list"]["malformed.empty"], 2);
        assert_eq!(c.calls["alaya.deployment.show"]["error"], 1);
        s.reset();
        assert_eq!(s.snapshot().total, 0);
    }
}
