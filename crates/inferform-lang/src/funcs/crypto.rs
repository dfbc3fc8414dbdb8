//! Password hashing and decryption: `bcrypt` and `rsadecrypt`.

use base64::Engine as _;
use inferform_types::Value;

use super::args::{arity, err, string, whole, FuncError};

pub(super) fn dispatch(name: &str, a: &[Value]) -> Option<Result<Value, FuncError>> {
    Some(match name {
        "bcrypt" => bcrypt(a),
        "rsadecrypt" => rsadecrypt(a),
        _ => return None,
    })
}

/// A bcrypt hash in the `$2a$` form Terraform writes, with a fresh salt on every call (so its
/// value differs from plan to plan, as Terraform's does). A cost below 4 means the default of
/// 10, as in Go's bcrypt.
fn bcrypt(a: &[Value]) -> Result<Value, FuncError> {
    if a.is_empty() || a.len() > 2 {
        return Err(err(
            "takes 1 or 2 arguments",
            "write bcrypt(password) or bcrypt(password, cost)",
        ));
    }
    let password = string(&a[0], "the password")?;
    let cost = match a.get(1) {
        Some(v) => whole(v, "the cost")?,
        None => 10,
    };
    if cost > 31 {
        return Err(err(
            format!("the cost must be from 4 to 31, got {cost}"),
            "pass a cost of 31 or less; each step doubles the time",
        ));
    }
    let cost = if cost < 4 { 10 } else { cost as u32 };
    if password.len() > 72 {
        return Err(err(
            format!(
                "bcrypt takes at most 72 bytes of password, got {}",
                password.len()
            ),
            "hash a shorter password, or a digest of it",
        ));
    }
    let hash = bcrypt::hash_with_result(password.as_bytes(), cost).map_err(|_| {
        err(
            "the password could not be hashed",
            "check the password and cost",
        )
    })?;
    Ok(Value::String(
        hash.format_for_version(bcrypt::Version::TwoA),
    ))
}

/// Decrypts base64 RSA (PKCS #1 v1.5) ciphertext with a PEM private key, in PKCS #1 (`BEGIN
/// RSA PRIVATE KEY`) or PKCS #8 (`BEGIN PRIVATE KEY`) form; the text must be UTF-8.
fn rsadecrypt(a: &[Value]) -> Result<Value, FuncError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    arity("rsadecrypt", a, 2)?;
    let ciphertext = string(&a[0], "the ciphertext")?;
    let pem = string(&a[1], "the private key")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(ciphertext.trim())
        .map_err(|_| {
            err(
                "the ciphertext is not base64",
                "pass the base64 text the encryption gave",
            )
        })?;
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(&pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(&pem))
        .map_err(|_| {
            err(
                "the private key is not an RSA key in PEM form",
                "pass the text of a PEM file that begins with BEGIN RSA PRIVATE KEY or \
                 BEGIN PRIVATE KEY, for example with file(\"key.pem\")",
            )
        })?;
    let plain = key.decrypt(rsa::Pkcs1v15Encrypt, &bytes).map_err(|_| {
        err(
            "the ciphertext could not be decrypted with this key",
            "check that it was encrypted (PKCS #1 v1.5) for this key's public half",
        )
    })?;
    String::from_utf8(plain).map(Value::String).map_err(|_| {
        err(
            "the decrypted text is not UTF-8",
            "rsadecrypt gives text; the data encrypted must be text",
        )
    })
}
