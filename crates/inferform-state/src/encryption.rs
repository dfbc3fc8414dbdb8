//! Encryption at rest: every record a store writes (and every saved plan) sealed with AES-GCM
//! under a key from a key provider, so that neither the database, its backups nor a leaked plan
//! artifact reveals what inferform manages.
//!
//! A [`Sealer`] serves one target (`state`, `plan`, a remote state) as the configuration's
//! [`TargetSpec`] says. It seals with the target's method and opens with that method or its
//! fallback. Each sealed blob is self-describing:
//!
//! ```text
//! IFENC1.<base64url header>.<base64url nonce ‖ ciphertext ‖ tag>
//! ```
//!
//! The header (JSON) names the method and key provider, carries what the provider needs to
//! make the same key again (PBKDF2's salt and parameters, an external command's `meta`), and a
//! key check: the first 8 bytes of HMAC-SHA256(key, "inferform key check"). The key check is
//! what tells a wrong key ("the data is intact") from a damaged record ("this record was
//! modified"), and it is the key id that rotation compares: a record whose key check is not the
//! write key's is re-sealed by the next write. The associated data is the header followed by
//! the record's identity ([`RecordId`]: target, kind, workspace, lineage, slot), so a record
//! cannot be moved to another slot, workspace or state, nor its header swapped, unnoticed.
//!
//! Nothing here is hand-rolled: AES-GCM is `aes-gcm`, PBKDF2 `pbkdf2` over `sha2`, HMAC `hmac`,
//! randomness the operating system's (`OsRng`), and keys are wiped from memory by `zeroize`.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::rand_core::RngCore as _;
use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256, Sha512};
use zeroize::Zeroizing;

pub use inferform_types::encryption::{
    EncryptionSpec, KeyProviderKind, KeyProviderSpec, MethodKind, MethodSpec, Pbkdf2Hash, Secret,
    TargetSpec,
};

/// The prefix of every sealed blob. Clear records are JSON and start with `{`, so the two never
/// look alike.
pub const MAGIC: &str = "IFENC1.";

/// The first line an external key provider prints, as OpenTofu's protocol has it, so that the
/// same programs serve both tools.
const EXTERNAL_MAGIC: &str = "OpenTofu-External-Key-Provider";

/// How long an external key provider may take before it is stopped.
const EXTERNAL_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong sealing or opening. Each names the target and never holds key material or a
/// record's content; [`CryptoError::help`] says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("cannot decrypt the {target}: the key from key provider {provider} is not the one it was encrypted with (nothing was changed: the stored data is intact)")]
    WrongKey { target: String, provider: String },
    #[error("cannot decrypt the {target}: it was encrypted with method {method} and key provider {provider}, which the encryption configuration does not have (nothing was changed: the stored data is intact)")]
    NoKey {
        target: String,
        method: String,
        provider: String,
    },
    #[error("the {target} record {record} fails its integrity check: it was modified or truncated after it was written")]
    Tampered { target: String, record: String },
    #[error("the {target} is not encrypted ({record} is in clear), and the encryption configuration has no `unencrypted` fallback to read it")]
    Unencrypted { target: String, record: String },
    #[error("the {target} is encrypted, but no encryption is configured for it")]
    NotConfigured { target: String },
    #[error("key provider {provider} failed: {message}")]
    KeyProvider { provider: String, message: String },
}

impl CryptoError {
    /// How to fix it.
    pub fn help(&self) -> String {
        match self {
            CryptoError::WrongKey { .. } => "check the passphrase or key (the encryption block, or INFERFORM_ENCRYPTION); \
                 while rotating keys, keep the old key as the target's `fallback { method = ... }`"
                .into(),
            CryptoError::NoKey { method, provider, .. } => format!(
                "add key provider {provider} and method {method} back, and name the method in the target's `fallback` block until every record has been written again with the new key"
            ),
            CryptoError::Tampered { .. } => "someone or something changed the stored bytes: restore the state from a backup or history \
                 (`inferform state history`), or `inferform state push` a good copy"
                .into(),
            CryptoError::Unencrypted { .. } => "to encrypt existing state, add `method \"unencrypted\" \"migrate\" {}` and \
                 `fallback { method = method.unencrypted.migrate }` to the target, run `inferform apply` (or `inferform state push`) once, then remove the fallback"
                .into(),
            CryptoError::NotConfigured { .. } => "configure the key it was encrypted with: an `encryption` block in `inferform { }`, or the INFERFORM_ENCRYPTION environment variable".into(),
            CryptoError::KeyProvider { .. } => "an external key provider prints a header line {\"magic\":\"OpenTofu-External-Key-Provider\",\"version\":1}, \
                 then {\"keys\":{\"encryption_key\":BASE64,\"decryption_key\":BASE64},\"meta\":{...}}, and exits 0"
                .into(),
        }
    }
}

