//! Plans → the JSON plan representation of `terraform show -json` (format 1.2), so that tools
//! written for Terraform plans (policy checks, cost estimates, review bots) read ours.
//!
//! The layout, key names and marks follow Terraform 1.11: `resource_changes[]` with
//! `change.actions`, `before`/`after`, `after_unknown`, `before_sensitive`/`after_sensitive`
//! and `replace_paths`; `resource_drift[]`; `output_changes`; `prior_state` and
//! `planned_values` as `values.root_module`, root resources in `resources[]` and each module
//! instance in `child_modules[]` (nested as the modules are). Two differences are deliberate:
//!
//! - A sensitive value is written as `null`, never in clear; its `*_sensitive` mark says it is
//!   there. (Terraform prints the value and only marks it.) Schemas are applied on top of the
//!   marks the plan carries, so an attribute the schema calls sensitive is hidden even when a
//!   value reached the plan unmarked.
//! - A constant the configuration gives a sensitive attribute, output or module input, or a
//!   sensitive variable's default, is left out of `configuration` (see `json_config`).
//!
//! [`plan_hash`] hashes the plan's own part of the document: not the `configuration`,
//! `relevant_attributes` and `timestamp` that [`plan_json_full`] adds, so that the hash says
//! whether the plan changed, not when it was made.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use inferform_engine::{Action, OutputChange, Plan, ResourceChange};
use inferform_types::addr::provider_for_type;
use inferform_types::value::number_to_json;
use inferform_types::{InstanceKey, ModulePath, ResourceInstanceAddr, ResourceMode, Schema, Value};
use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

use crate::capacity::{capacity_json, plan_capacity, Prices};
use crate::json_config::{configuration, relevant_attributes, ConfigSchemas};
use inferform_lang::Config;

/// The `format_version` written: Terraform's JSON plan format that this document follows.
pub const FORMAT_VERSION: &str = "1.2";

/// Renders a plan as Terraform's JSON plan representation (what `inferform show --json
/// PLANFILE` prints).
///
/// - `schemas`: resource type → schema, as the engine has them; used to hide every attribute a
///   schema calls sensitive, whatever marks the plan's values carry.
/// - `in_config`: the addresses of the configuration's resource blocks (`fabric_endpoint.chat`,
///   without instance keys), as for [`render_plan`](crate::render_plan); it decides each
///   delete's `action_reason` (`delete_because_no_resource_config` when the block is gone).
///
/// Top-level keys, in Terraform's order: `format_version`, `terraform_version`,
/// `inferform_version`, `variables`
/// (when the plan has any), `planned_values`, `resource_drift` (when any), `resource_changes`,
/// `output_changes` (when any), `prior_state` (when state had anything), then with
/// [`plan_json_full`] `configuration`, `relevant_attributes` and `timestamp`, then `applyable`,
/// `complete` (false for a `--target` plan) and `errored` (always false: a plan with errors
/// is never made). A moved instance has `previous_address`; an imported one
/// `change.importing.id`.
/// No value marked or declared sensitive appears in the document: it is `null`, with `true`
/// at the same path in `before_sensitive`/`after_sensitive`/`sensitive_values`. Values known
/// only after apply are left out of `after` and `planned_values` (a `null` inside a list, to
/// keep positions) and marked `true` at the same path in `after_unknown`, as Terraform does.
pub fn plan_json(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
) -> Json {
    plan_json_priced(plan, schemas, in_config, None)
}

/// [`plan_json`], whose `inferform_capacity` also holds the cost of the capacity change when
/// the user gave prices. The extension key is documented in `schemas/plan.schema.json`.
pub fn plan_json_priced(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
    prices: Option<&Prices>,
) -> Json {
    plan_json_full(plan, schemas, in_config, prices, None)
}

/// What `show --json` knows of a plan besides the plan itself.
#[derive(Clone, Copy)]
pub struct PlanSource<'a> {
    /// The configuration the plan was made from; `None` when it cannot be loaded, which
    /// leaves `configuration` empty and `relevant_attributes` `[]`.
    pub config: Option<&'a Config>,
    pub schemas: ConfigSchemas<'a>,
    /// When the plan was made, in RFC 3339 and UTC (`2026-12-01T20:47:59Z`).
    pub timestamp: &'a str,
}

