//! Diffing one resource instance: its configuration against its prior state gives the planned
//! new state and the [`Action`](crate::Action), with the attribute paths that force a
//! replacement.

use std::collections::BTreeMap;

use inferform_types::{Nesting, Schema, Value};

/// The outcome of comparing configuration with prior state for one instance.
pub struct Diff {
    /// The state the object will have after apply: configured values, computed values kept
    /// from prior state (or unknown for a new object).
    pub planned: Value,
    /// Paths of settable attributes whose planned value differs from prior (`description`,
    /// `reserved_resource.mu.max`).
    pub changed: Vec<String>,
    /// The subset of `changed` that forces replacement.
    pub replace_paths: Vec<String>,
}

/// True for values a user would not tell apart from "not set".
fn is_empty(v: &Value) -> bool {
    match v.unmarked() {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::List(l) | Value::Set(l) => l.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// Computes the planned state of a new object: configured values, unknown computed ones.
pub fn planned_create(config: &Value, schema: &Schema) -> Value {
    let empty = BTreeMap::new();
    let cfg = config.as_object().unwrap_or(&empty);
    let mut out = BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let c = cfg.get(name).cloned().unwrap_or(Value::Null);
        let v = if attr.computed && c.is_null() {
            Value::Unknown
        } else {
            c
        };
        out.insert(name.clone(), v);
    }
    for (name, block) in &schema.blocks {
        let c = cfg.get(name).cloned().unwrap_or(Value::Null);
        let v = match (block.nesting, c) {
            (Nesting::Single, Value::Null) => Value::Null,
            (Nesting::Single, c) => planned_create(&c, &block.schema),
            (Nesting::List, Value::List(items)) => Value::List(
                items
                    .iter()
                    .map(|i| planned_create(i, &block.schema))
                    .collect(),
            ),
            (Nesting::List, _) => Value::List(Vec::new()),
        };
        out.insert(name.clone(), v);
    }
    Value::Object(out)
}

/// Diffs configuration against prior state. `ignore` lists attribute paths whose changes are
/// ignored (`lifecycle { ignore_changes }`); `*` ignores all.
pub fn diff(config: &Value, prior: &Value, schema: &Schema, ignore: &[String]) -> Diff {
    let mut d = Diff {
        planned: Value::Null,
        changed: Vec::new(),
        replace_paths: Vec::new(),
    };
    d.planned = merge(
        config,
        prior,
        schema,
        "",
        ignore,
        &mut d.changed,
        &mut d.replace_paths,
    );
    d
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn ignored(path: &str, ignore: &[String]) -> bool {
    ignore
        .iter()
        .any(|i| i == "*" || i == path || path.starts_with(&format!("{i}.")))
}

fn merge(
    config: &Value,
    prior: &Value,
    schema: &Schema,
    prefix: &str,
    ignore: &[String],
    changed: &mut Vec<String>,
    replace: &mut Vec<String>,
) -> Value {
    let empty = BTreeMap::new();
    let cfg = config.as_object().unwrap_or(&empty);
    let old = prior.as_object().unwrap_or(&empty);
    let mut out = BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let path = join(prefix, name);
        let c = cfg.get(name).cloned().unwrap_or(Value::Null);
        let p = old.get(name).cloned().unwrap_or(Value::Null);
        let planned =
            if !attr.settable() || (attr.computed && c.is_null()) || ignored(&path, ignore) {
                p.clone()
            } else if (c.is_null() && is_empty(&p)) || (p.is_null() && is_empty(&c)) {
                // Left out on one side and empty on the other (`labels = {}` against a cloud
                // that reports nothing, or the reverse): the same thing, no change.
                p.clone()
            } else {
                c
            };
        if attr.settable() && differs(&planned, &p) {
            changed.push(path.clone());
            if attr.force_new {
                replace.push(path);
            }
        }
        out.insert(name.clone(), planned);
    }
    for (name, block) in &schema.blocks {
        let path = join(prefix, name);
        let c = cfg.get(name).cloned().unwrap_or(Value::Null);
        let p = old.get(name).cloned().unwrap_or(Value::Null);
        if ignored(&path, ignore) {
            out.insert(name.clone(), p);
            continue;
        }
        let planned = match block.nesting {
            Nesting::Single => {
                if c.is_null() && p.is_null() {
                    Value::Null
                } else if c.is_null() && all_computed(&block.schema) {
                    // A block the cloud fills in by itself, left out of the configuration:
                    // what the cloud chose stays.
                    p
                } else if c.is_null() {
                    // The block was removed: every attribute inside it changes.
                    let before = changed.len();
                    merge(
                        &Value::Null,
                        &p,
                        &block.schema,
                        &path,
                        ignore,
                        changed,
                        replace,
                    );
                    if changed.len() == before {
                        changed.push(path.clone());
                    }
                    Value::Null
                } else {
                    merge(&c, &p, &block.schema, &path, ignore, changed, replace)
                }
            }
            Nesting::List => {
                let items = c.as_list().map(<[Value]>::to_vec).unwrap_or_default();
                let olds = p.as_list().map(<[Value]>::to_vec).unwrap_or_default();
                let mut planned = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let prior_item = olds.get(i).cloned().unwrap_or(Value::Null);
                    planned.push(merge(
                        item,
                        &prior_item,
                        &block.schema,
                        &format!("{path}[{i}]"),
                        ignore,
                        changed,
                        replace,
                    ));
                }
                if olds.len() > items.len() {
                    changed.push(path.clone());
                }
                Value::List(planned)
            }
        };
        out.insert(name.clone(), planned);
    }
    Value::Object(out)
}

