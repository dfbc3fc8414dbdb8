//! A small client for the contract tests: it signs Fabric calls with its own few lines of
//! `SDK-HMAC-SHA256` (from the rules in CLOUD-APIS.md, not the crate's code) and talks only to
//! 127.0.0.1.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use inferform_local_cloud::{Config, LocalCloud, Timings};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const FABRIC_AK: &str = "local-ak";
pub const FABRIC_SK: &str = "local-sk";
pub const ALAYA_AUTH: &str = "plain Credential=local-alaya-ak,Signature=local-alaya-sk";

/// A config with short timings for tests.
pub fn test_config(ms: u64) -> Config {
    Config {
        timings: Timings::uniform(ms),
        ..Config::default()
    }
}

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub async fn start(config: Config) -> (LocalCloud, Client) {
    let cloud = LocalCloud::start(config, loopback())
        .await
        .expect("the local cloud starts");
    let client = Client::new(&cloud.base_url());
    (cloud, client)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn str(&self, pointer: &str) -> &str {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub host: String,
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A signed Fabric call: every part can be set to test the server's checks.
pub struct Signed<'a> {
    pub ak: &'a str,
    pub sk: &'a str,
    /// The `X-Sdk-Date` value signed (and sent, unless `send_date` is false).
    pub date: String,
    pub send_date: bool,
    pub method: Method,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub body: Option<&'a [u8]>,
    /// More headers, signed and sent.
    pub extra: Vec<(String, String)>,
    /// A header that is signed but then left out of the request.
    pub unsent_header: Option<&'a str>,
    /// Sign with `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` instead of the body's hash.
    pub unsigned_payload: bool,
}

impl<'a> Signed<'a> {
    pub fn new(method: Method, path: &'a str) -> Signed<'a> {
        Signed {
            ak: FABRIC_AK,
            sk: FABRIC_SK,
            date: sdk_date(0),
            send_date: true,
            method,
            path,
            query: &[],
            body: None,
            extra: Vec::new(),
            unsent_header: None,
            unsigned_payload: false,
        }
    }
}

/// Signs like the official SDK: every header it sends, sorted; the query sorted and encoded.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    ak: &str,
    sk: &str,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(String, String)],
    body: &[u8],
    date: &str,
) -> String {
    let hash = hex::encode(Sha256::digest(body));
    sign_with_payload_hash(ak, sk, method, path, query, headers, &hash, date)
}

