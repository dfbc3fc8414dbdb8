//! Type constraints (`list(string)`, `object({ name = string })`) and value conversion to
//! them, as Terraform converts: numbers and bools to strings and back where it is safe.

use std::collections::BTreeMap;

use hcl_edit::expr::{Expression, ObjectKey};
use inferform_types::{Type, Value};

/// Parses a type constraint expression as written in a `variable` block.
pub fn parse_type(expr: &Expression) -> Result<Type, String> {
    match expr {
        Expression::Variable(v) => match v.as_str() {
            "string" => Ok(Type::String),
            "number" => Ok(Type::Number),
            "bool" => Ok(Type::Bool),
            "any" => Ok(Type::Any),
            "list" | "set" | "map" => Ok(collection(v.as_str(), Type::Any)),
            other => Err(format!("unknown type `{other}`")),
        },
        Expression::FuncCall(call) => {
            let name = call.name.name.as_str();
            let args: Vec<&Expression> = call.args.iter().collect();
            match (name, args.as_slice()) {
                ("list" | "set" | "map", [inner]) => Ok(collection(name, parse_type(inner)?)),
                ("object", [Expression::Object(fields)]) => {
                    let mut out = BTreeMap::new();
                    for (key, value) in fields.iter() {
                        let key = match key {
                            ObjectKey::Ident(i) => i.as_str().to_string(),
                            ObjectKey::Expression(Expression::String(s)) => s.as_str().to_string(),
                            _ => return Err("object attribute names must be identifiers".into()),
                        };
                        let inner = match value.expr() {
                            Expression::FuncCall(c) if c.name.name.as_str() == "optional" => {
                                let first =
                                    c.args.iter().next().ok_or("optional() needs a type")?;
                                parse_type(first)?
                            }
                            e => parse_type(e)?,
                        };
                        out.insert(key, inner);
                    }
                    Ok(Type::Object(out))
                }
                ("tuple", [Expression::Array(items)]) => {
                    // A tuple is checked as a list of its element types' common shape.
                    let types: Result<Vec<Type>, String> = items.iter().map(parse_type).collect();
                    let types = types?;
                    let first = types.first().cloned().unwrap_or(Type::Any);
                    let same = types.iter().all(|t| *t == first);
                    Ok(Type::list(if same { first } else { Type::Any }))
                }
                _ => Err(format!("`{name}(...)` is not a type")),
            }
        }
        _ => Err("expected a type such as string or list(string)".into()),
    }
}

fn collection(kind: &str, inner: Type) -> Type {
    match kind {
        "list" => Type::List(Box::new(inner)),
        "set" => Type::Set(Box::new(inner)),
        _ => Type::Map(Box::new(inner)),
    }
}

/// Converts a value to a type, or says why it cannot. Unknown and null values pass; marks
/// are kept.
pub fn convert(value: Value, ty: &Type) -> Result<Value, String> {
    if let Value::Sensitive(inner) = value {
        // The reason must not show the value.
        return convert(*inner, ty).map(Value::sensitive).map_err(|_| {
            format!(
                "{} required; the sensitive value given is not one",
                article(ty)
            )
        });
    }
    if matches!(value, Value::Unknown | Value::Null) || *ty == Type::Any {
        return Ok(value);
    }
    match (ty, value) {
        (Type::String, Value::String(s)) => Ok(Value::String(s)),
        (Type::String, Value::Number(n)) => {
            Ok(Value::String(inferform_types::value::format_number(n)))
        }
        (Type::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (Type::Number, Value::Number(n)) => Ok(Value::Number(n)),
        (Type::Number, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map(Value::Number)
            .map_err(|_| format!("a number is required, got the string {}", quoted(&s))),
        (Type::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
        (Type::Bool, Value::String(s)) if s == "true" || s == "false" => {
            Ok(Value::Bool(s == "true"))
        }
        (Type::List(inner) | Type::Set(inner), Value::List(items)) => {
            let mut out: Vec<Value> = items
                .into_iter()
                .map(|v| convert(v, inner))
                .collect::<Result<_, _>>()?;
            if matches!(ty, Type::Set(_)) {
                let mut unique: Vec<Value> = Vec::with_capacity(out.len());
                for v in out.drain(..) {
                    if !unique.contains(&v) {
                        unique.push(v);
                    }
                }
                out = unique;
            }
            Ok(Value::List(out))
        }
        (Type::Map(inner), Value::Object(map)) => Ok(Value::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, convert(v, inner)?)))
                .collect::<Result<_, String>>()?,
        )),
        (Type::Object(fields), Value::Object(mut map)) => {
            let mut out = BTreeMap::new();
            for (name, fty) in fields {
                let v = map.remove(name).unwrap_or(Value::Null);
                out.insert(
                    name.clone(),
                    convert(v, fty).map_err(|e| format!("attribute `{name}`: {e}"))?,
                );
            }
            Ok(Value::Object(out))
        }
        (ty, value) => Err(format!("{} required, got {}", article(ty), value.kind())),
    }
}

fn article(ty: &Type) -> String {
    let d = ty.display();
    match d.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {d}"),
        _ => format!("a {d}"),
    }
}

/// A string from the input, quoted for a message, cut to 60 characters: values can be as long
/// as the input, and a message must stay a line or two.
pub fn quoted(s: &str) -> String {
    const LIMIT: usize = 60;
    let count = s.chars().count();
    if count <= LIMIT {
        return format!("{s:?}");
    }
    let kept: String = s.chars().take(LIMIT).collect();
    format!("{kept:?}… ({count} characters)")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sensitive_value_that_does_not_convert_is_not_shown() {
        let err = super::convert(Value::string("hunter2").sensitive(), &Type::Number).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        let list = Value::List(vec![Value::string("hunter2").sensitive()]);
        let err = super::convert(list, &Type::List(Box::new(Type::Bool))).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    use super::*;

    fn ty(src: &str) -> Type {
        parse_type(&hcl_edit::parser::parse_expr(src).unwrap()).unwrap()
    }

    #[test]
    fn parses_types() {
        assert_eq!(ty("list(string)"), Type::list(Type::String));
        assert_eq!(ty("map(number)"), Type::map(Type::Number));
        let obj = ty("object({ name = string, size = optional(number) })");
        assert_eq!(obj.display(), "object({name = string, size = number})");
    }

    #[test]
    fn converts_scalars() {
        assert_eq!(
            convert(Value::Number(3.0), &Type::String).unwrap(),
            Value::string("3")
        );
        assert_eq!(
            convert(Value::string("4"), &Type::Number).unwrap(),
            Value::Number(4.0)
        );
        assert!(convert(Value::string("x"), &Type::Number).is_err());
        assert!(convert(Value::List(vec![]), &Type::String).is_err());
    }
}
