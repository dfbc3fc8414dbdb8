//! Alaya, call by call: expert deployments and the sibling kinds (quick start, LoRA) that
//! share get, list, cancel and delete; each call's success and its errors, in the envelope.

mod common;

use common::{json, seeds, start, test_config, Client, Reply};
use inferform_local_cloud::{CallFaults, Config, Faults};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn assert_err(r: &Reply, status: StatusCode, words: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["code"], -1, "{}", r.text);
    assert!(r.body["data"].is_null(), "{}", r.text);
    assert!(r.str("/msg").contains(words), "{words:?} not in {}", r.text);
    assert!(r.headers.contains_key("x-request-id"));
}

fn assert_ok(r: &Reply) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["code"], 0, "{}", r.text);
    assert_eq!(r.str("/msg"), "success");
}

fn quick_start(name: &str) -> Value {
    json!({
        "vksId": "vcacb50arkk4", "namespace": "default", "name": name,
        "servedName": ["testvllm"], "modelId": "c486cdee-c316-4fc1-9f75-0d1741940f27",
        "backend": "vllm", "backendVersion": "0.9.0.1", "backendArgs": [],
        "resource": {"workers": 2, "cpu": 4, "gpu": {"count": 1, "gpuType": "nvidia.com/gpu-l40s"}, "mem": 10}
    })
}

fn lora(base: &str, name: &str, served: &str) -> Value {
    json!({"baseServiceId": base, "servedName": [served], "name": name,
           "modelId": "c486cdee-c316-4fc1-9f75-0d1741940f27"})
}

async fn create(c: &Client, path: &str, body: &Value) -> String {
    let r = c.alaya(Method::POST, path, Some(body)).await;
    assert_ok(&r);
    r.str("/data/serviceId").to_owned()
}

async fn invoke(c: &Client, url: &str, key: &str, body: Value) -> (StatusCode, String) {
    let r = c
        .http
        .post(format!("{url}/v1/chat/completions"))
        .header("apiKey", key)
        .json(&body)
        .send()
        .await
        .expect("the call reaches the local cloud");
    let status = r.status();
    (status, r.text().await.expect("a whole answer"))
}