/// True when the configuration cannot set anything in this block that the cloud would not
/// choose by itself: every attribute is computed, and so is every nested block.
fn all_computed(schema: &Schema) -> bool {
    schema
        .attributes
        .values()
        .all(|a| a.computed && !a.required)
        && schema
            .blocks
            .values()
            .all(|b| !b.required && all_computed(&b.schema))
}

/// True when a planned value is not (known to be) the prior one.
fn differs(planned: &Value, prior: &Value) -> bool {
    if !planned.is_wholly_known() {
        return true;
    }
    planned.deep_unmarked() != prior.deep_unmarked()
}

/// Marks every attribute the schema calls sensitive, at any depth.
pub fn mark_sensitive(value: Value, schema: &Schema) -> Value {
    let Value::Object(map) = value else {
        return value;
    };
    let out = map
        .into_iter()
        .map(|(k, v)| {
            let v = if schema.attributes.get(&k).is_some_and(|a| a.sensitive) {
                v.sensitive()
            } else if let Some(block) = schema.blocks.get(&k) {
                match v {
                    Value::List(items) => Value::List(
                        items
                            .into_iter()
                            .map(|i| mark_sensitive(i, &block.schema))
                            .collect(),
                    ),
                    v => mark_sensitive(v, &block.schema),
                }
            } else {
                v
            };
            (k, v)
        })
        .collect();
    Value::Object(out)
}

/// The attributes as state keeps them: without the sensitive values that only the provider
/// sets (an Alaya deployment's `api_key`), at any depth. Every read of the object gives them
/// again, so state, which sits on disk and travels (`state pull`, backups, CI caches), never
/// needs them. A sensitive value the configuration may set stays: nothing else could give it
/// back, and the plan compares against it.
pub fn state_attributes(attrs: serde_json::Value, schema: &Schema) -> serde_json::Value {
    let serde_json::Value::Object(map) = attrs else {
        return attrs;
    };
    let out = map
        .into_iter()
        .filter(|(k, _)| {
            !schema
                .attributes
                .get(k)
                .is_some_and(|a| a.sensitive && a.computed && !a.optional && !a.required)
        })
        .map(|(k, v)| {
            let v = match (schema.blocks.get(&k), v) {
                (Some(block), serde_json::Value::Array(items)) => serde_json::Value::Array(
                    items
                        .into_iter()
                        .map(|i| state_attributes(i, &block.schema))
                        .collect(),
                ),
                (Some(block), v) => state_attributes(v, &block.schema),
                (None, v) => v,
            };
            (k, v)
        })
        .collect();
    serde_json::Value::Object(out)
}

/// An object's value as expressions, plans and output see it: its attributes, with the parts `paths` names
/// (those its configuration made sensitive, as state records them) and those its schema
/// says are sensitive marked. The one place that rule is written.
pub fn object_value(
    attrs: &serde_json::Value,
    paths: &[Vec<String>],
    schema: Option<&Schema>,
) -> Value {
    marked(Value::from_json(attrs).mark_paths(paths), schema)
}