/// The identity a sealed record is bound to (its associated data): a record moved to another
/// slot, kind, workspace or state no longer opens.
#[derive(Clone, Copy, Debug)]
pub struct RecordId<'a> {
    /// `resource`, `output`, `intent`, `history`, `plan`.
    pub kind: &'a str,
    pub workspace: &'a str,
    pub lineage: &'a str,
    /// Where the record is stored: its key in the store (a hashed name when encrypted).
    pub slot: &'a str,
}

/// A derived key with what it takes to describe it in a header.
struct Key {
    bytes: Zeroizing<Vec<u8>>,
    /// The header every blob sealed with this key carries (base64url of its JSON).
    header: String,
    /// The key check, hex: the key's id.
    check: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    /// The method (`aes_gcm.NAME`).
    m: String,
    /// The key provider (`pbkdf2.NAME`).
    p: String,
    /// The provider's parameters for making the same key again.
    k: serde_json::Value,
    /// The key check, hex.
    c: String,
}

fn key_check(key: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"inferform key check");
    hex_lower(&mac.finalize().into_bytes()[..8])
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What [`Sealer::open`] found.
pub struct Unsealed {
    pub plain: Zeroizing<Vec<u8>>,
    /// The key id it was sealed with ([`CLEAR`] for a clear record).
    pub sealed_with: String,
}

/// The key id of clear records.
pub const CLEAR: &str = "clear";

/// Seals and opens one target's blobs.
pub struct Sealer {
    /// `state`, `plan`, `remote state`: for messages.
    target: String,
    /// What the blobs are (`state` or `plan`), bound into the associated data so that one
    /// kind cannot pass for the other. A remote state is state.
    domain: String,
    spec: Option<TargetSpec>,
    /// Keys made for reading, by provider and parameters, so each is derived once.
    read_keys: Mutex<HashMap<String, Arc<Key>>>,
    /// Keys made for writing, by salt seed (PBKDF2) or once (external).
    write_keys: Mutex<HashMap<Vec<u8>, Arc<Key>>>,
    /// Headers already seen to name a configured key whose check matched, with that key: the
    /// records of a state share a few headers, so each is parsed and checked once.
    headers: Mutex<HashMap<String, Arc<Key>>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("target", &self.target)
            .field("encrypts", &self.encrypts())
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer for `target` with the configuration's spec (`None`: no encryption: writes in
    /// clear and refuses sealed blobs, saying so).
    pub fn new(target: &str, spec: Option<TargetSpec>) -> Sealer {
        Sealer {
            target: target.to_string(),
            domain: target.to_string(),
            spec,
            read_keys: Mutex::new(HashMap::new()),
            write_keys: Mutex::new(HashMap::new()),
            headers: Mutex::new(HashMap::new()),
        }
    }

    /// A sealer that reads another configuration's state (`inferform_remote_state`): its
    /// records are state records, named "remote state" in messages.
    pub fn remote_state(spec: Option<TargetSpec>) -> Sealer {
        Sealer {
            domain: "state".into(),
            ..Sealer::new("remote state", spec)
        }
    }

