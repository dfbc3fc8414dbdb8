//! Auth contract: signatures, tokens, plain credentials, and their 401 bodies.

mod common;

use common::{start, test_config, Signed};
use inferform_local_cloud::Config;
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

/// The test client's signer, written from CLOUD-APIS.md without the server's code, gives the
/// official known answers (computed with Huawei's Python SDK); the live tests then use it.
#[test]
fn the_test_signer_gives_the_official_known_answers() {
    let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let one = common::sign(
        "AK1",
        "SK1",
        "POST",
        "/v1/workspaces",
        &[("name", "a b"), ("limit", "10")],
        &h(&[
            ("Content-Type", "application/json"),
            ("Host", "127.0.0.1:8787"),
            ("X-Sdk-Date", "20261122T010203Z"),
        ]),
        br#"{"name": "apieworkspace"}"#,
        "20261122T010203Z",
    );
    assert_eq!(
        one,
        "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=content-type;host;x-sdk-date, \
         Signature=5698311b73e78a9c314d05a8aa6d51fb2cac46dfd56576b6ee942f521ae83ae9"
    );
    let two = common::sign(
        "local-ak",
        "local-sk",
        "GET",
        "/v1/workspaces/e935d0ef/endpoints/0b5633ba",
        &[],
        &h(&[
            ("Host", "fabric.cn-southwest-2.myhuaweicloud.com"),
            ("X-Project-Id", "0a1b2c"),
            ("X-Sdk-Date", "20261122T010203Z"),
        ]),
        b"",
        "20261122T010203Z",
    );
    assert!(
        two.ends_with(
            "SignedHeaders=host;x-project-id;x-sdk-date, \
             Signature=f608ad12180ca2ddd800b2371c96b82d43504f49625fedacb2a3ce6341c33838"
        ),
        "{two}"
    );
}

