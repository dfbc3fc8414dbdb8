//! The JSON plan: snapshots, secrets, the JSON Schema in `schemas/plan.schema.json`, and the
//! structure of a real Terraform 1.11.4 plan (`tests/fixtures/`).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use inferform_engine::{Action, Plan, ReplaceReason};
use inferform_render::{canonical_json, plan_hash, plan_json};
use inferform_types::{InstanceKey, ModulePath, ResourceAddr, ResourceInstanceAddr, Value};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

const SCHEMA: &str = include_str!("../../../schemas/plan.schema.json");
const TERRAFORM_PLAN: &str = include_str!("fixtures/terraform-1.11.4-plan.json");
const TERRAFORM_CONFIG: &str = include_str!("fixtures/terraform/after.tf");

fn validator() -> jsonschema::Validator {
    let schema: Json = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema is a valid 2020-12 schema")
}

fn assert_valid(what: &str, doc: &Json) {
    let errors: Vec<String> = validator()
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match schemas/plan.schema.json:\n{}",
        errors.join("\n")
    );
}

/// Moves, imports, the three replace reasons without forcing paths, and `--target`.
fn engine_features_plan() -> Plan {
    let obj =
        |id: &str| Value::object([("id", s(id)), ("name", s(id)), ("description", Value::Null)]);
    let replaced = |name: &str| {
        change(
            addr("fabric_workspace", name, InstanceKey::None),
            Action::Replace {
                create_first: false,
            },
            Some(obj(name)),
            Some(Value::object([
                ("id", Value::Unknown),
                ("name", s(name)),
                ("description", Value::Null),
            ])),
            &[],
        )
    };
    let mut plan = Plan {
        changes: vec![
            change(
                addr("fabric_workspace", "imported", InstanceKey::None),
                Action::NoOp,
                Some(obj("imported")),
                Some(obj("imported")),
                &[],
            ),
            change(
                addr("fabric_workspace", "moved", InstanceKey::Str("a".into())),
                Action::NoOp,
                Some(obj("moved")),
                Some(obj("moved")),
                &[],
            ),
            replaced("requested"),
            replaced("tainted"),
            replaced("triggered"),
        ],
        targeted: true,
        ..Plan::default()
    };
    let addr = |text: &str| text.parse::<ResourceInstanceAddr>().unwrap();
    plan.moved.push((
        addr("fabric_workspace.old_name"),
        addr("fabric_workspace.moved[\"a\"]"),
    ));
    plan.imports
        .insert(addr("fabric_workspace.imported"), "ws-42".into());
    for why in [
        ReplaceReason::Requested,
        ReplaceReason::Tainted,
        ReplaceReason::Triggered,
    ] {
        plan.replace_reasons
            .insert(addr(&format!("fabric_workspace.{}", why.as_str())), why);
    }
    plan
}

fn pretty(doc: &Json) -> String {
    serde_json::to_string_pretty(doc).expect("JSON serializes")
}

#[test]
fn mixed_plan_snapshot() {
    let doc = plan_json(&mixed_plan(), &schemas(), &mixed_in_config());
    insta::assert_snapshot!(pretty(&doc));
}

#[test]
fn engine_features_snapshot() {
    let in_config = ["fabric_workspace.imported", "fabric_workspace.moved"]
        .into_iter()
        .map(String::from)
        .collect();
    let doc = plan_json(&engine_features_plan(), &schemas(), &in_config);
    assert_valid("the moves-and-imports plan", &doc);
    insta::assert_snapshot!(pretty(&doc));
}

#[test]
fn no_secret_is_written() {
    let doc = plan_json(&mixed_plan(), &schemas(), &mixed_in_config());
    assert_no_secret("the JSON plan", &pretty(&doc));
}

