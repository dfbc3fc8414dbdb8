//! Shared state, the router, and the layers every cloud call passes through: request ids,
//! faults, and authentication.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, OriginalUri, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::macros::format_description;
use time::PrimitiveDateTime;

use crate::config::{AmbiguousMode, Config, Effective, Faults, Malformed, Timings};
use crate::reply::{code, ApiError, Cloud};
use crate::sign;
use crate::stats::FaultStats;
use crate::store::Store;
use crate::{alaya, fabric, invoke, local};

/// The gateway rejects signed bodies over 12 MB.
pub(crate) const MAX_BODY: usize = 12 * 1024 * 1024;

/// How far `X-Sdk-Date` may be from now **[ours: 15 minutes]**.
const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;

/// Everything a handler can reach.
pub(crate) struct App {
    pub keys: Keys,
    pub store: Store,
    pub timings: RwLock<Timings>,
    pub faults: RwLock<Arc<Faults>>,
    /// What the faults did, for `GET /_local/faults/stats`.
    pub stats: FaultStats,
    /// The one generator every random choice of the faults draws from (see `Faults::seed`).
    rng: Mutex<StdRng>,
    limiter: [Mutex<Window>; 2],
    /// The address the server listens on, once bound; used when a request has no `Host`.
    pub bound: OnceLock<SocketAddr>,
}

pub(crate) struct Keys {
    pub fabric_access_key: String,
    pub fabric_secret_key: String,
    pub fabric_auth_token: String,
    pub alaya_access_key: String,
    pub alaya_secret_key: String,
    pub fabric_project_id: Option<String>,
}

/// A fixed one-second window of request counts, for the 429 fault.
#[derive(Default)]
struct Window {
    second: u64,
    count: u32,
}

pub(crate) type Shared = Arc<App>;

impl App {
    pub(crate) fn new(config: Config) -> Result<Shared, crate::Error> {
        config
            .faults
            .validate()
            .map_err(|msg| crate::Error::InvalidFaults { msg })?;
        let store = Store::open(config.data_dir.clone())?;
        let rng = Mutex::new(seeded(config.faults.seed));
        Ok(Arc::new(App {
            keys: Keys {
                fabric_access_key: config.fabric_access_key,
                fabric_secret_key: config.fabric_secret_key,
                fabric_auth_token: config.fabric_auth_token,
                alaya_access_key: config.alaya_access_key,
                alaya_secret_key: config.alaya_secret_key,
                fabric_project_id: config.fabric_project_id,
            },
            store,
            timings: RwLock::new(config.timings),
            faults: RwLock::new(Arc::new(config.faults)),
            stats: FaultStats::open(config.data_dir.clone()),
            rng,
            limiter: [Mutex::new(Window::default()), Mutex::new(Window::default())],
            bound: OnceLock::new(),
        }))
    }

    pub(crate) fn timings(&self) -> Timings {
        *self.timings.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn faults(&self) -> Arc<Faults> {
        self.faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the faults; a seed in them reseeds the generator.
    pub(crate) fn set_faults(&self, faults: Faults) {
        if let Some(seed) = faults.seed {
            *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = StdRng::seed_from_u64(seed);
        }
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(faults);
    }

    /// `true` with probability `p`, drawn from the one generator.
    pub(crate) fn roll(&self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        self.rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .random::<f64>()
            < p
    }

    /// A number in `0..n` (`n` > 0), drawn from the one generator.
    fn pick(&self, n: usize) -> usize {
        self.rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .random_range(0..n.max(1))
    }

    /// Whether a create should end in a failed status, by the configured share.
    pub(crate) fn roll_create_failure(&self, call: &str) -> bool {
        let fail = self.roll(self.faults().for_call(call).create_failure_rate);
        if fail {
            self.stats.record(call, "create_failure");
        }
        fail
    }

    /// Whether a create should stay in its first status for ever, by the configured share.
    pub(crate) fn roll_stuck(&self, call: &str) -> bool {
        let stuck = self.roll(self.faults().for_call(call).stuck_rate);
        if stuck {
            self.stats.record(call, "stuck");
        }
        stuck
    }

    /// Whether an object created at `created_ms` shows in a list answer of kind `call` at
    /// `now` (eventual consistency: `list_lag_ms`); a hidden object is counted as `list_lag`.
    pub(crate) fn listed(&self, call: &str, created_ms: u64, now: u64) -> bool {
        let lag = self.faults().for_call(call).list_lag_ms;
        let shown = lag == 0 || created_ms == 0 || created_ms.saturating_add(lag) <= now;
        if !shown {
            self.stats.record(call, "list_lag");
        }
        shown
    }

    /// Counts one request against the cloud's rate; `Some(seconds)` when over the limit.
    fn throttle(&self, cloud: Cloud, limit: u32) -> Option<u64> {
        if limit == 0 {
            return None;
        }
        let idx = match cloud {
            Cloud::Fabric => 0,
            Cloud::Alaya => 1,
        };
        let now = crate::store::now_ms();
        let second = now / 1000;
        let mut w = self.limiter[idx].lock().unwrap_or_else(|e| e.into_inner());
        if w.second != second {
            w.second = second;
            w.count = 0;
        }
        w.count = w.count.saturating_add(1);
        if w.count > limit {
            Some(1)
        } else {
            None
        }
    }

    /// `http://host:port` as the client reached us: the `Host` header when it looks like one,
    /// else the bound address.
    pub(crate) fn base_url(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
            });
        match (host, self.bound.get()) {
            (Some(h), _) => format!("http://{h}"),
            (None, Some(addr)) => format!("http://{addr}"),
            (None, None) => "http://127.0.0.1".to_owned(),
        }
    }
}

