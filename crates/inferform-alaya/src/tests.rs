//! The provider against a small scripted fake of the Alaya API on 127.0.0.1 (not the local
//! cloud, which no provider may depend on), plus the seed body mapped both ways.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inferform_provider::shape::{to_api, Naming};
use inferform_provider::testing::{FakeServer, Recorded, Reply};
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
}

fn ok(data: Json) -> Reply {
    // The seed answers with a string code.
    Reply::json(200, json!({"code": "0", "data": data, "msg": ""}))
}

fn fail(msg: &str) -> Reply {
    Reply::json(200, json!({"code": -1, "data": null, "msg": msg}))
}

impl Cloud {
    fn handle(&mut self, r: &Recorded) -> Reply {
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
                let q = r.query().unwrap_or_default().to_string();
                let rows: Vec<Json> = self
                    .deployments
                    .iter()
                    .filter(|(_, (body, _, _))| {
                        q.contains(&format!("name={}", body["name"].as_str().unwrap_or("")))
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
                top.insert("serviceUrl".into(), json!(format!("https://svc/{id}")));
                top.insert("apiKey".into(), json!("sk-service-key-123"));
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
    let (_server, cloud, p) = setup().await;
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
    assert_eq!(state["service_url"], json!("https://svc/svc-1"));
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
    let server = FakeServer::start(|r| {
        let echo = r.header("Authorization").unwrap_or_default().to_string();
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
    let err = p
        .create(&OpContext::silent(), EXPERT_DEPLOYMENT, &seed_config())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth);
    assert_eq!(err.status, Some(401));
    assert_eq!(
        err.call.as_deref(),
        Some("POST /api/serverless-infer/v1/deployment/expert")
    );
    for text in [format!("{err}"), format!("{err:?}"), format!("{p:?}")] {
        assert!(!text.contains("AKSECRET1"), "{text}");
        assert!(!text.contains("SKSECRET2"), "{text}");
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