/// The whole JSON plan as `show --json` writes it: [`plan_json_priced`] and, given its
/// `source`, Terraform's `configuration`, `relevant_attributes` and `timestamp`.
pub fn plan_json_full(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
    prices: Option<&Prices>,
    source: Option<PlanSource>,
) -> Json {
    let mut doc = plan_document(plan, schemas, in_config, source);
    if let (Json::Object(map), Some(cap)) = (&mut doc, plan_capacity(plan)) {
        map.insert(CAPACITY_KEY.into(), capacity_json(&cap, prices));
    }
    doc
}

/// The top-level key of `show --json` that holds the capacity summary (an extension:
/// Terraform's plan has no such key, and readers of its format ignore keys they do not know).
pub const CAPACITY_KEY: &str = "inferform_capacity";

/// Terraform's plan representation, without inferform's extensions: what [`plan_hash`] hashes,
/// so that a price file never changes which plan a comment belongs to.
fn plan_document(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
    source: Option<PlanSource>,
) -> Json {
    let mut doc = Map::new();
    doc.insert("format_version".into(), json!(FORMAT_VERSION));
    // Policy tools (checkov's terraform_plan framework) recognise a plan by this key and
    // silently pass a document without it. OpenTofu writes its own version here; so do we.
    doc.insert("terraform_version".into(), json!(env!("CARGO_PKG_VERSION")));
    doc.insert("inferform_version".into(), json!(env!("CARGO_PKG_VERSION")));
    if let Some(vars) = variables(plan) {
        doc.insert("variables".into(), vars);
    }
    doc.insert("planned_values".into(), planned_values(plan, schemas));
    if !plan.drift.is_empty() {
        let drift = plan
            .drift
            .iter()
            .map(|d| {
                let addr = Address::of(&d.addr);
                let schema = schemas.get(&addr.type_name);
                let before = marked(&d.before, schema);
                let after = d.after.as_ref().map(|a| marked(a, schema));
                let action = if after.is_some() { "update" } else { "delete" };
                let provider = provider_for_type(&addr.type_name).to_string();
                resource_change(
                    &addr,
                    &provider,
                    &[action],
                    Some(&before),
                    after.as_ref(),
                    &Extras::default(),
                )
            })
            .collect();
        doc.insert("resource_drift".into(), Json::Array(drift));
    }
    let changes = plan
        .changes
        .iter()
        .map(|c| {
            let schema = schemas.get(&c.addr.resource.type_name);
            let before = c.before.as_ref().map(|v| marked(v, schema));
            let after = c.after.as_ref().map(|v| marked(v, schema));
            let previous = plan
                .moved
                .iter()
                .find(|(_, to)| *to == c.addr)
                .map(|(from, _)| from.to_string());
            let extras = Extras {
                previous_address: previous.as_deref(),
                replace_paths: &c.replace_paths,
                importing: plan.imports.get(&c.addr).map(String::as_str),
                // A deposed object is destroyed whatever the configuration says: Terraform
                // gives no reason.
                reason: action_reason(plan, c, in_config).filter(|_| c.deposed.is_none()),
                deposed: c.deposed.as_deref(),
            };
            resource_change(
                &Address::of(&c.addr),
                &c.provider,
                actions(c.action),
                before.as_ref(),
                after.as_ref(),
                &extras,
            )
        })
        .collect();
    doc.insert("resource_changes".into(), Json::Array(changes));
    if !plan.outputs.is_empty() {
        let mut outputs: Vec<&OutputChange> = plan.outputs.iter().collect();
        outputs.sort_by(|a, b| a.name.cmp(&b.name));
        let map = outputs
            .into_iter()
            .map(|o| (o.name.clone(), output_change(o)))
            .collect();
        doc.insert("output_changes".into(), Json::Object(map));
    }
    if let Some(prior) = prior_state(plan, schemas) {
        doc.insert("prior_state".into(), prior);
    }
    if let Some(source) = source {
        let (configuration, relevant) = match source.config {
            Some(config) => (
                configuration(config, source.schemas),
                relevant_attributes(config),
            ),
            None => (json!({"provider_config": {}, "root_module": {}}), json!([])),
        };
        doc.insert("configuration".into(), configuration);
        doc.insert("relevant_attributes".into(), relevant);
        doc.insert("timestamp".into(), json!(source.timestamp));
    }
    doc.insert("applyable".into(), json!(plan.has_changes()));
    doc.insert("complete".into(), json!(!plan.targeted));
    doc.insert("errored".into(), json!(false));
    Json::Object(doc)
}

