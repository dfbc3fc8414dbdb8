//! Alaya NeW serverless inference: expert deployments, in the `{code, data, msg}` envelope.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::app::Shared;
use crate::fabric::{as_map, iso_time};
use crate::fields::{self, Fields, Query};
use crate::reply::{alaya_ok, ApiError, Cloud, Result};
use crate::store::{Kind, ObjError, Object, Transition, Txn, GONE};

const A: Cloud = Cloud::Alaya;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/deployment/expert", post(create))
        .route("/deployment/expert/{id}", put(offline_update))
        .route("/deployment/list", get(list))
        .route("/deployment/{id}", get(show).delete(delete))
        .route("/deployment/{id}/scale", put(scale))
        .route("/deployment/{id}/cancel", post(cancel))
}

fn write_failed(e: crate::store::WriteError) -> ApiError {
    ApiError::alaya(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the local cloud could not save its data: {}", e.0),
    )
}

async fn tx<R>(app: &Shared, f: impl FnOnce(&mut Txn<'_>) -> Result<R>) -> Result<R> {
    app.store.tx(f).await.map_err(write_failed)?
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::alaya(StatusCode::BAD_REQUEST, msg)
}

fn not_found(id: &str) -> ApiError {
    ApiError::alaya(
        StatusCode::NOT_FOUND,
        format!("deployment {id} does not exist"),
    )
}

fn find<'t>(t: &'t Txn<'_>, id: &str) -> Result<&'t Object> {
    t.get(Kind::AlayaExpertDeployment, id)
        .ok_or_else(|| not_found(id))
}

/// A validated `scale {min, max, rpsValue, idleTime}`.
fn scale_fields(s: &Fields<'_>) -> Result<Value> {
    let min = s.opt_uint("min")?.unwrap_or(0);
    let max = s
        .opt_uint("max")?
        .ok_or_else(|| bad(format!("{} is required", s.path("max"))))?;
    if max < min || max == 0 {
        return Err(bad(format!(
            "{} ({max}) must be at least 1 and at least {} ({min})",
            s.path("max"),
            s.path("min")
        )));
    }
    let mut out = s.map.clone();
    out.insert("min".into(), json!(min));
    out.insert("max".into(), json!(max));
    if let Some(v) = s.opt_uint("rpsValue")? {
        out.insert("rpsValue".into(), json!(v));
    }
    if let Some(v) = s.opt_uint("idleTime")? {
        out.insert("idleTime".into(), json!(v));
    }
    Ok(Value::Object(out))
}

/// Checks the types of the known fields of `headConfig` / `workerConfig`.
fn check_pod_config(c: &Fields<'_>, worker: bool) -> Result<()> {
    c.opt_str("image")?;
    c.opt_str_list("cmd")?;
    c.opt_str_list("args")?;
    c.opt_str_map("env")?;
    c.opt_str_map("labels")?;
    if worker {
        c.opt_uint("workers")?;
    }
    if let Some(r) = c.opt_obj("resource")? {
        for k in ["mem", "cpu"] {
            if let Some(v) = r.get(k) {
                if !v.is_number() {
                    return Err(bad(format!("{} must be a number", r.path(k))));
                }
            }
        }
        r.opt_uint("workers")?;
        if let Some(g) = r.opt_obj("gpu")? {
            g.opt_str("gpuType")?;
            g.opt_uint("count")?;
        }
    }
    if let Some(v) = c.get("pvcMounts") {
        let list = v
            .as_array()
            .ok_or_else(|| bad(format!("{} must be a list", c.path("pvcMounts"))))?;
        for (i, m) in list.iter().enumerate() {
            let Some(m) = m.as_object() else {
                return Err(bad(format!(
                    "{}[{i}] must be an object",
                    c.path("pvcMounts")
                )));
            };
            let mut f = Fields::new(A, m);
            f.prefix = format!("{}[{i}]", c.path("pvcMounts"));
            f.req_str("containerPath")?;
            f.req_str("pvcName")?;
        }
    }
    Ok(())
}

/// The validated create / offline-update body.
struct Spec {
    vks_id: String,
    namespace: String,
    name: String,
    served_name: Vec<String>,
    model_id: String,
    expert: Value,
}

fn spec(b: &Map<String, Value>) -> Result<Spec> {
    let f = Fields::new(A, b);
    let vks_id = f.req_str("vksId")?;
    let namespace = f.req_str("namespace")?;
    let name = f.name("name", 64)?;
    let served_name = f.req_str_list("servedName")?;
    let model_id = f.req_str("modelId")?;
    let head = f.req_obj("headConfig")?;
    check_pod_config(&head, false)?;
    let worker = f.opt_obj("workerConfig")?;
    if let Some(w) = &worker {
        check_pod_config(w, true)?;
    }
    let scale = scale_fields(&f.req_obj("scale")?)?;
    let extensions = f.req_obj("extensions")?;
    let mut expert = Map::new();
    expert.insert("headConfig".into(), Value::Object(head.map.clone()));
    if let Some(w) = worker {
        expert.insert("workerConfig".into(), Value::Object(w.map.clone()));
    }
    expert.insert("scale".into(), scale);
    expert.insert("extensions".into(), Value::Object(extensions.map.clone()));
    Ok(Spec {
        vks_id,
        namespace,
        name,
        served_name,
        model_id,
        expert: Value::Object(expert),
    })
}

fn scale_of(d: &Object) -> (u64, u64, u64) {
    let s = d.body.get("expert").and_then(|e| e.get("scale"));
    let get = |k: &str| s.and_then(|s| s.get(k)).and_then(Value::as_u64);
    (
        get("min").unwrap_or(0),
        get("max").unwrap_or(1),
        get("idleTime").unwrap_or(60),
    )
}

/// Whether a running deployment with `scale.min = 0` has scaled to zero for lack of calls.
pub(crate) fn scaled_to_zero(d: &Object, now: u64) -> bool {
    let (min, _, idle) = scale_of(d);
    d.status == "running"
        && min == 0
        && now.saturating_sub(d.last_used_ms.max(d.since_ms)) >= idle.saturating_mul(1000)
}

/// The API view of a deployment at time `now`.
pub(crate) fn render(d: &Object, base: &str, now: u64) -> Value {
    let mut m = d.body.clone();
    m.insert("status".into(), json!(d.status));
    m.insert(
        "serviceUrl".into(),
        json!(format!("{base}/alaya-svc/{}", d.id)),
    );
    let (min, _, _) = scale_of(d);
    let replicas = match d.status.as_str() {
        "running" if scaled_to_zero(d, now) => 0,
        "running" | "starting" => min.max(1),
        _ => 0,
    };
    let pod_status = if d.status == "starting" {
        "starting"
    } else {
        "running"
    };
    let name = d.str("name").to_owned();
    let instances: Vec<Value> = (0..replicas)
        .map(|i| json!({"name": format!("{name}-{i}"), "status": pod_status}))
        .collect();
    m.insert("instance".into(), Value::Array(instances));
    m.insert("replicas".into(), json!(replicas));
    if let Some(e) = &d.error {
        m.insert("errorMsg".into(), json!(e.msg));
    }
    Value::Object(m)
}

async fn create(State(app): State<Shared>, body: Bytes) -> Result<Response> {
    let b = fields::object(A, &body)?;
    let s = spec(&b)?;
    let timing = app.timings().alaya_starting_ms;
    let fail = app.roll_create_failure("alaya.deployment.create");
    let id = tx(&app, |t| {
        if t.iter(Kind::AlayaExpertDeployment).any(|d| {
            d.str("vksId") == s.vks_id
                && d.str("namespace") == s.namespace
                && d.str("name") == s.name
        }) {
            return Err(bad(format!(
                "a deployment named {:?} already exists in {}/{}",
                s.name, s.vks_id, s.namespace
            )));
        }
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let now = iso_time(t.now);
        let body = json!({
            "serviceId": id, "vksId": s.vks_id, "namespace": s.namespace, "name": s.name,
            "servedName": s.served_name, "modelId": s.model_id, "mode": "expert",
            "expert": s.expert,
            "apiKey": format!("sk-{}", uuid::Uuid::new_v4().simple()),
            "createTime": now, "updateTime": now,
        });
        let mut obj = Object::new(
            Kind::AlayaExpertDeployment,
            id.clone(),
            as_map(body),
            "starting",
            t.now,
        );
        if fail {
            obj.next = Some(Transition {
                at_ms: t.now.saturating_add(timing),
                to: "failed".into(),
                merge: None,
                error: Some(ObjError {
                    code: "-1".into(),
                    msg: "injected failure: the deployment could not start (insufficient GPUs)"
                        .into(),
                }),
            });
        } else {
            obj.begin("starting", t.now, timing, "running");
        }
        t.insert(obj);
        Ok(id)
    })
    .await?;
    Ok(alaya_ok(json!({"serviceId": id})))
}

async fn show(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let base = app.base_url(&headers);
    let view = tx(&app, |t| Ok(render(find(t, &id)?, &base, t.now))).await?;
    Ok(alaya_ok(view))
}

async fn list(
    State(app): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let q = Query::parse(raw.as_deref());
    let page = q.int(A, "page", 1, u64::from(u32::MAX), 1)? as usize;
    let size = q.int(A, "size", 1, 100, 10)? as usize;
    let base = app.base_url(&headers);
    let rows = tx(&app, |t| {
        Ok(t.iter(Kind::AlayaExpertDeployment)
            .filter(|d| q.get("vksId").is_none_or(|v| d.str("vksId") == v))
            .filter(|d| q.get("namespace").is_none_or(|v| d.str("namespace") == v))
            .filter(|d| q.get("name").is_none_or(|v| d.str("name") == v))
            .filter(|d| q.get("model").is_none_or(|v| d.str("mode") == v))
            .map(|d| (d.order, d.id.clone(), render(d, &base, t.now)))
            .collect::<Vec<_>>())
    })
    .await?;
    // Oldest first (by creation), so that pages are stable.
    let mut rows = rows;
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let count = rows.len();
    let rows: Vec<Value> = rows
        .into_iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .map(|(_, _, r)| r)
        .collect();
    Ok(alaya_ok(json!({"count": count, "rows": rows})))
}

async fn scale(State(app): State<Shared>, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let b = fields::object(A, &body)?;
    let f = Fields::new(A, &b);
    let new_scale = scale_fields(&f.req_obj("scale")?)?;
    tx(&app, |t| {
        let d = find(t, &id)?;
        if d.status == "stopping" {
            return Err(bad(format!(
                "deployment {id} is stopping and cannot be scaled"
            )));
        }
        let now = t.now;
        let d = t
            .get_mut(Kind::AlayaExpertDeployment, &id)
            .ok_or_else(|| not_found(&id))?;
        if let Some(e) = d.body.get_mut("expert").and_then(Value::as_object_mut) {
            e.insert("scale".into(), new_scale);
        }
        d.body.insert("updateTime".into(), json!(iso_time(now)));
        d.last_used_ms = now;
        Ok(())
    })
    .await?;
    Ok(alaya_ok(Value::Null))
}

async fn offline_update(
    State(app): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let b = fields::object(A, &body)?;
    let s = spec(&b)?;
    let timing = app.timings().alaya_starting_ms;
    tx(&app, |t| {
        let d = find(t, &id)?;
        for (field, new) in [
            ("vksId", &s.vks_id),
            ("namespace", &s.namespace),
            ("name", &s.name),
            ("modelId", &s.model_id),
        ] {
            if d.str(field) != new {
                return Err(bad(format!(
                    "{field} cannot be changed ({:?} → {new:?}); create a new deployment",
                    d.str(field)
                )));
            }
        }
        if d.status != "stopped" && d.status != "failed" {
            return Err(bad(format!(
                "deployment {id} is {}; an offline update applies to a stopped deployment: \
                 cancel it and wait for `stopped` first",
                d.status
            )));
        }
        let now = t.now;
        let d = t
            .get_mut(Kind::AlayaExpertDeployment, &id)
            .ok_or_else(|| not_found(&id))?;
        d.body.insert("servedName".into(), json!(s.served_name));
        d.body.insert("expert".into(), s.expert);
        d.body.insert("updateTime".into(), json!(iso_time(now)));
        d.error = None;
        d.last_used_ms = now;
        d.begin("starting", now, timing, "running");
        Ok(())
    })
    .await?;
    Ok(alaya_ok(Value::Null))
}

async fn cancel(State(app): State<Shared>, Path(id): Path<String>) -> Result<Response> {
    let timing = app.timings().alaya_stopping_ms;
    tx(&app, |t| {
        find(t, &id)?;
        let now = t.now;
        let d = t
            .get_mut(Kind::AlayaExpertDeployment, &id)
            .ok_or_else(|| not_found(&id))?;
        match d.status.as_str() {
            "stopped" | "stopping" => {}
            _ => d.begin("stopping", now, timing, "stopped"),
        }
        Ok(())
    })
    .await?;
    Ok(alaya_ok(Value::Null))
}

async fn delete(State(app): State<Shared>, Path(id): Path<String>) -> Result<Response> {
    let timing = app.timings().alaya_stopping_ms;
    tx(&app, |t| {
        find(t, &id)?;
        let now = t.now;
        let d = t
            .get_mut(Kind::AlayaExpertDeployment, &id)
            .ok_or_else(|| not_found(&id))?;
        let already = d.status == "stopping" && d.next.as_ref().is_some_and(|n| n.to == GONE);
        if !already {
            d.begin("stopping", now, timing, GONE);
        }
        Ok(())
    })
    .await?;
    Ok(alaya_ok(Value::Null))
}
