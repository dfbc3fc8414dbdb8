//! Reading a function's arguments, and its errors: shared by every family of functions.

use std::collections::BTreeMap;
use std::path::Path;

use inferform_types::value::format_number;
use inferform_types::{Number, Value};

/// Why a call failed.
pub struct FuncError {
    pub message: String,
    pub help: String,
}

pub(crate) fn err(message: impl Into<String>, help: impl Into<String>) -> FuncError {
    FuncError {
        message: message.into(),
        help: help.into(),
    }
}

pub(crate) fn arity(name: &str, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(err(
            format!("takes {n} argument(s), got {}", args.len()),
            format!("check the call to {name}()"),
        ))
    }
}

pub(crate) fn string(v: &Value, what: &str) -> Result<String, FuncError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(format_number(*n)),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(err(
            format!("{what} must be a string, got {}", other.kind()),
            "pass a string",
        )),
    }
}

/// A number argument as a float, for what floats serve (indexes, sizes, logarithms).
pub(crate) fn number(v: &Value, what: &str) -> Result<f64, FuncError> {
    exact(v, what).map(Number::to_f64)
}

/// A number argument exactly, for results that must keep every digit.
pub(crate) fn exact(v: &Value, what: &str) -> Result<Number, FuncError> {
    match v {
        Value::Number(n) => Ok(*n),
        Value::String(s) => Number::parse(s).ok_or_else(|| {
            err(
                format!("{what} must be a number, got {}", crate::suggest::quoted(s)),
                "pass a number",
            )
        }),
        other => Err(err(
            format!("{what} must be a number, got {}", other.kind()),
            "pass a number",
        )),
    }
}

/// A list argument; a set is taken as a list in its own order, as Terraform converts one.
pub(crate) fn list(v: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::List(items) | Value::Set(items) => Ok(items.clone()),
        other => Err(err(
            format!("{what} must be a list, got {}", other.kind()),
            "pass a list or set",
        )),
    }
}

/// A list argument where a position matters (`element`, `slice`, `concat`...): Terraform
/// takes no set there, since a set's elements have no position.
pub(crate) fn sequence(v: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::Set(_) => Err(err(
            format!("{what} must be a list, got a set"),
            "convert the set with tolist(), which orders its elements",
        )),
        v => list(v, what),
    }
}

/// A whole number argument (an index, a size).
pub(crate) fn whole(v: &Value, what: &str) -> Result<i64, FuncError> {
    let n = number(v, what)?;
    if n.fract() != 0.0 {
        return Err(err(
            format!("{what} must be a whole number, got {n}"),
            "pass a whole number",
        ));
    }
    Ok(n as i64)
}

pub(crate) fn map(v: &Value, what: &str) -> Result<BTreeMap<String, Value>, FuncError> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        other => Err(err(
            format!("{what} must be a map or object, got {}", other.kind()),
            "pass a map",
        )),
    }
}

pub(crate) fn strings(items: &[Value]) -> Result<Vec<String>, FuncError> {
    items.iter().map(|v| string(v, "each element")).collect()
}

/// A file's text; the path is relative to the configuration's directory.
pub(crate) fn read_file(path: &str, base_dir: Option<&Path>) -> Result<String, FuncError> {
    String::from_utf8(read_bytes(path, base_dir)?).map_err(|_| {
        err(
            format!("cannot read {path}: it is not UTF-8 text"),
            "use filebase64() for a file that is not text",
        )
    })
}

/// A file's bytes; the path is relative to the configuration's directory.
pub(crate) fn read_bytes(path: &str, base_dir: Option<&Path>) -> Result<Vec<u8>, FuncError> {
    let full = match base_dir {
        Some(dir) if Path::new(path).is_relative() => dir.join(path),
        _ => Path::new(path).to_path_buf(),
    };
    std::fs::read(&full).map_err(|e| {
        err(
            format!("cannot read {path}: {}", io_reason(&e)),
            "paths are relative to the configuration directory",
        )
    })
}

/// Why a file could not be read, in words rather than the system's code (`os error 2`).
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "there is no such file".into(),
        K::PermissionDenied => "permission is denied".into(),
        K::IsADirectory => "it is a directory".into(),
        K::InvalidData => "it is not UTF-8 text".into(),
        other => other.to_string(),
    }
}

/// Why a JSON text could not be read, with where, in words rather than the parser's.
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Eof => format!("the text ends early, at {at}"),
        Category::Syntax => {
            // serde_json's own words say what is wrong ("key must be a string"); its
            // position is written the same way as everywhere else here.
            let text = e.to_string();
            let what = text.split(" at line ").next().unwrap_or("invalid syntax");
            format!("{what}, at {at}")
        }
        Category::Data => format!("a value does not fit, at {at}"),
        Category::Io => "it could not be read".into(),
    }
}
