//! [`Value`]: what configuration expressions evaluate to and what state holds.
//!
//! Besides the JSON-like kinds, a value can be [`Value::Unknown`] (known only after apply) or
//! wrapped in [`Value::Sensitive`] (never shown). Both marks travel through expressions: an
//! operation on an unknown is unknown, an operation on a sensitive value is sensitive.

use std::collections::BTreeMap;
use std::fmt;

use crate::Number;

/// A configuration or state value.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// A set: unique elements in Terraform's set order (see [`Value::set`]). It reads as a
    /// sequence wherever a list does, but has no indexes, and equals no list.
    Set(Vec<Value>),
    Object(BTreeMap<String, Value>),
    /// A value that is known only after apply.
    Unknown,
    /// A value that must never be shown: `(sensitive value)`.
    Sensitive(Box<Value>),
}

impl Value {
    pub fn string(s: impl Into<String>) -> Self {
        Value::String(s.into())
    }

    pub fn number(n: impl Into<Number>) -> Self {
        Value::Number(n.into())
    }

    pub fn object<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Self {
        Value::Object(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A set of `items`: duplicates dropped, in Terraform's set order (strings sorted, numbers
    /// ascending, `false` before `true`; other kinds as first seen).
    pub fn set(items: Vec<Value>) -> Self {
        let mut out: Vec<Value> = Vec::with_capacity(items.len());
        for v in items {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        if out.iter().all(|v| matches!(v, Value::String(_))) {
            out.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
        } else if out.iter().all(|v| matches!(v, Value::Number(_))) {
            out.sort_by(|x, y| match (x, y) {
                (Value::Number(p), Value::Number(q)) => {
                    p.partial_cmp(q).unwrap_or(std::cmp::Ordering::Equal)
                }
                _ => std::cmp::Ordering::Equal,
            });
        } else if out.iter().all(|v| matches!(v, Value::Bool(_))) {
            out.sort_by_key(|v| v.as_bool());
        }
        Value::Set(out)
    }

    /// Marks this value sensitive (idempotent).
    pub fn sensitive(self) -> Self {
        match self {
            Value::Sensitive(_) => self,
            v => Value::Sensitive(Box::new(v)),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.unmarked(), Value::Null)
    }

    /// True when the value or any part of it is sensitive.
    pub fn is_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) | Value::Set(items) => items.iter().any(Value::is_sensitive),
            Value::Object(map) => map.values().any(Value::is_sensitive),
            _ => false,
        }
    }

    /// True when no part of the value is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Sensitive(v) => v.is_wholly_known(),
            Value::List(items) | Value::Set(items) => items.iter().all(Value::is_wholly_known),
            Value::Object(map) => map.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// True when the value itself (not its parts) is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self.unmarked(), Value::Unknown)
    }

    /// The value without its top-level sensitive mark.
    pub fn unmarked(&self) -> &Value {
        match self {
            Value::Sensitive(v) => v.unmarked(),
            v => v,
        }
    }

    /// The value with every sensitive mark removed, at every depth.
    pub fn deep_unmarked(&self) -> Value {
        match self {
            Value::Sensitive(v) => v.deep_unmarked(),
            Value::List(items) => Value::List(items.iter().map(Value::deep_unmarked).collect()),
            Value::Set(items) => Value::Set(items.iter().map(Value::deep_unmarked).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.deep_unmarked()))
                    .collect(),
            ),
            v => v.clone(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unmarked() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.unmarked() {
            Value::Number(n) => Some(n.to_f64()),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unmarked() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unmarked() {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// A list's or a set's elements: everything that reads as a sequence.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self.unmarked() {
            Value::List(l) | Value::Set(l) => Some(l),
            _ => None,
        }
    }

    /// Looks up an object attribute; `None` when this is not an object or has no such key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(key))
    }

    /// A short name of the value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self.unmarked() {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Object(_) => "object",
            Value::Unknown => "unknown",
            Value::Sensitive(_) => "sensitive",
        }
    }

    /// Converts to JSON, keeping sensitive values (the caller decides where they may go).
    /// `None` when any part is unknown.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number_json(*n),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(items) | Value::Set(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect::<Option<_>>()?)
            }
            Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
            Value::Unknown => return None,
            Value::Sensitive(v) => v.to_json()?,
        })
    }

    /// Converts to JSON for places that may not hold a secret (intents, `show --json`,
    /// `state pull`): sensitive parts, and unknown ones, become null.
    pub fn to_json_redacted(&self) -> serde_json::Value {
        match self {
            Value::Sensitive(_) | Value::Unknown => serde_json::Value::Null,
            Value::List(items) | Value::Set(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json_redacted).collect())
            }
            Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.to_json_redacted()))
                    .collect(),
            ),
            v => v.to_json().unwrap_or_default(),
        }
    }

    /// Converts from JSON; nothing is marked.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(json_number(n)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