#[tokio::test]
async fn expert_calls_and_their_errors() {
    let (cloud, c) = start(test_config(60)).await;
    let id = create(&c, "/deployment/expert", &json(seeds::ALAYA_EXPERT)).await;

    // Create errors: each required field, types, scale, a taken name.
    for field in [
        "vksId",
        "namespace",
        "name",
        "servedName",
        "modelId",
        "headConfig",
        "scale",
        "extensions",
    ] {
        let mut body = json(seeds::ALAYA_EXPERT);
        body.as_object_mut().map(|m| m.remove(field));
        body["name"] = json!("other");
        if field == "name" {
            body.as_object_mut().map(|m| m.remove("name"));
        }
        let r = c
            .alaya(Method::POST, "/deployment/expert", Some(&body))
            .await;
        assert_err(&r, StatusCode::BAD_REQUEST, field);
    }
    let mut body = json(seeds::ALAYA_EXPERT);
    body["headConfig"]["resource"]["gpu"]["count"] = json!("one");
    let r = c
        .alaya(Method::POST, "/deployment/expert", Some(&body))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "headConfig.resource.gpu.count");
    let mut body = json(seeds::ALAYA_EXPERT);
    body["workerConfig"]["pvcMounts"][0] = json!({"containerPath": "/x"});
    let r = c
        .alaya(Method::POST, "/deployment/expert", Some(&body))
        .await;
    assert_err(
        &r,
        StatusCode::BAD_REQUEST,
        "workerConfig.pvcMounts[0].pvcName",
    );
    let r = c
        .alaya(
            Method::POST,
            "/deployment/expert",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "already exists");
    let r = c.alaya_bytes(Method::POST, "/deployment/expert", "{").await;
    assert_err(&r, StatusCode::BAD_REQUEST, "JSON");

    // Get: the documented fields.
    let got = c.wait_alaya(&id, "running").await;
    assert_ok(&got);
    for field in [
        "serviceUrl",
        "apiKey",
        "status",
        "instance",
        "vksId",
        "namespace",
        "name",
        "servedName",
        "modelId",
        "mode",
        "expert",
        "serviceId",
    ] {
        assert!(
            got.body["data"].get(field).is_some(),
            "no {field}: {}",
            got.text
        );
    }
    let inst = &got.body["data"]["instance"][0];
    assert_eq!(inst["instanceId"], "0");
    assert_eq!(inst["baseModelReady"], true);
    assert_eq!(inst["loraModels"], json!([]));
    assert_err(
        &c.alaya(Method::GET, "/deployment/nope", None).await,
        StatusCode::NOT_FOUND,
        "nope",
    );

    // Scale errors.
    let scale = format!("/deployment/{id}/scale");
    let r = c.alaya(Method::PUT, &scale, Some(&json!({"min": 1}))).await;
    assert_err(&r, StatusCode::BAD_REQUEST, "scale is required");
    let r = c
        .alaya(Method::PUT, &scale, Some(&json!({"scale": {"min": 1}})))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "scale.max is required");
    let r = c
        .alaya(
            Method::PUT,
            &scale,
            Some(&json!({"scale": {"min": 0, "max": 0}})),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "scale.max");
    let r = c
        .alaya(
            Method::PUT,
            "/deployment/nope/scale",
            Some(&json!({"scale": {"max": 1}})),
        )
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, "nope");

    // Offline update errors.
    let update = format!("/deployment/expert/{id}");
    let r = c
        .alaya(Method::PUT, &update, Some(&json(seeds::ALAYA_EXPERT)))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "cancel it");
    let r = c
        .alaya(
            Method::PUT,
            "/deployment/expert/nope",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, "nope");
    for field in ["vksId", "namespace", "modelId"] {
        let mut body = json(seeds::ALAYA_EXPERT);
        body[field] = json!("changed");
        let r = c.alaya(Method::PUT, &update, Some(&body)).await;
        assert_err(
            &r,
            StatusCode::BAD_REQUEST,
            &format!("{field} cannot be changed"),
        );
    }

    // Cancel: stopping, then stopped; scaling a stopping deployment is refused; twice is fine.
    let cancel = format!("/deployment/{id}/cancel");
    assert_ok(&c.alaya(Method::POST, &cancel, None).await);
    let r = c
        .alaya(Method::PUT, &scale, Some(&json!({"scale": {"max": 2}})))
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "stopping");
    assert_ok(&c.alaya(Method::POST, &cancel, None).await);
    let stopped = c.wait_alaya(&id, "stopped").await;
    assert_eq!(stopped.body["data"]["instance"], json!([]));
    assert_err(
        &c.alaya(Method::POST, "/deployment/nope/cancel", None).await,
        StatusCode::NOT_FOUND,
        "nope",
    );

    // Delete: stopping, then gone; 404 after.
    assert_ok(
        &c.alaya(Method::DELETE, &format!("/deployment/{id}"), None)
            .await,
    );
    c.wait_alaya(&id, "GONE").await;
    let r = c
        .alaya(Method::DELETE, &format!("/deployment/{id}"), None)
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, &id);
    cloud.shutdown().await;
}

#[tokio::test]
async fn list_filters_and_pages_across_kinds() {
    let (cloud, c) = start(test_config(50)).await;
    let expert = create(&c, "/deployment/expert", &json(seeds::ALAYA_EXPERT)).await;
    let mut other_ns = json(seeds::ALAYA_EXPERT);
    other_ns["namespace"] = json!("team-b");
    create(&c, "/deployment/expert", &other_ns).await;
    let quick = create(&c, "/deployment", &quick_start("qs")).await;
    let lora_id = create(&c, "/deployment/lora", &lora(&quick, "l1", "adapter")).await;

    let count = |r: &Reply| r.body["data"]["count"].as_u64().unwrap_or(99);
    let all = c.alaya(Method::GET, "/deployment/list", None).await;
    assert_ok(&all);
    assert_eq!(count(&all), 4);
    assert_eq!(all.str("/data/rows/0/serviceId"), expert, "oldest first");
    for (query, n) in [
        ("model=expert", 2),
        ("model=quickStart", 1),
        ("model=lora", 1),
        ("namespace=team-b", 1),
        ("vksId=vcacb50arkk4", 4),
        ("vksId=other", 0),
        ("name=l1", 1),
        ("name=test-expert&namespace=default", 1),
    ] {
        let r = c
            .alaya(Method::GET, &format!("/deployment/list?{query}"), None)
            .await;
        assert_eq!(count(&r), n, "{query}: {}", r.text);
    }
    let r = c
        .alaya(Method::GET, "/deployment/list?model=lora", None)
        .await;
    assert_eq!(r.str("/data/rows/0/serviceId"), lora_id);
    let r = c
        .alaya(Method::GET, "/deployment/list?page=2&size=3", None)
        .await;
    assert_eq!(count(&r), 4);
    assert_eq!(r.body["data"]["rows"].as_array().map(Vec::len), Some(1));
    let r = c
        .alaya(Method::GET, "/deployment/list?page=9&size=3", None)
        .await;
    assert_eq!(r.body["data"]["rows"], json!([]));
    for bad in ["page=0", "size=0", "size=101", "page=x"] {
        let r = c
            .alaya(Method::GET, &format!("/deployment/list?{bad}"), None)
            .await;
        assert_err(
            &r,
            StatusCode::BAD_REQUEST,
            bad.split('=').next().unwrap_or(bad),
        );
    }
    cloud.shutdown().await;
}