fn assert_401(r: &common::Reply, code: &str, words: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.str("/error_code"), code, "{}", r.text);
    assert!(
        r.str("/error_msg").contains(words),
        "{words:?} not in {}",
        r.text
    );
    assert!(
        !r.str("/solution_msg").is_empty(),
        "a solution_msg: {}",
        r.text
    );
    assert!(r.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn every_signature_failure_gets_its_401() {
    let (cloud, c) = start(test_config(50)).await;
    let path = "/v1/workspaces";

    // Unsigned payloads, temporary credentials and a project id are accepted.
    let mut req = Signed::new(Method::POST, path);
    req.body = Some(br#"{"name": "unsigned"}"#);
    req.unsigned_payload = true;
    let r = c.signed(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut req = Signed::new(Method::GET, path);
    req.extra = vec![
        ("X-Security-Token".into(), "temporary".into()),
        ("X-Project-Id".into(), "0a1b2c".into()),
    ];
    let r = c.signed(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A date a few minutes off is fine: under the 15-minute limit.
    let r = c
        .fabric_with(
            "local-ak",
            "local-sk",
            10 * 60,
            Method::GET,
            path,
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let mut req = Signed::new(Method::GET, path);
    req.send_date = false;
    assert_401(&c.signed(req).await, "APIG.0301", "X-Sdk-Date is missing");

    let mut req = Signed::new(Method::GET, path);
    req.date = "2026-11-22T01:02:03Z".into();
    assert_401(&c.signed(req).await, "APIG.0301", "YYYYMMDDTHHMMSSZ");

    for skew in [-20 * 60, 20 * 60] {
        let r = c
            .fabric_with("local-ak", "local-sk", skew, Method::GET, path, &[], None)
            .await;
        assert_401(&r, "APIG.0301", "15 minutes");
    }

    let mut req = Signed::new(Method::GET, path);
    req.extra = vec![("X-Project-Id".into(), "p".into())];
    req.unsent_header = Some("X-Project-Id");
    assert_401(&c.signed(req).await, "APIG.0301", "x-project-id");

    let mut req = Signed::new(Method::GET, path);
    req.ak = "someone-else";
    assert_401(&c.signed(req).await, "APIG.0301", "unknown access key");

    let mut req = Signed::new(Method::GET, path);
    req.sk = "wrong";
    let r = c.signed(req).await;
    assert_401(&r, "APIG.0301", "signature mismatch");
    assert!(r.str("/solution_msg").contains("canonical request"));

    // A query changed after signing fails too.
    let mut req = Signed::new(Method::GET, path);
    req.query = &[("name", "x")];
    let auth = {
        let date = req.date.clone();
        common::sign(
            "local-ak",
            "local-sk",
            "GET",
            path,
            &[("name", "y")],
            &[
                ("Host".to_owned(), c.host.clone()),
                ("X-Sdk-Date".to_owned(), date.clone()),
            ],
            b"",
            &date,
        )
    };
    let date = req.date.clone();
    let r = c
        .raw(
            Method::GET,
            "/v1/workspaces?name=x",
            &[("X-Sdk-Date", &date), ("Authorization", &auth)],
            None,
        )
        .await;
    assert_401(&r, "APIG.0301", "signature mismatch");

    for bad in [
        "SDK-HMAC-SHA256 nonsense",
        "SDK-HMAC-SHA256 Access=local-ak, SignedHeaders=, Signature=ab",
        "SDK-HMAC-SHA256Access=local-ak,SignedHeaders=host,Signature=ab",
        "Basic dXNlcjpwYXNz",
    ] {
        let r = c
            .raw(Method::GET, path, &[("Authorization", bad)], None)
            .await;
        assert_401(&r, "APIG.1002", "Authorization");
    }
    let r = c.raw(Method::GET, path, &[], None).await;
    assert_401(&r, "APIG.0301", "x-auth-token not found");
    let r = c
        .raw(Method::GET, path, &[("X-Auth-Token", "wrong")], None)
        .await;
    assert_401(&r, "APIG.0301", "token");

    // Every Fabric route is behind the same check, the ep host's invocations included.
    for (method, p) in [
        (Method::POST, "/v1/workspaces"),
        (Method::PUT, "/v1/workspaces/w"),
        (Method::DELETE, "/v1/workspaces/w"),
        (Method::GET, "/v1/workspaces/w/endpoints"),
        (Method::GET, "/v1/workspaces/w/endpoints/e"),
        (Method::GET, "/v1/workspaces/w/models"),
        (Method::GET, "/v1/workspaces/w/models/m/versions"),
        (Method::GET, "/v1/workspaces/w/services/instances"),
        (Method::GET, "/v1/workspaces/w/services/instances/i"),
        (
            Method::POST,
            "/v1/workspaces/w/services/instances/i/invocations",
        ),
    ] {
        let r = c.raw(method, p, &[], None).await;
        assert_401(&r, "APIG.0301", "x-auth-token not found");
    }
    cloud.shutdown().await;
}

#[tokio::test]
async fn another_project_gets_the_iam_403_body() {
    let (cloud, c) = start(Config {
        fabric_project_id: Some("0a1b2c".into()),
        ..test_config(50)
    })
    .await;
    let mut req = Signed::new(Method::GET, "/v1/workspaces");
    req.extra = vec![("X-Project-Id".into(), "0a1b2c".into())];
    assert_eq!(c.signed(req).await.status, StatusCode::OK);
    let mut req = Signed::new(Method::GET, "/v1/workspaces");
    req.extra = vec![("X-Project-Id".into(), "ffffff".into())];
    let r = c.signed(req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.str("/error/title"), "Forbidden");
    assert!(!r.str("/error/code").is_empty());
    assert!(r.str("/error/message").contains("ffffff"));
    assert!(r.headers.contains_key("x-request-id"));
    // Without the header, the token's project applies.
    let r = c
        .raw(
            Method::GET,
            "/v1/workspaces",
            &[("X-Auth-Token", "local-token")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    cloud.shutdown().await;
}

#[tokio::test]
async fn alaya_401_bodies_name_the_problem() {
    let (cloud, c) = start(test_config(50)).await;
    let url = "/api/serverless-infer/v1/deployment/list";
    for (header, words) in [
        (None, "missing Authorization"),
        (Some("Bearer x"), "malformed"),
        (
            Some("plain Credential=local-alaya-ak,Signature="),
            "malformed",
        ),
        (
            Some("plain Credential=someone,Signature=local-alaya-sk"),
            "invalid credential",
        ),
        (
            Some("plain Credential=local-alaya-ak,Signature=wrong"),
            "invalid credential",
        ),
    ] {
        let headers: Vec<(&str, &str)> = header.map(|h| ("Authorization", h)).into_iter().collect();
        for (method, path) in [
            (Method::GET, url.to_owned()),
            (
                Method::POST,
                "/api/serverless-infer/v1/deployment/expert".to_owned(),
            ),
            (
                Method::POST,
                "/api/serverless-infer/v1/deployment/lora".to_owned(),
            ),
            (
                Method::POST,
                "/api/serverless-infer/v1/deployment".to_owned(),
            ),
            (
                Method::DELETE,
                "/api/serverless-infer/v1/deployment/x".to_owned(),
            ),
        ] {
            let r = c.raw(method, &path, &headers, None).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.text);
            assert_eq!(
                r.body,
                json!({"code": -1, "data": null, "msg": r.str("/msg")})
            );
            assert!(r.str("/msg").contains(words), "{words:?}: {}", r.text);
        }
    }
    // The seed's spelling, `Authorization:plain ...` with a space after the comma, passes.
    let r = c
        .raw(
            Method::GET,
            url,
            &[(
                "Authorization",
                "plain Credential=local-alaya-ak, Signature=local-alaya-sk",
            )],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    cloud.shutdown().await;
}
