//! Collection functions beyond the basic ones: `coalescelist`, `index`, `slice`,
//! `chunklist`, the `set*` family, `one`, `alltrue`, `anytrue`, `transpose`, `matchkeys`,
//! `tobool`.

use std::collections::BTreeMap;

use inferform_types::Value;

use super::args::{arity, err, list, map, sequence, string, whole, FuncError};

pub(super) fn dispatch(name: &str, a: &[Value]) -> Option<Result<Value, FuncError>> {
    Some(match name {
        "coalescelist" => coalescelist(a),
        "index" => arity(name, a, 2).and_then(|_| {
            let items = sequence(&a[0], "the list")?;
            items
                .iter()
                .position(|v| v == &a[1])
                .map(Value::number)
                .ok_or_else(|| err("the item is not in the list", "check the list holds it"))
        }),
        "slice" => slice(a),
        "chunklist" => arity(name, a, 2).and_then(|_| {
            let items = list(&a[0], "the list")?;
            let size = whole(&a[1], "the chunk size")?;
            if size < 0 {
                return Err(err("the chunk size must not be negative", "pass 1 or more"));
            }
            if size == 0 {
                return Ok(Value::List(vec![Value::List(items)]));
            }
            Ok(Value::List(
                items
                    .chunks(size as usize)
                    .map(|c| Value::List(c.to_vec()))
                    .collect(),
            ))
        }),
        "setunion" | "setintersection" | "setsubtract" => sets(name, a),
        "setproduct" => setproduct(a),
        "one" => arity(name, a, 1).and_then(|_| {
            let items = list(&a[0], "the argument")?;
            match items.as_slice() {
                [] => Ok(Value::Null),
                [one] => Ok(one.clone()),
                more => Err(err(
                    format!("must be a list of at most one element, got {}", more.len()),
                    "one() is for lists of zero or one element",
                )),
            }
        }),
        "alltrue" | "anytrue" => arity(name, a, 1).and_then(|_| {
            let items = list(&a[0], "the argument")?;
            let bools = items
                .iter()
                .map(to_bool)
                .collect::<Result<Vec<Option<bool>>, _>>()?;
            // A null element counts as false.
            let truth = bools.iter().map(|b| b.unwrap_or(false));
            Ok(Value::Bool(if name == "alltrue" {
                truth.clone().all(|b| b)
            } else {
                truth.clone().any(|b| b)
            }))
        }),
        "transpose" => transpose(a),
        "matchkeys" => arity(name, a, 3).and_then(|_| {
            let (values, keys, search) = (
                list(&a[0], "the values")?,
                list(&a[1], "the keys")?,
                list(&a[2], "the search set")?,
            );
            if values.len() != keys.len() {
                return Err(err(
                    "the values and keys lists differ in length",
                    "pass lists of the same length",
                ));
            }
            Ok(Value::List(
                values
                    .into_iter()
                    .zip(keys)
                    .filter(|(_, k)| search.contains(k))
                    .map(|(v, _)| v)
                    .collect(),
            ))
        }),
        "tobool" => {
            arity(name, a, 1).and_then(|_| Ok(to_bool(&a[0])?.map_or(Value::Null, Value::Bool)))
        }
        _ => return None,
    })
}

/// A bool, or the strings `"true"` / `"false"` (null stays null).
fn to_bool(v: &Value) -> Result<Option<bool>, FuncError> {
    match v {
        Value::Bool(b) => Ok(Some(*b)),
        Value::Null => Ok(None),
        Value::String(s) if s == "true" => Ok(Some(true)),
        Value::String(s) if s == "false" => Ok(Some(false)),
        other => Err(err(
            format!("cannot convert {} to bool", describe(other)),
            "pass true, false, \"true\" or \"false\"",
        )),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.kind().to_string(),
    }
}

fn coalescelist(a: &[Value]) -> Result<Value, FuncError> {
    if a.is_empty() {
        return Err(err(
            "needs at least one argument",
            "write coalescelist(list1, list2)",
        ));
    }
    for v in a {
        if !sequence(v, "each argument")?.is_empty() {
            return Ok(v.clone());
        }
    }
    Err(err(
        "every argument is empty or null",
        "add a last argument that is never empty, such as a default list",
    ))
}

fn slice(a: &[Value]) -> Result<Value, FuncError> {
    arity("slice", a, 3)?;
    let items = sequence(&a[0], "the list")?;
    let (start, end) = (
        whole(&a[1], "the start index")?,
        whole(&a[2], "the end index")?,
    );
    if start < 0 || end > items.len() as i64 || start > end {
        return Err(err(
            format!(
                "the indexes {start} and {end} are out of range for a list of {}",
                items.len()
            ),
            "pass 0 <= start <= end <= length",
        ));
    }
    Ok(Value::List(items[start as usize..end as usize].to_vec()))
}