#[test]
fn sensitive_values_are_null_and_marked() {
    let doc = plan_json(&mixed_plan(), &schemas(), &mixed_in_config());
    let find = |addr: &str| {
        doc["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == addr)
            .unwrap_or_else(|| panic!("{addr} is in resource_changes"))
            .clone()
    };
    // A Value::Sensitive inside an object, before and after.
    let secret = find("inferform_data.secret");
    assert_eq!(
        secret["change"]["before"]["input"],
        json!({"pass": null, "user": "u"})
    );
    assert_eq!(
        secret["change"]["after"]["input"],
        json!({"pass": null, "user": "u"})
    );
    assert_eq!(
        secret["change"]["before_sensitive"],
        json!({"input": {"pass": true}, "output": {"pass": true}})
    );
    assert_eq!(
        secret["change"]["after_sensitive"],
        json!({"input": {"pass": true}})
    );
    assert_eq!(
        secret["change"]["after_unknown"],
        json!({"input": {}, "output": true})
    );
    // A schema-sensitive attribute whose prior value was not marked.
    let deployment = find("alaya_expert_deployment.chat");
    assert_eq!(deployment["change"]["before"]["api_key"], Json::Null);
    assert_eq!(
        deployment["change"]["before_sensitive"],
        json!({"api_key": true, "env": {}})
    );
    // Drift and prior state go through the schema too.
    assert_eq!(
        doc["resource_drift"][0]["change"]["before"]["api_key"],
        Json::Null
    );
    assert_eq!(
        doc["variables"]["token"],
        json!({"value": null, "sensitive": true})
    );
    assert_eq!(
        doc["output_changes"]["api_key"],
        json!({
            "actions": ["update"], "before": null, "after": null, "after_unknown": false,
            "before_sensitive": true, "after_sensitive": true
        })
    );
}

#[test]
fn actions_reasons_and_replace_paths() {
    let doc = plan_json(&mixed_plan(), &schemas(), &mixed_in_config());
    let summary: Vec<(String, Json, Json, Json)> = doc["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["change"]["actions"].clone(),
                c.get("action_reason").cloned().unwrap_or(Json::Null),
                c["change"]
                    .get("replace_paths")
                    .cloned()
                    .unwrap_or(Json::Null),
            )
        })
        .collect();
    let expected = [
        (
            "alaya_expert_deployment.chat",
            json!(["update"]),
            Json::Null,
            Json::Null,
        ),
        (
            "fabric_endpoint.chat",
            json!(["delete", "create"]),
            json!("replace_because_cannot_update"),
            json!([["type"], ["reserved_resource", "mu", "spec_code"]]),
        ),
        (
            "fabric_workspace.main",
            json!(["create"]),
            Json::Null,
            Json::Null,
        ),
        (
            "fabric_workspace.shared",
            json!(["no-op"]),
            Json::Null,
            Json::Null,
        ),
        (
            "inferform_data.cbd",
            json!(["create", "delete"]),
            json!("replace_because_cannot_update"),
            json!([["triggers_replace"]]),
        ),
        (
            "inferform_data.item[0]",
            json!(["no-op"]),
            Json::Null,
            Json::Null,
        ),
        (
            "inferform_data.item[2]",
            json!(["delete"]),
            json!("delete_because_count_index"),
            Json::Null,
        ),
        (
            "inferform_data.old",
            json!(["delete"]),
            json!("delete_because_no_resource_config"),
            Json::Null,
        ),
        (
            "inferform_data.secret",
            json!(["update"]),
            Json::Null,
            Json::Null,
        ),
    ];
    let expected: Vec<(String, Json, Json, Json)> = expected
        .into_iter()
        .map(|(a, b, c, d)| (a.to_string(), b, c, d))
        .collect();
    assert_eq!(summary, expected);
}

#[test]
fn destroy_plan_deletes_have_no_reason() {
    let mut plan = mixed_plan();
    plan.destroy = true;
    for c in &mut plan.changes {
        c.action = Action::Delete;
        c.after = None;
    }
    let doc = plan_json(&plan, &schemas(), &mixed_in_config());
    assert_valid("a destroy plan", &doc);
    for c in doc["resource_changes"].as_array().unwrap() {
        assert_eq!(c["change"]["actions"], json!(["delete"]));
        assert!(c.get("action_reason").is_none(), "{c}");
        assert_eq!(c["change"]["after_sensitive"], json!(false));
        assert_eq!(c["change"]["after_unknown"], json!({}));
    }
    assert!(doc["planned_values"]["root_module"]
        .get("resources")
        .is_none());
}

