//! The Fabric API client: the two hosts, authentication (AK/SK signing or an IAM token),
//! `X-Project-Id`, and turning error answers into [`ProviderError`]s.

use std::fmt;
use std::sync::Arc;

use inferform_provider::http::{excerpt, Authenticator, Method, Url, EXCERPT_CHARS};
use inferform_provider::{
    ClientSettings, Deadline, ErrorKind, HttpClient, HttpRequest, HttpResponse, Opened,
    ProviderError, Redactor, Secret,
};
use serde_json::Value as Json;

use crate::signer;

/// How requests prove who sends them.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// AK/SK signing, with a security token for temporary credentials.
    AkSk {
        access_key: String,
        secret_key: Secret,
        security_token: Option<Secret>,
    },
    /// An IAM token in `X-Auth-Token`.
    Token(Secret),
}

/// Adds `Host`, `X-Project-Id` and the credentials to every attempt.
#[derive(Debug)]
pub struct FabricAuth {
    pub credentials: Credentials,
    pub project_id: Option<String>,
}

impl Authenticator for FabricAuth {
    fn authenticate(&self, request: &mut HttpRequest) -> Result<(), ProviderError> {
        let host = request.host();
        request.set_header("Host", host);
        if let Some(project) = &self.project_id {
            request.set_header("X-Project-Id", project.as_str());
        }
        match &self.credentials {
            Credentials::Token(token) => {
                request.set_header("X-Auth-Token", token.expose());
            }
            Credentials::AkSk {
                access_key,
                secret_key,
                security_token,
            } => {
                if let Some(token) = security_token {
                    request.set_header("X-Security-Token", token.expose());
                }
                request.set_header(
                    "X-Sdk-Date",
                    signer::sdk_date(time::OffsetDateTime::now_utc()),
                );
                let authorization = signer::authorization(
                    access_key,
                    secret_key.expose(),
                    request.method.as_str(),
                    request.url.path(),
                    request.url.query(),
                    &request.headers,
                    &request.body,
                );
                request.set_header("Authorization", authorization);
            }
        }
        Ok(())
    }
}

/// Which of the two hosts serves a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// `fabric.{region}`: workspaces, endpoints, models.
    Main,
    /// `fabric-ep.{region}`: service instances.
    Ep,
}

/// A configured Fabric client.
#[derive(Clone)]
pub struct FabricClient {
    http: HttpClient,
    main: Url,
    ep: Url,
}

impl fmt::Debug for FabricClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FabricClient")
            .field("main", &self.main.as_str())
            .field("ep", &self.ep.as_str())
            .field("http", &self.http)
            .finish()
    }
}

