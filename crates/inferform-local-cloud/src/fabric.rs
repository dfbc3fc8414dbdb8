//! DataArts Fabric: workspaces, endpoints, models (with versions) and service instances.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::app::Shared;
use crate::fields::{self, Fields, Query};
use crate::reply::{code, fabric_ok, ApiError, Cloud, Result};
use crate::store::{Kind, ObjError, Object, Transition, Txn, GONE};

const F: Cloud = Cloud::Fabric;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v1/workspaces",
            post(create_workspace).get(list_workspaces),
        )
        .route(
            "/v1/workspaces/{ws}",
            put(update_workspace).delete(delete_workspace),
        )
        .route(
            "/v1/workspaces/{ws}/endpoints",
            post(create_endpoint).get(list_endpoints),
        )
        .route(
            "/v1/workspaces/{ws}/endpoints/{id}",
            get(show_endpoint)
                .put(update_endpoint)
                .delete(delete_endpoint),
        )
        .route(
            "/v1/workspaces/{ws}/models",
            post(create_model).get(list_models),
        )
        .route(
            "/v1/workspaces/{ws}/models/{id}",
            put(update_model).delete(delete_model),
        )
        .route(
            "/v1/workspaces/{ws}/models/{id}/versions",
            get(list_versions),
        )
        .route(
            "/v1/workspaces/{ws}/services/instances",
            post(create_instance).get(list_instances),
        )
        .route(
            "/v1/workspaces/{ws}/services/instances/{id}",
            get(show_instance)
                .put(update_instance)
                .delete(delete_instance),
        )
}

/// `2023-05-30T12:24:30.401Z` for a Unix time in milliseconds.
pub(crate) fn iso_time(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).unwrap_or_default()
}

fn uuid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

fn write_failed(e: crate::store::WriteError) -> ApiError {
    ApiError::internal(
        F,
        format!("the local cloud could not save its data: {}", e.0),
    )
}

/// Runs a change on the store, mapping a failed write to a 500.
async fn tx<R>(app: &Shared, f: impl FnOnce(&mut Txn<'_>) -> Result<R>) -> Result<R> {
    app.store.tx(f).await.map_err(write_failed)?
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request(F, msg)
}

fn wrong_status(what: &str, id: &str, status: &str, action: &str) -> ApiError {
    ApiError::fabric(
        StatusCode::BAD_REQUEST,
        code::WRONG_STATUS,
        format!("{what} {id} is {status} and cannot be {action} now"),
    )
}

fn name_taken(what: &str, name: &str) -> ApiError {
    ApiError::fabric(
        StatusCode::BAD_REQUEST,
        code::NAME_TAKEN,
        format!("a {what} named {name:?} already exists"),
    )
}

/// Refuses a change to a field that cannot be updated in place; the same value is fine, so a
/// client may send the whole object back.
fn unchanged(obj: &Object, pointer: &str, given: Option<&Value>, what: &str) -> Result<()> {
    let Some(given) = given.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let current = Value::Object(obj.body.clone());
    if current.pointer(pointer) == Some(given) {
        return Ok(());
    }
    let field = pointer.trim_start_matches('/').replace('/', ".");
    Err(bad(format!(
        "{field} cannot be changed; create a new {what}"
    )))
}

/// The workspace must exist.
fn need_workspace(t: &Txn<'_>, ws: &str) -> Result<()> {
    match t.get(Kind::FabricWorkspace, ws) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(F, "workspace", ws)),
    }
}

/// An object of `kind` that lives in workspace `ws`.
fn child<'t>(t: &'t Txn<'_>, kind: Kind, ws: &str, id: &str, what: &str) -> Result<&'t Object> {
    need_workspace(t, ws)?;
    t.get(kind, id)
        .filter(|o| o.str("workspace_id") == ws)
        .ok_or_else(|| ApiError::not_found(F, what, id))
}

/// `offset` (default 0) and `limit` (1–100, default 10).
fn paging(q: &Query) -> Result<(usize, usize)> {
    let offset = q.int(F, "offset", 0, u64::from(u32::MAX), 0)?;
    let limit = q.int(F, "limit", 1, 100, 10)?;
    Ok((offset as usize, limit as usize))
}

