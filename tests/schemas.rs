//! `schemas/*.json` are generated from the code's schemas: one JSON Schema document per
//! resource type, data source and provider block, and `index.schema.json`, which describes a
//! whole configuration in JSON form (`{"resource": {"TYPE": {"NAME": {...}}}}`) by referring to
//! the others.
//!
//! This test regenerates them in memory and fails when the files on disk differ, so they never
//! drift from the code. To rewrite them after changing a schema:
//!
//! ```sh
//! INFERFORM_UPDATE_SCHEMAS=1 cargo test -p inferform --test schemas
//! ```
//!
//! `plan.schema.json` is written by hand and left alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use inferform_provider::ProviderFactory;
use inferform_types::{Attribute, Block, Nesting, Schema, Type};
use serde_json::{json, Map, Value};

const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";
const ID_BASE: &str = "https://inferform.dev/schemas/";
/// Files in `schemas/` that this generator does not own.
const HAND_WRITTEN: &[&str] = &["plan.schema.json"];

/// Write the files, or only compare them (uv's generator habit).
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Check,
    Write,
}

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// Every provider inferform knows, as the binary lists them.
fn factories() -> Vec<Arc<dyn ProviderFactory>> {
    vec![
        Arc::new(inferform_engine::builtin::BuiltinFactory::default()),
        inferform_fabric::factory(),
        inferform_alaya::factory(),
    ]
}

fn type_schema(ty: &Type) -> Value {
    match ty {
        Type::String => json!({"type": "string"}),
        Type::Number => json!({"type": "number"}),
        Type::Bool => json!({"type": "boolean"}),
        Type::List(inner) => json!({"type": "array", "items": type_schema(inner)}),
        Type::Set(inner) => {
            json!({"type": "array", "uniqueItems": true, "items": type_schema(inner)})
        }
        Type::Map(inner) => json!({"type": "object", "additionalProperties": type_schema(inner)}),
        Type::Object(fields) => {
            let properties: Map<String, Value> = fields
                .iter()
                .map(|(name, t)| (name.clone(), type_schema(t)))
                .collect();
            json!({"type": "object", "properties": properties, "additionalProperties": false})
        }
        Type::Tuple(items) => json!({
            "type": "array",
            "prefixItems": items.iter().map(type_schema).collect::<Vec<_>>(),
            "items": false
        }),
        Type::Any => json!({}),
        // Only variable types have these; as JSON Schema, the attribute's own type.
        Type::Optional { of, .. } => type_schema(of),
    }
}

fn attribute_schema(a: &Attribute) -> Value {
    let mut out = match type_schema(&a.ty) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if !a.description.is_empty() {
        out.insert("description".into(), json!(a.description));
    }
    if !a.settable() {
        // Set by the cloud: readable through references, never written in configuration.
        out.insert("readOnly".into(), json!(true));
    }
    if a.computed && a.settable() {
        out.insert("x-computed".into(), json!(true));
    }
    if a.sensitive {
        out.insert("x-sensitive".into(), json!(true));
    }
    if a.force_new {
        out.insert("x-force-new".into(), json!(true));
    }
    Value::Object(out)
}

/// A block body: an object of its attributes and nested blocks.
fn body_schema(schema: &Schema) -> Map<String, Value> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, a) in &schema.attributes {
        properties.insert(name.clone(), attribute_schema(a));
        if a.required {
            required.push(json!(name));
        }
    }
    for (name, b) in &schema.blocks {
        properties.insert(name.clone(), block_schema(b));
        if b.required {
            required.push(json!(name));
        }
    }
    let mut out = Map::new();
    if !schema.description.is_empty() {
        out.insert("description".into(), json!(schema.description));
    }
    out.insert("type".into(), json!("object"));
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    out.insert("additionalProperties".into(), json!(false));
    out
}

fn block_schema(b: &Block) -> Value {
    let mut body = body_schema(&b.schema);
    if !b.description.is_empty() {
        body.insert("description".into(), json!(b.description));
    }
    match b.nesting {
        Nesting::Single => Value::Object(body),
        Nesting::List => {
            let description = body.remove("description");
            let mut out = Map::new();
            if let Some(d) = description {
                out.insert("description".into(), d);
            }
            out.insert("type".into(), json!("array"));
            out.insert("items".into(), Value::Object(body));
            Value::Object(out)
        }
    }
}

/// A whole document: the dialect, an id and a title, then the body.
fn document(file: &str, title: &str, schema: &Schema) -> Value {
    let mut out = Map::new();
    out.insert("$schema".into(), json!(DIALECT));
    out.insert("$id".into(), json!(format!("{ID_BASE}{file}")));
    out.insert("title".into(), json!(title));
    out.extend(body_schema(schema));
    Value::Object(out)
}