/// A generator from `seed`, or from the system's entropy.
fn seeded(seed: Option<u64>) -> StdRng {
    match seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::seed_from_u64(rand::random()),
    }
}

/// What a call kind does to existing objects, for the faults of updates and deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    Update,
    Delete,
    Other,
}

pub(crate) fn op_of(call: &str) -> Op {
    if call.ends_with(".create") {
        Op::Create
    } else if call.ends_with(".update") || call.ends_with(".scale") || call.ends_with(".cancel") {
        Op::Update
    } else if call.ends_with(".delete") {
        Op::Delete
    } else {
        Op::Other
    }
}

/// The whole server: both clouds, the Alaya service URLs, and `/_local`.
pub(crate) fn router(app: Shared) -> Router {
    let fabric = fabric::routes()
        .merge(invoke::fabric_routes())
        .route_layer(middleware::from_fn_with_state(app.clone(), fabric_auth))
        .route_layer(middleware::from_fn_with_state(app.clone(), faults));
    let alaya = alaya::routes()
        .route_layer(middleware::from_fn_with_state(app.clone(), alaya_auth))
        .route_layer(middleware::from_fn_with_state(app.clone(), faults));
    let alaya_svc =
        invoke::alaya_routes().route_layer(middleware::from_fn_with_state(app.clone(), faults));
    Router::new()
        .merge(fabric)
        .nest("/api/serverless-infer/v1", alaya)
        .merge(alaya_svc)
        .merge(local::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(request_id))
        .with_state(app)
}

/// Which cloud's error format a path gets.
pub(crate) fn cloud_of(path: &str) -> Cloud {
    if path.starts_with("/api/serverless-infer") || path.starts_with("/alaya-svc") {
        Cloud::Alaya
    } else {
        Cloud::Fabric
    }
}

async fn not_found(req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let err = match cloud_of(&path) {
        Cloud::Fabric => ApiError::fabric(
            StatusCode::NOT_FOUND,
            "APIG.0101",
            format!("The API does not exist or has not been published in the environment: {path}"),
        ),
        Cloud::Alaya => ApiError::alaya(StatusCode::NOT_FOUND, format!("no such API: {path}")),
    };
    err.into_response()
}

async fn method_not_allowed(req: Request) -> Response {
    let msg = format!(
        "The API does not exist: {} is not allowed on {}",
        req.method(),
        req.uri().path()
    );
    match cloud_of(req.uri().path()) {
        Cloud::Fabric => ApiError::fabric(StatusCode::METHOD_NOT_ALLOWED, "APIG.0101", msg),
        Cloud::Alaya => ApiError::alaya(StatusCode::METHOD_NOT_ALLOWED, msg),
    }
    .into_response()
}