    /// No encryption configured.
    pub fn clear(target: &str) -> Sealer {
        Sealer::new(target, None)
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    /// Whether writes are sealed.
    pub fn encrypts(&self) -> bool {
        self.spec
            .as_ref()
            .is_some_and(|s| !s.method.is_unencrypted())
    }

    /// Whether clear records may be read: no encryption, or `unencrypted` as method or fallback.
    fn reads_clear(&self) -> bool {
        match &self.spec {
            None => true,
            Some(s) => {
                s.method.is_unencrypted() || s.fallback.as_ref().is_some_and(|f| f.is_unencrypted())
            }
        }
    }

    /// The id of the key writes use with `seed` ([`CLEAR`] when writes are clear).
    pub fn write_id(&self, seed: &[u8]) -> Result<String, CryptoError> {
        Ok(match self.write_key(seed)? {
            Some(k) => k.check.clone(),
            None => CLEAR.to_string(),
        })
    }

    /// Where a record named `name` of `kind` is stored: its name when writes are clear, and
    /// otherwise an HMAC of it under a key derived from the write key, so that names (resource
    /// addresses, output names) appear nowhere in storage while a write still finds its slot.
    pub fn slot(&self, seed: &[u8], kind: &str, name: &str) -> Result<String, CryptoError> {
        let Some(key) = self.write_key(seed)? else {
            return Ok(name.to_string());
        };
        let mut index =
            <Hmac<Sha256> as Mac>::new_from_slice(&key.bytes).expect("HMAC takes any key length");
        index.update(b"inferform record index");
        let index = Zeroizing::new(index.finalize().into_bytes().to_vec());
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&index).expect("HMAC takes any key length");
        mac.update(kind.as_bytes());
        mac.update(b"\0");
        mac.update(name.as_bytes());
        Ok(format!(
            "~{}",
            hex_lower(&mac.finalize().into_bytes()[..16])
        ))
    }

