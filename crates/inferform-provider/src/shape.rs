//! Mapping between a resource's attributes (the configuration's shape) and an API's JSON bodies,
//! driven by the resource's [`Schema`].
//!
//! - [`to_api`] turns configured attributes into a request body: settable attributes and blocks
//!   only, nulls left out, names renamed by a [`Naming`] (`rps_value` → `rpsValue`). The keys of
//!   map attributes (`env`, `labels`) are the user's and are never renamed.
//! - [`from_api`] turns an answer back into attributes in the configuration's shape: every
//!   attribute and block of the schema present (null when the API has nothing), nested single
//!   blocks as objects, list blocks as arrays, numbers as numbers (an API that sends `"4"` for a
//!   number gets it read as 4).
//!
//! So that an unchanged object is no diff, [`from_api`] takes the prior attributes (the state, or
//! the planned configuration after a create) and keeps their spelling of "nothing": a `null`
//! the API answers with `""`, `[]` or `{}` stays `null`, and the other way round. A single block
//! the prior holds as `null` (the configuration leaves it out) stays `null` whatever defaults the
//! cloud filled in: a block that is not configured is not managed. A key absent from the prior
//! (an unknown past, such as an import) takes whatever the API says.

use inferform_types::{Nesting, Schema, Type};
use serde_json::Value as Json;

use crate::Object;

/// How attribute names map to API field names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    /// The API uses the attribute names (snake_case).
    Same,
    /// The API uses camelCase (`vks_id` → `vksId`).
    Camel,
}

impl Naming {
    pub fn api_name(self, name: &str) -> String {
        match self {
            Naming::Same => name.to_string(),
            Naming::Camel => snake_to_camel(name),
        }
    }
}

/// `rps_value` → `rpsValue`.
pub fn snake_to_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The request body for configured attributes (see the module docs). Top-level names in `skip`
/// (path parameters such as `workspace_id`) are left out.
pub fn to_api(schema: &Schema, attrs: &Object, naming: Naming, skip: &[&str]) -> Object {
    let mut out = Object::new();
    for (name, attr) in &schema.attributes {
        if !attr.settable() || skip.contains(&name.as_str()) {
            continue;
        }
        match attrs.get(name) {
            None | Some(Json::Null) => {}
            Some(v) => {
                out.insert(naming.api_name(name), v.clone());
            }
        }
    }
    for (name, block) in &schema.blocks {
        if skip.contains(&name.as_str()) {
            continue;
        }
        match (block.nesting, attrs.get(name)) {
            (Nesting::Single, Some(Json::Object(inner))) => {
                out.insert(
                    naming.api_name(name),
                    Json::Object(to_api(&block.schema, inner, naming, &[])),
                );
            }
            (Nesting::List, Some(Json::Array(items))) => {
                let items = items
                    .iter()
                    .filter_map(Json::as_object)
                    .map(|item| Json::Object(to_api(&block.schema, item, naming, &[])))
                    .collect();
                out.insert(naming.api_name(name), Json::Array(items));
            }
            _ => {}
        }
    }
    out
}

