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

#[tokio::test]
async fn faults_from_a_config_file_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("local-cloud.json");
    std::fs::write(
        &file,
        r#"{
          "timings": {"all_ms": 40},
          "faults": {
            "calls": {
              "fabric.workspace.list": {"error_rate": 1.0},
              "fabric.instance.create": {"create_failure_rate": 1.0},
              "alaya.deployment.list": {"latency_ms": 150}
            }
          }
        }"#,
    )
    .expect("write the config");
    let config = Config::load(&file).expect("the file loads");
    let (cloud, c) = start(config).await;

    // 500 and 503 both occur, in the cloud's error body; other calls are untouched.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let r = c.fabric(Method::GET, "/v1/workspaces", &[], None).await;
        assert!(r.status.is_server_error(), "{}", r.text);
        assert!(r.str("/error_code").starts_with("dataartsfabric.0005"));
        seen.insert(r.status.as_u16());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![500, 503]);
    let ws = c
        .fabric(
            Method::POST,
            "/v1/workspaces",
            &[],
            Some(&json!({"name": "w"})),
        )
        .await;
    assert_eq!(ws.status, StatusCode::OK, "{}", ws.text);

    // Latency for one call kind only.
    let t = Instant::now();
    c.alaya(Method::GET, "/deployment/list", None).await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    let t = Instant::now();
    c.alaya(Method::GET, "/deployment/nope", None).await;
    assert!(t.elapsed() < Duration::from_millis(150));

    // A failed service instance carries its error.
    let ws = ws.str("/id").to_owned();
    let ep = c
        .fabric(
            Method::POST,
            &format!("/v1/workspaces/{ws}/endpoints"),
            &[],
            Some(&json(seeds::ENDPOINT)),
        )
        .await
        .str("/id")
        .to_owned();
    let m = c
        .fabric(
            Method::POST,
            &format!("/v1/workspaces/{ws}/models"),
            &[],
            Some(&json(seeds::MODEL)),
        )
        .await
        .str("/id")
        .to_owned();
    let body = seeds::INSTANCE
        .replace("{model}", &m)
        .replace("{endpoint}", &ep);
    let inst = c
        .fabric_bytes(
            Method::POST,
            &format!("/v1/workspaces/{ws}/services/instances"),
            &body,
        )
        .await;
    assert_eq!(inst.status, StatusCode::OK, "{}", inst.text);
    let failed = c
        .wait_fabric(
            &format!("/v1/workspaces/{ws}/services/instances/{}", inst.str("/id")),
            "FAILED",
        )
        .await;
    assert_eq!(failed.str("/error_code"), "dataartsfabric.00050010");
    assert!(!failed.str("/error_msg").is_empty());
    cloud.shutdown().await;

    // A bad file is refused with its path.
    std::fs::write(&file, r#"{"faults": {"error_rate": 3}}"#).expect("write");
    let config = Config::load(&file).expect("valid JSON");
    match inferform_local_cloud::LocalCloud::start(config, common::loopback()).await {
        Err(e) => assert!(e.to_string().contains("error_rate"), "{e}"),
        Ok(_) => panic!("a share over 1.0 must be refused"),
    }
    std::fs::write(&file, r#"{"faults": {"eror_rate": 0.1}}"#).expect("write");
    let e = Config::load(&file).expect_err("a typo is an error");
    assert!(e.to_string().contains("local-cloud.json"), "{e}");
}

#[tokio::test]
async fn run_time_faults_per_call_and_throttling_per_cloud() {
    let (cloud, c) = start(test_config(50)).await;
    let r = c
        .local(
            Method::POST,
            "/_local/faults",
            Some(&json!({"rate_limit_per_sec": 2,
                "calls": {"alaya.deployment.show": {"error_rate": 1.0}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let now = c.local(Method::GET, "/_local/faults", None).await;
    assert_eq!(now.body["rate_limit_per_sec"], 2);
    assert_eq!(
        now.body["calls"]["alaya.deployment.show"]["error_rate"],
        1.0
    );

    // Past two calls in a one-second window, Fabric answers 429.
    let mut throttled = None;
    for _ in 0..10 {
        let r = c.fabric(Method::GET, "/v1/workspaces", &[], None).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(r);
            break;
        }
    }
    let throttled = throttled.expect("a 429 past the rate");
    assert_eq!(throttled.headers["retry-after"], "1");
    assert_eq!(throttled.str("/error_code"), "APIG.0308");
    // Alaya counts separately: its first call is not throttled, but faulted per call kind.
    let r = c.alaya(Method::GET, "/deployment/x", None).await;
    assert!(r.status.is_server_error(), "{}", r.text);
    assert_eq!(r.body["code"], -1);
    let r = c.alaya(Method::GET, "/deployment/list", None).await;
    assert!(
        r.status == StatusCode::OK || r.status == StatusCode::TOO_MANY_REQUESTS,
        "{}",
        r.text
    );
    if r.status == StatusCode::TOO_MANY_REQUESTS {
        assert_eq!(r.body["code"], -1, "Alaya's envelope");
        assert!(r.headers.contains_key("retry-after"));
    }
    cloud.shutdown().await;
}

/// Each malformed answer looks as documented, the call behind it still takes effect, `/_local`
/// is never touched, and every injected fault is counted at `/_local/faults/stats`.
#[tokio::test]
async fn malformed_answers_are_injected_per_call_and_counted() {
    let (cloud, c) = start(test_config(50)).await;
    let set = |f: serde_json::Value| {
        let c = &c;
        async move {
            let r = c.local(Method::POST, "/_local/faults", Some(&f)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
    };
    let ws = c
        .fabric(
            Method::POST,
            "/v1/workspaces",
            &[],
            Some(&json!({"name": "w"})),
        )
        .await
        .str("/id")
        .to_owned();
    let models = format!("/v1/workspaces/{ws}/models");
    let only = |kind: &str| json!({"calls": {"fabric.model.list": {"malformed_rate": 1.0, "malformed": kind}}});

    set(only("garbage")).await;
    let r = c.fabric(Method::GET, &models, &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains('\0'), "{:?}", r.text);
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());
    // Other call kinds answer as usual.
    let r = c.fabric(Method::GET, "/v1/workspaces", &[], None).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);

    set(only("empty")).await;
    let r = c.fabric(Method::GET, &models, &[], None).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, ""));

    set(only("wrong_shape")).await;
    let r = c.fabric(Method::GET, &models, &[], None).await;
    assert_eq!(r.body, json!({"unexpected": "shape"}));

    set(only("html502")).await;
    let r = c.fabric(Method::GET, &models, &[], None).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(
        r.text.contains("<title>502 Bad Gateway</title>"),
        "{}",
        r.text
    );
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/html"));

    set(only("wrong_content_type")).await;
    let r = c.fabric(Method::GET, &models, &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/html"));

    set(only("truncated")).await;
    let r = c.fabric(Method::GET, &models, &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.starts_with("{\""), "{}", r.text);
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());

    // The call behind a malformed answer takes effect.
    set(json!({"calls": {"fabric.model.create": {"malformed_rate": 1.0, "malformed": "any"}}}))
        .await;
    c.fabric(Method::POST, &models, &[], Some(&json(seeds::MODEL)))
        .await;
    set(json!({})).await;
    let r = c.fabric(Method::GET, &models, &[], None).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);

    // Alaya's wrong shape keeps the envelope.
    set(json!({"calls": {"alaya.*": {"malformed_rate": 1.0, "malformed": "wrong_shape"}}})).await;
    let r = c.alaya(Method::GET, "/deployment/list", None).await;
    assert_eq!(r.body["code"], 0);
    assert_eq!(r.body["data"], json!({"unexpected": "shape"}));

    let stats = c.local(Method::GET, "/_local/faults/stats", None).await;
    assert_eq!(stats.status, StatusCode::OK);
    let list = &stats.body["calls"]["fabric.model.list"];
    for kind in [
        "garbage",
        "empty",
        "wrong_shape",
        "html502",
        "wrong_content_type",
        "truncated",
    ] {
        assert_eq!(list[format!("malformed.{kind}")], 1, "{}", stats.text);
    }
    assert_eq!(
        stats.body["calls"]["alaya.deployment.list"]["malformed.wrong_shape"],
        1
    );
    assert_eq!(stats.body["total"], 8, "{}", stats.text);
    let r = c.local(Method::DELETE, "/_local/faults/stats", None).await;
    assert_eq!(r.body["total"], 0);
    cloud.shutdown().await;
}

/// Sets the faults at run time, checking that they were accepted.
async fn set_faults(c: &common::Client, f: serde_json::Value) {
    let r = c.local(Method::POST, "/_local/faults", Some(&f)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn fault_count(c: &common::Client, name: &str) -> u64 {
    let stats = c.local(Method::GET, "/_local/faults/stats", None).await;
    stats.body["faults"][name].as_u64().unwrap_or(0)
}

async fn new_workspace(c: &common::Client, name: &str) -> String {
    let r = c
        .fabric(
            Method::POST,
            "/v1/workspaces",
            &[],
            Some(&json!({"name": name})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.str("/id").to_owned()
}

#[tokio::test]
async fn updates_and_deletes_lose_their_answer_but_take_effect() {
    let (cloud, c) = start(test_config(50)).await;
    let ws = new_workspace(&c, "lost").await;
    set_faults(&c, json!({"lost_answer_rate": 1.0})).await;
    let r = c
        .fabric(
            Method::PUT,
            &format!("/v1/workspaces/{ws}"),
            &[],
            Some(&json!({"description": "changed"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text);
    // Creates are not touched by lost_answer_rate (that is ambiguous_rate).
    let other = new_workspace(&c, "other").await;
    let listed = c
        .fabric(Method::GET, "/v1/workspaces", &[("id", &ws)], None)
        .await;
    assert_eq!(listed.str("/workspaces/0/description"), "changed");
    let r = c
        .fabric(
            Method::DELETE,
            &format!("/v1/workspaces/{other}"),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let listed = c
        .fabric(Method::GET, "/v1/workspaces", &[("id", &other)], None)
        .await;
    assert_eq!(listed.body["total"], 0, "the delete took effect");
    assert_eq!(fault_count(&c, "lost_answer.error500").await, 2);

    // Dropped: the connection breaks, and the Alaya delete still happens.
    set_faults(&c, json!({})).await;
    let d = c
        .alaya(
            Method::POST,
            "/deployment/expert",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await;
    let id = d.str("/data/serviceId").to_owned();
    c.wait_alaya(&id, "running").await;
    set_faults(
        &c,
        json!({"lost_answer_rate": 1.0, "ambiguous_mode": "drop"}),
    )
    .await;
    let sent = c
        .http
        .delete(format!(
            "{}/api/serverless-infer/v1/deployment/{id}",
            c.base
        ))
        .header("Authorization", common::ALAYA_AUTH)
        .send()
        .await;
    let failed = match sent {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the client sees a broken connection");
    set_faults(&c, json!({})).await;
    let gone = c.wait_alaya(&id, "GONE").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "the delete took effect");
    assert_eq!(fault_count(&c, "lost_answer.drop").await, 1);
    cloud.shutdown().await;
}

#[tokio::test]
async fn updates_and_deletes_can_be_refused_without_any_change() {
    let (cloud, c) = start(test_config(50)).await;
    let ws = new_workspace(&c, "refused").await;
    set_faults(
        &c,
        json!({"update_failure_rate": 1.0, "delete_failure_rate": 1.0}),
    )
    .await;
    let r = c
        .fabric(
            Method::PUT,
            &format!("/v1/workspaces/{ws}"),
            &[],
            Some(&json!({"description": "changed"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.str("/error_code"), "dataartsfabric.00040003");
    let r = c
        .fabric(Method::DELETE, &format!("/v1/workspaces/{ws}"), &[], None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c.alaya(Method::DELETE, "/deployment/whatever", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["code"], -1);
    let listed = c
        .fabric(Method::GET, "/v1/workspaces", &[("id", &ws)], None)
        .await;
    assert_eq!(listed.body["total"], 1, "still there");
    assert_ne!(listed.str("/workspaces/0/description"), "changed");
    assert_eq!(fault_count(&c, "update_failure").await, 1);
    assert_eq!(fault_count(&c, "delete_failure").await, 2);
    cloud.shutdown().await;
}

#[tokio::test]
async fn creates_can_be_stuck_for_ever() {
    let (cloud, c) = start(test_config(30)).await;
    let ws = new_workspace(&c, "stuck").await;
    set_faults(
        &c,
        json!({"calls": {"fabric.endpoint.create": {"stuck_rate": 1.0},
                         "alaya.*": {"stuck_rate": 1.0}}}),
    )
    .await;
    let ep = c
        .fabric(
            Method::POST,
            &format!("/v1/workspaces/{ws}/endpoints"),
            &[],
            Some(&json(seeds::ENDPOINT)),
        )
        .await;
    let d = c
        .alaya(
            Method::POST,
            "/deployment/expert",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = c
        .fabric(
            Method::GET,
            &format!("/v1/workspaces/{ws}/endpoints/{}", ep.str("/id")),
            &[],
            None,
        )
        .await;
    assert_eq!(got.str("/status"), "CREATING");
    let got = c
        .alaya(
            Method::GET,
            &format!("/deployment/{}", d.str("/data/serviceId")),
            None,
        )
        .await;
    assert_eq!(got.str("/data/status"), "starting");
    assert_eq!(fault_count(&c, "stuck").await, 2);
    cloud.shutdown().await;
}

#[tokio::test]
async fn connections_can_be_reset_before_the_call_happens() {
    let (cloud, c) = start(test_config(50)).await;
    set_faults(&c, json!({"reset_rate": 1.0})).await;
    let sent = c
        .http
        .post(format!("{}/v1/workspaces", c.base))
        .header("X-Auth-Token", "local-token")
        .json(&json!({"name": "reset"}))
        .send()
        .await;
    let failed = match sent {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the client sees a broken connection");
    set_faults(&c, json!({})).await;
    let listed = c
        .fabric(Method::GET, "/v1/workspaces", &[("name", "reset")], None)
        .await;
    assert_eq!(listed.body["total"], 0, "nothing happened");
    assert_eq!(fault_count(&c, "reset").await, 1);
    cloud.shutdown().await;
}

#[tokio::test]
async fn new_objects_are_missing_from_lists_for_a_while() {
    let (cloud, c) = start(test_config(10)).await;
    set_faults(&c, json!({"list_lag_ms": 400})).await;
    let ws = new_workspace(&c, "lagging").await;
    let by_name = c
        .fabric(Method::GET, "/v1/workspaces", &[("name", "lagging")], None)
        .await;
    assert_eq!(by_name.body["total"], 0, "not listed yet");
    let by_id = c
        .fabric(Method::GET, "/v1/workspaces", &[("id", &ws)], None)
        .await;
    assert_eq!(by_id.body["total"], 1, "a read by id sees it");
    let ep = c
        .fabric(
            Method::POST,
            &format!("/v1/workspaces/{ws}/endpoints"),
            &[],
            Some(&json(seeds::ENDPOINT)),
        )
        .await;
    let path = format!("/v1/workspaces/{ws}/endpoints");
    let listed = c.fabric(Method::GET, &path, &[], None).await;
    assert_eq!(listed.body["total"], 0);
    let shown = c
        .fabric(Method::GET, &format!("{path}/{}", ep.str("/id")), &[], None)
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    let d = c
        .alaya(
            Method::POST,
            "/deployment/expert",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK);
    let list = c
        .alaya(Method::GET, "/deployment/list?name=test-expert", None)
        .await;
    assert_eq!(list.body["data"]["count"], 0);
    assert!(fault_count(&c, "list_lag").await >= 3);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let by_name = c
        .fabric(Method::GET, "/v1/workspaces", &[("name", "lagging")], None)
        .await;
    assert_eq!(by_name.body["total"], 1, "listed once the lag is over");
    assert_eq!(
        c.fabric(Method::GET, &path, &[], None).await.body["total"],
        1
    );
    let list = c
        .alaya(Method::GET, "/deployment/list?name=test-expert", None)
        .await;
    assert_eq!(list.body["data"]["count"], 1);
    cloud.shutdown().await;
}

/// The statuses of 40 calls in a row under a 50% error rate and any malformed answer.
async fn faulty_sequence(seed: u64) -> Vec<(u16, usize)> {
    let faults: Faults = serde_json::from_value(json!({
        "seed": seed, "error_rate": 0.5, "malformed_rate": 0.5, "malformed": "any"
    }))
    .expect("faults");
    let (cloud, c) = start(Config {
        faults,
        ..test_config(10)
    })
    .await;
    let mut out = Vec::new();
    for _ in 0..40 {
        let r = c.fabric_bytes(Method::GET, "/v1/workspaces", "").await;
        out.push((r.status.as_u16(), r.text.len()));
    }
    cloud.shutdown().await;
    out
}

#[tokio::test]
async fn a_seed_replays_the_same_faults() {
    let a = faulty_sequence(42).await;
    assert_eq!(a, faulty_sequence(42).await, "same seed, same faults");
    assert_ne!(a, faulty_sequence(43).await, "another seed, other faults");
    assert!(a.iter().any(|(s, _)| *s == 200) && a.iter().any(|(s, _)| *s >= 500));
    // Setting faults with a seed at run time reseeds the generator.
    let (cloud, c) = start(test_config(10)).await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        set_faults(&c, json!({"seed": 9, "error_rate": 0.5})).await;
        let mut seq = Vec::new();
        for _ in 0..20 {
            seq.push(
                c.fabric(Method::GET, "/v1/workspaces", &[], None)
                    .await
                    .status,
            );
        }
        runs.push(seq);
    }
    assert_eq!(runs[0], runs[1]);
    cloud.shutdown().await;
}

#[tokio::test]
async fn fault_counters_add_up_over_restarts_of_one_data_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = || Config {
        data_dir: Some(dir.path().join("cloud")),
        faults: serde_json::from_value(json!({"error_rate": 1.0})).expect("faults"),
        ..test_config(10)
    };
    for _ in 0..2 {
        let (cloud, c) = start(config()).await;
        let r = c.fabric(Method::GET, "/v1/workspaces", &[], None).await;
        assert!(r.status.is_server_error());
        cloud.shutdown().await;
    }
    let (cloud, c) = start(config()).await;
    assert_eq!(fault_count(&c, "error").await, 2);
    let r = c.local(Method::DELETE, "/_local/faults/stats", None).await;
    assert_eq!(r.body["total"], 0);
    cloud.shutdown().await;
}