/// The SHA-256 (lower-case hex) of the plan's canonical JSON: [`plan_json`] without the
/// `inferform_capacity` extension (a summary worked out from the changes, which a price file
/// alters), with object keys sorted and no whitespace. Equal plans give equal hashes; it
/// holds no secret, since the document holds none.
pub fn plan_hash(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
) -> String {
    let doc = plan_document(plan, schemas, in_config, None);
    hex::encode(Sha256::digest(canonical_json(&doc).as_bytes()))
}

/// Serializes JSON with object keys sorted (by their UTF-8 bytes) and no whitespace, so that
/// equal documents give equal text whatever order their keys were inserted in.
pub fn canonical_json(value: &Json) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Json, out: &mut String) {
    match value {
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}:", Json::String(k.clone()));
                write_canonical(v, out);
            }
            out.push('}');
        }
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

/// Terraform's `change.actions` for an action.
pub(crate) fn actions(action: Action) -> &'static [&'static str] {
    match action {
        Action::NoOp => &["no-op"],
        Action::Create => &["create"],
        Action::Read => &["read"],
        Action::Update => &["update"],
        Action::Replace {
            create_first: false,
        } => &["delete", "create"],
        Action::Replace { create_first: true } => &["create", "delete"],
        Action::Delete => &["delete"],
        Action::Forget => &["forget"],
    }
}

/// Terraform's `action_reason` for a change, where Terraform would give one.
///
/// A replace is `replace_because_cannot_update` when attributes force it, else from the
/// plan's reason: `replace_because_tainted`, `replace_by_request` (`--replace`) or
/// `replace_by_triggers` (`replace_triggered_by`). A delete in a destroy plan has no reason; otherwise it
/// is `delete_because_no_resource_config` when the resource block is gone, and when the block
/// is still there, `delete_because_count_index` / `delete_because_each_key` for a key that
/// `count`/`for_each` no longer yields, or `delete_because_wrong_repetition` when the kind of
/// key changed (the other instances of the resource show which kind it has now). A data
/// source read left to apply is `read_because_config_unknown`: the engine defers a read only
/// when its arguments are not known yet.
pub(crate) fn action_reason(
    plan: &Plan,
    change: &ResourceChange,
    in_config: &BTreeSet<String>,
) -> Option<&'static str> {
    match change.action {
        Action::Replace { .. } if change.replace_paths.is_empty() => {
            match plan.replace_reasons.get(&change.addr).map(|r| r.as_str()) {
                Some("tainted") => Some("replace_because_tainted"),
                Some("triggered") => Some("replace_by_triggers"),
                _ => Some("replace_by_request"),
            }
        }
        Action::Replace { .. } => Some("replace_because_cannot_update"),
        Action::Forget => Some("delete_because_no_resource_config"),
        // A data source is read at apply only when its arguments are not known yet.
        Action::Read => Some("read_because_config_unknown"),
        Action::Delete if plan.destroy => None,
        Action::Delete if !in_config.contains(&change.addr.resource.config_addr().to_string()) => {
            Some("delete_because_no_resource_config")
        }
        Action::Delete => {
            let kind = |k: &InstanceKey| std::mem::discriminant(k);
            let wrong_kind = plan.changes.iter().any(|o| {
                o.addr.resource == change.addr.resource
                    && o.action != Action::Delete
                    && kind(&o.addr.key) != kind(&change.addr.key)
            });
            Some(match change.addr.key {
                _ if wrong_kind => "delete_because_wrong_repetition",
                InstanceKey::None => "delete_because_wrong_repetition",
                InstanceKey::Int(_) => "delete_because_count_index",
                InstanceKey::Str(_) => "delete_because_each_key",
            })
        }
        _ => None,
    }
}

