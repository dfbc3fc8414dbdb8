//! The provider against a small scripted fake of the Fabric API on 127.0.0.1 (not the local
//! cloud, which no provider may depend on), plus the seed bodies mapped both ways.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inferform_provider::shape::{from_api, to_api, Naming};
use inferform_provider::testing::{FakeServer, Piece, Recorded, Reply};
use inferform_provider::{
    ClientSettings, ErrorKind, Object, OpContext, Progress, Provider, ProviderEnv, ProviderFactory,
    RetryPolicy,
};
use serde_json::{json, Value as Json};

use crate::{schema, signer, FabricFactory};

fn obj(v: Json) -> Object {
    match v {
        Json::Object(o) => o,
        other => panic!("not an object: {other}"),
    }
}

/// An in-memory Fabric: collections by path, endpoints and instances that turn RUNNING after
/// `polls_to_run` reads, deletes that take one read to finish.
#[derive(Default)]
struct Cloud {
    collections: BTreeMap<String, Vec<Object>>,
    reads: BTreeMap<String, u32>,
    next_id: u32,
    polls_to_run: u32,
    /// Answer the next N creates with a 500 after storing the object.
    fail_creates_after_storing: u32,
    /// Endpoints reach this status instead of RUNNING.
    endpoint_final_status: Option<String>,
    /// Invocations hold their answer back after the first word until this is notified.
    invocation_gate: Option<Arc<tokio::sync::Notify>>,
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

impl Cloud {
    fn handle(&mut self, r: &Recorded) -> Reply {
        let path = r.path().trim_end_matches('/').to_string();
        let query: BTreeMap<String, String> = r
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect();
        if path.ends_with("/versions") {
            let model_path = path.trim_end_matches("/versions");
            let (coll, id) = model_path.rsplit_once('/').unwrap();
            let Some(model) = self.find(coll, id) else {
                return Reply::json(404, json!({"error_code": "x.404", "error_msg": "no model"}));
            };
            let version = model["_version"].clone();
            return Reply::json(200, json!({"total": 1, "versions": [version]}));
        }
        if let Some(instance) = path.strip_suffix("/invocations") {
            return self.invoke(instance, r);
        }
        let is_collection = [
            "/v1/workspaces",
            "/endpoints",
            "/models",
            "/services/instances",
        ]
        .iter()
        .any(|end| path.ends_with(end));
        match (r.method.as_str(), is_collection) {
            ("POST", true) => {
                let mut body = obj(r.json());
                self.next_id += 1;
                let id = format!("id{:04}", self.next_id);
                body.insert("id".into(), json!(id));
                body.insert("create_time".into(), json!("2026-11-22T01:02:03Z"));
                let kind = path.rsplit('/').next().unwrap_or_default().to_string();
                match kind.as_str() {
                    "endpoints" | "instances" => {
                        body.insert("status".into(), json!("CREATING"));
                    }
                    "models" => {
                        // The list shows no version: it lives under /versions.
                        let mut version = body.remove("version").unwrap_or(json!({}));
                        version["id"] = json!(format!("v-{id}"));
                        body.insert("version_id".into(), json!(format!("v-{id}")));
                        body.insert("_version".into(), version);
                    }
                    "workspaces" => {
                        body.entry("enterprise_project_id").or_insert(json!("0"));
                        body.entry("metastore_id").or_insert(json!("ms-default"));
                    }
                    _ => {}
                }
                if kind == "instances" {
                    // The cloud fills in the version and resource defaults.
                    body["source"]["version_id"] = json!("v-default");
                }
                self.collections
                    .entry(path.clone())
                    .or_default()
                    .push(body.clone());
                if self.fail_creates_after_storing > 0 {
                    self.fail_creates_after_storing -= 1;
                    return Reply::json(500, json!({"error_code": "x.500", "error_msg": "oops"}));
                }
                body.remove("_version");
                Reply::json(200, Json::Object(body))
            }
            ("GET", true) => {
                let items: Vec<Json> = self
                    .collections
                    .get(&path)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|o| {
                        query.get("id").is_none_or(|id| o["id"] == json!(id))
                            && query.get("name").is_none_or(|n| o["name"] == json!(n))
                    })
                    .map(|mut o| {
                        o.remove("_version");
                        Json::Object(o)
                    })
                    .collect();
                let key = path.rsplit('/').next().unwrap_or_default();
                Reply::json(200, json!({"total": items.len(), key: items}))
            }
            (method, false) => {
                let (coll, id) = path.rsplit_once('/').unwrap();
                let (coll, id) = (coll.to_string(), id.to_string());
                let Some(current) = self.find(&coll, &id) else {
                    return Reply::json(
                        404,
                        json!({"error_code": "dataartsfabric.404", "error_msg": "not found"}),
                    );
                };
                match method {
                    "GET" => {
                        let reads = self.reads.entry(id.clone()).or_default();
                        *reads += 1;
                        let reads = *reads;
                        let mut current = current;
                        let status = current["status"].as_str().unwrap_or_default().to_string();
                        if (status == "CREATING" || status == "UPDATING")
                            && reads > self.polls_to_run
                        {
                            let done = if coll.ends_with("/endpoints") {
                                self.endpoint_final_status.clone()
                            } else {
                                None
                            };
                            current.insert(
                                "status".into(),
                                json!(done.clone().unwrap_or("RUNNING".into())),
                            );
                            if done.is_some() {
                                current.insert("error_code".into(), json!("dataartsfabric.0042"));
                                current.insert("error_msg".into(), json!("no capacity"));
                            }
                            self.replace(&coll, current.clone());
                        }
                        if status == "DELETING" {
                            self.remove(&coll, &id);
                        }
                        current.remove("_version");
                        Reply::json(200, Json::Object(current))
                    }
                    "PUT" => {
                        let mut current = current;
                        for (k, v) in obj(r.json()) {
                            if k == "version" {
                                current.insert("_version".into(), v);
                            } else {
                                current.insert(k, v);
                            }
                        }
                        if current.contains_key("status") {
                            current.insert("status".into(), json!("UPDATING"));
                            self.reads.insert(id.clone(), 0);
                        }
                        self.replace(&coll, current);
                        Reply::json(202, json!({}))
                    }
                    "DELETE" => {
                        if coll.ends_with("/endpoints") || coll.ends_with("/instances") {
                            let mut current = current;
                            current.insert("status".into(), json!("DELETING"));
                            self.replace(&coll, current);
                            Reply::json(202, json!({}))
                        } else {
                            self.remove(&coll, &id);
                            Reply::json(204, json!(null))
                        }
                    }
                    _ => Reply::json(405, json!({})),
                }
            }
            _ => Reply::json(405, json!({})),
        }
    }