#[test]
fn generated_plans_match_the_schema() {
    let empty = BTreeSet::new();
    assert_valid(
        "the mixed plan",
        &plan_json(&mixed_plan(), &schemas(), &mixed_in_config()),
    );
    assert_valid(
        "an empty plan",
        &plan_json(&Plan::default(), &BTreeMap::new(), &empty),
    );
    assert_valid(
        "a large plan",
        &plan_json(&large_plan(2000, 20, 20), &schemas(), &large_in_config()),
    );
    // No schemas at all: the plan's own marks still hold.
    let doc = plan_json(&mixed_plan(), &BTreeMap::new(), &empty);
    assert_valid("the mixed plan without schemas", &doc);
}

#[test]
fn schema_rejects_what_it_should() {
    let good = plan_json(&mixed_plan(), &schemas(), &mixed_in_config());
    let v = validator();
    let mut bad = good.clone();
    bad["resource_changes"][0]["change"]["actions"] = json!(["replace"]);
    assert!(!v.is_valid(&bad), "an unknown action");
    let mut bad = good.clone();
    bad["resource_changes"][0]["change"]
        .as_object_mut()
        .unwrap()
        .remove("after_unknown");
    assert!(!v.is_valid(&bad), "a change without after_unknown");
    let mut bad = good;
    bad["resource_changes"][1]["change"]["replace_paths"] = json!(["type"]);
    assert!(
        !v.is_valid(&bad),
        "a replace path that is not a list of steps"
    );
}

/// Terraform's own plan fits the schema too: the two documents share their structure.
#[test]
fn terraform_plan_matches_the_schema() {
    let terraform: Json = serde_json::from_str(TERRAFORM_PLAN).unwrap();
    assert_valid("Terraform 1.11.4's plan", &terraform);
}

fn keys(v: &Json) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// For each kind of action, our resource change entries have exactly the keys Terraform's
/// have (entry and `change`; `index` aside, which depends on the instance), and the
/// `*_sensitive` marks have the same form.
#[test]
fn resource_changes_have_terraforms_keys() {
    let terraform: Json = serde_json::from_str(TERRAFORM_PLAN).unwrap();
    let ours = plan_json(&mixed_plan(), &schemas(), &mixed_in_config());
    type Shape = (BTreeSet<String>, BTreeSet<String>, Json, Json);
    let by_kind = |doc: &Json| {
        let mut out: BTreeMap<String, Shape> = BTreeMap::new();
        for c in doc["resource_changes"].as_array().unwrap() {
            let form = |m: &Json| match m {
                Json::Bool(b) => json!(b),
                Json::Object(_) => json!("object"),
                _ => json!("other"),
            };
            let mut entry = keys(c);
            entry.remove("index");
            // action_reason varies with the reason; the fixture has both kinds of delete.
            let kind = format!(
                "{} {}",
                c["change"]["actions"],
                c.get("action_reason").is_some()
            );
            out.entry(kind).or_insert((
                entry,
                keys(&c["change"]),
                form(&c["change"]["before_sensitive"]),
                form(&c["change"]["after_sensitive"]),
            ));
        }
        out
    };
    let theirs = by_kind(&terraform);
    let mine = by_kind(&ours);
    assert_eq!(
        mine.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "the fixtures cover the same kinds of change"
    );
    for (kind, shape) in &mine {
        assert_eq!(shape, &theirs[kind], "{kind}");
    }
    // And the same top-level sections, less those Terraform has and we cannot know.
    let mut theirs = keys(&terraform);
    for absent in ["configuration", "relevant_attributes", "timestamp"] {
        theirs.remove(absent);
    }
    theirs.insert("inferform_version".into());
    theirs.insert("resource_drift".into());
    theirs.insert(inferform_render::CAPACITY_KEY.into());
    assert_eq!(keys(&ours), theirs);
    // planned_values and prior_state entries: same keys but schema_version.
    let entry_keys = |doc: &Json, path: &[&str]| {
        let mut v = doc;
        for p in path {
            v = &v[*p];
        }
        let mut k = keys(&v["root_module"]["resources"][0]);
        k.remove("schema_version");
        k.remove("index");
        k
    };
    for path in [&["planned_values"][..], &["prior_state", "values"][..]] {
        assert_eq!(
            entry_keys(&ours, path),
            entry_keys(&terraform, path),
            "{path:?}"
        );
    }
}

