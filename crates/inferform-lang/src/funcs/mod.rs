//! Built-in functions. Each takes evaluated arguments; an unknown argument makes the result
//! unknown, a sensitive argument makes it sensitive. `try` and `can` live in the evaluator
//! because they must see errors.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use inferform_types::{Number, Value};
use sha2::Digest;

pub use args::FuncError;
use args::{arity, err, exact, list, map, number, read_file, sequence, string, strings};
use format::format;

mod args;
mod collections;
mod crypto;
mod encoding;
mod format;
mod network;
mod numbers;
mod paths;
mod text;
mod time;
mod yaml;

/// Every function name, for docs and did-you-mean.
pub const NAMES: &[&str] = &[
    "abs",
    "abspath",
    "alltrue",
    "anytrue",
    "base64decode",
    "base64encode",
    "base64gzip",
    "base64sha256",
    "base64sha512",
    "basename",
    "bcrypt",
    "can",
    "ceil",
    "chomp",
    "chunklist",
    "cidrhost",
    "cidrnetmask",
    "cidrsubnet",
    "cidrsubnets",
    "coalesce",
    "coalescelist",
    "compact",
    "concat",
    "contains",
    "csvdecode",
    "dirname",
    "distinct",
    "element",
    "endswith",
    "ephemeralasnull",
    "file",
    "filebase64",
    "filebase64sha256",
    "filebase64sha512",
    "fileexists",
    "fileset",
    "filemd5",
    "filesha1",
    "filesha256",
    "filesha512",
    "flatten",
    "floor",
    "format",
    "formatdate",
    "formatlist",
    "indent",
    "index",
    "issensitive",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "log",
    "lookup",
    "lower",
    "matchkeys",
    "max",
    "md5",
    "merge",
    "min",
    "nonsensitive",
    "one",
    "parseint",
    "pathexpand",
    "plantimestamp",
    "pow",
    "range",
    "regex",
    "regexall",
    "replace",
    "reverse",
    "rsadecrypt",
    "sensitive",
    "setintersection",
    "setproduct",
    "setsubtract",
    "setunion",
    "sha1",
    "sha256",
    "sha512",
    "signum",
    "slice",
    "sort",
    "split",
    "startswith",
    "strcontains",
    "strrev",
    "substr",
    "sum",
    "templatefile",
    "templatestring",
    "textdecodebase64",
    "textencodebase64",
    "timeadd",
    "timecmp",
    "timestamp",
    "title",
    "tobool",
    "tolist",
    "tomap",
    "tonumber",
    "toset",
    "tostring",
    "transpose",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "try",
    "upper",
    "urlencode",
    "uuid",
    "uuidv5",
    "values",
    "yamldecode",
    "yamlencode",
    "zipmap",
];

/// A template's text parsed as an expression, evaluated with these variables as its only
/// names: the evaluator's own work, handed to the functions by [`Caller`].
pub(crate) type EvalTemplate<'c> =
    &'c dyn Fn(&crate::config::Expr, &BTreeMap<String, Value>) -> Result<Value, String>;

/// What the functions take from the expression that calls them: the directory relative
/// paths are read from, and the evaluator that `templatefile` and `templatestring` need.
/// The evaluator calls the functions; passing it in keeps the functions from naming it
/// back, so the two modules do not depend on each other in a circle.
#[derive(Clone, Copy)]
pub(crate) struct Caller<'c> {
    pub base_dir: Option<&'c Path>,
    pub eval_template: EvalTemplate<'c>,
}

pub(crate) fn call(name: &str, args: Vec<Value>, caller: &Caller) -> Result<Value, FuncError> {
    if !NAMES.contains(&name) {
        let help = match crate::suggest::did_you_mean(name, NAMES.iter().copied()) {
            Some(s) => format!("did you mean {s}()?"),
            None => "see the README for the list of built-in functions".into(),
        };
        return Err(err(format!("there is no function named `{name}`"), help));
    }
    if args.iter().any(|a| a.is_unknown())
        && !matches!(name, "coalesce" | "length" | "concat" | "merge")
    {
        return Ok(Value::Unknown);
    }
    // Marking functions work on the marks themselves.
    match name {
        "sensitive" => {
            return args::arity(name, &args, 1).map(|_| args[0].clone().sensitive());
        }
        "nonsensitive" => {
            return args::arity(name, &args, 1).map(|_| args[0].deep_unmarked());
        }
        "issensitive" => {
            return args::arity(name, &args, 1).map(|_| Value::Bool(args[0].is_sensitive()));
        }
        // inferform has no ephemeral values: every value is kept as it is.
        "ephemeralasnull" => {
            return args::arity(name, &args, 1).map(|_| args[0].clone());
        }
        _ => {}
    }
    let sensitive = args.iter().any(Value::is_sensitive);
    let args: Vec<Value> = args.iter().map(Value::deep_unmarked).collect();
    let out = dispatch(name, args, caller)?;
    Ok(if sensitive { out.sensitive() } else { out })
}

