//! Plans and schemas built by hand for the renderer tests.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use inferform_engine::{Action, Drift, OutputChange, Plan, ResourceChange};
use inferform_types::{
    Attribute, Block, InstanceKey, ResourceAddr, ResourceInstanceAddr, Schema, Type, Value,
};

/// Every secret the fixtures hold; none may appear in any rendering.
pub const SECRETS: &[&str] = &[
    "s3cr3t-old",
    "s3cr3t-new",
    "hunter2-old",
    "hunter2-new",
    "drift-secret",
    "out-secret-old",
    "out-secret-new",
    "tok-secret",
];

pub fn schemas() -> BTreeMap<String, Schema> {
    let workspace = Schema::new()
        .attr("id", Attribute::computed(Type::String))
        .attr("name", Attribute::required(Type::String))
        .attr("description", Attribute::optional(Type::String));
    let endpoint = Schema::new()
        .attr("id", Attribute::computed(Type::String))
        .attr(
            "workspace_id",
            Attribute::required(Type::String).force_new(),
        )
        .attr("name", Attribute::required(Type::String))
        .attr("type", Attribute::required(Type::String).force_new())
        .block(
            "reserved_resource",
            Block::single(
                Schema::new().block(
                    "mu",
                    Block::single(
                        Schema::new()
                            .attr("spec_code", Attribute::required(Type::String).force_new())
                            .attr("min", Attribute::optional(Type::Number))
                            .attr("max", Attribute::optional(Type::Number)),
                    ),
                ),
            ),
        );
    let deployment = Schema::new()
        .attr("id", Attribute::computed(Type::String))
        .attr("name", Attribute::required(Type::String))
        .attr("image", Attribute::required(Type::String))
        .attr("api_key", Attribute::optional(Type::String).sensitive())
        .attr("env", Attribute::optional(Type::map(Type::String)));
    let data = Schema::new()
        .attr("id", Attribute::computed(Type::String))
        .attr("input", Attribute::optional(Type::Any))
        .attr("output", Attribute::computed(Type::Any))
        .attr(
            "triggers_replace",
            Attribute::optional(Type::Any).force_new(),
        );
    BTreeMap::from([
        ("fabric_workspace".to_string(), workspace),
        ("fabric_endpoint".to_string(), endpoint),
        ("alaya_expert_deployment".to_string(), deployment),
        ("inferform_data".to_string(), data),
    ])
}

pub fn addr(type_name: &str, name: &str, key: InstanceKey) -> ResourceInstanceAddr {
    ResourceAddr::new(type_name, name).instance(key)
}

pub fn s(v: &str) -> Value {
    Value::string(v)
}

pub fn n(v: f64) -> Value {
    Value::number(v)
}

pub fn change(
    addr: ResourceInstanceAddr,
    action: Action,
    before: Option<Value>,
    after: Option<Value>,
    replace_paths: &[&str],
) -> ResourceChange {
    ResourceChange {
        provider: addr.resource.provider_name().to_string(),
        addr,
        action,
        before,
        after,
        replace_paths: replace_paths.iter().map(|p| p.to_string()).collect(),
        dependencies: Vec::new(),
        deposed: None,
    }
}

fn endpoint(id: Value, kind: &str, spec: &str) -> Value {
    Value::object([
        ("id", id),
        ("workspace_id", s("ws-1")),
        ("name", s("chat")),
        ("type", s(kind)),
        (
            "reserved_resource",
            Value::object([(
                "mu",
                Value::object([("spec_code", s(spec)), ("min", n(0.0)), ("max", n(1.0))]),
            )]),
        ),
    ])
}

fn data(id: Value, input: Value, output: Value, triggers: Value) -> Value {
    Value::object([
        ("id", id),
        ("input", input),
        ("output", output),
        ("triggers_replace", triggers),
    ])
}

