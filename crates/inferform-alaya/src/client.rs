//! The Alaya NeW API client: the plain credential header and the `{code, data, msg}` envelope;
//! and calls to a deployment's own service, which carry its `apiKey` and never the credential.

use std::fmt;
use std::sync::Arc;

use inferform_provider::http::{excerpt, Authenticator, Method, Url, EXCERPT_CHARS};
use inferform_provider::{
    ClientSettings, Deadline, ErrorKind, HttpClient, HttpRequest, HttpResponse, Opened,
    ProviderError, Redactor, Secret,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value as Json;

/// Where the API's paths start, under the base URL.
pub const API_PREFIX: &str = "/api/serverless-infer/v1";

/// `Authorization: plain Credential={AK},Signature={SK}` (the secret travels as is, over TLS).
pub struct AlayaAuth {
    pub access_key: String,
    pub secret_key: Secret,
}

impl fmt::Debug for AlayaAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlayaAuth").finish_non_exhaustive()
    }
}

impl Authenticator for AlayaAuth {
    fn authenticate(&self, request: &mut HttpRequest) -> Result<(), ProviderError> {
        request.set_header(
            "Authorization",
            format!(
                "plain Credential={},Signature={}",
                self.access_key,
                self.secret_key.expose()
            ),
        );
        Ok(())
    }
}

/// `apiKey: {key}`: what a call to a deployment's service carries instead of the credential
/// (the service's host is not the API's, and must never see the secret key).
struct ServiceKey(Secret);

impl Authenticator for ServiceKey {
    fn authenticate(&self, request: &mut HttpRequest) -> Result<(), ProviderError> {
        request.set_header("apiKey", self.0.expose());
        Ok(())
    }
}

/// Unreserved characters stay; everything else in a path segment or query part is escaped.
const ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, ESCAPE).to_string()
}

/// What a call's answer said.
#[derive(Debug)]
pub enum Answer {
    /// `code` 0: the `data`.
    Data(Json),
    /// The object does not exist (404, or an envelope that says so).
    NotFound,
}

/// A configured Alaya client.
#[derive(Clone)]
pub struct AlayaClient {
    http: HttpClient,
    base: Url,
}

impl fmt::Debug for AlayaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlayaClient")
            .field("base", &self.base.as_str())
            .field("http", &self.http)
            .finish()
    }
}

impl AlayaClient {
    pub fn new(
        base: Url,
        auth: AlayaAuth,
        settings: &ClientSettings,
    ) -> Result<Self, ProviderError> {
        let redactor = Redactor::new()
            .with_secret(auth.access_key.as_str())
            .with_secret(auth.secret_key.expose());
        let http = HttpClient::new(settings, Arc::new(auth), redactor)?;
        Ok(AlayaClient { http, base })
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The URL of an API path (under [`API_PREFIX`]) with query pairs.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{API_PREFIX}{path}"));
        if query.is_empty() {
            url.set_query(None);
        } else {
            let q = query
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            url.set_query(Some(&q));
        }
        url
    }

    /// Sends a call within the operation's `deadline` and opens the envelope.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Json>,
        deadline: Deadline,
    ) -> Result<Answer, ProviderError> {
        let mut request = HttpRequest::new(method, self.url(path, query)).until(deadline);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.http.send(request).await?;
        open_envelope(&response, self.http.redactor())
    }

    /// [`AlayaClient::call`] where a missing object is an error too.
    pub async fn data(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Json>,
        deadline: Deadline,
    ) -> Result<Json, ProviderError> {
        match self
            .call(method.clone(), path, query, body, deadline)
            .await?
        {
            Answer::Data(data) => Ok(data),
            Answer::NotFound => {
                let mut e = ProviderError::new(ErrorKind::Api, "not found");
                e.call = Some(format!("{method} {API_PREFIX}{path}"));
                e.status = Some(404);
                Err(e)
            }
        }
    }

    /// POSTs a chat request to a deployment's service (`url`) with its `api_key`, for an answer
    /// that streams. The client that sent it comes back too: its redactor knows the key.
    pub async fn open_service(
        &self,
        url: Url,
        api_key: &str,
        body: &Json,
        deadline: Deadline,
    ) -> Result<(Opened, HttpClient), ProviderError> {
        let http = self
            .http
            .with_auth(Arc::new(ServiceKey(Secret::new(api_key))))
            .with_secret(api_key);
        let request = HttpRequest::new(Method::POST, url)
            .json(body)
            .header("Accept", "text/event-stream")
            .until(deadline);
        let opened = http.open(request).await?;
        Ok((opened, http))
    }
}

/// True for `0` and `"0"`, the success codes.
pub fn is_success_code(code: &Json) -> bool {
    match code {
        Json::Number(n) => n.as_i64() == Some(0),
        Json::String(s) => s.trim() == "0",
        _ => false,
    }
}

fn says_not_found(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("not found") || m.contains("not exist") || m.contains("no such")
}