#[test]
fn hash_is_sha256_of_canonical_json_and_tracks_changes() {
    let plan = mixed_plan();
    let hash = plan_hash(&plan, &schemas(), &mixed_in_config());
    let mut doc = plan_json(&plan, &schemas(), &mixed_in_config());
    doc.as_object_mut()
        .expect("an object")
        .remove(inferform_render::CAPACITY_KEY);
    let expected = hex::encode(Sha256::digest(canonical_json(&doc).as_bytes()));
    assert_eq!(hash, expected);
    assert_eq!(hash.len(), 64);
    assert_eq!(
        hash,
        plan_hash(&mixed_plan(), &schemas(), &mixed_in_config())
    );
    let mut changed = mixed_plan();
    changed.changes.pop();
    assert_ne!(hash, plan_hash(&changed, &schemas(), &mixed_in_config()));
}

/// A resource instance address inside the module instance `module`.
fn module_addr(
    module: &ModulePath,
    type_name: &str,
    name: &str,
    key: InstanceKey,
) -> ResourceInstanceAddr {
    ResourceAddr::new(type_name, name)
        .in_module(module.clone())
        .instance(key)
}

/// A module object of `planned_values`/`prior_state` reduced to its skeleton: its keys in
/// order, resource addresses for `resources`, and children likewise.
fn module_skeleton(module: &Json) -> Json {
    let object = module.as_object().expect("a module is an object");
    let mut out = serde_json::Map::new();
    for (key, value) in object {
        let value = match key.as_str() {
            "resources" => Json::Array(
                value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["address"].clone())
                    .collect(),
            ),
            "child_modules" => Json::Array(
                value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(module_skeleton)
                    .collect(),
            ),
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    Json::Object(out)
}

/// Every key of every module object, depth first, in document order.
fn module_keys(module: &Json, out: &mut Vec<Vec<String>>) {
    out.push(module.as_object().unwrap().keys().cloned().collect());
    for child in module["child_modules"].as_array().into_iter().flatten() {
        module_keys(child, out);
    }
}

/// Resources in modules go under `child_modules`, nested as the modules are, as Terraform
/// writes them: `{"resources", "address", "child_modules"}` in that order, modules sorted by
/// address,
/// a module without resources of its own kept when a module it calls has some, and
/// `module_address` only in `resource_changes`.
#[test]
fn module_resources_nest_under_child_modules() {
    let env_a = ModulePath::root().child("env", InstanceKey::Str("a".into()));
    let env_a_m = env_a.child("m", InstanceKey::None);
    let env_b_m = ModulePath::root()
        .child("env", InstanceKey::Str("b".into()))
        .child("m", InstanceKey::None);
    let gone = ModulePath::root().child("gone", InstanceKey::Int(0));
    let ws = |name: &str| {
        Value::object([
            ("id", s(name)),
            ("name", s(name)),
            ("description", Value::Null),
        ])
    };
    let item = |id: &str| {
        Value::object([
            ("id", s(id)),
            ("input", s("x")),
            ("output", s("x")),
            ("triggers_replace", Value::Null),
        ])
    };
    let plan = Plan {
        changes: vec![
            change(
                addr("fabric_workspace", "main", InstanceKey::None),
                Action::NoOp,
                Some(ws("main")),
                Some(ws("main")),
                &[],
            ),
            // Created: in planned_values only, so prior_state's module.env["a"] has no
            // resources of its own.
            change(
                module_addr(&env_a, "fabric_workspace", "team", InstanceKey::None),
                Action::Create,
                None,
                Some(Value::object([
                    ("id", Value::Unknown),
                    ("name", s("team")),
                    ("description", Value::Null),
                ])),
                &[],
            ),
            change(
                module_addr(&env_a_m, "inferform_data", "x", InstanceKey::Int(0)),
                Action::NoOp,
                Some(item("x0")),
                Some(item("x0")),
                &[],
            ),
            change(
                module_addr(&env_a_m, "inferform_data", "x", InstanceKey::Int(1)),
                Action::NoOp,
                Some(item("x1")),
                Some(item("x1")),
                &[],
            ),
            change(
                module_addr(&env_b_m, "inferform_data", "y", InstanceKey::None),
                Action::Update,
                Some(item("y")),
                Some(item("y2")),
                &[],
            ),
            // Deleted: in prior_state only.
            change(
                module_addr(&gone, "inferform_data", "z", InstanceKey::None),
                Action::Delete,
                Some(item("z")),
                None,
                &[],
            ),
        ],
        ..Plan::default()
    };
    let doc = plan_json(&plan, &schemas(), &BTreeSet::new());
    assert_valid("a plan with modules", &doc);

    let planned = &doc["planned_values"]["root_module"];
    let expected_planned = json!({
        "resources": ["fabric_workspace.main"],
        "child_modules": [
            {
                "resources": ["module.env[\"a\"].fabric_workspace.team"],
                "address": "module.env[\"a\"]",
                "child_modules": [{
                    "resources": [
                        "module.env[\"a\"].module.m.inferform_data.x[0]",
                        "module.env[\"a\"].module.m.inferform_data.x[1]",
                    ],
                    "address": "module.env[\"a\"].module.m",
                }],
            },
            {
                "address": "module.env[\"b\"]",
                "child_modules": [{
                    "resources": ["module.env[\"b\"].module.m.inferform_data.y"],
                    "address": "module.env[\"b\"].module.m",
                }],
            },
        ],
    });
    assert_eq!(module_skeleton(planned), expected_planned);
    let prior = &doc["prior_state"]["values"]["root_module"];
    let expected_prior = json!({
        "resources": ["fabric_workspace.main"],
        "child_modules": [
            {
                "address": "module.env[\"a\"]",
                "child_modules": [{
                    "resources": [
                        "module.env[\"a\"].module.m.inferform_data.x[0]",
                        "module.env[\"a\"].module.m.inferform_data.x[1]",
                    ],
                    "address": "module.env[\"a\"].module.m",
                }],
            },
            {
                "address": "module.env[\"b\"]",
                "child_modules": [{
                    "resources": ["module.env[\"b\"].module.m.inferform_data.y"],
                    "address": "module.env[\"b\"].module.m",
                }],
            },
            {
                "resources": ["module.gone[0].inferform_data.z"],
                "address": "module.gone[0]",
            },
        ],
    });
    assert_eq!(module_skeleton(prior), expected_prior);

    // Terraform's key order in every module object (JSON equality ignores it).
    for (root, expected) in [(planned, &expected_planned), (prior, &expected_prior)] {
        let (mut ours, mut wanted) = (Vec::new(), Vec::new());
        module_keys(root, &mut ours);
        module_keys(expected, &mut wanted);
        assert_eq!(ours, wanted);
    }

    // A resource in a module: its full address, the usual fields, no module_address.
    let x0 = &planned["child_modules"][0]["child_modules"][0]["resources"][0];
    assert_eq!(
        x0.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "address",
            "mode",
            "type",
            "name",
            "index",
            "provider_name",
            "schema_version",
            "values",
            "sensitive_values"
        ]
    );
    assert_eq!(x0["index"], json!(0));
    assert_eq!(x0["values"]["id"], json!("x0"));
    let z = &prior["child_modules"][2]["resources"][0];
    assert_eq!(z["name"], json!("z"));
    assert!(z.get("module_address").is_none(), "{z}");

    // resource_changes carry module_address, right after address, for module resources only.
    let module_addresses: Vec<(&str, Option<&str>)> = doc["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
            if c.get("module_address").is_some() {
                assert_eq!(keys[1], "module_address", "{c}");
            }
            (
                c["address"].as_str().unwrap(),
                c.get("module_address").and_then(Json::as_str),
            )
        })
        .collect();
    assert_eq!(
        module_addresses,
        [
            ("fabric_workspace.main", None),
            (
                "module.env[\"a\"].fabric_workspace.team",
                Some("module.env[\"a\"]")
            ),
            (
                "module.env[\"a\"].module.m.inferform_data.x[0]",
                Some("module.env[\"a\"].module.m")
            ),
            (
                "module.env[\"a\"].module.m.inferform_data.x[1]",
                Some("module.env[\"a\"].module.m")
            ),
            (
                "module.env[\"b\"].module.m.inferform_data.y",
                Some("module.env[\"b\"].module.m")
            ),
            ("module.gone[0].inferform_data.z", Some("module.gone[0]")),
        ]
    );
}