/// Puts a fresh `X-Request-Id` on every answer, and gives errors that axum itself produced
/// (an extractor's plain-text rejection) the cloud's error format.
async fn request_id(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let injected = resp.extensions().get::<RawAnswer>().is_some();
    if (resp.status().is_client_error() || resp.status().is_server_error())
        && !is_json
        && !injected
        && !path.starts_with("/_local")
    {
        let status = resp.status();
        let text = axum::body::to_bytes(std::mem::take(resp.body_mut()), 64 * 1024)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let c = if status.is_server_error() {
            code::INTERNAL
        } else {
            code::BAD_REQUEST
        };
        let msg = if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            text
        };
        resp = ApiError::new(cloud_of(&path), status, c, msg).into_response();
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// The call kind of a matched route, as named in [`Faults::calls`](crate::Faults).
pub(crate) fn call_kind(method: &Method, route: &str) -> &'static str {
    let m = method.as_str();
    let route = route
        .strip_prefix("/api/serverless-infer/v1")
        .unwrap_or(route);
    match (m, route) {
        ("POST", "/v1/workspaces") => "fabric.workspace.create",
        ("GET", "/v1/workspaces") => "fabric.workspace.list",
        ("PUT", "/v1/workspaces/{ws}") => "fabric.workspace.update",
        ("DELETE", "/v1/workspaces/{ws}") => "fabric.workspace.delete",
        ("POST", "/v1/workspaces/{ws}/endpoints") => "fabric.endpoint.create",
        ("GET", "/v1/workspaces/{ws}/endpoints") => "fabric.endpoint.list",
        ("GET", "/v1/workspaces/{ws}/endpoints/{id}") => "fabric.endpoint.show",
        ("PUT", "/v1/workspaces/{ws}/endpoints/{id}") => "fabric.endpoint.update",
        ("DELETE", "/v1/workspaces/{ws}/endpoints/{id}") => "fabric.endpoint.delete",
        ("POST", "/v1/workspaces/{ws}/models") => "fabric.model.create",
        ("GET", "/v1/workspaces/{ws}/models") => "fabric.model.list",
        ("PUT", "/v1/workspaces/{ws}/models/{id}") => "fabric.model.update",
        ("DELETE", "/v1/workspaces/{ws}/models/{id}") => "fabric.model.delete",
        ("GET", "/v1/workspaces/{ws}/models/{id}/versions") => "fabric.model.versions",
        ("POST", "/v1/workspaces/{ws}/services/instances") => "fabric.instance.create",
        ("GET", "/v1/workspaces/{ws}/services/instances") => "fabric.instance.list",
        ("GET", "/v1/workspaces/{ws}/services/instances/{id}") => "fabric.instance.show",
        ("PUT", "/v1/workspaces/{ws}/services/instances/{id}") => "fabric.instance.update",
        ("DELETE", "/v1/workspaces/{ws}/services/instances/{id}") => "fabric.instance.delete",
        ("POST", "/v1/workspaces/{ws}/services/instances/{id}/invocations") => {
            "fabric.instance.invoke"
        }
        ("POST", "/deployment/expert") => "alaya.deployment.create",
        ("PUT", "/deployment/expert/{id}") => "alaya.deployment.update",
        ("POST", "/deployment") => "alaya.quick_start.create",
        ("POST", "/deployment/lora") => "alaya.lora.create",
        ("PUT", "/deployment/lora/{id}") => "alaya.lora.update",
        ("GET", "/deployment/list") => "alaya.deployment.list",
        ("GET", "/deployment/{id}") => "alaya.deployment.show",
        ("DELETE", "/deployment/{id}") => "alaya.deployment.delete",
        ("PUT", "/deployment/{id}/scale") => "alaya.deployment.scale",
        ("POST", "/deployment/{id}/cancel") => "alaya.deployment.cancel",
        ("POST", "/alaya-svc/{id}/v1/chat/completions") => "alaya.invoke",
        _ => "other",
    }
}