/// [`sign`] with a given payload hash (`UNSIGNED-PAYLOAD`, say).
#[allow(clippy::too_many_arguments)]
pub fn sign_with_payload_hash(
    ak: &str,
    sk: &str,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(String, String)],
    payload_hash: &str,
    date: &str,
) -> String {
    let mut uri = path.split('/').map(enc).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (enc(k), enc(v))).collect();
    q.sort();
    let q = q
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut h: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    h.sort();
    let canon_headers: String = h.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = h
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let creq = format!("{method}\n{uri}\n{q}\n{canon_headers}\n{signed}\n{payload_hash}");
    let sts = format!(
        "SDK-HMAC-SHA256\n{date}\n{}",
        hex::encode(Sha256::digest(creq.as_bytes()))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(sk.as_bytes()).expect("any key length");
    mac.update(sts.as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    format!("SDK-HMAC-SHA256 Access={ak}, SignedHeaders={signed}, Signature={sig}")
}

pub fn sdk_date(offset_secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs);
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    t.format(&fmt).expect("formats")
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
            base: base.to_owned(),
            host: base.trim_start_matches("http://").to_owned(),
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Reply {
        let resp = rb
            .send()
            .await
            .expect("the request reaches the local cloud");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("a whole answer");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// A Fabric call signed with the default keys.
    pub async fn fabric(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        self.fabric_with(FABRIC_AK, FABRIC_SK, 0, method, path, query, body)
            .await
    }

    /// A Fabric call signed with given keys and a date offset from now.
    #[allow(clippy::too_many_arguments)]
    pub async fn fabric_with(
        &self,
        ak: &str,
        sk: &str,
        date_offset: i64,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        let bytes = body.map(|b| serde_json::to_vec(b).expect("json"));
        let mut req = Signed::new(method, path);
        req.ak = ak;
        req.sk = sk;
        req.date = sdk_date(date_offset);
        req.query = query;
        req.body = bytes.as_deref();
        self.signed(req).await
    }

    /// A Fabric call signed with the default keys, with exactly these body bytes (a seed's
    /// body as written, say).
    pub async fn fabric_bytes(&self, method: Method, path: &str, body: &str) -> Reply {
        let mut req = Signed::new(method, path);
        req.body = Some(body.as_bytes());
        self.signed(req).await
    }

    /// A signed Fabric call described in full.
    pub async fn signed(&self, req: Signed<'_>) -> Reply {
        let mut headers = vec![("Host".to_owned(), self.host.clone())];
        if req.send_date {
            headers.push(("X-Sdk-Date".to_owned(), req.date.clone()));
        }
        if req.body.is_some() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        headers.extend(req.extra.iter().cloned());
        let mut auth = sign(
            req.ak,
            req.sk,
            req.method.as_str(),
            req.path,
            req.query,
            &headers,
            req.body.unwrap_or_default(),
            &req.date,
        );
        if let Some(hidden) = req.unsent_header {
            // The header stays in SignedHeaders but is not sent.
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(hidden));
        }
        if req.unsigned_payload {
            // Recompute with the literal payload hash the client then declares.
            headers.push((
                "X-Sdk-Content-Sha256".to_owned(),
                "UNSIGNED-PAYLOAD".to_owned(),
            ));
            auth = sign_with_payload_hash(
                req.ak,
                req.sk,
                req.method.as_str(),
                req.path,
                req.query,
                &headers,
                "UNSIGNED-PAYLOAD",
                &req.date,
            );
        }
        let query_string = req
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let url = if query_string.is_empty() {
            format!("{}{}", self.base, req.path)
        } else {
            format!("{}{}?{query_string}", self.base, req.path)
        };
        let mut rb = self
            .http
            .request(req.method, url)
            .header("Authorization", auth);
        for (k, v) in &headers {
            if !k.eq_ignore_ascii_case("host") {
                rb = rb.header(k.as_str(), v.as_str());
            }
        }
        if let Some(b) = req.body {
            rb = rb.body(b.to_vec());
        }
        self.send(rb).await
    }

    /// An Alaya call with the default credential and exactly these body bytes.
    pub async fn alaya_bytes(&self, method: Method, path: &str, body: &str) -> Reply {
        let rb = self
            .http
            .request(
                method,
                format!("{}/api/serverless-infer/v1{path}", self.base),
            )
            .header("Authorization", ALAYA_AUTH)
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        self.send(rb).await
    }

    /// A raw call with the given headers and body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb
                .header("Content-Type", "application/json")
                .body(b.to_owned());
        }
        self.send(rb).await
    }

    /// An Alaya call with the default credential.
    pub async fn alaya(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut rb = self
            .http
            .request(
                method,
                format!("{}/api/serverless-infer/v1{path}", self.base),
            )
            .header("Authorization", ALAYA_AUTH);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        self.send(rb).await
    }

    pub async fn local(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            rb = rb.json(b);
        }
        self.send(rb).await
    }

    /// Polls a Fabric GET until `status` is reached (or the object is gone, for `"GONE"`).
    pub async fn wait_fabric(&self, path: &str, status: &str) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let r = self.fabric(Method::GET, path, &[], None).await;
            let done = if status == "GONE" {
                r.status == StatusCode::NOT_FOUND
            } else {
                r.str("/status") == status
            };
            if done {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never reached {status}: {}",
                r.text
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls an Alaya deployment until `status` (or `"GONE"`).
    pub async fn wait_alaya(&self, id: &str, status: &str) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let r = self
                .alaya(Method::GET, &format!("/deployment/{id}"), None)
                .await;
            let done = if status == "GONE" {
                r.status == StatusCode::NOT_FOUND
            } else {
                r.str("/data/status") == status
            };
            if done {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "{id} never reached {status}: {}",
                r.text
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The seed's example bodies, exactly as written there.
pub mod seeds {
    pub const WORKSPACE: &str =
        r#"{ "name": "apieworkspace", "description": "apie test workspace" }"#;
    pub const ENDPOINT: &str = r#"{ "name": "apie_test", "description": "apie test endpoint", "type": "inference", "reserved_resource": { "mu": { "spec_code": "mu.llama3.8b", "min": 0, "max": 1 } } }"#;
    pub const MODEL: &str = r#"{ "name": "LLama3-8b", "description": "this is a apie test model", "type": "LLM_MODEL", "version": { "name": "v1", "description": "test description", "config": { "llm_model_config": { "base_model_type": "", "model_path": "" } } } }"#;
    /// The seed's instance body, with the ids it says to fill in as `{model}` and `{endpoint}`.
    pub const INSTANCE: &str = r#"{ "source": { "id": "{model}" }, "name": "test_serviceInstanceName", "description": "description", "endpoint_id": "{endpoint}"}"#;
    pub const INVOCATION: &str = r#"{ "messages": [ { "role": "user", "content": "hello" } ] }"#;
    pub const ALAYA_EXPERT: &str = r#"
{
"name": "test-expert",
"namespace": "default",
"vksId": "vcacb50arkk4",
"servedName": ["testvllm"],
"modelId": "c486cdee-c316-4fc1-9f75-0d1741940f27",
"scale": {
"max": 3,
"min": 1,
"rpsValue": 10,
"idleTime": 60
},
"headConfig": {
"image": "registry.cn-hangzhou.aliyuncs.com/ls-2018/test:vllm-0.8.1p",
"cmd": ["sh", "-c", "test.sh"],
"labels": { },
"env": {
"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true"
},
"args": ["-Xmx", "52m"],
"resource": {
"mem": 32,
"cpu": 4,
"gpu": {
"gpuType": "nvidia.com/gpu-l40s",
"count": 1
}
},
"pvcMounts": [
{
"containerPath": "/scripts",
"pvcName": "test-name"
}
]
},
"workerConfig": {
"workers": 1,
"image": "registry.cn-hangzhou.aliyuncs.com/ls-2018/test:vllm-0.8.1p",
"cmd": ["sh", "-c", "test.sh"],
"labels": { },
"env": {
"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true"
},
"args": [""],
"resource": {
"workers": 3,
"mem": 8,
"cpu": 4,
"gpu": {
"gpuType": "nvidia.com/gpu-l40s",
"count": 1
}
},
"pvcMounts": [
{
"containerPath": "/scripts",
"pvcName": "test-name"
}
]
},
"extensions": {
"usage": "test"
}
}"#;
}

pub fn json(s: &str) -> Value {
    serde_json::from_str(s).expect("valid JSON")
}
