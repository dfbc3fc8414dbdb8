//! Invocations: Fabric's `.../instances/{id}/invocations` and Alaya's
//! `{serviceUrl}/v1/chat/completions`, answering OpenAI-style `chat.completion.chunk` events.
//!
//! The text is derived from the prompt alone, so tests can predict it: the assistant repeats
//! the last user message after `You said:`, one word per chunk.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http_body::Frame;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::alaya::{loras_of, scaled_to_zero, BASES};
use crate::app::Shared;
use crate::fields::{self, Fields};
use crate::reply::{code, ApiError, Cloud, Result};
use crate::store::{Kind, Object};

pub(crate) fn fabric_routes() -> Router<Shared> {
    Router::new().route(
        "/v1/workspaces/{ws}/services/instances/{id}/invocations",
        post(fabric_invoke),
    )
}

pub(crate) fn alaya_routes() -> Router<Shared> {
    Router::new().route("/alaya-svc/{id}/v1/chat/completions", post(alaya_invoke))
}

/// The prompt's messages, checked.
fn messages(cloud: Cloud, body: &[u8]) -> Result<(String, Option<u64>, Option<String>, bool)> {
    let b = fields::object(cloud, body)?;
    let f = Fields::new(cloud, &b);
    let list = f
        .get("messages")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ApiError::bad_request(cloud, "messages is required: a non-empty list"))?;
    let mut last_user = String::new();
    for (i, m) in list.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str);
        let content = m.get("content").and_then(Value::as_str);
        match (role, content) {
            (Some(role), Some(content)) => {
                if role == "user" {
                    last_user = content.to_owned();
                }
            }
            _ => {
                return Err(ApiError::bad_request(
                    cloud,
                    format!("messages[{i}] needs a string role and a string content"),
                ))
            }
        }
    }
    let max_tokens = f.opt_uint("max_tokens")?;
    let model = f.opt_str("model")?;
    let stream = match f.get("stream") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad_request(cloud, "stream must be a boolean")),
    };
    Ok((last_user, max_tokens, model, stream))
}

/// The answer's words and finish reason for a prompt.
fn answer(prompt: &str, max_tokens: Option<u64>) -> (Vec<String>, &'static str) {
    let text = format!("You said: {}", prompt.trim());
    let words: Vec<String> = text
        .split_whitespace()
        .enumerate()
        .map(|(i, w)| {
            if i == 0 {
                w.to_owned()
            } else {
                format!(" {w}")
            }
        })
        .collect();
    match max_tokens {
        Some(n) if (n as usize) < words.len() => (words[..n as usize].to_vec(), "length"),
        _ => (words, "stop"),
    }
}

/// The completion as server-sent events, `pace_ms` apart, or as one `chat.completion`
/// object.
fn completion(
    prompt: &str,
    max_tokens: Option<u64>,
    model: &str,
    stream: bool,
    pace_ms: u64,
) -> Response {
    let (words, finish) = answer(prompt, max_tokens);
    let digest = hex::encode(Sha256::digest(prompt.as_bytes()));
    let id = format!("chatcmpl-{}", &digest[..22]);
    let created = crate::store::now_ms() / 1000;
    if !stream {
        let content: String = words.concat();
        let body = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt.split_whitespace().count(),
                      "completion_tokens": words.len(),
                      "total_tokens": prompt.split_whitespace().count() + words.len()},
        });
        return (StatusCode::OK, axum::Json(body)).into_response();
    }
    let chunk = |delta: Value, finish: Value| {
        let v = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            "system_fingerprint": null, "usage": null,
        });
        Bytes::from(format!("data: {v}\n\n"))
    };
    let mut events = VecDeque::new();
    events.push_back(chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    ));
    for w in &words {
        events.push_back(chunk(json!({"content": w}), Value::Null));
    }
    events.push_back(chunk(json!({}), json!(finish)));
    events.push_back(Bytes::from_static(b"data: [DONE]\n\n"));
    let mut resp = Response::new(Body::new(Chunks {
        events,
        pace: Duration::from_millis(pace_ms),
        sleep: None,
    }));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// A body that yields its events one frame each, `pace` apart, as a model server streams its
/// tokens: a client sees the answer arrive piece by piece.
struct Chunks {
    events: VecDeque<Bytes>,
    pace: Duration,
    /// The wait before the next event, once the previous one has gone.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Self::Error>>> {
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        let Some(event) = self.events.pop_front() else {
            return Poll::Ready(None);
        };
        if !self.pace.is_zero() && !self.events.is_empty() {
            self.sleep = Some(Box::pin(tokio::time::sleep(self.pace)));
        }
        Poll::Ready(Some(Ok(Frame::data(event))))
    }

    fn is_end_stream(&self) -> bool {
        self.events.is_empty()
    }
}