/// Injects the configured faults: throttling, latency, errors, ambiguous creates, and
/// malformed answers in place of successful ones; each is counted in [`App::stats`] so that a
/// test can tell that the faults it asked for happened.
async fn faults(State(app): State<Shared>, req: Request, next: Next) -> Response {
    // Inside the nested Alaya router the URI has lost its prefix; the original one has not.
    let cloud = match req.extensions().get::<OriginalUri>() {
        Some(original) => cloud_of(original.path()),
        None => cloud_of(req.uri().path()),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let call = call_kind(req.method(), &route);
    let all = app.faults();
    let eff: Effective = all.for_call(call);
    if let Some(secs) = app.throttle(cloud, all.rate_limit_per_sec) {
        let mut err = ApiError::new(
            cloud,
            StatusCode::TOO_MANY_REQUESTS,
            "APIG.0308",
            "The throttling threshold has been reached",
        );
        err.retry_after = Some(secs);
        app.stats.record(call, "throttled");
        return err.into_response();
    }
    if eff.latency_ms > 0 {
        app.stats.record(call, "latency");
        tokio::time::sleep(Duration::from_millis(eff.latency_ms)).await;
    }
    if app.roll(eff.reset_rate) {
        app.stats.record(call, "reset");
        return dropped_connection();
    }
    if app.roll(eff.error_rate) {
        app.stats.record(call, "error");
        let (status, c) = if app.roll(0.5) {
            (StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL)
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, code::UNAVAILABLE)
        };
        return ApiError::new(
            cloud,
            status,
            c,
            "injected fault: the service failed this call",
        )
        .into_response();
    }
    let op = op_of(call);
    let refused = match op {
        Op::Update => app.roll(eff.update_failure_rate).then_some("update"),
        Op::Delete => app.roll(eff.delete_failure_rate).then_some("delete"),
        Op::Create | Op::Other => None,
    };
    if let Some(what) = refused {
        app.stats.record(call, &format!("{what}_failure"));
        return ApiError::new(
            cloud,
            StatusCode::BAD_REQUEST,
            code::WRONG_STATUS,
            format!(
                "injected failure: the {what} could not be carried out now \
                 (another operation is in progress); try again later"
            ),
        )
        .into_response();
    }
    let resp = next.run(req).await;
    let lost = match op {
        Op::Create => Some(("ambiguous", eff.ambiguous_rate)),
        Op::Update | Op::Delete => Some(("lost_answer", eff.lost_answer_rate)),
        Op::Other => None,
    };
    if let Some((name, rate)) = lost {
        if resp.status().is_success() && app.roll(rate) {
            let drop = match eff.ambiguous_mode {
                AmbiguousMode::Error500 => false,
                AmbiguousMode::Drop => true,
                AmbiguousMode::Either => app.roll(0.5),
            };
            if drop {
                app.stats.record(call, &format!("{name}.drop"));
                return dropped_connection();
            }
            app.stats.record(call, &format!("{name}.error500"));
            return ApiError::new(
                cloud,
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL,
                "injected fault: the answer was lost (the call may have taken effect)",
            )
            .into_response();
        }
    }
    if resp.status().is_success() && app.roll(eff.malformed_rate) {
        let kind = match eff.malformed {
            Malformed::Any => Malformed::CONCRETE[app.pick(Malformed::CONCRETE.len())],
            other => other,
        };
        app.stats
            .record(call, &format!("malformed.{}", kind.name()));
        return malformed(kind, cloud, resp).await;
    }
    resp
}

/// Marks an injected answer that must reach the client as it is: [`request_id`] leaves its
/// body alone even when it is an error that is not JSON.
#[derive(Clone, Copy)]
struct RawAnswer;

/// The malformed answer `kind` in place of the successful `real` one (see [`Malformed`]).
async fn malformed(kind: Malformed, cloud: Cloud, real: Response) -> Response {
    let json = "application/json";
    let html = "text/html; charset=utf-8";
    let (status, content_type, body): (StatusCode, &str, Vec<u8>) = match kind {
        Malformed::Garbage | Malformed::Any => (
            StatusCode::OK,
            json,
            b"\x00\x01\x02\xff\xfegarbage\x00{\"not\": json\x1b[2J\x00".to_vec(),
        ),
        Malformed::Empty => (StatusCode::OK, json, Vec::new()),
        Malformed::WrongShape => {
            let body = match cloud {
                Cloud::Fabric => serde_json::json!({"unexpected": "shape"}),
                Cloud::Alaya => serde_json::json!({
                    "code": 0, "data": {"unexpected": "shape"}, "msg": "success"
                }),
            };
            (StatusCode::OK, json, body.to_string().into_bytes())
        }
        Malformed::Html502 => (
            StatusCode::BAD_GATEWAY,
            html,
            b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".to_vec(),
        ),
        Malformed::WrongContentType => (
            StatusCode::OK,
            html,
            b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>Sign in to continue</form></body></html>".to_vec(),
        ),
        Malformed::Truncated => {
            let (parts, body) = real.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_BODY)
                .await
                .unwrap_or_default();
            let cut = bytes.len() / 2;
            let mut resp = Response::from_parts(parts, Body::from(bytes.slice(..cut)));
            resp.headers_mut().remove(header::CONTENT_LENGTH);
            resp.headers_mut().remove(header::TRANSFER_ENCODING);
            resp.extensions_mut().insert(RawAnswer);
            return resp;
        }
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.extensions_mut().insert(RawAnswer);
    resp
}

