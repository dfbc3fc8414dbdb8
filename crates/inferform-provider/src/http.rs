//! HTTP machinery shared by the cloud clients: one [`HttpClient`] per configured provider, with
//! authentication per attempt, retries with backoff and `Retry-After`, and a request-rate limit
//! shared by every operation of that provider.
//!
//! Retry rules (see [`retryable`]):
//! - a 429 is retried for every method: the server refused the request, nothing happened;
//! - a failure to connect is retried for every method: nothing was sent;
//! - a 5xx, a timeout or a dropped connection is retried only for idempotent methods
//!   (GET, PUT, DELETE). A POST that fails that way is ambiguous: the object may exist. The
//!   caller then looks it up by name and adopts it ([`crate::create_or_adopt`]).
//!
//! Time limits: each attempt may take `request_timeout` ([`ClientSettings`]), but never longer
//! than the time its operation has left ([`HttpRequest::until`], from
//! [`OpContext::timeout`](crate::OpContext)). A backoff that would end past the deadline is not
//! slept: the last answer (or failure) is returned instead. A streamed answer
//! ([`HttpClient::open`]) may take as long as its operation allows, but no more than
//! `request_timeout` may pass between two pieces of it.

use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
pub use reqwest::{Method, Url};

use crate::deadline::{format_duration, Deadline};
pub use crate::outcome::is_ambiguous;
use crate::redact::{is_secret_header, Redactor, REDACTED};
use crate::{ErrorKind, ProviderError};

/// One request, before authentication. Cloned for each attempt, since signatures carry the time.
#[derive(Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: Url,
    /// Headers in the order they are set; authentication appends its own.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes (empty for none).
    pub body: Vec<u8>,
    /// When the operation this request belongs to must give up.
    pub deadline: Deadline,
}

impl HttpRequest {
    pub fn new(method: Method, url: Url) -> Self {
        HttpRequest {
            method,
            url,
            headers: Vec::new(),
            body: Vec::new(),
            deadline: Deadline::never(),
        }
    }

    /// Bounds every attempt, and the waits between them, by the operation's deadline.
    pub fn until(mut self, deadline: Deadline) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = body.to_string().into_bytes();
        self.set_header("Content-Type", "application/json");
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_header(name, value);
        self
    }

    /// Sets a header, replacing one of the same name (case-insensitive).
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.headers.push((name.to_string(), value)),
        }
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The call as errors name it: `POST /v1/workspaces`.
    pub fn call(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }

    /// The `Host` header value for this URL: host, and port when not the scheme's default.
    pub fn host(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let v = if is_secret_header(n) {
                    REDACTED
                } else {
                    v.as_str()
                };
                (n.as_str(), v)
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .field("deadline", &self.deadline.remaining())
            .finish()
    }
}

/// A response that came back (any status).
#[derive(Clone)]
pub struct HttpResponse {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `X-Request-Id`, when the server sent one.
    pub request_id: Option<String>,
    /// The call, as `GET /v1/workspaces`.
    pub call: String,
}

impl HttpResponse {
    /// Builds a response by hand (for tests and fakes).
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>, call: &str) -> Self {
        let request_id = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
            .map(|(_, v)| v.clone());
        HttpResponse {
            status,
            headers,
            body,
            request_id,
            call: call.to_string(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON; an empty body is `null`.
    ///
    /// The error says what came instead (its content type and size) but never quotes the
    /// body: this type has no redactor, and a body a client cannot read may hold anything.
    pub fn json(&self) -> Result<serde_json::Value, ProviderError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            self.error(
                ErrorKind::Api,
                None,
                format!(
                    "the answer is not valid JSON ({}): {e}",
                    self.describe_body()
                ),
            )
        })
    }

    /// The body as JSON, which must be there: an empty body is an error, not `null`. For
    /// answers that must say something (a list, an object), so that an empty 200 is never
    /// taken for an empty list or a missing object.
    pub fn json_required(&self) -> Result<serde_json::Value, ProviderError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(self.error(
                ErrorKind::Api,
                None,
                format!(
                    "the answer has an empty body ({}) where JSON was expected",
                    self.describe_body()
                ),
            ));
        }
        self.json()
    }

    /// `text/html, 1234 bytes`: what the body is, without quoting it.
    pub fn describe_body(&self) -> String {
        let kind = self
            .header("content-type")
            .map(|t| excerpt(t, 60))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "no content type".to_string());
        let size = match self.body.len() {
            1 => "1 byte".to_string(),
            n => format!("{n} bytes"),
        };
        format!("{kind}, {size}")
    }

    /// An error about this response, carrying its call, status and request id.
    pub fn error(
        &self,
        kind: ErrorKind,
        code: Option<String>,
        message: impl Into<String>,
    ) -> ProviderError {
        ProviderError {
            kind,
            call: Some(self.call.clone()),
            status: Some(self.status),
            code,
            message: message.into(),
            request_id: self.request_id.clone(),
        }
    }

    /// The body as text for messages: at most [`EXCERPT_CHARS`] characters, control and
    /// invisible characters escaped (see [`excerpt`]). Callers still redact it.
    pub fn body_excerpt(&self) -> String {
        excerpt(&String::from_utf8_lossy(&self.body), EXCERPT_CHARS)
    }
}