impl FabricClient {
    pub fn new(
        main: Url,
        ep: Url,
        auth: FabricAuth,
        settings: &ClientSettings,
    ) -> Result<Self, ProviderError> {
        let mut redactor = Redactor::new();
        match &auth.credentials {
            Credentials::AkSk {
                access_key,
                secret_key,
                security_token,
            } => {
                redactor.add(access_key.as_str());
                redactor.add(secret_key.expose());
                if let Some(t) = security_token {
                    redactor.add(t.expose());
                }
            }
            Credentials::Token(t) => redactor.add(t.expose()),
        }
        let http = HttpClient::new(settings, Arc::new(auth), redactor)?;
        Ok(FabricClient { http, main, ep })
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The URL of `path` (segments already encoded) with `query` pairs, on a host.
    pub fn url(&self, host: Host, path: &str, query: &[(&str, &str)]) -> Url {
        let base = match host {
            Host::Main => &self.main,
            Host::Ep => &self.ep,
        };
        let mut url = base.clone();
        let prefix = base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{path}"));
        if query.is_empty() {
            url.set_query(None);
        } else {
            let q = query
                .iter()
                .map(|(k, v)| format!("{}={}", signer::encode(k), signer::encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            url.set_query(Some(&q));
        }
        url
    }

    fn request(
        &self,
        method: Method,
        host: Host,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Json>,
        deadline: Deadline,
    ) -> HttpRequest {
        let mut request = HttpRequest::new(method, self.url(host, path, query)).until(deadline);
        if let Some(body) = body {
            request = request.json(body);
        }
        request
    }

    /// Sends a call within the operation's `deadline`; any status comes back as a response.
    pub async fn send(
        &self,
        method: Method,
        host: Host,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Json>,
        deadline: Deadline,
    ) -> Result<HttpResponse, ProviderError> {
        let request = self.request(method, host, path, query, body, deadline);
        self.http.send(request).await
    }

    /// Sends a call whose answer streams (an invocation); see [`HttpClient::open`].
    pub async fn open(
        &self,
        method: Method,
        host: Host,
        path: &str,
        body: &Json,
        deadline: Deadline,
    ) -> Result<Opened, ProviderError> {
        let request = self
            .request(method, host, path, &[], Some(body), deadline)
            .header("Accept", "text/event-stream");
        self.http.open(request).await
    }

    /// Sends a call and returns its JSON body, or the error the answer describes.
    pub async fn call(
        &self,
        method: Method,
        host: Host,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Json>,
        deadline: Deadline,
    ) -> Result<Json, ProviderError> {
        let response = self.send(method, host, path, query, body, deadline).await?;
        if response.is_success() {
            response.json()
        } else {
            Err(self.error(&response))
        }
    }

    /// The error an unsuccessful answer describes.
    pub fn error(&self, response: &HttpResponse) -> ProviderError {
        api_error(response, self.http.redactor())
    }
}

/// Reads Fabric's error bodies: `{"error_code", "error_msg"}`, or `{"error": {"code",
/// "message"}}`; anything else is quoted.
pub fn api_error(response: &HttpResponse, redactor: &Redactor) -> ProviderError {
    let body: Json = serde_json::from_slice(&response.body).unwrap_or(Json::Null);
    let text = |v: Option<&Json>| v.and_then(Json::as_str).map(str::to_string);
    let (code, message) = match (&body["error_code"], &body["error"]) {
        (Json::String(code), _) => (Some(code.clone()), text(body.get("error_msg"))),
        (_, Json::Object(e)) => (text(e.get("code")), text(e.get("message"))),
        _ => (None, None),
    };
    // Redacted before it is cut, so that a cut never splits a secret the redactor would
    // have recognised whole; cut and escaped because the server's text is untrusted.
    let message = message
        .map(|m| excerpt(&redactor.redact(&m), EXCERPT_CHARS))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            let quoted = excerpt(
                &redactor.redact(&String::from_utf8_lossy(&response.body)),
                EXCERPT_CHARS,
            );
            if quoted.is_empty() {
                "no details in the answer".to_string()
            } else {
                format!("{quoted} ({})", response.describe_body())
            }
        });
    let code = code.map(|c| excerpt(&redactor.redact(&c), 80));
    let kind = match response.status {
        401 | 403 => ErrorKind::Auth,
        _ => ErrorKind::Api,
    };
    response.error(kind, code, message)
}

/// Whether a 404 says that the object (or the workspace it lives in) does not exist: a
/// Fabric error body whose code is not the gateway's. A 404 from the gateway (`APIG.*`: no
/// such API, a wrong endpoint or path) or one with a body that is not Fabric's (an HTML page
/// of a proxy, nothing at all) says nothing about the object, and reading it as "deleted"
/// would make a plan re-create healthy objects.
pub fn says_gone(response: &HttpResponse) -> bool {
    if response.status != 404 {
        return false;
    }
    let Ok(Json::Object(body)) = serde_json::from_slice::<Json>(&response.body) else {
        return false;
    };
    let code = match (body.get("error_code"), body.get("error")) {
        (Some(Json::String(code)), _) => Some(code.as_str()),
        (_, Some(Json::Object(e))) => e.get("code").and_then(Json::as_str),
        _ => None,
    };
    !code.is_some_and(|c| c.to_ascii_uppercase().starts_with("APIG"))
}

/// Encodes one path segment (an id).
pub fn seg(id: &str) -> String {
    signer::encode(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(
            status,
            vec![("X-Request-Id".into(), "req-9".into())],
            body.as_bytes().to_vec(),
            "POST /v1/workspaces",
        )
    }

    #[test]
    fn error_bodies() {
        let r = Redactor::new().with_secret("local-sk");
        let e = api_error(
            &response(
                400,
                r#"{"error_code": "dataartsfabric.00010195", "error_msg": "name exists", "solution_msg": "x"}"#,
            ),
            &r,
        );
        assert_eq!(e.kind, ErrorKind::Api);
        assert_eq!(
            e.to_string(),
            "POST /v1/workspaces returned 400: dataartsfabric.00010195: name exists (request id req-9)"
        );
        let e = api_error(
            &response(
                403,
                r#"{"error": {"code": "APIGW.0301", "message": "bad signature with local-sk", "title": "t"}}"#,
            ),
            &r,
        );
        assert_eq!(e.kind, ErrorKind::Auth);
        assert_eq!(e.code.as_deref(), Some("APIGW.0301"));
        assert_eq!(e.message, "bad signature with (redacted)");
        let e = api_error(&response(500, "oops"), &r);
        assert_eq!(e.message, "oops (no content type, 4 bytes)");
        assert_eq!(e.status, Some(500));
        // A body that is not Fabric's is quoted bounded and escaped, secrets redacted first.
        let mut page = format!("<html>\0\u{1b}[2J local-sk {}", "x".repeat(100_000));
        page.push_str("</html>");
        let e = api_error(&response(502, &page), &r);
        assert!(
            e.message
                .starts_with("<html>\\u{0}\\u{1b}[2J (redacted) xxx"),
            "{}",
            e.message
        );
        assert!(e.message.len() < 400, "{}", e.message);
        assert!(!e.message.contains('\0'));
        let e = api_error(
            &response(
                400,
                r#"{"error_code": "x.1", "error_msg": "bad\u0000name\u202e"}"#,
            ),
            &r,
        );
        assert_eq!(e.message, "bad\\u{0}name\\u{202e}");
        let e = api_error(
            &response(
                401,
                r#"{"error_code":"APIG.1002","error_msg":"Incorrect token"}"#,
            ),
            &r,
        );
        assert_eq!(e.kind, ErrorKind::Auth);
    }
}