    /// Answers `You said: {message}` a word per event, each event sent in two pieces, while
    /// the instance runs.
    fn invoke(&self, instance: &str, r: &Recorded) -> Reply {
        let Some((coll, id)) = instance.rsplit_once('/') else {
            return Reply::json(404, json!({}));
        };
        let Some(inst) = self.find(coll, id) else {
            return Reply::json(
                404,
                json!({"error_code": "dataartsfabric.00040404", "error_msg": "no such instance"}),
            );
        };
        let status = inst["status"].as_str().unwrap_or_default().to_string();
        if status != "RUNNING" {
            return Reply::json(
                400,
                json!({"error_code": "dataartsfabric.00040003",
                       "error_msg": format!("service instance {id} is {status} and cannot be invoked now")}),
            )
            .with_header("X-Request-Id", "req-inv");
        }
        let body = r.json();
        let message = body["messages"][0]["content"].as_str().unwrap_or_default();
        let mut pieces = Vec::new();
        for (i, word) in format!("You said: {message}").split(' ').enumerate() {
            let text = if i == 0 {
                word.to_string()
            } else {
                format!(" {word}")
            };
            let event = json!({"object": "chat.completion.chunk", "model": id,
                               "choices": [{"index": 0, "delta": {"content": text},
                                            "finish_reason": null}]});
            let event = format!("data: {event}\n\n");
            let (a, b) = event.split_at(event.len() / 2);
            pieces.push(Piece::data(a));
            pieces.push(Piece::data(b));
            if i == 0 {
                if let Some(gate) = &self.invocation_gate {
                    pieces.push(Piece::Wait(gate.clone()));
                }
            }
        }
        pieces.push(Piece::data("data: [DONE]\n\n"));
        Reply::event_stream(pieces)
    }

    fn find(&self, coll: &str, id: &str) -> Option<Object> {
        self.collections
            .get(coll)?
            .iter()
            .find(|o| o["id"] == json!(id))
            .cloned()
    }

    fn replace(&mut self, coll: &str, item: Object) {
        if let Some(items) = self.collections.get_mut(coll) {
            for slot in items.iter_mut() {
                if slot["id"] == item["id"] {
                    *slot = item.clone();
                }
            }
        }
    }

    fn remove(&mut self, coll: &str, id: &str) {
        if let Some(items) = self.collections.get_mut(coll) {
            items.retain(|o| o["id"] != json!(id));
        }
    }
}

