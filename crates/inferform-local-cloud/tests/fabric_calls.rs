//! Fabric, call by call: each call's success and each of its documented (or **[ours]**)
//! errors, with the status code and error body.

mod common;

use common::{start, test_config, Client, Reply};
use reqwest::{Method, StatusCode};
use serde_json::json;

const WS: &str = "/v1/workspaces";

fn assert_err(r: &Reply, status: StatusCode, code: &str, words: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.str("/error_code"), code, "{}", r.text);
    assert!(
        r.str("/error_msg").contains(words),
        "{words:?} not in {}",
        r.text
    );
    assert!(!r.str("/solution_msg").is_empty(), "{}", r.text);
    assert!(r.headers.contains_key("x-request-id"));
}

const BAD: &str = "dataartsfabric.00040001";
const TAKEN: &str = "dataartsfabric.00040002";
const STATUS: &str = "dataartsfabric.00040003";
const IN_USE: &str = "dataartsfabric.00040009";
const MISSING: &str = "dataartsfabric.00040404";

async fn post(c: &Client, path: &str, body: serde_json::Value) -> Reply {
    c.fabric(Method::POST, path, &[], Some(&body)).await
}

#[tokio::test]
async fn workspaces() {
    let (cloud, c) = start(test_config(50)).await;
    let r = post(
        &c,
        WS,
        json!({"name": "a", "description": "d", "metastore_id": "m",
        "enterprise_project_id": "ep1"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.str("/metastore_id"), "m");
    assert_eq!(r.str("/enterprise_project_id"), "ep1");
    assert!(r.str("/access_url").starts_with("http://"));
    let a = r.str("/id").to_owned();
    let b = post(&c, WS, json!({"name": "b"}))
        .await
        .str("/id")
        .to_owned();

    // Create: name required, a string, 1–64; unique.
    assert_err(
        &post(&c, WS, json!({})).await,
        StatusCode::BAD_REQUEST,
        BAD,
        "name is required",
    );
    assert_err(
        &post(&c, WS, json!({"name": 5})).await,
        StatusCode::BAD_REQUEST,
        BAD,
        "name must be a string",
    );
    assert_err(
        &post(&c, WS, json!({"name": "x".repeat(65)})).await,
        StatusCode::BAD_REQUEST,
        BAD,
        "1 to 64",
    );
    assert_err(
        &post(&c, WS, json!({"name": "a"})).await,
        StatusCode::BAD_REQUEST,
        TAKEN,
        "\"a\"",
    );
    let r = c.fabric_bytes(Method::POST, WS, "[1, 2]").await;
    assert_err(&r, StatusCode::BAD_REQUEST, BAD, "JSON object");
    let r = c.fabric_bytes(Method::POST, WS, "").await;
    assert_err(&r, StatusCode::BAD_REQUEST, BAD, "required");

    // List: filters by id and name; paging.
    let r = c.fabric(Method::GET, WS, &[("id", &b)], None).await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.str("/workspaces/0/name"), "b");
    let r = c.fabric(Method::GET, WS, &[("name", "a")], None).await;
    assert_eq!(r.str("/workspaces/0/id"), a);
    let r = c.fabric(Method::GET, WS, &[("name", "zzz")], None).await;
    assert_eq!(r.body, json!({"total": 0, "workspaces": []}));
    let r = c
        .fabric(Method::GET, WS, &[("offset", "1"), ("limit", "1")], None)
        .await;
    assert_eq!(r.body["total"], 2);
    assert_eq!(r.str("/workspaces/0/id"), b, "oldest first");
    for (k, v) in [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "x"),
        ("offset", "-1"),
    ] {
        let r = c.fabric(Method::GET, WS, &[(k, v)], None).await;
        assert_err(&r, StatusCode::BAD_REQUEST, BAD, k);
    }

    // There is no single GET.
    let r = c.fabric(Method::GET, &format!("{WS}/{a}"), &[], None).await;
    assert_err(&r, StatusCode::METHOD_NOT_ALLOWED, "APIG.0101", "GET");

    // Update.
    let r = c
        .fabric(
            Method::PUT,
            &format!("{WS}/{a}"),
            &[],
            Some(&json!({"name": "a2",
        "description": "d2", "metastore_id": "m2"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            r.str("/name"),
            r.str("/description"),
            r.str("/metastore_id")
        ),
        ("a2", "d2", "m2")
    );
    let r = c
        .fabric(
            Method::PUT,
            &format!("{WS}/{a}"),
            &[],
            Some(&json!({"name": "b"})),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, TAKEN, "\"b\"");
    let r = c
        .fabric(
            Method::PUT,
            &format!("{WS}/{a}"),
            &[],
            Some(&json!({"enterprise_project_id": "other"})),
        )
        .await;
    assert_err(
        &r,
        StatusCode::BAD_REQUEST,
        BAD,
        "enterprise_project_id cannot be changed",
    );
    let r = c
        .fabric(
            Method::PUT,
            &format!("{WS}/nope"),
            &[],
            Some(&json!({"name": "n"})),
        )
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "workspace nope");

    // Delete: refused while a model (or endpoint) remains; 404 after.
    let m = post(
        &c,
        &format!("{WS}/{b}/models"),
        json!({"name": "m", "type": "LLM_MODEL"}),
    )
    .await;
    let r = c
        .fabric(Method::DELETE, &format!("{WS}/{b}"), &[], None)
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, IN_USE, "1 model");
    c.fabric(
        Method::DELETE,
        &format!("{WS}/{b}/models/{}", m.str("/id")),
        &[],
        None,
    )
    .await;
    let r = c
        .fabric(Method::DELETE, &format!("{WS}/{b}"), &[], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({}));
    let r = c
        .fabric(Method::DELETE, &format!("{WS}/{b}"), &[], None)
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "workspace");
    cloud.shutdown().await;
}

