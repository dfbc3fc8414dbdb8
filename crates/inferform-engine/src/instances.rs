//! One resource instance's place in the values expressions read: the instance keys a
//! `count` or `for_each` makes and the scope each instance is evaluated in; setting and
//! removing an instance's value in its module instance's root ([`Roots`]); an object's value
//! as a data source's reading gives it; and what a provider is sent.
//! Plan, apply, scope and console all build on it; it uses none of them.

use std::collections::BTreeMap;

use inferform_lang::config::Resource;
use inferform_lang::eval::{eval, Scope};
use inferform_provider::Object;
use inferform_types::{
    Diagnostic, InstanceKey, ModulePath, ResourceAddr, ResourceInstanceAddr, Schema, Value,
};

use crate::diff::mark_sensitive;
use crate::graph::{body_exprs, condition_exprs};

/// Resource values by module instance: `roots[module][type][name]` (data sources under
/// `data`), what references read.
pub type Roots = BTreeMap<ModulePath, BTreeMap<String, Value>>;

pub(crate) fn json_object(v: &serde_json::Value) -> Object {
    v.as_object().cloned().unwrap_or_default()
}

/// Reads a data source whose configuration `cfg` is wholly known (`json` is its JSON): the
/// query leaves out null arguments, and the answer is the data source's value as
/// [`data_value`] makes it. The plan walk and a check's read after apply share it.
pub(crate) async fn read_data_source(
    provider: &dyn inferform_provider::Provider,
    type_name: &str,
    cfg: &Value,
    json: serde_json::Value,
    schema: &Schema,
) -> Result<Value, inferform_provider::ProviderError> {
    let query = json_object(&strip_nulls(json));
    provider
        .read_data(&inferform_provider::OpContext::silent(), type_name, &query)
        .await
        .map(|obj| data_value(obj, cfg, schema))
}

/// What a data source's reading is to the configuration: the provider's attributes, marked
/// sensitive where the schema says, where the evaluated configuration `cfg` was (a look-up
/// argument from a sensitive variable stays hidden when the provider echoes it), and where the
/// provider says this reading is ([`crate::SENSITIVE_PATHS`], which it may add for values
/// whose sensitivity only the reading knows, such as a remote state's outputs).
pub(crate) fn data_value(mut obj: Object, cfg: &Value, schema: &Schema) -> Value {
    let mut paths = cfg.sensitive_paths();
    if let Some(extra) = obj.remove(crate::SENSITIVE_PATHS) {
        paths.extend(
            extra
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_array())
                .map(|p| {
                    p.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect::<Vec<String>>()
                }),
        );
    }
    // A remote state's `defaults` stand in for missing outputs: one from a sensitive value
    // stays sensitive among the outputs.
    if schema.attributes.contains_key("defaults") && schema.attributes.contains_key("outputs") {
        let from_defaults: Vec<Vec<String>> = paths
            .iter()
            .filter(|p| p.first().is_some_and(|h| h == "defaults"))
            .map(|p| {
                std::iter::once("outputs".to_string())
                    .chain(p[1..].iter().cloned())
                    .collect()
            })
            .collect();
        paths.extend(from_defaults);
    }
    let v = Value::from_json(&serde_json::Value::Object(obj)).mark_paths(&paths);
    mark_sensitive(v, schema)
}

/// Keys of a resource's instances, from `count` or `for_each`, with the value of `each`.
pub(crate) fn expand(
    r: &Resource,
    scope: &Scope,
) -> Result<Vec<(InstanceKey, Option<Value>)>, Diagnostic> {
    expand_meta(r.count.as_ref(), r.for_each.as_ref(), scope)
}