async fn fake(cloud: Cloud) -> (FakeServer, Arc<Mutex<Cloud>>) {
    let cloud = Arc::new(Mutex::new(cloud));
    let handler = cloud.clone();
    let server = FakeServer::start(move |r| handler.lock().unwrap().handle(r)).await;
    (server, cloud)
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

fn provider(url: &str) -> Arc<dyn Provider> {
    let factory = FabricFactory {
        client_settings: Some(settings()),
    };
    let config = obj(json!({
        "endpoint": url,
        "access_key": "local-ak",
        "secret_key": "local-sk",
        "project_id": "0a1b2c",
        "max_requests_per_second": 1000
    }));
    factory
        .configure(&config, &ProviderEnv::default())
        .expect("configure")
}

fn recording() -> (OpContext, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let ctx = OpContext {
        progress: Arc::new(move |p| {
            let Progress::Status(s) = p;
            sink.lock().unwrap().push(s);
        }),
        timeout: Some(Duration::from_secs(30)),
    };
    (ctx, seen)
}

/// Every attribute the configuration set reads back the same.
fn assert_matches_config(config: &Object, state: &Object) {
    for (k, v) in config {
        assert_eq!(state.get(k), Some(v), "attribute {k}: state {state:?}");
    }
}

#[tokio::test]
async fn create_read_find_delete_all_four() {
    let (server, cloud) = fake(Cloud {
        polls_to_run: 1,
        ..Cloud::default()
    })
    .await;
    let p = provider(&server.url());
    let (ctx, statuses) = recording();

    let ws_config = obj(json!({"name": "llm-dev", "description": "inference for dev"}));
    let ws = p.create(&ctx, schema::WORKSPACE, &ws_config).await.unwrap();
    assert_matches_config(&ws_config, &ws);
    let ws_id = ws["id"].as_str().unwrap().to_string();
    assert_eq!(ws["enterprise_project_id"], json!("0"));
    assert_eq!(ws["create_time"], json!("2026-11-22T01:02:03Z"));

    let ep_config = obj(json!({
        "workspace_id": ws_id, "name": "chat", "type": "inference",
        "reserved_resource": {"mu": {"spec_code": "mu.llama3.8b", "min": 0, "max": 1}}
    }));
    let ep = p.create(&ctx, schema::ENDPOINT, &ep_config).await.unwrap();
    assert_matches_config(&ep_config, &ep);
    assert_eq!(ep["status"], json!("RUNNING"));
    assert_eq!(ep["description"], Json::Null);
    assert_eq!(*statuses.lock().unwrap(), ["CREATING", "RUNNING"]);

    let model_config = obj(json!({
        "workspace_id": ws_id, "name": "llama3-8b", "type": "LLM_MODEL",
        "version": {"name": "v1", "config": {"llm_model_config": {
            "base_model_type": "llama3-8b", "model_path": "obs://models/llama3"}}}
    }));
    let model = p.create(&ctx, schema::MODEL, &model_config).await.unwrap();
    let mut expected_model = model_config.clone();
    expected_model["version"]["description"] = Json::Null;
    assert_matches_config(&expected_model, &model);
    assert!(model["version_id"].is_string());

    let inst_config = obj(json!({
        "workspace_id": ws_id, "name": "chat-dev", "endpoint_id": ep["id"],
        "source": {"id": model["id"]}
    }));
    let inst = p
        .create(&ctx, schema::SERVICE_INSTANCE, &inst_config)
        .await
        .unwrap();
    assert_eq!(inst["name"], json!("chat-dev"));
    assert_eq!(inst["source"]["id"], model["id"]);
    // Filled in by the cloud, so optional and computed: no diff against a null in config.
    assert_eq!(inst["source"]["version_id"], json!("v-default"));
    assert_eq!(inst["config"], Json::Null);
    assert_eq!(inst["status"], json!("RUNNING"));

    // Read returns what create returned.
    for (ty, state) in [
        (schema::WORKSPACE, &ws),
        (schema::ENDPOINT, &ep),
        (schema::MODEL, &model),
        (schema::SERVICE_INSTANCE, &inst),
    ] {
        let read = p.read(&ctx, ty, state).await.unwrap().unwrap();
        assert_eq!(&read, state, "{ty}");
        let found = p.find(&ctx, ty, state).await.unwrap().unwrap();
        assert_eq!(found["id"], state["id"], "{ty}");
    }
    assert!(p
        .find(
            &ctx,
            schema::ENDPOINT,
            &obj(json!({"workspace_id": ws_id, "name": "nope"}))
        )
        .await
        .unwrap()
        .is_none());

    for (ty, state) in [
        (schema::SERVICE_INSTANCE, &inst),
        (schema::MODEL, &model),
        (schema::ENDPOINT, &ep),
        (schema::WORKSPACE, &ws),
    ] {
        p.delete(&ctx, ty, state).await.unwrap();
        assert!(p.read(&ctx, ty, state).await.unwrap().is_none(), "{ty}");
        // Deleting what is gone succeeds.
        p.delete(&ctx, ty, state).await.unwrap();
    }
    assert!(cloud
        .lock()
        .unwrap()
        .collections
        .values()
        .all(|items| items.is_empty()));

    // Every request was signed, and the signature covers what was actually sent.
    let requests = server.requests();
    assert!(requests.len() > 20);
    for r in &requests {
        check_signature(r);
        assert_eq!(r.header("X-Project-Id"), Some("0a1b2c"));
    }
}

fn check_signature(r: &Recorded) {
    let auth = r.header("Authorization").expect("Authorization");
    let signed = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .expect("SignedHeaders");
    let names: Vec<&str> = signed.split(';').collect();
    for needed in ["host", "x-project-id", "x-sdk-date"] {
        assert!(names.contains(&needed), "{needed} not signed: {auth}");
    }
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(n, _)| names.contains(&n.to_ascii_lowercase().as_str()))
        .cloned()
        .collect();
    let expected = signer::authorization(
        "local-ak",
        "local-sk",
        &r.method,
        r.path(),
        r.query(),
        &headers,
        &r.body,
    );
    assert_eq!(auth, expected, "{} {}", r.method, r.target);
}

#[tokio::test]
async fn update_waits_and_reads_back() {
    let (server, _cloud) = fake(Cloud {
        polls_to_run: 1,
        ..Cloud::default()
    })
    .await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let ws = p
        .create(
            &ctx,
            schema::WORKSPACE,
            &obj(json!({"name": "w", "description": "d"})),
        )
        .await
        .unwrap();
    let mut planned = ws.clone();
    planned.insert("description".into(), Json::Null);
    planned.insert("name".into(), json!("w2"));
    let updated = p
        .update(&ctx, schema::WORKSPACE, &ws, &planned)
        .await
        .unwrap();
    assert_eq!(updated["name"], json!("w2"));
    assert_eq!(updated["description"], Json::Null);

    let ep_config = obj(json!({
        "workspace_id": ws["id"], "name": "e", "type": "inference",
        "reserved_resource": {"mu": {"spec_code": "mu.a", "min": 0, "max": 1}}
    }));
    let ep = p.create(&ctx, schema::ENDPOINT, &ep_config).await.unwrap();
    let mut planned = ep.clone();
    planned["reserved_resource"]["mu"]["max"] = json!(3);
    let updated = p
        .update(&ctx, schema::ENDPOINT, &ep, &planned)
        .await
        .unwrap();
    assert_eq!(updated["reserved_resource"]["mu"]["max"], json!(3));
    assert_eq!(updated["status"], json!("RUNNING"));
}

