//! Hashes, UUIDs and encodings: `md5`, `sha1`, `sha512`, `base64sha256`, `base64sha512`,
//! the `file*` hashes, `filebase64`, `uuid`, `uuidv5`, `csvdecode`.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use inferform_types::Value;
use sha2::Digest;

use super::args::{arity, err, io_reason, read_bytes, string, FuncError};

pub(super) fn dispatch(
    name: &str,
    a: &[Value],
    base_dir: Option<&Path>,
) -> Option<Result<Value, FuncError>> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let text = |a: &[Value]| -> Result<Vec<u8>, FuncError> {
        arity(name, a, 1)?;
        Ok(string(&a[0], "the argument")?.into_bytes())
    };
    let file = |a: &[Value]| -> Result<Vec<u8>, FuncError> {
        arity(name, a, 1)?;
        read_bytes(&string(&a[0], "the path")?, base_dir)
    };
    Some(match name {
        "md5" => text(a).map(|b| hex_of(md5::Md5::digest(b))),
        "sha1" => text(a).map(|b| hex_of(sha1::Sha1::digest(b))),
        "sha512" => text(a).map(|b| hex_of(sha2::Sha512::digest(b))),
        "base64sha256" => text(a).map(|b| Value::String(b64(&sha2::Sha256::digest(b)))),
        "base64sha512" => text(a).map(|b| Value::String(b64(&sha2::Sha512::digest(b)))),
        "filemd5" => file(a).map(|b| hex_of(md5::Md5::digest(b))),
        "filesha1" => file(a).map(|b| hex_of(sha1::Sha1::digest(b))),
        "filesha256" => file(a).map(|b| hex_of(sha2::Sha256::digest(b))),
        "filesha512" => file(a).map(|b| hex_of(sha2::Sha512::digest(b))),
        "filebase64" => file(a).map(|b| Value::String(b64(&b))),
        "filebase64sha256" => file(a).map(|b| Value::String(b64(&sha2::Sha256::digest(b)))),
        "filebase64sha512" => file(a).map(|b| Value::String(b64(&sha2::Sha512::digest(b)))),
        "uuid" => arity(name, a, 0).map(|_| Value::String(uuid::Uuid::new_v4().to_string())),
        "uuidv5" => arity(name, a, 2).and_then(|_| {
            let space = string(&a[0], "the namespace")?;
            let namespace = match space.as_str() {
                "dns" => uuid::Uuid::NAMESPACE_DNS,
                "url" => uuid::Uuid::NAMESPACE_URL,
                "oid" => uuid::Uuid::NAMESPACE_OID,
                "x500" => uuid::Uuid::NAMESPACE_X500,
                other => uuid::Uuid::parse_str(other).map_err(|_| {
                    err(
                        format!("{other:?} is not a namespace"),
                        "pass \"dns\", \"url\", \"oid\", \"x500\" or a UUID",
                    )
                })?,
            };
            let id = uuid::Uuid::new_v5(&namespace, string(&a[1], "the name")?.as_bytes());
            Ok(Value::String(id.to_string()))
        }),
        "yamlencode" => {
            arity(name, a, 1).and_then(|_| super::yaml::encode(&a[0]).map(Value::String))
        }
        "yamldecode" => {
            arity(name, a, 1).and_then(|_| super::yaml::decode(&string(&a[0], "the argument")?))
        }
        "base64gzip" => arity(name, a, 1).and_then(|_| {
            use std::io::Write as _;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(string(&a[0], "the argument")?.as_bytes())
                .and_then(|_| gz.finish())
                .map(|bytes| Value::String(b64(&bytes)))
                .map_err(|e| err(format!("cannot compress: {}", io_reason(&e)), "try again"))
        }),
        "textencodebase64" => arity(name, a, 2).and_then(|_| {
            let text = string(&a[0], "the string")?;
            let bytes = encode_text(&text, &string(&a[1], "the encoding")?)?;
            Ok(Value::String(b64(&bytes)))
        }),
        "textdecodebase64" => arity(name, a, 2).and_then(|_| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(string(&a[0], "the encoded text")?)
                .map_err(|_| {
                    err(
                        "the first argument is not valid base64",
                        "check the encoded text",
                    )
                })?;
            decode_text(&bytes, &string(&a[1], "the encoding")?).map(Value::String)
        }),
        "csvdecode" => arity(name, a, 1).and_then(|_| csvdecode(&string(&a[0], "the argument")?)),
        _ => return None,
    })
}

