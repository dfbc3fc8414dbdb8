//! Resource addresses: `fabric_endpoint.chat`, `data.fabric_workspace.shared`,
//! `inferform_data.item[3]`, `inferform_data.by_name["a"]`.
//!
//! Addresses are small immutable values; `Display` and `FromStr` round-trip.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Whether an address names a managed resource or a data source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceMode {
    Managed,
    Data,
}

/// A resource block's address, before `count`/`for_each` expansion.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceAddr {
    pub mode: ResourceMode,
    pub type_name: String,
    pub name: String,
}

impl ResourceAddr {
    pub fn new(type_name: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            mode: ResourceMode::Managed,
            type_name: type_name.into(),
            name: name.into(),
        }
    }

    pub fn data(type_name: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            mode: ResourceMode::Data,
            type_name: type_name.into(),
            name: name.into(),
        }
    }

    /// The address of one instance of this resource.
    pub fn instance(&self, key: InstanceKey) -> ResourceInstanceAddr {
        ResourceInstanceAddr {
            resource: self.clone(),
            key,
        }
    }

    /// The provider that serves this resource type: the prefix before the first `_`
    /// (`fabric_endpoint` → `fabric`), as in Terraform.
    pub fn provider_name(&self) -> &str {
        provider_for_type(&self.type_name)
    }
}

/// The provider name implied by a resource type: the text before the first `_`.
pub fn provider_for_type(type_name: &str) -> &str {
    type_name.split('_').next().unwrap_or(type_name)
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mode == ResourceMode::Data {
            f.write_str("data.")?;
        }
        write!(f, "{}.{}", self.type_name, self.name)
    }
}

/// The key of one instance: none for a resource without `count`/`for_each`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InstanceKey {
    None,
    Int(i64),
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::None => Ok(()),
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => {
                f.write_str("[")?;
                write_quoted(f, s)?;
                f.write_str("]")
            }
        }
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// One instance of a resource: the unit that plans, state and apply work on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceInstanceAddr {
    pub resource: ResourceAddr,
    pub key: InstanceKey,
}

impl fmt::Display for ResourceInstanceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.resource, self.key)
    }
}

/// Why a text is not a resource address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a resource address: {reason}")]
pub struct AddrParseError {
    pub input: String,
    pub reason: &'static str,
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl FromStr for ResourceInstanceAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError {
            input: input.to_string(),
            reason,
        };
        let (body, mode) = match input.strip_prefix("data.") {
            Some(rest) => (rest, ResourceMode::Data),
            None => (input, ResourceMode::Managed),
        };
        let (head, key) = match body.find('[') {
            Some(open) => {
                let inner = body[open..]
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .ok_or_else(|| err("an instance key must end with `]`"))?;
                let key = if let Some(quoted) = inner.strip_prefix('"') {
                    let s = quoted
                        .strip_suffix('"')
                        .ok_or_else(|| err("unterminated string key"))?;
                    InstanceKey::Str(unescape(s).ok_or_else(|| err("bad escape in string key"))?)
                } else {
                    InstanceKey::Int(
                        inner.parse().map_err(|_| {
                            err("an index must be a whole number or a quoted string")
                        })?,
                    )
                };
                (&body[..open], key)
            }
            None => (body, InstanceKey::None),
        };
        let (type_name, name) = head
            .split_once('.')
            .ok_or_else(|| err("expected TYPE.NAME"))?;
        if !is_identifier(type_name) || !is_identifier(name) {
            return Err(err("type and name must be identifiers"));
        }
        Ok(ResourceInstanceAddr {
            resource: ResourceAddr {
                mode,
                type_name: type_name.to_string(),
                name: name.to_string(),
            },
            key,
        })
    }
}

fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                _ => return None,
            }
        } else if c == '"' {
            return None;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let cases = [
            "fabric_endpoint.chat",
            "data.fabric_workspace.shared",
            "inferform_data.item[3]",
            "inferform_data.by_name[\"a \\\"b\\\"\"]",
            "inferform_data.neg[-1]",
        ];
        for case in cases {
            let addr: ResourceInstanceAddr = case.parse().unwrap();
            assert_eq!(addr.to_string(), case);
        }
    }

    #[test]
    fn built_by_method() {
        let a = ResourceAddr::new("fabric_endpoint", "chat").instance(InstanceKey::Int(0));
        assert_eq!(a.to_string(), "fabric_endpoint.chat[0]");
        assert_eq!(a.resource.provider_name(), "fabric");
    }

    #[test]
    fn rejects_bad_input() {
        for bad in ["", "x", "a.b[", "a.b[x]", "1a.b", "a.b[\"x]", "data."] {
            assert!(bad.parse::<ResourceInstanceAddr>().is_err(), "{bad}");
        }
    }
}