/// A body that fails at once: the server closes the connection without a whole answer.
pub(crate) struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault: connection dropped",
        ))))
    }
}

async fn fabric_invoke(
    State(app): State<Shared>,
    Path((ws, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let (prompt, max_tokens, _, stream) = messages(Cloud::Fabric, &body)?;
    app.store
        .tx(|t| {
            if t.get(Kind::FabricWorkspace, &ws).is_none() {
                return Err(ApiError::not_found(Cloud::Fabric, "workspace", &ws));
            }
            let inst = t
                .get(Kind::FabricServiceInstance, &id)
                .filter(|i| i.str("workspace_id") == ws)
                .ok_or_else(|| ApiError::not_found(Cloud::Fabric, "service instance", &id))?;
            if inst.status != "RUNNING" && inst.status != "UPDATING" {
                return Err(ApiError::fabric(
                    StatusCode::BAD_REQUEST,
                    code::WRONG_STATUS,
                    format!(
                        "service instance {id} is {} and cannot be invoked now",
                        inst.status
                    ),
                ));
            }
            Ok(())
        })
        .await
        .map_err(|e| ApiError::internal(Cloud::Fabric, e.0))??;
    let pace = app.timings().stream_chunk_ms;
    Ok(completion(&prompt, max_tokens, &id, stream, pace))
}

async fn alaya_invoke(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let a = Cloud::Alaya;
    let key = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        })
        .map(str::to_owned);
    let (prompt, max_tokens, model, stream) = messages(a, &body)?;
    let (cold, model) = app
        .store
        .tx(|t| {
            let d = BASES.iter().find_map(|k| t.get(*k, &id)).ok_or_else(|| {
                ApiError::alaya(
                    StatusCode::NOT_FOUND,
                    format!("deployment {id} does not exist or serves no URL of its own"),
                )
            })?;
            let expected = d.str("apiKey");
            if key.as_deref() != Some(expected) {
                return Err(ApiError::alaya(
                    StatusCode::UNAUTHORIZED,
                    "missing or wrong apiKey header",
                ));
            }
            if d.status != "running" {
                return Err(ApiError::alaya(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "deployment {id} is {} and cannot serve requests now",
                        d.status
                    ),
                ));
            }
            let names = served(d);
            let model = match &model {
                None => names.first().map(|s| (*s).to_owned()).unwrap_or_default(),
                Some(m) if names.contains(&m.as_str()) => m.clone(),
                Some(m) => {
                    // A LoRA deployment on this service answers under its own served names.
                    let lora = loras_of(t, &d.id).find(|l| served(l).contains(&m.as_str()));
                    match lora {
                        Some(l) if l.status == "running" => m.clone(),
                        Some(l) => {
                            return Err(ApiError::alaya(
                                StatusCode::BAD_REQUEST,
                                format!(
                                    "LoRA deployment {} ({m:?}) is {} and cannot serve \
                                     requests now",
                                    l.id, l.status
                                ),
                            ))
                        }
                        None => {
                            return Err(ApiError::alaya(
                                StatusCode::NOT_FOUND,
                                format!("model {m:?} is not served here; servedName is {names:?}"),
                            ))
                        }
                    }
                }
            };
            let cold = scaled_to_zero(d, t.now);
            let (kind, now) = (d.kind, t.now);
            // Kept in memory only: after a restart, a service looks idle since its last
            // written change, which only makes an early scale to zero possible.
            if let Some(d) = t.get_mut_volatile(kind, &id) {
                d.last_used_ms = now;
            }
            Ok((cold, model))
        })
        .await
        .map_err(|e| ApiError::internal(a, e.0))??;
    let timings = app.timings();
    if cold {
        // Scaled to zero: this request wakes the service and waits for its cold start.
        tokio::time::sleep(Duration::from_millis(timings.alaya_starting_ms)).await;
    }
    Ok(completion(
        &prompt,
        max_tokens,
        &model,
        stream,
        timings.stream_chunk_ms,
    ))
}

/// The served names of a deployment.
fn served(d: &Object) -> Vec<&str> {
    d.body
        .get("servedName")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_derived_from_the_prompt() {
        let (words, finish) = answer("hello  there", None);
        assert_eq!(words.concat(), "You said: hello there");
        assert_eq!(finish, "stop");
        let (words, finish) = answer("hello there", Some(2));
        assert_eq!(words.concat(), "You said:");
        assert_eq!(finish, "length");
    }
}