/// How many characters of a server's text an error message quotes.
pub const EXCERPT_CHARS: usize = 300;

/// `text` made safe to print in an error, on one line: trimmed, each run of whitespace
/// (newlines included) made one space, other control characters (NUL, terminal escapes) and
/// invisible formatting ones (bidirectional overrides, zero-width) escaped as `\u{..}`, and cut
/// to `max` characters (with `...`). A server's answer is untrusted: quoted raw, a body of
/// megabytes or of terminal escape codes would flood or rewrite the user's terminal, and a
/// bidi override could make an error read as something else.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut taken = 0usize;
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if taken >= max {
            out.push_str("...");
            break;
        }
        if space {
            out.push(' ');
            taken += 1;
            space = false;
        }
        if c.is_control() || is_invisible(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
        taken += 1;
    }
    out
}

/// Format characters that change how text around them shows without showing themselves.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("call", &self.call)
            .field("status", &self.status)
            .field("request_id", &self.request_id)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Adds credentials to a request; called anew for every attempt.
pub trait Authenticator: Send + Sync {
    fn authenticate(&self, request: &mut HttpRequest) -> Result<(), ProviderError>;
}

/// Sends requests unauthenticated (tests, public calls).
#[derive(Debug, Default)]
pub struct NoAuth;

impl Authenticator for NoAuth {
    fn authenticate(&self, _request: &mut HttpRequest) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// How often and how long to retry.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after a 5xx or a transport failure.
    pub max_retries: u32,
    /// Retries after a 429, counted apart: being throttled is normal under load.
    pub max_throttle_retries: u32,
    /// The first backoff; each retry doubles it, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            max_throttle_retries: 20,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all (tests).
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            max_throttle_retries: 0,
            ..Self::default()
        }
    }

    /// The ceiling of the backoff before retry number `retry` (0-based): `base * 2^retry`,
    /// capped at `max_delay`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(20));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The backoff before retry number `retry`, with "equal jitter": somewhere in the upper
    /// half of the ceiling, so concurrent clients spread out but never retry at once.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let half = ceiling / 2;
        let jitter = rand::random_range(0.0..=1.0f64);
        half + half.mul_f64(jitter)
    }

    /// The wait before retrying an answer with this `Retry-After` value, if it has one.
    pub fn retry_after(&self, header: Option<&str>) -> Option<Duration> {
        parse_retry_after(header?, std::time::SystemTime::now())
            .map(|d| d.min(self.max_retry_after))
    }
}

/// Parses `Retry-After`: delay seconds, or an HTTP date (a date in the past is zero).
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
        return None;
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How one attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// An answer with this status.
    Status(u16),
    /// The connection could not be opened: nothing was sent.
    ConnectFailed,
    /// No answer in time: the server may have acted.
    Timeout,
    /// The connection broke after the request went out: the server may have acted.
    Dropped,
}

/// GET, HEAD, PUT, DELETE and OPTIONS may be repeated without changing the outcome.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// True when the attempt may be repeated as it is (see the module's rules).
pub fn retryable(method: &Method, attempt: Attempt) -> bool {
    match attempt {
        Attempt::Status(429) | Attempt::ConnectFailed => true,
        Attempt::Status(s) if s >= 500 => is_idempotent(method),
        Attempt::Status(_) => false,
        Attempt::Timeout | Attempt::Dropped => is_idempotent(method),
    }
}

/// A request-rate limit shared by every operation of one provider.
pub struct RateLimiter {
    inner: governor::DefaultDirectRateLimiter,
    per_second: f64,
}

