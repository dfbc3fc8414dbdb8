//! Saved plans (`plan --out FILE`): a JSON document holding the plan as reviewed, the state
//! lineage and serial it was made against, a hash of the configuration, and the options.
//!
//! A plan file travels as a CI artifact, so it holds no secret in clear: every sensitive value
//! is replaced by a salted SHA-256 of it (`{"$sensitive": "…"}`), and unknown values by
//! `{"$unknown": true}`. `apply FILE` re-plans from the same configuration, variables and
//! state, refuses if anything differs from the saved plan, and applies the fresh plan, which
//! carries the real values.

use std::collections::BTreeMap;

use inferform_types::{ResourceInstanceAddr, Schema, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::plan::{Drift, OutputChange, Plan, ReplaceReason, ResourceChange};
use crate::Action;

/// The version of the plan file format. 2: the file carries a hash of its own content, and
/// its fingerprint is worked out from the changes it lists.
pub const FORMAT_VERSION: u32 = 2;

/// The options a plan was made with; `apply FILE` re-plans with the same.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedOptions {
    pub destroy: bool,
    pub refresh: bool,
    #[serde(default)]
    pub refresh_only: bool,
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub replace: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedChange {
    pub address: String,
    pub provider: String,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    #[serde(default)]
    pub replace_paths: Vec<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// The deposed key, for the delete of a deposed object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedDrift {
    pub address: String,
    pub before: serde_json::Value,
    pub after: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedOutput {
    pub name: String,
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
    pub sensitive: bool,
}

/// A saved plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    pub format_version: u32,
    pub inferform_version: String,
    /// The state this plan was made against.
    pub lineage: String,
    pub serial: u64,
    /// SHA-256 over the configuration files' names and contents.
    pub config_hash: String,
    /// The salt of every sensitive value's hash in this file.
    pub salt: String,
    pub options: SavedOptions,
    /// Variable values: non-sensitive in clear, sensitive as salted hashes.
    pub variables: BTreeMap<String, serde_json::Value>,
    pub changes: Vec<SavedChange>,
    #[serde(default)]
    pub drift: Vec<SavedDrift>,
    #[serde(default)]
    pub outputs: Vec<SavedOutput>,
    /// `moved` blocks that apply: (from, to).
    #[serde(default)]
    pub moved: Vec<(String, String)>,
    /// Addresses imported, with their import ids.
    #[serde(default)]
    pub imports: BTreeMap<String, String>,
    /// Why instances are replaced when no attribute forces it.
    #[serde(default)]
    pub replace_reasons: BTreeMap<String, String>,
    /// A hash of what the plan will do, worked out from `changes` (and the moves, imports and
    /// drift it records): `apply FILE` checks that it matches what the file lists, and that a
    /// fresh plan's is the same.
    pub fingerprint: String,
    /// SHA-256 over everything else in the file, so that any edit (of what a reviewer saw, or
    /// of what is applied) is refused.
    #[serde(default)]
    pub content_hash: String,
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::NoOp => "no-op",
        Action::Create => "create",
        Action::Read => "read",
        Action::Update => "update",
        Action::Replace {
            create_first: false,
        } => "delete-create",
        Action::Replace { create_first: true } => "create-delete",
        Action::Delete => "delete",
        Action::Forget => "forget",
    }
}

fn parse_action(s: &str) -> Option<Action> {
    Some(match s {
        "no-op" => Action::NoOp,
        "create" => Action::Create,
        "read" => Action::Read,
        "update" => Action::Update,
        "forget" => Action::Forget,
        "delete-create" => Action::Replace {
            create_first: false,
        },
        "create-delete" => Action::Replace { create_first: true },
        "delete" => Action::Delete,
        _ => return None,
    })
}

/// A salted hash of a value, for comparing secrets without keeping them.
pub fn secret_hash(salt: &str, v: &Value) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b"\0");
    h.update(
        v.deep_unmarked()
            .to_json()
            .unwrap_or_default()
            .to_string()
            .as_bytes(),
    );
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Encodes a value: unknowns and sensitive values become markers; no secret is kept. A set
/// is kept as a set (`{"$set": [...]}`), so that it reads back as one.
pub fn encode(v: &Value, salt: &str) -> serde_json::Value {
    match v {
        Value::Unknown => serde_json::json!({"$unknown": true}),
        Value::Sensitive(inner) => serde_json::json!({"$sensitive": secret_hash(salt, inner)}),
        Value::List(items) => {
            serde_json::Value::Array(items.iter().map(|i| encode(i, salt)).collect())
        }
        Value::Set(items) => {
            serde_json::json!({"$set": items.iter().map(|i| encode(i, salt)).collect::<Vec<_>>()})
        }
        Value::Object(m) => serde_json::Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), encode(v, salt)))
                .collect(),
        ),
        v => v.to_json().unwrap_or_default(),
    }
}