    /// Seals `plain` for record `id` with the write key for `seed` (a store's lineage, so one
    /// PBKDF2 derivation serves a whole state; a plan file's random salt). With clear writes,
    /// returns `plain` as it is.
    pub fn seal(
        &self,
        seed: &[u8],
        id: &RecordId<'_>,
        plain: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let Some(key) = self.write_key(seed)? else {
            return Ok(plain.to_vec());
        };
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let aad = self.aad(&key.header, id);
        let sealed =
            aead_seal(&key.bytes, &nonce, plain, &aad).map_err(|_| CryptoError::KeyProvider {
                provider: self.write_provider(),
                message: "the key cannot be used with AES-GCM".into(),
            })?;
        let mut body = nonce.to_vec();
        body.extend_from_slice(&sealed);
        let mut out =
            String::with_capacity(MAGIC.len() + key.header.len() + body.len() * 4 / 3 + 4);
        out.push_str(MAGIC);
        out.push_str(&key.header);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&body, &mut out);
        Ok(out.into_bytes())
    }

    /// Whether `stored` is a sealed blob (rather than clear JSON).
    pub fn is_sealed(stored: &[u8]) -> bool {
        stored.starts_with(MAGIC.as_bytes())
    }

    /// Opens a stored blob of record `id`, described as `record` in messages. A clear blob is
    /// returned as it is if this target may read clear ones.
    pub fn open(
        &self,
        id: &RecordId<'_>,
        record: &dyn Fn() -> String,
        stored: &[u8],
    ) -> Result<Unsealed, CryptoError> {
        if !Self::is_sealed(stored) {
            if !self.reads_clear() {
                return Err(CryptoError::Unencrypted {
                    target: self.target.clone(),
                    record: record(),
                });
            }
            return Ok(Unsealed {
                plain: Zeroizing::new(stored.to_vec()),
                sealed_with: CLEAR.to_string(),
            });
        }
        let tampered = || CryptoError::Tampered {
            target: self.target.clone(),
            record: record(),
        };
        let text = std::str::from_utf8(&stored[MAGIC.len()..]).map_err(|_| tampered())?;
        let (header_text, body_text) = text.split_once('.').ok_or_else(tampered)?;
        let known = self
            .headers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(header_text)
            .cloned();
        if let Some(key) = known {
            let body = URL_SAFE_NO_PAD.decode(body_text).map_err(|_| tampered())?;
            if body.len() < 12 + 16 {
                return Err(tampered());
            }
            return self
                .open_body(&key, header_text, id, &body)
                .map_err(|_| tampered());
        }
        let header: Header = URL_SAFE_NO_PAD
            .decode(header_text)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or_else(tampered)?;
        let body = URL_SAFE_NO_PAD.decode(body_text).map_err(|_| tampered())?;
        if body.len() < 12 + 16 {
            return Err(tampered());
        }
        let Some(spec) = &self.spec else {
            return Err(CryptoError::NotConfigured {
                target: self.target.clone(),
            });
        };
        // The methods that could have sealed it: the one it names first, then any other with a
        // key provider of the same type (a method renamed between runs still opens).
        let mut candidates: Vec<&KeyProviderSpec> = Vec::new();
        for m in std::iter::once(&spec.method).chain(spec.fallback.iter()) {
            if let MethodKind::AesGcm { keys } = &m.kind {
                if keys.id() == header.p {
                    candidates.insert(0, keys);
                } else if header.p.split('.').next() == Some(keys.kind.type_name()) {
                    candidates.push(keys);
                }
            }
        }
        let mut wrong = None;
        for provider in candidates {
            let key = self.read_key(provider, &header.k)?;
            if key.check != header.c {
                // Only the provider the blob names can be "the wrong key"; another one of the
                // same type failing says only that the right one is missing.
                if provider.id() == header.p {
                    wrong = Some(provider.id());
                }
                continue;
            }
            self.headers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(header_text.to_string(), key.clone());
            return self
                .open_body(&key, header_text, id, &body)
                .map_err(|_| tampered());
        }
        Err(match wrong {
            Some(provider) => CryptoError::WrongKey {
                target: self.target.clone(),
                provider,
            },
            None => CryptoError::NoKey {
                target: self.target.clone(),
                method: header.m,
                provider: header.p,
            },
        })
    }

    /// Opens a record's body (nonce, then ciphertext) with `key`; `Err` when it does not
    /// authenticate.
    fn open_body(
        &self,
        key: &Key,
        header_text: &str,
        id: &RecordId<'_>,
        body: &[u8],
    ) -> Result<Unsealed, ()> {
        let aad = self.aad(header_text, id);
        let plain = aead_open(&key.bytes, &body[..12], &body[12..], &aad)?;
        Ok(Unsealed {
            plain: Zeroizing::new(plain),
            sealed_with: key.check.clone(),
        })
    }

    fn aad(&self, header: &str, id: &RecordId<'_>) -> Vec<u8> {
        let mut aad = Vec::with_capacity(header.len() + 64 + id.slot.len());
        for part in [
            "inferform",
            header,
            &self.domain,
            id.kind,
            id.workspace,
            id.lineage,
            id.slot,
        ] {
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }

    fn write_provider(&self) -> String {
        match self.spec.as_ref().map(|s| &s.method.kind) {
            Some(MethodKind::AesGcm { keys }) => keys.id(),
            _ => "(none)".into(),
        }
    }

    /// The write key for `seed`, made once; `None` when writes are clear.
    fn write_key(&self, seed: &[u8]) -> Result<Option<Arc<Key>>, CryptoError> {
        let Some(spec) = &self.spec else {
            return Ok(None);
        };
        let MethodKind::AesGcm { keys } = &spec.method.kind else {
            return Ok(None);
        };
        let cache_key = match keys.kind {
            KeyProviderKind::Pbkdf2 { .. } => seed.to_vec(),
            // One command run serves the whole process, whatever the seed.
            KeyProviderKind::External { .. } => Vec::new(),
        };
        let mut cache = self.write_keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cache.get(&cache_key) {
            return Ok(Some(k.clone()));
        }
        let (bytes, meta) = match &keys.kind {
            KeyProviderKind::Pbkdf2 {
                passphrase,
                key_length,
                iterations,
                salt_length,
                hash_function,
            } => {
                let salt = Sha512::digest([b"inferform pbkdf2 salt\0".as_slice(), seed].concat());
                let salt = &salt[..(*salt_length).min(salt.len())];
                let meta = serde_json::json!({
                    "salt": STANDARD.encode(salt),
                    "iterations": iterations,
                    "hash_function": hash_function.name(),
                    "key_length": key_length,
                });
                // A state read before it is written (every command loads first) made this very
                // key already: PBKDF2 is slow on purpose, so it runs once per process.
                let known = self
                    .read_keys
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&format!("{}\0{meta}", keys.id()))
                    .map(|k| k.bytes.clone());
                let key = match known {
                    Some(bytes) => bytes,
                    None => pbkdf2_key(passphrase, salt, *iterations, *hash_function, *key_length),
                };
                (key, meta)
            }
            KeyProviderKind::External { command } => {
                let out = run_external(&keys.id(), command, &serde_json::Value::Null)?;
                (out.encryption_key, out.meta)
            }
        };
        check_length(&keys.id(), &bytes)?;
        let check = key_check(&bytes);
        let header_meta = meta.clone();
        let header = Header {
            m: spec.method.id(),
            p: keys.id(),
            k: meta,
            c: check.clone(),
        };
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
        let key = Arc::new(Key {
            bytes,
            header,
            check,
        });
        cache.insert(cache_key, key.clone());
        // Reading back what this process wrote needs the same key: no second derivation.
        self.read_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(format!("{}\0{}", keys.id(), header_meta), key.clone());
        Ok(Some(key))
    }

    /// The key `provider` makes from a header's parameters, made once per parameters.
    fn read_key(
        &self,
        provider: &KeyProviderSpec,
        meta: &serde_json::Value,
    ) -> Result<Arc<Key>, CryptoError> {
        let cache_key = format!("{}\0{meta}", provider.id());
        if let Some(k) = self
            .read_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&cache_key)
        {
            return Ok(k.clone());
        }
        let bytes = match &provider.kind {
            KeyProviderKind::Pbkdf2 { passphrase, .. } => {
                // The parameters come from storage: bounded, so a damaged header cannot make
                // inferform spin for hours or allocate without end.
                let bad = || CryptoError::Tampered {
                    target: self.target.clone(),
                    record: "(its key parameters)".into(),
                };
                let salt = meta["salt"]
                    .as_str()
                    .and_then(|s| STANDARD.decode(s).ok())
                    .filter(|s| s.len() <= 64)
                    .ok_or_else(bad)?;
                let iterations = meta["iterations"]
                    .as_u64()
                    .filter(|n| (1..=10_000_000).contains(n))
                    .ok_or_else(bad)? as u32;
                let hash = meta["hash_function"]
                    .as_str()
                    .and_then(Pbkdf2Hash::parse)
                    .ok_or_else(bad)?;
                let len = meta["key_length"]
                    .as_u64()
                    .filter(|n| [16, 24, 32].contains(n))
                    .ok_or_else(bad)? as usize;
                pbkdf2_key(passphrase, &salt, iterations, hash, len)
            }
            KeyProviderKind::External { command } => {
                let input = serde_json::json!({ "external_data": meta });
                let input = if meta.is_null() {
                    serde_json::Value::Null
                } else {
                    input
                };
                run_external(&provider.id(), command, &input)?.decryption_key
            }
        };
        check_length(&provider.id(), &bytes)?;
        let key = Arc::new(Key {
            check: key_check(&bytes),
            bytes,
            header: String::new(),
        });
        self.read_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cache_key, key.clone());
        Ok(key)
    }
}