/// A plan with one of everything: create, update (a schema-sensitive attribute and a
/// `Value::Sensitive` inside an object), both kinds of replace with their forcing paths,
/// deletes for a removed block and a removed count index, no-ops, drift (one changed, one
/// deleted with an unmarked secret that only the schema hides), outputs and variables.
pub fn mixed_plan() -> Plan {
    use InstanceKey::{Int, None as NoKey};
    let changes = vec![
        change(
            addr("alaya_expert_deployment", "chat", NoKey),
            Action::Update,
            // Unmarked, as a value read back from a cloud might be: the schema must hide it.
            Some(Value::object([
                ("id", s("ed-1")),
                ("name", s("chat")),
                ("image", s("vllm:0.5")),
                ("api_key", s("s3cr3t-old")),
                ("env", Value::object([("MODE", s("fast"))])),
            ])),
            Some(Value::object([
                ("id", s("ed-1")),
                ("name", s("chat")),
                ("image", s("vllm:0.6")),
                ("api_key", s("s3cr3t-new").sensitive()),
                (
                    "env",
                    Value::object([("MODE", s("fast")), ("WORKERS", n(4.0))]),
                ),
            ])),
            &[],
        ),
        change(
            addr("fabric_endpoint", "chat", NoKey),
            Action::Replace {
                create_first: false,
            },
            Some(endpoint(s("ep-1"), "inference", "mu.small")),
            Some(endpoint(Value::Unknown, "batch", "mu.large")),
            &["type", "reserved_resource.mu.spec_code"],
        ),
        change(
            addr("fabric_workspace", "main", NoKey),
            Action::Create,
            None,
            Some(Value::object([
                ("id", Value::Unknown),
                ("name", s("llm-dev")),
                ("description", s("inference for dev")),
            ])),
            &[],
        ),
        change(
            addr("fabric_workspace", "shared", NoKey),
            Action::NoOp,
            Some(Value::object([
                ("id", s("ws-2")),
                ("name", s("shared")),
                ("description", s("edited in the console")),
            ])),
            Some(Value::object([
                ("id", s("ws-2")),
                ("name", s("shared")),
                ("description", s("edited in the console")),
            ])),
            &[],
        ),
        change(
            addr("inferform_data", "cbd", NoKey),
            Action::Replace { create_first: true },
            Some(data(s("d-1"), s("x"), s("x"), Value::List(vec![s("one")]))),
            Some(data(
                Value::Unknown,
                s("x"),
                Value::Unknown,
                Value::List(vec![s("two")]),
            )),
            &["triggers_replace"],
        ),
        change(
            addr("inferform_data", "item", Int(0)),
            Action::NoOp,
            Some(data(s("d-2"), n(0.0), n(0.0), Value::Null)),
            Some(data(s("d-2"), n(0.0), n(0.0), Value::Null)),
            &[],
        ),
        change(
            addr("inferform_data", "item", Int(2)),
            Action::Delete,
            Some(data(s("d-3"), n(2.0), n(2.0), Value::Null)),
            None,
            &[],
        ),
        change(
            addr("inferform_data", "old", NoKey),
            Action::Delete,
            Some(data(s("d-4"), s("bye"), s("bye"), Value::Null)),
            None,
            &[],
        ),
        change(
            addr("inferform_data", "secret", NoKey),
            Action::Update,
            Some(data(
                s("d-5"),
                Value::object([("user", s("u")), ("pass", s("hunter2-old").sensitive())]),
                Value::object([("user", s("u")), ("pass", s("hunter2-old").sensitive())]),
                Value::Null,
            )),
            Some(data(
                s("d-5"),
                Value::object([("user", s("u")), ("pass", s("hunter2-new").sensitive())]),
                Value::Unknown,
                Value::Null,
            )),
            &[],
        ),
    ];
    let drift = vec![
        Drift {
            addr: "alaya_expert_deployment.gone".parse().unwrap(),
            before: Value::object([
                ("id", s("ed-9")),
                ("name", s("gone")),
                ("image", s("vllm:0.5")),
                ("api_key", s("drift-secret")),
            ]),
            after: None,
        },
        Drift {
            addr: "fabric_workspace.shared".parse().unwrap(),
            before: Value::object([
                ("id", s("ws-2")),
                ("name", s("shared")),
                ("description", s("shared models")),
            ]),
            after: Some(Value::object([
                ("id", s("ws-2")),
                ("name", s("shared")),
                ("description", s("edited in the console")),
            ])),
        },
    ];
    let outputs = vec![
        OutputChange {
            name: "api_key".into(),
            before: Some(s("out-secret-old").sensitive()),
            after: s("out-secret-new").sensitive(),
            sensitive: true,
        },
        OutputChange {
            name: "endpoint_id".into(),
            before: None,
            after: Value::Unknown,
            sensitive: false,
        },
        OutputChange {
            name: "region".into(),
            before: Some(s("cn-southwest-2")),
            after: s("cn-southwest-2"),
            sensitive: false,
        },
        OutputChange {
            name: "workspace_name".into(),
            before: Some(s("llm-old")),
            after: s("llm-dev"),
            sensitive: false,
        },
    ];
    let vars = BTreeMap::from([
        ("env".to_string(), s("dev")),
        ("token".to_string(), s("tok-secret").sensitive()),
    ]);
    Plan {
        changes,
        drift,
        outputs,
        vars,
        ..Plan::default()
    }
}