#[tokio::test]
async fn quick_start_deployments() {
    let (cloud, c) = start(test_config(60)).await;
    let id = create(&c, "/deployment", &quick_start("qs")).await;
    let got = c.wait_alaya(&id, "running").await;
    let d = &got.body["data"];
    assert_eq!(d["mode"], "quickStart");
    assert_eq!(d["quickStart"]["backend"], "vllm");
    assert_eq!(d["quickStart"]["backendVersion"], "0.9.0.1");
    assert_eq!(d["quickStart"]["backendArgs"], json!([]));
    assert_eq!(d["quickStart"]["resource"]["gpu"]["count"], 1);
    assert_eq!(d["quickStart"]["scale"], json!({"min": 1, "max": 1}));
    assert_eq!(d["instance"].as_array().map(Vec::len), Some(1));

    for field in [
        "backend",
        "backendVersion",
        "backendArgs",
        "resource",
        "servedName",
    ] {
        let mut body = quick_start("other");
        body.as_object_mut().map(|m| m.remove(field));
        let r = c.alaya(Method::POST, "/deployment", Some(&body)).await;
        assert_err(&r, StatusCode::BAD_REQUEST, field);
    }
    let mut body = quick_start("other");
    body["resource"]["cpu"] = json!("four");
    let r = c.alaya(Method::POST, "/deployment", Some(&body)).await;
    assert_err(&r, StatusCode::BAD_REQUEST, "resource.cpu");
    // Names are unique across kinds.
    let mut body = quick_start("test-expert");
    body["servedName"] = json!(["x"]);
    create(&c, "/deployment", &body).await;
    let r = c
        .alaya(
            Method::POST,
            "/deployment/expert",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "already exists");

    // Scale applies at once; the expert offline update is refused for this kind.
    let r = c
        .alaya(
            Method::PUT,
            &format!("/deployment/{id}/scale"),
            Some(&json!({"scale": {"min": 2, "max": 3}})),
        )
        .await;
    assert_ok(&r);
    let got = c
        .alaya(Method::GET, &format!("/deployment/{id}"), None)
        .await;
    assert_eq!(got.body["data"]["quickStart"]["scale"]["max"], 3);
    assert_eq!(
        got.body["data"]["instance"].as_array().map(Vec::len),
        Some(2)
    );
    assert_ok(
        &c.alaya(Method::POST, &format!("/deployment/{id}/cancel"), None)
            .await,
    );
    c.wait_alaya(&id, "stopped").await;
    let mut body = json(seeds::ALAYA_EXPERT);
    body["name"] = json!("qs");
    let r = c
        .alaya(
            Method::PUT,
            &format!("/deployment/expert/{id}"),
            Some(&body),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "quickStart deployment");

    assert_ok(
        &c.alaya(Method::DELETE, &format!("/deployment/{id}"), None)
            .await,
    );
    c.wait_alaya(&id, "GONE").await;
    cloud.shutdown().await;
}

