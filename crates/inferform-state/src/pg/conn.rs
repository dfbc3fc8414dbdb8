//! The connection string: parsed, given safe defaults, shown without its password, and turned
//! into a TLS setup. tokio-postgres knows only `sslmode` disable, prefer and require, and no
//! `sslrootcert`, so those are taken out of the string first and handled here the way libpq
//! does: prefer and require encrypt without checking the certificate, verify-ca checks it
//! against the known authorities, verify-full also checks the host name.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio_postgres::config::Host;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StateError;

/// How much TLS, as libpq's `sslmode` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// A parsed connection string.
#[derive(Clone)]
pub(crate) struct Target {
    pub config: tokio_postgres::Config,
    pub ssl: SslMode,
    pub root_cert: Option<PathBuf>,
    /// `postgres://user@host:port/db`: what messages show.
    pub display: String,
    /// The password, so that it can be scrubbed from any error text that might echo it.
    secret: Option<String>,
}

impl Target {
    pub fn parse(conn_str: &str) -> Result<Target, StateError> {
        let split = split_ssl(conn_str);
        let secret = split.password.clone().filter(|p| !p.is_empty());
        let scrub = |text: String| match &secret {
            Some(p) => text.replace(p.as_str(), "***"),
            None => text,
        };
        let mut config =
            tokio_postgres::Config::from_str(&split.rest).map_err(|e| StateError::BadConfig {
                message: scrub(format!("conn_str does not parse: {}", chain(&e))),
            })?;
        let ssl = match split.sslmode.as_deref() {
            None | Some("prefer") | Some("allow") => SslMode::Prefer,
            Some("disable") => SslMode::Disable,
            Some("require") => SslMode::Require,
            Some("verify-ca") => SslMode::VerifyCa,
            Some("verify-full") => SslMode::VerifyFull,
            Some(other) => {
                return Err(StateError::BadConfig {
                    message: format!(
                        "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                    ),
                })
            }
        };
        config.ssl_mode(match ssl {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        // libpq connects to the local server when no host is given; over TCP that is localhost.
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            config.host("localhost");
        }
        // Defaults for what the string leaves out. A dead server or network must fail the
        // run within about half a minute rather than hang it: the lock it held is gone with
        // the session, so waiting longer only delays the error.
        let given = &split.keys;
        if !given.contains("connect_timeout") {
            config.connect_timeout(Duration::from_secs(10));
        }
        if !given.contains("keepalives_idle") {
            config.keepalives_idle(Duration::from_secs(15));
        }
        if !given.contains("keepalives_interval") {
            config.keepalives_interval(Duration::from_secs(5));
        }
        if !given.contains("keepalives_retries") {
            config.keepalives_retries(3);
        }
        if !given.contains("tcp_user_timeout") {
            config.tcp_user_timeout(Duration::from_secs(30));
        }
        if !given.contains("application_name") {
            config.application_name("inferform");
        }
        let display = display(&config);
        Ok(Target {
            config,
            ssl,
            root_cert: split.sslrootcert.map(PathBuf::from),
            display,
            secret,
        })
    }

    /// `text` with the password (if any) replaced.
    pub fn scrub(&self, text: String) -> String {
        match &self.secret {
            Some(p) => text.replace(p.as_str(), "***"),
            None => text,
        }
    }

    /// The TLS connector for the mode.
    pub fn tls(&self) -> Result<MakeRustlsConnect, StateError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| StateError::Tls {
                target: self.display.clone(),
                cause: e.to_string(),
            })?;
        let config = match self.ssl {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unverified { provider }))
                .with_no_client_auth(),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let mut roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                if let Some(path) = &self.root_cert {
                    use rustls::pki_types::pem::PemObject as _;
                    let bad = |e: String| StateError::BadConfig {
                        message: format!("sslrootcert {}: {e}", path.display()),
                    };
                    let certs = CertificateDer::pem_file_iter(path)
                        .map_err(|e| bad(e.to_string()))?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| bad(e.to_string()))?;
                    if certs.is_empty() {
                        return Err(bad("holds no PEM certificate".into()));
                    }
                    for cert in certs {
                        roots.add(cert).map_err(|e| bad(e.to_string()))?;
                    }
                }
                let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .map_err(|e| StateError::Tls {
                    target: self.display.clone(),
                    cause: e.to_string(),
                })?;
                let verifier: Arc<dyn ServerCertVerifier> = if self.ssl == SslMode::VerifyCa {
                    Arc::new(AnyName(verifier))
                } else {
                    verifier
                };
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth()
            }
        };
        Ok(MakeRustlsConnect::new(config))
    }

    /// A connection failure as the error a user can act on.
    pub fn connect_error(&self, e: &tokio_postgres::Error) -> StateError {
        let cause = self.scrub(chain(e));
        let target = self.display.clone();
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            if code == "28P01" || code == "28000" {
                return StateError::Auth {
                    target,
                    cause: self.scrub(db.message().to_string()),
                };
            }
            return StateError::Database {
                cause: self.scrub(format!("{code}: {}", db.message())),
            };
        }
        if cause.contains("TLS") || cause.contains("certificate") {
            StateError::Tls { target, cause }
        } else if cause.contains("password") || cause.contains("authentication") {
            StateError::Auth { target, cause }
        } else {
            StateError::Unreachable { target, cause }
        }
    }
}

/// An error and its causes, on one line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

