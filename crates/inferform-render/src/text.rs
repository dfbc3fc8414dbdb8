//! Values as HCL-like text, and the few ANSI styles the terminal output uses.

use inferform_engine::Action;
use inferform_types::Value;

/// ANSI styling, off when colours are off.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }

    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }

    pub fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }

    pub fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }

    pub fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }

    /// Colours text the way its action is coloured: green add, yellow change, red destroy.
    pub fn action(&self, action: Action, s: &str) -> String {
        match action {
            Action::Create => self.green(s),
            Action::Update => self.yellow(s),
            Action::Replace { .. } | Action::Delete => self.red(s),
            Action::Read | Action::NoOp | Action::Forget => s.to_string(),
        }
    }
}

/// Formats a value as HCL, multi-line for non-empty lists and objects, with nested lines
/// indented by `indent` spaces. Sensitive parts print as `(sensitive value)`.
pub fn format_value(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => inferform_types::value::format_number(*n),
        Value::String(s) if s.contains('\n') => {
            let pad = " ".repeat(indent);
            let mut out = String::from("<<-EOT\n");
            for line in s.trim_end_matches('\n').split('\n') {
                out.push_str(&format!("{pad}    {line}\n"));
            }
            out.push_str(&format!("{pad}EOT"));
            out
        }
        Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::Unknown => "(known after apply)".into(),
        Value::Sensitive(_) => "(sensitive value)".into(),
        Value::List(items) | Value::Set(items) if items.is_empty() => "[]".into(),
        Value::List(items) | Value::Set(items) => {
            let pad = " ".repeat(indent);
            let mut out = String::from("[\n");
            for item in items {
                out.push_str(&format!("{pad}    {},\n", format_value(item, indent + 4)));
            }
            out.push_str(&format!("{pad}]"));
            out
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let pad = " ".repeat(indent);
            let width = map.keys().map(|k| key(k).len()).max().unwrap_or(0);
            let mut out = String::from("{\n");
            for (k, v) in map {
                out.push_str(&format!(
                    "{pad}    {:width$} = {}\n",
                    key(k),
                    format_value(v, indent + 4)
                ));
            }
            out.push_str(&format!("{pad}}}"));
            out
        }
    }
}

/// A value as `inferform console` (and Terraform's console) prints it: two-space indents,
/// every object key quoted, multi-line strings as heredocs.
pub fn console_value(v: &Value) -> String {
    console_at(v, 0)
}

fn console_at(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let inner = " ".repeat(indent + 2);
    match v {
        Value::String(s) if s.contains('\n') => {
            let (open, line_pad) = if indent == 0 {
                ("<<EOT", "")
            } else {
                ("<<-EOT", pad.as_str())
            };
            let mut out = format!("{open}\n");
            let body = if indent == 0 {
                s.strip_suffix('\n').unwrap_or(s)
            } else {
                s
            };
            for line in body.split('\n') {
                out.push_str(&format!("{line_pad}{line}\n"));
            }
            out.push_str(&format!("{line_pad}EOT"));
            out
        }
        Value::List(items) if !items.is_empty() => {
            let mut out = String::from("[\n");
            for item in items {
                out.push_str(&format!("{inner}{},\n", console_at(item, indent + 2)));
            }
            out.push_str(&format!("{pad}]"));
            out
        }
        // A set shows itself as Terraform's console does, as the call that makes one.
        Value::Set(items) => {
            let mut out = String::from("toset([");
            if !items.is_empty() {
                out.push('\n');
                for item in items {
                    out.push_str(&format!("{inner}{},\n", console_at(item, indent + 2)));
                }
                out.push_str(&pad);
            }
            out.push_str("])");
            out
        }
        Value::Object(map) if !map.is_empty() => {
            let mut out = String::from("{\n");
            for (k, item) in map {
                let k = serde_json::Value::String(k.clone());
                out.push_str(&format!("{inner}{k} = {}\n", console_at(item, indent + 2)));
            }
            out.push_str(&format!("{pad}}}"));
            out
        }
        other => format_value(other, indent),
    }
}

fn key(k: &str) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ident {
        k.to_string()
    } else {
        serde_json::Value::String(k.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_nested_values() {
        let v = Value::object([
            ("a", Value::number(1.0)),
            ("long", Value::List(vec![Value::string("x")])),
            ("s", Value::string("k").sensitive()),
        ]);
        assert_eq!(
            format_value(&v, 0),
            "{\n    a    = 1\n    long = [\n        \"x\",\n    ]\n    s    = (sensitive value)\n}"
        );
    }
}