#[tokio::test]
async fn endpoints() {
    let (cloud, c) = start(test_config(80)).await;
    let ws = post(&c, WS, json!({"name": "w"}))
        .await
        .str("/id")
        .to_owned();
    let other = post(&c, WS, json!({"name": "w2"}))
        .await
        .str("/id")
        .to_owned();
    let eps = format!("{WS}/{ws}/endpoints");
    let r = post(&c, &eps, json!({"name": "e", "type": "inference"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.str("/id").to_owned();
    let path = format!("{eps}/{id}");

    // Show while CREATING: no urls yet, null errors.
    let r = c.fabric(Method::GET, &path, &[], None).await;
    assert_eq!(r.str("/status"), "CREATING");
    assert_eq!(r.body["urls"], json!([]));
    assert!(
        r.body["error_code"].is_null() && r.body["error_msg"].is_null(),
        "{}",
        r.text
    );
    // An update before RUNNING is refused.
    let r = c
        .fabric(Method::PUT, &path, &[], Some(&json!({"description": "x"})))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, STATUS, "CREATING");

    // Create errors.
    assert_err(
        &post(&c, &eps, json!({"type": "inference"})).await,
        StatusCode::BAD_REQUEST,
        BAD,
        "name",
    );
    assert_err(
        &post(&c, &eps, json!({"name": "e", "type": "inference"})).await,
        StatusCode::BAD_REQUEST,
        TAKEN,
        "\"e\"",
    );
    let r = post(
        &c,
        &format!("{WS}/nope/endpoints"),
        json!({"name": "e", "type": "inference"}),
    )
    .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "workspace nope");
    let r = post(&c, &eps, json!({"name": "s", "type": "inference", "reserved_resource": {"mu": {"min": 0, "max": 1}}})).await;
    assert_err(
        &r,
        StatusCode::BAD_REQUEST,
        BAD,
        "reserved_resource.mu.spec_code",
    );
    // The same name in another workspace is fine.
    let r = post(
        &c,
        &format!("{WS}/{other}/endpoints"),
        json!({"name": "e", "type": "ray"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // List: name and type filters, paging; 404 for a missing workspace.
    post(&c, &eps, json!({"name": "r", "type": "ray"})).await;
    let r = c.fabric(Method::GET, &eps, &[("type", "ray")], None).await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.str("/endpoints/0/name"), "r");
    let r = c.fabric(Method::GET, &eps, &[("name", "e")], None).await;
    assert_eq!(r.body["total"], 1);
    let r = c
        .fabric(Method::GET, &eps, &[("limit", "1"), ("offset", "1")], None)
        .await;
    assert_eq!(r.body["total"], 2);
    assert_eq!(r.body["endpoints"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.str("/endpoints/0/name"), "r");
    let r = c
        .fabric(Method::GET, &format!("{WS}/nope/endpoints"), &[], None)
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "workspace");

    // Show: running with urls; another workspace's id is not found here.
    let r = c.wait_fabric(&path, "RUNNING").await;
    assert!(r.body["urls"].as_array().is_some_and(|u| !u.is_empty()));
    let r = c
        .fabric(
            Method::GET,
            &format!("{WS}/{other}/endpoints/{id}"),
            &[],
            None,
        )
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "endpoint");

    // Update: 202 UPDATING, then the change shows; replace-only type; 404.
    let r = c
        .fabric(Method::PUT, &path, &[], Some(&json!({"name": "e2"})))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.str("/status"), "UPDATING");
    assert_eq!(r.str("/name"), "e", "the change shows when it completes");
    assert_eq!(c.wait_fabric(&path, "RUNNING").await.str("/name"), "e2");
    let r = c
        .fabric(Method::PUT, &path, &[], Some(&json!({"type": "job"})))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, BAD, "type cannot be changed");
    let r = c
        .fabric(Method::PUT, &path, &[], Some(&json!({"name": "r"})))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, TAKEN, "\"r\"");
    let r = c
        .fabric(
            Method::PUT,
            &format!("{eps}/nope"),
            &[],
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "endpoint nope");

    // Delete: 202 DELETING (again: still 202), then 404.
    let r = c.fabric(Method::DELETE, &path, &[], None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.str("/status"), "DELETING");
    let r = c.fabric(Method::DELETE, &path, &[], None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    c.wait_fabric(&path, "GONE").await;
    let r = c.fabric(Method::DELETE, &path, &[], None).await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "endpoint");
    cloud.shutdown().await;
}

