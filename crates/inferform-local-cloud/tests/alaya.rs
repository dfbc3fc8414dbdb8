//! Alaya contract: the seed's expert deployment through its whole lifecycle.

mod common;

use common::{json, seeds, start, test_config};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_seed_deployment_lives_and_dies() {
    let (cloud, c) = start(test_config(100)).await;
    let created = c
        .alaya(
            Method::POST,
            "/deployment/expert",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    assert_eq!(created.body["code"], 0);
    let id = created.str("/data/serviceId").to_owned();
    assert!(!id.is_empty());

    let got = c
        .alaya(Method::GET, &format!("/deployment/{id}"), None)
        .await;
    assert_eq!(got.str("/data/status"), "starting");
    let got = c.wait_alaya(&id, "running").await;
    let d = &got.body["data"];
    assert_eq!(d["mode"], "expert");
    assert_eq!(d["name"], "test-expert");
    assert_eq!(d["vksId"], "vcacb50arkk4");
    assert_eq!(d["servedName"][0], "testvllm");
    assert_eq!(d["expert"]["scale"]["max"], 3);
    assert_eq!(d["expert"]["headConfig"]["resource"]["gpu"]["count"], 1);
    assert_eq!(d["instance"].as_array().map(Vec::len), Some(1));
    let service_url = got.str("/data/serviceUrl").to_owned();
    assert!(service_url.starts_with(&c.base), "{service_url}");
    let api_key = got.str("/data/apiKey").to_owned();

    let list = c.alaya(Method::GET, "/deployment/list?vksId=vcacb50arkk4&namespace=default&name=test-expert&model=expert&page=1&size=10", None).await;
    assert_eq!(list.body["data"]["count"], 1);
    assert_eq!(list.str("/data/rows/0/serviceId"), id);
    let none = c
        .alaya(Method::GET, "/deployment/list?name=other", None)
        .await;
    assert_eq!(none.body["data"]["count"], 0);

    // Invocation through serviceUrl with the apiKey header.
    let inv = c
        .http
        .post(format!("{service_url}/v1/chat/completions"))
        .header("apiKey", &api_key)
        .json(&json!({"model": "testvllm", "messages": [{"role": "user", "content": "hi there"}]}))
        .send()
        .await
        .expect("invoke");
    assert_eq!(inv.status(), StatusCode::OK);
    let text = inv.text().await.expect("body");
    assert!(
        text.contains("chat.completion.chunk") && text.contains("\"there\"")
            || text.contains(" there"),
        "{text}"
    );
    let bad = c
        .http
        .post(format!("{service_url}/v1/chat/completions"))
        .header("apiKey", "wrong")
        .json(&json!({"messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .expect("invoke");
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let r = c
        .alaya(Method::DELETE, &format!("/deployment/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        c.alaya(Method::GET, &format!("/deployment/{id}"), None)
            .await
            .str("/data/status"),
        "stopping"
    );
    let gone = c.wait_alaya(&id, "GONE").await;
    assert_eq!(gone.body["code"], -1);
    cloud.shutdown().await;
}

#[tokio::test]
async fn bad_deployments_are_refused_with_the_field_named() {
    let (cloud, c) = start(test_config(50)).await;
    let mut body = json(seeds::ALAYA_EXPERT);
    body.as_object_mut().map(|m| m.remove("vksId"));
    let r = c
        .alaya(Method::POST, "/deployment/expert", Some(&body))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], -1);
    assert!(r.str("/msg").contains("vksId"), "{}", r.text);

    let mut body = json(seeds::ALAYA_EXPERT);
    body["scale"]["min"] = json!(5);
    let r = c
        .alaya(Method::POST, "/deployment/expert", Some(&body))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.str("/msg").contains("scale.max"), "{}", r.text);

    let r = c
        .alaya(Method::GET, "/deployment/does-not-exist", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["code"], -1);
    let r = c
        .alaya(Method::DELETE, "/deployment/does-not-exist", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    cloud.shutdown().await;
}

#[tokio::test]
async fn scale_cancel_and_offline_update() {
    let (cloud, c) = start(test_config(50)).await;
    let id = c
        .alaya(
            Method::POST,
            "/deployment/expert",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await
        .str("/data/serviceId")
        .to_owned();
    c.wait_alaya(&id, "running").await;

    let r = c
        .alaya(
            Method::PUT,
            &format!("/deployment/{id}/scale"),
            Some(&json!({"scale": {"min": 2, "max": 4, "rpsValue": 5, "idleTime": 30}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got = c
        .alaya(Method::GET, &format!("/deployment/{id}"), None)
        .await;
    assert_eq!(got.body["data"]["expert"]["scale"]["max"], 4);
    assert_eq!(
        got.body["data"]["instance"].as_array().map(Vec::len),
        Some(2)
    );

    // An offline update needs a stopped deployment.
    let mut update = json(seeds::ALAYA_EXPERT);
    update["headConfig"]["image"] = json!("registry.example/vllm:2");
    let r = c
        .alaya(
            Method::PUT,
            &format!("/deployment/expert/{id}"),
            Some(&update),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let r = c
        .alaya(Method::POST, &format!("/deployment/{id}/cancel"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    c.wait_alaya(&id, "stopped").await;
    let r = c
        .alaya(
            Method::PUT,
            &format!("/deployment/expert/{id}"),
            Some(&update),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got = c.wait_alaya(&id, "running").await;
    assert_eq!(
        got.body["data"]["expert"]["headConfig"]["image"],
        "registry.example/vllm:2"
    );

    let mut rename = json(seeds::ALAYA_EXPERT);
    rename["name"] = json!("other");
    let r = c
        .alaya(
            Method::PUT,
            &format!("/deployment/expert/{id}"),
            Some(&rename),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    cloud.shutdown().await;
}

#[tokio::test]
async fn min_zero_scales_to_zero_and_wakes_on_request() {
    let (cloud, c) = start(test_config(150)).await;
    let mut body = json(seeds::ALAYA_EXPERT);
    body["scale"] = json!({"min": 0, "max": 1, "idleTime": 0});
    let id = c
        .alaya(Method::POST, "/deployment/expert", Some(&body))
        .await
        .str("/data/serviceId")
        .to_owned();
    let got = c.wait_alaya(&id, "running").await;
    assert_eq!(
        got.body["data"]["instance"].as_array().map(Vec::len),
        Some(0),
        "{}",
        got.text
    );
    let url = got.str("/data/serviceUrl").to_owned();
    let key = got.str("/data/apiKey").to_owned();
    let started = Instant::now();
    let r = c
        .http
        .post(format!("{url}/v1/chat/completions"))
        .header("apiKey", key)
        .json(&json!({"messages": [{"role": "user", "content": "wake"}], "stream": false}))
        .send()
        .await
        .expect("invoke");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "a cold start waits"
    );
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["choices"][0]["message"]["content"], "You said: wake");
    cloud.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_answer_in_the_alaya_envelope() {
    let (cloud, c) = start(test_config(50)).await;
    let r = c.alaya(Method::GET, "/nothing/here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.body["code"], -1);
    let r = c.alaya(Method::POST, "/deployment/list", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);
    assert_eq!(r.body["code"], -1);
    assert!(r.headers.contains_key("x-request-id"));
    cloud.shutdown().await;
}
