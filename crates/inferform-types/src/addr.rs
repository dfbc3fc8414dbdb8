//! Resource addresses: `fabric_endpoint.chat`, `data.fabric_workspace.shared`,
//! `inferform_data.item[3]`, `inferform_data.by_name["a"]`, and inside modules
//! `module.env["prod"].module.serving.fabric_endpoint.chat`.
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

/// One step of a module path: the `module` block's name and, once the call's `count` or
/// `for_each` is expanded, the instance's key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ModuleStep {
    pub name: String,
    pub key: InstanceKey,
}

/// Where a resource lives: the root module (empty), or a chain of module calls. In the
/// configuration (before expansion) every key is `InstanceKey::None`; in an instance address
/// each step carries its instance's key.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ModulePath(pub Vec<ModuleStep>);

impl ModulePath {
    pub fn root() -> Self {
        ModulePath(Vec::new())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path one call deeper.
    pub fn child(&self, name: impl Into<String>, key: InstanceKey) -> Self {
        let mut steps = self.0.clone();
        steps.push(ModuleStep {
            name: name.into(),
            key,
        });
        ModulePath(steps)
    }

    /// The path one call up, and the last step; `None` at the root.
    pub fn split_last(&self) -> Option<(ModulePath, &ModuleStep)> {
        let (last, rest) = self.0.split_last()?;
        Some((ModulePath(rest.to_vec()), last))
    }

    /// The same calls without instance keys: the path of the configuration that was expanded.
    pub fn without_keys(&self) -> Self {
        ModulePath(
            self.0
                .iter()
                .map(|s| ModuleStep {
                    name: s.name.clone(),
                    key: InstanceKey::None,
                })
                .collect(),
        )
    }

    /// True when `self` is `other` or lies inside it, comparing names and keys.
    pub fn starts_with(&self, other: &ModulePath) -> bool {
        self.0.len() >= other.0.len() && self.0[..other.0.len()] == other.0[..]
    }

    /// True when two instance paths could be each other's dependency: on every step the two
    /// share by name from the root, the instance keys agree too. `module.env["a"]` and
    /// `module.env["b"]` are unrelated; anything and the root are related.
    pub fn related(&self, other: &ModulePath) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .take_while(|(a, b)| a.name == b.name)
            .all(|(a, b)| a.key == b.key)
    }
}

impl fmt::Display for ModulePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "module.{}{}", step.name, step.key)?;
        }
        Ok(())
    }
}

/// A resource block's address, before `count`/`for_each` expansion.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceAddr {
    /// The module the block is in; root resources have an empty path.
    #[serde(default, skip_serializing_if = "ModulePath::is_root")]
    pub module: ModulePath,
    pub mode: ResourceMode,
    pub type_name: String,
    pub name: String,
}

