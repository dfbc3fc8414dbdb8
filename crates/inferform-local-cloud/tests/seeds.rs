//! The seed documents' example requests, sent byte for byte as written there.

mod common;

use common::{seeds, start, test_config};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn the_fabric_seed_bodies_are_accepted_as_written() {
    let (cloud, c) = start(test_config(50)).await;
    let ws = c
        .fabric_bytes(Method::POST, "/v1/workspaces", seeds::WORKSPACE)
        .await;
    assert_eq!(ws.status, StatusCode::OK, "{}", ws.text);
    assert_eq!(ws.str("/name"), "apieworkspace");
    assert_eq!(ws.str("/description"), "apie test workspace");
    let ws_id = ws.str("/id").to_owned();

    let ep = c
        .fabric_bytes(
            Method::POST,
            &format!("/v1/workspaces/{ws_id}/endpoints"),
            seeds::ENDPOINT,
        )
        .await;
    assert_eq!(ep.status, StatusCode::OK, "{}", ep.text);
    // The seed's answer's fields.
    for field in [
        "visibility",
        "id",
        "name",
        "type",
        "status",
        "description",
        "create_time",
        "update_time",
        "owner",
        "reserved_resource",
    ] {
        assert!(ep.body.get(field).is_some(), "no {field}: {}", ep.text);
    }
    assert_eq!(ep.str("/status"), "CREATING");
    assert_eq!(ep.str("/reserved_resource/mu/spec_code"), "mu.llama3.8b");
    let ep_id = ep.str("/id").to_owned();

    let model = c
        .fabric_bytes(
            Method::POST,
            &format!("/v1/workspaces/{ws_id}/models"),
            seeds::MODEL,
        )
        .await;
    assert_eq!(model.status, StatusCode::OK, "{}", model.text);
    let model_id = model.str("/id").to_owned();

    // The instance body as written leaves the ids empty for the reader to fill in: refused,
    // naming the field.
    let instances = format!("/v1/workspaces/{ws_id}/services/instances");
    let verbatim = seeds::INSTANCE
        .replace("{model}", "")
        .replace("{endpoint}", "");
    let r = c.fabric_bytes(Method::POST, &instances, &verbatim).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.str("/error_code"), "dataartsfabric.00040001");
    assert!(r.str("/error_msg").contains("source.id"), "{}", r.text);
    let filled = seeds::INSTANCE
        .replace("{model}", &model_id)
        .replace("{endpoint}", &ep_id);
    let inst = c.fabric_bytes(Method::POST, &instances, &filled).await;
    assert_eq!(inst.status, StatusCode::OK, "{}", inst.text);
    let inst_path = format!("{instances}/{}", inst.str("/id"));
    c.wait_fabric(&inst_path, "RUNNING").await;

    let inv = c
        .fabric_bytes(
            Method::POST,
            &format!("{inst_path}/invocations"),
            seeds::INVOCATION,
        )
        .await;
    assert_eq!(inv.status, StatusCode::OK, "{}", inv.text);
    let chunks: Vec<Value> = inv
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("a chunk"))
        .collect();
    // The seed's chunk shape.
    for chunk in &chunks {
        assert!(chunk["id"]
            .as_str()
            .is_some_and(|i| i.starts_with("chatcmpl-")));
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk["created"].is_u64());
        assert!(chunk["model"].is_string());
        assert_eq!(chunk["choices"][0]["index"], 0);
        assert!(chunk["choices"][0].get("finish_reason").is_some());
        assert!(chunk.get("system_fingerprint").is_some());
        assert!(chunk.get("usage").is_some());
    }
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    cloud.shutdown().await;
}

#[tokio::test]
async fn the_alaya_seed_body_is_accepted_as_written() {
    let (cloud, c) = start(test_config(50)).await;
    let r = c
        .alaya_bytes(Method::POST, "/deployment/expert", seeds::ALAYA_EXPERT)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["code"], 0);
    assert_eq!(r.str("/msg"), "success");
    let id = r.str("/data/serviceId").to_owned();
    let got = c.wait_alaya(&id, "running").await;
    let d = &got.body["data"];
    let sent: Value = serde_json::from_str(seeds::ALAYA_EXPERT).expect("the seed is JSON");
    for field in ["name", "namespace", "vksId", "servedName", "modelId"] {
        assert_eq!(d[field], sent[field], "{field}");
    }
    for field in ["headConfig", "workerConfig", "scale", "extensions"] {
        assert_eq!(
            d["expert"][field], sent[field],
            "{field} comes back as sent"
        );
    }
    cloud.shutdown().await;
}
