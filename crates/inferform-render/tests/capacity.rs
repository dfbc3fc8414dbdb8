//! The capacity (and, with prices, cost) section of a plan, in the terminal, the pull-request
//! report and the JSON plan: creates, scale-ups, replaces and destroys, with and without a
//! price file, each snapshotted as all three show it.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{addr, change, n, s};
use inferform_engine::{Action, Plan};
use inferform_render::{
    capacity_json, markdown_capacity, plan_capacity, plan_json_priced, plan_markdown_priced,
    render_capacity, render_plan_priced, Prices, RenderOptions, CAPACITY_KEY,
};
use inferform_types::{InstanceKey, Number, Value};

fn endpoint(spec: &str, min: f64, max: f64) -> Value {
    Value::object([
        ("id", s("ep-1")),
        ("workspace_id", s("ws-1")),
        ("name", s("chat")),
        ("type", s("inference")),
        (
            "reserved_resource",
            Value::object([(
                "mu",
                Value::object([("spec_code", s(spec)), ("min", n(min)), ("max", n(max))]),
            )]),
        ),
    ])
}

/// A deployment of one head and `workers` workers, each pod with one GPU of `gpu`, 4 cores
/// and 32 GiB, between `min` and `max` replicas.
fn deployment(gpu: &str, workers: f64, min: f64, max: f64) -> Value {
    let pod = |count: f64| {
        Value::object([
            ("cpu", n(4.0)),
            ("mem", n(32.0)),
            (
                "gpu",
                Value::object([("gpu_type", s(gpu)), ("count", n(count))]),
            ),
        ])
    };
    Value::object([
        ("id", s("svc-1")),
        ("name", s("vllm")),
        ("scale", Value::object([("min", n(min)), ("max", n(max))])),
        ("head_config", Value::object([("resource", pod(1.0))])),
        (
            "worker_config",
            Value::object([("workers", n(workers)), ("resource", pod(1.0))]),
        ),
    ])
}

fn plan(changes: Vec<inferform_engine::ResourceChange>) -> Plan {
    Plan {
        changes,
        ..Plan::default()
    }
}

fn ep() -> inferform_types::ResourceInstanceAddr {
    addr("fabric_endpoint", "chat", InstanceKey::None)
}

fn dep() -> inferform_types::ResourceInstanceAddr {
    addr("alaya_expert_deployment", "vllm", InstanceKey::None)
}

fn creates() -> Plan {
    plan(vec![
        change(
            dep(),
            Action::Create,
            None,
            Some(deployment("nvidia.com/gpu-l40s", 2.0, 0.0, 3.0)),
            &[],
        ),
        change(
            ep(),
            Action::Create,
            None,
            Some(endpoint("mu.llama3.8b", 1.0, 4.0)),
            &[],
        ),
    ])
}

fn scale_ups() -> Plan {
    plan(vec![
        change(
            dep(),
            Action::Update,
            Some(deployment("nvidia.com/gpu-l40s", 2.0, 1.0, 2.0)),
            Some(deployment("nvidia.com/gpu-l40s", 2.0, 1.0, 5.0)),
            &[],
        ),
        change(
            ep(),
            Action::Update,
            Some(endpoint("mu.llama3.8b", 1.0, 2.0)),
            Some(endpoint("mu.llama3.8b", 2.0, 8.0)),
            &[],
        ),
        // Unchanged reservations still count in before and after.
        change(
            addr("fabric_endpoint", "batch", InstanceKey::None),
            Action::NoOp,
            Some(endpoint("mu.qwen.72b", 0.0, 1.0)),
            Some(endpoint("mu.qwen.72b", 0.0, 1.0)),
            &[],
        ),
    ])
}

fn replaces() -> Plan {
    let mut unknown_min = endpoint("mu.llama3.70b", 0.0, 2.0);
    if let Value::Object(m) = &mut unknown_min {
        m.insert(
            "reserved_resource".into(),
            Value::object([(
                "mu",
                Value::object([
                    ("spec_code", s("mu.llama3.70b")),
                    ("min", Value::Unknown),
                    ("max", n(2.0)),
                ]),
            )]),
        );
    }
    plan(vec![
        change(
            dep(),
            Action::Replace {
                create_first: false,
            },
            Some(deployment("nvidia.com/gpu-l40s", 1.0, 1.0, 2.0)),
            Some(deployment("nvidia.com/gpu-h100", 1.0, 1.0, 2.0)),
            &["head_config"],
        ),
        change(
            ep(),
            Action::Replace { create_first: true },
            Some(endpoint("mu.llama3.8b", 1.0, 4.0)),
            Some(unknown_min),
            &["type"],
        ),
    ])
}

fn destroys() -> Plan {
    plan(vec![
        change(
            dep(),
            Action::Delete,
            Some(deployment("nvidia.com/gpu-l40s", 2.0, 0.0, 3.0)),
            None,
            &[],
        ),
        change(
            ep(),
            Action::Delete,
            Some(endpoint("mu.llama3.8b", 1.0, 4.0)),
            None,
            &[],
        ),
    ])
}

/// Prices for L40S and mu.llama3.8b only: the H100, mu.llama3.70b and mu.qwen.72b show "no
/// price".
fn prices() -> Prices {
    Prices {
        currency: "CNY".into(),
        mu: BTreeMap::from([(
            "mu.llama3.8b".to_string(),
            Number::parse("12.5").expect("a number"),
        )]),
        gpu: BTreeMap::from([(
            "nvidia.com/gpu-l40s".to_string(),
            Number::parse("9.8").expect("a number"),
        )]),
    }
}

