//! The change diagram of the pull-request report: what it draws, how it escapes addresses, and
//! when it is left out.

mod common;

use common::{addr, change, s};
use inferform_engine::{Action, Plan};
use inferform_render::{diagram_section, plan_diagram, NoDiagram, MAX_NODES};
use inferform_types::{InstanceKey, ResourceAddr, Value};

fn with_deps(
    mut c: inferform_engine::ResourceChange,
    deps: &[(&str, &str)],
) -> inferform_engine::ResourceChange {
    c.dependencies = deps
        .iter()
        .map(|(t, n)| ResourceAddr::new(*t, *n))
        .collect();
    c
}

fn obj() -> Value {
    Value::object([("name", s("x"))])
}

/// A workspace left alone, an endpoint in it replaced, two instances on the endpoint (one
/// updated, one unchanged), a deployment destroyed and one only removed from state.
fn stack() -> Plan {
    Plan {
        changes: vec![
            change(
                addr("fabric_workspace", "main", InstanceKey::None),
                Action::NoOp,
                Some(obj()),
                Some(obj()),
                &[],
            ),
            with_deps(
                change(
                    addr("fabric_endpoint", "chat", InstanceKey::None),
                    Action::Replace {
                        create_first: false,
                    },
                    Some(obj()),
                    Some(obj()),
                    &["type"],
                ),
                &[("fabric_workspace", "main")],
            ),
            with_deps(
                change(
                    addr(
                        "fabric_service_instance",
                        "chat",
                        InstanceKey::Str("a\"b".into()),
                    ),
                    Action::Update,
                    Some(obj()),
                    Some(obj()),
                    &[],
                ),
                &[("fabric_endpoint", "chat"), ("fabric_workspace", "main")],
            ),
            with_deps(
                change(
                    addr(
                        "fabric_service_instance",
                        "chat",
                        InstanceKey::Str("c".into()),
                    ),
                    Action::NoOp,
                    Some(obj()),
                    Some(obj()),
                    &[],
                ),
                &[("fabric_endpoint", "chat")],
            ),
            change(
                addr("alaya_expert_deployment", "old", InstanceKey::None),
                Action::Delete,
                Some(obj()),
                None,
                &[],
            ),
            change(
                addr("alaya_expert_deployment", "kept", InstanceKey::None),
                Action::Forget,
                Some(obj()),
                None,
                &[],
            ),
        ],
        ..Plan::default()
    }
}

#[test]
fn changed_resources_their_dependencies_and_arrows_snapshot() {
    insta::assert_snapshot!(diagram_section(&stack()));
}

#[test]
fn no_changes_no_diagram() {
    let mut plan = stack();
    plan.changes
        .iter_mut()
        .for_each(|c| c.action = Action::NoOp);
    assert_eq!(plan_diagram(&plan), Err(NoDiagram::NothingChanges));
    assert_eq!(diagram_section(&plan), "");
}

#[test]
fn a_large_plan_gets_a_note_instead() {
    let changes = (0..=MAX_NODES)
        .map(|i| {
            change(
                addr("inferform_data", "x", InstanceKey::Int(i as i64)),
                Action::Create,
                None,
                Some(obj()),
                &[],
            )
        })
        .collect();
    let plan = Plan {
        changes,
        ..Plan::default()
    };
    assert_eq!(
        plan_diagram(&plan),
        Err(NoDiagram::TooLarge {
            nodes: MAX_NODES + 1,
            edges: 0
        })
    );
    let section = diagram_section(&plan);
    assert!(section.contains("_Left out:"), "{section}");
    assert!(!section.contains("```mermaid"), "{section}");
}