/// The attributes an API answer describes, in the configuration's shape (see the module docs).
/// `prior` is the last known attributes, if any.
pub fn from_api(schema: &Schema, api: &Object, naming: Naming, prior: Option<&Object>) -> Object {
    let mut out = Object::new();
    for (name, attr) in &schema.attributes {
        let raw = api.get(&naming.api_name(name)).unwrap_or(&Json::Null);
        let mut value = coerce(&attr.ty, raw);
        if attr.settable() {
            if let Some(before) = prior.and_then(|p| p.get(name)) {
                if is_empty(&value) && is_empty(before) {
                    value = before.clone();
                }
            }
        }
        out.insert(name.clone(), value);
    }
    for (name, block) in &schema.blocks {
        let raw = api.get(&naming.api_name(name)).unwrap_or(&Json::Null);
        let before = prior.and_then(|p| p.get(name));
        let value = match block.nesting {
            Nesting::Single => match (before, raw) {
                (Some(Json::Null), _) => Json::Null,
                (_, Json::Object(inner)) => Json::Object(from_api(
                    &block.schema,
                    inner,
                    naming,
                    before.and_then(Json::as_object),
                )),
                _ => Json::Null,
            },
            Nesting::List => {
                let prior_items = before.and_then(Json::as_array);
                let items: Vec<Json> = raw
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .enumerate()
                            .filter_map(|(i, item)| {
                                let prior_item =
                                    prior_items.and_then(|p| p.get(i)).and_then(Json::as_object);
                                Some(Json::Object(from_api(
                                    &block.schema,
                                    item.as_object()?,
                                    naming,
                                    prior_item,
                                )))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                match before {
                    Some(b) if items.is_empty() && is_empty(b) => b.clone(),
                    _ if items.is_empty() && before.is_none() && raw.is_null() => Json::Null,
                    _ => Json::Array(items),
                }
            }
        };
        out.insert(name.clone(), value);
    }
    out
}

/// The attributes an API answer describes when there is no prior to go by (an import, a data
/// source): [`from_api`] without a prior, with "nothing" spelled the way a configuration that
/// leaves it out spells it, so that a plan right after an import shows no change for it: a
/// settable attribute the API answers with `""`, `[]` or `{}` is null, and so is a list block
/// without items and a single block with nothing in it. [`from_api`] with the result as the
/// prior gives the result again.
pub fn imported(schema: &Schema, api: &Object, naming: Naming) -> Object {
    let mut out = from_api(schema, api, naming, None);
    settle(schema, &mut out);
    out
}

fn settle(schema: &Schema, attrs: &mut Object) {
    for (name, attr) in &schema.attributes {
        if let Some(value) = attrs.get_mut(name) {
            if attr.settable() && is_empty(value) {
                *value = Json::Null;
            }
        }
    }
    for (name, block) in &schema.blocks {
        let Some(value) = attrs.get_mut(name) else {
            continue;
        };
        let nothing = match value {
            Json::Object(inner) if block.nesting == Nesting::Single => {
                settle(&block.schema, inner);
                inner.values().all(Json::is_null)
            }
            Json::Array(items) if block.nesting == Nesting::List => {
                for item in items.iter_mut() {
                    if let Json::Object(inner) = item {
                        settle(&block.schema, inner);
                    }
                }
                items.is_empty()
            }
            _ => false,
        };
        if nothing {
            *value = Json::Null;
        }
    }
}

/// `attrs` with every settable attribute and every block of the schema present, null when
/// unset, in nested blocks too. For a create or update, what the configuration leaves out is
/// known to be null; [`from_api`] then keeps it null.
pub fn complete(schema: &Schema, attrs: &Object) -> Object {
    let mut out = attrs.clone();
    for (name, attr) in &schema.attributes {
        if attr.settable() {
            out.entry(name.clone()).or_insert(Json::Null);
        }
    }
    for (name, block) in &schema.blocks {
        let slot = out.entry(name.clone()).or_insert(Json::Null);
        match (block.nesting, slot) {
            (Nesting::Single, Json::Object(inner)) => *inner = complete(&block.schema, inner),
            (Nesting::List, Json::Array(items)) => {
                for item in items.iter_mut() {
                    if let Json::Object(inner) = item {
                        *inner = complete(&block.schema, inner);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// `planned` with each optional-and-computed attribute it leaves null taken from `prior`, in
/// single blocks too: an update keeps what the cloud chose, as a plan shows it (no diff).
pub fn carry_computed(schema: &Schema, planned: &Object, prior: &Object) -> Object {
    let mut out = planned.clone();
    for (name, attr) in &schema.attributes {
        if attr.optional && attr.computed && out.get(name).is_none_or(Json::is_null) {
            if let Some(v) = prior.get(name).filter(|v| !v.is_null()) {
                out.insert(name.clone(), v.clone());
            }
        }
    }
    for (name, block) in &schema.blocks {
        if block.nesting != Nesting::Single {
            continue;
        }
        if let (Some(Json::Object(inner)), Some(Json::Object(before))) =
            (out.get(name), prior.get(name))
        {
            let carried = carry_computed(&block.schema, inner, before);
            out.insert(name.clone(), Json::Object(carried));
        }
    }
    out
}

/// Null, `""`, `[]` and `{}`: the ways an API says "nothing".
pub fn is_empty(v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::String(s) => s.is_empty(),
        Json::Array(a) => a.is_empty(),
        Json::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The value read as the schema type: numeric strings become numbers, numbers and booleans
/// become strings where a string is expected, and so on inside lists and maps.
pub fn coerce(ty: &Type, v: &Json) -> Json {
    match (ty, v) {
        (_, Json::Null) => Json::Null,
        (Type::Number, Json::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .map(inferform_types::value::number_to_json)
            .unwrap_or_else(|| v.clone()),
        (Type::Number, Json::Number(n)) => n
            .as_f64()
            .map(inferform_types::value::number_to_json)
            .unwrap_or_else(|| v.clone()),
        (Type::String, Json::Number(n)) => Json::String(n.to_string()),
        (Type::String, Json::Bool(b)) => Json::String(b.to_string()),
        (Type::Bool, Json::String(s)) => match s.as_str() {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            _ => v.clone(),
        },
        (Type::List(inner) | Type::Set(inner), Json::Array(items)) => {
            Json::Array(items.iter().map(|i| coerce(inner, i)).collect())
        }
        (Type::Map(inner), Json::Object(map)) => Json::Object(
            map.iter()
                .map(|(k, i)| (k.clone(), coerce(inner, i)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// A string field of an object, when present and a string.
pub fn str_field<'a>(obj: &'a Object, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Json::as_str)
}

/// A string or numeric field as text (ids sometimes come as numbers).
pub fn text_field(obj: &Object, key: &str) -> Option<String> {
    match obj.get(key)? {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferform_types::{Attribute, Block};
    use serde_json::json;

    fn obj(v: Json) -> Object {
        match v {
            Json::Object(o) => o,
            _ => panic!("not an object"),
        }
    }

    fn schema() -> Schema {
        Schema::new()
            .attr("workspace_id", Attribute::required(Type::String))
            .attr("vks_id", Attribute::required(Type::String))
            .attr("description", Attribute::optional(Type::String))
            .attr("env", Attribute::optional(Type::map(Type::String)))
            .attr("status", Attribute::computed(Type::String))
            .block(
                "scale",
                Block::single(
                    Schema::new()
                        .attr("rps_value", Attribute::optional(Type::Number))
                        .attr("min", Attribute::optional(Type::Number)),
                ),
            )
            .block(
                "pvc_mounts",
                Block::list(Schema::new().attr("pvc_name", Attribute::required(Type::String))),
            )
            .block(
                "extra",
                Block::single(Schema::new().attr("x", Attribute::optional(Type::String))),
            )
    }

    #[test]
    fn camel_case() {
        assert_eq!(snake_to_camel("vks_id"), "vksId");
        assert_eq!(snake_to_camel("rps_value"), "rpsValue");
        assert_eq!(snake_to_camel("container_path"), "containerPath");
        assert_eq!(snake_to_camel("name"), "name");
    }

    #[test]
    fn to_api_renames_but_keeps_map_keys() {
        let attrs = obj(json!({
            "workspace_id": "ws", "vks_id": "v1", "description": null, "status": "x",
            "env": {"MY_VAR": "1"},
            "scale": {"rps_value": 10, "min": null},
            "pvc_mounts": [{"pvc_name": "p"}],
            "extra": null
        }));
        let body = to_api(&schema(), &attrs, Naming::Camel, &["workspace_id"]);
        assert_eq!(
            Json::Object(body),
            json!({"vksId": "v1", "env": {"MY_VAR": "1"}, "scale": {"rpsValue": 10},
                   "pvcMounts": [{"pvcName": "p"}]})
        );
    }

    #[test]
    fn from_api_gives_the_config_shape() {
        let api = obj(json!({
            "vksId": "v1", "description": "", "env": {}, "status": "running",
            "scale": {"rpsValue": "10", "min": 0},
            "extra": {"x": "server default"},
            "unknownField": 1
        }));
        let prior = obj(json!({
            "workspace_id": "ws", "vks_id": "v1", "description": null, "env": null,
            "scale": {"rps_value": 10, "min": 0}, "pvc_mounts": [], "extra": null
        }));
        let got = from_api(&schema(), &api, Naming::Camel, Some(&prior));
        assert_eq!(
            Json::Object(got),
            json!({
                "description": null, "env": null, "status": "running", "vks_id": "v1",
                "workspace_id": null,
                "extra": null, "pvc_mounts": [], "scale": {"min": 0, "rps_value": 10}
            })
        );
        // Without a prior, the API's values stand.
        let got = from_api(&schema(), &api, Naming::Camel, None);
        assert_eq!(got["extra"], json!({"x": "server default"}));
        assert_eq!(got["description"], json!(""));
        assert_eq!(got["pvc_mounts"], Json::Null);
    }

    #[test]
    fn imports_spell_nothing_as_null_and_read_back_the_same() {
        let api = obj(json!({
            "vksId": "v1", "description": "", "env": {}, "status": "",
            "scale": {"rpsValue": "10", "min": 0},
            "extra": {"x": ""},
            "pvcMounts": []
        }));
        let got = imported(&schema(), &api, Naming::Camel);
        assert_eq!(
            Json::Object(got.clone()),
            json!({
                "description": null, "env": null, "status": "", "vks_id": "v1",
                "workspace_id": null,
                "extra": null, "pvc_mounts": null, "scale": {"min": 0, "rps_value": 10}
            })
        );
        assert_eq!(from_api(&schema(), &api, Naming::Camel, Some(&got)), got);
    }

    #[test]
    fn complete_fills_nulls() {
        let attrs = obj(json!({"vks_id": "v", "scale": {"min": 1}, "pvc_mounts": [{}]}));
        let got = complete(&schema(), &attrs);
        assert_eq!(
            Json::Object(got),
            json!({"vks_id": "v", "workspace_id": null, "description": null, "env": null,
                   "scale": {"min": 1, "rps_value": null}, "pvc_mounts": [{"pvc_name": null}],
                   "extra": null})
        );
    }

    #[test]
    fn computed_values_carry_into_updates() {
        let schema = Schema::new()
            .attr("a", Attribute::optional_computed(Type::String))
            .attr("b", Attribute::optional(Type::String))
            .block(
                "s",
                Block::single(Schema::new().attr("c", Attribute::optional_computed(Type::Number))),
            );
        let planned = obj(json!({"a": null, "b": null, "s": {"c": null}}));
        let prior = obj(json!({"a": "x", "b": "y", "s": {"c": 3}}));
        assert_eq!(
            Json::Object(carry_computed(&schema, &planned, &prior)),
            json!({"a": "x", "b": null, "s": {"c": 3}})
        );
    }

    #[test]
    fn coercion() {
        assert_eq!(coerce(&Type::Number, &json!("4")), json!(4));
        assert_eq!(coerce(&Type::Number, &json!(4.0)), json!(4));
        assert_eq!(coerce(&Type::Number, &json!(0.5)), json!(0.5));
        assert_eq!(coerce(&Type::String, &json!(12)), json!("12"));
        assert_eq!(
            coerce(&Type::list(Type::String), &json!(["a", 1])),
            json!(["a", "1"])
        );
        assert_eq!(coerce(&Type::Number, &json!("many")), json!("many"));
    }
}