/// An answer whose body fails at once, so that the server closes the connection before a
/// whole answer reaches the client.
fn dropped_connection() -> Response {
    let mut resp = Response::new(Body::new(invoke::FailingBody));
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(1_000_000u32));
    resp
}

/// Checks Fabric credentials: `X-Auth-Token`, or an `SDK-HMAC-SHA256` signature.
async fn fabric_auth(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::fabric(
                StatusCode::PAYLOAD_TOO_LARGE,
                "APIG.0201",
                "Request entity too large (over 12 MB) or unreadable",
            )
            .into_response()
        }
    };
    if let Err(e) = check_fabric(&app, &parts, &bytes, time::OffsetDateTime::now_utc()) {
        return e.into_response();
    }
    if let Some(refused) = check_project(&app, &parts.headers) {
        return refused;
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// With a configured project, refuses a call for another project the way IAM does: 403 with
/// `{"error": {"code", "message", "title"}}`.
fn check_project(app: &App, headers: &HeaderMap) -> Option<Response> {
    let expected = app.keys.fabric_project_id.as_deref()?;
    let given = headers.get("x-project-id")?;
    if given.as_bytes() == expected.as_bytes() {
        return None;
    }
    let body = serde_json::json!({"error": {
        "code": "APIGW.0302",
        "message": format!(
            "The credentials do not grant access to project {}",
            String::from_utf8_lossy(given.as_bytes())
        ),
        "title": "Forbidden",
    }});
    Some((StatusCode::FORBIDDEN, axum::Json(body)).into_response())
}

fn unauthorized(code: &str, msg: impl Into<String>) -> ApiError {
    ApiError::fabric(StatusCode::UNAUTHORIZED, code, msg)
}

pub(crate) fn check_fabric(
    app: &App,
    parts: &axum::http::request::Parts,
    body: &Bytes,
    now: time::OffsetDateTime,
) -> Result<(), ApiError> {
    let headers = &parts.headers;
    if let Some(token) = headers.get("x-auth-token") {
        return if token.as_bytes() == app.keys.fabric_auth_token.as_bytes() {
            Ok(())
        } else {
            Err(unauthorized(
                "APIG.0301",
                "Incorrect IAM authentication information: decrypt token fail",
            ))
        };
    }
    let Some(auth) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "APIG.0301",
            "Incorrect IAM authentication information: x-auth-token not found",
        ));
    };
    let parsed = auth.to_str().ok().and_then(sign::parse_authorization);
    let Some(parsed) = parsed else {
        return Err(unauthorized(
            "APIG.1002",
            "Incorrect token or token resolution failed: the Authorization header is not \
             `SDK-HMAC-SHA256 Access=.., SignedHeaders=.., Signature=..`",
        ));
    };
    let aksk_fail = |detail: &str| {
        unauthorized(
            "APIG.0301",
            format!(
                "Incorrect IAM authentication information: verify aksk signature fail ({detail})"
            ),
        )
    };
    if parsed.access != app.keys.fabric_access_key {
        return Err(aksk_fail("unknown access key"));
    }
    let date = headers
        .get("x-sdk-date")
        .and_then(|d| d.to_str().ok())
        .ok_or_else(|| aksk_fail("X-Sdk-Date is missing"))?;
    let when = PrimitiveDateTime::parse(
        date,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .map_err(|_| aksk_fail("X-Sdk-Date is not YYYYMMDDTHHMMSSZ"))?
    .assume_utc();
    if (now - when).whole_seconds().abs() > MAX_CLOCK_SKEW_SECS {
        return Err(aksk_fail(
            "X-Sdk-Date is more than 15 minutes from the server's time",
        ));
    }
    let mut signed = Vec::with_capacity(parsed.signed_headers.len());
    for name in &parsed.signed_headers {
        let value = headers
            .get(name.as_str())
            .ok_or_else(|| aksk_fail(&format!("signed header {name} is not in the request")))?;
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        signed.push((name.clone(), value));
    }
    let payload_hash = match headers.get("x-sdk-content-sha256") {
        Some(v) if v.as_bytes() == b"UNSIGNED-PAYLOAD" => "UNSIGNED-PAYLOAD".to_owned(),
        _ => sign::hex_sha256(body),
    };
    let creq = sign::canonical_request(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &signed,
        &payload_hash,
    );
    let sts = sign::string_to_sign(&creq, date);
    if sign::verify(&app.keys.fabric_secret_key, &sts, &parsed.signature) {
        Ok(())
    } else {
        Err(aksk_fail("signature mismatch")
            .with_solution(format!("The server's canonical request was:\n{creq}")))
    }
}

