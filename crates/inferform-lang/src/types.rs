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
                                optional(&key, c)?
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

/// `optional(type)` or `optional(type, default)` as the type of object attribute `key`: the
/// default must be a constant that converts to the type, checked here as Terraform does.
fn optional(key: &str, call: &hcl_edit::expr::FuncCall) -> Result<Type, String> {
    let args: Vec<&Expression> = call.args.iter().collect();
    let (of, default) = match args.as_slice() {
        [of] => (parse_type(of)?, None),
        [of, default] => (parse_type(of)?, Some(*default)),
        _ => return Err("optional() takes a type and, if wanted, a default value".into()),
    };
    let Some(default) = default else {
        return Ok(Type::Optional {
            of: Box::new(of),
            default: None,
        });
    };
    let expr = crate::config::Expr {
        expr: default.clone(),
        source: crate::config::Source {
            name: "<type>".into(),
            text: "".into(),
        },
    };
    let root = BTreeMap::new();
    let value = crate::eval::eval(&expr, &crate::eval::Scope::new(&root)).map_err(|d| {
        format!(
            "the default of optional attribute `{key}` must be a constant value: {}",
            d.message
        )
    })?;
    let value = convert(value, &of)
        .map_err(|e| format!("invalid default for optional attribute `{key}`: {e}"))?;
    let default =
        match value {
            Value::Null => None,
            v => Some(v.to_json().ok_or_else(|| {
                format!("the default of optional attribute `{key}` must be known")
            })?),
        };
    Ok(Type::Optional {
        of: Box::new(of),
        default,
    })
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
    if let Type::Optional { of, .. } = ty {
        return convert(value, of);
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
        (Type::Number, Value::String(s)) => inferform_types::Number::parse(&s)
            .map(Value::Number)
            .ok_or_else(|| {
                format!(
                    "a number is required, got the string {}",
                    crate::suggest::quoted(&s)
                )
            }),
        (Type::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
        (Type::Bool, Value::String(s)) if s == "true" || s == "false" => {
            Ok(Value::Bool(s == "true"))
        }
        (Type::List(inner) | Type::Set(inner), Value::List(items) | Value::Set(items)) => {
            let out: Vec<Value> = items
                .into_iter()
                .map(|v| convert(v, inner))
                .collect::<Result<_, _>>()?;
            Ok(if matches!(ty, Type::Set(_)) {
                Value::set(out)
            } else {
                Value::List(out)
            })
        }
        (Type::Map(inner), Value::Object(map)) => Ok(Value::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, convert(v, inner)?)))
                .collect::<Result<_, String>>()?,
        )),
        (Type::Object(fields), Value::Object(mut map)) => {
            let mut out = BTreeMap::new();
            for (name, fty) in fields {
                let v = match (fty, map.remove(name)) {
                    // Left out or null: the default, itself converted (so that the optional
                    // attributes of a default object get theirs too), or null.
                    (Type::Optional { of, default }, None | Some(Value::Null)) => match default {
                        Some(d) => convert(Value::from_json(d), of),
                        None => Ok(Value::Null),
                    },
                    (_, None) => return Err(format!("attribute `{name}` is required")),
                    (fty, Some(v)) => convert(v, fty),
                };
                let v = v.map_err(|e| format!("attribute `{name}`: {e}"))?;
                out.insert(name.clone(), v);
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
        assert_eq!(
            obj.display(),
            "object({name = string, size = optional(number)})"
        );
    }

    #[test]
    fn optional_attributes_take_their_defaults() {
        let t = ty(r#"object({
            a = string,
            b = optional(number, 5),
            c = optional(list(string)),
            d = optional(object({ x = optional(bool, true) }), {}),
            e = optional(map(object({ n = optional(number, 1) })), { k = {} }),
        })"#);
        let given = Value::object([("a", Value::string("hi")), ("b", Value::Null)]);
        let got = convert(given, &t).unwrap();
        let want = serde_json::json!({
            "a": "hi", "b": 5, "c": null, "d": {"x": true}, "e": {"k": {"n": 1}}
        });
        assert_eq!(got.to_json().unwrap(), want);
        // Given values win; nested objects in collections get their defaults too.
        let given = Value::from_json(&serde_json::json!({
            "a": "x", "b": 7, "e": {"p": {}, "q": {"n": 2}}
        }));
        let got = convert(given, &t).unwrap().to_json().unwrap();
        assert_eq!(got["b"], 7);
        assert_eq!(got["e"], serde_json::json!({"p": {"n": 1}, "q": {"n": 2}}));
        // A required attribute cannot be left out.
        let err = convert(Value::object([("b", Value::number(1.0))]), &t).unwrap_err();
        assert_eq!(err, "attribute `a` is required");
    }

    #[test]
    fn an_optional_default_must_fit_its_type() {
        let expr = hcl_edit::parser::parse_expr("object({ b = optional(number, \"x\") })").unwrap();
        let err = parse_type(&expr).unwrap_err();
        assert!(
            err.contains("invalid default for optional attribute `b`"),
            "{err}"
        );
    }

    #[test]
    fn converts_scalars() {
        assert_eq!(
            convert(Value::number(3.0), &Type::String).unwrap(),
            Value::string("3")
        );
        assert_eq!(
            convert(Value::string("4"), &Type::Number).unwrap(),
            Value::number(4.0)
        );
        assert!(convert(Value::string("x"), &Type::Number).is_err());
        assert!(convert(Value::List(vec![]), &Type::String).is_err());
    }
}