impl RateLimiter {
    /// A limiter of `per_second` requests a second (fractions allowed: 0.5 is one every two
    /// seconds), with a burst of up to one second's worth. `None` when the rate is not positive.
    pub fn per_second(per_second: f64) -> Option<Self> {
        if !per_second.is_finite() || per_second <= 0.0 {
            return None;
        }
        let period = Duration::from_secs_f64(1.0 / per_second);
        let burst = NonZeroU32::new((per_second.floor() as u32).max(1))?;
        let quota = governor::Quota::with_period(period)?.allow_burst(burst);
        Some(RateLimiter {
            inner: governor::RateLimiter::direct(quota),
            per_second,
        })
    }

    /// Waits until one more request is allowed.
    pub async fn acquire(&self) {
        self.inner.until_ready().await;
    }

    pub fn per_second_value(&self) -> f64 {
        self.per_second
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RateLimiter({}/s)", self.per_second)
    }
}

/// How a provider's client behaves.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// `None` for no limit.
    pub max_requests_per_second: Option<f64>,
    pub retry: RetryPolicy,
    /// The longest one attempt may take, answer included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            max_requests_per_second: Some(20.0),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The client of one configured provider.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    auth: Arc<dyn Authenticator>,
    limiter: Option<Arc<RateLimiter>>,
    retry: RetryPolicy,
    redactor: Redactor,
    request_timeout: Duration,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("limiter", &self.limiter)
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// What [`HttpClient::open`] got back.
#[derive(Debug)]
pub enum Opened {
    /// A success, its body still arriving.
    Stream(ResponseStream),
    /// Any other answer, read whole.
    Answer(HttpResponse),
}

/// How long one attempt may take, and whether the operation's deadline (rather than the
/// client's `request_timeout`) set that.
#[derive(Clone, Copy, Debug)]
struct Limit {
    time: Duration,
    by_deadline: bool,
}

