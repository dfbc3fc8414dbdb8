//! Fabric contract: the seed's calls, lifecycles, lists, server-side rules.

mod common;

use common::{json, seeds, start, test_config};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const WS: &str = "/v1/workspaces";

#[tokio::test]
async fn the_seed_walkthrough_works_end_to_end() {
    let (cloud, c) = start(test_config(100)).await;

    // 1. Workspace, with the seed's body as written.
    let ws = c
        .fabric(Method::POST, WS, &[], Some(&json(seeds::WORKSPACE)))
        .await;
    assert_eq!(ws.status, StatusCode::OK, "{}", ws.text);
    assert!(ws.headers.contains_key("x-request-id"));
    let ws_id = ws.str("/id").to_owned();
    for field in [
        "id",
        "name",
        "description",
        "create_time",
        "create_domain_name",
        "create_user_name",
        "metastore_id",
        "access_url",
        "enterprise_project_id",
    ] {
        assert!(
            ws.body.get(field).is_some(),
            "workspace lacks {field}: {}",
            ws.text
        );
    }
    let listed = c
        .fabric(Method::GET, WS, &[("name", "apieworkspace")], None)
        .await;
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.str("/workspaces/0/id"), ws_id);
    let by_id = c.fabric(Method::GET, WS, &[("id", &ws_id)], None).await;
    assert_eq!(by_id.body["total"], 1);

    // 2. Endpoint: CREATING, then RUNNING.
    let ep = c
        .fabric(
            Method::POST,
            &format!("{WS}/{ws_id}/endpoints"),
            &[],
            Some(&json(seeds::ENDPOINT)),
        )
        .await;
    assert_eq!(ep.status, StatusCode::OK, "{}", ep.text);
    assert_eq!(ep.str("/status"), "CREATING");
    assert_eq!(ep.body["reserved_resource"]["mu"]["max"], 1);
    let ep_id = ep.str("/id").to_owned();
    let ep_path = format!("{WS}/{ws_id}/endpoints/{ep_id}");
    let running = c.wait_fabric(&ep_path, "RUNNING").await;
    assert_eq!(running.str("/name"), "apie_test");
    assert!(running.body["urls"]
        .as_array()
        .is_some_and(|u| !u.is_empty()));
    let eps = c
        .fabric(
            Method::GET,
            &format!("{WS}/{ws_id}/endpoints"),
            &[("name", "apie_test")],
            None,
        )
        .await;
    assert_eq!(eps.body["total"], 1);

    // 3. Model.
    let model = c
        .fabric(
            Method::POST,
            &format!("{WS}/{ws_id}/models"),
            &[],
            Some(&json(seeds::MODEL)),
        )
        .await;
    assert_eq!(model.status, StatusCode::OK, "{}", model.text);
    let model_id = model.str("/id").to_owned();
    assert!(!model.str("/version_id").is_empty());
    let models = c
        .fabric(
            Method::GET,
            &format!("{WS}/{ws_id}/models"),
            &[("id", &model_id)],
            None,
        )
        .await;
    assert_eq!(models.body["total"], 1);
    assert_eq!(models.str("/models/0/name"), "LLama3-8b");

    // 4. Service instance, with the seed's body and the ids filled in.
    let body = seeds::INSTANCE
        .replace("{model}", &model_id)
        .replace("{endpoint}", &ep_id);
    let inst = c
        .fabric(
            Method::POST,
            &format!("{WS}/{ws_id}/services/instances"),
            &[],
            Some(&json(&body)),
        )
        .await;
    assert_eq!(inst.status, StatusCode::OK, "{}", inst.text);
    let inst_id = inst.str("/id").to_owned();
    let inst_path = format!("{WS}/{ws_id}/services/instances/{inst_id}");
    let shown = c.fabric(Method::GET, &inst_path, &[], None).await;
    assert_eq!(shown.str("/status"), "CREATING");

    // Invoking before RUNNING is refused.
    let early = c
        .fabric(
            Method::POST,
            &format!("{inst_path}/invocations"),
            &[],
            Some(&json(seeds::INVOCATION)),
        )
        .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);

    let shown = c.wait_fabric(&inst_path, "RUNNING").await;
    assert_eq!(shown.str("/source/id"), model_id);
    assert_eq!(shown.str("/endpoint_id"), ep_id);
    let list = c
        .fabric(
            Method::GET,
            &format!("{WS}/{ws_id}/services/instances"),
            &[("endpoint_id", &ep_id)],
            None,
        )
        .await;
    assert_eq!(list.body["total"], 1);

    // 5. Invocation: server-sent chat.completion.chunk events.
    let inv = c
        .fabric(
            Method::POST,
            &format!("{inst_path}/invocations"),
            &[],
            Some(&json(seeds::INVOCATION)),
        )
        .await;
    assert_eq!(inv.status, StatusCode::OK);
    assert_eq!(inv.headers["content-type"], "text/event-stream");
    let text: String = inv
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).expect("chunk JSON"))
        .inspect(|v| assert_eq!(v["object"], "chat.completion.chunk"))
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, "You said: hello");
    assert!(inv.text.trim_end().ends_with("data: [DONE]"));

    // Deletes respect dependencies.
    let r = c
        .fabric(Method::DELETE, &format!("{WS}/{ws_id}"), &[], None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.str("/error_code"), "dataartsfabric.00040009");
    let r = c
        .fabric(
            Method::DELETE,
            &format!("{WS}/{ws_id}/models/{model_id}"),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let r = c.fabric(Method::DELETE, &inst_path, &[], None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        c.fabric(Method::GET, &inst_path, &[], None)
            .await
            .str("/status"),
        "DELETING"
    );
    let gone = c.wait_fabric(&inst_path, "GONE").await;
    assert_eq!(gone.str("/error_code"), "dataartsfabric.00040404");

    let r = c
        .fabric(
            Method::DELETE,
            &format!("{WS}/{ws_id}/models/{model_id}"),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = c.fabric(Method::DELETE, &ep_path, &[], None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    c.wait_fabric(&ep_path, "GONE").await;
    let r = c
        .fabric(Method::DELETE, &format!("{WS}/{ws_id}"), &[], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let listed = c.fabric(Method::GET, WS, &[("id", &ws_id)], None).await;
    assert_eq!(listed.body["total"], 0);
    cloud.shutdown().await;
}

async fn workspace(c: &common::Client, name: &str) -> String {
    let r = c
        .fabric(Method::POST, WS, &[], Some(&json!({"name": name})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.str("/id").to_owned()
}

#[tokio::test]
async fn bad_requests_get_fabric_errors_naming_the_field() {
    let (cloud, c) = start(test_config(50)).await;
    let ws = workspace(&c, "w").await;

    let r = c
        .fabric(Method::POST, WS, &[], Some(&json!({"description": "x"})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.str("/error_code"), "dataartsfabric.00040001");
    assert!(r.str("/error_msg").contains("name"), "{}", r.text);
    assert!(!r.str("/solution_msg").is_empty());
    assert!(r.headers.contains_key("x-request-id"));

    let r = c
        .raw(
            Method::POST,
            WS,
            &[("X-Auth-Token", "local-token")],
            Some("{not json"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.str("/error_msg").contains("JSON"));

    let r = c
        .fabric(
            Method::POST,
            &format!("{WS}/{ws}/endpoints"),
            &[],
            Some(&json!({"name": "e"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.str("/error_msg").contains("type"), "{}", r.text);

    let r = c
        .fabric(Method::POST, &format!("{WS}/{ws}/endpoints"), &[], Some(&json!({"name": "e", "type": "inference", "reserved_resource": {"mu": {"spec_code": "s", "min": 3, "max": 1}}})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.str("/error_msg").contains("reserved_resource.mu.max"),
        "{}",
        r.text
    );

    let r = c
        .fabric(Method::POST, WS, &[], Some(&json!({"name": "w"})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "names are unique");
    assert_eq!(r.str("/error_code"), "dataartsfabric.00040002");

    // Missing objects: 404 in Fabric's format.
    let r = c
        .fabric(Method::GET, &format!("{WS}/nope/endpoints/x"), &[], None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.str("/error_code"), "dataartsfabric.00040404");
    let r = c
        .fabric(Method::GET, &format!("{WS}/{ws}/endpoints/x"), &[], None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .fabric(Method::DELETE, &format!("{WS}/nope"), &[], None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.fabric(Method::GET, "/v1/nothing-here", &[], None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.str("/error_code"), "APIG.0101");

    // Paging limits.
    let r = c.fabric(Method::GET, WS, &[("limit", "0")], None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c.fabric(Method::GET, WS, &[("limit", "101")], None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    cloud.shutdown().await;
}

#[tokio::test]
async fn instance_sizes_are_checked_against_the_endpoint() {
    let (cloud, c) = start(test_config(50)).await;
    let ws = workspace(&c, "w").await;
    let ep = c
        .fabric(Method::POST, &format!("{WS}/{ws}/endpoints"), &[], Some(&json!({"name": "e", "type": "inference", "reserved_resource": {"mu": {"spec_code": "mu.s", "min": 0, "max": 2}}})))
        .await;
    let ep_id = ep.str("/id").to_owned();
    let m = c
        .fabric(
            Method::POST,
            &format!("{WS}/{ws}/models"),
            &[],
            Some(&json!({"name": "m", "type": "LLM_MODEL"})),
        )
        .await;
    let m_id = m.str("/id").to_owned();
    let path = format!("{WS}/{ws}/services/instances");
    let mk = |min: u64, max: u64| {
        json!({"name": format!("i{min}{max}"), "endpoint_id": ep_id, "source": {"id": m_id},
        "config": {"model_instance_config": {"resource": {"spec_code": "mu.s", "min": min, "max": max}}}})
    };

    let r = c.fabric(Method::POST, &path, &[], Some(&mk(2, 1))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "max < min");
    assert!(r.str("/error_msg").contains("max"));
    let r = c.fabric(Method::POST, &path, &[], Some(&mk(1, 3))).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "max over the endpoint's max"
    );
    assert!(
        r.str("/error_msg").contains("reserved_resource.mu.max"),
        "{}",
        r.text
    );
    let r = c.fabric(Method::POST, &path, &[], Some(&mk(1, 2))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let r = c
        .fabric(
            Method::POST,
            &path,
            &[],
            Some(&json!({"name": "x", "endpoint_id": "nope", "source": {"id": m_id}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.str("/error_msg").contains("endpoint_id"));
    let r = c
        .fabric(
            Method::POST,
            &path,
            &[],
            Some(&json!({"name": "x", "endpoint_id": ep_id})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.str("/error_msg").contains("source"));
    let long = "n".repeat(65);
    let r = c
        .fabric(
            Method::POST,
            &path,
            &[],
            Some(&json!({"name": long, "endpoint_id": ep_id, "source": {"id": m_id}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    cloud.shutdown().await;
}

#[tokio::test]
async fn malformed_paths_get_a_fabric_error_body() {
    let (cloud, c) = start(test_config(50)).await;
    let r = c
        .raw(
            Method::GET,
            "/v1/workspaces/%FF%FE/endpoints/x",
            &[("X-Auth-Token", "local-token")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.str("/error_code"),
        "dataartsfabric.00040001",
        "{}",
        r.text
    );
    assert!(r.headers.contains_key("x-request-id"));
    cloud.shutdown().await;
}