fn check_length(provider: &str, key: &[u8]) -> Result<(), CryptoError> {
    if [16, 24, 32].contains(&key.len()) {
        Ok(())
    } else {
        Err(CryptoError::KeyProvider {
            provider: provider.to_string(),
            message: format!(
                "it gave a key of {} bytes; AES-GCM takes 16, 24 or 32",
                key.len()
            ),
        })
    }
}

fn pbkdf2_key(
    passphrase: &Secret,
    salt: &[u8],
    iterations: u32,
    hash: Pbkdf2Hash,
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(vec![0u8; len]);
    let pass = passphrase.expose().as_bytes();
    match hash {
        Pbkdf2Hash::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(pass, salt, iterations, &mut key),
        Pbkdf2Hash::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(pass, salt, iterations, &mut key),
    }
    key
}

type Aes192Gcm = aes_gcm::AesGcm<aes_gcm::aes::Aes192, U12>;

fn aead_seal(key: &[u8], nonce: &[u8], plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, ()> {
    aead(key, nonce, Payload { msg: plain, aad }, true)
}

fn aead_open(key: &[u8], nonce: &[u8], sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, ()> {
    aead(key, nonce, Payload { msg: sealed, aad }, false)
}

/// AES-GCM with a key of 16, 24 or 32 bytes: seals `payload`, or opens it.
fn aead(key: &[u8], nonce: &[u8], payload: Payload<'_, '_>, seal: bool) -> Result<Vec<u8>, ()> {
    fn with<C: KeyInit + Aead>(
        key: &[u8],
        nonce: &[u8],
        payload: Payload<'_, '_>,
        seal: bool,
    ) -> Result<Vec<u8>, ()> {
        let cipher = C::new_from_slice(key).map_err(drop)?;
        let nonce = aes_gcm::aead::Nonce::<C>::from_slice(nonce);
        if seal {
            cipher.encrypt(nonce, payload)
        } else {
            cipher.decrypt(nonce, payload)
        }
        .map_err(drop)
    }
    match key.len() {
        16 => with::<aes_gcm::Aes128Gcm>(key, nonce, payload, seal),
        24 => with::<Aes192Gcm>(key, nonce, payload, seal),
        32 => with::<aes_gcm::Aes256Gcm>(key, nonce, payload, seal),
        _ => Err(()),
    }
}

/// What an external key provider answered.
struct ExternalKeys {
    encryption_key: Zeroizing<Vec<u8>>,
    decryption_key: Zeroizing<Vec<u8>>,
    meta: serde_json::Value,
}

#[derive(Deserialize)]
struct ExternalHeader {
    magic: String,
    version: u32,
}

#[derive(Deserialize)]
struct ExternalOutput {
    keys: ExternalKeyPair,
    #[serde(default)]
    meta: serde_json::Value,
}

#[derive(Deserialize)]
struct ExternalKeyPair {
    encryption_key: Option<String>,
    decryption_key: Option<String>,
}

/// Runs an external key provider: OpenTofu's protocol, so the same programs serve both tools.
/// It prints a header line, reads `null` (a key to encrypt with) or `{"external_data": META}`
/// (the key for data it sealed with META) on standard input, and prints its keys and the meta
/// to store. What it prints is never repeated in a message: it holds keys.
fn run_external(
    provider: &str,
    command: &[String],
    input: &serde_json::Value,
) -> Result<ExternalKeys, CryptoError> {
    let fail = |message: String| CryptoError::KeyProvider {
        provider: provider.to_string(),
        message,
    };
    let (program, args) = command
        .split_first()
        .ok_or_else(|| fail("its command is empty".into()))?;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {program:?}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A provider that exits without reading is judged by its output, not by this write.
        let _ = stdin.write_all(input.to_string().as_bytes());
    }
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut buf = Zeroizing::new(Vec::new());
        if let Some(s) = stdout.as_mut() {
            let _ = s.take(1 << 20).read_to_end(&mut buf);
        }
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(1 << 16).read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + EXTERNAL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "it did not finish within {}s",
                    EXTERNAL_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(fail(e.to_string())),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        let last = String::from_utf8_lossy(&stderr)
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.chars().take(200).collect::<String>());
        return Err(fail(match last {
            Some(line) => format!("{program} exited with {status}: {line}"),
            None => format!("{program} exited with {status}"),
        }));
    }
    let text = std::str::from_utf8(&stdout)
        .map_err(|_| fail("it printed something that is not text".into()))?;
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let header: ExternalHeader = serde_json::from_str(first.trim()).map_err(|_| {
        fail("its first line is not the protocol header {\"magic\":\"OpenTofu-External-Key-Provider\",\"version\":1}".into())
    })?;
    if header.magic != EXTERNAL_MAGIC || header.version != 1 {
        return Err(fail(format!(
            "its header names protocol {:?} version {}; inferform speaks {EXTERNAL_MAGIC:?} version 1",
            header.magic, header.version
        )));
    }
    let output: ExternalOutput = serde_json::from_str(rest.trim()).map_err(|_| {
        fail("after the header it did not print {\"keys\": {...}, \"meta\": {...}} as JSON".into())
    })?;
    let decode = |name: &str, v: &Option<String>| -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let text = v
            .as_deref()
            .ok_or_else(|| fail(format!("its answer has no keys.{name}")))?;
        STANDARD
            .decode(text)
            .map(Zeroizing::new)
            .map_err(|_| fail(format!("its keys.{name} is not base64")))
    };
    let encryption_key = if input.is_null() {
        decode("encryption_key", &output.keys.encryption_key)?
    } else {
        Zeroizing::new(Vec::new())
    };
    let decryption_key = if input.is_null() {
        Zeroizing::new(Vec::new())
    } else {
        decode("decryption_key", &output.keys.decryption_key)?
    };
    let meta = match output.meta {
        serde_json::Value::Object(mut m) => m
            .remove("external_data")
            .unwrap_or(serde_json::Value::Object(m)),
        other => other,
    };
    Ok(ExternalKeys {
        encryption_key,
        decryption_key,
        meta,
    })
}

