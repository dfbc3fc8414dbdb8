//! The SDK-HMAC-SHA256 request signer, as Huawei Cloud's SDKs implement it.
//!
//! Canonical request = METHOD `\n` canonical URI `\n` canonical query `\n` canonical headers
//! (each `name:value\n`) `\n` signed header names `\n` hex(sha256(body)). The string to sign is
//! `SDK-HMAC-SHA256\n{X-Sdk-Date}\n{hex(sha256(canonical request))}`, and the signature is
//! hex(HMAC-SHA256(SK, string to sign)). Every header the request carries is signed (names
//! lowercased and sorted), except `Authorization` itself.

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// The algorithm's name, first word of the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// What the SDK leaves unescaped: letters, digits and `-_.~` (Python's `quote(s, safe='~')`).
const ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// URI-encodes one path segment, query key or query value as the signer does.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, ESCAPE).to_string()
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The canonical URI: each segment decoded and re-encoded, always ending in `/`.
pub fn canonical_uri(path: &str) -> String {
    let mut uri = path
        .split('/')
        .map(|segment| encode(&decode(segment)))
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query: pairs sorted by key (then value), each part encoded, joined by `&`.
/// `raw` is the query as it appears in the URL (without `?`); `+` is taken literally.
pub fn canonical_query(raw: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = raw
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (encode(&decode(k)), encode(&decode(v))),
            None => (encode(&decode(p)), String::new()),
        })
        .collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical headers block and the signed header names, from every header but
/// `Authorization`.
pub fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut lowered: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("authorization"))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    lowered.sort();
    let block: String = lowered.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let names = lowered
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (block, names)
}

/// The canonical request and the signed header names.
pub fn canonical_request(
    method: &str,
    path: &str,
    raw_query: Option<&str>,
    headers: &[(String, String)],
    body: &[u8],
) -> (String, String) {
    let (header_block, signed) = canonical_headers(headers);
    let request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        canonical_uri(path),
        canonical_query(raw_query),
        header_block,
        signed,
        hex::encode(Sha256::digest(body)),
    );
    (request, signed)
}

/// The string to sign for a canonical request and an `X-Sdk-Date`.
pub fn string_to_sign(canonical_request: &str, sdk_date: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// hex(HMAC-SHA256(secret, message)).
pub fn signature(secret_key: &str, string_to_sign: &str) -> String {
    // HMAC accepts a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` header for a request. `headers` must include `Host` and `X-Sdk-Date`
/// (whose value is taken from them) and everything else the request will send.
pub fn authorization(
    access_key: &str,
    secret_key: &str,
    method: &str,
    path: &str,
    raw_query: Option<&str>,
    headers: &[(String, String)],
    body: &[u8],
) -> String {
    let sdk_date = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-sdk-date"))
        .map(|(_, v)| v.trim())
        .unwrap_or_default();
    let (request, signed) = canonical_request(method, path, raw_query, headers, body);
    let sig = signature(secret_key, &string_to_sign(&request, sdk_date));
    format!("{ALGORITHM} Access={access_key}, SignedHeaders={signed}, Signature={sig}")
}

/// `X-Sdk-Date` for a moment: `20261122T010203Z`.
pub fn sdk_date(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// Known-answer vector 1 of CLOUD-APIS.md (Huawei's official Python SDK signer).
    #[test]
    fn known_answer_vector_1() {
        let headers = h(&[
            ("Content-Type", "application/json"),
            ("Host", "127.0.0.1:8787"),
            ("X-Sdk-Date", "20261122T010203Z"),
        ]);
        // The query as a URL carries it: the space encoded.
        let auth = authorization(
            "AK1",
            "SK1",
            "POST",
            "/v1/workspaces",
            Some("name=a%20b&limit=10"),
            &headers,
            br#"{"name": "apieworkspace"}"#,
        );
        assert_eq!(
            auth,
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=content-type;host;x-sdk-date, \
             Signature=5698311b73e78a9c314d05a8aa6d51fb2cac46dfd56576b6ee942f521ae83ae9"
        );
        // The raw space, or a reqwest-style `+`... only the first is the same query.
        let (canonical, _) = canonical_request(
            "POST",
            "/v1/workspaces",
            Some("name=a b&limit=10"),
            &headers,
            b"",
        );
        assert!(canonical.contains("\nlimit=10&name=a%20b\n"), "{canonical}");
    }

    /// Known-answer vector 2 of CLOUD-APIS.md.
    #[test]
    fn known_answer_vector_2() {
        let headers = h(&[
            ("Host", "fabric.cn-southwest-2.myhuaweicloud.com"),
            ("X-Project-Id", "0a1b2c"),
            ("X-Sdk-Date", "20261122T010203Z"),
        ]);
        let auth = authorization(
            "local-ak",
            "local-sk",
            "GET",
            "/v1/workspaces/e935d0ef/endpoints/0b5633ba",
            None,
            &headers,
            b"",
        );
        assert_eq!(
            auth,
            "SDK-HMAC-SHA256 Access=local-ak, SignedHeaders=host;x-project-id;x-sdk-date, \
             Signature=f608ad12180ca2ddd800b2371c96b82d43504f49625fedacb2a3ce6341c33838"
        );
    }

    #[test]
    fn canonical_pieces() {
        assert_eq!(canonical_uri("/v1/workspaces"), "/v1/workspaces/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/v1/a%20b/c"), "/v1/a%20b/c/");
        assert_eq!(canonical_query(None), "");
        assert_eq!(canonical_query(Some("b=2&a=1&a=0")), "a=0&a=1&b=2");
        assert_eq!(canonical_query(Some("x=%7E~*")), "x=~~%2A");
        let (block, names) = canonical_headers(&h(&[
            ("X-B", " two "),
            ("Authorization", "ignored"),
            ("a", "1"),
        ]));
        assert_eq!(block, "a:1\nx-b:two\n");
        assert_eq!(names, "a;x-b");
    }

    #[test]
    fn sdk_date_format() {
        let at = time::macros::datetime!(2026-11-22 01:02:03 UTC);
        assert_eq!(sdk_date(at), "20261122T010203Z");
        let at = time::macros::datetime!(2026-11-22 09:02:03 +08:00);
        assert_eq!(sdk_date(at), "20261122T010203Z");
    }
}