fn dispatch(name: &str, args: Vec<Value>, caller: &Caller) -> Result<Value, FuncError> {
    let (a, base_dir) = (args.as_slice(), caller.base_dir);
    Ok(match name {
        "abs" => {
            arity(name, a, 1)?;
            Value::Number(exact(&a[0], "the argument")?.abs())
        }
        "ceil" => {
            arity(name, a, 1)?;
            Value::Number(exact(&a[0], "the argument")?.ceil())
        }
        "floor" => {
            arity(name, a, 1)?;
            Value::Number(exact(&a[0], "the argument")?.floor())
        }
        "min" | "max" => {
            let nums: Vec<Number> = a
                .iter()
                .map(|v| exact(v, "each argument"))
                .collect::<Result<_, _>>()?;
            let pick = nums.iter().copied().reduce(|x, y| {
                let first = if name == "min" { x <= y } else { x >= y };
                if first {
                    x
                } else {
                    y
                }
            });
            Value::Number(
                pick.ok_or_else(|| {
                    err("needs at least one argument", format!("write {name}(1, 2)"))
                })?,
            )
        }
        "tonumber" => {
            arity(name, a, 1)?;
            match &a[0] {
                Value::Null => Value::Null,
                v => Value::Number(exact(v, "the argument")?),
            }
        }
        "tostring" => {
            arity(name, a, 1)?;
            match &a[0] {
                Value::Null => Value::Null,
                v => Value::String(string(v, "the argument")?),
            }
        }
        "lower" | "upper" | "trimspace" | "chomp" | "title" => {
            arity(name, a, 1)?;
            let s = string(&a[0], "the argument")?;
            Value::String(match name {
                "lower" => text::lower(&s),
                "upper" => text::upper(&s),
                "trimspace" => s.trim().to_string(),
                "chomp" => s.trim_end_matches(['\n', '\r']).to_string(),
                _ => text::title(&s),
            })
        }
        "trim" | "trimprefix" | "trimsuffix" | "startswith" | "endswith" => {
            arity(name, a, 2)?;
            let s = string(&a[0], "the first argument")?;
            let t = string(&a[1], "the second argument")?;
            match name {
                "trim" => Value::String(s.trim_matches(|c| t.contains(c)).to_string()),
                "trimprefix" => Value::String(s.strip_prefix(t.as_str()).unwrap_or(&s).to_string()),
                "trimsuffix" => Value::String(s.strip_suffix(t.as_str()).unwrap_or(&s).to_string()),
                "startswith" => Value::Bool(s.starts_with(&t)),
                _ => Value::Bool(s.ends_with(&t)),
            }
        }
        "replace" => {
            arity(name, a, 3)?;
            Value::String(text::replace(
                &string(&a[0], "the string")?,
                &string(&a[1], "the search string")?,
                &string(&a[2], "the replacement")?,
            )?)
        }
        "substr" => {
            arity(name, a, 3)?;
            let whole = string(&a[0], "the string")?;
            let chars = text::graphemes(&whole);
            let offset = number(&a[1], "the offset")?;
            let length = number(&a[2], "the length")?;
            let len = chars.len() as i64;
            let mut start = offset as i64;
            if start < 0 {
                start += len;
            }
            let start = start.clamp(0, len) as usize;
            let end = if length < 0.0 {
                chars.len()
            } else {
                start.saturating_add(length as usize).min(chars.len())
            };
            Value::String(chars[start..end].concat())
        }
        "format" => {
            let (fmt, rest) = a
                .split_first()
                .ok_or_else(|| err("needs a format string", "write format(\"%s-%d\", a, b)"))?;
            Value::String(format(&string(fmt, "the format")?, rest)?)
        }
        "join" => {
            arity(name, a, 2)?;
            Value::String(
                strings(&list(&a[1], "the second argument")?)?
                    .join(&string(&a[0], "the separator")?),
            )
        }
        "split" => {
            arity(name, a, 2)?;
            let sep = string(&a[0], "the separator")?;
            let s = string(&a[1], "the string")?;
            // As Terraform: splitting "" gives one empty string, and an empty separator
            // splits between every character.
            if sep.is_empty() {
                Value::List(s.chars().map(|c| Value::String(c.to_string())).collect())
            } else {
                Value::List(s.split(sep.as_str()).map(Value::string).collect())
            }
        }
        "length" => {
            arity(name, a, 1)?;
            match &a[0] {
                Value::List(items) | Value::Set(items) => Value::number(items.len()),
                Value::Object(m) => Value::number(m.len()),
                Value::String(s) => Value::number(text::graphemes(s).len()),
                Value::Unknown => Value::Unknown,
                other => {
                    return Err(err(
                        format!("cannot take the length of a {}", other.kind()),
                        "pass a list, map or string",
                    ))
                }
            }
        }
        "keys" | "values" => {
            arity(name, a, 1)?;
            let m = map(&a[0], "the argument")?;
            Value::List(if name == "keys" {
                m.into_keys().map(Value::String).collect()
            } else {
                m.into_values().collect()
            })
        }
        "merge" => {
            if a.iter().any(Value::is_unknown) {
                return Ok(Value::Unknown);
            }
            let mut out = BTreeMap::new();
            for v in a {
                if !v.is_null() {
                    out.extend(map(v, "each argument")?);
                }
            }
            Value::Object(out)
        }
        "lookup" => {
            if a.len() != 2 && a.len() != 3 {
                return Err(err(
                    "takes 2 or 3 arguments",
                    "write lookup(map, key, default)",
                ));
            }
            let m = map(&a[0], "the first argument")?;
            let k = string(&a[1], "the key")?;
            match (m.get(&k), a.get(2)) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) => {
                    return Err(err(
                        format!("the map has no key {k:?}"),
                        "pass a default as the third argument",
                    ))
                }
            }
        }
        "concat" => {
            if a.iter().any(Value::is_unknown) {
                return Ok(Value::Unknown);
            }
            let mut out = Vec::new();
            for v in a {
                out.extend(sequence(v, "each argument")?);
            }
            Value::List(out)
        }
        "flatten" => {
            arity(name, a, 1)?;
            fn flat(v: &Value, out: &mut Vec<Value>) {
                match v {
                    Value::List(items) | Value::Set(items) => {
                        items.iter().for_each(|i| flat(i, out))
                    }
                    v => out.push(v.clone()),
                }
            }
            let mut out = Vec::new();
            for item in list(&a[0], "the argument")? {
                flat(&item, &mut out);
            }
            Value::List(out)
        }
        "distinct" => {
            arity(name, a, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in collections::unify(list(&a[0], "the argument")?)? {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Value::List(out)
        }
        // A set: its elements of one type, unique, in Terraform's order.
        "toset" => {
            arity(name, a, 1)?;
            Value::set(collections::unify(list(&a[0], "the argument")?)?)
        }
        "tolist" => {
            arity(name, a, 1)?;
            Value::List(collections::unify(list(&a[0], "the argument")?)?)
        }
        "tomap" => {
            arity(name, a, 1)?;
            let m = map(&a[0], "the argument")?;
            let (keys, values): (Vec<String>, Vec<Value>) = m.into_iter().unzip();
            Value::Object(keys.into_iter().zip(collections::unify(values)?).collect())
        }
        "reverse" => {
            arity(name, a, 1)?;
            let mut l = list(&a[0], "the argument")?;
            l.reverse();
            Value::List(l)
        }
        "sort" => {
            arity(name, a, 1)?;
            let mut l = strings(&list(&a[0], "the argument")?)?;
            l.sort();
            Value::List(l.into_iter().map(Value::String).collect())
        }
        "compact" => {
            arity(name, a, 1)?;
            Value::List(
                list(&a[0], "the argument")?
                    .into_iter()
                    .filter(|v| !v.is_null() && v.as_str() != Some(""))
                    .collect(),
            )
        }
        "contains" => {
            arity(name, a, 2)?;
            Value::Bool(list(&a[0], "the first argument")?.contains(&a[1]))
        }
        "element" => {
            arity(name, a, 2)?;
            let l = sequence(&a[0], "the first argument")?;
            if l.is_empty() {
                return Err(err(
                    "cannot take an element of an empty list",
                    "check the list is not empty",
                ));
            }
            let i = number(&a[1], "the index")?;
            if i.fract() != 0.0 {
                return Err(err(
                    format!("the index must be a whole number, got {i}"),
                    "pass a whole number",
                ));
            }
            if i < 0.0 {
                return Err(err(
                    "the index must not be negative",
                    "pass an index of 0 or more",
                ));
            }
            l[(i as usize) % l.len()].clone()
        }
        "zipmap" => {
            arity(name, a, 2)?;
            let keys = strings(&list(&a[0], "the keys")?)?;
            let values = list(&a[1], "the values")?;
            if keys.len() != values.len() {
                return Err(err(
                    format!("{} keys but {} values", keys.len(), values.len()),
                    "pass lists of the same length",
                ));
            }
            Value::Object(keys.into_iter().zip(values).collect())
        }
        "range" => {
            let nums: Vec<f64> = a
                .iter()
                .map(|v| number(v, "each argument"))
                .collect::<Result<_, _>>()?;
            let (start, end, step) = match nums.as_slice() {
                [e] => (0.0, *e, if *e < 0.0 { -1.0 } else { 1.0 }),
                [s, e] => (*s, *e, if s <= e { 1.0 } else { -1.0 }),
                [s, e, st] => (*s, *e, *st),
                _ => {
                    return Err(err(
                        "takes 1 to 3 arguments",
                        "write range(5), range(1, 5) or range(0, 10, 2)",
                    ))
                }
            };
            if step == 0.0 || (step > 0.0 && start > end) || (step < 0.0 && start < end) {
                return Err(err(
                    "the step does not move from start towards end",
                    "check the signs of the arguments",
                ));
            }
            let mut out = Vec::new();
            let mut x = start;
            while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
                if out.len() >= 1024 {
                    return Err(err(
                        "range() gives at most 1024 numbers, as Terraform's does",
                        "ask for fewer numbers, or a larger step",
                    ));
                }
                out.push(Value::number(x));
                x += step;
            }
            Value::List(out)
        }
        "coalesce" => {
            for v in &collections::unify(a.to_vec())? {
                if v.is_unknown() {
                    return Ok(Value::Unknown);
                }
                if !v.is_null() && v.as_str() != Some("") {
                    return Ok(v.clone());
                }
            }
            return Err(err(
                "no argument is set",
                "add a last argument that is never null",
            ));
        }
        "jsonencode" => {
            arity(name, a, 1)?;
            if !a[0].is_wholly_known() {
                return Ok(Value::Unknown);
            }
            Value::String(text::json_escaped(&encoding::json_text(&a[0])))
        }
        "jsondecode" => {
            arity(name, a, 1)?;
            let s = string(&a[0], "the argument")?;
            let j: serde_json::Value = serde_json::from_str(&s).map_err(|e| {
                err(
                    format!("not valid JSON: {}", args::json_reason(&e)),
                    "check the JSON text",
                )
            })?;
            Value::from_json(&j)
        }
        "base64encode" => {
            arity(name, a, 1)?;
            Value::String(
                base64::engine::general_purpose::STANDARD.encode(string(&a[0], "the argument")?),
            )
        }
        "base64decode" => {
            arity(name, a, 1)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(string(&a[0], "the argument")?)
                .map_err(|e| {
                    let why = match e {
                        base64::DecodeError::InvalidByte(at, _) => {
                            format!("a character base64 does not use, at offset {at}")
                        }
                        base64::DecodeError::InvalidLength(_) => {
                            "its length is not one base64 can have".to_string()
                        }
                        _ => "its padding or last character is wrong".to_string(),
                    };
                    err(format!("not valid base64: {why}"), "check the encoded text")
                })?;
            Value::String(
                String::from_utf8(bytes)
                    .map_err(|_| err("the decoded bytes are not UTF-8 text", "decode text only"))?,
            )
        }
        "sha256" => {
            arity(name, a, 1)?;
            Value::String(hex::encode(sha2::Sha256::digest(
                string(&a[0], "the argument")?.as_bytes(),
            )))
        }
        "file" => {
            arity(name, a, 1)?;
            Value::String(read_file(&string(&a[0], "the path")?, base_dir)?)
        }
        "templatefile" => {
            arity(name, a, 2)?;
            let text = read_file(&string(&a[0], "the path")?, base_dir)?;
            render_template(&text, map(&a[1], "the variables")?, caller)?
        }
        "templatestring" => {
            arity(name, a, 2)?;
            let text = string(&a[0], "the template")?;
            render_template(&text, map(&a[1], "the variables")?, caller)?
        }
        other => {
            return numbers::dispatch(other, a)
                .or_else(|| text::dispatch(other, a))
                .or_else(|| collections::dispatch(other, a))
                .or_else(|| encoding::dispatch(other, a, base_dir))
                .or_else(|| crypto::dispatch(other, a))
                .or_else(|| network::dispatch(other, a))
                .or_else(|| paths::dispatch(other, a, base_dir))
                .or_else(|| time::dispatch(other, a))
                .unwrap_or_else(|| {
                    Err(err(
                        format!("there is no function named `{other}`"),
                        "see the README",
                    ))
                })
        }
    })
}

