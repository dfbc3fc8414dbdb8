//! `/_local/...`: inspection and control of the local cloud itself, with no auth and no faults.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::app::Shared;
use crate::config::{Faults, Timings};
use crate::store::Kind;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/_local/objects", get(objects))
        .route("/_local/reset", post(reset))
        .route("/_local/faults", get(get_faults).post(set_faults))
        .route(
            "/_local/faults/stats",
            get(get_fault_stats).delete(reset_fault_stats),
        )
        .route("/_local/timings", get(get_timings).post(set_timings))
        .route("/_local/health", get(health))
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({"error": msg.into()}))).into_response()
}

/// Every object of both clouds, grouped by kind, each as the cloud's GET would show it.
async fn objects(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let base = app.base_url(&headers);
    let out = app
        .store
        .tx(|t| {
            let mut out = Map::new();
            for kind in Kind::ALL {
                let items: Vec<Value> = t
                    .iter(kind)
                    .map(|o| {
                        if crate::alaya::DEPLOYMENTS.contains(&kind) {
                            crate::alaya::render(t, o, &base)
                        } else {
                            crate::fabric::render(o, &base)
                        }
                    })
                    .collect();
                out.insert(kind.name().to_owned(), Value::Array(items));
            }
            Value::Object(out)
        })
        .await;
    match out {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.0),
    }
}

/// Removes every object (and its file).
async fn reset(State(app): State<Shared>) -> Response {
    match app.store.tx(|t| t.clear()).await {
        Ok(()) => Json(json!({"reset": true})).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.0),
    }
}

async fn get_faults(State(app): State<Shared>) -> Response {
    Json(app.faults().as_ref().clone()).into_response()
}

/// Replaces the faults with the body (a [`Faults`] document; absent fields are defaults).
async fn set_faults(State(app): State<Shared>, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid faults: {e}")),
    };
    if let Err(msg) = faults.validate() {
        return error(StatusCode::BAD_REQUEST, format!("invalid faults: {msg}"));
    }
    app.set_faults(faults.clone());
    Json(faults).into_response()
}

/// What the faults injected so far: `{"total", "faults": {name: n}, "calls": {call kind:
/// {name: n}}}` (names in [`crate::stats::FaultStats`]).
async fn get_fault_stats(State(app): State<Shared>) -> Response {
    Json(app.stats.snapshot()).into_response()
}

/// Sets every counter back to zero.
async fn reset_fault_stats(State(app): State<Shared>) -> Response {
    app.stats.reset();
    Json(app.stats.snapshot()).into_response()
}

async fn get_timings(State(app): State<Shared>) -> Response {
    Json(app.timings()).into_response()
}

/// Replaces the timings with the body (a [`Timings`] document; `all_ms` allowed). They apply
/// to transitions that start from now on.
async fn set_timings(State(app): State<Shared>, body: Bytes) -> Response {
    let timings: Timings = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid timings: {e}")),
    };
    *app.timings.write().unwrap_or_else(|e| e.into_inner()) = timings;
    Json(timings).into_response()
}

async fn health() -> Response {
    Json(json!({"ok": true})).into_response()
}
