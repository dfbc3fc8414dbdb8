//! Answers in each cloud's format: Fabric's plain JSON and error bodies, Alaya's envelope.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Which cloud a call belongs to, and so which error format it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cloud {
    Fabric,
    Alaya,
}

/// Fabric error codes that this server uses **[ours]**, besides the gateway's `APIG.*` codes.
pub(crate) mod code {
    /// A missing or invalid field, or a body that is not JSON.
    pub const BAD_REQUEST: &str = "dataartsfabric.00040001";
    /// A name already taken in its scope.
    pub const NAME_TAKEN: &str = "dataartsfabric.00040002";
    /// The object is in a status that does not allow the call.
    pub const WRONG_STATUS: &str = "dataartsfabric.00040003";
    /// Other objects still depend on this one.
    pub const IN_USE: &str = "dataartsfabric.00040009";
    /// No such object.
    pub const NOT_FOUND: &str = "dataartsfabric.00040404";
    /// An internal error (also injected faults).
    pub const INTERNAL: &str = "dataartsfabric.00050000";
    /// Service unavailable (injected faults).
    pub const UNAVAILABLE: &str = "dataartsfabric.00050003";
    /// The reason an injected failed create gives.
    pub const CREATE_FAILED: &str = "dataartsfabric.00050010";
}

/// An error answer: HTTP status, error code (Fabric) and message, rendered per cloud.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub cloud: Cloud,
    pub status: StatusCode,
    pub code: String,
    pub msg: String,
    pub solution: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(
        cloud: Cloud,
        status: StatusCode,
        code: &str,
        msg: impl Into<String>,
    ) -> Self {
        ApiError {
            cloud,
            status,
            code: code.to_owned(),
            msg: msg.into(),
            solution: String::new(),
            retry_after: None,
        }
    }

    pub(crate) fn with_solution(mut self, solution: impl Into<String>) -> Self {
        self.solution = solution.into();
        self
    }

    pub(crate) fn fabric(status: StatusCode, code: &str, msg: impl Into<String>) -> Self {
        ApiError::new(Cloud::Fabric, status, code, msg)
    }

    pub(crate) fn alaya(status: StatusCode, msg: impl Into<String>) -> Self {
        ApiError::new(Cloud::Alaya, status, "", msg)
    }

    /// A 400 for the cloud, with the code Fabric uses for bad fields.
    pub(crate) fn bad_request(cloud: Cloud, msg: impl Into<String>) -> Self {
        ApiError::new(cloud, StatusCode::BAD_REQUEST, code::BAD_REQUEST, msg)
    }

    pub(crate) fn not_found(cloud: Cloud, what: &str, id: &str) -> Self {
        ApiError::new(
            cloud,
            StatusCode::NOT_FOUND,
            code::NOT_FOUND,
            format!("{what} {id} does not exist"),
        )
    }

    pub(crate) fn internal(cloud: Cloud, msg: impl Into<String>) -> Self {
        ApiError::new(
            cloud,
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            msg,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.cloud {
            Cloud::Fabric => {
                let solution = if self.solution.is_empty() {
                    default_solution(self.status).to_owned()
                } else {
                    self.solution
                };
                json!({"error_code": self.code, "error_msg": self.msg, "solution_msg": solution})
            }
            Cloud::Alaya => json!({"code": -1, "data": null, "msg": self.msg}),
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

fn default_solution(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Check the request parameters against the API reference.",
        401 => "Check the credentials and the request signature.",
        404 => "Check that the object exists and the id is right.",
        429 => "Retry after the time given in Retry-After.",
        _ => "Retry later; contact support if the problem persists.",
    }
}

/// A Fabric success: plain JSON.
pub(crate) fn fabric_ok(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// An Alaya success: `{"code": 0, "data": .., "msg": "success"}`, always HTTP 200.
pub(crate) fn alaya_ok(data: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"code": 0, "data": data, "msg": "success"})),
    )
        .into_response()
}

pub(crate) type Result<T, E = ApiError> = std::result::Result<T, E>;