/// Decodes a value; a sensitive marker becomes a sensitive null (shown, never known).
pub fn decode(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Object(m)
            if m.len() == 1 && m.get("$unknown") == Some(&serde_json::Value::Bool(true)) =>
        {
            Value::Unknown
        }
        serde_json::Value::Object(m)
            if m.len() == 1 && m.get("$sensitive").is_some_and(|v| v.is_string()) =>
        {
            Value::Null.sensitive()
        }
        serde_json::Value::Object(m)
            if m.len() == 1 && m.get("$set").is_some_and(|v| v.is_array()) =>
        {
            let items = m["$set"].as_array().into_iter().flatten();
            Value::Set(items.map(decode).collect())
        }
        serde_json::Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), decode(v))).collect())
        }
        serde_json::Value::Array(items) => Value::List(items.iter().map(decode).collect()),
        other => Value::from_json(other),
    }
}

/// SHA-256 over configuration files, as `(name, text)` pairs in any order.
pub fn config_hash<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut files: Vec<(&str, &str)> = files.into_iter().collect();
    files.sort();
    let mut h = Sha256::new();
    for (name, text) in files {
        h.update(name.as_bytes());
        h.update(b"\0");
        h.update(text.len().to_le_bytes());
        h.update(text.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Only the attributes the configuration sets decide a plan, as opposed to what the cloud
/// reports (status, timestamps), which may move between plan and apply: see
/// [`settable_json`].
/// A hash of what a plan does: each change's address, action, forcing paths and configured
/// values (secrets by salted hash). Two plans with the same fingerprint do the same thing.
pub fn fingerprint(plan: &Plan, schemas: &BTreeMap<String, Schema>, salt: &str) -> String {
    let changes: Vec<SavedChange> = plan.changes.iter().map(|c| saved_change(c, salt)).collect();
    let drift: Vec<SavedDrift> = plan.drift.iter().map(|d| saved_drift(d, salt)).collect();
    digest(
        &changes,
        &drift,
        &saved_moves(plan),
        &saved_imports(plan),
        plan.refresh_only,
        schemas,
    )
}

/// A plan's `moved` pairs as a file records them.
fn saved_moves(plan: &Plan) -> Vec<(String, String)> {
    plan.moved
        .iter()
        .map(|(from, to)| (from.to_string(), to.to_string()))
        .collect()
}

/// A plan's imports as a file records them.
fn saved_imports(plan: &Plan) -> BTreeMap<String, String> {
    plan.imports
        .iter()
        .map(|(addr, id)| (addr.to_string(), id.clone()))
        .collect()
}

fn parse_addr(text: &str) -> Result<ResourceInstanceAddr, String> {
    text.parse().map_err(|e| format!("{text}: {e}"))
}

/// The fingerprint of changes as a plan file records them. Both a fresh plan and a saved file
/// are fingerprinted through this one function, so a file whose listed changes were edited no
/// longer matches its own fingerprint.
fn digest(
    changes: &[SavedChange],
    drift: &[SavedDrift],
    moved: &[(String, String)],
    imports: &BTreeMap<String, String>,
    refresh_only: bool,
    schemas: &BTreeMap<String, Schema>,
) -> String {
    let items: Vec<serde_json::Value> = changes
        .iter()
        .filter(|c| c.action != action_name(Action::NoOp))
        .map(|c| {
            let type_name = c
                .address
                .parse::<ResourceInstanceAddr>()
                .map(|a| a.resource.type_name)
                .unwrap_or_default();
            let schema = schemas.get(&type_name);
            let mut item = serde_json::json!({
                "address": c.address,
                "action": c.action,
                "replace_paths": c.replace_paths,
                "after": c.after.as_ref().map(|a| settable_json(a, schema)),
            });
            // Only a deposed object's delete names its key, so that the fingerprints of
            // plans without one stay as they were.
            if let (Some(key), Some(obj)) = (&c.deposed, item.as_object_mut()) {
                obj.insert("deposed".into(), serde_json::json!(key));
            }
            item
        })
        .collect();
    let doc = serde_json::json!({
        "changes": items,
        "moved": moved,
        "imports": imports,
        "refresh_only": refresh_only,
        "drift": if refresh_only {
            drift.iter().map(|d| serde_json::json!([d.address, d.after])).collect()
        } else {
            Vec::new()
        },
    });
    sha256_hex(&canonical(&doc))
}

/// JSON text with every object's keys in order, so that a value hashes the same however it
/// was read or built.
fn canonical(j: &serde_json::Value) -> String {
    match j {
        serde_json::Value::Object(m) => {
            let sorted: BTreeMap<&String, String> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            let fields: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k.clone())))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

fn sha256_hex(text: &str) -> String {
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    hex::encode(h.finalize())
}

/// [`settable_only`] on an encoded value: unknown and sensitive markers are whole values.
fn settable_json(j: &serde_json::Value, schema: Option<&Schema>) -> serde_json::Value {
    let (Some(schema), serde_json::Value::Object(m)) = (schema, j) else {
        return j.clone();
    };
    if m.len() == 1 && (m.contains_key("$unknown") || m.contains_key("$sensitive")) {
        return j.clone();
    }
    let mut out = serde_json::Map::new();
    for (k, v) in m {
        if let Some(a) = schema.attributes.get(k) {
            if a.settable() {
                out.insert(k.clone(), v.clone());
            }
        } else if let Some(b) = schema.blocks.get(k) {
            let inner = match v {
                serde_json::Value::Array(items) => serde_json::Value::Array(
                    items
                        .iter()
                        .map(|i| settable_json(i, Some(&b.schema)))
                        .collect(),
                ),
                v => settable_json(v, Some(&b.schema)),
            };
            out.insert(k.clone(), inner);
        }
    }
    serde_json::Value::Object(out)
}

fn saved_change(c: &ResourceChange, salt: &str) -> SavedChange {
    SavedChange {
        address: c.addr.to_string(),
        provider: c.provider.clone(),
        action: action_name(c.action).to_string(),
        before: c.before.as_ref().map(|v| encode(v, salt)),
        after: c.after.as_ref().map(|v| encode(v, salt)),
        replace_paths: c.replace_paths.clone(),
        dependencies: c.dependencies.iter().map(|d| d.to_string()).collect(),
        deposed: c.deposed.clone(),
    }
}

fn saved_drift(d: &Drift, salt: &str) -> SavedDrift {
    SavedDrift {
        address: d.addr.to_string(),
        before: encode(&d.before, salt),
        after: d.after.as_ref().map(|a| encode(a, salt)),
    }
}

/// A fresh random salt.
pub fn new_salt() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

impl PlanFile {
    /// Builds the saved form of a plan.
    pub fn new(
        plan: &Plan,
        schemas: &BTreeMap<String, Schema>,
        lineage: &str,
        serial: u64,
        config_hash: String,
        options: SavedOptions,
        variables: &BTreeMap<String, Value>,
    ) -> PlanFile {
        let salt = new_salt();
        let mut file = PlanFile {
            format_version: FORMAT_VERSION,
            inferform_version: env!("CARGO_PKG_VERSION").to_string(),
            lineage: lineage.to_string(),
            serial,
            config_hash,
            options,
            variables: variables
                .iter()
                .map(|(k, v)| (k.clone(), encode(v, &salt)))
                .collect(),
            changes: plan
                .changes
                .iter()
                .map(|c| saved_change(c, &salt))
                .collect(),
            drift: plan.drift.iter().map(|d| saved_drift(d, &salt)).collect(),
            outputs: plan
                .outputs
                .iter()
                .map(|o| SavedOutput {
                    name: o.name.clone(),
                    before: o.before.as_ref().map(|v| encode(v, &salt)),
                    after: encode(&o.after, &salt),
                    sensitive: o.sensitive,
                })
                .collect(),
            moved: saved_moves(plan),
            imports: saved_imports(plan),
            replace_reasons: plan
                .replace_reasons
                .iter()
                .map(|(addr, why)| (addr.to_string(), why.as_str().to_string()))
                .collect(),
            fingerprint: fingerprint(plan, schemas, &salt),
            salt,
            content_hash: String::new(),
        };
        file.content_hash = file.content_digest();
        file
    }

    /// SHA-256 over the file's content, `content_hash` aside.
    fn content_digest(&self) -> String {
        let mut doc = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(m) = &mut doc {
            m.remove("content_hash");
        }
        sha256_hex(&canonical(&doc))
    }

    /// Checks that the file is exactly as `plan --out` wrote it: its content hash, and a
    /// fingerprint that is that of the changes it lists. An edited file is refused, so what a
    /// reviewer saw (`show FILE`) is what `apply FILE` may do.
    pub fn verify(&self, schemas: &BTreeMap<String, Schema>) -> Result<(), String> {
        if self.content_hash != self.content_digest() {
            return Err("its content does not match the hash it was saved with".into());
        }
        let listed = digest(
            &self.changes,
            &self.drift,
            &self.moved,
            &self.imports,
            self.options.refresh_only,
            schemas,
        );
        if listed != self.fingerprint {
            return Err("the changes it lists are not those its fingerprint records".into());
        }
        Ok(())
    }

    /// The plan as saved, for showing it (values known only as the file records them).
    pub fn to_plan(&self) -> Result<Plan, String> {
        let mut changes = Vec::new();
        for c in &self.changes {
            let addr: ResourceInstanceAddr = c.address.parse().map_err(|e| format!("{e}"))?;
            let action = parse_action(&c.action)
                .ok_or_else(|| format!("unknown action {:?} for {}", c.action, c.address))?;
            changes.push(ResourceChange {
                addr,
                provider: c.provider.clone(),
                action,
                before: c.before.as_ref().map(decode),
                after: c.after.as_ref().map(decode),
                replace_paths: c.replace_paths.clone(),
                dependencies: c
                    .dependencies
                    .iter()
                    .filter_map(|d| d.parse::<ResourceInstanceAddr>().ok().map(|a| a.resource))
                    .collect(),
                deposed: c.deposed.clone(),
            });
        }
        let mut drift = Vec::new();
        for d in &self.drift {
            drift.push(Drift {
                addr: parse_addr(&d.address)?,
                before: decode(&d.before),
                after: d.after.as_ref().map(decode),
            });
        }
        let mut moved = Vec::new();
        for (from, to) in &self.moved {
            moved.push((parse_addr(from)?, parse_addr(to)?));
        }
        let mut imports = BTreeMap::new();
        for (addr, id) in &self.imports {
            imports.insert(parse_addr(addr)?, id.clone());
        }
        let mut replace_reasons = BTreeMap::new();
        for (addr, why) in &self.replace_reasons {
            let why = ReplaceReason::parse(why)
                .ok_or_else(|| format!("unknown replace reason {why:?} for {addr}"))?;
            replace_reasons.insert(parse_addr(addr)?, why);
        }
        Ok(Plan {
            changes,
            drift,
            outputs: self
                .outputs
                .iter()
                .map(|o| OutputChange {
                    name: o.name.clone(),
                    before: o.before.as_ref().map(decode),
                    after: decode(&o.after),
                    sensitive: o.sensitive,
                })
                .collect(),
            destroy: self.options.destroy,
            roots: BTreeMap::new(),
            vars: BTreeMap::new(),
            adopted: Vec::new(),
            resolved_intents: Vec::new(),
            moved,
            imports,
            record: BTreeMap::new(),
            refresh_only: self.options.refresh_only,
            targeted: !self.options.targets.is_empty(),
            replace_reasons,
            // Shown only: `apply FILE` plans afresh, in the workspace selected then.
            workspace: String::new(),
            drop_deposed: BTreeMap::new(),
        })
    }

    /// Checks a variable's value against the one saved; `None` when it matches.
    pub fn variable_differs(&self, name: &str, value: &Value) -> Option<String> {
        let saved = self.variables.get(name)?;
        let now = encode(value, &self.salt);
        (saved != &now).then(|| {
            if value.is_sensitive() {
                format!("the sensitive variable `{name}` has a different value than when the plan was made")
            } else {
                format!("variable `{name}` is {} now, but {} in the plan", value, decode(saved))
            }
        })
    }
}

/// Whether a saved plan is stale: the one rule `apply PLANFILE` follows, next to the format it
/// reads. A plan is applied only exactly as reviewed.
impl PlanFile {
    /// Why the plan cannot be applied, judged before planning afresh: it was made for another
    /// state (lineage), the state changed since (serial), the configuration files changed, or
    /// a variable has another value now. `None` when none of these.
    pub fn stale_before_planning(
        &self,
        lineage: &str,
        serial: u64,
        config_hash: &str,
        vars: &BTreeMap<String, Value>,
    ) -> Option<String> {
        if lineage != self.lineage {
            return Some("it was made for a different state (another lineage)".into());
        }
        if serial != self.serial {
            return Some(format!(
                "the state changed since the plan was made (serial {} then, {serial} now)",
                self.serial
            ));
        }
        if config_hash != self.config_hash {
            return Some("the configuration files changed since the plan was made".into());
        }
        vars.iter()
            .find_map(|(name, value)| self.variable_differs(name, value))
    }

    /// Why the plan cannot be applied, judged against a fresh plan from the same inputs: the
    /// fresh plan would do something else. `None` when it does exactly what the file says.
    pub fn stale_after_planning(
        &self,
        fresh: &Plan,
        schemas: &BTreeMap<String, Schema>,
    ) -> Option<String> {
        (fingerprint(fresh, schemas, &self.salt) != self.fingerprint).then(|| {
            "a fresh plan from the same configuration would do something else: the objects changed in the cloud since the plan was made".into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_the_file() {
        let v = Value::object([
            ("key", Value::string("s3cr3t-value").sensitive()),
            ("id", Value::Unknown),
        ]);
        let salt = new_salt();
        let encoded = encode(&v, &salt).to_string();
        assert!(!encoded.contains("s3cr3t-value"));
        assert!(encoded.contains("$sensitive") && encoded.contains("$unknown"));
        let back = decode(&serde_json::from_str(&encoded).unwrap());
        assert!(back.get("key").unwrap().is_sensitive());
        assert!(back.get("id").unwrap().is_unknown());
    }

    #[test]
    fn same_secret_same_hash_with_same_salt() {
        let a = Value::string("x").sensitive();
        assert_eq!(secret_hash("s", &a), secret_hash("s", &Value::string("x")));
        assert_ne!(secret_hash("s", &a), secret_hash("t", &a));
        assert_ne!(secret_hash("s", &a), secret_hash("s", &Value::string("y")));
    }

    fn two_creates() -> (Plan, BTreeMap<String, Schema>) {
        use inferform_provider::ProviderFactory as _;
        let schemas = crate::builtin::BuiltinFactory::default().resource_schemas();
        let change = |name: &str| ResourceChange {
            addr: format!("inferform_data.{name}").parse().unwrap(),
            provider: "inferform".into(),
            action: Action::Create,
            before: None,
            after: Some(Value::object([
                ("input", Value::string(name)),
                ("id", Value::Unknown),
                ("secret", Value::string("s").sensitive()),
            ])),
            replace_paths: vec![],
            dependencies: vec![],
            deposed: None,
        };
        let plan = Plan {
            changes: vec![change("a"), change("b")],
            ..Plan::default()
        };
        (plan, schemas)
    }

    #[test]
    fn a_saved_file_verifies_and_its_fingerprint_is_the_plans() {
        let (plan, schemas) = two_creates();
        let file = PlanFile::new(
            &plan,
            &schemas,
            "l",
            1,
            "c".into(),
            SavedOptions::default(),
            &BTreeMap::new(),
        );
        assert_eq!(file.verify(&schemas), Ok(()));
        assert_eq!(file.fingerprint, fingerprint(&plan, &schemas, &file.salt));
        // Through JSON text and back, as `apply FILE` reads it.
        let read: PlanFile =
            serde_json::from_str(&serde_json::to_string_pretty(&file).unwrap()).unwrap();
        assert_eq!(read.verify(&schemas), Ok(()));
    }

    #[test]
    fn an_edit_that_rehashes_the_content_still_fails_the_fingerprint() {
        let (plan, schemas) = two_creates();
        let mut file = PlanFile::new(
            &plan,
            &schemas,
            "l",
            1,
            "c".into(),
            SavedOptions::default(),
            &BTreeMap::new(),
        );
        file.changes.truncate(1);
        file.content_hash = file.content_digest();
        let why = file.verify(&schemas).unwrap_err();
        assert!(why.contains("fingerprint"), "{why}");
        // And a fresh plan doing both creates does not match the edited file's listing.
        let mut emptied = file.clone();
        emptied.changes.clear();
        emptied.content_hash = emptied.content_digest();
        assert!(emptied.verify(&schemas).is_err());
    }

    #[test]
    fn config_hash_ignores_order() {
        assert_eq!(
            config_hash([("a", "1"), ("b", "2")]),
            config_hash([("b", "2"), ("a", "1")])
        );
        assert_ne!(config_hash([("a", "1")]), config_hash([("a", "2")]));
    }
}
