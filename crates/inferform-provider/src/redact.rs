//! Keeping secrets out of errors and debug output.
//!
//! A [`Redactor`] knows the secrets of one configured provider (keys, tokens) and replaces them
//! wherever they would otherwise leak into text: a server that echoes a header back in its error
//! body, a transport error that quotes a URL. Header values of known secret headers are never
//! printed at all (see [`is_secret_header`]).

use std::fmt;

/// What a secret is replaced with.
pub const REDACTED: &str = "(redacted)";

/// Header names whose values are credentials or signatures.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-auth-token",
    "x-security-token",
    "apikey",
    "x-api-key",
    "cookie",
    "set-cookie",
];

/// True when a header's value must never be shown.
pub fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(name))
}

/// Replaces known secrets in text.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret; empty strings are ignored (they would match everywhere).
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.add(secret);
        self
    }

    pub fn add(&mut self, secret: impl Into<String>) {
        let secret = secret.into();
        if !secret.is_empty() && !self.secrets.contains(&secret) {
            self.secrets.push(secret);
            // Longest first, so a secret that contains another is replaced whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// The text with every known secret, and every `Signature=...` value (signatures differ
    /// per request, so they cannot be listed), replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        redact_signatures(&out)
    }
}

/// Replaces the value after each `signature=` (any case) up to a space, comma, quote or `&`.
pub fn redact_signatures(text: &str) -> String {
    const KEY: &str = "signature=";
    let lower = text.to_ascii_lowercase();
    if !lower.contains(KEY) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find(KEY) {
        let value_start = search + found + KEY.len();
        let value_end = text[value_start..]
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | '"' | '\'' | '&' | ';'))
            .map_or(text.len(), |n| value_start + n);
        out.push_str(&text[rest..value_start]);
        if value_end > value_start {
            out.push_str(REDACTED);
        }
        rest = value_end;
        search = value_end.max(value_start);
    }
    out.push_str(&text[rest..]);
    out
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

/// A string that prints as [`REDACTED`] in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_longest_first() {
        let r = Redactor::new()
            .with_secret("abc")
            .with_secret("abcdef")
            .with_secret("");
        assert_eq!(r.redact("x abcdef y abc"), "x (redacted) y (redacted)");
        assert_eq!(r.redact("nothing"), "nothing");
        assert_eq!(format!("{r:?}"), "Redactor(2 secrets)");
    }

    #[test]
    fn signatures_are_replaced() {
        let r = Redactor::new();
        assert_eq!(
            r.redact("SDK-HMAC-SHA256 Access=A, SignedHeaders=host, Signature=abc123 and more"),
            "SDK-HMAC-SHA256 Access=A, SignedHeaders=host, Signature=(redacted) and more"
        );
        assert_eq!(
            r.redact("plain Credential=x,signature=s3cr3t\"}"),
            "plain Credential=x,signature=(redacted)\"}"
        );
        assert_eq!(r.redact("Signature="), "Signature=");
        assert_eq!(r.redact("no sig"), "no sig");
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "(redacted) (redacted)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn secret_headers() {
        assert!(is_secret_header("Authorization"));
        assert!(is_secret_header("X-Auth-Token"));
        assert!(is_secret_header("apiKey"));
        assert!(!is_secret_header("X-Sdk-Date"));
    }
}
