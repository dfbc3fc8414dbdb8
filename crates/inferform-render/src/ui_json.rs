//! The machine-readable UI (`--json`): the events commands write one per line, in the shape of
//! Terraform's machine-readable UI. Here they are built; `ui` in the binary stamps each with
//! its level, message, time and type and prints it.

use inferform_engine::{Action, Plan};
use inferform_types::{InstanceKey, ResourceInstanceAddr};
use serde_json::{json, Value as Json};

/// One event line: its level (`info`, `error`), human message, `type`, and its own fields.
#[derive(Clone, Debug, PartialEq)]
pub struct UiEvent {
    pub level: &'static str,
    pub message: String,
    pub kind: &'static str,
    pub fields: Json,
}

/// A resource instance as the JSON UI names it.
pub fn resource_json(addr: &ResourceInstanceAddr) -> Json {
    let key = match &addr.key {
        InstanceKey::None => Json::Null,
        InstanceKey::Int(i) => (*i).into(),
        InstanceKey::Str(s) => s.clone().into(),
    };
    json!({
        "addr": addr.to_string(),
        "module": "",
        "resource": addr.to_string(),
        "implied_provider": addr.resource.provider_name(),
        "resource_type": addr.resource.type_name,
        "resource_name": addr.resource.name,
        "resource_key": key,
    })
}

/// An action's name in the JSON UI.
pub fn action_json(a: Action) -> &'static str {
    match a {
        Action::NoOp => "noop",
        Action::Create => "create",
        Action::Read => "read",
        Action::Update => "update",
        Action::Replace { .. } => "replace",
        Action::Delete => "delete",
        Action::Forget => "forget",
    }
}

/// The `hook` of an apply event: which instance, doing what.
pub fn hook_json(addr: &ResourceInstanceAddr, action: Action) -> Json {
    json!({"resource": resource_json(addr), "action": action_json(action)})
}

/// The fields of a `change_summary` event.
pub fn change_summary(
    add: usize,
    change: usize,
    import: usize,
    remove: usize,
    operation: &str,
) -> Json {
    json!({"changes": {"add": add, "change": change, "import": import, "remove": remove, "operation": operation}})
}

/// A plan as events: each drift, each planned change, then the summary.
pub fn plan_events(plan: &Plan) -> Vec<UiEvent> {
    let mut events = Vec::new();
    for d in &plan.drift {
        let action = if d.after.is_some() {
            "update"
        } else {
            "delete"
        };
        events.push(UiEvent {
            level: "info",
            message: format!("{}: Drift detected ({action})", d.addr),
            kind: "resource_drift",
            fields: json!({"change": {"resource": resource_json(&d.addr), "action": action}}),
        });
    }
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let action = action_json(c.action);
        let mut change = json!({"resource": resource_json(&c.addr), "action": action});
        if !c.replace_paths.is_empty() {
            change["reason"] = "cannot_update".into();
        }
        events.push(UiEvent {
            level: "info",
            message: format!("{}: Plan to {action}", c.addr),
            kind: "planned_change",
            fields: json!({ "change": change }),
        });
    }
    let (add, change, remove) = plan.counts();
    events.push(UiEvent {
        level: "info",
        message: format!("Plan: {add} to add, {change} to change, {remove} to destroy."),
        kind: "change_summary",
        fields: change_summary(add, change, plan.imports.len(), remove, "plan"),
    });
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_instance_names_its_key() {
        let addr: ResourceInstanceAddr = "inferform_data.item[\"a\"]".parse().unwrap();
        let r = resource_json(&addr);
        assert_eq!(r["resource_key"], json!("a"));
        assert_eq!(r["resource_type"], json!("inferform_data"));
        assert_eq!(r["implied_provider"], json!("inferform"));
    }

    #[test]
    fn an_empty_plan_is_one_summary() {
        let events = plan_events(&Plan::default());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "change_summary");
        assert_eq!(events[0].fields["changes"]["operation"], json!("plan"));
    }
}