/// The resource blocks of [`mixed_plan`]'s configuration (`inferform_data.old` is gone).
pub fn mixed_in_config() -> BTreeSet<String> {
    [
        "alaya_expert_deployment.chat",
        "fabric_endpoint.chat",
        "fabric_workspace.main",
        "fabric_workspace.shared",
        "inferform_data.cbd",
        "inferform_data.item",
        "inferform_data.secret",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// `creates` new `inferform_data.item[i]` with a sizeable input each, plus `deletes` of
/// `inferform_data.old[i]` (no longer configured) and `replaces` of `inferform_data.rep[i]`.
pub fn large_plan(creates: usize, deletes: usize, replaces: usize) -> Plan {
    let mut changes = Vec::new();
    for i in 0..creates {
        changes.push(change(
            addr("inferform_data", "item", InstanceKey::Int(i as i64)),
            Action::Create,
            None,
            Some(data(
                Value::Unknown,
                Value::object([
                    ("index", n(i as f64)),
                    ("model", s("llama3-8b")),
                    ("path", s(&format!("obs://models/llama3/shard-{i:05}"))),
                ]),
                Value::Unknown,
                Value::Null,
            )),
            &[],
        ));
    }
    for i in 0..deletes {
        changes.push(change(
            addr("inferform_data", "old", InstanceKey::Int(i as i64)),
            Action::Delete,
            Some(data(
                s(&format!("old-{i}")),
                n(i as f64),
                n(i as f64),
                Value::Null,
            )),
            None,
            &[],
        ));
    }
    for i in 0..replaces {
        changes.push(change(
            addr("inferform_data", "rep", InstanceKey::Int(i as i64)),
            Action::Replace {
                create_first: false,
            },
            Some(data(
                s(&format!("rep-{i}")),
                s("x"),
                s("x"),
                Value::List(vec![s("one")]),
            )),
            Some(data(
                Value::Unknown,
                s("x"),
                Value::Unknown,
                Value::List(vec![s("two")]),
            )),
            &["triggers_replace"],
        ));
    }
    changes.sort_by(|a, b| a.addr.cmp(&b.addr));
    Plan {
        changes,
        ..Plan::default()
    }
}

/// The configuration of [`large_plan`]: `item` and `rep`, not `old`.
pub fn large_in_config() -> BTreeSet<String> {
    ["inferform_data.item", "inferform_data.rep"]
        .into_iter()
        .map(String::from)
        .collect()
}

pub fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{what} shows the secret {secret:?}:\n{text}"
        );
    }
}
