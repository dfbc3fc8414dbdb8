//! `yamlencode`: YAML as Terraform writes it (block style, every string and key
//! double-quoted, multi-line strings as literal blocks, `...` after a lone plain scalar), so
//! that a file generated here is byte for byte the one Terraform would write.

use inferform_types::Value;

use super::args::{err, FuncError};

pub(super) fn encode(v: &Value) -> Result<String, FuncError> {
    let lines = match v {
        Value::Object(m) if !m.is_empty() => map_lines(m, 0)?,
        Value::List(l) if !l.is_empty() => list_lines(l, 0)?,
        Value::String(s) if s.contains('\n') => {
            let mut lines = vec![literal_header(s)];
            lines.extend(literal_lines(s, 2));
            lines
        }
        other => {
            let text = scalar(other)?;
            let plain = !matches!(other, Value::String(_));
            // A plain scalar alone is followed by the document end marker.
            if plain && !matches!(other, Value::List(_) | Value::Object(_)) {
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
        Value::List(_) => "[]".into(),
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
            Value::List(items) if !items.is_empty() => {
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
            Value::List(l) if !l.is_empty() => Some(list_lines(l, indent + 2)?),
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
