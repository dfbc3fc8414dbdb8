//! Auth contract: signatures, tokens, plain credentials, and their 401 bodies.

mod common;

use common::{start, test_config};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn fabric_accepts_good_signatures_and_tokens_only() {
    let (cloud, c) = start(test_config(50)).await;
    let body = json!({"name": "signed"});

    let ok = c
        .fabric(Method::POST, "/v1/workspaces", &[], Some(&body))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    // A query with a space and several parameters signs and verifies.
    let ok = c
        .fabric(
            Method::GET,
            "/v1/workspaces",
            &[("name", "a b"), ("limit", "10")],
            None,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);

    let token = c
        .raw(
            Method::GET,
            "/v1/workspaces",
            &[("X-Auth-Token", "local-token")],
            None,
        )
        .await;
    assert_eq!(token.status, StatusCode::OK);

    let cases = [
        c.fabric_with(
            "local-ak",
            "wrong-sk",
            0,
            Method::GET,
            "/v1/workspaces",
            &[],
            None,
        )
        .await,
        c.fabric_with(
            "other-ak",
            "local-sk",
            0,
            Method::GET,
            "/v1/workspaces",
            &[],
            None,
        )
        .await,
        c.fabric_with(
            "local-ak",
            "local-sk",
            -20 * 60,
            Method::GET,
            "/v1/workspaces",
            &[],
            None,
        )
        .await,
        c.raw(
            Method::GET,
            "/v1/workspaces",
            &[("X-Auth-Token", "wrong")],
            None,
        )
        .await,
        c.raw(Method::GET, "/v1/workspaces", &[], None).await,
    ];
    for r in &cases {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert_eq!(r.str("/error_code"), "APIG.0301", "{}", r.text);
        assert!(!r.str("/error_msg").is_empty());
        assert!(r.body.get("solution_msg").is_some());
        assert!(r.headers.contains_key("x-request-id"));
    }
    let garbled = c
        .raw(
            Method::GET,
            "/v1/workspaces",
            &[("Authorization", "SDK-HMAC-SHA256 nonsense")],
            None,
        )
        .await;
    assert_eq!(garbled.status, StatusCode::UNAUTHORIZED);
    assert_eq!(garbled.str("/error_code"), "APIG.1002");

    // A body changed after signing fails.
    let date = common::sdk_date(0);
    let headers = vec![
        ("Host".to_owned(), c.host.clone()),
        ("X-Sdk-Date".to_owned(), date.clone()),
        ("Content-Type".to_owned(), "application/json".to_owned()),
    ];
    let auth = common::sign(
        "local-ak",
        "local-sk",
        "POST",
        "/v1/workspaces",
        &[],
        &headers,
        br#"{"name":"a"}"#,
        &date,
    );
    let tampered = c
        .raw(
            Method::POST,
            "/v1/workspaces",
            &[("X-Sdk-Date", &date), ("Authorization", &auth)],
            Some(r#"{"name":"b"}"#),
        )
        .await;
    assert_eq!(tampered.status, StatusCode::UNAUTHORIZED);
    assert!(tampered.str("/solution_msg").contains("canonical request"));
    cloud.shutdown().await;
}

#[tokio::test]
async fn alaya_checks_the_plain_credential() {
    let (cloud, c) = start(test_config(50)).await;
    let ok = c.alaya(Method::GET, "/deployment/list", None).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["code"], 0);
    assert_eq!(ok.body["data"]["count"], 0);

    let url = "/api/serverless-infer/v1/deployment/list";
    for headers in [
        vec![],
        vec![(
            "Authorization",
            "plain Credential=local-alaya-ak,Signature=nope",
        )],
        vec![("Authorization", "Bearer x")],
    ] {
        let r = c.raw(Method::GET, url, &headers, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert_eq!(r.body["code"], -1);
        assert!(r.body["data"].is_null());
        assert!(!r.str("/msg").is_empty());
        assert!(r.headers.contains_key("x-request-id"));
    }
    cloud.shutdown().await;
}

#[tokio::test]
async fn bodies_over_12_mb_are_refused() {
    let (cloud, c) = start(test_config(50)).await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(12 * 1024 * 1024));
    let r = c
        .raw(
            Method::POST,
            "/v1/workspaces",
            &[("X-Auth-Token", "local-token")],
            Some(&big),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.str("/error_code"), "APIG.0201");
    let r = c.raw(Method::POST, "/_local/faults", &[], Some(&big)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    cloud.shutdown().await;
}
