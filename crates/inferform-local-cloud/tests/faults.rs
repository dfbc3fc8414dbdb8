//! Faults: failed creates, injected errors, throttling, ambiguous answers, latency.

mod common;

use common::{json, seeds, start, test_config};
use inferform_local_cloud::{AmbiguousMode, CallFaults, Config, Faults};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn creates_can_be_made_to_fail() {
    let mut faults = Faults::default();
    faults.calls.insert(
        "fabric.endpoint.create".into(),
        CallFaults {
            create_failure_rate: Some(1.0),
            ..CallFaults::default()
        },
    );
    faults.calls.insert(
        "alaya.*".into(),
        CallFaults {
            create_failure_rate: Some(1.0),
            ..CallFaults::default()
        },
    );
    let (cloud, c) = start(Config {
        faults,
        ..test_config(50)
    })
    .await;
    let ws = c
        .fabric(
            Method::POST,
            "/v1/workspaces",
            &[],
            Some(&json(seeds::WORKSPACE)),
        )
        .await
        .str("/id")
        .to_owned();
    let ep = c
        .fabric(
            Method::POST,
            &format!("/v1/workspaces/{ws}/endpoints"),
            &[],
            Some(&json(seeds::ENDPOINT)),
        )
        .await;
    assert_eq!(ep.status, StatusCode::OK);
    let failed = c
        .wait_fabric(
            &format!("/v1/workspaces/{ws}/endpoints/{}", ep.str("/id")),
            "CREATE_FAILED",
        )
        .await;
    assert!(!failed.str("/error_code").is_empty());
    assert!(!failed.str("/error_msg").is_empty());

    let d = c
        .alaya(
            Method::POST,
            "/deployment/expert",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await;
    let got = c.wait_alaya(d.str("/data/serviceId"), "failed").await;
    assert!(!got.str("/data/errorMsg").is_empty());
    cloud.shutdown().await;
}

#[tokio::test]
async fn errors_throttling_and_latency_set_at_run_time() {
    let (cloud, c) = start(test_config(50)).await;
    let set = |f: serde_json::Value| {
        let c = &c;
        async move {
            let r = c.local(Method::POST, "/_local/faults", Some(&f)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
    };

    set(json!({"error_rate": 1.0})).await;
    let r = c.fabric(Method::GET, "/v1/workspaces", &[], None).await;
    assert!(
        r.status == StatusCode::INTERNAL_SERVER_ERROR
            || r.status == StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(!r.str("/error_code").is_empty());
    let r = c.alaya(Method::GET, "/deployment/list", None).await;
    assert!(r.status.is_server_error());
    assert_eq!(r.body["code"], -1);
    // /_local is never faulted.
    assert_eq!(
        c.local(Method::GET, "/_local/objects", None).await.status,
        StatusCode::OK
    );

    set(json!({"rate_limit_per_sec": 3})).await;
    let mut throttled = None;
    for _ in 0..10 {
        let r = c.fabric(Method::GET, "/v1/workspaces", &[], None).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(r);
            break;
        }
    }
    let r = throttled.expect("a 429 past the rate");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(r.str("/error_code"), "APIG.0308");

    set(json!({"latency_ms": 120})).await;
    let t = Instant::now();
    c.fabric(Method::GET, "/v1/workspaces", &[], None).await;
    assert!(t.elapsed() >= Duration::from_millis(120));

    let r = c
        .local(
            Method::POST,
            "/_local/faults",
            Some(&json!({"error_rate": 2.0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .local(
            Method::POST,
            "/_local/faults",
            Some(&json!({"eror_rate": 0.5})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    set(json!({})).await;
    assert_eq!(
        c.fabric(Method::GET, "/v1/workspaces", &[], None)
            .await
            .status,
        StatusCode::OK
    );
    cloud.shutdown().await;
}

#[tokio::test]
async fn ambiguous_creates_happen_but_the_answer_is_lost() {
    let faults = Faults {
        ambiguous_rate: 1.0,
        ambiguous_mode: AmbiguousMode::Error500,
        ..Faults::default()
    };
    let (cloud, c) = start(Config {
        faults,
        ..test_config(50)
    })
    .await;
    let r = c
        .fabric(
            Method::POST,
            "/v1/workspaces",
            &[],
            Some(&json!({"name": "maybe"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let listed = c
        .fabric(Method::GET, "/v1/workspaces", &[("name", "maybe")], None)
        .await;
    assert_eq!(listed.body["total"], 1, "the create took effect");

    let r = c
        .local(
            Method::POST,
            "/_local/faults",
            Some(&json!({"ambiguous_rate": 1.0, "ambiguous_mode": "drop"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let sent = c
        .http
        .post(format!(
            "{}/api/serverless-infer/v1/deployment/expert",
            c.base
        ))
        .header("Authorization", common::ALAYA_AUTH)
        .json(&json(seeds::ALAYA_EXPERT))
        .send()
        .await;
    let failed = match sent {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the client sees a broken connection");
    let list = c
        .alaya(Method::GET, "/deployment/list?name=test-expert", None)
        .await;
    assert_eq!(list.body["data"]["count"], 1, "the create took effect");
    cloud.shutdown().await;
}