/// Every generated file, by name.
fn generate() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut providers = Map::new();
    let mut resources = Map::new();
    let mut data_sources = Map::new();
    let add = |files: &mut BTreeMap<String, String>, file: String, doc: Value| {
        let text = serde_json::to_string_pretty(&doc).expect("serialise a schema");
        files.insert(file, format!("{text}\n"));
    };
    for factory in factories() {
        let name = factory.name();
        let file = format!("provider.{name}.schema.json");
        add(
            &mut files,
            file.clone(),
            document(
                &file,
                &format!("provider \"{name}\""),
                &factory.provider_schema(),
            ),
        );
        providers.insert(name.to_string(), json!({"$ref": file}));
        for (ty, schema) in factory.resource_schemas() {
            let file = format!("resource.{ty}.schema.json");
            add(
                &mut files,
                file.clone(),
                document(&file, &format!("resource \"{ty}\""), &schema),
            );
            resources.insert(ty, json!({"$ref": file}));
        }
        for (ty, schema) in factory.data_source_schemas() {
            let file = format!("data.{ty}.schema.json");
            add(
                &mut files,
                file.clone(),
                document(&file, &format!("data \"{ty}\""), &schema),
            );
            data_sources.insert(ty, json!({"$ref": file}));
        }
    }
    // The index: a configuration in JSON form, each block by name, as Terraform's JSON syntax.
    let named = |types: Map<String, Value>| -> Value {
        let properties: Map<String, Value> = types
            .into_iter()
            .map(|(ty, reference)| {
                (
                    ty,
                    json!({"type": "object", "additionalProperties": reference}),
                )
            })
            .collect();
        json!({"type": "object", "properties": properties, "additionalProperties": false})
    };
    let index = json!({
        "$schema": DIALECT,
        "$id": format!("{ID_BASE}index.schema.json"),
        "title": "inferform configuration",
        "description": "Every provider block, resource type and data source inferform knows, generated from the code's schemas. A configuration in JSON form: provider.NAME, resource.TYPE.NAME and data.TYPE.NAME each hold one block's arguments.",
        "type": "object",
        "properties": {
            "provider": {
                "type": "object",
                "properties": providers,
                "additionalProperties": false
            },
            "resource": named(resources),
            "data": named(data_sources)
        }
    });
    add(&mut files, "index.schema.json".into(), index);
    files
}

/// Compares (or writes) the generated files against `schemas/`; returns what differs.
fn sync(mode: Mode) -> Vec<String> {
    let dir = schemas_dir();
    let files = generate();
    let mut problems = Vec::new();
    for (name, text) in &files {
        let path = dir.join(name);
        let on_disk = std::fs::read_to_string(&path).ok();
        if on_disk.as_deref() == Some(text.as_str()) {
            continue;
        }
        match mode {
            Mode::Write => std::fs::write(&path, text).expect("write a schema file"),
            Mode::Check if on_disk.is_none() => problems.push(format!("{name} is missing")),
            Mode::Check => problems.push(format!("{name} differs from the code")),
        }
    }
    for entry in std::fs::read_dir(&dir).expect("schemas/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        let generated_kind = name.ends_with(".schema.json");
        if !generated_kind || files.contains_key(&name) || HAND_WRITTEN.contains(&name.as_str()) {
            continue;
        }
        match mode {
            Mode::Write => std::fs::remove_file(dir.join(&name)).expect("remove a stale schema"),
            Mode::Check => problems.push(format!("{name} describes nothing the code has")),
        }
    }
    problems
}

#[test]
fn schema_files_match_the_code() {
    let update = std::env::var_os("INFERFORM_UPDATE_SCHEMAS").is_some_and(|v| v == "1");
    let problems = sync(if update { Mode::Write } else { Mode::Check });
    assert!(
        problems.is_empty(),
        "schemas/ is out of date:\n  {}\nregenerate with: INFERFORM_UPDATE_SCHEMAS=1 cargo test -p inferform --test schemas",
        problems.join("\n  ")
    );
}

#[test]
fn generated_documents_are_valid_json_schema() {
    for (name, text) in generate() {
        let doc: Value = serde_json::from_str(&text).expect("generated JSON parses");
        assert!(
            jsonschema::meta::is_valid(&doc),
            "{name} is not a valid JSON Schema"
        );
    }
}

#[test]
fn a_resource_schema_accepts_a_body_and_names_mistakes() {
    let files = generate();
    let doc: Value =
        serde_json::from_str(&files["resource.fabric_endpoint.schema.json"]).expect("parses");
    let validator = jsonschema::validator_for(&doc).expect("compiles");
    let good = json!({
        "workspace_id": "ws-1",
        "name": "chat",
        "type": "inference",
        "reserved_resource": {"mu": {"spec_code": "mu.llama3.8b", "min": 0, "max": 1}}
    });
    assert!(validator.is_valid(&good));
    let typo = json!({"workspace_id": "ws-1", "name": "chat", "type": "inference", "nmae": "x"});
    assert!(!validator.is_valid(&typo));
    let missing = json!({"workspace_id": "ws-1", "type": "inference"});
    assert!(!validator.is_valid(&missing));
}
