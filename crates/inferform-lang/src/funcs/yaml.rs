//! `yamlencode`: YAML as Terraform writes it (block style, every string and key
//! double-quoted, multi-line strings as literal blocks, `...` after a lone plain scalar), so
//! that a file generated here is byte for byte the one Terraform would write.
//!
//! `yamldecode`: YAML read as Terraform reads it, with YAML 1.1's plain scalars (`yes`, `on`
//! and `y` are true, `~` is null, `0x1f` is a number), which a YAML 1.2 loader reads as
//! strings. yaml-rust2's event parser says how each scalar was written, so that a quoted
//! `"yes"` stays a string.

use std::collections::BTreeMap;

use inferform_types::{Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::args::{err, FuncError};

pub(super) fn encode(v: &Value) -> Result<String, FuncError> {
    let lines = match v {
        Value::Object(m) if !m.is_empty() => map_lines(m, 0)?,
        Value::List(l) | Value::Set(l) if !l.is_empty() => list_lines(l, 0)?,
        Value::String(s) if s.contains('\n') => {
            let mut lines = vec![literal_header(s)];
            lines.extend(literal_lines(s, 2));
            lines
        }
        other => {
            let text = scalar(other)?;
            let plain = !matches!(other, Value::String(_));
            // A plain scalar alone is followed by the document end marker.
            if plain && !matches!(other, Value::List(_) | Value::Set(_) | Value::Object(_)) {
                vec![text, "...".into()]
            } else {
                vec![text]
            }
        }
    };
    Ok(lines.join("\n") + "\n")
}

/// A value written on the line it belongs to: scalars, and empty collections.
fn scalar(v: &Value) -> Result<String, FuncError> {
    Ok(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s),
        Value::List(_) | Value::Set(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
        Value::Unknown | Value::Sensitive(_) => {
            return Err(err(
                "cannot encode a value that is unknown or sensitive",
                "encode values known at plan time",
            ))
        }
    })
}

fn map_lines(
    m: &std::collections::BTreeMap<String, Value>,
    indent: usize,
) -> Result<Vec<String>, FuncError> {
    let pad = " ".repeat(indent);
    let mut out = Vec::new();
    for (k, v) in m {
        let key = quoted(k);
        match v {
            Value::Object(inner) if !inner.is_empty() => {
                out.push(format!("{pad}{key}:"));
                out.extend(map_lines(inner, indent + 2)?);
            }
            // A list under a key starts at the key's own indent.
            Value::List(items) | Value::Set(items) if !items.is_empty() => {
                out.push(format!("{pad}{key}:"));
                out.extend(list_lines(items, indent)?);
            }
            Value::String(s) if s.contains('\n') => {
                out.push(format!("{pad}{key}: {}", literal_header(s)));
                out.extend(literal_lines(s, indent + 2));
            }
            other => out.push(format!("{pad}{key}: {}", scalar(other)?)),
        }
    }
    Ok(out)
}

fn list_lines(items: &[Value], indent: usize) -> Result<Vec<String>, FuncError> {
    let pad = " ".repeat(indent);
    let mut out = Vec::new();
    for v in items {
        let nested = match v {
            Value::Object(m) if !m.is_empty() => Some(map_lines(m, indent + 2)?),
            Value::List(l) | Value::Set(l) if !l.is_empty() => Some(list_lines(l, indent + 2)?),
            _ => None,
        };
        match (nested, v) {
            // The item's first line goes after the dash.
            (Some(lines), _) => {
                let mut lines = lines.into_iter();
                if let Some(first) = lines.next() {
                    out.push(format!("{pad}- {}", &first[indent + 2..]));
                }
                out.extend(lines);
            }
            (None, Value::String(s)) if s.contains('\n') => {
                out.push(format!("{pad}- {}", literal_header(s)));
                out.extend(literal_lines(s, indent + 2));
            }
            (None, other) => out.push(format!("{pad}- {}", scalar(other)?)),
        }
    }
    Ok(out)
}

/// `|-` when the text has no final line break, `|` with one, `|+` with more.
fn literal_header(s: &str) -> String {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    match trailing {
        0 => "|-".into(),
        1 => "|".into(),
        _ => "|+".into(),
    }
}

fn literal_lines(s: &str, indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    let body = s.strip_suffix('\n').unwrap_or(s);
    body.split('\n')
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("{pad}{line}")
            }
        })
        .collect()
}