/// The configuration Terraform's fixture plan was made from, in inferform's words
/// (`terraform_data` is `inferform_data`), loaded as inferform loads it.
fn fixture_config() -> inferform_lang::Config {
    let text = TERRAFORM_CONFIG.replace("terraform_data", "inferform_data");
    let (config, diags) = inferform_lang::load_sources(vec![("after.hcl".into(), text)]);
    assert!(!diags.has_errors(), "{diags:?}");
    config
}

fn full_json(plan: &Plan, config: Option<&inferform_lang::Config>) -> Json {
    let none = BTreeMap::new();
    let source = inferform_render::PlanSource {
        config,
        schemas: inferform_render::ConfigSchemas {
            resources: &schemas(),
            data_sources: &none,
            providers: &none,
        },
        timestamp: "2026-12-01T20:47:59Z",
    };
    inferform_render::plan_json_full(plan, &schemas(), &mixed_in_config(), None, Some(source))
}

/// `configuration` and `relevant_attributes` of the configuration Terraform planned are
/// Terraform's own, but for the names and one deliberate difference: the default of a
/// sensitive variable, which Terraform writes in clear, is left out.
#[test]
fn configuration_is_terraforms() {
    let terraform: Json = serde_json::from_str(
        &TERRAFORM_PLAN
            .replace("terraform_data", "inferform_data")
            .replace("terraform.io/builtin/terraform", "inferform")
            .replace(
                "\"provider_config_key\": \"terraform\"",
                "\"provider_config_key\": \"inferform\"",
            )
            .replace("\"terraform\": {", "\"inferform\": {")
            .replace("\"name\": \"terraform\"", "\"name\": \"inferform\""),
    )
    .unwrap();
    let mut expected = terraform["configuration"].clone();
    expected["root_module"]["variables"]["secret"]
        .as_object_mut()
        .unwrap()
        .remove("default");
    let doc = full_json(&mixed_plan(), Some(&fixture_config()));
    assert_eq!(doc["configuration"], expected);
    assert_eq!(doc["relevant_attributes"], terraform["relevant_attributes"]);
    assert!(!pretty(&doc).contains("tf-secret-new"));
    assert_valid("the plan with its configuration", &doc);
}