impl HttpClient {
    pub fn new(
        settings: &ClientSettings,
        auth: Arc<dyn Authenticator>,
        redactor: Redactor,
    ) -> Result<Self, ProviderError> {
        // No overall timeout here: every attempt sets its own, which the operation's
        // deadline may shorten (see the module docs).
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .user_agent(concat!("inferform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ProviderError::new(
                    ErrorKind::Invalid,
                    format!("cannot build the HTTP client: {e}"),
                )
            })?;
        Ok(HttpClient {
            client,
            auth,
            limiter: settings
                .max_requests_per_second
                .and_then(RateLimiter::per_second)
                .map(Arc::new),
            retry: settings.retry.clone(),
            redactor,
            request_timeout: settings.request_timeout,
        })
    }

    /// The same client (connections, rate limit, retries, known secrets) with other
    /// credentials: for a service that takes its own key rather than the provider's.
    pub fn with_auth(&self, auth: Arc<dyn Authenticator>) -> Self {
        HttpClient {
            auth,
            ..self.clone()
        }
    }

    /// The same client, also hiding `secret` wherever it would show.
    pub fn with_secret(&self, secret: &str) -> Self {
        let mut redactor = self.redactor.clone();
        redactor.add(secret);
        HttpClient {
            redactor,
            ..self.clone()
        }
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Sends the request, retrying as the module describes. Any answer that is not retried
    /// (or ran out of retries) comes back as a response, whatever its status; only transport
    /// failures and a passed deadline are errors.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ProviderError> {
        match self.attempts(request, false).await? {
            Opened::Answer(response) => Ok(response),
            // Not asked for; read it whole all the same.
            Opened::Stream(stream) => stream.read_all().await,
        }
    }

    /// Sends a request whose answer streams (server-sent events): a success comes back as soon
    /// as its head arrives, with its body to read piece by piece; any other answer is read
    /// whole. Retries as [`HttpClient::send`] does, which is only ever before anything streamed.
    pub async fn open(&self, request: HttpRequest) -> Result<Opened, ProviderError> {
        self.attempts(request, true).await
    }

    async fn attempts(&self, request: HttpRequest, stream: bool) -> Result<Opened, ProviderError> {
        let call = request.call();
        let deadline = request.deadline;
        let mut retries = 0u32;
        let mut throttles = 0u32;
        loop {
            if let Some(limiter) = &self.limiter {
                match deadline.remaining() {
                    Some(left) => {
                        if tokio::time::timeout(left, limiter.acquire()).await.is_err() {
                            return Err(deadline_error(&deadline, &call));
                        }
                    }
                    None => limiter.acquire().await,
                }
            }
            let Some(limit) = self.attempt_limit(&deadline) else {
                return Err(deadline_error(&deadline, &call));
            };
            let mut attempt = request.clone();
            self.auth.authenticate(&mut attempt)?;
            let (outcome, result) = match self.execute(&attempt, &call, limit, stream).await {
                Ok(Opened::Answer(response)) => (Attempt::Status(response.status), Ok(response)),
                Ok(opened) => return Ok(opened),
                Err((attempt, error)) => (attempt, Err(error)),
            };
            let out_of_time = matches!(&result, Err(e) if e.kind == ErrorKind::Timeout);
            if out_of_time || !retryable(&request.method, outcome) {
                return result.map(Opened::Answer);
            }
            let delay = match (outcome, &result) {
                (Attempt::Status(429), Ok(response)) => {
                    if throttles >= self.retry.max_throttle_retries {
                        return result.map(Opened::Answer);
                    }
                    throttles += 1;
                    self.retry
                        .retry_after(response.header("retry-after"))
                        .unwrap_or_else(|| self.retry.backoff(throttles - 1))
                }
                (_, result) => {
                    if retries >= self.retry.max_retries {
                        return result.clone().map(Opened::Answer);
                    }
                    retries += 1;
                    let retry_after = match result {
                        Ok(response) => self.retry.retry_after(response.header("retry-after")),
                        Err(_) => None,
                    };
                    retry_after.unwrap_or_else(|| self.retry.backoff(retries - 1))
                }
            };
            // A wait that would end past the deadline is not started: the last answer says
            // more than a timeout would.
            if deadline.remaining().is_some_and(|left| delay >= left) {
                return result.map(Opened::Answer);
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// How long the next attempt may take; `None` when the deadline has passed.
    fn attempt_limit(&self, deadline: &Deadline) -> Option<Limit> {
        match deadline.remaining() {
            Some(left) if left.is_zero() => None,
            Some(left) if left < self.request_timeout => Some(Limit {
                time: left,
                by_deadline: true,
            }),
            _ => Some(Limit {
                time: self.request_timeout,
                by_deadline: false,
            }),
        }
    }

    async fn execute(
        &self,
        request: &HttpRequest,
        call: &str,
        limit: Limit,
        stream: bool,
    ) -> Result<Opened, (Attempt, ProviderError)> {
        // One of the run's API-call slots (`--parallelism`) is held for the attempt only: the
        // waits between polls and retries hold none.
        let slots = crate::CALL_SLOTS.try_with(Arc::clone).ok();
        let _slot = match slots {
            Some(s) => s.acquire_owned().await.ok(),
            None => None,
        };
        let mut builder = self
            .client
            .request(request.method.clone(), request.url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body.clone());
        }
        if !stream {
            builder = builder.timeout(limit.time);
        } else if let Some(left) = request.deadline.remaining() {
            // A streamed answer may take as long as its operation has left.
            builder = builder.timeout(left);
        }
        let response = match tokio::time::timeout(limit.time, builder.send()).await {
            Ok(sent) => sent.map_err(|e| self.transport_error(call, &e, limit))?,
            Err(_) => return Err(self.timed_out(call, limit)),
        };
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        if stream && (200..300).contains(&status) {
            let body = response
                .bytes_stream()
                .map(|piece| piece.map(|b| b.to_vec()));
            return Ok(Opened::Stream(ResponseStream::new(
                HttpResponse::new(status, headers, Vec::new(), call),
                Box::pin(body),
                self.request_timeout,
                request.deadline,
                self.redactor.clone(),
            )));
        }
        let body = match tokio::time::timeout(limit.time, response.bytes()).await {
            Ok(read) => read.map_err(|e| self.transport_error(call, &e, limit))?,
            Err(_) => return Err(self.timed_out(call, limit)),
        };
        Ok(Opened::Answer(HttpResponse::new(
            status,
            headers,
            body.to_vec(),
            call,
        )))
    }

    fn timed_out(&self, call: &str, limit: Limit) -> (Attempt, ProviderError) {
        let mut err = if limit.by_deadline {
            ProviderError::new(
                ErrorKind::Timeout,
                format!(
                    "no answer before the operation's timeout ran out ({} left for this call)",
                    format_duration(limit.time)
                ),
            )
        } else {
            ProviderError::new(
                ErrorKind::Transport,
                format!("no answer in time (waited {})", format_duration(limit.time)),
            )
        };
        err.call = Some(call.to_string());
        (Attempt::Timeout, err)
    }

    fn transport_error(
        &self,
        call: &str,
        error: &reqwest::Error,
        limit: Limit,
    ) -> (Attempt, ProviderError) {
        if error.is_timeout() && !error.is_connect() {
            return self.timed_out(call, limit);
        }
        let attempt = if error.is_connect() {
            Attempt::ConnectFailed
        } else {
            Attempt::Dropped
        };
        let what = match attempt {
            Attempt::ConnectFailed => "cannot connect",
            _ => "the connection failed",
        };
        let mut err = ProviderError::new(
            ErrorKind::Transport,
            self.redactor
                .redact(&format!("{what}: {}", error_chain(error))),
        );
        err.call = Some(call.to_string());
        (attempt, err)
    }
}

/// The chain of an error's causes, each once: the top level of a reqwest error only repeats
/// the URL.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        let text = e.to_string();
        if !text.is_empty() && !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        source = e.source();
    }
    message
}