/// A double-quoted YAML string: `"` and `\` escaped, control characters as escapes, every
/// other character as it is.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads the one document of `text` (an empty text is null, as in Terraform).
pub(super) fn decode(text: &str) -> Result<Value, FuncError> {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, true)
        .map_err(|e| {
            err(
                format!(
                    "not valid YAML: {}, at line {}, column {}",
                    e.info(),
                    e.marker().line(),
                    e.marker().col() + 1
                ),
                "check the YAML text",
            )
        })?;
    if let Some(problem) = builder.problem {
        return Err(err(problem, "check the YAML text"));
    }
    match builder.documents.len() {
        0 => Err(err(
            "the text holds no YAML document",
            "decode a text with one YAML value in it",
        )),
        1 => Ok(builder.documents.remove(0)),
        n => Err(err(
            format!("the text holds {n} YAML documents, not one"),
            "decode one document at a time",
        )),
    }
}

/// Builds values from the parser's events.
#[derive(Default)]
struct Builder {
    /// Open collections (a list, or a map with the key waiting for its value), each with
    /// its anchor id (0 for none).
    open: Vec<(Open, usize)>,
    documents: Vec<Value>,
    /// Anchored values, for the aliases that repeat them.
    anchors: BTreeMap<usize, Value>,
    problem: Option<String>,
}

enum Open {
    List(Vec<Value>),
    Map(BTreeMap<String, Value>, Option<String>),
}

impl Builder {
    fn finish(&mut self, v: Value, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, v.clone());
        }
        match self.open.last_mut().map(|(o, _)| o) {
            None => self.documents.push(v),
            Some(Open::List(items)) => items.push(v),
            Some(Open::Map(map, key)) => match key.take() {
                None => match v {
                    Value::String(k) => *key = Some(k),
                    Value::Null => *key = Some("null".into()),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    Value::Number(n) => *key = Some(n.to_string()),
                    _ => {
                        self.problem
                            .get_or_insert_with(|| "a map key must be a scalar".into());
                    }
                },
                Some(k) => {
                    map.insert(k, v);
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                // `!!str` keeps a plain scalar text; other tags leave it to its form.
                let as_text = tag.is_some_and(|t| t.suffix == "str");
                // Infinity and NaN are YAML numbers that no value can hold.
                if style == TScalarStyle::Plain && !as_text && non_finite(&text) {
                    self.problem.get_or_insert_with(|| {
                        format!("{text} is a YAML number that is not finite")
                    });
                    return;
                }
                let v = if style == TScalarStyle::Plain && !as_text {
                    plain(&text)
                } else {
                    Value::String(text)
                };
                self.finish(v, anchor);
            }
            Event::SequenceStart(anchor, _) => self.open.push((Open::List(Vec::new()), anchor)),
            Event::MappingStart(anchor, _) => {
                self.open.push((Open::Map(BTreeMap::new(), None), anchor))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (v, anchor) = match self.open.pop() {
                    Some((Open::List(items), a)) => (Value::List(items), a),
                    Some((Open::Map(map, _), a)) => (Value::Object(map), a),
                    None => return,
                };
                self.finish(v, anchor);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(v) => self.finish(v, 0),
                None => {
                    self.problem
                        .get_or_insert_with(|| "an alias names no anchor before it".into());
                }
            },
            _ => {}
        }
    }
}

fn non_finite(text: &str) -> bool {
    let t = text.trim_start_matches(['+', '-']);
    matches!(t, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN")
}

/// A plain scalar as Terraform reads it: null, YAML 1.1's bools, integers (decimal, `0x`,
/// `0o`), decimals, or else the text.
fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    let digits = text;
    let (sign, body) = match digits.strip_prefix('-') {
        Some(b) => (-1i128, b),
        None => (1, digits.strip_prefix('+').unwrap_or(digits)),
    };
    let radix = |b: &str, r: u32| i128::from_str_radix(b, r).ok().map(|n| n * sign);
    let integer = if let Some(h) = body.strip_prefix("0x") {
        radix(h, 16)
    } else if let Some(o) = body.strip_prefix("0o") {
        radix(o, 8)
    } else {
        None
    };
    if let Some(n) = integer.and_then(|n| Number::parse(&n.to_string())) {
        return Value::Number(n);
    }
    let numeric = !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    match Number::parse(digits.strip_prefix('+').unwrap_or(digits)) {
        Some(n) if numeric => Value::Number(n),
        _ => Value::String(text.to_string()),
    }
}