/// `postgres://user@host:port/db`, with no password.
fn display(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = if config.get_hosts().is_empty() {
        config
            .get_hostaddrs()
            .iter()
            .map(|a| a.to_string())
            .collect()
    } else {
        config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect()
    };
    let ports = config.get_ports();
    let with_ports: Vec<String> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{h}:{port}")
        })
        .collect();
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or_default();
    format!("postgres://{user}{}/{db}", with_ports.join(","))
}

/// A connection string with the settings this module handles taken out.
#[derive(Debug, Default, PartialEq)]
struct Split {
    rest: String,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    password: Option<String>,
    /// Every key the string sets (URL query parameters or key=value pairs).
    keys: BTreeSet<String>,
}

fn split_ssl(conn_str: &str) -> Split {
    let trimmed = conn_str.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        split_url(trimmed)
    } else {
        split_pairs(trimmed)
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn split_url(url: &str) -> Split {
    let mut out = Split::default();
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // postgres://user:password@host...: the password is between the first ':' and the last
    // '@' of the authority.
    let after = base.split_once("://").map(|(_, a)| a).unwrap_or("");
    let authority = after.split('/').next().unwrap_or("");
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if let Some((_, password)) = userinfo.split_once(':') {
            out.password = Some(decode(password));
        }
    }
    let mut kept = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(k);
        match key.as_str() {
            "sslmode" => out.sslmode = Some(decode(v)),
            "sslrootcert" => out.sslrootcert = Some(decode(v)),
            "password" => {
                out.password = Some(decode(v));
                kept.push(pair);
            }
            _ => kept.push(pair),
        }
        out.keys.insert(key);
    }
    out.rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    out
}

/// key=value pairs, as libpq reads them: spaces around `=` allowed, values either bare (with
/// backslash escapes) or in single quotes (with `\'` and `\\`).
fn split_pairs(text: &str) -> Split {
    let mut out = Split::default();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut kept: Vec<&str> = Vec::new();
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    loop {
        i = skip_ws(i);
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &text[start..i];
        i = skip_ws(i);
        if i >= bytes.len() || bytes[i] != b'=' {
            // Not a pair: leave the whole string to tokio-postgres, which reports it.
            return Split {
                rest: text.to_string(),
                ..Split::default()
            };
        }
        i = skip_ws(i + 1);
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'\'' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'\'' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                let ch = text[i..].chars().next().unwrap_or(' ');
                value.push(ch);
                i += ch.len_utf8();
            }
            i += 1;
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                let ch = text[i..].chars().next().unwrap_or(' ');
                value.push(ch);
                i += ch.len_utf8();
            }
        }
        let raw = &text[start..i.min(text.len())];
        out.keys.insert(key.to_string());
        match key {
            "sslmode" => out.sslmode = Some(value),
            "sslrootcert" => out.sslrootcert = Some(value),
            "password" => {
                out.password = Some(value);
                kept.push(raw);
            }
            _ => kept.push(raw),
        }
    }
    out.rest = kept.join(" ");
    out
}

/// Encrypts without checking who is at the other end, as libpq's `prefer` and `require` do.
/// Handshake signatures are still checked against the presented certificate.
#[derive(Debug)]
struct Unverified {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// verify-ca: the chain must lead to a trusted authority, whatever name the certificate is
/// for. webpki checks the chain before the name, so a name mismatch means the chain passed.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_form_loses_its_ssl_settings_and_shows_no_password() {
        let t = Target::parse(
            "postgres://bob:s3cr%40t@db.example:6543/states?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(t.ssl, SslMode::VerifyFull);
        assert_eq!(t.root_cert, Some(PathBuf::from("/tmp/ca.pem")));
        assert_eq!(t.display, "postgres://bob@db.example:6543/states");
        assert_eq!(t.config.get_password(), Some(&b"s3cr@t"[..]));
        assert_eq!(t.config.get_application_name(), Some("x"));
        assert_eq!(t.scrub("oops s3cr@t".into()), "oops ***");
    }

    #[test]
    fn key_value_form_with_quotes() {
        let t = Target::parse(
            "host=127.0.0.1 port = 5433 user=inferform password='a \\'b\\' c' dbname=d sslmode=disable",
        )
        .unwrap();
        assert_eq!(t.ssl, SslMode::Disable);
        assert_eq!(t.config.get_password(), Some(&b"a 'b' c"[..]));
        assert_eq!(t.display, "postgres://inferform@127.0.0.1:5433/d");
        assert_eq!(
            t.config.get_connect_timeout(),
            Some(&Duration::from_secs(10))
        );
    }

    #[test]
    fn prefer_is_the_default_and_bad_modes_are_named() {
        assert_eq!(
            Target::parse("postgres://u@h/d").unwrap().ssl,
            SslMode::Prefer
        );
        match Target::parse("postgres://u:pw@h/d?sslmode=sometimes") {
            Err(StateError::BadConfig { message }) => {
                assert!(message.contains("sometimes"), "{message}");
                assert!(!message.contains("pw"), "{message}");
            }
            _ => panic!("expected BadConfig"),
        }
        match Target::parse("postgres://u:hunter2@h/d?nonsense=1") {
            Err(e) => assert!(!e.to_string().contains("hunter2"), "{e}"),
            Ok(_) => panic!("an unknown option parses"),
        }
    }

    #[test]
    fn verify_modes_build_a_connector() {
        for mode in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            let t = Target::parse(&format!("postgres://u@h/d?sslmode={mode}")).unwrap();
            assert!(t.tls().is_ok(), "{mode}");
        }
        let t = Target::parse("postgres://u@h/d?sslmode=verify-full&sslrootcert=/nonexistent.pem")
            .unwrap();
        assert!(matches!(t.tls(), Err(StateError::BadConfig { .. })));
    }
}
