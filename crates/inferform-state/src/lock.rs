//! Who holds a state lock. The lock itself is whatever the backend has that its holder's death
//! releases (sled's exclusive file lock, a PostgreSQL session advisory lock); this record only
//! names the holder, so that a blocked run can say who is in its way and `force-unlock` can
//! check it is removing the lock the user meant.

use serde::{Deserialize, Serialize};

/// The lock holder record, with Terraform's field names so that people and scripts that read
/// Terraform's lock info can read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    #[serde(rename = "ID")]
    pub id: String,
    /// What the holder is doing (`OperationTypeApply`, `OperationTypePlan`...).
    #[serde(rename = "Operation")]
    pub operation: String,
    /// `user@host` of the holder.
    #[serde(rename = "Who")]
    pub who: String,
    /// The holder's inferform version.
    #[serde(rename = "Version")]
    pub version: String,
    /// When the lock was taken, RFC 3339 UTC.
    #[serde(rename = "Created")]
    pub created: String,
    /// The state that is locked, as the backend describes it (never with a password).
    #[serde(rename = "Path")]
    pub path: String,
    /// The holder's process id, on its own machine.
    #[serde(rename = "PID")]
    pub pid: u32,
}

impl LockInfo {
    /// A record for this process taking the lock on `path` for `operation`.
    pub fn new(operation: &str, path: &str) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_string(),
            who: who(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            created: now_rfc3339(),
            path: path.to_string(),
            pid: std::process::id(),
        }
    }

    /// The lock report, as Terraform words it.
    pub fn describe(&self) -> String {
        format!(
            "Lock Info:\n  ID:        {}\n  Path:      {}\n  Operation: {}\n  Who:       {}\n  Version:   {}\n  Created:   {}\n  PID:       {}",
            self.id, self.path, self.operation, self.who, self.version, self.created, self.pid
        )
    }
}

/// `user@host` of this process, for lock records and history.
pub fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// Now, RFC 3339 in UTC, to the second: what people read in lock reports and history.
pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_terraform_names_and_describes_itself() {
        let info = LockInfo::new("OperationTypeApply", ".inferform/state");
        let json = serde_json::to_value(&info).unwrap();
        for key in [
            "ID",
            "Operation",
            "Who",
            "Version",
            "Created",
            "Path",
            "PID",
        ] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
        let back: LockInfo = serde_json::from_value(json).unwrap();
        assert_eq!(back, info);
        let text = info.describe();
        assert!(text.starts_with("Lock Info:\n  ID:        "));
        assert!(text.contains("Operation: OperationTypeApply"));
        assert!(info.who.contains('@'));
        assert!(time::OffsetDateTime::parse(
            &info.created,
            &time::format_description::well_known::Rfc3339
        )
        .is_ok());
    }
}