/// The parts of a resource instance address that Terraform writes out separately.
struct Address {
    address: String,
    /// `module.env["prod"]` for a resource inside a module.
    module: Option<String>,
    mode: &'static str,
    type_name: String,
    name: String,
    index: Option<Json>,
}

impl Address {
    fn of(addr: &ResourceInstanceAddr) -> Self {
        Address {
            address: addr.to_string(),
            module: (!addr.resource.module.is_root()).then(|| addr.resource.module.to_string()),
            mode: match addr.resource.mode {
                ResourceMode::Managed => "managed",
                ResourceMode::Data => "data",
            },
            type_name: addr.resource.type_name.clone(),
            name: addr.resource.name.clone(),
            index: match &addr.key {
                InstanceKey::None => None,
                InstanceKey::Int(i) => Some(json!(i)),
                InstanceKey::Str(s) => Some(json!(s)),
            },
        }
    }

    /// `address`, `module_address` (when asked, for a resource in a module), `previous_address`
    /// (when moved), `mode`, `type`, `name`, `index` (when the instance has a key) and
    /// `provider_name`, in Terraform's order. Terraform writes `module_address` in
    /// `resource_changes`/`resource_drift` only, not in `planned_values`/`prior_state`.
    fn write(
        &self,
        provider: &str,
        module_address: bool,
        previous: Option<&str>,
        out: &mut Map<String, Json>,
    ) {
        out.insert("address".into(), json!(self.address));
        if let Some(module) = self.module.as_ref().filter(|_| module_address) {
            out.insert("module_address".into(), json!(module));
        }
        if let Some(previous) = previous {
            out.insert("previous_address".into(), json!(previous));
        }
        out.insert("mode".into(), json!(self.mode));
        out.insert("type".into(), json!(self.type_name));
        out.insert("name".into(), json!(self.name));
        if let Some(index) = &self.index {
            out.insert("index".into(), index.clone());
        }
        out.insert("provider_name".into(), json!(provider));
    }
}

/// A value with the schema's sensitive attributes marked, on top of the marks it carries.
fn marked(value: &Value, schema: Option<&Schema>) -> Value {
    inferform_engine::diff::marked(value.clone(), schema)
}

/// The value's known parts as JSON, sensitive parts as `null`. `None` when the value itself is
/// unknown; unknown object attributes are left out and unknown list items become `null`.
fn known_json(value: &Value) -> Option<Json> {
    Some(match value {
        Value::Unknown => return None,
        Value::Sensitive(inner) if inner.is_unknown() => return None,
        Value::Sensitive(_) | Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => number_to_json(*n),
        Value::String(s) => Json::String(s.clone()),
        Value::List(items) | Value::Set(items) => Json::Array(
            items
                .iter()
                .map(|i| known_json(i).unwrap_or(Json::Null))
                .collect(),
        ),
        Value::Object(map) => Json::Object(
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), known_json(v)?)))
                .collect(),
        ),
    })
}

/// Terraform's unknown marks: `true` where a value is unknown, `false` for a known scalar,
/// arrays item by item, objects without their `false` entries. A sensitive value is one mark
/// for the whole (its shape is not shown).
fn unknown_marks(value: &Value) -> Json {
    match value {
        Value::Unknown => Json::Bool(true),
        Value::Sensitive(inner) => Json::Bool(!inner.is_wholly_known()),
        Value::List(items) | Value::Set(items) => {
            Json::Array(items.iter().map(unknown_marks).collect())
        }
        Value::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), unknown_marks(v)))
                .filter(|(_, m)| *m != Json::Bool(false))
                .collect(),
        ),
        _ => Json::Bool(false),
    }
}