/// Opens `{"code": 0 | "0" | -1, "data": ..., "msg": ...}`: the data on success,
/// [`Answer::NotFound`] for a 404 envelope (or an error envelope that says not found), else
/// an error naming the call, status, code, message and request id. A 404 that is not an
/// envelope (a proxy's page, an empty body) says nothing about the deployment, so it is an
/// error, not [`Answer::NotFound`]: read as "deleted", it would make a plan re-create a
/// healthy deployment. The server's text is redacted, then cut and escaped.
pub fn open_envelope(
    response: &HttpResponse,
    redactor: &Redactor,
) -> Result<Answer, ProviderError> {
    let body: Option<Json> = serde_json::from_slice(&response.body).ok();
    let envelope = body.as_ref().and_then(Json::as_object);
    let code = envelope.and_then(|e| e.get("code"));
    let msg = envelope
        .and_then(|e| e.get("msg").or_else(|| e.get("message")))
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    if response.is_success() {
        match code {
            Some(c) if is_success_code(c) => {
                return Ok(Answer::Data(
                    envelope
                        .and_then(|e| e.get("data"))
                        .cloned()
                        .unwrap_or(Json::Null),
                ))
            }
            Some(_) if says_not_found(&msg) => return Ok(Answer::NotFound),
            Some(_) => {}
            None => {
                // Not quoted: a successful answer may hold a deployment's apiKey, which the
                // redactor does not know.
                return Err(response.error(
                    ErrorKind::Api,
                    None,
                    format!(
                        "the answer is not an Alaya envelope ({})",
                        response.describe_body()
                    ),
                ));
            }
        }
    } else if response.status == 404 && code.is_some() {
        return Ok(Answer::NotFound);
    }
    let code_text = code.map(|c| match c {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    });
    let message = if msg.is_empty() {
        let quoted = quote(&String::from_utf8_lossy(&response.body), redactor);
        if quoted.is_empty() {
            "no details in the answer".to_string()
        } else if envelope.is_none() {
            format!("{quoted} ({})", response.describe_body())
        } else {
            quoted
        }
    } else {
        quote(&msg, redactor)
    };
    let code_text = code_text.map(|c| excerpt(&redactor.redact(&c), 80));
    let kind = match response.status {
        401 | 403 => ErrorKind::Auth,
        _ => ErrorKind::Api,
    };
    Err(response.error(kind, code_text, message))
}

/// A server's text for an error: redacted whole first (so that a cut never splits a secret
/// the redactor would recognise), then bounded and escaped.
fn quote(text: &str, redactor: &Redactor) -> String {
    excerpt(&redactor.redact(text), EXCERPT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(
            status,
            vec![("X-Request-Id".into(), "r1".into())],
            body.as_bytes().to_vec(),
            "POST /api/serverless-infer/v1/deployment/expert",
        )
    }

    #[test]
    fn envelopes() {
        let r = Redactor::new().with_secret("local-alaya-sk");
        // The seed's answer: code as a string.
        match open_envelope(
            &response(
                200,
                r#"{"code": "0", "data": {"serviceId": ""}, "msg": "optional,string,"}"#,
            ),
            &r,
        ) {
            Ok(Answer::Data(d)) => assert_eq!(d, json!({"serviceId": ""})),
            other => panic!("{other:?}"),
        }
        match open_envelope(&response(200, r#"{"code": 0, "data": {"a": 1}}"#), &r) {
            Ok(Answer::Data(d)) => assert_eq!(d, json!({"a": 1})),
            other => panic!("{other:?}"),
        }
        let e = open_envelope(
            &response(
                200,
                r#"{"code": -1, "data": null, "msg": "served name taken"}"#,
            ),
            &r,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Api);
        assert_eq!(
            e.to_string(),
            "POST /api/serverless-infer/v1/deployment/expert returned 200: -1: served name taken (request id r1)"
        );
        let e = open_envelope(
            &response(
                401,
                r#"{"code": -1, "msg": "bad Signature=local-alaya-sk"}"#,
            ),
            &r,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(!e.to_string().contains("local-alaya-sk"));
        assert!(matches!(
            open_envelope(&response(404, r#"{"code": -1, "msg": "x"}"#), &r),
            Ok(Answer::NotFound)
        ));
        assert!(matches!(
            open_envelope(
                &response(200, r#"{"code": -1, "msg": "deployment not found"}"#),
                &r
            ),
            Ok(Answer::NotFound)
        ));
        let e = open_envelope(&response(500, "boom"), &r).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (Some(500), "boom (no content type, 4 bytes)")
        );
        // A 404 that is not an envelope says nothing about the deployment.
        for body in ["", "<html><h1>404 Not Found</h1></html>", "[]"] {
            let e = open_envelope(&response(404, body), &r).unwrap_err();
            assert_eq!(e.status, Some(404), "{body}");
        }
        // The server's text is bounded and escaped, and secrets are redacted before the cut.
        let long = format!("\0\u{1b}[31m local-alaya-sk {}", "y".repeat(1_000_000));
        let e = open_envelope(&response(502, &long), &r).unwrap_err();
        assert!(
            e.message.starts_with("\\u{0}\\u{1b}[31m (redacted) yyy"),
            "{}",
            e.message
        );
        assert!(e.message.len() < 400);
        let e = open_envelope(&response(200, "\0garbage apiKey"), &r).unwrap_err();
        assert_eq!(
            e.message,
            "the answer is not an Alaya envelope (no content type, 15 bytes)"
        );
        let e = open_envelope(&response(200, "[]"), &r).unwrap_err();
        assert!(e.message.starts_with("the answer is not an Alaya envelope"));
    }
}