/// The error for a call the operation's deadline left no time for.
fn deadline_error(deadline: &Deadline, call: &str) -> ProviderError {
    let timeout = deadline
        .timeout()
        .map(|t| format!(" of {}", format_duration(t)))
        .unwrap_or_default();
    let mut err = ProviderError::new(
        ErrorKind::Timeout,
        format!("the operation's timeout{timeout} ran out before this call could be answered"),
    );
    err.call = Some(call.to_string());
    err
}

type BodyPieces = Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>;

/// A successful answer whose body is still arriving, as a stream of byte pieces. A piece that
/// takes longer than the client's `request_timeout` to come, or a body still arriving when the
/// operation's deadline passes, ends the stream with an error.
pub struct ResponseStream {
    /// The answer's status, headers, call and request id; its body is empty.
    pub head: HttpResponse,
    body: BodyPieces,
    idle: Duration,
    deadline: Deadline,
    timer: Pin<Box<tokio::time::Sleep>>,
    redactor: Redactor,
    done: bool,
}

impl fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseStream")
            .field("head", &self.head)
            .field("idle", &self.idle)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ResponseStream {
    fn new(
        head: HttpResponse,
        body: BodyPieces,
        idle: Duration,
        deadline: Deadline,
        redactor: Redactor,
    ) -> Self {
        let wait = Self::wait(idle, &deadline);
        ResponseStream {
            head,
            body,
            idle,
            deadline,
            timer: Box::pin(tokio::time::sleep(wait)),
            redactor,
            done: false,
        }
    }

    /// How long the next piece may take.
    fn wait(idle: Duration, deadline: &Deadline) -> Duration {
        deadline.remaining().map_or(idle, |left| left.min(idle))
    }

    /// The rest of the body, read whole, as a response.
    pub async fn read_all(mut self) -> Result<HttpResponse, ProviderError> {
        let mut body = Vec::new();
        while let Some(piece) = self.next().await {
            body.extend_from_slice(&piece?);
        }
        let mut response = self.head;
        response.body = body;
        Ok(response)
    }

    fn error(&self, kind: ErrorKind, message: String) -> ProviderError {
        let mut err = self.head.error(kind, None, message);
        err.message = self.redactor.redact(&err.message);
        err
    }

    fn stalled(&self) -> ProviderError {
        if self.deadline.passed() {
            let timeout = self
                .deadline
                .timeout()
                .map(|t| format!(" of {}", format_duration(t)))
                .unwrap_or_default();
            self.error(
                ErrorKind::Timeout,
                format!("the operation's timeout{timeout} ran out while the answer was arriving"),
            )
        } else {
            self.error(
                ErrorKind::Transport,
                format!(
                    "the answer stopped arriving (nothing for {})",
                    format_duration(self.idle)
                ),
            )
        }
    }
}