/// Terraform's sensitive marks: `true` where a value is sensitive, `false` for other scalars,
/// arrays item by item, objects without their `false` entries.
fn sensitive_marks(value: &Value) -> Json {
    match value {
        Value::Sensitive(_) => Json::Bool(true),
        Value::List(items) | Value::Set(items) => {
            Json::Array(items.iter().map(sensitive_marks).collect())
        }
        Value::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), sensitive_marks(v)))
                .filter(|(_, m)| *m != Json::Bool(false))
                .collect(),
        ),
        _ => Json::Bool(false),
    }
}

/// `after_unknown` of a resource change: `{}` when everything is known (a delete too).
fn after_unknown(after: Option<&Value>) -> Json {
    match after {
        Some(v) if !v.is_wholly_known() => unknown_marks(v),
        _ => json!({}),
    }
}

/// What only some resource changes have.
#[derive(Default)]
struct Extras<'a> {
    previous_address: Option<&'a str>,
    replace_paths: &'a [String],
    /// The import id.
    importing: Option<&'a str>,
    reason: Option<&'static str>,
    /// The deposed key, for the delete of a deposed object.
    deposed: Option<&'a str>,
}

/// One entry of `resource_changes` or `resource_drift`.
fn resource_change(
    addr: &Address,
    provider: &str,
    actions: &[&str],
    before: Option<&Value>,
    after: Option<&Value>,
    extras: &Extras,
) -> Json {
    let mut entry = Map::new();
    addr.write(provider, true, extras.previous_address, &mut entry);
    if let Some(key) = extras.deposed {
        entry.insert("deposed".into(), json!(key));
    }
    let mut change = Map::new();
    change.insert("actions".into(), json!(actions));
    change.insert(
        "before".into(),
        before.and_then(known_json).unwrap_or(Json::Null),
    );
    change.insert(
        "after".into(),
        after.and_then(known_json).unwrap_or(Json::Null),
    );
    change.insert("after_unknown".into(), after_unknown(after));
    change.insert(
        "before_sensitive".into(),
        before.map_or(Json::Bool(false), sensitive_marks),
    );
    change.insert(
        "after_sensitive".into(),
        after.map_or(Json::Bool(false), sensitive_marks),
    );
    if !extras.replace_paths.is_empty() {
        change.insert(
            "replace_paths".into(),
            Json::Array(extras.replace_paths.iter().map(|p| path_steps(p)).collect()),
        );
    }
    if let Some(id) = extras.importing {
        change.insert("importing".into(), json!({ "id": id }));
    }
    entry.insert("change".into(), Json::Object(change));
    if let Some(reason) = extras.reason {
        entry.insert("action_reason".into(), json!(reason));
    }
    Json::Object(entry)
}

/// An attribute path as the engine writes it (`reserved_resource.mu.max`, `version[0].name`)
/// → Terraform's steps: attribute names as strings, list indexes as numbers
/// (`["version", 0, "name"]`).
pub(crate) fn path_steps(path: &str) -> Json {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            steps.push(json!(name));
        }
        while let Some(open) = rest.strip_prefix('[') {
            let Some(close) = open.find(']') else {
                steps.push(json!(rest));
                break;
            };
            let key = &open[..close];
            steps.push(match key.parse::<u64>() {
                Ok(i) => json!(i),
                Err(_) => json!(key.trim_matches('"')),
            });
            rest = &open[close + 1..];
        }
    }
    Json::Array(steps)
}