/// The section as each of the three places shows it.
fn all_three(plan: &Plan, prices: Option<&Prices>) -> String {
    let cap = plan_capacity(plan).expect("the plan touches capacity");
    let json = serde_json::to_string_pretty(&capacity_json(&cap, prices)).expect("json");
    format!(
        "--- terminal ---{}\n--- markdown ---\n{}--- json ---\n{json}\n",
        render_capacity(&cap, prices),
        markdown_capacity(&cap, prices)
    )
}

#[test]
fn creates_snapshot() {
    insta::assert_snapshot!("creates", all_three(&creates(), None));
    insta::assert_snapshot!("creates_priced", all_three(&creates(), Some(&prices())));
}

#[test]
fn scale_ups_snapshot() {
    insta::assert_snapshot!("scale_ups", all_three(&scale_ups(), None));
    insta::assert_snapshot!("scale_ups_priced", all_three(&scale_ups(), Some(&prices())));
}

#[test]
fn replaces_snapshot() {
    insta::assert_snapshot!("replaces", all_three(&replaces(), None));
    insta::assert_snapshot!("replaces_priced", all_three(&replaces(), Some(&prices())));
}

#[test]
fn destroys_snapshot() {
    insta::assert_snapshot!("destroys", all_three(&destroys(), None));
    insta::assert_snapshot!("destroys_priced", all_three(&destroys(), Some(&prices())));
}

#[test]
fn gpus_are_head_plus_workers_times_replicas() {
    let cap = plan_capacity(&creates()).expect("capacity");
    let gpu = cap
        .rows
        .iter()
        .find(|r| r.spec == "nvidia.com/gpu-l40s")
        .expect("an L40S row");
    // (1 head + 2 workers × 1) × 0 replicas at min, × 3 at max.
    assert_eq!(gpu.after.min.to_string(), "0");
    assert_eq!(gpu.after.max.to_string(), "9");
    let mu = cap
        .rows
        .iter()
        .find(|r| r.spec == "mu.llama3.8b")
        .expect("an MU row");
    assert_eq!(
        (mu.after.min.to_string(), mu.after.max.to_string()),
        ("1".into(), "4".into())
    );
}

#[test]
fn forgetting_a_deployment_changes_no_capacity() {
    let forget = plan(vec![change(
        dep(),
        Action::Forget,
        Some(deployment("nvidia.com/gpu-l40s", 2.0, 0.0, 3.0)),
        None,
        &[],
    )]);
    // It still runs in its cloud: nothing to say about capacity.
    assert!(plan_capacity(&forget).is_none());
    let mut with_create = creates();
    with_create.changes.extend(forget.changes);
    let cap = plan_capacity(&with_create).expect("capacity");
    let gpu = cap
        .rows
        .iter()
        .find(|r| r.spec == "nvidia.com/gpu-l40s")
        .expect("an L40S row");
    assert_eq!(
        (gpu.before.max.to_string(), gpu.after.max.to_string()),
        ("9".into(), "18".into())
    );
}

#[test]
fn a_plan_that_touches_no_reservation_says_nothing() {
    let p = plan(vec![change(
        addr("inferform_data", "x", InstanceKey::None),
        Action::Create,
        None,
        Some(Value::object([("input", s("a"))])),
        &[],
    )]);
    assert!(plan_capacity(&p).is_none());
    let schemas = common::schemas();
    let none = BTreeSet::new();
    let text = render_plan_priced(
        &p,
        &schemas,
        &none,
        RenderOptions::default(),
        Some(&prices()),
    );
    assert!(!text.contains("Capacity"), "{text}");
    let json = plan_json_priced(&p, &schemas, &none, Some(&prices()));
    assert!(json.get(CAPACITY_KEY).is_none());
}

#[test]
fn the_section_sits_after_the_summary_in_all_three_places() {
    let schemas = common::schemas();
    let none = BTreeSet::new();
    let p = creates();
    let text = render_plan_priced(
        &p,
        &schemas,
        &none,
        RenderOptions::default(),
        Some(&prices()),
    );
    let at = |t: &str, needle: &str| {
        t.find(needle)
            .unwrap_or_else(|| panic!("no {needle}:\n{t}"))
    };
    assert!(at(&text, "Plan: 2 to add") < at(&text, "Capacity reserved"));
    assert!(at(&text, "Capacity reserved") < at(&text, "Total per month"));
    let md = plan_markdown_priced(&p, &schemas, &none, Some(&prices()));
    assert!(at(&md, "**Plan:**") < at(&md, "**Capacity reserved**"));
    assert!(at(&md, "**Capacity reserved**") < at(&md, "### Resource changes"));
    assert!(md.contains("**Cost change** (CNY)"), "{md}");
    let json = plan_json_priced(&p, &schemas, &none, Some(&prices()));
    assert_eq!(json[CAPACITY_KEY]["cost"]["currency"], "CNY");
    // schemas/plan.schema.json documents the extension: every scenario, priced or not, fits it.
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../schemas/plan.schema.json")).expect("parses");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    for plan in [creates(), scale_ups(), replaces(), destroys()] {
        for prices in [None, Some(prices())] {
            let doc = plan_json_priced(&plan, &schemas, &none, prices.as_ref());
            let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:?}");
        }
    }
    // The plan's hash does not depend on prices.
    assert_eq!(
        inferform_render::plan_hash(&p, &schemas, &none),
        md.lines()
            .next()
            .and_then(|l| l.strip_prefix(inferform_render::MARKER_PREFIX))
            .and_then(|l| l.strip_suffix(" -->"))
            .expect("a marker")
    );
}