#[tokio::test]
async fn failed_status_carries_the_cloud_error() {
    let (server, _cloud) = fake(Cloud {
        polls_to_run: 0,
        endpoint_final_status: Some("CREATE_FAILED".into()),
        ..Cloud::default()
    })
    .await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let err = p
        .create(
            &ctx,
            schema::ENDPOINT,
            &obj(json!({"workspace_id": "w", "name": "e", "type": "inference"})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Failed);
    assert_eq!(err.code.as_deref(), Some("dataartsfabric.0042"));
    assert!(err.message.contains("CREATE_FAILED: no capacity"), "{err}");
}

#[tokio::test]
async fn ambiguous_create_adopts_instead_of_duplicating() {
    let (server, cloud) = fake(Cloud {
        fail_creates_after_storing: 1,
        ..Cloud::default()
    })
    .await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let ws = p
        .create(&ctx, schema::WORKSPACE, &obj(json!({"name": "w"})))
        .await
        .unwrap();
    assert_eq!(ws["name"], json!("w"));
    let cloud = cloud.lock().unwrap();
    assert_eq!(cloud.collections["/v1/workspaces"].len(), 1);
    let posts = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn secrets_never_reach_errors_or_debug() {
    // A hostile gateway that echoes the credentials back in its error.
    let server = FakeServer::start(|r| {
        let echo = format!(
            "{} {} {}",
            r.header("Authorization").unwrap_or_default(),
            r.header("X-Auth-Token").unwrap_or_default(),
            r.header("X-Security-Token").unwrap_or_default()
        );
        Reply::json(401, json!({"error_code": "APIG.1002", "error_msg": echo}))
    })
    .await;
    let factory = FabricFactory {
        client_settings: Some(settings()),
    };
    for config in [
        json!({"endpoint": server.url(), "access_key": "AKSECRET1",
               "secret_key": "SKSECRET2", "security_token": "STSECRET3"}),
        json!({"endpoint": server.url(), "auth_token": "TOKSECRET4"}),
    ] {
        let p = factory
            .build(&obj(config), &ProviderEnv::default())
            .unwrap();
        let ctx = OpContext::silent();
        let instance = obj(json!({"id": "i1", "workspace_id": "w1"}));
        let errors = [
            p.create(&ctx, schema::WORKSPACE, &obj(json!({"name": "w"})))
                .await
                .unwrap_err(),
            p.import(&ctx, schema::ENDPOINT, "w1/e1").await.unwrap_err(),
            p.read_data(&ctx, schema::WORKSPACE, &obj(json!({"name": "w"})))
                .await
                .unwrap_err(),
            p.invoke(
                &ctx,
                schema::SERVICE_INSTANCE,
                &instance,
                "hi",
                &|_: &str| {},
            )
            .await
            .unwrap_err(),
        ];
        let signatures: Vec<String> = server
            .requests()
            .iter()
            .filter_map(|r| r.header("Authorization").map(|a| a.to_string()))
            .filter_map(|a| a.split("Signature=").nth(1).map(str::to_string))
            .collect();
        for err in &errors {
            assert_eq!(err.kind, ErrorKind::Auth, "{err}");
            assert_eq!(err.code.as_deref(), Some("APIG.1002"));
            let texts = [format!("{err}"), format!("{err:?}"), format!("{p:?}")];
            for text in &texts {
                for secret in ["AKSECRET1", "SKSECRET2", "STSECRET3", "TOKSECRET4"] {
                    assert!(!text.contains(secret), "{secret} leaked: {text}");
                }
                for sig in &signatures {
                    assert!(!text.contains(sig.as_str()), "signature leaked: {text}");
                }
            }
        }
    }
}

#[test]
fn configure_needs_credentials_and_region() {
    let f = FabricFactory::default();
    let env = ProviderEnv::default();
    let err = f
        .configure(&obj(json!({"region": "cn-north-4"})), &env)
        .err()
        .unwrap();
    assert_eq!(err.attribute.as_deref(), Some("access_key"));
    assert_eq!(err.message, "provider \"fabric\" has no credentials");
    assert_eq!(
        err.help.as_deref(),
        Some("set access_key and secret_key in the provider block, or HW_ACCESS_KEY and HW_SECRET_KEY in the environment")
    );
    let err = f
        .configure(&obj(json!({"access_key": "a", "secret_key": "b"})), &env)
        .err()
        .unwrap();
    assert_eq!(err.attribute.as_deref(), Some("region"));
    let err = f
        .configure(
            &obj(json!({"access_key": "a", "secret_key": "b", "endpoint": "nope"})),
            &env,
        )
        .err()
        .unwrap();
    assert_eq!(err.attribute.as_deref(), Some("endpoint"));
    let err = f
        .configure(
            &obj(json!({"access_key": "a", "secret_key": "b", "region": "x", "max_requests_per_second": 0})),
            &env,
        )
        .err()
        .unwrap();
    assert_eq!(err.attribute.as_deref(), Some("max_requests_per_second"));

    // Everything from the environment.
    let mut env = ProviderEnv::default();
    for (k, v) in [
        ("HW_ACCESS_KEY", "a"),
        ("HW_SECRET_KEY", "b"),
        ("HW_REGION_NAME", "cn-southwest-2"),
        ("HW_PROJECT_ID", "p"),
    ] {
        env.vars.insert(k.into(), v.into());
    }
    let p = f.build(&Object::new(), &env).unwrap();
    let debug = format!("{p:?}");
    assert!(
        debug.contains("https://fabric.cn-southwest-2.myhuaweicloud.com/"),
        "{debug}"
    );
    assert!(
        debug.contains("https://fabric-ep.cn-southwest-2.myhuaweicloud.com/"),
        "{debug}"
    );
    // A token alone is enough.
    let mut env = ProviderEnv::default();
    env.vars.insert("HW_AUTH_TOKEN".into(), "t".into());
    assert!(f
        .configure(&obj(json!({"region": "cn-north-4"})), &env)
        .is_ok());
}

/// The seed's bodies, mapped to attributes and back.
#[test]
fn seed_bodies_round_trip() {
    let endpoint_answer = obj(json!({
        "visibility": "PRIVATE", "id": "0b5633ba2b904511ad514346f4d23d4b", "name": "endpoint1",
        "type": "inference", "status": "CREATING", "description": "description",
        "create_time": "2023-05-30T12:24:30.401Z", "update_time": "2023-05-30T12:24:30.401Z",
        "owner": {"domain_name": "string", "domain_id": "xxx", "user_name": "string", "user_id": "xxx"},
        "reserved_resource": {"mu": {"spec_code": "mu.llama3.8b", "min": 0, "max": 1}}
    }));
    let attrs = from_api(&schema::endpoint(), &endpoint_answer, Naming::Same, None);
    assert_eq!(
        attrs["reserved_resource"],
        json!({"mu": {"spec_code": "mu.llama3.8b", "min": 0, "max": 1}})
    );
    assert_eq!(attrs["status"], json!("CREATING"));
    assert!(!attrs.contains_key("owner"));
    let config = obj(json!({
        "workspace_id": "e935d0ef", "name": "apie_test", "description": "apie test endpoint",
        "type": "inference",
        "reserved_resource": {"mu": {"spec_code": "mu.llama3.8b", "min": 0, "max": 1}}
    }));
    let body = to_api(
        &schema::endpoint(),
        &config,
        Naming::Same,
        &["workspace_id"],
    );
    assert_eq!(
        Json::Object(body),
        json!({"name": "apie_test", "description": "apie test endpoint", "type": "inference",
               "reserved_resource": {"mu": {"spec_code": "mu.llama3.8b", "min": 0, "max": 1}}})
    );
    let ws_answer = obj(json!({
        "id": "e935d0ef-f4eb-4b95-aff1-9d33ae9f57a6", "name": "fabric", "description": "fabric",
        "create_time": "2023-05-30T12:24:30.401Z", "create_domain_name": "admin",
        "create_user_name": "user", "metastore_id": "2180518f-42b8-4947-b20b-adfc53981a25",
        "access_url": "https://:test.fabric.com/",
        "enterprise_project_id": "01049549-82cd-4b2b-9733-ddb94350c125"
    }));
    let attrs = from_api(&schema::workspace(), &ws_answer, Naming::Same, None);
    assert_eq!(attrs["access_url"], json!("https://:test.fabric.com/"));
    assert_eq!(attrs.len(), schema::workspace().attributes.len());
    let model_config = obj(json!({
        "workspace_id": "w", "name": "LLama3-8b", "description": "this is a apie test model",
        "type": "LLM_MODEL", "version": {"name": "v1", "description": "test description",
        "config": {"llm_model_config": {"base_model_type": "", "model_path": ""}}}
    }));
    let body = to_api(
        &schema::model(),
        &model_config,
        Naming::Same,
        &["workspace_id"],
    );
    let mut expected = model_config.clone();
    expected.remove("workspace_id");
    assert_eq!(body, expected);
    let inst_config = obj(json!({
        "workspace_id": "w", "name": "test_serviceInstanceName", "description": "description",
        "endpoint_id": "", "source": {"id": ""}
    }));
    let body = to_api(
        &schema::service_instance(),
        &inst_config,
        Naming::Same,
        &["workspace_id"],
    );
    assert_eq!(
        Json::Object(body),
        json!({"source": {"id": ""}, "name": "test_serviceInstanceName",
               "description": "description", "endpoint_id": ""})
    );
}

/// One object of each type, created through the provider: (type, state) in dependency order.
async fn one_of_each(p: &Arc<dyn Provider>) -> Vec<(&'static str, Object)> {
    let ctx = OpContext::silent();
    let ws = p
        .create(
            &ctx,
            schema::WORKSPACE,
            &obj(json!({"name": "llm-dev", "description": "inference for dev"})),
        )
        .await
        .unwrap();
    let ep = p
        .create(
            &ctx,
            schema::ENDPOINT,
            &obj(json!({
                "workspace_id": ws["id"], "name": "chat", "type": "inference",
                "reserved_resource": {"mu": {"spec_code": "mu.llama3.8b", "min": 0, "max": 1}}
            })),
        )
        .await
        .unwrap();
    let model = p
        .create(
            &ctx,
            schema::MODEL,
            &obj(json!({
                "workspace_id": ws["id"], "name": "llama3-8b", "type": "LLM_MODEL",
                "version": {"name": "v1", "config": {"llm_model_config": {
                    "base_model_type": "llama3-8b", "model_path": "obs://models/llama3"}}}
            })),
        )
        .await
        .unwrap();
    let inst = p
        .create(
            &ctx,
            schema::SERVICE_INSTANCE,
            &obj(json!({
                "workspace_id": ws["id"], "name": "chat-dev", "endpoint_id": ep["id"],
                "source": {"id": model["id"]}
            })),
        )
        .await
        .unwrap();
    vec![
        (schema::WORKSPACE, ws),
        (schema::ENDPOINT, ep),
        (schema::MODEL, model),
        (schema::SERVICE_INSTANCE, inst),
    ]
}

/// The import id of an object: `ID`, or `WORKSPACE_ID/ID`.
fn import_id(ty: &str, state: &Object) -> String {
    let id = state["id"].as_str().unwrap();
    match state.get("workspace_id").and_then(Json::as_str) {
        Some(ws) if ty != schema::WORKSPACE => format!("{ws}/{id}"),
        _ => id.to_string(),
    }
}

#[tokio::test]
async fn import_reads_the_state_create_and_read_give() {
    let (server, cloud) = fake(Cloud::default()).await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let all = one_of_each(&p).await;
    for (ty, state) in &all {
        let imported = p
            .import(&ctx, ty, &import_id(ty, state))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{ty} not found"));
        // Exactly what create gave (a configuration that made it plans no change)...
        assert_eq!(&imported, state, "{ty}");
        // ...and what read gives from it.
        let read = p.read(&ctx, ty, &imported).await.unwrap().unwrap();
        assert_eq!(read, imported, "{ty}");
    }
    // The cloud's "nothing" ("" and []) is read as a configuration that leaves it out.
    let ws_id = all[0].1["id"].as_str().unwrap().to_string();
    let coll = format!("/v1/workspaces/{ws_id}/endpoints");
    cloud
        .lock()
        .unwrap()
        .collections
        .get_mut(&coll)
        .unwrap()
        .push(obj(json!({
            "id": "ep-outside", "name": "made-elsewhere", "type": "inference",
            "description": "", "status": "RUNNING", "urls": [],
            "reserved_resource": {"mu": {"spec_code": "mu.a", "min": 0, "max": 2}}
        })));
    let imported = p
        .import(&ctx, schema::ENDPOINT, &format!("{ws_id}/ep-outside"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Json::Object(imported.clone()),
        json!({
            "id": "ep-outside", "workspace_id": ws_id, "name": "made-elsewhere",
            "type": "inference", "description": null, "status": "RUNNING", "urls": [],
            "visibility": null, "create_time": null, "update_time": null,
            "reserved_resource": {"mu": {"spec_code": "mu.a", "min": 0, "max": 2}}
        })
    );
    assert_eq!(
        p.read(&ctx, schema::ENDPOINT, &imported)
            .await
            .unwrap()
            .unwrap(),
        imported
    );
}

#[tokio::test]
async fn import_ids_must_have_the_documented_form() {
    let server = FakeServer::start(|_| Reply::json(500, json!({}))).await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let cases = [
        (schema::WORKSPACE, "w1/x", "WORKSPACE_ID"),
        (schema::WORKSPACE, "", "WORKSPACE_ID"),
        (schema::ENDPOINT, "e1", "WORKSPACE_ID/ENDPOINT_ID"),
        (schema::ENDPOINT, "w1/", "WORKSPACE_ID/ENDPOINT_ID"),
        (schema::MODEL, "w1/m1/x", "WORKSPACE_ID/MODEL_ID"),
        (schema::SERVICE_INSTANCE, "/i1", "WORKSPACE_ID/INSTANCE_ID"),
    ];
    for (ty, id, format) in cases {
        let err = p.import(&ctx, ty, id).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{ty} {id}");
        assert_eq!(
            err.message,
            format!("`{id}` is not an import id of {ty}: expected {format}")
        );
    }
    let err = p.import(&ctx, "fabric_nope", "x").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    // Nothing was asked of the cloud.
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn import_of_a_missing_object_finds_nothing() {
    let (server, _cloud) = fake(Cloud::default()).await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let all = one_of_each(&p).await;
    let ws = all[0].1["id"].as_str().unwrap();
    for (ty, id) in [
        (schema::WORKSPACE, "nope".to_string()),
        (schema::ENDPOINT, format!("{ws}/nope")),
        (schema::MODEL, format!("{ws}/nope")),
        (schema::SERVICE_INSTANCE, format!("{ws}/nope")),
        (schema::ENDPOINT, "no-such-workspace/nope".to_string()),
    ] {
        assert_eq!(p.import(&ctx, ty, &id).await.unwrap(), None, "{ty} {id}");
    }
}

#[tokio::test]
async fn data_sources_find_one_by_name() {
    let (server, _cloud) = fake(Cloud::default()).await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let all = one_of_each(&p).await;
    for (ty, state) in &all {
        let mut args = Object::new();
        args.insert("name".into(), state["name"].clone());
        if *ty != schema::WORKSPACE {
            args.insert("workspace_id".into(), state["workspace_id"].clone());
        }
        let got = p.read_data(&ctx, ty, &args).await.unwrap();
        assert_eq!(&got, state, "{ty}");
    }
    // The look-ups used the lists' name filter.
    let lists: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.query().is_some_and(|q| q.contains("name=")))
        .map(|r| r.path().to_string())
        .collect();
    assert!(lists.len() >= 4, "{lists:?}");
}

#[tokio::test]
async fn data_sources_say_what_they_did_not_find() {
    let (server, _cloud) = fake(Cloud::default()).await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let all = one_of_each(&p).await;
    let ws = all[0].1["id"].as_str().unwrap();
    let err = p
        .read_data(&ctx, schema::WORKSPACE, &obj(json!({"name": "llm-prod"})))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "no fabric_workspace named \"llm-prod\" was found"
    );
    for ty in [schema::ENDPOINT, schema::MODEL, schema::SERVICE_INSTANCE] {
        let err = p
            .read_data(&ctx, ty, &obj(json!({"workspace_id": ws, "name": "nope"})))
            .await
            .unwrap_err();
        assert_eq!(
            err.message,
            format!("no {ty} named \"nope\" in workspace {ws} was found")
        );
    }
    // A name from another workspace is not found in this one.
    let err = p
        .read_data(
            &ctx,
            schema::ENDPOINT,
            &obj(json!({"workspace_id": "other", "name": "chat"})),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "no fabric_endpoint named \"chat\" in workspace other was found"
    );
    let err = p
        .read_data(&ctx, schema::ENDPOINT, &obj(json!({"name": "chat"})))
        .await
        .unwrap_err();
    assert_eq!(err.message, "fabric_endpoint needs workspace_id");
}

#[tokio::test]
async fn data_sources_refuse_to_choose_between_several() {
    let (server, cloud) = fake(Cloud::default()).await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let all = one_of_each(&p).await;
    let ws = all[0].1["id"].as_str().unwrap().to_string();
    // Two more of the same name, as a cloud with fuzzy or missing uniqueness could hold.
    {
        let mut cloud = cloud.lock().unwrap();
        let workspaces = cloud.collections.get_mut("/v1/workspaces").unwrap();
        workspaces.push(obj(json!({"id": "ws-twin", "name": "llm-dev"})));
        let models = cloud
            .collections
            .get_mut(&format!("/v1/workspaces/{ws}/models"))
            .unwrap();
        models.push(obj(
            json!({"id": "m-twin", "name": "llama3-8b", "type": "LLM_MODEL"}),
        ));
    }
    let err = p
        .read_data(&ctx, schema::WORKSPACE, &obj(json!({"name": "llm-dev"})))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        format!("2 objects of type fabric_workspace named \"llm-dev\" were found ({ws}, ws-twin)")
    );
    let err = p
        .read_data(
            &ctx,
            schema::MODEL,
            &obj(json!({"workspace_id": ws, "name": "llama3-8b"})),
        )
        .await
        .unwrap_err();
    assert!(
        err.message.starts_with(&format!(
            "2 objects of type fabric_model named \"llama3-8b\" in workspace {ws} were found"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn invoke_streams_the_answer_as_it_comes() {
    let gate = Arc::new(tokio::sync::Notify::new());
    let (server, _cloud) = fake(Cloud {
        invocation_gate: Some(gate.clone()),
        ..Cloud::default()
    })
    .await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let all = one_of_each(&p).await;
    let inst = &all[3].1;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    // The server sends the rest only once the first word got here: an answer read whole
    // before anything is handed on would never finish.
    let on_text = move |t: &str| {
        sink.lock().unwrap().push(t.to_string());
        gate.notify_one();
    };
    tokio::time::timeout(
        Duration::from_secs(10),
        p.invoke(
            &ctx,
            schema::SERVICE_INSTANCE,
            inst,
            "hello there",
            &on_text,
        ),
    )
    .await
    .expect("the first word arrived before the whole answer")
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["You", " said:", " hello", " there"]);
    let request = server
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/invocations"))
        .unwrap();
    assert_eq!(
        request.path(),
        format!(
            "/v1/workspaces/{}/services/instances/{}/invocations",
            inst["workspace_id"].as_str().unwrap(),
            inst["id"].as_str().unwrap()
        )
    );
    assert_eq!(
        request.json(),
        json!({"messages": [{"role": "user", "content": "hello there"}], "stream": true})
    );
    check_signature(&request);
    // Only service instances answer messages.
    let err = p
        .invoke(&ctx, schema::ENDPOINT, &all[1].1, "hi", &|_: &str| {})
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
}

#[tokio::test]
async fn invoke_of_an_instance_not_running_says_so() {
    let (server, cloud) = fake(Cloud::default()).await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    let all = one_of_each(&p).await;
    let inst = all[3].1.clone();
    {
        let mut cloud = cloud.lock().unwrap();
        let coll = format!(
            "/v1/workspaces/{}/services/instances",
            inst["workspace_id"].as_str().unwrap()
        );
        let mut stored = cloud.find(&coll, inst["id"].as_str().unwrap()).unwrap();
        stored.insert("status".into(), json!("STOPPED"));
        cloud.replace(&coll, stored);
    }
    let err = p
        .invoke(&ctx, schema::SERVICE_INSTANCE, &inst, "hi", &|t: &str| {
            panic!("no text expected, got {t}")
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Api);
    assert_eq!(
        err.to_string(),
        format!(
            "POST /v1/workspaces/{}/services/instances/{}/invocations returned 400: \
             dataartsfabric.00040003: service instance {} is STOPPED and cannot be invoked now \
             (request id req-inv)",
            inst["workspace_id"].as_str().unwrap(),
            inst["id"].as_str().unwrap(),
            inst["id"].as_str().unwrap()
        )
    );
    // A missing instance is the cloud's 404.
    let mut gone = inst.clone();
    gone.insert("id".into(), json!("nope"));
    let err = p
        .invoke(&ctx, schema::SERVICE_INSTANCE, &gone, "hi", &|_: &str| {})
        .await
        .unwrap_err();
    assert_eq!(err.status, Some(404));
}

#[tokio::test]
async fn invoke_rejected_by_the_gateway_is_an_auth_error() {
    let server = FakeServer::start(|_| {
        Reply::json(
            401,
            json!({"error_code": "APIG.1002", "error_msg": "Incorrect token"}),
        )
        .with_header("X-Request-Id", "req-401")
    })
    .await;
    let p = provider(&server.url());
    let state = obj(json!({"id": "i1", "workspace_id": "w1", "name": "chat"}));
    let err = p
        .invoke(
            &OpContext::silent(),
            schema::SERVICE_INSTANCE,
            &state,
            "hi",
            &|_: &str| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth);
    assert_eq!(
        err.to_string(),
        "POST /v1/workspaces/w1/services/instances/i1/invocations returned 401: APIG.1002: \
         Incorrect token (request id req-401)"
    );
}

#[tokio::test]
async fn the_operation_timeout_bounds_each_call() {
    let server = FakeServer::start(|_| Reply::Stall(Duration::from_secs(20))).await;
    let p = provider(&server.url());
    let ctx = OpContext {
        timeout: Some(Duration::from_millis(300)),
        ..OpContext::silent()
    };
    let state = obj(json!({"id": "e1", "workspace_id": "w1"}));
    let start = std::time::Instant::now();
    let err = p.read(&ctx, schema::ENDPOINT, &state).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

fn answer(status: u16, content_type: &str, body: &str) -> Reply {
    Reply::Answer {
        status,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: body.into(),
    }
}

/// A 404 that says the workspace is gone means every object in it is gone: reads of a
/// model (listed), an endpoint and a service instance (each with its own GET) say "gone",
/// and a delete is done. A 404 from the gateway or one that is not Fabric's says nothing
/// about the object, and stays an error.
#[tokio::test]
async fn a_missing_workspace_means_its_objects_are_gone() {
    let gone = json!({"error_code": "dataartsfabric.00040404",
                      "error_msg": "workspace w1 does not exist"});
    let server = FakeServer::start(move |_| Reply::json(404, gone.clone())).await;
    let p = provider(&server.url());
    let ctx = OpContext::silent();
    for ty in [schema::MODEL, schema::ENDPOINT, schema::SERVICE_INSTANCE] {
        let prior = obj(json!({"id": "o1", "workspace_id": "w1", "name": "x"}));
        assert_eq!(p.read(&ctx, ty, &prior).await.unwrap(), None, "{ty}");
        p.delete(&ctx, ty, &prior).await.unwrap();
        assert_eq!(p.find(&ctx, ty, &prior).await.unwrap(), None, "{ty}");
    }

    for reply in [
        || {
            Reply::json(
                404,
                json!({"error_code": "APIG.0101", "error_msg": "The API does not exist"}),
            )
        },
        (|| answer(404, "text/html", "<html>Not Found</html>")) as fn() -> Reply,
        || answer(404, "application/json", ""),
    ] {
        let server = FakeServer::start(move |_| reply()).await;
        let p = provider(&server.url());
        for ty in [schema::MODEL, schema::ENDPOINT, schema::SERVICE_INSTANCE] {
            let prior = obj(json!({"id": "o1", "workspace_id": "w1", "name": "x"}));
            let err = p.read(&ctx, ty, &prior).await.unwrap_err();
            assert_eq!(err.status, Some(404), "{ty}: {err}");
            p.delete(&ctx, ty, &prior).await.unwrap_err();
        }
    }
}

/// A success that cannot be understood is an error for reads, look-ups and data sources,
/// never "not found": that would make a plan re-create healthy objects and adoption create
/// duplicates.
#[tokio::test]
async fn answers_that_cannot_be_understood_are_errors_not_absences() {
    for reply in [
        (|| answer(200, "application/json", "")) as fn() -> Reply,
        || answer(200, "application/json", "\u{0}garbage"),
        || answer(200, "text/html", "<html>Sign in</html>"),
        || answer(200, "application/json", r#"{"total": 1, "models": [{"id""#),
        || Reply::json(200, json!({"unexpected": "shape"})),
        || Reply::json(200, json!({"total": 1, "models": [{"name": "no id"}]})),
        || Reply::json(200, json!({"id": "another"})),
    ] {
        let server = FakeServer::start(move |_| reply()).await;
        let p = provider(&server.url());
        let ctx = OpContext::silent();
        for ty in [
            schema::WORKSPACE,
            schema::MODEL,
            schema::ENDPOINT,
            schema::SERVICE_INSTANCE,
        ] {
            let prior = obj(json!({"id": "o1", "workspace_id": "w1", "name": "x"}));
            let err = p.read(&ctx, ty, &prior).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Api, "{ty}: {err}");
            assert!(!err.message.contains('\0'), "{err}");
            let err = p.find(&ctx, ty, &prior).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Api, "{ty}: {err}");
            let err = p.read_data(&ctx, ty, &prior).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Api, "{ty}: {err}");
        }
    }
}
