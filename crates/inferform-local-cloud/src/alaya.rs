//! Alaya NeW serverless inference, in the `{code, data, msg}` envelope: expert deployments
//! and their sibling kinds, quick-start deployments (`POST /deployment`) and LoRA
//! deployments (`POST /deployment/lora`), which share get, list, cancel and delete.

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
use crate::store::{Kind, ObjError, Object, Txn, GONE};

const A: Cloud = Cloud::Alaya;

/// Every deployment kind; they share one id space and the calls by service id.
pub(crate) const DEPLOYMENTS: [Kind; 3] = [
    Kind::AlayaExpertDeployment,
    Kind::AlayaQuickStartDeployment,
    Kind::AlayaLoraDeployment,
];

/// The kinds that run instances of their own and answer at their own `serviceUrl`; a LoRA
/// deployment runs on one of them.
pub(crate) const BASES: [Kind; 2] = [Kind::AlayaExpertDeployment, Kind::AlayaQuickStartDeployment];

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/deployment", post(create_quick_start))
        .route("/deployment/expert", post(create_expert))
        .route("/deployment/expert/{id}", put(update_expert))
        .route("/deployment/lora", post(create_lora))
        .route("/deployment/lora/{id}", put(update_lora))
        .route("/deployment/list", get(list))
        .route("/deployment/{id}", get(show).delete(delete))
        .route("/deployment/{id}/scale", put(scale))
        .route("/deployment/{id}/cancel", post(cancel))
}

/// The `mode` a kind shows (and the list's `model` filter takes).
pub(crate) fn mode(kind: Kind) -> &'static str {
    match kind {
        Kind::AlayaExpertDeployment => "expert",
        Kind::AlayaQuickStartDeployment => "quickStart",
        Kind::AlayaLoraDeployment => "lora",
        _ => "",
    }
}

/// The body field that holds a base kind's configuration (with its `scale`).
fn config_key(kind: Kind) -> &'static str {
    match kind {
        Kind::AlayaExpertDeployment => "expert",
        Kind::AlayaQuickStartDeployment => "quickStart",
        _ => "",
    }
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

/// A deployment of any kind.
pub(crate) fn find_any<'t>(t: &'t Txn<'_>, id: &str) -> Option<&'t Object> {
    DEPLOYMENTS.iter().find_map(|k| t.get(*k, id))
}

fn find<'t>(t: &'t Txn<'_>, id: &str) -> Result<&'t Object> {
    find_any(t, id).ok_or_else(|| not_found(id))
}

/// Whether a delete is under way.
fn deleting(d: &Object) -> bool {
    d.status == "stopping" && d.next.as_ref().is_some_and(|n| n.to == GONE)
}

/// The served names of a deployment.
fn served_names(d: &Object) -> Vec<String> {
    d.body
        .get("servedName")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The LoRA deployments that run on base deployment `base_id`.
pub(crate) fn loras_of<'t>(t: &'t Txn<'_>, base_id: &'t str) -> impl Iterator<Item = &'t Object> {
    t.iter(Kind::AlayaLoraDeployment)
        .filter(move |l| l.str("baseServiceId") == base_id)
}

/// Names are unique per VKS cluster and namespace, across every kind.
fn name_free(t: &Txn<'_>, vks_id: &str, namespace: &str, name: &str, except: &str) -> Result<()> {
    let taken = DEPLOYMENTS.iter().flat_map(|k| t.iter(*k)).any(|d| {
        d.id != except
            && d.str("vksId") == vks_id
            && d.str("namespace") == namespace
            && d.str("name") == name
    });
    if taken {
        return Err(bad(format!(
            "a deployment named {name:?} already exists in {vks_id}/{namespace}"
        )));
    }
    Ok(())
}