/// Checks the Alaya `Authorization: plain Credential={AK},Signature={SK}` header.
async fn alaya_auth(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::alaya(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large (over 12 MB) or unreadable",
            )
            .into_response()
        }
    };
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(header) = header else {
        return ApiError::alaya(StatusCode::UNAUTHORIZED, "missing Authorization header")
            .into_response();
    };
    let Some((ak, sk)) = parse_plain(header) else {
        return ApiError::alaya(
            StatusCode::UNAUTHORIZED,
            "malformed Authorization header: expected `plain Credential=AK,Signature=SK`",
        )
        .into_response();
    };
    if ak != app.keys.alaya_access_key || sk != app.keys.alaya_secret_key {
        return ApiError::alaya(StatusCode::UNAUTHORIZED, "invalid credential").into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Parses `plain Credential=AK,Signature=SK` (spaces after the comma allowed).
pub(crate) fn parse_plain(value: &str) -> Option<(&str, &str)> {
    let rest = value.trim().strip_prefix("plain ")?;
    let (cred, sig) = rest.split_once(',')?;
    let ak = cred.trim().strip_prefix("Credential=")?;
    let sk = sig.trim().strip_prefix("Signature=")?;
    if ak.is_empty() || sk.is_empty() {
        return None;
    }
    Some((ak, sk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_credentials_parse() {
        assert_eq!(
            parse_plain("plain Credential=a,Signature=b"),
            Some(("a", "b"))
        );
        assert_eq!(
            parse_plain("plain Credential=a, Signature=b"),
            Some(("a", "b"))
        );
        assert_eq!(parse_plain("plain Credential=,Signature=b"), None);
        assert_eq!(parse_plain("Bearer x"), None);
    }

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> axum::http::request::Parts {
        let mut b = axum::http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).expect("a valid request").into_parts().0
    }

    fn at_vector_date() -> time::OffsetDateTime {
        time::macros::datetime!(2026-11-22 01:02:03 UTC)
    }

    /// The official vectors of CLOUD-APIS.md, computed with Huawei's Python SDK signer, go
    /// through the server's whole check, with the `Authorization` headers exactly as given.
    #[test]
    fn the_server_accepts_the_official_known_answer_vectors() {
        let app = App::new(Config {
            fabric_access_key: "AK1".into(),
            fabric_secret_key: "SK1".into(),
            ..Config::default()
        })
        .expect("app");
        let auth = "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=content-type;host;x-sdk-date, \
                    Signature=5698311b73e78a9c314d05a8aa6d51fb2cac46dfd56576b6ee942f521ae83ae9";
        let body = Bytes::from_static(br#"{"name": "apieworkspace"}"#);
        let headers = [
            ("Content-Type", "application/json"),
            ("Host", "127.0.0.1:8787"),
            ("X-Sdk-Date", "20261122T010203Z"),
            ("Authorization", auth),
        ];
        let p = parts("POST", "/v1/workspaces?name=a%20b&limit=10", &headers);
        assert!(check_fabric(&app, &p, &body, at_vector_date()).is_ok());
        // One byte of the body changed, or a day later, and it fails.
        let other = Bytes::from_static(br#"{"name": "apieworkspacf"}"#);
        assert!(check_fabric(&app, &p, &other, at_vector_date()).is_err());
        let later = at_vector_date() + time::Duration::days(1);
        let e = check_fabric(&app, &p, &body, later).expect_err("too far from the date");
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert_eq!(e.code, "APIG.0301");

        let app = App::new(Config::default()).expect("app");
        let auth = "SDK-HMAC-SHA256 Access=local-ak, SignedHeaders=host;x-project-id;x-sdk-date, \
                    Signature=f608ad12180ca2ddd800b2371c96b82d43504f49625fedacb2a3ce6341c33838";
        let headers = [
            ("Host", "fabric.cn-southwest-2.myhuaweicloud.com"),
            ("X-Project-Id", "0a1b2c"),
            ("X-Sdk-Date", "20261122T010203Z"),
            ("Authorization", auth),
        ];
        let p = parts(
            "GET",
            "/v1/workspaces/e935d0ef/endpoints/0b5633ba",
            &headers,
        );
        assert!(check_fabric(&app, &p, &Bytes::new(), at_vector_date()).is_ok());
        let p = parts(
            "GET",
            "/v1/workspaces/e935d0ef/endpoints/0b5633bb",
            &headers,
        );
        let e = check_fabric(&app, &p, &Bytes::new(), at_vector_date()).expect_err("other path");
        assert!(e.solution.contains("canonical request"));
    }

    #[test]
    fn every_route_has_a_call_kind() {
        let routes = [
            ("POST", "/v1/workspaces"),
            ("GET", "/v1/workspaces"),
            ("PUT", "/v1/workspaces/{ws}"),
            ("DELETE", "/v1/workspaces/{ws}"),
            ("POST", "/v1/workspaces/{ws}/endpoints"),
            ("GET", "/v1/workspaces/{ws}/endpoints"),
            ("GET", "/v1/workspaces/{ws}/endpoints/{id}"),
            ("PUT", "/v1/workspaces/{ws}/endpoints/{id}"),
            ("DELETE", "/v1/workspaces/{ws}/endpoints/{id}"),
            ("POST", "/v1/workspaces/{ws}/models"),
            ("GET", "/v1/workspaces/{ws}/models"),
            ("PUT", "/v1/workspaces/{ws}/models/{id}"),
            ("DELETE", "/v1/workspaces/{ws}/models/{id}"),
            ("GET", "/v1/workspaces/{ws}/models/{id}/versions"),
            ("POST", "/v1/workspaces/{ws}/services/instances"),
            ("GET", "/v1/workspaces/{ws}/services/instances"),
            ("GET", "/v1/workspaces/{ws}/services/instances/{id}"),
            ("PUT", "/v1/workspaces/{ws}/services/instances/{id}"),
            ("DELETE", "/v1/workspaces/{ws}/services/instances/{id}"),
            (
                "POST",
                "/v1/workspaces/{ws}/services/instances/{id}/invocations",
            ),
            ("POST", "/api/serverless-infer/v1/deployment"),
            ("POST", "/api/serverless-infer/v1/deployment/expert"),
            ("PUT", "/api/serverless-infer/v1/deployment/expert/{id}"),
            ("POST", "/api/serverless-infer/v1/deployment/lora"),
            ("PUT", "/api/serverless-infer/v1/deployment/lora/{id}"),
            ("GET", "/api/serverless-infer/v1/deployment/list"),
            ("GET", "/api/serverless-infer/v1/deployment/{id}"),
            ("DELETE", "/api/serverless-infer/v1/deployment/{id}"),
            ("PUT", "/api/serverless-infer/v1/deployment/{id}/scale"),
            ("POST", "/api/serverless-infer/v1/deployment/{id}/cancel"),
            ("POST", "/alaya-svc/{id}/v1/chat/completions"),
        ];
        let mut kinds = std::collections::HashSet::new();
        for (method, route) in routes {
            let method = Method::from_bytes(method.as_bytes()).expect("a method");
            let kind = call_kind(&method, route);
            assert_ne!(kind, "other", "{method} {route}");
            assert!(kinds.insert(kind), "{kind} twice");
        }
        assert_eq!(
            call_kind(&Method::POST, "/api/serverless-infer/v1/deployment/expert"),
            "alaya.deployment.create"
        );
        assert_eq!(
            call_kind(&Method::GET, "/v1/workspaces/{ws}/endpoints/{id}"),
            "fabric.endpoint.show"
        );
    }
}
