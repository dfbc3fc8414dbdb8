//! Counters of every fault the local cloud injected, for `GET /_local/faults/stats`: a soak
//! or a regression test checks that the faults it asked for really happened (a test that
//! passes because no fault fired proves nothing).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Fault counts by fault name and by call kind. Names: `throttled`, `latency`, `error`,
/// `reset`, `ambiguous.error500`, `ambiguous.drop`, `lost_answer.error500`,
/// `lost_answer.drop`, `create_failure`, `update_failure`, `delete_failure`, `stuck`,
/// `list_lag`, `malformed.{garbage, empty, wrong_shape, html502, wrong_content_type,
/// truncated}`.
///
/// With a data folder the counters are kept in `{data_dir}/fault-stats.json` as well (written
/// at each fault, replaced by a rename), so that they add up over restarts: each inferform
/// command runs an embedded cloud of its own on the same folder, and a soak reads the total.
#[derive(Debug, Default)]
pub(crate) struct FaultStats {
    counts: Mutex<Counts>,
    file: Option<PathBuf>,
}

/// The name of the counters' file in the data folder.
pub(crate) const STATS_FILE: &str = "fault-stats.json";

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Counts {
    /// Every fault injected since start (or the last reset).
    pub total: u64,
    /// By fault name.
    pub faults: BTreeMap<String, u64>,
    /// By call kind, then fault name.
    pub calls: BTreeMap<String, BTreeMap<String, u64>>,
}

impl FaultStats {
    /// Counters kept in `dir` (see [`STATS_FILE`]), starting from what the file holds; an
    /// unreadable file starts them at zero.
    pub(crate) fn open(dir: Option<PathBuf>) -> FaultStats {
        let file = dir.map(|d| d.join(STATS_FILE));
        let counts = file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        FaultStats {
            counts: Mutex::new(counts),
            file,
        }
    }

    /// Writes the counters to the file, if any (best effort: counters never fail a call).
    fn save(&self, c: &Counts) {
        let Some(file) = &self.file else { return };
        let Ok(text) = serde_json::to_vec(c) else {
            return;
        };
        let tmp = file.with_extension("json.tmp");
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, file);
        }
    }

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
        self.save(&c);
    }

    pub(crate) fn snapshot(&self) -> Counts {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn reset(&self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *c = Counts::default();
        self.save(&c);
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

    #[test]
    fn counters_in_a_data_folder_add_up_over_restarts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let s = FaultStats::open(Some(dir.path().to_owned()));
        s.record("fabric.endpoint.create", "stuck");
        drop(s);
        let s = FaultStats::open(Some(dir.path().to_owned()));
        s.record("fabric.endpoint.create", "stuck");
        assert_eq!(s.snapshot().calls["fabric.endpoint.create"]["stuck"], 2);
        s.reset();
        assert_eq!(
            FaultStats::open(Some(dir.path().to_owned()))
                .snapshot()
                .total,
            0
        );
    }
}