/// `templatefile` and `templatestring`: the template's text evaluated with `vars` as its only
/// names. The result is always a string, as Terraform's: a template that is one
/// interpolation gives its value as text.
fn render_template(
    text: &str,
    vars: BTreeMap<String, Value>,
    caller: &Caller,
) -> Result<Value, FuncError> {
    let template = hcl_edit::parser::parse_template(text).map_err(|e| {
        err(
            format!("the template does not parse: {}", e.message()),
            "check the template syntax",
        )
    })?;
    let source = crate::config::Source {
        name: "template".into(),
        text: text.into(),
    };
    let expr = crate::config::Expr {
        expr: hcl_edit::expr::Expression::StringTemplate(hcl_edit::template::StringTemplate::from(
            template.iter().cloned().collect::<Vec<_>>(),
        )),
        source,
    };
    let value = (caller.eval_template)(&expr, &vars)
        .map_err(|message| err(message, "check the template's references"))?;
    match value {
        Value::String(_) | Value::Unknown => Ok(value),
        Value::Number(_) | Value::Bool(_) => Ok(Value::String(string(&value, "the result")?)),
        other => Err(err(
            format!("the template gives a {}, not text", other.kind()),
            "interpolate a string, number or bool, or use jsonencode()",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A caller without a directory; templates are tested through the evaluator, in
    /// `tests/functions.rs`.
    fn call(name: &str, args: Vec<Value>, _: Option<&Path>) -> Result<Value, FuncError> {
        let no_templates = |_: &crate::config::Expr, _: &BTreeMap<String, Value>| {
            Err("no templates here".to_string())
        };
        let caller = Caller {
            base_dir: None,
            eval_template: &no_templates,
        };
        super::call(name, args, &caller)
    }

    fn f(name: &str, args: Vec<Value>) -> Value {
        call(name, args, None).unwrap_or_else(|e| panic!("{name}: {}", e.message))
    }

    #[test]
    fn string_functions() {
        assert_eq!(
            f(
                "format",
                vec![
                    Value::string("%s-%03d"),
                    Value::string("a"),
                    Value::number(7.0)
                ]
            ),
            Value::string("a-007")
        );
        assert_eq!(
            f(
                "join",
                vec![
                    Value::string(","),
                    Value::List(vec![Value::string("a"), Value::string("b")])
                ]
            ),
            Value::string("a,b")
        );
        assert_eq!(
            f(
                "substr",
                vec![
                    Value::string("hello"),
                    Value::number(1.0),
                    Value::number(3.0)
                ]
            ),
            Value::string("ell")
        );
        assert_eq!(
            f("sha256", vec![Value::string("")]),
            Value::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            f(
                "base64decode",
                vec![f("base64encode", vec![Value::string("hi")])]
            ),
            Value::string("hi")
        );
    }

    #[test]
    fn format_pads_as_go_does() {
        let args = vec![
            Value::string("%-4s|%5.1f|%05d|%3s"),
            Value::string("ab"),
            Value::number(2.6875),
            Value::number(-42.0),
            Value::string("x"),
        ];
        assert_eq!(f("format", args), Value::string("ab  |  2.7|-0042|  x"));
        let huge = vec![Value::string("%.99999999999f"), Value::number(1.0)];
        assert!(call("format", huge, None).is_err());
    }

    #[test]
    fn collection_functions() {
        let l = Value::List(vec![
            Value::number(1.0),
            Value::number(1.0),
            Value::number(2.0),
        ]);
        assert_eq!(f("length", vec![l.clone()]), Value::number(3.0));
        assert_eq!(
            f("distinct", vec![l.clone()]),
            Value::List(vec![Value::number(1.0), Value::number(2.0)])
        );
        assert_eq!(
            f("range", vec![Value::number(3.0)]),
            Value::List(vec![
                Value::number(0.0),
                Value::number(1.0),
                Value::number(2.0)
            ])
        );
        assert_eq!(
            f(
                "coalesce",
                vec![Value::Null, Value::string(""), Value::string("x")]
            ),
            Value::string("x")
        );
    }

    #[test]
    fn unknown_and_sensitive() {
        assert_eq!(f("upper", vec![Value::Unknown]), Value::Unknown);
        assert!(f("upper", vec![Value::string("k").sensitive()]).is_sensitive());
        assert!(call("nope", vec![], None).is_err());
    }
}