#[tokio::test]
async fn models_and_versions() {
    let (cloud, c) = start(test_config(80)).await;
    let ws = post(&c, WS, json!({"name": "w"}))
        .await
        .str("/id")
        .to_owned();
    let models = format!("{WS}/{ws}/models");
    let r = post(
        &c,
        &models,
        json!({"name": "m", "type": "LLM_MODEL", "description": "d"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.str("/id").to_owned();
    let v1 = r.str("/version_id").to_owned();
    assert_eq!(
        r.body.as_object().map(|m| m.len()),
        Some(2),
        "only id and version_id: {}",
        r.text
    );
    let path = format!("{models}/{id}");

    // Create errors.
    assert_err(
        &post(&c, &models, json!({"name": "n"})).await,
        StatusCode::BAD_REQUEST,
        BAD,
        "type is required",
    );
    assert_err(
        &post(&c, &models, json!({"name": "m", "type": "LLM_MODEL"})).await,
        StatusCode::BAD_REQUEST,
        TAKEN,
        "\"m\"",
    );
    let r = post(&c, &models, json!({"name": "n", "type": "LLM_MODEL", "version": {"config": {"llm_model_config": {"model_path": 3}}}})).await;
    assert_err(
        &r,
        StatusCode::BAD_REQUEST,
        BAD,
        "version.config.llm_model_config.model_path",
    );
    let r = post(
        &c,
        &format!("{WS}/nope/models"),
        json!({"name": "m", "type": "LLM_MODEL"}),
    )
    .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "workspace");

    // List: id, name, type filters; the current version inside.
    post(&c, &models, json!({"name": "other", "type": "OTHER"})).await;
    let r = c
        .fabric(Method::GET, &models, &[("type", "LLM_MODEL")], None)
        .await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.str("/models/0/version/id"), v1);
    assert_eq!(r.str("/models/0/status"), "RUNNING");
    let r = c
        .fabric(Method::GET, &models, &[("name", "other")], None)
        .await;
    assert_eq!(r.body["total"], 1);
    let r = c.fabric(Method::GET, &models, &[("id", &id)], None).await;
    assert_eq!(r.str("/models/0/name"), "m");

    // Update without a version: 200, same version.
    let r = c
        .fabric(Method::PUT, &path, &[], Some(&json!({"description": "d2"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"id": id, "version_id": v1}));
    // With a version: 202, and a second version while it is built is refused.
    let r = c
        .fabric(
            Method::PUT,
            &path,
            &[],
            Some(&json!({"version": {"name": "v2"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let v2 = r.str("/version_id").to_owned();
    let r = c
        .fabric(
            Method::PUT,
            &path,
            &[],
            Some(&json!({"version": {"name": "v3"}})),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, STATUS, "UPDATING");
    let r = c
        .fabric(Method::PUT, &path, &[], Some(&json!({"type": "OTHER"})))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, BAD, "type cannot be changed");
    let r = c
        .fabric(Method::PUT, &path, &[], Some(&json!({"name": "other"})))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, TAKEN, "\"other\"");
    let r = c
        .fabric(
            Method::PUT,
            &format!("{models}/nope"),
            &[],
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "model nope");

    // Versions: both, oldest first, the new one CREATING then RUNNING; paging; 404.
    let r = c
        .fabric(Method::GET, &format!("{path}/versions"), &[], None)
        .await;
    assert_eq!(r.body["total"], 2);
    assert_eq!(r.str("/versions/0/id"), v1);
    assert_eq!(r.str("/versions/1/status"), "CREATING");
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    let r = c
        .fabric(
            Method::GET,
            &format!("{path}/versions"),
            &[("offset", "1")],
            None,
        )
        .await;
    assert_eq!(r.str("/versions/0/id"), v2);
    assert_eq!(r.str("/versions/0/status"), "RUNNING");
    let r = c
        .fabric(Method::GET, &format!("{models}/nope/versions"), &[], None)
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "model");

    // Delete: 200 {}, then 404.
    let r = c.fabric(Method::DELETE, &path, &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({}));
    let r = c.fabric(Method::DELETE, &path, &[], None).await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "model");
    cloud.shutdown().await;
}

#[tokio::test]
async fn service_instances_and_invocations() {
    let (cloud, c) = start(test_config(80)).await;
    let ws = post(&c, WS, json!({"name": "w"}))
        .await
        .str("/id")
        .to_owned();
    let ep = post(
        &c,
        &format!("{WS}/{ws}/endpoints"),
        json!({"name": "e", "type": "inference",
        "reserved_resource": {"mu": {"spec_code": "mu.s", "min": 0, "max": 2}}}),
    )
    .await
    .str("/id")
    .to_owned();
    let m = post(
        &c,
        &format!("{WS}/{ws}/models"),
        json!({"name": "m", "type": "LLM_MODEL"}),
    )
    .await;
    let model = m.str("/id").to_owned();
    let m2 = post(
        &c,
        &format!("{WS}/{ws}/models"),
        json!({"name": "m2", "type": "LLM_MODEL"}),
    )
    .await;
    let instances = format!("{WS}/{ws}/services/instances");
    let r = post(
        &c,
        &instances,
        json!({"name": "i", "endpoint_id": ep, "source": {"id": model}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body.as_object().map(|m| m.len()),
        Some(1),
        "only the id: {}",
        r.text
    );
    let id = r.str("/id").to_owned();
    let path = format!("{instances}/{id}");

    // Show while CREATING; update and invoke are refused until RUNNING.
    let r = c.fabric(Method::GET, &path, &[], None).await;
    assert_eq!(r.str("/status"), "CREATING");
    assert_eq!(
        r.str("/source/version_id"),
        m.str("/version_id"),
        "the current version"
    );
    let r = c
        .fabric(Method::PUT, &path, &[], Some(&json!({"description": "x"})))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, STATUS, "CREATING");
    let r = c
        .fabric(
            Method::POST,
            &format!("{path}/invocations"),
            &[],
            Some(&json!({"messages": [{"role": "user", "content": "x"}]})),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, STATUS, "CREATING");

    // Create errors.
    let r = post(
        &c,
        &instances,
        json!({"name": "i", "endpoint_id": ep, "source": {"id": model}}),
    )
    .await;
    assert_err(&r, StatusCode::BAD_REQUEST, TAKEN, "\"i\"");
    let r = post(
        &c,
        &instances,
        json!({"name": "j", "source": {"id": model}}),
    )
    .await;
    assert_err(&r, StatusCode::BAD_REQUEST, BAD, "endpoint_id is required");
    let r = post(
        &c,
        &instances,
        json!({"name": "j", "endpoint_id": ep, "source": {"id": "nope"}}),
    )
    .await;
    assert_err(&r, StatusCode::BAD_REQUEST, BAD, "source.id");
    let r = post(
        &c,
        &instances,
        json!({"name": "j", "endpoint_id": ep,
        "source": {"id": model, "version_id": m2.str("/version_id")}}),
    )
    .await;
    assert_err(&r, StatusCode::BAD_REQUEST, BAD, "source.version_id");
    let r = post(
        &c,
        &format!("{WS}/nope/services/instances"),
        json!({"name": "j", "endpoint_id": ep, "source": {"id": model}}),
    )
    .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "workspace");

    // List: name and endpoint_id filters; 404 for a missing workspace.
    let r = c
        .fabric(Method::GET, &instances, &[("name", "i")], None)
        .await;
    assert_eq!(r.body["total"], 1);
    let r = c
        .fabric(Method::GET, &instances, &[("endpoint_id", "other")], None)
        .await;
    assert_eq!(r.body, json!({"total": 0, "instances": []}));
    let r = c
        .fabric(
            Method::GET,
            &format!("{WS}/nope/services/instances"),
            &[],
            None,
        )
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "workspace");
    let r = c
        .fabric(Method::GET, &format!("{instances}/nope"), &[], None)
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "service instance nope");

    // Invocation once RUNNING: errors, a non-streamed answer, and max_tokens.
    c.wait_fabric(&path, "RUNNING").await;
    let inv = format!("{path}/invocations");
    let r = c
        .fabric(Method::POST, &inv, &[], Some(&json!({"messages": []})))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, BAD, "messages");
    let r = c
        .fabric(
            Method::POST,
            &inv,
            &[],
            Some(&json!({"messages": [{"role": "user"}]})),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, BAD, "messages[0]");
    let r = c
        .fabric(
            Method::POST,
            &format!("{instances}/nope/invocations"),
            &[],
            Some(&json!({"messages": [{"role": "user", "content": "x"}]})),
        )
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "service instance");
    let r = c.fabric(Method::POST, &inv, &[], Some(&json!({"stream": false,
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "one two three"}]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["object"], "chat.completion");
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        "You said: one two three"
    );
    assert_eq!(r.body["choices"][0]["finish_reason"], "stop");
    let r = c
        .fabric(
            Method::POST,
            &inv,
            &[],
            Some(&json!({"stream": false, "max_tokens": 2,
        "messages": [{"role": "user", "content": "one two three"}]})),
        )
        .await;
    assert_eq!(r.body["choices"][0]["message"]["content"], "You said:");
    assert_eq!(r.body["choices"][0]["finish_reason"], "length");

    // Update: 202; fixed fields; max within the endpoint's; 404.
    let r = c
        .fabric(
            Method::PUT,
            &path,
            &[],
            Some(&json!({"source": {"id": m2.str("/id")}})),
        )
        .await;
    assert_err(
        &r,
        StatusCode::BAD_REQUEST,
        BAD,
        "source.id cannot be changed",
    );
    let r = c
        .fabric(Method::PUT, &path, &[], Some(&json!({"max": 3})))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, BAD, "reserved_resource.mu.max");
    let r = c
        .fabric(
            Method::PUT,
            &format!("{instances}/nope"),
            &[],
            Some(&json!({"max": 1})),
        )
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "service instance");
    let r = c
        .fabric(
            Method::PUT,
            &path,
            &[],
            Some(&json!({"max": 2, "description": "d"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.str("/status"), "UPDATING");
    // Still served while UPDATING.
    let r = c
        .fabric(
            Method::POST,
            &inv,
            &[],
            Some(&json!({"messages": [{"role": "user", "content": "x"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = c.wait_fabric(&path, "RUNNING").await;
    assert_eq!(
        r.body["config"]["model_instance_config"]["resource"]["max"],
        2
    );
    assert_eq!(r.str("/description"), "d");

    // The endpoint and the model are in use.
    let r = c
        .fabric(
            Method::DELETE,
            &format!("{WS}/{ws}/endpoints/{ep}"),
            &[],
            None,
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, IN_USE, &id);
    let r = c
        .fabric(
            Method::DELETE,
            &format!("{WS}/{ws}/models/{model}"),
            &[],
            None,
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, IN_USE, &id);

    // Delete: 202 DELETING, not invocable any more, then 404.
    let r = c.fabric(Method::DELETE, &path, &[], None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.str("/status"), "DELETING");
    let r = c
        .fabric(
            Method::POST,
            &inv,
            &[],
            Some(&json!({"messages": [{"role": "user", "content": "x"}]})),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, STATUS, "DELETING");
    c.wait_fabric(&path, "GONE").await;
    let r = c.fabric(Method::DELETE, &path, &[], None).await;
    assert_err(&r, StatusCode::NOT_FOUND, MISSING, "service instance");
    cloud.shutdown().await;
}