/// One entry of `output_changes`. Terraform marks an output's sensitivity as one boolean for
/// both sides; a sensitive output's values are `null` here.
fn output_change(o: &OutputChange) -> Json {
    let sensitive = o.sensitive || o.after.is_sensitive();
    let action = match &o.before {
        None => "create",
        Some(b) if b.deep_unmarked() == o.after.deep_unmarked() && o.after.is_wholly_known() => {
            "no-op"
        }
        Some(_) => "update",
    };
    let hide = |v: &Value| {
        if sensitive {
            v.clone().sensitive()
        } else {
            v.clone()
        }
    };
    let mut change = Map::new();
    change.insert("actions".into(), json!([action]));
    change.insert(
        "before".into(),
        o.before
            .as_ref()
            .and_then(|b| known_json(&hide(b)))
            .unwrap_or(Json::Null),
    );
    if let Some(after) = known_json(&hide(&o.after)) {
        change.insert("after".into(), after);
    }
    change.insert(
        "after_unknown".into(),
        if o.after.is_wholly_known() {
            Json::Bool(false)
        } else {
            unknown_marks(&hide(&o.after))
        },
    );
    change.insert("before_sensitive".into(), json!(sensitive));
    change.insert("after_sensitive".into(), json!(sensitive));
    Json::Object(change)
}

/// One resource of `planned_values` or `prior_state`.
fn state_resource(addr: &Address, provider: &str, value: &Value) -> Json {
    let mut entry = Map::new();
    addr.write(provider, false, None, &mut entry);
    // No resource type has changed its schema yet: every one is at version 0.
    entry.insert("schema_version".into(), json!(0));
    entry.insert(
        "values".into(),
        known_json(value)
            .filter(Json::is_object)
            .unwrap_or_else(|| json!({})),
    );
    entry.insert("sensitive_values".into(), sensitive_marks(value));
    Json::Object(entry)
}

/// `{"outputs": ..., "root_module": ...}`, outputs only when there are any; `root_module` as
/// [`ModuleNode::into_json`] writes it.
fn values_doc(outputs: Map<String, Json>, resources: Vec<(&ModulePath, Json)>) -> Json {
    let mut values = Map::new();
    if !outputs.is_empty() {
        values.insert("outputs".into(), Json::Object(outputs));
    }
    let mut root = ModuleNode::default();
    for (module, resource) in resources {
        root.insert(module, resource);
    }
    values.insert("root_module".into(), root.into_json(None));
    Json::Object(values)
}

/// One module instance of the values representation, with the module instances called from
/// it (by address). Only modules holding a resource, or calling one that does, are in the
/// tree.
#[derive(Default)]
struct ModuleNode {
    resources: Vec<Json>,
    children: BTreeMap<String, ModuleNode>,
}

impl ModuleNode {
    /// Files a resource under its module instance, making the modules on the way.
    fn insert(&mut self, module: &ModulePath, resource: Json) {
        let mut node = self;
        for depth in 1..=module.0.len() {
            let address = ModulePath(module.0[..depth].to_vec()).to_string();
            node = node.children.entry(address).or_default();
        }
        node.resources.push(resource);
    }

    /// Terraform's module object: `resources` (when any, in plan order, which Terraform leaves
    /// open), `address` (not for the root module) and `child_modules` (sorted by address, when
    /// any), in that order.
    fn into_json(self, address: Option<String>) -> Json {
        let mut out = Map::new();
        if !self.resources.is_empty() {
            out.insert("resources".into(), Json::Array(self.resources));
        }
        if let Some(address) = address {
            out.insert("address".into(), json!(address));
        }
        if !self.children.is_empty() {
            let children = self
                .children
                .into_iter()
                .map(|(address, child)| child.into_json(Some(address)))
                .collect();
            out.insert("child_modules".into(), Json::Array(children));
        }
        Json::Object(out)
    }
}

/// An output as `planned_values`/`prior_state` list it: `sensitive`, and `value` unless it is
/// unknown (`null` when sensitive).
fn state_output(value: &Value, sensitive: bool) -> Json {
    let sensitive = sensitive || value.is_sensitive();
    let mut entry = Map::new();
    entry.insert("sensitive".into(), json!(sensitive));
    let shown = if sensitive {
        value.clone().sensitive()
    } else {
        value.clone()
    };
    if let Some(v) = known_json(&shown) {
        entry.insert("value".into(), v);
    }
    Json::Object(entry)
}