fn page(items: Vec<Value>, key: &str, offset: usize, limit: usize) -> Value {
    let total = items.len();
    let rows: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let mut out = Map::new();
    out.insert("total".into(), json!(total));
    out.insert(key.into(), Value::Array(rows));
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// The API view of any Fabric object, as GET or list shows it.
pub(crate) fn render(obj: &Object, base: &str) -> Value {
    let mut m = obj.body.clone();
    match obj.kind {
        Kind::FabricWorkspace => {
            m.insert(
                "access_url".into(),
                json!(format!("{base}/v1/workspaces/{}/", obj.id)),
            );
        }
        Kind::FabricEndpoint => {
            m.insert("status".into(), json!(obj.status));
            let urls = if obj.status == "RUNNING" || obj.status == "UPDATING" {
                vec![format!(
                    "{base}/v1/workspaces/{}/services/instances",
                    obj.str("workspace_id")
                )]
            } else {
                Vec::new()
            };
            m.insert("urls".into(), json!(urls));
            insert_error(&mut m, obj);
        }
        Kind::FabricModel | Kind::FabricModelVersion => {
            m.insert("status".into(), json!(obj.status));
        }
        Kind::FabricServiceInstance => {
            m.insert("status".into(), json!(obj.status));
            insert_error(&mut m, obj);
        }
        Kind::AlayaExpertDeployment
        | Kind::AlayaQuickStartDeployment
        | Kind::AlayaLoraDeployment => {}
    }
    Value::Object(m)
}

fn insert_error(m: &mut Map<String, Value>, obj: &Object) {
    let (c, msg) = match &obj.error {
        Some(e) => (json!(e.code), json!(e.msg)),
        None => (Value::Null, Value::Null),
    };
    m.insert("error_code".into(), c);
    m.insert("error_msg".into(), msg);
}

/// The failure an injected failed create reports.
fn injected_failure(what: &str) -> ObjError {
    ObjError {
        code: code::CREATE_FAILED.to_owned(),
        msg: format!("injected failure: the {what} could not be created (insufficient resources)"),
    }
}

// ---------------------------------------------------------------------------------------------
// Workspaces (synchronous)

async fn create_workspace(
    State(app): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let b = fields::object(F, &body)?;
    let f = Fields::new(F, &b);
    let name = f.name("name", 64)?;
    let description = f.opt_str("description")?.unwrap_or_default();
    let metastore_id = f.opt_str("metastore_id")?.unwrap_or_default();
    let enterprise_project_id = f
        .opt_str("enterprise_project_id")?
        .unwrap_or_else(|| "0".to_owned());
    let base = app.base_url(&headers);
    let view = tx(&app, |t| {
        if t.iter(Kind::FabricWorkspace).any(|o| o.str("name") == name) {
            return Err(name_taken("workspace", &name));
        }
        let id = uuid();
        let now = iso_time(t.now);
        let body = json!({
            "id": id, "name": name, "description": description, "create_time": now,
            "create_domain_name": "local", "create_user_name": "local",
            "metastore_id": metastore_id, "enterprise_project_id": enterprise_project_id,
        });
        let obj = Object::new(Kind::FabricWorkspace, id, as_map(body), "", t.now);
        let view = render(&obj, &base);
        t.insert(obj);
        Ok(view)
    })
    .await?;
    Ok(fabric_ok(StatusCode::OK, view))
}

async fn list_workspaces(
    State(app): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let q = Query::parse(raw.as_deref());
    let (offset, limit) = paging(&q)?;
    let base = app.base_url(&headers);
    // A list filtered by id is how a workspace or model is read by id: it sees new ones.
    let by_id = q.get("id").is_some();
    let items = tx(&app, |t| {
        Ok(t.oldest_first(Kind::FabricWorkspace)
            .filter(|o| q.get("id").is_none_or(|id| o.id == id))
            .filter(|o| q.get("name").is_none_or(|n| o.str("name") == n))
            .filter(|o| by_id || app.listed("fabric.workspace.list", o.created_ms, t.now))
            .map(|o| render(o, &base))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(fabric_ok(
        StatusCode::OK,
        page(items, "workspaces", offset, limit),
    ))
}

async fn update_workspace(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(ws): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let b = fields::object(F, &body)?;
    let f = Fields::new(F, &b);
    let name = f.opt_name("name", 64)?;
    let description = f.opt_str("description")?;
    let metastore_id = f.opt_str("metastore_id")?;
    let base = app.base_url(&headers);
    let view = tx(&app, |t| {
        need_workspace(t, &ws)?;
        if let Some(w) = t.get(Kind::FabricWorkspace, &ws) {
            unchanged(
                w,
                "/enterprise_project_id",
                b.get("enterprise_project_id"),
                "workspace",
            )?;
        }
        if let Some(name) = &name {
            if t.iter(Kind::FabricWorkspace)
                .any(|o| o.id != ws && o.str("name") == name)
            {
                return Err(name_taken("workspace", name));
            }
        }
        let obj = t
            .get_mut(Kind::FabricWorkspace, &ws)
            .ok_or_else(|| ApiError::not_found(F, "workspace", &ws))?;
        for (k, v) in [
            ("name", name),
            ("description", description),
            ("metastore_id", metastore_id),
        ] {
            if let Some(v) = v {
                obj.body.insert(k.into(), json!(v));
            }
        }
        Ok(render(obj, &base))
    })
    .await?;
    Ok(fabric_ok(StatusCode::OK, view))
}

async fn delete_workspace(State(app): State<Shared>, Path(ws): Path<String>) -> Result<Response> {
    tx(&app, |t| {
        need_workspace(t, &ws)?;
        let endpoints = t
            .iter(Kind::FabricEndpoint)
            .filter(|o| o.str("workspace_id") == ws)
            .count();
        let models = t
            .iter(Kind::FabricModel)
            .filter(|o| o.str("workspace_id") == ws)
            .count();
        if endpoints + models > 0 {
            return Err(ApiError::fabric(
                StatusCode::BAD_REQUEST,
                code::IN_USE,
                format!(
                    "workspace {ws} still holds {endpoints} endpoint(s) and {models} model(s); \
                     delete them first"
                ),
            ));
        }
        t.remove(Kind::FabricWorkspace, &ws);
        Ok(())
    })
    .await?;
    Ok(fabric_ok(StatusCode::OK, json!({})))
}

// ---------------------------------------------------------------------------------------------
// Endpoints (asynchronous)

/// A validated `reserved_resource {mu {spec_code, min, max}}`.
fn reserved_resource(f: &Fields<'_>) -> Result<Option<Value>> {
    let Some(rr) = f.opt_obj("reserved_resource")? else {
        return Ok(None);
    };
    let Some(mu) = rr.opt_obj("mu")? else {
        return Ok(Some(Value::Object(rr.map.clone())));
    };
    let spec_code = mu.req_str("spec_code")?;
    let min = mu.opt_uint("min")?.unwrap_or(0);
    let max = mu.opt_uint("max")?.unwrap_or(min.max(1));
    if max < min {
        return Err(bad(format!(
            "reserved_resource.mu.max ({max}) must be at least reserved_resource.mu.min ({min})"
        )));
    }
    let mut out = rr.map.clone();
    out.insert(
        "mu".into(),
        json!({"spec_code": spec_code, "min": min, "max": max}),
    );
    Ok(Some(Value::Object(out)))
}

/// The endpoint's reserved `mu.max`, when it has one.
fn endpoint_max(ep: &Object) -> Option<u64> {
    ep.body
        .get("reserved_resource")?
        .get("mu")?
        .get("max")?
        .as_u64()
}

fn endpoint_spec(ep: &Object) -> Option<String> {
    ep.body
        .get("reserved_resource")?
        .get("mu")?
        .get("spec_code")?
        .as_str()
        .map(str::to_owned)
}

async fn create_endpoint(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(ws): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let b = fields::object(F, &body)?;
    let f = Fields::new(F, &b);
    let name = f.name("name", 64)?;
    let kind = f.req_str("type")?;
    let description = f.opt_str("description")?.unwrap_or_default();
    let rr = reserved_resource(&f)?;
    let timing = app.timings().endpoint_create_ms;
    let fail = app.roll_create_failure("fabric.endpoint.create");
    let stuck = app.roll_stuck("fabric.endpoint.create");
    let base = app.base_url(&headers);
    let view = tx(&app, |t| {
        need_workspace(t, &ws)?;
        if t.iter(Kind::FabricEndpoint)
            .any(|o| o.str("workspace_id") == ws && o.str("name") == name)
        {
            return Err(name_taken("endpoint in this workspace", &name));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = iso_time(t.now);
        let mut body = json!({
            "visibility": "PRIVATE", "id": id, "workspace_id": ws, "name": name, "type": kind,
            "description": description, "create_time": now, "update_time": now,
            "owner": {"domain_name": "local", "domain_id": "local-domain",
                      "user_name": "local", "user_id": "local-user"},
        });
        if let (Some(rr), Some(m)) = (rr, body.as_object_mut()) {
            m.insert("reserved_resource".into(), rr);
        }
        let mut obj = Object::new(Kind::FabricEndpoint, id, as_map(body), "CREATING", t.now);
        if fail {
            obj.next = Some(Transition {
                at_ms: t.now.saturating_add(timing),
                to: "CREATE_FAILED".into(),
                merge: None,
                error: Some(injected_failure("endpoint")),
            });
        } else {
            obj.begin("CREATING", t.now, timing, "RUNNING");
        }
        if stuck {
            obj.next = None;
        }
        let view = render(&obj, &base);
        t.insert(obj);
        Ok(view)
    })
    .await?;
    Ok(fabric_ok(StatusCode::OK, view))
}

async fn list_endpoints(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let q = Query::parse(raw.as_deref());
    let (offset, limit) = paging(&q)?;
    let base = app.base_url(&headers);
    let items = tx(&app, |t| {
        need_workspace(t, &ws)?;
        Ok(t.oldest_first(Kind::FabricEndpoint)
            .filter(|o| o.str("workspace_id") == ws)
            .filter(|o| q.get("name").is_none_or(|n| o.str("name") == n))
            .filter(|o| q.get("type").is_none_or(|n| o.str("type") == n))
            .filter(|o| app.listed("fabric.endpoint.list", o.created_ms, t.now))
            .map(|o| render(o, &base))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(fabric_ok(
        StatusCode::OK,
        page(items, "endpoints", offset, limit),
    ))
}

async fn show_endpoint(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response> {
    let base = app.base_url(&headers);
    let view = tx(&app, |t| {
        Ok(render(
            child(t, Kind::FabricEndpoint, &ws, &id, "endpoint")?,
            &base,
        ))
    })
    .await?;
    Ok(fabric_ok(StatusCode::OK, view))
}

async fn update_endpoint(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path((ws, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let b = fields::object(F, &body)?;
    let f = Fields::new(F, &b);
    let name = f.opt_name("name", 64)?;
    let description = f.opt_str("description")?;
    let rr = reserved_resource(&f)?;
    let timing = app.timings().endpoint_update_ms;
    let base = app.base_url(&headers);
    let view = tx(&app, |t| {
        let ep = child(t, Kind::FabricEndpoint, &ws, &id, "endpoint")?;
        unchanged(ep, "/type", b.get("type"), "endpoint")?;
        if ep.status != "RUNNING" && ep.status != "UPDATE_FAILED" {
            return Err(wrong_status("endpoint", &id, &ep.status, "updated"));
        }
        if let Some(name) = &name {
            if t.iter(Kind::FabricEndpoint)
                .any(|o| o.id != id && o.str("workspace_id") == ws && o.str("name") == name)
            {
                return Err(name_taken("endpoint in this workspace", name));
            }
        }
        if let Some(new_max) = rr.as_ref().and_then(|r| r.get("mu")?.get("max")?.as_u64()) {
            if let Some(inst) = t
                .iter(Kind::FabricServiceInstance)
                .find(|i| i.str("endpoint_id") == id && instance_range(i).1 > new_max)
            {
                return Err(bad(format!(
                    "reserved_resource.mu.max ({new_max}) is below the max of service instance {}",
                    inst.id
                )));
            }
        }
        let mut merge = Map::new();
        if let Some(v) = name {
            merge.insert("name".into(), json!(v));
        }
        if let Some(v) = description {
            merge.insert("description".into(), json!(v));
        }
        if let Some(v) = rr {
            merge.insert("reserved_resource".into(), v);
        }
        merge.insert(
            "update_time".into(),
            json!(iso_time(t.now.saturating_add(timing))),
        );
        let now = t.now;
        let ep = t
            .get_mut(Kind::FabricEndpoint, &id)
            .ok_or_else(|| ApiError::not_found(F, "endpoint", &id))?;
        ep.begin("UPDATING", now, timing, "RUNNING");
        ep.error = None;
        if let Some(n) = &mut ep.next {
            n.merge = Some(merge);
        }
        Ok(render(ep, &base))
    })
    .await?;
    Ok(fabric_ok(StatusCode::ACCEPTED, view))
}

async fn delete_endpoint(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response> {
    let timing = app.timings().endpoint_delete_ms;
    let base = app.base_url(&headers);
    let view = tx(&app, |t| {
        let ep = child(t, Kind::FabricEndpoint, &ws, &id, "endpoint")?;
        if ep.status != "DELETING" {
            let users: Vec<&str> = t
                .iter(Kind::FabricServiceInstance)
                .filter(|i| i.str("endpoint_id") == id)
                .map(|i| i.id.as_str())
                .collect();
            if !users.is_empty() {
                return Err(ApiError::fabric(
                    StatusCode::BAD_REQUEST,
                    code::IN_USE,
                    format!(
                        "endpoint {id} still serves service instance(s) {}; delete them first",
                        users.join(", ")
                    ),
                ));
            }
        }
        let now = t.now;
        let ep = t
            .get_mut(Kind::FabricEndpoint, &id)
            .ok_or_else(|| ApiError::not_found(F, "endpoint", &id))?;
        if ep.status != "DELETING" {
            ep.begin("DELETING", now, timing, GONE);
        }
        Ok(render(ep, &base))
    })
    .await?;
    Ok(fabric_ok(StatusCode::ACCEPTED, view))
}

// ---------------------------------------------------------------------------------------------
// Models and versions

/// A validated `version {name, description, config {llm_model_config {..}}}`.
fn version_fields(v: Option<Fields<'_>>) -> Result<(String, String, Value)> {
    let Some(v) = v else {
        return Ok(("v1".into(), String::new(), json!({})));
    };
    let name = v.opt_name("name", 64)?.unwrap_or_else(|| "v1".into());
    let description = v.opt_str("description")?.unwrap_or_default();
    let config = match v.opt_obj("config")? {
        None => json!({}),
        Some(c) => {
            if let Some(llm) = c.opt_obj("llm_model_config")? {
                llm.opt_str("base_model_type")?;
                llm.opt_str("model_path")?;
            }
            Value::Object(c.map.clone())
        }
    };
    Ok((name, description, config))
}

fn new_version(
    t: &Txn<'_>,
    ws: &str,
    model_id: &str,
    (name, description, config): (String, String, Value),
    status: &str,
) -> Object {
    let id = uuid();
    let body = json!({
        "id": id, "model_id": model_id, "workspace_id": ws, "name": name,
        "description": description, "config": config, "create_time": iso_time(t.now),
    });
    Object::new(Kind::FabricModelVersion, id, as_map(body), status, t.now)
}

async fn create_model(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let b = fields::object(F, &body)?;
    let f = Fields::new(F, &b);
    let name = f.name("name", 64)?;
    let kind = f.req_str("type")?;
    let description = f.opt_str("description")?.unwrap_or_default();
    let version = version_fields(f.opt_obj("version")?)?;
    let (id, version_id) = tx(&app, |t| {
        need_workspace(t, &ws)?;
        if t.iter(Kind::FabricModel)
            .any(|o| o.str("workspace_id") == ws && o.str("name") == name)
        {
            return Err(name_taken("model in this workspace", &name));
        }
        let id = uuid();
        let v = new_version(t, &ws, &id, version, "RUNNING");
        let version_id = v.id.clone();
        let now = iso_time(t.now);
        let body = json!({
            "id": id, "workspace_id": ws, "name": name, "type": kind,
            "description": description, "version_id": version_id,
            "create_time": now, "update_time": now,
        });
        t.insert(Object::new(
            Kind::FabricModel,
            id.clone(),
            as_map(body),
            "RUNNING",
            t.now,
        ));
        t.insert(v);
        Ok((id, version_id))
    })
    .await?;
    Ok(fabric_ok(
        StatusCode::OK,
        json!({"id": id, "version_id": version_id}),
    ))
}

/// A model as the list shows it: its fields, status, and its current version.
fn render_model(t: &Txn<'_>, m: &Object, base: &str) -> Value {
    let mut v = render(m, base);
    let current = t.get(Kind::FabricModelVersion, m.str("version_id"));
    if let (Some(obj), Some(cur)) = (v.as_object_mut(), current) {
        obj.insert("version".into(), render(cur, base));
    }
    v
}

async fn list_models(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let q = Query::parse(raw.as_deref());
    let (offset, limit) = paging(&q)?;
    let base = app.base_url(&headers);
    // A list filtered by id is how a workspace or model is read by id: it sees new ones.
    let by_id = q.get("id").is_some();
    let items = tx(&app, |t| {
        need_workspace(t, &ws)?;
        Ok(t.oldest_first(Kind::FabricModel)
            .filter(|o| o.str("workspace_id") == ws)
            .filter(|o| q.get("id").is_none_or(|id| o.id == id))
            .filter(|o| q.get("name").is_none_or(|n| o.str("name") == n))
            .filter(|o| q.get("type").is_none_or(|n| o.str("type") == n))
            .filter(|o| by_id || app.listed("fabric.model.list", o.created_ms, t.now))
            .map(|o| render_model(t, o, &base))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(fabric_ok(
        StatusCode::OK,
        page(items, "models", offset, limit),
    ))
}

async fn list_versions(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path((ws, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let q = Query::parse(raw.as_deref());
    let (offset, limit) = paging(&q)?;
    let base = app.base_url(&headers);
    let items = tx(&app, |t| {
        child(t, Kind::FabricModel, &ws, &id, "model")?;
        Ok(t.oldest_first(Kind::FabricModelVersion)
            .filter(|v| v.str("model_id") == id)
            .map(|v| render(v, &base))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(fabric_ok(
        StatusCode::OK,
        page(items, "versions", offset, limit),
    ))
}

async fn update_model(
    State(app): State<Shared>,
    Path((ws, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let b = fields::object(F, &body)?;
    let f = Fields::new(F, &b);
    let name = f.opt_name("name", 64)?;
    let description = f.opt_str("description")?;
    let version = match f.opt_obj("version")? {
        Some(v) => Some(version_fields(Some(v))?),
        None => None,
    };
    let timing = app.timings().model_update_ms;
    let (status, version_id) = tx(&app, |t| {
        let m = child(t, Kind::FabricModel, &ws, &id, "model")?;
        unchanged(m, "/type", b.get("type"), "model")?;
        if version.is_some() && m.status == "UPDATING" {
            return Err(wrong_status("model", &id, &m.status, "given a new version"));
        }
        if let Some(name) = &name {
            if t.iter(Kind::FabricModel)
                .any(|o| o.id != id && o.str("workspace_id") == ws && o.str("name") == name)
            {
                return Err(name_taken("model in this workspace", name));
            }
        }
        let now = t.now;
        let new = version.map(|v| {
            let mut obj = new_version(t, &ws, &id, v, "CREATING");
            obj.begin("CREATING", now, timing, "RUNNING");
            obj
        });
        let m = t
            .get_mut(Kind::FabricModel, &id)
            .ok_or_else(|| ApiError::not_found(F, "model", &id))?;
        if let Some(v) = name {
            m.body.insert("name".into(), json!(v));
        }
        if let Some(v) = description {
            m.body.insert("description".into(), json!(v));
        }
        m.body.insert("update_time".into(), json!(iso_time(now)));
        let mut version_id = m.str("version_id").to_owned();
        if let Some(v) = &new {
            version_id = v.id.clone();
            m.begin("UPDATING", now, timing, "RUNNING");
            if let Some(n) = &mut m.next {
                let mut merge = Map::new();
                merge.insert("version_id".into(), json!(v.id));
                n.merge = Some(merge);
            }
        }
        let status = m.status.clone();
        if let Some(v) = new {
            t.insert(v);
        }
        Ok((status, version_id))
    })
    .await?;
    let code = if status == "UPDATING" {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok(fabric_ok(code, json!({"id": id, "version_id": version_id})))
}

async fn delete_model(
    State(app): State<Shared>,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response> {
    tx(&app, |t| {
        child(t, Kind::FabricModel, &ws, &id, "model")?;
        let users: Vec<&str> = t
            .iter(Kind::FabricServiceInstance)
            .filter(|i| source_id(i) == Some(id.as_str()))
            .map(|i| i.id.as_str())
            .collect();
        if !users.is_empty() {
            return Err(ApiError::fabric(
                StatusCode::BAD_REQUEST,
                code::IN_USE,
                format!(
                    "model {id} is used by service instance(s) {}; delete them first",
                    users.join(", ")
                ),
            ));
        }
        let versions: Vec<String> = t
            .iter(Kind::FabricModelVersion)
            .filter(|v| v.str("model_id") == id)
            .map(|v| v.id.clone())
            .collect();
        for v in versions {
            t.remove(Kind::FabricModelVersion, &v);
        }
        t.remove(Kind::FabricModel, &id);
        Ok(())
    })
    .await?;
    Ok(fabric_ok(StatusCode::OK, json!({})))
}

// ---------------------------------------------------------------------------------------------
// Service instances (asynchronous, on the "ep" host)

fn source_id(i: &Object) -> Option<&str> {
    i.body.get("source")?.get("id")?.as_str()
}

/// `(min, max)` of an instance's `config.model_instance_config.resource`.
pub(crate) fn instance_range(i: &Object) -> (u64, u64) {
    let r = i
        .body
        .get("config")
        .and_then(|c| c.get("model_instance_config"))
        .and_then(|c| c.get("resource"));
    let get = |k: &str| {
        r.and_then(|r| r.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    (get("min"), get("max"))
}

async fn create_instance(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(ws): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let b = fields::object(F, &body)?;
    let f = Fields::new(F, &b);
    let source = f.req_obj("source")?;
    let model_id = source.req_str("id")?;
    let version_id = source.opt_str("version_id")?.filter(|v| !v.is_empty());
    let name = f.name("name", 64)?;
    let endpoint_id = f.req_str("endpoint_id")?;
    let description = f.opt_str("description")?.unwrap_or_default();
    let resource = match f.opt_obj("config")? {
        Some(c) => match c.opt_obj("model_instance_config")? {
            Some(mic) => match mic.opt_obj("resource")? {
                Some(r) => Some((
                    r.opt_str("spec_code")?,
                    r.opt_uint("min")?,
                    r.opt_uint("max")?,
                )),
                None => None,
            },
            None => None,
        },
        None => None,
    };
    let timing = app.timings().instance_create_ms;
    let fail = app.roll_create_failure("fabric.instance.create");
    let stuck = app.roll_stuck("fabric.instance.create");
    let _ = headers;
    let id = tx(&app, |t| {
        need_workspace(t, &ws)?;
        let ep = t
            .get(Kind::FabricEndpoint, &endpoint_id)
            .filter(|e| e.str("workspace_id") == ws)
            .ok_or_else(|| {
                bad(format!(
                    "endpoint_id: endpoint {endpoint_id} does not exist in workspace {ws}"
                ))
            })?;
        if matches!(
            ep.status.as_str(),
            "DELETING" | "CREATE_FAILED" | "DELETE_FAILED" | "FROZEN" | "INACTIVE"
        ) {
            return Err(wrong_status(
                "endpoint",
                &endpoint_id,
                &ep.status,
                "used by a new service instance",
            ));
        }
        let model = t
            .get(Kind::FabricModel, &model_id)
            .filter(|m| m.str("workspace_id") == ws)
            .ok_or_else(|| {
                bad(format!(
                    "source.id: model {model_id} does not exist in workspace {ws}"
                ))
            })?;
        let version_id = match version_id {
            Some(v) => {
                if t.get(Kind::FabricModelVersion, &v)
                    .filter(|o| o.str("model_id") == model_id)
                    .is_none()
                {
                    return Err(bad(format!(
                        "source.version_id: version {v} does not belong to model {model_id}"
                    )));
                }
                v
            }
            None => model.str("version_id").to_owned(),
        };
        let ep_max = endpoint_max(ep);
        let (spec, min, max) = resource.clone().unwrap_or((None, None, None));
        let cap = ep_max.unwrap_or(1).max(1);
        let max = max.unwrap_or_else(|| min.unwrap_or(1).max(1).min(cap));
        let min = min.unwrap_or_else(|| max.min(1));
        if max < min {
            return Err(bad(format!(
                "config.model_instance_config.resource.max ({max}) must be at least min ({min})"
            )));
        }
        if let Some(ep_max) = ep_max {
            if max > ep_max {
                return Err(bad(format!(
                    "config.model_instance_config.resource.max ({max}) exceeds the endpoint's \
                     reserved_resource.mu.max ({ep_max})"
                )));
            }
        }
        let spec = spec.or_else(|| endpoint_spec(ep)).unwrap_or_default();
        if t.iter(Kind::FabricServiceInstance)
            .any(|o| o.str("workspace_id") == ws && o.str("name") == name)
        {
            return Err(name_taken("service instance in this workspace", &name));
        }
        let id = uuid();
        let now = iso_time(t.now);
        let body = json!({
            "id": id, "workspace_id": ws, "name": name, "description": description,
            "endpoint_id": endpoint_id,
            "source": {"id": model_id, "version_id": version_id},
            "config": {"model_instance_config": {"resource": {"spec_code": spec, "min": min, "max": max}}},
            "create_time": now, "update_time": now,
        });
        let mut obj = Object::new(
            Kind::FabricServiceInstance,
            id.clone(),
            as_map(body),
            "CREATING",
            t.now,
        );
        if fail {
            obj.next = Some(Transition {
                at_ms: t.now.saturating_add(timing),
                to: "FAILED".into(),
                merge: None,
                error: Some(injected_failure("service instance")),
            });
        } else {
            obj.begin("CREATING", t.now, timing, "RUNNING");
        }
        if stuck {
            obj.next = None;
        }
        t.insert(obj);
        Ok(id)
    }).await?;
    Ok(fabric_ok(StatusCode::OK, json!({"id": id})))
}

async fn list_instances(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let q = Query::parse(raw.as_deref());
    let (offset, limit) = paging(&q)?;
    let base = app.base_url(&headers);
    let items = tx(&app, |t| {
        need_workspace(t, &ws)?;
        Ok(t.oldest_first(Kind::FabricServiceInstance)
            .filter(|o| o.str("workspace_id") == ws)
            .filter(|o| q.get("name").is_none_or(|n| o.str("name") == n))
            .filter(|o| {
                q.get("endpoint_id")
                    .is_none_or(|n| o.str("endpoint_id") == n)
            })
            .filter(|o| app.listed("fabric.instance.list", o.created_ms, t.now))
            .map(|o| render(o, &base))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(fabric_ok(
        StatusCode::OK,
        page(items, "instances", offset, limit),
    ))
}

async fn show_instance(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response> {
    let base = app.base_url(&headers);
    let view = tx(&app, |t| {
        Ok(render(
            child(t, Kind::FabricServiceInstance, &ws, &id, "service instance")?,
            &base,
        ))
    })
    .await?;
    Ok(fabric_ok(StatusCode::OK, view))
}

async fn update_instance(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path((ws, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let b = fields::object(F, &body)?;
    let f = Fields::new(F, &b);
    let name = f.opt_name("name", 64)?;
    let description = f.opt_str("description")?;
    // `max` may come at the top level or where create put it.
    let mut max = f.opt_uint("max")?;
    if let Some(c) = f.opt_obj("config")? {
        if let Some(r) = c
            .opt_obj("model_instance_config")?
            .map(|m| m.opt_obj("resource"))
            .transpose()?
            .flatten()
        {
            if let Some(m) = r.opt_uint("max")? {
                max = Some(m);
            }
        }
    }
    let timing = app.timings().instance_update_ms;
    let base = app.base_url(&headers);
    let view = tx(&app, |t| {
        let inst = child(t, Kind::FabricServiceInstance, &ws, &id, "service instance")?;
        let what = "service instance";
        unchanged(inst, "/endpoint_id", b.get("endpoint_id"), what)?;
        let source = b.get("source");
        unchanged(inst, "/source/id", source.and_then(|s| s.get("id")), what)?;
        unchanged(
            inst,
            "/source/version_id",
            source.and_then(|s| s.get("version_id")),
            what,
        )?;
        let resource = b
            .get("config")
            .and_then(|c| c.pointer("/model_instance_config/resource"));
        for k in ["min", "spec_code"] {
            let pointer = format!("/config/model_instance_config/resource/{k}");
            unchanged(inst, &pointer, resource.and_then(|r| r.get(k)), what)?;
        }
        if inst.status != "RUNNING" && inst.status != "FAILED" {
            return Err(wrong_status(
                "service instance",
                &id,
                &inst.status,
                "updated",
            ));
        }
        let (min, _) = instance_range(inst);
        let mut merge = Map::new();
        if let Some(max) = max {
            if max < min {
                return Err(bad(format!("max ({max}) must be at least min ({min})")));
            }
            let ep_max = t
                .get(Kind::FabricEndpoint, inst.str("endpoint_id"))
                .and_then(endpoint_max);
            if let Some(ep_max) = ep_max.filter(|m| max > *m) {
                return Err(bad(format!(
                    "max ({max}) exceeds the endpoint's reserved_resource.mu.max ({ep_max})"
                )));
            }
            let mut config = inst.body.get("config").cloned().unwrap_or(json!({}));
            if let Some(r) = config
                .pointer_mut("/model_instance_config/resource")
                .and_then(Value::as_object_mut)
            {
                r.insert("max".into(), json!(max));
            }
            merge.insert("config".into(), config);
        }
        if let Some(name) = &name {
            if t.iter(Kind::FabricServiceInstance)
                .any(|o| o.id != id && o.str("workspace_id") == ws && o.str("name") == name)
            {
                return Err(name_taken("service instance in this workspace", name));
            }
            merge.insert("name".into(), json!(name));
        }
        if let Some(d) = description {
            merge.insert("description".into(), json!(d));
        }
        merge.insert(
            "update_time".into(),
            json!(iso_time(t.now.saturating_add(timing))),
        );
        let now = t.now;
        let inst = t
            .get_mut(Kind::FabricServiceInstance, &id)
            .ok_or_else(|| ApiError::not_found(F, "service instance", &id))?;
        inst.begin("UPDATING", now, timing, "RUNNING");
        inst.error = None;
        if let Some(n) = &mut inst.next {
            n.merge = Some(merge);
        }
        Ok(render(inst, &base))
    })
    .await?;
    Ok(fabric_ok(StatusCode::ACCEPTED, view))
}

async fn delete_instance(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path((ws, id)): Path<(String, String)>,
) -> Result<Response> {
    let timing = app.timings().instance_delete_ms;
    let base = app.base_url(&headers);
    let view = tx(&app, |t| {
        child(t, Kind::FabricServiceInstance, &ws, &id, "service instance")?;
        let now = t.now;
        let inst = t
            .get_mut(Kind::FabricServiceInstance, &id)
            .ok_or_else(|| ApiError::not_found(F, "service instance", &id))?;
        if inst.status != "DELETING" {
            inst.begin("DELETING", now, timing, GONE);
        }
        Ok(render(inst, &base))
    })
    .await?;
    Ok(fabric_ok(StatusCode::ACCEPTED, view))
}

// ---------------------------------------------------------------------------------------------

pub(crate) fn as_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
