//! String functions beyond the basic ones: `strrev`, `strcontains`, `indent`, `formatlist`,
//! `regex`, `regexall`, regular-expression `replace`, `urlencode`.

use std::collections::BTreeMap;

use inferform_types::Value;

use super::args::{arity, err, string, FuncError};
use super::format::format;

pub(super) fn dispatch(name: &str, a: &[Value]) -> Option<Result<Value, FuncError>> {
    Some(match name {
        "strrev" => arity(name, a, 1).and_then(|_| {
            Ok(Value::String(
                string(&a[0], "the argument")?.chars().rev().collect(),
            ))
        }),
        "strcontains" => arity(name, a, 2).and_then(|_| {
            let s = string(&a[0], "the string")?;
            Ok(Value::Bool(s.contains(&string(&a[1], "the substring")?)))
        }),
        "indent" => arity(name, a, 2).and_then(|_| {
            let n = super::args::whole(&a[0], "the number of spaces")?;
            if !(0..=1024).contains(&n) {
                return Err(err(
                    format!("the number of spaces must be from 0 to 1024, got {n}"),
                    "pass a whole number of spaces, such as 2",
                ));
            }
            let s = string(&a[1], "the string")?;
            let pad = " ".repeat(n as usize);
            Ok(Value::String(s.replace('\n', &format!("\n{pad}"))))
        }),
        "formatlist" => formatlist(a),
        "regex" => arity(name, a, 2).and_then(|_| {
            let re = pattern(&string(&a[0], "the pattern")?)?;
            let s = string(&a[1], "the string")?;
            let caps = re.captures(&s).ok_or_else(|| {
                err(
                    "the pattern did not match the string",
                    "use regexall to get an empty list when there is no match, or wrap in can()",
                )
            })?;
            Ok(captured(&re, &caps))
        }),
        "regexall" => arity(name, a, 2).and_then(|_| {
            let re = pattern(&string(&a[0], "the pattern")?)?;
            let s = string(&a[1], "the string")?;
            Ok(Value::List(
                re.captures_iter(&s).map(|c| captured(&re, &c)).collect(),
            ))
        }),
        "urlencode" => arity(name, a, 1).and_then(|_| {
            let s = string(&a[0], "the argument")?;
            Ok(Value::String(urlencode(&s)))
        }),
        _ => return None,
    })
}

/// The user-perceived characters of `s` (grapheme clusters), which `length`, `substr` and
/// `strrev` count as Terraform does: "é" written e + U+0301 is one.
pub(super) fn graphemes(s: &str) -> Vec<&str> {
    unicode_segmentation::UnicodeSegmentation::graphemes(s, true).collect()
}

/// Go's `strings.ToUpper`: each character on its own, so one with no single upper-case
/// character (ß) stays as it is.
pub(super) fn upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.ToLower`: each character on its own (no final sigma).
pub(super) fn lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut low = c.to_lowercase();
            match (low.next(), low.next()) {
                (Some(l), None) => l,
                // Go maps by single characters: İ's own lower case is a plain i (Rust's full
                // mapping adds a combining dot).
                _ if c == '\u{130}' => 'i',
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.Title`: a letter after anything but a letter, digit, underscore or mark
/// is made upper case ("hello-world" is "Hello-World").
pub(super) fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_separator = true;
    for c in s.chars() {
        if after_separator {
            out.push_str(&upper(&c.to_string()));
        } else {
            out.push(c);
        }
        after_separator = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            c.is_whitespace()
        };
    }
    out
}

/// JSON text as Go writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped, so the text is safe
/// inside HTML and JavaScript.
pub(super) fn json_escaped(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            other => out.push(other),
        }
    }
    out
}

/// `replace(s, search, replacement)`: a `search` written `/.../` is a regular expression,
/// and `$1` / `${name}` in the replacement name its groups (as Terraform).
pub(super) fn replace(s: &str, search: &str, replacement: &str) -> Result<String, FuncError> {
    match search
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .filter(|_| search.len() > 1)
    {
        Some(p) => Ok(pattern(p)?.replace_all(s, replacement).into_owned()),
        None => Ok(s.replace(search, replacement)),
    }
}

/// A regular expression in RE2 syntax, as Terraform reads them.
fn pattern(p: &str) -> Result<regex::Regex, FuncError> {
    regex::Regex::new(p).map_err(|e| {
        let why = match e {
            regex::Error::Syntax(s) => s.lines().last().unwrap_or_default().to_string(),
            regex::Error::CompiledTooBig(_) => "the pattern is too large".into(),
            _ => "the pattern is not valid".into(),
        };
        err(
            format!("invalid regular expression {p:?}: {why}"),
            "write the pattern in RE2 syntax, as Terraform does",
        )
    })
}

/// One match, as Terraform gives it: the whole match with no groups, a list of the groups
/// when they are unnamed, an object when they are named.
fn captured(re: &regex::Regex, caps: &regex::Captures) -> Value {
    let text = |m: Option<regex::Match>| m.map_or(Value::Null, |m| Value::string(m.as_str()));
    if re.captures_len() == 1 {
        return text(caps.get(0));
    }
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    if names.iter().any(Option::is_some) {
        let by_name: BTreeMap<String, Value> = names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (n.to_string(), text(caps.get(i + 1)))))
            .collect();
        Value::Object(by_name)
    } else {
        Value::List((1..re.captures_len()).map(|i| text(caps.get(i))).collect())
    }
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, a space becomes `+`, every
/// other byte `%XX`.
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `formatlist(fmt, ...)`: `format` once per element of the list arguments (which must be of
/// one length); other arguments repeat.
fn formatlist(a: &[Value]) -> Result<Value, FuncError> {
    let (fmt, rest) = a
        .split_first()
        .ok_or_else(|| err("needs a format string", "write formatlist(\"%s\", list)"))?;
    let fmt = string(fmt, "the format")?;
    let mut len: Option<usize> = None;
    for v in rest {
        if let Value::List(items) | Value::Set(items) = v {
            match len {
                Some(n) if n != items.len() => {
                    return Err(err(
                        format!(
                            "the list arguments differ in length ({n} and {})",
                            items.len()
                        ),
                        "pass lists of the same length",
                    ))
                }
                _ => len = Some(items.len()),
            }
        }
    }
    let Some(n) = len else {
        return Ok(Value::List(vec![Value::String(format(&fmt, rest)?)]));
    };
    (0..n)
        .map(|i| {
            let args: Vec<Value> = rest
                .iter()
                .map(|v| match v {
                    Value::List(items) | Value::Set(items) => items[i].clone(),
                    other => other.clone(),
                })
                .collect();
            format(&fmt, &args).map(Value::String)
        })
        .collect::<Result<_, _>>()
        .map(Value::List)
}