/// `setunion`, `setintersection`, `setsubtract`: the result is a set, without duplicates,
/// in the order of first appearance (sorted when every element is a string or number).
fn sets(name: &str, a: &[Value]) -> Result<Value, FuncError> {
    let lists = a
        .iter()
        .map(|v| list(v, "each argument"))
        .collect::<Result<Vec<_>, _>>()?;
    if name == "setsubtract" && lists.len() != 2 {
        return Err(err("takes 2 argument(s)", "write setsubtract(a, b)"));
    }
    let Some((first, rest)) = lists.split_first() else {
        return Err(err(
            "needs at least one argument",
            format!("write {name}(a, b)"),
        ));
    };
    let keep: Vec<Value> = match name {
        "setunion" => lists.iter().flatten().cloned().collect(),
        "setintersection" => first
            .iter()
            .filter(|v| rest.iter().all(|l| l.contains(v)))
            .cloned()
            .collect(),
        _ => first
            .iter()
            .filter(|v| !rest[0].contains(v))
            .cloned()
            .collect(),
    };
    Ok(Value::set(keep))
}

/// Elements converted to the one type they share, as Terraform's collection functions and
/// literals need: beside a string, numbers and bools become strings; kinds with no common
/// type (a number and a bool, a list and a string) are an error. Nulls and unknowns go with
/// anything.
pub(super) fn unify(items: Vec<Value>) -> Result<Vec<Value>, FuncError> {
    let kinds: std::collections::BTreeSet<&str> = items
        .iter()
        .filter(|v| !v.is_null() && !v.is_unknown())
        .map(|v| match v.unmarked() {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => "primitive",
            Value::List(_) | Value::Set(_) => "list",
            Value::Object(_) => "object",
            _ => "other",
        })
        .collect();
    if kinds.len() > 1 {
        return Err(err(
            "the elements have no type in common",
            "make every element the same type",
        ));
    }
    let has = |f: fn(&Value) -> bool| items.iter().any(|v| f(v.unmarked()));
    let strings = has(|v| matches!(v, Value::String(_)));
    let numbers = has(|v| matches!(v, Value::Number(_)));
    let bools = has(|v| matches!(v, Value::Bool(_)));
    if !strings && numbers && bools {
        return Err(err(
            "the elements have no type in common: numbers and bools",
            "make every element the same type, for example with tostring()",
        ));
    }
    if !strings || !(numbers || bools) {
        return Ok(items);
    }
    Ok(items
        .into_iter()
        .map(|v| {
            let sensitive = v.is_sensitive();
            let text = match v.unmarked() {
                Value::Number(n) => inferform_types::value::format_number(*n),
                Value::Bool(b) => b.to_string(),
                _ => return v,
            };
            if sensitive {
                Value::String(text).sensitive()
            } else {
                Value::String(text)
            }
        })
        .collect())
}

fn setproduct(a: &[Value]) -> Result<Value, FuncError> {
    if a.len() < 2 {
        return Err(err(
            "needs at least two arguments",
            "write setproduct(a, b)",
        ));
    }
    let mut product: Vec<Vec<Value>> = vec![Vec::new()];
    for v in a {
        let items = list(v, "each argument")?;
        let mut next = Vec::with_capacity(product.len() * items.len());
        for p in &product {
            for item in &items {
                if next.len() >= 1024 * 1024 {
                    return Err(err(
                        "the product is too large",
                        "multiply fewer or smaller sets",
                    ));
                }
                let mut row = p.clone();
                row.push(item.clone());
                next.push(row);
            }
        }
        product = next;
    }
    let rows = product.into_iter().map(Value::List).collect();
    // Sets give a set of rows, lists a list.
    Ok(if a.iter().all(|v| matches!(v, Value::Set(_))) {
        Value::set(rows)
    } else {
        Value::List(rows)
    })
}

fn transpose(a: &[Value]) -> Result<Value, FuncError> {
    arity("transpose", a, 1)?;
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (k, v) in map(&a[0], "the argument")? {
        for item in list(&v, "each value")? {
            out.entry(string(&item, "each element")?)
                .or_default()
                .push(Value::String(k.clone()));
        }
    }
    Ok(Value::Object(
        out.into_iter()
            .map(|(k, v)| {
                (
                    k,
                    Value::List(Value::set(v).as_list().unwrap_or_default().to_vec()),
                )
            })
            .collect(),
    ))
}