impl ResourceAddr {
    pub fn new(type_name: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            module: ModulePath::root(),
            mode: ResourceMode::Managed,
            type_name: type_name.into(),
            name: name.into(),
        }
    }

    pub fn data(type_name: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            module: ModulePath::root(),
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

    /// The same resource placed in a module.
    pub fn in_module(mut self, module: ModulePath) -> Self {
        self.module = module;
        self
    }

    /// The address of the block in the configuration: module instance keys dropped.
    pub fn config_addr(&self) -> ResourceAddr {
        if self.module.0.iter().all(|s| s.key == InstanceKey::None) {
            return self.clone();
        }
        ResourceAddr {
            module: self.module.without_keys(),
            ..self.clone()
        }
    }

    /// The address without its module path, as written inside the module.
    pub fn local(&self) -> String {
        match self.mode {
            ResourceMode::Data => format!("data.{}.{}", self.type_name, self.name),
            ResourceMode::Managed => format!("{}.{}", self.type_name, self.name),
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
        if !self.module.is_root() {
            write!(f, "{}.", self.module)?;
        }
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

/// Splits a leading `[KEY]` off `text`: the key and the rest after `]`.
fn parse_key(text: &str) -> Result<(InstanceKey, &str), &'static str> {
    let Some(inner) = text.strip_prefix('[') else {
        return Ok((InstanceKey::None, text));
    };
    if let Some(quoted) = inner.strip_prefix('"') {
        // Find the closing quote that is not escaped.
        let mut escaped = false;
        let mut close = None;
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    close = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let close = close.ok_or("unterminated string key")?;
        let key = unescape(&quoted[..close]).ok_or("bad escape in string key")?;
        let rest = quoted[close + 1..]
            .strip_prefix(']')
            .ok_or("an instance key must end with `]`")?;
        Ok((InstanceKey::Str(key), rest))
    } else {
        let close = inner.find(']').ok_or("an instance key must end with `]`")?;
        let n = inner[..close]
            .parse()
            .map_err(|_| "an index must be a whole number or a quoted string")?;
        Ok((InstanceKey::Int(n), &inner[close + 1..]))
    }
}

/// Splits leading `module.NAME[KEY]` steps off `text`: the steps, and what follows the last
/// step's `.` (empty when the text is only a module path).
fn split_module_steps(text: &str) -> Result<(Vec<ModuleStep>, &str), &'static str> {
    let mut steps = Vec::new();
    let mut rest = text;
    while let Some(after) = rest.strip_prefix("module.") {
        let end = after.find(['[', '.']).unwrap_or(after.len());
        let name = &after[..end];
        if !is_identifier(name) {
            return Err("a module name must be an identifier");
        }
        let (key, after) = parse_key(&after[end..])?;
        steps.push(ModuleStep {
            name: name.to_string(),
            key,
        });
        rest = match after.strip_prefix('.') {
            Some(r) if !r.is_empty() => r,
            Some(_) => return Err("nothing after the last `.`"),
            None if after.is_empty() => after,
            None => return Err("expected `.` after a module step"),
        };
    }
    Ok((steps, rest))
}

impl FromStr for ModulePath {
    type Err = AddrParseError;

    /// Parses `module.a`, `module.a[0].module.b["x"]`; the empty text is the root.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError {
            input: input.to_string(),
            reason,
        };
        match split_module_steps(input).map_err(err)? {
            (steps, "") => Ok(ModulePath(steps)),
            _ => Err(err("expected module.NAME")),
        }
    }
}

impl FromStr for ResourceInstanceAddr {
    type Err = AddrParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrParseError {
            input: input.to_string(),
            reason,
        };
        let (steps, body) = split_module_steps(input).map_err(err)?;
        if !steps.is_empty() && body.is_empty() {
            return Err(err("expected a resource after the module path"));
        }
        let (body, mode) = match body.strip_prefix("data.") {
            Some(rest) => (rest, ResourceMode::Data),
            None => (body, ResourceMode::Managed),
        };
        let (head, key) = match body.find('[') {
            Some(open) => {
                let (key, rest) = parse_key(&body[open..]).map_err(err)?;
                if !rest.is_empty() {
                    return Err(err("nothing may follow the instance key"));
                }
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
                module: ModulePath(steps),
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
            "module.env.fabric_endpoint.chat",
            "module.env[\"prod\"].module.serving[2].data.fabric_workspace.w",
            "module.env[\"a]b\"].inferform_data.x[\"k\"]",
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
        for bad in [
            "",
            "x",
            "a.b[",
            "a.b[x]",
            "1a.b",
            "a.b[\"x]",
            "data.",
            "module.env",
            "module.env.",
            "module.1x.a.b",
            "module.env[0]x.a.b",
            "a.b[0][1]",
        ] {
            assert!(bad.parse::<ResourceInstanceAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn module_paths() {
        let p: ModulePath = "module.env[\"prod\"].module.serving".parse().unwrap();
        assert_eq!(p.to_string(), "module.env[\"prod\"].module.serving");
        assert_eq!(p.without_keys().to_string(), "module.env.module.serving");
        let a: ModulePath = "module.env[\"a\"]".parse().unwrap();
        let b: ModulePath = "module.env[\"b\"].module.x".parse().unwrap();
        assert!(!a.related(&b));
        assert!(p.related(&"module.env[\"prod\"]".parse().unwrap()));
        assert!(a.related(&ModulePath::root()));
        assert!(a.related(&"module.other[\"b\"]".parse().unwrap()));
        let addr: ResourceInstanceAddr = "module.env[\"a\"].fabric_endpoint.e[1]".parse().unwrap();
        assert_eq!(
            addr.resource.config_addr().to_string(),
            "module.env.fabric_endpoint.e"
        );
        assert_eq!(addr.resource.local(), "fabric_endpoint.e");
        assert!("".parse::<ModulePath>().unwrap().is_root());
    }
}