/// A record as stored, through a sealer: the helper every store uses, so that sealing, slot
/// names and associated data are worked out in one place.
#[derive(Clone, Copy)]
pub struct Records<'a> {
    pub sealer: &'a Sealer,
    pub workspace: &'a str,
    /// Bound into each record: a record of one state does not open in another.
    pub lineage: &'a str,
    /// Chooses the PBKDF2 salt: the state's lineage, so one derivation serves a whole state.
    pub seed: &'a str,
}

/// A record read back.
pub struct Opened<T> {
    /// The record's name (a resource address, an output name).
    pub name: String,
    pub value: T,
    /// Whether it is under the current write key: if not, a rotation is under way and the
    /// next write re-seals it.
    pub current: bool,
}

impl<'a> Records<'a> {
    /// The records of a state whose lineage is `lineage`.
    pub fn new(sealer: &'a Sealer, workspace: &'a str, lineage: &'a str) -> Records<'a> {
        Records {
            sealer,
            workspace,
            lineage,
            seed: lineage,
        }
    }

    /// History records: bound to the workspace and their serial but not to a lineage, since
    /// a workspace's history outlives `state push` of another lineage.
    pub fn history(self) -> Records<'a> {
        Records {
            lineage: "",
            ..self
        }
    }

    fn seed(&self) -> &[u8] {
        self.seed.as_bytes()
    }