impl Value {
    /// The paths (object keys and list indexes, as text) of every sensitive part, so marks can
    /// be kept beside a plain JSON copy of the value and put back later.
    pub fn sensitive_paths(&self) -> Vec<Vec<String>> {
        fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            match v {
                Value::Sensitive(_) => out.push(path.clone()),
                Value::Object(m) => {
                    for (k, v) in m {
                        path.push(k.clone());
                        walk(v, path, out);
                        path.pop();
                    }
                }
                Value::List(items) | Value::Set(items) => {
                    for (i, v) in items.iter().enumerate() {
                        path.push(i.to_string());
                        walk(v, path, out);
                        path.pop();
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    /// Marks the parts at `paths` sensitive (paths that do not exist are ignored).
    pub fn mark_paths(self, paths: &[Vec<String>]) -> Value {
        /// Marks the path `rest` inside the element at index `head` (if there is one).
        fn mark_item(items: &mut [Value], head: &str, rest: &[String]) {
            if let Some(i) = head.parse::<usize>().ok().filter(|i| *i < items.len()) {
                let inner = std::mem::take(&mut items[i]);
                items[i] = mark(inner, rest);
            }
        }
        fn mark(v: Value, path: &[String]) -> Value {
            match path.split_first() {
                None => v.sensitive(),
                Some((head, rest)) => match v {
                    Value::Object(mut m) => {
                        if let Some(inner) = m.remove(head) {
                            m.insert(head.clone(), mark(inner, rest));
                        }
                        Value::Object(m)
                    }
                    Value::List(mut items) => {
                        mark_item(&mut items, head, rest);
                        Value::List(items)
                    }
                    Value::Set(mut items) => {
                        mark_item(&mut items, head, rest);
                        Value::Set(items)
                    }
                    Value::Sensitive(inner) => mark(*inner, path).sensitive(),
                    other => other,
                },
            }
        }
        paths.iter().fold(self, |v, p| mark(v, p))
    }
}

/// Whole numbers become JSON integers, others floats.
pub fn number_to_json(n: impl Into<Number>) -> serde_json::Value {
    number_json(n.into())
}

/// A number as JSON: whole numbers as integers where JSON's readers take them exactly,
/// others as the nearest float.
pub fn number_json(n: Number) -> serde_json::Value {
    if n.is_whole() {
        if let Some(i) = n.to_i64() {
            return serde_json::Value::from(i);
        }
        if let Ok(u) = n.to_string().parse::<u64>() {
            return serde_json::Value::from(u);
        }
    }
    serde_json::Number::from_f64(n.to_f64())
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// A JSON number, exactly: integers and decimals as written, not through a float.
fn json_number(n: &serde_json::Number) -> Number {
    if let Some(i) = n.as_i64() {
        return Number::from(i);
    }
    Number::parse(&n.to_string()).unwrap_or_else(|| Number::from_f64(n.as_f64().unwrap_or(0.0)))
}

/// [`json_type`] for an output that may be sensitive: a sensitive collection's type would
/// show its keys, so it is given as `"dynamic"`.
pub fn output_type(v: &serde_json::Value, sensitive: bool) -> serde_json::Value {
    match v {
        serde_json::Value::Array(_) | serde_json::Value::Object(_) if sensitive => {
            serde_json::Value::from("dynamic")
        }
        other => json_type(other),
    }
}

/// The type of a JSON value as Terraform writes types in JSON (`"string"`, `["tuple",
/// ["number"]]`, `["object", {"a": "bool"}]`), read from the value itself: what
/// `output --json` shows beside a value. `null` is `"dynamic"`.
pub fn json_type(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Null => J::from("dynamic"),
        J::Bool(_) => J::from("bool"),
        J::Number(_) => J::from("number"),
        J::String(_) => J::from("string"),
        J::Array(items) => J::Array(vec![
            J::from("tuple"),
            J::Array(items.iter().map(json_type).collect()),
        ]),
        J::Object(m) => J::Array(vec![
            J::from("object"),
            J::Object(m.iter().map(|(k, v)| (k.clone(), json_type(v))).collect()),
        ]),
    }
}

/// Formats a number as HCL writes it: `3`, `0.5`, and whole numbers in all their digits
/// (`100000000000000000000`, never `1e+20`), as Terraform does.
pub fn format_number(n: impl Into<Number>) -> String {
    n.into().to_string()
}

impl fmt::Display for Value {
    /// A compact, HCL-like rendering for messages; sensitive parts are hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
            Value::List(items) | Value::Set(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Object(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                f.write_str("}")
            }
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Sensitive(_) => f.write_str("(sensitive value)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_integers() {
        let json = serde_json::json!({"a": 1, "b": [true, null, "x"], "c": 0.5});
        assert_eq!(Value::from_json(&json).to_json().unwrap(), json);
    }

    #[test]
    fn unknown_has_no_json() {
        let v = Value::object([("id", Value::Unknown)]);
        assert!(v.to_json().is_none());
        assert!(!v.is_wholly_known());
    }

    #[test]
    fn sensitive_paths_round_trip() {
        let v = Value::object([
            ("a", Value::string("x")),
            (
                "b",
                Value::object([("token", Value::string("t").sensitive())]),
            ),
            (
                "c",
                Value::List(vec![Value::Null, Value::string("k").sensitive()]),
            ),
        ]);
        let paths = v.sensitive_paths();
        assert_eq!(
            paths,
            vec![
                vec!["b".to_string(), "token".into()],
                vec!["c".into(), "1".into()]
            ]
        );
        let plain = Value::from_json(&v.to_json().unwrap());
        assert_eq!(plain.mark_paths(&paths), v);
    }

    #[test]
    fn redacted_json_holds_no_secret() {
        let v = Value::object([
            ("key", Value::string("s3cr3t").sensitive()),
            ("id", Value::Unknown),
            ("n", Value::Number(1.into())),
        ]);
        assert_eq!(
            v.to_json_redacted(),
            serde_json::json!({"key": null, "id": null, "n": 1})
        );
    }

    #[test]
    fn sensitive_is_hidden_in_display() {
        let v = Value::object([("key", Value::string("s3cr3t").sensitive())]);
        assert_eq!(v.to_string(), "{key = (sensitive value)}");
        assert!(v.is_sensitive());
    }
}
