//! The provider against a small scripted fake of the Alaya API on 127.0.0.1 (not the local
//! cloud, which no provider may depend on), plus the seed body mapped both ways.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inferform_provider::shape::{to_api, Naming};
use inferform_provider::testing::{FakeServer, Piece, Recorded, Reply};
use inferform_provider::{
    ClientSettings, ErrorKind, Object, OpContext, Progress, Provider, ProviderEnv, ProviderFactory,
    RetryPolicy,
};
use serde_json::{json, Value as Json};

use crate::schema::{self, EXPERT_DEPLOYMENT};
use crate::AlayaFactory;

const PREFIX: &str = "/api/serverless-infer/v1";

fn obj(v: Json) -> Object {
    match v {
        Json::Object(o) => o,
        other => panic!("not an object: {other}"),
    }
}

/// The seed's request body.
fn seed_body() -> Json {
    json!({
        "name": "test-expert", "namespace": "default", "vksId": "vcacb50arkk4",
        "servedName": ["testvllm"], "modelId": "c486cdee-c316-4fc1-9f75-0d1741940f27",
        "scale": {"max": 3, "min": 1, "rpsValue": 10, "idleTime": 60},
        "headConfig": {
            "image": "registry.cn-hangzhou.aliyuncs.com/ls-2018/test:vllm-0.8.1p",
            "cmd": ["sh", "-c", "test.sh"], "labels": {},
            "env": {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true"}, "args": ["-Xmx", "52m"],
            "resource": {"mem": 32, "cpu": 4, "gpu": {"gpuType": "nvidia.com/gpu-l40s", "count": 1}},
            "pvcMounts": [{"containerPath": "/scripts", "pvcName": "test-name"}]
        },
        "workerConfig": {
            "workers": 1, "image": "registry.cn-hangzhou.aliyuncs.com/ls-2018/test:vllm-0.8.1p",
            "cmd": ["sh", "-c", "test.sh"], "labels": {},
            "env": {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true"}, "args": [""],
            "resource": {"workers": 3, "mem": 8, "cpu": 4,
                         "gpu": {"gpuType": "nvidia.com/gpu-l40s", "count": 1}},
            "pvcMounts": [{"containerPath": "/scripts", "pvcName": "test-name"}]
        },
        "extensions": {"usage": "test"}
    })
}

/// The same deployment as a configuration writes it.
fn seed_config() -> Object {
    obj(json!({
        "name": "test-expert", "namespace": "default", "vks_id": "vcacb50arkk4",
        "served_name": ["testvllm"], "model_id": "c486cdee-c316-4fc1-9f75-0d1741940f27",
        "scale": {"max": 3, "min": 1, "rps_value": 10, "idle_time": 60},
        "head_config": {
            "image": "registry.cn-hangzhou.aliyuncs.com/ls-2018/test:vllm-0.8.1p",
            "cmd": ["sh", "-c", "test.sh"], "labels": {},
            "env": {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true"}, "args": ["-Xmx", "52m"],
            "resource": {"mem": 32, "cpu": 4, "gpu": {"gpu_type": "nvidia.com/gpu-l40s", "count": 1}},
            "pvc_mounts": [{"container_path": "/scripts", "pvc_name": "test-name"}]
        },
        "worker_config": {
            "workers": 1, "image": "registry.cn-hangzhou.aliyuncs.com/ls-2018/test:vllm-0.8.1p",
            "cmd": ["sh", "-c", "test.sh"], "labels": {},
            "env": {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true"}, "args": [""],
            "resource": {"workers": 3, "mem": 8, "cpu": 4,
                         "gpu": {"gpu_type": "nvidia.com/gpu-l40s", "count": 1}},
            "pvc_mounts": [{"container_path": "/scripts", "pvc_name": "test-name"}]
        },
        "extensions": {"usage": "test"}
    }))
}

#[test]
fn seed_body_maps_exactly() {
    let body = to_api(
        &schema::expert_deployment(),
        &seed_config(),
        Naming::Camel,
        &[],
    );
    assert_eq!(Json::Object(body), seed_body());
}

/// An in-memory Alaya: deployments that start after `polls` reads, with the misspelled
/// statuses some pages use, and settings nested under `expert` as the GET shows them.
#[derive(Default)]
struct Cloud {
    deployments: BTreeMap<String, (Object, String, u32)>,
    next: u32,
    polls: u32,
    calls: Vec<String>,
    /// The fake's own URL: services answer under `{base}/svc/{id}`.
    base: String,
    /// Chat answers hold back after their first word until this is notified.
    chat_gate: Option<Arc<tokio::sync::Notify>>,
}

const SERVICE_KEY: &str = "sk-service-key-123";

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn ok(data: Json) -> Reply {
    // The seed answers with a string code.
    Reply::json(200, json!({"code": "0", "data": data, "msg": ""}))
}

fn fail(msg: &str) -> Reply {
    Reply::json(200, json!({"code": -1, "data": null, "msg": msg}))
}

impl Cloud {
    /// A deployment's own service: `POST /svc/{id}/v1/chat/completions` with its apiKey.
    fn serve(&mut self, id: &str, r: &Recorded) -> Reply {
        self.calls.push(format!("{} /svc/{id}", r.method));
        let key = r.header("apiKey").unwrap_or_default();
        if key != SERVICE_KEY || r.header("Authorization").is_some() {
            return Reply::json(
                401,
                json!({"code": -1, "data": null, "msg": format!("wrong apiKey {key}")}),
            )
            .with_header("X-Request-Id", "req-401");
        }
        let Some((body, status, _)) = self.deployments.get(id) else {
            return Reply::json(404, json!({"code": -1, "msg": "no such service"}));
        };
        if status != "running" {
            let status = status.replace("stoped", "stopped");
            return Reply::json(
                400,
                json!({"code": -1, "data": null,
                       "msg": format!("deployment {id} is {status} and cannot serve requests now")}),
            )
            .with_header("X-Request-Id", "req-400");
        }
        let request = r.json();
        if request["model"] != body["servedName"][0] {
            return Reply::json(404, json!({"code": -1, "msg": "model not served"}));
        }
        let message = request["messages"][0]["content"]
            .as_str()
            .unwrap_or_default();
        let mut pieces = Vec::new();
        for (i, word) in format!("You said: {message}").split(' ').enumerate() {
            let text = if i == 0 {
                word.to_string()
            } else {
                format!(" {word}")
            };
            let event = json!({"object": "chat.completion.chunk",
                               "choices": [{"index": 0, "delta": {"content": text},
                                            "finish_reason": null}]});
            let event = format!("data: {event}\r\n\r\n");
            let (a, b) = event.split_at(10);
            pieces.push(Piece::data(a));
            pieces.push(Piece::data(b));
            if i == 0 {
                if let Some(gate) = &self.chat_gate {
                    pieces.push(Piece::Wait(gate.clone()));
                }
            }
        }
        pieces.push(Piece::data("data: [DONE]\r\n\r\n"));
        Reply::event_stream(pieces)
    }

    fn handle(&mut self, r: &Recorded) -> Reply {
        if let Some(rest) = r.path().strip_prefix("/svc/") {
            if let Some(id) = rest.strip_suffix("/v1/chat/completions") {
                let id = id.to_string();
                return self.serve(&id, r);
            }
        }
        if r.header("Authorization")
            != Some("plain Credential=local-alaya-ak,Signature=local-alaya-sk")
        {
            return Reply::json(401, json!({"code": -1, "msg": "bad credential"}));
        }
        let path = r
            .path()
            .strip_prefix(PREFIX)
            .unwrap_or_default()
            .to_string();
        self.calls.push(format!("{} {path}", r.method));
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (r.method.as_str(), parts.as_slice()) {
            ("POST", ["deployment", "expert"]) => {
                self.next += 1;
                let id = format!("svc-{}", self.next);
                self.deployments
                    .insert(id.clone(), (obj(r.json()), "staring".into(), 0));
                ok(json!({"serviceId": id}))
            }
            ("GET", ["deployment", "list"]) => {
                let q: BTreeMap<String, String> = r
                    .query()
                    .unwrap_or_default()
                    .split('&')
                    .filter_map(|p| p.split_once('='))
                    .map(|(k, v)| (decode(k), decode(v)))
                    .collect();
                if q.get("model").map(String::as_str) != Some("expert") {
                    return Reply::json(400, json!({"code": -1, "msg": "model must be expert"}));
                }
                let rows: Vec<Json> = self
                    .deployments
                    .iter()
                    .filter(|(_, (body, _, _))| {
                        ["name", "vksId", "namespace"]
                            .iter()
                            .all(|k| q.get(*k).is_none_or(|v| body[*k] == json!(v)))
                    })
                    .map(|(id, (body, status, _))| {
                        json!({"serviceId": id, "name": body["name"], "vksId": body["vksId"],
                               "namespace": body["namespace"], "status": status})
                    })
                    .collect();
                Reply::json(
                    200,
                    json!({"code": 0, "data": {"count": rows.len(), "rows": rows}}),
                )
            }
            ("GET", ["deployment", id]) => {
                let polls = self.polls;
                let Some((body, status, reads)) = self.deployments.get_mut(*id) else {
                    return Reply::json(404, json!({"code": -1, "msg": "deployment not found"}));
                };
                *reads += 1;
                if *reads > polls {
                    let next = match status.as_str() {
                        "staring" => Some("running"),
                        "stoping" => Some("stoped"),
                        "deleting" => None,
                        s => Some(s),
                    };
                    match next {
                        Some(n) => *status = n.to_string(),
                        None => {
                            self.deployments.remove(*id);
                            return Reply::json(404, json!({"code": -1, "msg": "not found"}));
                        }
                    }
                }
                let mut expert = body.clone();
                let mut top = Object::new();
                for k in ["vksId", "namespace", "name", "servedName", "modelId"] {
                    if let Some(v) = expert.remove(k) {
                        top.insert(k.into(), v);
                    }
                }
                top.insert("serviceId".into(), json!(id));
                top.insert(
                    "serviceUrl".into(),
                    json!(format!("{}/svc/{id}", self.base)),
                );
                top.insert("apiKey".into(), json!(SERVICE_KEY));
                top.insert("status".into(), json!(status));
                top.insert("mode".into(), json!("expert"));
                top.insert("instance".into(), json!([]));
                top.insert("expert".into(), Json::Object(expert));
                ok(Json::Object(top))
            }
            ("PUT", ["deployment", id, "scale"]) => {
                let Some((body, _, _)) = self.deployments.get_mut(*id) else {
                    return fail("not found");
                };
                body.insert("scale".into(), r.json()["scale"].clone());
                ok(json!(null))
            }
            ("POST", ["deployment", id, "cancel"]) => {
                let Some((_, status, reads)) = self.deployments.get_mut(*id) else {
                    return fail("not found");
                };
                *status = "stoping".into();
                *reads = 0;
                ok(json!(null))
            }
            ("PUT", ["deployment", "expert", id]) => {
                let Some((body, status, reads)) = self.deployments.get_mut(*id) else {
                    return fail("not found");
                };
                if status != "stoped" {
                    return fail("the service must be stopped first");
                }
                *body = obj(r.json());
                *status = "staring".into();
                *reads = 0;
                ok(json!(null))
            }
            ("DELETE", ["deployment", id]) => {
                let Some((_, status, reads)) = self.deployments.get_mut(*id) else {
                    return Reply::json(404, json!({"code": -1, "msg": "not found"}));
                };
                *status = "deleting".into();
                *reads = 0;
                ok(json!(null))
            }
            _ => Reply::json(404, json!({"code": -1, "msg": "no route"})),
        }
    }
}

fn settings() -> ClientSettings {
    ClientSettings {
        max_requests_per_second: None,
        retry: RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        },
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
    }
}

async fn setup() -> (FakeServer, Arc<Mutex<Cloud>>, Arc<dyn Provider>) {
    let cloud = Arc::new(Mutex::new(Cloud {
        polls: 1,
        ..Cloud::default()
    }));
    let handler = cloud.clone();
    let server = FakeServer::start(move |r| handler.lock().unwrap().handle(r)).await;
    cloud.lock().unwrap().base = server.url();
    let config = obj(json!({
        "endpoint": server.url(), "access_key": "local-alaya-ak",
        "secret_key": "local-alaya-sk", "max_requests_per_second": 500
    }));
    let p = AlayaFactory {
        client_settings: Some(settings()),
    }
    .configure(&config, &ProviderEnv::default())
    .unwrap();
    (server, cloud, p)
}

/// Every value the configuration sets is in the state; what it leaves out is null there.
fn assert_has_config(config: &Object, state: &Object, path: &str) {
    for (k, v) in config {
        match (v, state.get(k)) {
            (Json::Object(inner), Some(Json::Object(got))) => {
                assert_has_config(inner, got, &format!("{path}{k}."))
            }
            (v, got) => assert_eq!(got, Some(v), "{path}{k}"),
        }
    }
}

fn calls(cloud: &Mutex<Cloud>) -> Vec<String> {
    std::mem::take(&mut cloud.lock().unwrap().calls)
}

#[tokio::test]
async fn lifecycle_with_online_and_offline_updates() {
    let (server, cloud, p) = setup().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let ctx = OpContext {
        progress: Arc::new(move |pr| {
            let Progress::Status(s) = pr;
            sink.lock().unwrap().push(s);
        }),
        timeout: Some(Duration::from_secs(30)),
    };

    let config = seed_config();
    let state = p.create(&ctx, EXPERT_DEPLOYMENT, &config).await.unwrap();
    for (k, v) in &config {
        assert_eq!(state.get(k), Some(v), "{k}");
    }
    assert_eq!(state["id"], json!("svc-1"));
    assert_eq!(state["status"], json!("running"));
    assert_eq!(state["api_key"], json!("sk-service-key-123"));
    assert_eq!(
        state["service_url"],
        json!(format!("{}/svc/svc-1", server.url()))
    );
    assert_eq!(*seen.lock().unwrap(), ["starting", "running"]);

    let read = p
        .read(&ctx, EXPERT_DEPLOYMENT, &state)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, state);
    let found = p
        .find(&ctx, EXPERT_DEPLOYMENT, &config)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, state);
    calls(&cloud);

    // Scale only: online.
    let mut planned = state.clone();
    planned["scale"]["max"] = json!(5);
    planned["scale"]["min"] = json!(0);
    let updated = p
        .update(&ctx, EXPERT_DEPLOYMENT, &state, &planned)
        .await
        .unwrap();
    assert_eq!(updated["scale"]["max"], json!(5));
    assert_eq!(updated["scale"]["min"], json!(0));
    let made = calls(&cloud);
    assert!(
        made.contains(&"PUT /deployment/svc-1/scale".to_string()),
        "{made:?}"
    );
    assert!(!made.iter().any(|c| c.contains("cancel")), "{made:?}");

    // Anything else: offline, cancel first.
    let mut planned2 = updated.clone();
    planned2["head_config"]["image"] = json!("registry/new:1");
    planned2["served_name"] = json!(["a", "b"]);
    let updated2 = p
        .update(&ctx, EXPERT_DEPLOYMENT, &updated, &planned2)
        .await
        .unwrap();
    assert_eq!(updated2["head_config"]["image"], json!("registry/new:1"));
    assert_eq!(updated2["served_name"], json!(["a", "b"]));
    assert_eq!(updated2["status"], json!("running"));
    let made = calls(&cloud);
    let cancel = made
        .iter()
        .position(|c| c == "POST /deployment/svc-1/cancel");
    let put = made
        .iter()
        .position(|c| c == "PUT /deployment/expert/svc-1");
    assert!(
        cancel.is_some() && put.is_some() && cancel < put,
        "{made:?}"
    );

    p.delete(&ctx, EXPERT_DEPLOYMENT, &updated2).await.unwrap();
    assert!(p
        .read(&ctx, EXPERT_DEPLOYMENT, &updated2)
        .await
        .unwrap()
        .is_none());
    p.delete(&ctx, EXPERT_DEPLOYMENT, &updated2).await.unwrap();
    assert!(p
        .find(&ctx, EXPERT_DEPLOYMENT, &config)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn minimal_config_reads_back_without_diffs() {
    let (_server, _cloud, p) = setup().await;
    let ctx = OpContext::silent();
    let config = obj(json!({
        "name": "m", "namespace": "default", "vks_id": "v", "served_name": ["m"],
        "model_id": "mid", "head_config": {"image": "img"}, "scale": {"min": 0, "max": 1}
    }));
    let state = p.create(&ctx, EXPERT_DEPLOYMENT, &config).await.unwrap();
    assert_has_config(&config, &state, "");
    assert_eq!(state["head_config"]["cmd"], Json::Null);
    assert_eq!(state["head_config"]["pvc_mounts"], Json::Null);
    // Left out, and answered with nothing or an empty object: still nothing.
    assert_eq!(state["worker_config"], Json::Null);
    assert_eq!(state["extensions"], Json::Null);
    let read = p
        .read(&ctx, EXPERT_DEPLOYMENT, &state)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, state);
}

#[tokio::test]
async fn credentials_never_reach_errors_or_debug() {
    // A hostile server that echoes whatever credential or key it was sent.
    let server = FakeServer::start(|r| {
        let echo = format!(
            "{} {}",
            r.header("Authorization").unwrap_or_default(),
            r.header("apiKey").unwrap_or_default()
        );
        Reply::json(401, json!({"code": -1, "msg": format!("rejected {echo}")}))
    })
    .await;
    let config = obj(json!({
        "endpoint": server.url(), "access_key": "AKSECRET1", "secret_key": "SKSECRET2"
    }));
    let p = AlayaFactory {
        client_settings: Some(settings()),
    }
    .build(&config, &ProviderEnv::default())
    .unwrap();
    let ctx = OpContext::silent();
    let err = p
        .create(&ctx, EXPERT_DEPLOYMENT, &seed_config())
        .await
        .unwrap_err();
    assert_eq!(err.status, Some(401));
    assert_eq!(
        err.call.as_deref(),
        Some("POST /api/serverless-infer/v1/deployment/expert")
    );
    let state = obj(json!({
        "id": "svc-1", "service_url": format!("{}/svc/svc-1", server.url()),
        "api_key": "APIKEYSECRET3", "served_name": ["m"]
    }));
    let errors = [
        err,
        p.import(&ctx, EXPERT_DEPLOYMENT, "svc-1")
            .await
            .unwrap_err(),
        p.read_data(&ctx, EXPERT_DEPLOYMENT, &obj(json!({"name": "m"})))
            .await
            .unwrap_err(),
        p.invoke(&ctx, EXPERT_DEPLOYMENT, &state, "hi", &|_: &str| {})
            .await
            .unwrap_err(),
    ];
    // The service got its key and nothing else; the API never got the key.
    for r in server.requests() {
        if r.path().starts_with("/svc/") {
            assert_eq!(r.header("Authorization"), None);
            assert_eq!(r.header("apiKey"), Some("APIKEYSECRET3"));
        } else {
            assert_eq!(r.header("apiKey"), None);
        }
    }
    for err in &errors {
        assert_eq!(err.kind, ErrorKind::Auth, "{err}");
        assert!(err.message.starts_with("rejected"), "{err}");
        for text in [format!("{err}"), format!("{err:?}"), format!("{p:?}")] {
            for secret in ["AKSECRET1", "SKSECRET2", "APIKEYSECRET3"] {
                assert!(!text.contains(secret), "{secret} leaked: {text}");
            }
        }
    }
}

#[test]
fn configure_needs_credentials() {
    let f = AlayaFactory::default();
    let err = f
        .configure(&Object::new(), &ProviderEnv::default())
        .err()
        .unwrap();
    assert_eq!(err.attribute.as_deref(), Some("access_key"));
    assert_eq!(err.message, "provider \"alaya\" has no credentials");
    assert_eq!(
        err.help.as_deref(),
        Some("set access_key and secret_key in the provider block, or ALAYA_ACCESS_KEY and ALAYA_SECRET_KEY in the environment")
    );
    let mut env = ProviderEnv::default();
    env.vars.insert("ALAYA_ACCESS_KEY".into(), "a".into());
    env.vars.insert("ALAYA_SECRET_KEY".into(), "b".into());
    let p = f.build(&Object::new(), &env).unwrap();
    assert!(format!("{p:?}").contains("https://api.alayanew.com/"));
    let err = f
        .configure(&obj(json!({"endpoint": "api.alayanew.com"})), &env)
        .err()
        .unwrap();
    assert_eq!(err.attribute.as_deref(), Some("endpoint"));
}

/// The seed configuration writes `labels = {}`; with no configuration to go by, an import
/// reads the cloud's `{}` as a configuration that leaves labels out: null.
fn without_empty_labels(state: &Object) -> Object {
    let mut state = state.clone();
    for block in ["head_config", "worker_config"] {
        assert_eq!(state[block]["labels"], json!({}));
        state[block]["labels"] = Json::Null;
    }
    state
}

/// A deployment made by someone else, straight into the fake: `(id, body)`.
fn plant(cloud: &Mutex<Cloud>, name: &str, vks: &str, ns: &str, status: &str) -> String {
    let mut cloud = cloud.lock().unwrap();
    cloud.next += 1;
    let id = format!("svc-{}", cloud.next);
    let body = obj(json!({
        "name": name, "namespace": ns, "vksId": vks, "servedName": ["m"], "modelId": "mid",
        "scale": {"min": 0, "max": 1, "rpsValue": 5, "idleTime": 300},
        "headConfig": {"image": "img", "cmd": [], "args": [], "labels": {}, "env": {},
                       "pvcMounts": []},
        "workerConfig": {}, "extensions": {}
    }));
    cloud
        .deployments
        .insert(id.clone(), (body, status.to_string(), 0));
    id
}

#[tokio::test]
async fn import_reads_the_state_create_and_read_give() {
    let (server, cloud, p) = setup().await;
    let ctx = OpContext::silent();
    let state = p
        .create(&ctx, EXPERT_DEPLOYMENT, &seed_config())
        .await
        .unwrap();
    let imported = p
        .import(&ctx, EXPERT_DEPLOYMENT, "svc-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(imported, without_empty_labels(&state));
    assert_eq!(
        p.read(&ctx, EXPERT_DEPLOYMENT, &imported)
            .await
            .unwrap()
            .unwrap(),
        imported
    );

    // Made elsewhere, with the cloud's empty values: read as a configuration leaving them out.
    let id = plant(&cloud, "other", "v1", "default", "running");
    let imported = p
        .import(&ctx, EXPERT_DEPLOYMENT, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Json::Object(imported.clone()),
        json!({
            "id": id, "name": "other", "namespace": "default", "vks_id": "v1",
            "served_name": ["m"], "model_id": "mid", "status": "running",
            "service_url": format!("{}/svc/{id}", server.url()), "api_key": SERVICE_KEY,
            "scale": {"min": 0, "max": 1, "rps_value": 5, "idle_time": 300},
            "head_config": {"image": "img", "cmd": null, "args": null, "labels": null,
                            "env": null, "pvc_mounts": null, "resource": null},
            "worker_config": null, "extensions": null
        })
    );
    assert_eq!(
        p.read(&ctx, EXPERT_DEPLOYMENT, &imported)
            .await
            .unwrap()
            .unwrap(),
        imported
    );
}

#[tokio::test]
async fn import_ids_are_service_ids() {
    let (server, _cloud, p) = setup().await;
    let ctx = OpContext::silent();
    for bad in ["", "svc-1/x", "ns/svc-1"] {
        let err = p.import(&ctx, EXPERT_DEPLOYMENT, bad).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert_eq!(
            err.message,
            format!("`{bad}` is not an import id of alaya_expert_deployment: expected SERVICE_ID")
        );
    }
    assert!(server.requests().is_empty());
    // Well formed, but nothing has it.
    assert_eq!(
        p.import(&ctx, EXPERT_DEPLOYMENT, "svc-404").await.unwrap(),
        None
    );
    assert!(p.import(&ctx, "alaya_nope", "svc-1").await.is_err());
}

#[tokio::test]
async fn the_data_source_finds_one_by_name() {
    let (server, cloud, p) = setup().await;
    let ctx = OpContext::silent();
    let state = p
        .create(&ctx, EXPERT_DEPLOYMENT, &seed_config())
        .await
        .unwrap();
    plant(&cloud, "elsewhere", "v1", "default", "running");
    let got = p
        .read_data(
            &ctx,
            EXPERT_DEPLOYMENT,
            &obj(json!({"name": "test-expert"})),
        )
        .await
        .unwrap();
    let state = without_empty_labels(&state);
    assert_eq!(got, state);
    let got = p
        .read_data(
            &ctx,
            EXPERT_DEPLOYMENT,
            &obj(json!({"name": "test-expert", "vks_id": "vcacb50arkk4",
                        "namespace": "default"})),
        )
        .await
        .unwrap();
    assert_eq!(got, state);
    let list = server
        .requests()
        .into_iter()
        .rfind(|r| r.path().ends_with("/deployment/list"))
        .unwrap();
    let query = list.query().unwrap_or_default().to_string();
    for part in [
        "vksId=vcacb50arkk4",
        "namespace=default",
        "name=test-expert",
        "model=expert",
    ] {
        assert!(query.contains(part), "{part} not in {query}");
    }
}

#[tokio::test]
async fn the_data_source_says_what_it_did_not_find() {
    let (_server, cloud, p) = setup().await;
    let ctx = OpContext::silent();
    plant(&cloud, "m", "v1", "default", "running");
    let cases = [
        (json!({"name": "nope"}), "named \"nope\""),
        (
            json!({"name": "m", "vks_id": "v2"}),
            "named \"m\" in VKS cluster v2",
        ),
        (
            json!({"name": "m", "namespace": "prod"}),
            "named \"m\" in namespace prod",
        ),
        (
            json!({"name": "m", "vks_id": "v1", "namespace": "prod"}),
            "named \"m\" in VKS cluster v1, namespace prod",
        ),
    ];
    for (args, searched) in cases {
        let err = p
            .read_data(&ctx, EXPERT_DEPLOYMENT, &obj(args))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert_eq!(
            err.message,
            format!("no alaya_expert_deployment {searched} was found")
        );
    }
    let err = p
        .read_data(&ctx, EXPERT_DEPLOYMENT, &Object::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "data source alaya_expert_deployment needs name"
    );
}

#[tokio::test]
async fn the_data_source_refuses_to_choose_between_several() {
    let (_server, cloud, p) = setup().await;
    let ctx = OpContext::silent();
    let a = plant(&cloud, "m", "v1", "default", "running");
    let b = plant(&cloud, "m", "v1", "prod", "running");
    let err = p
        .read_data(&ctx, EXPERT_DEPLOYMENT, &obj(json!({"name": "m"})))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        format!(
            "2 objects of type alaya_expert_deployment named \"m\" were found \
             ({a} (v1/default), {b} (v1/prod)); set vks_id and namespace to choose one"
        )
    );
    let got = p
        .read_data(
            &ctx,
            EXPERT_DEPLOYMENT,
            &obj(json!({"name": "m", "namespace": "prod"})),
        )
        .await
        .unwrap();
    assert_eq!(got["id"], json!(b));
}

#[tokio::test]
async fn invoke_streams_the_answer_with_the_service_key() {
    let (server, cloud, p) = setup().await;
    let gate = Arc::new(tokio::sync::Notify::new());
    cloud.lock().unwrap().chat_gate = Some(gate.clone());
    let ctx = OpContext::silent();
    let state = p
        .create(&ctx, EXPERT_DEPLOYMENT, &seed_config())
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    let on_text = move |t: &str| {
        sink.lock().unwrap().push(t.to_string());
        gate.notify_one();
    };
    // The server sends the rest only once the first word got here.
    tokio::time::timeout(
        Duration::from_secs(10),
        p.invoke(&ctx, EXPERT_DEPLOYMENT, &state, "hello there", &on_text),
    )
    .await
    .expect("the first word arrived before the whole answer")
    .unwrap();
    assert_eq!(
        std::mem::take(&mut *seen.lock().unwrap()),
        ["You", " said:", " hello", " there"]
    );
    let chat = server
        .requests()
        .into_iter()
        .find(|r| r.path() == "/svc/svc-1/v1/chat/completions")
        .unwrap();
    assert_eq!(chat.header("apiKey"), Some(SERVICE_KEY));
    // The account's credential never goes to the service.
    assert_eq!(chat.header("Authorization"), None);
    assert_eq!(
        chat.json(),
        json!({"messages": [{"role": "user", "content": "hello there"}], "stream": true,
               "model": "testvllm"})
    );

    // With only the id in hand, the service's URL and key are read from the cloud.
    p.invoke(
        &ctx,
        EXPERT_DEPLOYMENT,
        &obj(json!({"id": "svc-1"})),
        "hi",
        &on_text,
    )
    .await
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["You", " said:", " hi"]);
}

#[tokio::test]
async fn invoke_of_a_stopped_deployment_says_so() {
    let (_server, cloud, p) = setup().await;
    let ctx = OpContext::silent();
    let id = plant(&cloud, "m", "v1", "default", "stoped");
    let state = p
        .import(&ctx, EXPERT_DEPLOYMENT, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state["status"], json!("stopped"));
    let err = p
        .invoke(&ctx, EXPERT_DEPLOYMENT, &state, "hi", &|t: &str| {
            panic!("no text expected, got {t}")
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Api);
    assert_eq!(
        err.to_string(),
        format!(
            "POST /svc/{id}/v1/chat/completions returned 400: -1: deployment {id} is stopped \
             and cannot serve requests now (request id req-400)"
        )
    );
}

#[tokio::test]
async fn invoke_with_a_wrong_key_is_an_auth_error_that_hides_the_key() {
    let (_server, cloud, p) = setup().await;
    let ctx = OpContext::silent();
    let id = plant(&cloud, "m", "v1", "default", "running");
    let mut state = p
        .import(&ctx, EXPERT_DEPLOYMENT, &id)
        .await
        .unwrap()
        .unwrap();
    state.insert("api_key".into(), json!("sk-stale-key-456"));
    let err = p
        .invoke(&ctx, EXPERT_DEPLOYMENT, &state, "hi", &|_: &str| {})
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth);
    assert_eq!(
        err.to_string(),
        format!(
            "POST /svc/{id}/v1/chat/completions returned 401: -1: wrong apiKey (redacted) \
             (request id req-401)"
        )
    );
    assert!(!format!("{err:?}").contains("sk-stale-key-456"));
}

#[tokio::test]
async fn the_operation_timeout_bounds_each_call() {
    let server = FakeServer::start(|_| Reply::Stall(Duration::from_secs(20))).await;
    let p = AlayaFactory {
        client_settings: Some(settings()),
    }
    .configure(
        &obj(json!({"endpoint": server.url(), "access_key": "a", "secret_key": "b"})),
        &ProviderEnv::default(),
    )
    .unwrap();
    let ctx = OpContext {
        timeout: Some(Duration::from_millis(300)),
        ..OpContext::silent()
    };
    let start = std::time::Instant::now();
    let err = p
        .read(&ctx, EXPERT_DEPLOYMENT, &obj(json!({"id": "svc-1"})))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

/// A success that cannot be understood (another shape inside the envelope, no data, a
/// proxy's page) is an error for reads, look-ups and data sources alike, never "not found":
/// "not found" makes a plan re-create a healthy deployment, or adoption create a duplicate.
#[tokio::test]
async fn answers_that_cannot_be_understood_are_errors_not_absences() {
    let provider = |reply: fn() -> Reply| async move {
        let server = FakeServer::start(move |_| reply()).await;
        let p = AlayaFactory {
            client_settings: Some(settings()),
        }
        .configure(
            &obj(json!({"endpoint": server.url(), "access_key": "a", "secret_key": "b"})),
            &ProviderEnv::default(),
        )
        .unwrap();
        (server, p)
    };
    let ctx = OpContext::silent();
    let state = obj(json!({"id": "svc-1"}));
    let data_config = obj(json!({"name": "test-expert", "vks_id": "v", "namespace": "n"}));
    for reply in [
        (|| ok(json!({"unexpected": "shape"}))) as fn() -> Reply,
        || ok(Json::Null),
        || ok(json!({"rows": "none", "serviceId": "svc-2"})),
        || Reply::json(200, json!({"unexpected": "shape"})),
        || Reply::json(404, json!([])),
    ] {
        let (_server, p) = provider(reply).await;
        let err = p.read(&ctx, EXPERT_DEPLOYMENT, &state).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Api, "{err}");
        let err = p
            .find(&ctx, EXPERT_DEPLOYMENT, &seed_config())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Api, "{err}");
        let err = p
            .read_data(&ctx, EXPERT_DEPLOYMENT, &data_config)
            .await
            .unwrap_err();
        assert!(
            !err.to_string().contains("no alaya_expert_deployment"),
            "{err}"
        );
    }
    // An empty page that says so is an empty page.
    let (_server, p) = provider(|| ok(json!({"count": 0}))).await;
    assert!(p
        .find(&ctx, EXPERT_DEPLOYMENT, &seed_config())
        .await
        .unwrap()
        .is_none());
}
