//! What the `encryption` block of `inferform { }` says, once evaluated: the key providers, the
//! methods built on them, and which method (with which fallback) each target uses. The
//! language crate produces it from HCL (or from `INFERFORM_ENCRYPTION`); the state crate turns
//! it into keys. It lives here, in plain data, so that neither of those crates depends on the
//! other.

use std::fmt;

/// A secret that must not reach output: its `Debug` hides it, and `zeroize` overwrites its
/// memory when it is dropped (copies made before, by the allocator or the HCL parser, are out of
/// its reach).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(zeroize::Zeroizing::new(text.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The hash function PBKDF2 uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pbkdf2Hash {
    Sha256,
    Sha512,
}

impl Pbkdf2Hash {
    pub fn name(self) -> &'static str {
        match self {
            Pbkdf2Hash::Sha256 => "sha256",
            Pbkdf2Hash::Sha512 => "sha512",
        }
    }

    pub fn parse(name: &str) -> Option<Pbkdf2Hash> {
        match name {
            "sha256" => Some(Pbkdf2Hash::Sha256),
            "sha512" => Some(Pbkdf2Hash::Sha512),
            _ => None,
        }
    }
}

/// Where a method's key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyProviderKind {
    /// A key derived from a passphrase with PBKDF2. The salt is chosen per stored object and
    /// travels with it, with these parameters.
    Pbkdf2 {
        passphrase: Secret,
        /// Bytes of key: 16, 24 or 32.
        key_length: usize,
        iterations: u32,
        salt_length: usize,
        hash_function: Pbkdf2Hash,
    },
    /// A command that prints a key as JSON (OpenTofu's external key provider protocol), so any
    /// KMS or secret manager can be plugged in.
    External { command: Vec<String> },
}

impl KeyProviderKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            KeyProviderKind::Pbkdf2 { .. } => "pbkdf2",
            KeyProviderKind::External { .. } => "external",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProviderSpec {
    pub name: String,
    pub kind: KeyProviderKind,
}

impl KeyProviderSpec {
    /// `pbkdf2.main`, as references write it.
    pub fn id(&self) -> String {
        format!("{}.{}", self.kind.type_name(), self.name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MethodKind {
    /// AES-GCM with the key the provider gives (16, 24 or 32 bytes).
    AesGcm { keys: KeyProviderSpec },
    /// No encryption: for migrating into and out of encryption.
    Unencrypted,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodSpec {
    pub name: String,
    pub kind: MethodKind,
}

impl MethodSpec {
    /// `aes_gcm.main`, as references write it.
    pub fn id(&self) -> String {
        let ty = match self.kind {
            MethodKind::AesGcm { .. } => "aes_gcm",
            MethodKind::Unencrypted => "unencrypted",
        };
        format!("{ty}.{}", self.name)
    }

    pub fn is_unencrypted(&self) -> bool {
        matches!(self.kind, MethodKind::Unencrypted)
    }
}

/// One target (`state`, `plan`, a remote state): the method it writes with, the one it may
/// also read with, and whether writing in clear is forbidden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    pub method: MethodSpec,
    pub fallback: Option<MethodSpec>,
    pub enforced: bool,
}

/// The whole evaluated `encryption` block. A target left out is not encrypted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncryptionSpec {
    pub state: Option<TargetSpec>,
    pub plan: Option<TargetSpec>,
    /// `remote_state_data_sources { default { ... } }`: how `inferform_remote_state` reads
    /// other stacks' states.
    pub remote_state: Option<TargetSpec>,
}