/// Keys of the instances a `count` or `for_each` makes, with the value of `each`.
pub(crate) fn expand_meta(
    count: Option<&inferform_lang::Expr>,
    for_each: Option<&inferform_lang::Expr>,
    scope: &Scope,
) -> Result<Vec<(InstanceKey, Option<Value>)>, Diagnostic> {
    if let Some(count) = count {
        let v = eval(count, scope)?;
        if v.is_unknown() {
            return Err(unknown_keys(count, "count"));
        }
        // A string of a number counts, as Terraform converts it (`--var n=3` is a string).
        let n = match v.unmarked() {
            Value::String(s) => inferform_types::Number::parse(s).map(|n| n.to_f64()),
            other => other.as_f64(),
        };
        let n = n.filter(|n| n.fract() == 0.0 && *n >= 0.0).ok_or_else(|| {
            Diagnostic::error(
                "inferform::plan::bad_count",
                format!("`count` must be a whole number of 0 or more, got {}", v),
            )
            .with_span(count.span())
            .with_help("write count = 3, or an expression that gives a whole number")
        })?;
        return Ok((0..n as i64).map(|i| (InstanceKey::Int(i), None)).collect());
    }
    if let Some(for_each) = for_each {
        let v = eval(for_each, scope)?;
        if !v.is_wholly_known() && (v.is_unknown() || v.as_object().is_none()) {
            return Err(unknown_keys(for_each, "for_each"));
        }
        return for_each_keys(for_each, v);
    }
    Ok(vec![(InstanceKey::None, None)])
}

/// The instances a known `for_each` value makes: a map's keys, or a set's strings, as
/// Terraform takes them. A list is refused (its order would become keys), and so is a
/// sensitive map or set, whose keys would show the secret in every address.
fn for_each_keys(
    for_each: &inferform_lang::Expr,
    v: Value,
) -> Result<Vec<(InstanceKey, Option<Value>)>, Diagnostic> {
    let unsuitable = |message: String, help: &str| {
        Diagnostic::error("inferform::plan::bad_for_each", message)
            .with_span(for_each.span())
            .with_help(help)
    };
    let sensitive = match &v {
        Value::Set(items) => items.iter().any(Value::is_sensitive),
        v => matches!(v, Value::Sensitive(_)),
    };
    if sensitive {
        return Err(unsuitable(
            "`for_each` cannot take a sensitive value: its keys would show it in every \
             instance's address"
                .into(),
            "use nonsensitive() on the keys if they are not secret, or key the instances by \
             something that is not",
        ));
    }
    match v {
        Value::Object(map) => Ok(map
            .into_iter()
            .map(|(k, v)| (InstanceKey::Str(k), Some(v)))
            .collect()),
        Value::Set(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok((InstanceKey::Str(s.clone()), Some(Value::String(s)))),
                Value::Unknown => Err(unknown_keys(for_each, "for_each")),
                other => Err(unsuitable(
                    format!(
                        "`for_each` over a set takes strings, found a {}",
                        other.kind()
                    ),
                    "convert the elements with tostring(), or use a map",
                )),
            })
            .collect(),
        Value::List(_) => Err(unsuitable(
            "`for_each` takes a map or a set of strings, got a list (a tuple): a list's \
             positions would become the instances' keys"
                .into(),
            "convert it with toset([...]), or use a map",
        )),
        other => Err(unsuitable(
            format!(
                "`for_each` takes a map or a set of strings, got {}",
                other.kind()
            ),
            "use a map, or toset([...]) of strings",
        )),
    }
}

fn unknown_keys(expr: &inferform_lang::Expr, what: &str) -> Diagnostic {
    Diagnostic::error("inferform::plan::unknown_keys", format!("the `{what}` value depends on values known only after apply"))
        .with_span(expr.span())
        .with_help(format!("`{what}` must be known at plan time: base it on variables and locals, or apply the resources it reads first with --target"))
}

/// The scope of one instance of a resource or module call: `count.index` (when `counted`)
/// or `each.key`/`each.value` bound.
pub(crate) fn instance_scope<'a>(
    base: &Scope<'a>,
    key: &InstanceKey,
    each: &Option<Value>,
    counted: bool,
) -> Scope<'a> {
    let mut scope = base.clone();
    match key {
        InstanceKey::Int(i) if counted => {
            scope = scope.with("count", Value::object([("index", Value::number(*i))]));
        }
        InstanceKey::Str(k) => {
            scope = scope.with(
                "each",
                Value::object([
                    ("key", Value::string(k.clone())),
                    ("value", each.clone().unwrap_or(Value::Null)),
                ]),
            );
        }
        _ => {}
    }
    scope
}

