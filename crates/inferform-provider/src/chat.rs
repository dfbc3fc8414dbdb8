//! Reading a chat answer as both clouds stream it: server-sent events, each `data:` an OpenAI
//! `chat.completion.chunk` object, the last one `data: [DONE]`. Events are parsed as their bytes
//! arrive (`eventsource-stream` does the SSE framing: lines split across pieces, CR/LF variants,
//! comments), so each piece of text reaches the caller at once, not when the answer is whole.
//!
//! A server that ignores `"stream": true` and answers one `chat.completion` object (JSON) is
//! read too. An error event (`{"error": {...}}`) mid-stream, an event that is not JSON, or a
//! stream that ends before `[DONE]` without a `finish_reason` is an error.

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::StreamExt;
use serde_json::Value as Json;

use crate::http::{HttpResponse, ResponseStream};
use crate::{ErrorKind, ProviderError, Redactor};

/// The body of a chat request with one user message, streamed.
pub fn request_body(message: &str, model: Option<&str>) -> Json {
    let mut body = serde_json::json!({
        "messages": [{"role": "user", "content": message}],
        "stream": true,
    });
    if let (Some(model), Json::Object(map)) = (model, &mut body) {
        map.insert("model".into(), Json::String(model.to_string()));
    }
    body
}

/// Reads a streamed chat answer, calling `on_text` with each piece of text
/// (`choices[0].delta.content`) as it arrives. Errors carry the call, status and request id;
/// their messages pass through `redactor`.
pub async fn read_stream(
    stream: ResponseStream,
    redactor: &Redactor,
    on_text: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), ProviderError> {
    let head = stream.head.clone();
    let fail = |message: String| head.error(ErrorKind::Api, None, redactor.redact(&message));
    let is_json = head
        .header("content-type")
        .is_some_and(|t| t.trim_start().starts_with("application/json"));
    if is_json {
        let whole = stream.read_all().await?;
        let answer = whole.json()?;
        if let Some(err) = error_in(&answer, &head, redactor) {
            return Err(err);
        }
        let text = answer
            .pointer("/choices/0/message/content")
            .and_then(Json::as_str)
            .ok_or_else(|| {
                fail(format!(
                    "the answer has no choices[0].message.content: {}",
                    whole.body_excerpt()
                ))
            })?;
        if !text.is_empty() {
            on_text(text);
        }
        return Ok(());
    }
    let mut events = stream.eventsource();
    let mut finished = false;
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(EventStreamError::Transport(e)) => return Err(e),
            Err(EventStreamError::Utf8(e)) => {
                return Err(fail(format!("the answer is not UTF-8 text: {e}")))
            }
            Err(EventStreamError::Parser(e)) => {
                return Err(fail(format!("the answer is not a valid event stream: {e}")))
            }
        };
        let data = event.data.trim();
        if data == "[DONE]" {
            return Ok(());
        }
        if data.is_empty() {
            continue;
        }
        let chunk: Json = serde_json::from_str(data).map_err(|e| {
            fail(format!(
                "an event of the answer is not JSON ({e}): {}",
                excerpt(data)
            ))
        })?;
        if let Some(err) = error_in(&chunk, &head, redactor) {
            return Err(err);
        }
        if event.event == "error" {
            return Err(fail(format!(
                "the answer ended with an error: {}",
                excerpt(data)
            )));
        }
        let choice = chunk.pointer("/choices/0");
        if let Some(text) = choice
            .and_then(|c| c.pointer("/delta/content"))
            .and_then(Json::as_str)
        {
            if !text.is_empty() {
                on_text(text);
            }
        }
        if choice
            .and_then(|c| c.get("finish_reason"))
            .is_some_and(|f| !f.is_null())
        {
            finished = true;
        }
    }
    if finished {
        // Some servers close after the last chunk without sending `[DONE]`.
        return Ok(());
    }
    Err(head.error(
        ErrorKind::Transport,
        None,
        "the answer ended before it was complete (no finish_reason, no [DONE])",
    ))
}