/// What the state will hold after apply: every instance but those deleted.
fn planned_values(plan: &Plan, schemas: &BTreeMap<String, Schema>) -> Json {
    let outputs = plan
        .outputs
        .iter()
        .map(|o| (o.name.clone(), state_output(&o.after, o.sensitive)))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    let resources = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .filter_map(|c| {
            let after = c.after.as_ref()?;
            let schema = schemas.get(&c.addr.resource.type_name);
            let resource =
                state_resource(&Address::of(&c.addr), &c.provider, &marked(after, schema));
            Some((&c.addr.resource.module, resource))
        })
        .collect();
    values_doc(outputs, resources)
}

/// State as refresh found it: every instance with a prior object, and the prior outputs.
/// `None` when state held nothing.
fn prior_state(plan: &Plan, schemas: &BTreeMap<String, Schema>) -> Option<Json> {
    let outputs: Map<String, Json> = plan
        .outputs
        .iter()
        .filter_map(|o| {
            Some((
                o.name.clone(),
                state_output(o.before.as_ref()?, o.sensitive),
            ))
        })
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    let resources: Vec<(&ModulePath, Json)> = plan
        .changes
        .iter()
        // A deposed object is not the address's current object.
        .filter(|c| c.deposed.is_none())
        .filter_map(|c| {
            let before = c.before.as_ref()?;
            let schema = schemas.get(&c.addr.resource.type_name);
            let resource =
                state_resource(&Address::of(&c.addr), &c.provider, &marked(before, schema));
            Some((&c.addr.resource.module, resource))
        })
        .collect();
    if outputs.is_empty() && resources.is_empty() {
        return None;
    }
    Some(json!({
        "format_version": "1.0",
        "terraform_version": env!("CARGO_PKG_VERSION"),
        "values": values_doc(outputs, resources),
    }))
}

/// `{"name": {"value": ...}}` for each input variable; a sensitive one is
/// `{"value": null, "sensitive": true}`.
fn variables(plan: &Plan) -> Option<Json> {
    let vars = &plan.vars;
    if vars.is_empty() {
        return None;
    }
    let map = vars
        .iter()
        .map(|(name, v)| {
            let mut entry = Map::new();
            entry.insert("value".into(), known_json(v).unwrap_or(Json::Null));
            if v.is_sensitive() {
                entry.insert("sensitive".into(), json!(true));
            }
            (name.clone(), Json::Object(entry))
        })
        .collect();
    Some(Json::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_steps_split_names_and_indexes() {
        assert_eq!(path_steps("type"), json!(["type"]));
        assert_eq!(
            path_steps("reserved_resource.mu.max"),
            json!(["reserved_resource", "mu", "max"])
        );
        assert_eq!(
            path_steps("version[0].config[12].name"),
            json!(["version", 0, "config", 12, "name"])
        );
        assert_eq!(path_steps("env[\"k\"]"), json!(["env", "k"]));
    }

    #[test]
    fn marks_follow_terraform() {
        let v = Value::object([
            ("id", Value::Unknown),
            ("name", Value::string("a")),
            (
                "tags",
                Value::List(vec![Value::string("x"), Value::Unknown]),
            ),
            ("key", Value::string("secret").sensitive()),
            ("empty", Value::List(vec![])),
            ("nested", Value::object([("n", Value::number(1.0))])),
        ]);
        assert_eq!(
            unknown_marks(&v),
            json!({"id": true, "tags": [false, true], "empty": [], "nested": {}})
        );
        assert_eq!(
            sensitive_marks(&v),
            json!({"key": true, "tags": [false, false], "empty": [], "nested": {}})
        );
        assert_eq!(
            known_json(&v).unwrap(),
            json!({"empty": [], "key": null, "name": "a", "nested": {"n": 1}, "tags": ["x", null]})
        );
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let mut inner = Map::new();
        inner.insert("z".into(), json!(1));
        inner.insert("a".into(), json!([true, null, "x\"y"]));
        let mut outer = Map::new();
        outer.insert("b".into(), Json::Object(inner));
        outer.insert("a".into(), json!(0.5));
        assert_eq!(
            canonical_json(&Json::Object(outer)),
            r#"{"a":0.5,"b":{"a":[true,null,"x\"y"],"z":1}}"#
        );
    }
}