impl Stream for ResponseStream {
    type Item = Result<Vec<u8>, ProviderError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match this.body.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(piece))) => {
                let wait = Self::wait(this.idle, &this.deadline);
                this.timer
                    .as_mut()
                    .reset(tokio::time::Instant::now() + wait);
                Poll::Ready(Some(Ok(piece)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                let err = if e.is_timeout() {
                    this.stalled()
                } else {
                    this.error(
                        ErrorKind::Transport,
                        format!(
                            "the connection failed while the answer was arriving: {}",
                            error_chain(&e)
                        ),
                    )
                };
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    Poll::Ready(Some(Err(this.stalled())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_escaped_and_on_one_line() {
        assert_eq!(excerpt("  oops\n", 300), "oops");
        assert_eq!(excerpt("a\r\n\t b", 300), "a b");
        assert_eq!(excerpt("a\0b\u{1b}[2J", 300), "a\\u{0}b\\u{1b}[2J");
        assert_eq!(excerpt("evil\u{202e}txt.exe", 300), "evil\\u{202e}txt.exe");
        assert_eq!(excerpt("abcdef", 3), "abc...");
        assert_eq!(excerpt("abc", 3), "abc");
        let huge = "x".repeat(50 * 1024 * 1024);
        assert_eq!(excerpt(&huge, EXCERPT_CHARS).len(), EXCERPT_CHARS + 3);
        let r = HttpResponse::new(
            200,
            vec![("Content-Type".into(), "text/html".into())],
            b"<html>\x00\xff</html>".to_vec(),
            "GET /x",
        );
        assert_eq!(r.body_excerpt(), "<html>\\u{0}\u{fffd}</html>");
        assert_eq!(r.describe_body(), "text/html, 15 bytes");
        let e = r.json().unwrap_err();
        assert!(e
            .message
            .starts_with("the answer is not valid JSON (text/html, 15 bytes)"));
        assert!(!e.message.contains('\0'));
        let empty = HttpResponse::new(200, Vec::new(), Vec::new(), "GET /x");
        assert_eq!(empty.json().ok(), Some(serde_json::Value::Null));
        let e = empty.json_required().unwrap_err();
        assert!(e.message.contains("empty body"), "{}", e.message);
    }

    #[test]
    fn retry_rules() {
        let post = Method::POST;
        let get = Method::GET;
        let put = Method::PUT;
        let delete = Method::DELETE;
        for m in [&get, &put, &delete] {
            assert!(retryable(m, Attempt::Status(500)));
            assert!(retryable(m, Attempt::Status(503)));
            assert!(retryable(m, Attempt::Timeout));
            assert!(retryable(m, Attempt::Dropped));
            assert!(retryable(m, Attempt::Status(429)));
            assert!(!retryable(m, Attempt::Status(404)));
            assert!(!retryable(m, Attempt::Status(200)));
        }
        // A create is not repeated blindly when it may have happened.
        assert!(!retryable(&post, Attempt::Status(500)));
        assert!(!retryable(&post, Attempt::Timeout));
        assert!(!retryable(&post, Attempt::Dropped));
        // ...but is when it surely did not.
        assert!(retryable(&post, Attempt::Status(429)));
        assert!(retryable(&post, Attempt::ConnectFailed));
        assert!(!retryable(&post, Attempt::Status(400)));
    }

    #[test]
    fn ambiguity() {
        let mut e = ProviderError::new(ErrorKind::Api, "boom");
        e.status = Some(502);
        assert!(is_ambiguous(&e));
        e.status = Some(400);
        assert!(!is_ambiguous(&e));
        assert!(is_ambiguous(&ProviderError::new(ErrorKind::Transport, "x")));
        assert!(!is_ambiguous(&ProviderError::new(ErrorKind::Auth, "x")));
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff_ceiling(0), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(3), Duration::from_millis(800));
        assert_eq!(p.backoff_ceiling(4), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(1000), Duration::from_secs(1));
        for retry in 0..8 {
            for _ in 0..50 {
                let d = p.backoff(retry);
                let ceiling = p.backoff_ceiling(retry);
                assert!(d >= ceiling / 2 && d <= ceiling, "{d:?} for {retry}");
            }
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        let p = RetryPolicy::default();
        assert_eq!(p.retry_after(Some("3600")), Some(p.max_retry_after));
        assert_eq!(p.retry_after(None), None);
    }

    #[test]
    fn request_debug_hides_secret_headers() {
        let url = Url::parse("http://127.0.0.1:1/v1/x?name=a").unwrap();
        let r = HttpRequest::new(Method::GET, url)
            .header(
                "Authorization",
                "SDK-HMAC-SHA256 Access=AK, Signature=deadbeef",
            )
            .header("X-Auth-Token", "tok-123")
            .header("X-Project-Id", "p1");
        let text = format!("{r:?}");
        assert!(
            !text.contains("deadbeef") && !text.contains("tok-123"),
            "{text}"
        );
        assert!(text.contains("p1"));
        assert_eq!(r.call(), "GET /v1/x");
        assert_eq!(r.host(), "127.0.0.1:1");
        let r = HttpRequest::new(
            Method::GET,
            Url::parse("https://fabric.cn-north-4.myhuaweicloud.com/v1").unwrap(),
        );
        assert_eq!(r.host(), "fabric.cn-north-4.myhuaweicloud.com");
    }

    #[test]
    fn rate_limiter_rejects_nonsense() {
        assert!(RateLimiter::per_second(0.0).is_none());
        assert!(RateLimiter::per_second(-1.0).is_none());
        assert!(RateLimiter::per_second(f64::NAN).is_none());
        assert!(RateLimiter::per_second(0.5).is_some());
        assert!(RateLimiter::per_second(100.0).is_some());
    }

    #[tokio::test]
    async fn rate_limiter_spaces_requests() {
        let limiter = RateLimiter::per_second(20.0).unwrap();
        let start = std::time::Instant::now();
        // The burst of 20 is free; the next 10 take about half a second.
        for _ in 0..30 {
            limiter.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }

    mod over_http {
        use super::super::*;
        use crate::deadline::Deadline;
        use crate::testing::{FakeServer, Piece, Reply};
        use futures_util::StreamExt;
        use std::sync::atomic::{AtomicUsize, Ordering};

        fn fast_policy() -> ClientSettings {
            ClientSettings {
                max_requests_per_second: None,
                retry: RetryPolicy {
                    base_delay: Duration::from_millis(1),
                    max_delay: Duration::from_millis(5),
                    ..RetryPolicy::default()
                },
                request_timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(5),
            }
        }

        fn client() -> HttpClient {
            HttpClient::new(&fast_policy(), Arc::new(NoAuth), Redactor::new()).unwrap()
        }

        fn flaky(fail_first: usize, reply: Reply) -> impl Fn(&crate::testing::Recorded) -> Reply {
            let count = AtomicUsize::new(0);
            move |_| {
                if count.fetch_add(1, Ordering::SeqCst) < fail_first {
                    reply.clone()
                } else {
                    Reply::json(200, serde_json::json!({"ok": true}))
                        .with_header("X-Request-Id", "req-1")
                }
            }
        }

        #[tokio::test]
        async fn get_is_retried_on_5xx_and_drops() {
            for reply in [Reply::json(503, serde_json::json!({})), Reply::Drop] {
                let server = FakeServer::start(flaky(2, reply)).await;
                let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
                let response = client()
                    .send(HttpRequest::new(Method::GET, url))
                    .await
                    .unwrap();
                assert_eq!(response.status, 200);
                assert_eq!(response.request_id.as_deref(), Some("req-1"));
                assert_eq!(server.requests().len(), 3);
            }
        }

        #[tokio::test]
        async fn post_is_not_retried_on_5xx_but_is_on_429() {
            let server = FakeServer::start(flaky(1, Reply::json(500, serde_json::json!({})))).await;
            let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
            let response = client()
                .send(HttpRequest::new(Method::POST, url.clone()))
                .await
                .unwrap();
            assert_eq!(response.status, 500);
            assert_eq!(server.requests().len(), 1);

            let server = FakeServer::start(flaky(
                2,
                Reply::json(429, serde_json::json!({})).with_header("Retry-After", "0"),
            ))
            .await;
            let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
            let response = client()
                .send(HttpRequest::new(Method::POST, url))
                .await
                .unwrap();
            assert_eq!(response.status, 200);
            assert_eq!(server.requests().len(), 3);
        }

        #[tokio::test]
        async fn post_dropped_is_a_transport_error() {
            let server = FakeServer::start(|_| Reply::Drop).await;
            let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
            let err = client()
                .send(HttpRequest::new(Method::POST, url))
                .await
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::Transport);
            assert_eq!(err.call.as_deref(), Some("POST /v1/x"));
            assert!(is_ambiguous(&err));
            assert_eq!(server.requests().len(), 1);
        }

        #[tokio::test]
        async fn retries_run_out() {
            let server = FakeServer::start(|_| Reply::json(502, serde_json::json!({}))).await;
            let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
            let response = client()
                .send(HttpRequest::new(Method::DELETE, url))
                .await
                .unwrap();
            assert_eq!(response.status, 502);
            assert_eq!(server.requests().len(), 6);
        }

        fn deadline(ms: u64) -> Deadline {
            Deadline::start(&crate::OpContext {
                timeout: Some(Duration::from_millis(ms)),
                ..crate::OpContext::silent()
            })
        }

        #[tokio::test]
        async fn the_deadline_shortens_an_attempt() {
            let server = FakeServer::start(|_| Reply::Stall(Duration::from_secs(10))).await;
            let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
            let start = std::time::Instant::now();
            // The client would wait 5 s for an answer; the operation has 300 ms left.
            let err = client()
                .send(HttpRequest::new(Method::GET, url).until(deadline(300)))
                .await
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
            assert_eq!(err.call.as_deref(), Some("GET /v1/x"));
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "{:?}",
                start.elapsed()
            );
            // Not retried: there is no time left for it.
            assert_eq!(server.requests().len(), 1);
        }

        #[tokio::test]
        async fn no_backoff_is_slept_past_the_deadline() {
            let server = FakeServer::start(|_| {
                Reply::json(503, serde_json::json!({"busy": true})).with_header("Retry-After", "30")
            })
            .await;
            let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
            let start = std::time::Instant::now();
            let response = client()
                .send(HttpRequest::new(Method::GET, url).until(deadline(1000)))
                .await
                .unwrap();
            assert_eq!(response.status, 503);
            assert_eq!(server.requests().len(), 1);
            assert!(start.elapsed() < Duration::from_secs(2));
        }

        #[tokio::test]
        async fn nothing_is_sent_once_the_deadline_passed() {
            let server = FakeServer::start(|_| Reply::json(200, serde_json::json!({}))).await;
            let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
            let err = client()
                .send(HttpRequest::new(Method::POST, url).until(deadline(0)))
                .await
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::Timeout);
            assert_eq!(
                err.to_string(),
                "POST /v1/x: the operation's timeout of 0ms ran out before this call could be \
                 answered"
            );
            assert!(server.requests().is_empty());
        }

        #[tokio::test]
        async fn open_hands_out_pieces_as_they_come() {
            let gate = Arc::new(tokio::sync::Notify::new());
            let server = FakeServer::start({
                let gate = gate.clone();
                move |_| {
                    Reply::event_stream(vec![
                        Piece::data("first"),
                        Piece::Wait(gate.clone()),
                        Piece::data("second"),
                    ])
                    .with_header("X-Request-Id", "req-s")
                }
            })
            .await;
            let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
            let Opened::Stream(mut stream) = client()
                .open(HttpRequest::new(Method::POST, url))
                .await
                .unwrap()
            else {
                panic!("expected a stream");
            };
            assert_eq!(stream.head.status, 200);
            assert_eq!(stream.head.request_id.as_deref(), Some("req-s"));
            // The first piece arrives while the server still holds back the second.
            let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
                .await
                .expect("the first piece comes before the body is complete");
            assert_eq!(first.unwrap().unwrap(), b"first");
            gate.notify_one();
            assert_eq!(stream.next().await.unwrap().unwrap(), b"second");
            assert!(stream.next().await.is_none());
        }

        #[tokio::test]
        async fn a_stream_that_stops_arriving_is_an_error() {
            let server = FakeServer::start(|_| {
                Reply::event_stream(vec![
                    Piece::data("first"),
                    Piece::Pause(Duration::from_secs(5)),
                    Piece::data("late"),
                ])
            })
            .await;
            let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
            let settings = ClientSettings {
                request_timeout: Duration::from_millis(200),
                ..fast_policy()
            };
            let client = HttpClient::new(&settings, Arc::new(NoAuth), Redactor::new()).unwrap();
            let Opened::Stream(mut stream) = client
                .open(HttpRequest::new(Method::POST, url))
                .await
                .unwrap()
            else {
                panic!("expected a stream");
            };
            assert_eq!(stream.next().await.unwrap().unwrap(), b"first");
            let err = stream.next().await.unwrap().unwrap_err();
            assert_eq!(err.kind, ErrorKind::Transport);
            assert_eq!(
                err.to_string(),
                "POST /v1/x returned 200: the answer stopped arriving (nothing for 200ms)"
            );
            assert!(stream.next().await.is_none());
        }

        #[tokio::test]
        async fn open_reads_other_answers_whole() {
            let server = FakeServer::start(|_| {
                Reply::json(401, serde_json::json!({"error_code": "APIG.1002"}))
            })
            .await;
            let url = Url::parse(&format!("{}/v1/x", server.url())).unwrap();
            match client().open(HttpRequest::new(Method::POST, url)).await {
                Ok(Opened::Answer(response)) => {
                    assert_eq!(response.status, 401);
                    assert_eq!(response.json().unwrap()["error_code"], "APIG.1002");
                }
                other => panic!("{other:?}"),
            }
        }

        #[tokio::test]
        async fn connection_refused_is_retried_then_reported() {
            // Bind and close a listener to find a port nobody listens on.
            let port = {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                l.local_addr().unwrap().port()
            };
            let url = Url::parse(&format!("http://127.0.0.1:{port}/v1/x")).unwrap();
            let err = client()
                .send(HttpRequest::new(Method::POST, url))
                .await
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::Transport);
            assert!(err.message.starts_with("cannot connect"), "{}", err.message);
        }
    }
}