    /// The slot record `name` of `kind` is stored in.
    pub fn slot(&self, kind: &str, name: &str) -> Result<String, CryptoError> {
        self.sealer.slot(self.seed(), kind, name)
    }

    /// The write key's id.
    pub fn write_id(&self) -> Result<String, CryptoError> {
        self.sealer.write_id(self.seed())
    }

    fn id<'b>(&'b self, kind: &'b str, slot: &'b str) -> RecordId<'b> {
        RecordId {
            kind,
            workspace: self.workspace,
            lineage: self.lineage,
            slot,
        }
    }

    /// `value` named `name`, sealed for `slot`. Clear records keep the format they always had
    /// (the value's JSON); sealed ones hold `[name, value]`, since the slot no longer says it.
    pub fn seal<T: Serialize>(
        &self,
        kind: &str,
        slot: &str,
        name: &str,
        value: &T,
    ) -> Result<Vec<u8>, crate::StateError> {
        let plain = if self.sealer.encrypts() {
            serde_json::to_vec(&(name, value))
        } else {
            serde_json::to_vec(value)
        };
        let plain = Zeroizing::new(plain.map_err(|e| crate::StateError::Write(e.to_string()))?);
        Ok(self
            .sealer
            .seal(self.seed(), &self.id(kind, slot), &plain)?)
    }

    /// Opens the record in `slot`. `write_id` is the current write key's id.
    pub fn open<T: for<'de> Deserialize<'de>>(
        &self,
        kind: &str,
        slot: &str,
        stored: &[u8],
        write_id: &str,
    ) -> Result<Opened<T>, crate::StateError> {
        let describe = || describe_record(kind, slot);
        let sealed = Sealer::is_sealed(stored);
        let unsealed = self.sealer.open(&self.id(kind, slot), &describe, stored)?;
        let corrupt = |e: serde_json::Error| {
            crate::StateError::Corrupt(format!("{}: {e}", describe_record(kind, slot)))
        };
        let (name, value) = if sealed {
            serde_json::from_slice::<(String, T)>(&unsealed.plain).map_err(corrupt)?
        } else {
            (
                slot.to_string(),
                serde_json::from_slice::<T>(&unsealed.plain).map_err(corrupt)?,
            )
        };
        Ok(Opened {
            name,
            value,
            current: unsealed.sealed_with == write_id,
        })
    }
}

/// A record as messages name it: `resource fabric_endpoint.chat`, or for a hashed slot
/// `resource record ~3f2a…` (its name is inside the ciphertext).
pub fn describe_record(kind: &str, slot: &str) -> String {
    if slot.starts_with('~') {
        format!("{kind} record {slot}")
    } else {
        format!("{kind} {slot}")
    }
}

#[cfg(test)]
pub(crate) mod tests;
