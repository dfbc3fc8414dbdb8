//! What the stores' tests share: records and a state with one of everything, so each store is
//! checked against the same data.

use crate::{Intent, OutputState, ResourceState, State};

/// A resource whose attributes are not in key order, so a store that reorders keys shows.
pub(crate) fn resource(addr: &str) -> ResourceState {
    ResourceState {
        addr: addr.into(),
        type_name: "inferform_data".into(),
        provider: "inferform".into(),
        attributes: serde_json::json!({"id": addr, "zeta": 1, "alpha": [true]}),
        dependencies: vec![],
        tainted: false,
        sensitive_paths: vec![],
        deposed: Default::default(),
    }
}

pub(crate) fn intent(addr: &str) -> Intent {
    Intent {
        addr: addr.into(),
        type_name: "t".into(),
        provider: "p".into(),
        planned: serde_json::json!({"name": addr}),
        dependencies: vec![],
    }
}

/// A state with one of everything, including sensitive paths, for exact round trips.
pub(crate) fn full_state(lineage: &str, serial: u64) -> State {
    let mut state = State {
        lineage: lineage.into(),
        serial,
        ..State::default()
    };
    let mut r = resource("module.m[\"k\"].fabric_endpoint.chat[0]");
    r.attributes = serde_json::json!({"z": 1, "a": {"secret": "s", "list": [1, 2.5, null]}});
    r.dependencies = vec!["fabric_model.x".into()];
    r.tainted = true;
    r.sensitive_paths = vec![vec!["a".into(), "secret".into()]];
    r.deposed.insert(
        "1f2e3d4c".into(),
        crate::DeposedObject {
            attributes: serde_json::json!({"id": "old", "a": {"secret": "t"}}),
            dependencies: vec!["fabric_model.x".into()],
            sensitive_paths: vec![vec!["a".into(), "secret".into()]],
        },
    );
    state.resources.insert(r.addr.clone(), r);
    state.resources.insert("a.b".into(), resource("a.b"));
    state.outputs.insert(
        "url".into(),
        OutputState {
            value: serde_json::json!("https://x"),
            sensitive: false,
        },
    );
    state.outputs.insert(
        "key".into(),
        OutputState {
            value: serde_json::json!({"k": [1]}),
            sensitive: true,
        },
    );
    state.intents.insert(
        "a.pending".into(),
        Intent {
            addr: "a.pending".into(),
            type_name: "t".into(),
            provider: "p".into(),
            planned: serde_json::json!({"name": "n"}),
            dependencies: vec!["a.b".into()],
        },
    );
    state
}