/// With its configuration and timestamp, the document has every top-level key Terraform's
/// has (`checks` aside: this configuration has none), in Terraform's order.
#[test]
fn the_whole_plan_has_terraforms_top_level_keys_in_order() {
    let terraform: Json = serde_json::from_str(TERRAFORM_PLAN).unwrap();
    let doc = full_json(&mixed_plan(), Some(&fixture_config()));
    let ours: Vec<&String> = doc
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| terraform.get(k.as_str()).is_some())
        .collect();
    let theirs: Vec<&String> = terraform.as_object().unwrap().keys().collect();
    assert_eq!(ours, theirs);
    assert_eq!(doc["timestamp"], json!("2026-12-01T20:47:59Z"));
    // Without a configuration that loads, the keys are still there, empty.
    let bare = full_json(&mixed_plan(), None);
    assert_eq!(
        bare["configuration"],
        json!({"provider_config": {}, "root_module": {}})
    );
    assert_eq!(bare["relevant_attributes"], json!([]));
    assert_valid("a plan without its configuration", &bare);
}

/// A data source read left to apply says why, as Terraform does.
#[test]
fn a_deferred_read_says_its_configuration_is_unknown() {
    let mut plan = Plan::default();
    let mut read = change(
        addr("fabric_workspace", "found", InstanceKey::None),
        Action::Read,
        None,
        Some(Value::object([("id", Value::Unknown)])),
        &[],
    );
    read.addr.resource.mode = inferform_types::ResourceMode::Data;
    plan.changes.push(read);
    let doc = plan_json(&plan, &schemas(), &BTreeSet::new());
    let c = &doc["resource_changes"][0];
    assert_eq!(c["mode"], json!("data"));
    assert_eq!(c["change"]["actions"], json!(["read"]));
    assert_eq!(c["action_reason"], json!("read_because_config_unknown"));
    assert_valid("a plan with a deferred read", &doc);
}

