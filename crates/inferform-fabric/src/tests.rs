//! The provider against a small scripted fake of the Fabric API on 127.0.0.1 (not the local
//! cloud, which no provider may depend on), plus the seed bodies mapped both ways.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inferform_provider::shape::{from_api, to_api, Naming};
use inferform_provider::testing::{FakeServer, Recorded, Reply};
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
        let err = p
            .create(
                &OpContext::silent(),
                schema::WORKSPACE,
                &obj(json!({"name": "w"})),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Auth);
        let sig = server
            .requests()
            .last()
            .and_then(|r| r.header("Authorization").map(|a| a.to_string()))
            .and_then(|a| a.split("Signature=").nth(1).map(str::to_string));
        let texts = [format!("{err}"), format!("{err:?}"), format!("{p:?}")];
        for text in &texts {
            for secret in ["AKSECRET1", "SKSECRET2", "STSECRET3", "TOKSECRET4"] {
                assert!(!text.contains(secret), "{secret} leaked: {text}");
            }
            if let Some(sig) = &sig {
                assert!(!text.contains(sig.as_str()), "signature leaked: {text}");
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