#[tokio::test]
async fn lora_deployments_run_on_their_base() {
    let (cloud, c) = start(test_config(60)).await;
    let base = create(&c, "/deployment/expert", &json(seeds::ALAYA_EXPERT)).await;
    let id = create(
        &c,
        "/deployment/lora",
        &lora(&base, "test-lora", "testlora"),
    )
    .await;
    let starting = c
        .alaya(Method::GET, &format!("/deployment/{id}"), None)
        .await;
    assert_eq!(starting.str("/data/status"), "starting");
    let base_view = c.wait_alaya(&base, "running").await;
    let got = c.wait_alaya(&id, "running").await;
    let d = &got.body["data"];
    assert_eq!(d["mode"], "lora");
    assert_eq!(d["baseServiceId"], json!(base));
    assert_eq!(d["servedName"], json!(["testlora"]));
    assert_eq!(d["namespace"], "default");
    assert_eq!(
        d["serviceUrl"], base_view.body["data"]["serviceUrl"],
        "invoked at its base"
    );
    assert_eq!(d["apiKey"], base_view.body["data"]["apiKey"]);
    let base_view = c
        .alaya(Method::GET, &format!("/deployment/{base}"), None)
        .await;
    assert_eq!(
        base_view.body["data"]["instance"][0]["loraModels"],
        json!(["testlora"])
    );
    // One string for servedName is taken too.
    let one = json!({"baseServiceId": base, "servedName": "single", "name": "l2", "modelId": "m"});
    let l2 = create(&c, "/deployment/lora", &one).await;

    // Create errors.
    let r = c
        .alaya(
            Method::POST,
            "/deployment/lora",
            Some(&lora("nope", "x", "y")),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "baseServiceId");
    let r = c
        .alaya(Method::POST, "/deployment/lora", Some(&lora(&id, "x", "y")))
        .await;
    assert_err(
        &r,
        StatusCode::BAD_REQUEST,
        "not an expert or quick-start deployment",
    );
    let r = c
        .alaya(
            Method::POST,
            "/deployment/lora",
            Some(&lora(&base, "x", "testvllm")),
        )
        .await;
    assert_err(
        &r,
        StatusCode::BAD_REQUEST,
        "\"testvllm\" is already served",
    );
    let r = c
        .alaya(
            Method::POST,
            "/deployment/lora",
            Some(&lora(&base, "x", "testlora")),
        )
        .await;
    assert_err(
        &r,
        StatusCode::BAD_REQUEST,
        "\"testlora\" is already served",
    );
    let r = c
        .alaya(
            Method::POST,
            "/deployment/lora",
            Some(&lora(&base, "test-lora", "z")),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "already exists");
    for field in ["baseServiceId", "modelId", "name", "servedName"] {
        let mut body = lora(&base, "x", "y");
        body.as_object_mut().map(|m| m.remove(field));
        let r = c.alaya(Method::POST, "/deployment/lora", Some(&body)).await;
        assert_err(&r, StatusCode::BAD_REQUEST, field);
    }

    // Invocation through the base's URL picks the LoRA by its served name.
    let url = d["serviceUrl"].as_str().unwrap_or("").to_owned();
    let key = d["apiKey"].as_str().unwrap_or("").to_owned();
    let ask = |model: &str| json!({"model": model, "stream": false, "messages": [{"role": "user", "content": "hi"}]});
    let (status, text) = invoke(&c, &url, &key, ask("testlora")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["model"], "testlora");
    let (status, _) = invoke(&c, &url, &key, ask("testvllm")).await;
    assert_eq!(status, StatusCode::OK, "the base's own model");
    let (status, text) = invoke(&c, &url, &key, ask("unknown")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    // The LoRA's own id serves no URL.
    let (status, _) = invoke(
        &c,
        &format!("{}/alaya-svc/{id}", c.base),
        &key,
        ask("testlora"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A LoRA deployment cannot be scaled; its base cannot go while it exists.
    let r = c
        .alaya(
            Method::PUT,
            &format!("/deployment/{id}/scale"),
            Some(&json!({"scale": {"max": 2}})),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "LoRA");
    let r = c
        .alaya(Method::DELETE, &format!("/deployment/{base}"), None)
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "LoRA deployment");

    // Offline update: only when stopped; the base cannot change; then it starts again.
    let update = format!("/deployment/lora/{id}");
    let changed = lora(&base, "updatelora", "updatelora");
    let r = c.alaya(Method::PUT, &update, Some(&changed)).await;
    assert_err(&r, StatusCode::BAD_REQUEST, "cancel it");
    assert_ok(
        &c.alaya(Method::POST, &format!("/deployment/{id}/cancel"), None)
            .await,
    );
    c.wait_alaya(&id, "stopped").await;
    let (status, text) = invoke(&c, &url, &key, ask("testlora")).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a stopped LoRA does not serve: {text}"
    );
    let other_base = create(&c, "/deployment", &quick_start("qs")).await;
    let r = c
        .alaya(Method::PUT, &update, Some(&lora(&other_base, "u", "u")))
        .await;
    assert_err(
        &r,
        StatusCode::BAD_REQUEST,
        "baseServiceId cannot be changed",
    );
    let r = c
        .alaya(
            Method::PUT,
            &format!("/deployment/lora/{base}"),
            Some(&changed),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "expert deployment");
    let r = c
        .alaya(Method::PUT, "/deployment/lora/nope", Some(&changed))
        .await;
    assert_err(&r, StatusCode::NOT_FOUND, "nope");
    assert_ok(&c.alaya(Method::PUT, &update, Some(&changed)).await);
    let got = c.wait_alaya(&id, "running").await;
    assert_eq!(got.str("/data/name"), "updatelora");
    let (status, _) = invoke(&c, &url, &key, ask("updatelora")).await;
    assert_eq!(status, StatusCode::OK);

    // The LoRA deployments go, then the base can.
    for l in [&id, &l2] {
        assert_ok(
            &c.alaya(Method::DELETE, &format!("/deployment/{l}"), None)
                .await,
        );
    }
    for l in [&id, &l2] {
        c.wait_alaya(l, "GONE").await;
    }
    assert_ok(
        &c.alaya(Method::DELETE, &format!("/deployment/{base}"), None)
            .await,
    );
    let r = c
        .alaya(
            Method::POST,
            "/deployment/lora",
            Some(&lora(&base, "late", "late")),
        )
        .await;
    assert_err(&r, StatusCode::BAD_REQUEST, "being deleted");
    c.wait_alaya(&base, "GONE").await;
    cloud.shutdown().await;
}

#[tokio::test]
async fn sibling_creates_can_fail_too() {
    let mut faults = Faults::default();
    faults.calls.insert(
        "alaya.*".into(),
        CallFaults {
            create_failure_rate: Some(1.0),
            ..CallFaults::default()
        },
    );
    let (cloud, c) = start(Config {
        faults,
        ..test_config(40)
    })
    .await;
    let quick = create(&c, "/deployment", &quick_start("qs")).await;
    let failed = c.wait_alaya(&quick, "failed").await;
    assert!(!failed.str("/data/errorMsg").is_empty());
    let l = create(&c, "/deployment/lora", &lora(&quick, "l", "l")).await;
    let failed = c.wait_alaya(&l, "failed").await;
    assert!(!failed.str("/data/errorMsg").is_empty());
    cloud.shutdown().await;
}

#[tokio::test]
async fn expert_invocation_errors() {
    let (cloud, c) = start(test_config(60)).await;
    let id = create(&c, "/deployment/expert", &json(seeds::ALAYA_EXPERT)).await;
    let starting = c
        .alaya(Method::GET, &format!("/deployment/{id}"), None)
        .await;
    let url = starting.str("/data/serviceUrl").to_owned();
    let key = starting.str("/data/apiKey").to_owned();
    let ask = json!({"messages": [{"role": "user", "content": "hi"}]});
    let (status, text) = invoke(&c, &url, &key, ask.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "starting: {text}");
    c.wait_alaya(&id, "running").await;
    let (status, _) = invoke(&c, &url, "wrong", ask.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, text) = invoke(&c, &format!("{}/alaya-svc/nope", c.base), &key, ask.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    let (status, text) = invoke(&c, &url, &key, json!({"messages": "hi"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["code"], -1);
    // `Authorization: Bearer {apiKey}`, as OpenAI clients send it, works too.
    let r = c
        .http
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&ask)
        .send()
        .await
        .expect("invoke");
    assert_eq!(r.status(), StatusCode::OK);
    cloud.shutdown().await;
}