/// As Terraform 1.11 writes them (checked with the AWS provider): a block nested as a list is
/// a list of objects, a single one an object, and a module call without arguments or a
/// resource without any has no `expressions`.
#[test]
fn nested_blocks_and_empty_expressions_as_terraform_writes_them() {
    let text = r#"
resource "fabric_endpoint" "e" {
  name = "chat"
  reserved_resource {
    mu {
      spec_code = "mu.llama3.8b"
      max       = 1
    }
  }
}

resource "inferform_data" "empty" {}

module "m" {
  source = "./m"
}
"#;
    let (config, _) = inferform_lang::load_sources(vec![("main.hcl".into(), text.into())]);
    let doc = full_json(&Plan::default(), Some(&config));
    let root = &doc["configuration"]["root_module"];
    let e = &root["resources"][0];
    assert_eq!(e["address"], json!("fabric_endpoint.e"));
    let schema = schemas();
    let nesting = &schema["fabric_endpoint"].blocks["reserved_resource"].nesting;
    let reserved = &e["expressions"]["reserved_resource"];
    match nesting {
        inferform_types::Nesting::Single => assert!(reserved.is_object(), "{e}"),
        inferform_types::Nesting::List => assert!(reserved.is_array(), "{e}"),
    }
    assert!(root["resources"][1].get("expressions").is_none(), "{root}");
    assert!(
        root["module_calls"]["m"].get("expressions").is_none(),
        "{root}"
    );
    assert_eq!(root["module_calls"]["m"]["source"], json!("./m"));
    assert_valid("a configuration with nested blocks", &doc);
}

#[test]
fn a_deposed_object_is_destroyed_under_its_key() {
    let a = addr("inferform_data", "d", InstanceKey::None);
    let old = Value::object([("id", s("old")), ("input", s("x"))]);
    let new = Value::object([("id", s("new")), ("input", s("y"))]);
    let mut deposed = change(a.clone(), Action::Delete, Some(old), None, &[]);
    deposed.deposed = Some("1f2e3d4c".into());
    let plan = Plan {
        changes: vec![
            change(a.clone(), Action::Update, Some(new.clone()), Some(new), &[]),
            deposed,
        ],
        ..Plan::default()
    };
    let in_config = BTreeSet::from(["inferform_data.d".to_string()]);
    let doc = plan_json(&plan, &schemas(), &in_config);
    assert_valid("a plan with a deposed object", &doc);
    let entry = &doc["resource_changes"][1];
    assert_eq!(entry["address"], json!("inferform_data.d"));
    assert_eq!(entry["deposed"], json!("1f2e3d4c"));
    assert_eq!(entry["change"]["actions"], json!(["delete"]));
    assert!(entry.get("action_reason").is_none(), "{entry}");
    assert!(doc["resource_changes"][0].get("deposed").is_none());
    // Prior state holds the current object only.
    let prior = doc["prior_state"]["values"]["root_module"]["resources"]
        .as_array()
        .unwrap();
    assert_eq!(prior.len(), 1);
    assert_eq!(prior[0]["values"]["id"], json!("new"));
    let text = inferform_render::render_plan(
        &plan,
        &schemas(),
        &in_config,
        inferform_render::RenderOptions { color: false },
    );
    assert!(
        text.contains("  # inferform_data.d (deposed object 1f2e3d4c) will be destroyed\n  # (left over from a partially-failed replacement of this instance)\n  - resource \"inferform_data\" \"d\" {"),
        "{text}"
    );
    assert!(!text.contains("not in configuration"), "{text}");
}