/// Starts a deployment: `starting`, then `running`, or `failed` when the create is to fail.
fn start(d: &mut Object, now: u64, timing: u64, fail: bool) {
    if fail {
        d.begin("starting", now, timing, "failed");
        if let Some(n) = &mut d.next {
            n.error = Some(ObjError {
                code: "-1".into(),
                msg: "injected failure: the deployment could not start (insufficient GPUs)".into(),
            });
        }
    } else {
        d.begin("starting", now, timing, "running");
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies

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

/// Checks a `resource {workers, mem, cpu, gpu {gpuType, count}}`.
fn check_resource(r: &Fields<'_>) -> Result<()> {
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
    Ok(())
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
        check_resource(&r)?;
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

/// A validated body of a deployment that runs its own instances (expert or quick start).
struct BaseSpec {
    vks_id: String,
    namespace: String,
    name: String,
    served_name: Vec<String>,
    model_id: String,
    /// The mode's configuration, shown under [`config_key`].
    config: Value,
}

/// The fields every base kind starts with.
fn base_identity(f: &Fields<'_>, config: Value) -> Result<BaseSpec> {
    Ok(BaseSpec {
        vks_id: f.req_str("vksId")?,
        namespace: f.req_str("namespace")?,
        name: f.name("name", 64)?,
        served_name: f.req_str_list("servedName")?,
        model_id: f.req_str("modelId")?,
        config,
    })
}

/// The expert create / offline-update body (the seed's).
fn expert_spec(b: &Map<String, Value>) -> Result<BaseSpec> {
    let f = Fields::new(A, b);
    // Identity first, so that errors name fields in the order the API lists them.
    let mut spec = base_identity(&f, Value::Null)?;
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
    spec.config = Value::Object(expert);
    Ok(spec)
}

/// The quick-start body: `backend`, `backendVersion`, `backendArgs`, `resource`, and
/// **[ours]** an optional `scale` (default `{min: 1, max: 1}`).
fn quick_start_spec(b: &Map<String, Value>) -> Result<BaseSpec> {
    let f = Fields::new(A, b);
    let mut spec = base_identity(&f, Value::Null)?;
    let backend = f.req_str("backend")?;
    let backend_version = f.req_str("backendVersion")?;
    if !f.has("backendArgs") {
        return Err(bad(
            "backendArgs is required (a list of strings, may be empty)",
        ));
    }
    f.opt_str_list("backendArgs")?;
    let args = f.get("backendArgs").cloned().unwrap_or(json!([]));
    let resource = f.req_obj("resource")?;
    check_resource(&resource)?;
    let scale = match f.opt_obj("scale")? {
        Some(s) => scale_fields(&s)?,
        None => json!({"min": 1, "max": 1}),
    };
    spec.config = json!({
        "backend": backend, "backendVersion": backend_version, "backendArgs": args,
        "resource": Value::Object(resource.map.clone()), "scale": scale,
    });
    Ok(spec)
}

/// A validated LoRA body `{baseServiceId, modelId, name, servedName}`.
struct LoraSpec {
    base_service_id: String,
    model_id: String,
    name: String,
    served_name: Vec<String>,
}

fn lora_spec(b: &Map<String, Value>) -> Result<LoraSpec> {
    let f = Fields::new(A, b);
    let base_service_id = f.req_str("baseServiceId")?;
    let model_id = f.req_str("modelId")?;
    let name = f.name("name", 64)?;
    // A list in the create page, a string in the details page: take both.
    let served_name = match f.get("servedName") {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => f.req_str_list("servedName")?,
    };
    Ok(LoraSpec {
        base_service_id,
        model_id,
        name,
        served_name,
    })
}

/// Checks a LoRA body against its base: the base exists and is not being deleted, the name
/// is free in the base's namespace, and the served names are new on the base.
fn check_lora<'t>(t: &'t Txn<'_>, s: &LoraSpec, except: &str) -> Result<&'t Object> {
    let base = BASES
        .iter()
        .find_map(|k| t.get(*k, &s.base_service_id))
        .ok_or_else(|| {
            bad(format!(
                "baseServiceId: {} is not an expert or quick-start deployment",
                s.base_service_id
            ))
        })?;
    if deleting(base) {
        return Err(bad(format!(
            "baseServiceId: deployment {} is being deleted",
            base.id
        )));
    }
    name_free(t, base.str("vksId"), base.str("namespace"), &s.name, except)?;
    let mut taken = served_names(base);
    for l in loras_of(t, &base.id).filter(|l| l.id != except) {
        taken.extend(served_names(l));
    }
    if let Some(n) = s.served_name.iter().find(|n| taken.contains(n)) {
        return Err(bad(format!(
            "servedName {n:?} is already served by deployment {} or one of its LoRA deployments",
            base.id
        )));
    }
    Ok(base)
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn scale_of(d: &Object) -> (u64, u64, u64) {
    let s = d.body.get(config_key(d.kind)).and_then(|e| e.get("scale"));
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

/// The API view of a deployment of any kind, at the transaction's time. A LoRA deployment
/// shows its base's `serviceUrl` (its calls go there, with its `servedName` as the model).
pub(crate) fn render(t: &Txn<'_>, d: &Object, base: &str) -> Value {
    let mut m = d.body.clone();
    m.insert("status".into(), json!(d.status));
    if let Some(e) = &d.error {
        m.insert("errorMsg".into(), json!(e.msg));
    }
    if d.kind == Kind::AlayaLoraDeployment {
        m.insert(
            "serviceUrl".into(),
            json!(format!("{base}/alaya-svc/{}", d.str("baseServiceId"))),
        );
        return Value::Object(m);
    }
    m.insert(
        "serviceUrl".into(),
        json!(format!("{base}/alaya-svc/{}", d.id)),
    );
    let (min, _, _) = scale_of(d);
    let replicas = match d.status.as_str() {
        "running" if scaled_to_zero(d, t.now) => 0,
        "running" | "starting" => min.max(1),
        _ => 0,
    };
    let pod_status = if d.status == "starting" {
        "starting"
    } else {
        "running"
    };
    let loras: Vec<String> = loras_of(t, &d.id)
        .filter(|l| l.status == "running")
        .flat_map(served_names)
        .collect();
    let name = d.str("name").to_owned();
    let instances: Vec<Value> = (0..replicas)
        .map(|i| {
            json!({"instanceId": i.to_string(), "name": format!("{name}-{i}"),
                   "status": pod_status, "baseModelReady": d.status == "running",
                   "loraModels": loras})
        })
        .collect();
    m.insert("instance".into(), Value::Array(instances));
    m.insert("replicas".into(), json!(replicas));
    Value::Object(m)
}

// ---------------------------------------------------------------------------------------------
// Creates and offline updates

async fn create_expert(State(app): State<Shared>, body: Bytes) -> Result<Response> {
    let spec = expert_spec(&fields::object(A, &body)?)?;
    create_base(
        &app,
        Kind::AlayaExpertDeployment,
        "alaya.deployment.create",
        spec,
    )
    .await
}

async fn create_quick_start(State(app): State<Shared>, body: Bytes) -> Result<Response> {
    let spec = quick_start_spec(&fields::object(A, &body)?)?;
    create_base(
        &app,
        Kind::AlayaQuickStartDeployment,
        "alaya.quick_start.create",
        spec,
    )
    .await
}

async fn create_base(app: &Shared, kind: Kind, call: &str, s: BaseSpec) -> Result<Response> {
    let timing = app.timings().alaya_starting_ms;
    let fail = app.roll_create_failure(call);
    let stuck = app.roll_stuck(call);
    let id = tx(app, |t| {
        name_free(t, &s.vks_id, &s.namespace, &s.name, "")?;
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let now = iso_time(t.now);
        let mut body = json!({
            "serviceId": id, "vksId": s.vks_id, "namespace": s.namespace, "name": s.name,
            "servedName": s.served_name, "modelId": s.model_id, "mode": mode(kind),
        });
        if let Some(m) = body.as_object_mut() {
            m.insert(config_key(kind).into(), s.config);
            m.insert(
                "apiKey".into(),
                json!(format!("sk-{}", uuid::Uuid::new_v4().simple())),
            );
            m.insert("createTime".into(), json!(now));
            m.insert("updateTime".into(), json!(now));
        }
        let mut obj = Object::new(kind, id.clone(), as_map(body), "starting", t.now);
        start(&mut obj, t.now, timing, fail);
        if stuck {
            obj.next = None;
        }
        t.insert(obj);
        Ok(id)
    })
    .await?;
    Ok(alaya_ok(json!({"serviceId": id})))
}

async fn create_lora(State(app): State<Shared>, body: Bytes) -> Result<Response> {
    let s = lora_spec(&fields::object(A, &body)?)?;
    let timing = app.timings().alaya_starting_ms;
    let fail = app.roll_create_failure("alaya.lora.create");
    let stuck = app.roll_stuck("alaya.lora.create");
    let id = tx(&app, |t| {
        let base = check_lora(t, &s, "")?;
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let now = iso_time(t.now);
        let body = json!({
            "serviceId": id, "baseServiceId": base.id, "vksId": base.str("vksId"),
            "namespace": base.str("namespace"), "name": s.name, "servedName": s.served_name,
            "modelId": s.model_id, "mode": "lora", "apiKey": base.str("apiKey"),
            "createTime": now, "updateTime": now,
        });
        let mut obj = Object::new(
            Kind::AlayaLoraDeployment,
            id.clone(),
            as_map(body),
            "starting",
            t.now,
        );
        start(&mut obj, t.now, timing, fail);
        if stuck {
            obj.next = None;
        }
        t.insert(obj);
        Ok(id)
    })
    .await?;
    Ok(alaya_ok(json!({"serviceId": id})))
}

/// Refuses an offline update unless the deployment is of `kind` and stopped (or failed).
fn check_offline(d: &Object, kind: Kind, path: &str) -> Result<()> {
    if d.kind != kind {
        return Err(bad(format!(
            "deployment {} is a {} deployment; {path} updates {} deployments only",
            d.id,
            mode(d.kind),
            mode(kind)
        )));
    }
    if d.status != "stopped" && d.status != "failed" {
        return Err(bad(format!(
            "deployment {} is {}; an offline update applies to a stopped deployment: \
             cancel it and wait for `stopped` first",
            d.id, d.status
        )));
    }
    Ok(())
}

async fn update_expert(
    State(app): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let s = expert_spec(&fields::object(A, &body)?)?;
    let timing = app.timings().alaya_starting_ms;
    tx(&app, |t| {
        let d = find(t, &id)?;
        for (field, new) in [
            ("vksId", &s.vks_id),
            ("namespace", &s.namespace),
            ("name", &s.name),
            ("modelId", &s.model_id),
        ] {
            if d.kind == Kind::AlayaExpertDeployment && d.str(field) != new {
                return Err(bad(format!(
                    "{field} cannot be changed ({:?} → {new:?}); create a new deployment",
                    d.str(field)
                )));
            }
        }
        check_offline(
            d,
            Kind::AlayaExpertDeployment,
            "/deployment/expert/{serviceId}",
        )?;
        let now = t.now;
        let d = t
            .get_mut(Kind::AlayaExpertDeployment, &id)
            .ok_or_else(|| not_found(&id))?;
        d.body.insert("servedName".into(), json!(s.served_name));
        d.body.insert("expert".into(), s.config);
        d.body.insert("updateTime".into(), json!(iso_time(now)));
        d.error = None;
        d.last_used_ms = now;
        d.begin("starting", now, timing, "running");
        Ok(())
    })
    .await?;
    Ok(alaya_ok(Value::Null))
}

/// `PUT /deployment/lora/{id}`: a stopped LoRA deployment takes a new model, name or served
/// names and starts again; its base cannot change.
async fn update_lora(
    State(app): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let s = lora_spec(&fields::object(A, &body)?)?;
    let timing = app.timings().alaya_starting_ms;
    tx(&app, |t| {
        let d = find(t, &id)?;
        if d.kind == Kind::AlayaLoraDeployment && d.str("baseServiceId") != s.base_service_id {
            return Err(bad(format!(
                "baseServiceId cannot be changed ({:?} → {:?}); create a new LoRA deployment",
                d.str("baseServiceId"),
                s.base_service_id
            )));
        }
        check_offline(d, Kind::AlayaLoraDeployment, "/deployment/lora/{serviceId}")?;
        check_lora(t, &s, &id)?;
        let now = t.now;
        let d = t
            .get_mut(Kind::AlayaLoraDeployment, &id)
            .ok_or_else(|| not_found(&id))?;
        d.body.insert("name".into(), json!(s.name));
        d.body.insert("servedName".into(), json!(s.served_name));
        d.body.insert("modelId".into(), json!(s.model_id));
        d.body.insert("updateTime".into(), json!(iso_time(now)));
        d.error = None;
        d.begin("starting", now, timing, "running");
        Ok(())
    })
    .await?;
    Ok(alaya_ok(Value::Null))
}

// ---------------------------------------------------------------------------------------------
// Calls shared by every kind

async fn show(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let base = app.base_url(&headers);
    let view = tx(&app, |t| Ok(render(t, find(t, &id)?, &base))).await?;
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
    let (count, rows) = tx(&app, |t| {
        let mut found: Vec<&Object> = DEPLOYMENTS
            .iter()
            .flat_map(|k| t.iter(*k))
            .filter(|d| q.get("vksId").is_none_or(|v| d.str("vksId") == v))
            .filter(|d| q.get("namespace").is_none_or(|v| d.str("namespace") == v))
            .filter(|d| q.get("name").is_none_or(|v| d.str("name") == v))
            .filter(|d| q.get("model").is_none_or(|v| mode(d.kind) == v))
            .filter(|d| app.listed("alaya.deployment.list", d.created_ms, t.now))
            .collect();
        // Oldest first (by creation), so that pages are stable.
        found.sort_by(|a, b| (a.order, a.id.as_str()).cmp(&(b.order, b.id.as_str())));
        let rows: Vec<Value> = found
            .iter()
            .skip((page - 1).saturating_mul(size))
            .take(size)
            .map(|d| render(t, d, &base))
            .collect();
        Ok((found.len(), rows))
    })
    .await?;
    Ok(alaya_ok(json!({"count": count, "rows": rows})))
}

async fn scale(State(app): State<Shared>, Path(id): Path<String>, body: Bytes) -> Result<Response> {
    let b = fields::object(A, &body)?;
    let f = Fields::new(A, &b);
    let new_scale = scale_fields(&f.req_obj("scale")?)?;
    tx(&app, |t| {
        let d = find(t, &id)?;
        if d.kind == Kind::AlayaLoraDeployment {
            return Err(bad(format!(
                "deployment {id} is a LoRA deployment and runs on the instances of {}; \
                 scale that deployment instead",
                d.str("baseServiceId")
            )));
        }
        if d.status == "stopping" {
            return Err(bad(format!(
                "deployment {id} is stopping and cannot be scaled"
            )));
        }
        let (kind, now) = (d.kind, t.now);
        let d = t.get_mut(kind, &id).ok_or_else(|| not_found(&id))?;
        if let Some(c) = d
            .body
            .get_mut(config_key(kind))
            .and_then(Value::as_object_mut)
        {
            c.insert("scale".into(), new_scale);
        }
        d.body.insert("updateTime".into(), json!(iso_time(now)));
        d.last_used_ms = now;
        Ok(())
    })
    .await?;
    Ok(alaya_ok(Value::Null))
}

async fn cancel(State(app): State<Shared>, Path(id): Path<String>) -> Result<Response> {
    let timing = app.timings().alaya_stopping_ms;
    tx(&app, |t| {
        let (kind, now) = (find(t, &id)?.kind, t.now);
        let d = t.get_mut(kind, &id).ok_or_else(|| not_found(&id))?;
        match d.status.as_str() {
            "stopped" | "stopping" => {}
            _ => d.begin("stopping", now, timing, "stopped"),
        }
        Ok(())
    })
    .await?;
    Ok(alaya_ok(Value::Null))
}

/// Deletes a deployment of any kind; **[ours]** a base deployment goes only once no LoRA
/// deployment runs on it.
async fn delete(State(app): State<Shared>, Path(id): Path<String>) -> Result<Response> {
    let timing = app.timings().alaya_stopping_ms;
    tx(&app, |t| {
        let d = find(t, &id)?;
        let loras: Vec<&str> = loras_of(t, &id).map(|l| l.id.as_str()).collect();
        if !loras.is_empty() {
            return Err(bad(format!(
                "deployment {id} still has LoRA deployment(s) {}; delete them first",
                loras.join(", ")
            )));
        }
        let (kind, now) = (d.kind, t.now);
        let d = t.get_mut(kind, &id).ok_or_else(|| not_found(&id))?;
        if !deleting(d) {
            d.begin("stopping", now, timing, GONE);
        }
        Ok(())
    })
    .await?;
    Ok(alaya_ok(Value::Null))
}