/// The error a chat service's unsuccessful answer describes: OpenAI's
/// `{"error": {"message", "code"}}`, Fabric's `{"error_code", "error_msg"}`, an Alaya envelope
/// `{"code", "msg"}`, or else the body quoted. A 401 or 403 is an [`ErrorKind::Auth`] error.
pub fn answer_error(response: &HttpResponse, redactor: &Redactor) -> ProviderError {
    let kind = match response.status {
        401 | 403 => ErrorKind::Auth,
        _ => ErrorKind::Api,
    };
    let body: Json = serde_json::from_slice(&response.body).unwrap_or(Json::Null);
    if let Some(mut err) = error_in(&body, response, redactor) {
        err.kind = kind;
        return err;
    }
    let code = match body.get("code") {
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let message = ["msg", "message", "detail"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Json::as_str))
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            let excerpt = response.body_excerpt();
            if excerpt.is_empty() {
                "no details in the answer".to_string()
            } else {
                excerpt
            }
        });
    response.error(kind, code, redactor.redact(&message))
}

/// The error an answer (or one event of it) reports in its body, in OpenAI's shape
/// (`{"error": {"message", "code", "type"}}`) or Fabric's (`{"error_code", "error_msg"}`).
fn error_in(body: &Json, head: &HttpResponse, redactor: &Redactor) -> Option<ProviderError> {
    let text = |v: Option<&Json>| {
        v.and_then(|v| match v {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let (code, message) = match body.get("error") {
        Some(Json::Object(e)) => (
            text(e.get("code")).or_else(|| text(e.get("type"))),
            text(e.get("message")),
        ),
        Some(Json::String(m)) => (None, Some(m.clone())),
        _ => match body.get("error_code") {
            Some(code) => (text(Some(code)), text(body.get("error_msg"))),
            None => return None,
        },
    };
    let message = message.unwrap_or_else(|| "the service reported an error".to_string());
    Some(head.error(ErrorKind::Api, code, redactor.redact(&message)))
}

fn excerpt(text: &str) -> String {
    if text.chars().count() > 200 {
        let cut: String = text.chars().take(200).collect();
        format!("{cut}...")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::http::{ClientSettings, HttpClient, HttpRequest, Method, NoAuth, Opened, Url};
    use crate::testing::{FakeServer, Piece, Reply};

    fn chunk(text: &str) -> String {
        let v = serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]
        });
        format!("data: {v}\n\n")
    }

    const FINISH: &str = "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";

    /// Opens `reply` and reads it as a chat answer: the texts seen, and the outcome.
    async fn read(reply: Reply) -> (Vec<String>, Result<(), ProviderError>) {
        let server = FakeServer::start(move |_| reply.clone()).await;
        let client = HttpClient::new(
            &ClientSettings::default(),
            Arc::new(NoAuth),
            Redactor::new().with_secret("sk-123"),
        )
        .unwrap();
        let url = Url::parse(&format!("{}/v1/chat/completions", server.url())).unwrap();
        let request = HttpRequest::new(Method::POST, url).json(&request_body("hi", Some("m")));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let on_text = move |t: &str| sink.lock().unwrap().push(t.to_string());
        let result = match client.open(request).await.unwrap() {
            Opened::Stream(stream) => read_stream(stream, client.redactor(), &on_text).await,
            Opened::Answer(a) => panic!("not a stream: {a:?}"),
        };
        let body = server.requests()[0].json();
        assert_eq!(
            body,
            serde_json::json!({"messages": [{"role": "user", "content": "hi"}], "stream": true,
                               "model": "m"})
        );
        let seen = seen.lock().unwrap().clone();
        (seen, result)
    }

    #[tokio::test]
    async fn pieces_split_anywhere_are_put_together() {
        // Events cut mid-line and mid-JSON, one with CRLF endings, a comment, a role-only
        // opening chunk, and a [DONE] that ends it.
        let all = format!(
            ": keep-alive\n\n{}{}{}{}{FINISH}data: [DONE]\n\n",
            chunk(""),
            chunk("You"),
            chunk(" said:").replace('\n', "\r\n"),
            chunk(" hi"),
        );
        let mut pieces = Vec::new();
        let mut rest = all.as_str();
        while !rest.is_empty() {
            let cut = rest
                .char_indices()
                .map(|(i, _)| i)
                .find(|&i| i >= 37)
                .unwrap_or(rest.len());
            pieces.push(Piece::data(&rest[..cut]));
            rest = &rest[cut..];
        }
        assert!(pieces.len() > 5);
        let (seen, result) = read(Reply::event_stream(pieces)).await;
        result.unwrap();
        assert_eq!(seen, ["You", " said:", " hi"]);
    }

    #[tokio::test]
    async fn a_finish_without_done_is_enough_but_a_cut_answer_is_not() {
        let (seen, result) = read(Reply::event_stream(vec![
            Piece::data(chunk("a")),
            Piece::data(FINISH),
        ]))
        .await;
        result.unwrap();
        assert_eq!(seen, ["a"]);
        let (seen, result) = read(Reply::event_stream(vec![Piece::data(chunk("a"))])).await;
        assert_eq!(seen, ["a"]);
        let err = result.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Transport);
        assert!(
            err.message.contains("ended before it was complete"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_error_event_is_an_error_without_secrets() {
        let error = r#"data: {"error": {"message": "key sk-123 expired", "code": "invalid_key"}}"#;
        let (seen, result) = read(
            Reply::event_stream(vec![
                Piece::data(chunk("a")),
                Piece::data(format!("{error}\n\n")),
            ])
            .with_header("X-Request-Id", "r-7"),
        )
        .await;
        assert_eq!(seen, ["a"]);
        let err = result.unwrap_err();
        assert_eq!(
            err.to_string(),
            "POST /v1/chat/completions returned 200: invalid_key: key (redacted) expired \
             (request id r-7)"
        );
        let (_, result) = read(Reply::event_stream(vec![Piece::data(
            "data: {not json\n\n",
        )]))
        .await;
        assert!(result.unwrap_err().message.contains("is not JSON"));
    }

    #[test]
    fn error_answers_in_each_shape() {
        let r = Redactor::new().with_secret("sk-123");
        let answer = |status: u16, body: &str| {
            HttpResponse::new(
                status,
                vec![("X-Request-Id".into(), "r1".into())],
                body.as_bytes().to_vec(),
                "POST /v1/chat/completions",
            )
        };
        let e = answer_error(
            &answer(
                401,
                r#"{"code": -1, "data": null, "msg": "wrong apiKey sk-123"}"#,
            ),
            &r,
        );
        assert_eq!(e.kind, ErrorKind::Auth);
        assert_eq!(
            e.to_string(),
            "POST /v1/chat/completions returned 401: -1: wrong apiKey (redacted) (request id r1)"
        );
        let e = answer_error(
            &answer(
                400,
                r#"{"error": {"message": "model x not served", "type": "invalid_request"}}"#,
            ),
            &r,
        );
        assert_eq!(
            (e.kind, e.code.as_deref(), e.message.as_str()),
            (
                ErrorKind::Api,
                Some("invalid_request"),
                "model x not served"
            )
        );
        let e = answer_error(&answer(502, "bad gateway"), &r);
        assert_eq!((e.status, e.message.as_str()), (Some(502), "bad gateway"));
        let e = answer_error(&answer(500, ""), &r);
        assert_eq!(e.message, "no details in the answer");
    }

    #[tokio::test]
    async fn a_whole_json_answer_is_read_too() {
        let body = serde_json::json!({
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "You said: hi"},
                         "finish_reason": "stop"}]
        });
        let (seen, result) = read(Reply::json(200, body)).await;
        result.unwrap();
        assert_eq!(seen, ["You said: hi"]);
    }
}
