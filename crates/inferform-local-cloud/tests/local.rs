//! `/_local` controls and persistence across restarts.

mod common;

use common::{json, seeds, start, test_config, Client};
use inferform_local_cloud::{Config, LocalCloud};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn objects_survive_a_restart_and_lifecycles_carry_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: Some(dir.path().to_owned()),
        ..test_config(300)
    };
    let (cloud, c) = start(config.clone()).await;
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
        .await
        .str("/id")
        .to_owned();
    let dep = c
        .alaya(
            Method::POST,
            "/deployment/expert",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await
        .str("/data/serviceId")
        .to_owned();
    cloud.shutdown().await;

    // A new process (here: a new server on another port) over the same folder.
    let cloud = LocalCloud::start(config, common::loopback())
        .await
        .expect("restart");
    let c = Client::new(&cloud.base_url());
    let listed = c
        .fabric(Method::GET, "/v1/workspaces", &[("id", &ws)], None)
        .await;
    assert_eq!(listed.body["total"], 1, "{}", listed.text);
    let shown = c
        .wait_fabric(&format!("/v1/workspaces/{ws}/endpoints/{ep}"), "RUNNING")
        .await;
    assert_eq!(shown.str("/name"), "apie_test");
    let d = c.wait_alaya(&dep, "running").await;
    assert!(
        d.str("/data/serviceUrl").starts_with(&c.base),
        "the service URL follows the new address"
    );

    let all = c.local(Method::GET, "/_local/objects", None).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(
        all.body["fabric_workspace"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        all.body["fabric_endpoint"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        all.body["alaya_expert_deployment"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(all.headers.contains_key("x-request-id"));

    let r = c.local(Method::POST, "/_local/reset", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let all = c.local(Method::GET, "/_local/objects", None).await;
    assert_eq!(
        all.body["fabric_workspace"].as_array().map(Vec::len),
        Some(0)
    );
    cloud.shutdown().await;

    // The reset reached the disk too.
    let cloud = LocalCloud::start(
        Config {
            data_dir: Some(dir.path().to_owned()),
            ..Config::default()
        },
        common::loopback(),
    )
    .await
    .expect("restart");
    let c = Client::new(&cloud.base_url());
    let all = c.local(Method::GET, "/_local/objects", None).await;
    assert_eq!(
        all.body["fabric_endpoint"].as_array().map(Vec::len),
        Some(0)
    );
    cloud.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_object_file_is_reported_not_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sub = dir.path().join("fabric_workspace");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::write(sub.join("x.json"), "{ not json").expect("write");
    let err = LocalCloud::start(
        Config {
            data_dir: Some(dir.path().to_owned()),
            ..Config::default()
        },
        common::loopback(),
    )
    .await;
    match err {
        Err(e) => assert!(e.to_string().contains("x.json"), "{e}"),
        Ok(_) => panic!("a corrupt file must not be silently dropped"),
    }
}

#[tokio::test]
async fn base_url_is_loopback() {
    let (cloud, _) = start(Config::default()).await;
    assert!(cloud.base_url().starts_with("http://127.0.0.1:"));
    assert_ne!(cloud.addr().port(), 0);
    cloud.shutdown().await;
}

#[tokio::test]
async fn local_controls() {
    let (cloud, c) = start(test_config(50)).await;
    let r = c.local(Method::GET, "/_local/health", None).await;
    assert_eq!(r.body, serde_json::json!({"ok": true}));

    let r = c.local(Method::GET, "/_local/timings", None).await;
    assert_eq!(r.body["endpoint_create_ms"], 50);
    assert_eq!(r.body["stream_chunk_ms"], 5);
    let r = c
        .local(
            Method::POST,
            "/_local/timings",
            Some(&serde_json::json!({"all_ms": 7})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["alaya_stopping_ms"], 7);
    let r = c
        .local(
            Method::POST,
            "/_local/timings",
            Some(&serde_json::json!({"al_ms": 7})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.str("/error").contains("al_ms"));

    // Every kind is listed, each as its cloud's GET shows it, siblings included.
    let q = c
        .alaya_bytes(
            Method::POST,
            "/deployment",
            r#"{"vksId": "v", "namespace": "n", "name": "q", "servedName": ["q"], "modelId": "m",
                "backend": "vllm", "backendVersion": "0.9.0.1", "backendArgs": [], "resource": {}}"#,
        )
        .await;
    let q = q.str("/data/serviceId").to_owned();
    c.alaya_bytes(
        Method::POST,
        "/deployment/lora",
        &format!(r#"{{"baseServiceId": "{q}", "modelId": "m", "name": "l", "servedName": ["l"]}}"#),
    )
    .await;
    let all = c.local(Method::GET, "/_local/objects", None).await;
    let keys: Vec<&str> = all
        .body
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "fabric_workspace",
            "fabric_endpoint",
            "fabric_model",
            "fabric_model_version",
            "fabric_service_instance",
            "alaya_expert_deployment",
            "alaya_quick_start_deployment",
            "alaya_lora_deployment"
        ]
    );
    assert_eq!(
        all.body["alaya_quick_start_deployment"][0]["mode"],
        "quickStart"
    );
    assert!(all.body["alaya_quick_start_deployment"][0]["serviceUrl"]
        .as_str()
        .is_some_and(|u| u.ends_with(&format!("/alaya-svc/{q}"))));
    assert_eq!(
        all.body["alaya_lora_deployment"][0]["baseServiceId"],
        q.as_str()
    );
    cloud.shutdown().await;
}

#[tokio::test]
async fn sibling_kinds_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: Some(dir.path().to_owned()),
        ..test_config(40)
    };
    let (cloud, c) = start(config.clone()).await;
    let q = c
        .alaya_bytes(
            Method::POST,
            "/deployment",
            r#"{"vksId": "v", "namespace": "n", "name": "q", "servedName": ["q"], "modelId": "m",
                "backend": "vllm", "backendVersion": "0.9.0.1", "backendArgs": [], "resource": {}}"#,
        )
        .await
        .str("/data/serviceId")
        .to_owned();
    let l = c
        .alaya_bytes(
            Method::POST,
            "/deployment/lora",
            &format!(
                r#"{{"baseServiceId": "{q}", "modelId": "m", "name": "l", "servedName": ["l"]}}"#
            ),
        )
        .await
        .str("/data/serviceId")
        .to_owned();
    cloud.shutdown().await;
    let cloud = LocalCloud::start(config, common::loopback())
        .await
        .expect("restart");
    let c = Client::new(&cloud.base_url());
    assert_eq!(
        c.wait_alaya(&q, "running").await.str("/data/mode"),
        "quickStart"
    );
    assert_eq!(
        c.wait_alaya(&l, "running").await.str("/data/baseServiceId"),
        q
    );
    assert!(dir
        .path()
        .join("alaya_lora_deployment")
        .join(format!("{l}.json"))
        .exists());
    cloud.shutdown().await;
}