/// A character encoding by its IANA name (`UTF-16LE`, `ISO-8859-2`, `SHIFT_JIS`...).
fn encoding(name: &str) -> Result<&'static encoding_rs::Encoding, FuncError> {
    encoding_rs::Encoding::for_label(name.trim().as_bytes()).ok_or_else(|| {
        err(
            format!("{name:?} is not a character encoding"),
            "name an IANA encoding such as UTF-8, UTF-16LE or ISO-8859-1",
        )
    })
}

/// Text in an encoding. UTF-16 is written here: the encoding standard `encoding_rs`
/// follows only reads it.
fn encode_text(text: &str, name: &str) -> Result<Vec<u8>, FuncError> {
    let enc = encoding(name)?;
    let units = || text.encode_utf16();
    if enc == encoding_rs::UTF_16LE {
        return Ok(units().flat_map(u16::to_le_bytes).collect());
    }
    if enc == encoding_rs::UTF_16BE {
        return Ok(units().flat_map(u16::to_be_bytes).collect());
    }
    let (bytes, _, unmappable) = enc.encode(text);
    if unmappable {
        return Err(err(
            format!("the text has characters that {name} cannot represent"),
            "choose an encoding that has them, such as UTF-8",
        ));
    }
    Ok(bytes.into_owned())
}

fn decode_text(bytes: &[u8], name: &str) -> Result<String, FuncError> {
    let (text, malformed) = encoding(name)?.decode_without_bom_handling(bytes);
    if malformed {
        return Err(err(
            format!("the bytes are not valid {name}"),
            "check the encoding the text was written in",
        ));
    }
    Ok(text.into_owned())
}

fn hex_of(bytes: impl AsRef<[u8]>) -> Value {
    Value::String(hex::encode(bytes))
}

/// CSV with a header row → a list of objects, every value a string (as Terraform).
fn csvdecode(text: &str) -> Result<Value, FuncError> {
    if text.is_empty() {
        return Err(err(
            "the CSV text is empty: it needs a header line",
            "start the text with a line of column names, such as \"name,size\"",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let bad = |e: csv::Error| {
        err(
            format!(
                "the CSV text cannot be read: {}",
                match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        pos,
                        expected_len,
                        len,
                    } => format!(
                        "row {} has {len} field(s) where the header has {expected_len}",
                        pos.as_ref().map_or(0, |p| p.line())
                    ),
                    csv::ErrorKind::Utf8 { .. } => "it is not UTF-8 text".to_string(),
                    _ => "it is not CSV".to_string(),
                }
            ),
            "every row needs as many fields as the header",
        )
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(bad)?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(bad)?;
        let row: BTreeMap<String, Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.clone(), Value::string(v)))
            .collect();
        rows.push(Value::Object(row));
    }
    Ok(Value::List(rows))
}

/// A value as JSON text, numbers in all their digits (`1e20` is `100000000000000000000`, as
/// Terraform writes it, where a JSON library would write a float). Unknown parts are null.
pub(super) fn json_text(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::List(items) | Value::Set(items) => {
            let inner: Vec<String> = items.iter().map(json_text).collect();
            format!("[{}]", inner.join(","))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}:{}", serde_json::Value::from(k.as_str()), json_text(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Sensitive(inner) => json_text(inner),
        Value::String(s) => serde_json::Value::from(s.as_str()).to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Unknown => "null".into(),
    }
}