/// `v` with the attributes `schema` calls sensitive marked; unchanged without a schema.
pub fn marked(v: Value, schema: Option<&Schema>) -> Value {
    match schema {
        Some(s) => mark_sensitive(v, s),
        None => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferform_types::{Attribute, Block, Type};

    fn schema() -> Schema {
        Schema::new()
            .attr("id", Attribute::computed(Type::String))
            .attr("name", Attribute::required(Type::String))
            .attr("type", Attribute::required(Type::String).force_new())
            .attr("description", Attribute::optional(Type::String))
            .block(
                "mu",
                Block::single(Schema::new().attr("max", Attribute::optional(Type::Number))),
            )
    }

    fn obj(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs)
    }

    #[test]
    fn no_change_when_equal() {
        let prior = obj(vec![
            ("id", Value::string("x")),
            ("name", Value::string("a")),
            ("type", Value::string("t")),
            ("description", Value::string("")),
            ("mu", obj(vec![("max", Value::number(1.0))])),
        ]);
        let config = obj(vec![
            ("name", Value::string("a")),
            ("type", Value::string("t")),
            ("mu", obj(vec![("max", Value::number(1.0))])),
        ]);
        let d = diff(&config, &prior, &schema(), &[]);
        assert!(d.changed.is_empty(), "{:?}", d.changed);
        assert_eq!(d.planned.get("id"), Some(&Value::string("x")));
    }

    #[test]
    fn update_and_replace_paths() {
        let prior = obj(vec![
            ("id", Value::string("x")),
            ("name", Value::string("a")),
            ("type", Value::string("t")),
            ("mu", obj(vec![("max", Value::number(1.0))])),
        ]);
        let config = obj(vec![
            ("name", Value::string("b")),
            ("type", Value::string("u")),
            ("mu", obj(vec![("max", Value::number(2.0))])),
        ]);
        let d = diff(&config, &prior, &schema(), &[]);
        assert_eq!(d.changed, vec!["name", "type", "mu.max"]);
        assert_eq!(d.replace_paths, vec!["type"]);
        let d = diff(&config, &prior, &schema(), &["type".into(), "mu".into()]);
        assert_eq!(d.changed, vec!["name"]);
    }

    #[test]
    fn empty_and_absent_are_the_same() {
        let prior = obj(vec![
            ("id", Value::string("x")),
            ("name", Value::string("a")),
            ("type", Value::string("t")),
        ]);
        let config = obj(vec![
            ("name", Value::string("a")),
            ("type", Value::string("t")),
            ("description", Value::string("")),
        ]);
        assert!(diff(&config, &prior, &schema(), &[]).changed.is_empty());
    }

    #[test]
    fn a_cloud_filled_block_left_out_keeps_its_value() {
        let schema = Schema::new()
            .attr("name", Attribute::required(Type::String))
            .block(
                "config",
                Block::single(
                    Schema::new().attr("min", Attribute::optional_computed(Type::Number)),
                ),
            );
        let prior = obj(vec![
            ("name", Value::string("a")),
            ("config", obj(vec![("min", Value::number(1.0))])),
        ]);
        let config = obj(vec![("name", Value::string("a"))]);
        let d = diff(&config, &prior, &schema, &[]);
        assert!(d.changed.is_empty(), "{:?}", d.changed);
        assert_eq!(d.planned.get("config"), prior.get("config"));
    }

    #[test]
    fn create_marks_computed_unknown() {
        let config = obj(vec![("name", Value::string("a"))]);
        let planned = planned_create(&config, &schema());
        assert_eq!(planned.get("id"), Some(&Value::Unknown));
        assert_eq!(planned.get("name"), Some(&Value::string("a")));
    }

    #[test]
    fn state_keeps_no_secret_the_cloud_can_give_again() {
        let schema = Schema::new()
            .attr("name", Attribute::required(Type::String))
            .attr("api_key", Attribute::computed(Type::String).sensitive())
            .attr("password", Attribute::optional(Type::String).sensitive())
            .block(
                "head",
                Block::list(
                    Schema::new()
                        .attr("token", Attribute::computed(Type::String).sensitive())
                        .attr("image", Attribute::optional(Type::String)),
                ),
            );
        let attrs = serde_json::json!({
            "name": "a", "api_key": "sk-1", "password": "p",
            "head": [{"token": "t", "image": "i"}],
        });
        assert_eq!(
            state_attributes(attrs, &schema),
            serde_json::json!({"name": "a", "password": "p", "head": [{"image": "i"}]})
        );
    }
}