/// Sets an instance's value in its module instance's root: `root[type][name]`, `[index]` or
/// `["key"]`.
pub(crate) fn set_instance(roots: &mut Roots, addr: &ResourceInstanceAddr, value: Value) {
    let root = roots.entry(addr.resource.module.clone()).or_default();
    let (top, container) = match addr.resource.mode {
        inferform_types::ResourceMode::Managed => (addr.resource.type_name.clone(), None),
        inferform_types::ResourceMode::Data => {
            ("data".to_string(), Some(addr.resource.type_name.clone()))
        }
    };
    let mut slot = root
        .entry(top)
        .or_insert_with(|| Value::Object(BTreeMap::new()));
    if let Some(ty) = container {
        let Value::Object(map) = slot else { return };
        slot = map
            .entry(ty)
            .or_insert_with(|| Value::Object(BTreeMap::new()));
    }
    let Value::Object(by_name) = slot else { return };
    match &addr.key {
        InstanceKey::None => {
            by_name.insert(addr.resource.name.clone(), value);
        }
        InstanceKey::Int(i) => {
            let entry = by_name
                .entry(addr.resource.name.clone())
                .or_insert_with(|| Value::List(Vec::new()));
            if let Value::List(items) = entry {
                let i = *i as usize;
                if items.len() <= i {
                    items.resize(i + 1, Value::Null);
                }
                items[i] = value;
            }
        }
        InstanceKey::Str(k) => {
            let entry = by_name
                .entry(addr.resource.name.clone())
                .or_insert_with(|| Value::Object(BTreeMap::new()));
            if let Value::Object(map) = entry {
                map.insert(k.clone(), value);
            }
        }
    }
}

/// Takes a deleted instance out of its module instance's root, so that references no longer
/// see it: a `count` list ends before it, a `for_each` map loses its key, a single resource
/// is gone. (A null left in its place would make `resource[*].attr` fail.)
pub(crate) fn remove_instance(roots: &mut Roots, addr: &ResourceInstanceAddr) {
    let Some(root) = roots.get_mut(&addr.resource.module) else {
        return;
    };
    let by_name = match addr.resource.mode {
        inferform_types::ResourceMode::Managed => root.get_mut(&addr.resource.type_name),
        inferform_types::ResourceMode::Data => match root.get_mut("data") {
            Some(Value::Object(types)) => types.get_mut(&addr.resource.type_name),
            _ => None,
        },
    };
    let Some(Value::Object(by_name)) = by_name else {
        return;
    };
    match (&addr.key, by_name.get_mut(&addr.resource.name)) {
        (InstanceKey::None, _) => {
            by_name.remove(&addr.resource.name);
        }
        (InstanceKey::Int(i), Some(Value::List(items))) => {
            if let Some(slot) = items.get_mut(*i as usize) {
                *slot = Value::Null;
            }
            while items.last().is_some_and(Value::is_null) {
                items.pop();
            }
        }
        (InstanceKey::Str(k), Some(Value::Object(map))) => {
            map.remove(k);
        }
        _ => {}
    }
}

/// Strips nulls from objects at every depth: providers get only what is set.
pub(crate) fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(strip_nulls).collect())
        }
        v => v,
    }
}

/// Sets a resource's whole entry in one module instance's root (an empty list or map before
/// its instances are set).
pub(crate) fn set_placeholder(
    root: &mut BTreeMap<String, Value>,
    addr: &ResourceAddr,
    value: Value,
) {
    if let Value::Object(m) = root
        .entry(addr.type_name.clone())
        .or_insert_with(|| Value::Object(BTreeMap::new()))
    {
        m.insert(addr.name.clone(), value);
    }
}

/// Every expression of a resource block that is evaluated: body, count, for_each.
pub(crate) fn resource_exprs(r: &Resource) -> Vec<&inferform_lang::Expr> {
    let mut exprs = body_exprs(&r.body);
    exprs.extend(r.count.iter());
    exprs.extend(r.for_each.iter());
    exprs.extend(condition_exprs(r));
    exprs
}
