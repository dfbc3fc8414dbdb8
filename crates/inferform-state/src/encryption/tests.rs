use super::*;

/// A PBKDF2 provider with few iterations, so tests stay fast.
pub(crate) fn pbkdf2(name: &str, passphrase: &str) -> KeyProviderSpec {
    KeyProviderSpec {
        name: name.into(),
        kind: KeyProviderKind::Pbkdf2 {
            passphrase: Secret::new(passphrase),
            key_length: 32,
            iterations: 1000,
            salt_length: 32,
            hash_function: Pbkdf2Hash::Sha512,
        },
    }
}

pub(crate) fn aes(name: &str, keys: KeyProviderSpec) -> MethodSpec {
    MethodSpec {
        name: name.into(),
        kind: MethodKind::AesGcm { keys },
    }
}

pub(crate) fn clear_method() -> MethodSpec {
    MethodSpec {
        name: "migrate".into(),
        kind: MethodKind::Unencrypted,
    }
}

pub(crate) fn target(method: MethodSpec, fallback: Option<MethodSpec>) -> TargetSpec {
    TargetSpec {
        method,
        fallback,
        enforced: false,
    }
}

/// The state sealer the stores' tests use: `method`, reading `fallback` too.
pub(crate) fn state_sealer(method: MethodSpec, fallback: Option<MethodSpec>) -> Arc<Sealer> {
    Arc::new(Sealer::new("state", Some(target(method, fallback))))
}

/// The two passphrase keys of the stores' rotation tests.
pub(crate) fn key_a() -> MethodSpec {
    aes("a", pbkdf2("a", "passphrase number one"))
}

pub(crate) fn key_b() -> MethodSpec {
    aes("b", pbkdf2("b", "passphrase number two"))
}

fn id(slot: &str) -> RecordId<'_> {
    RecordId {
        kind: "resource",
        workspace: "default",
        lineage: "lin",
        slot,
    }
}

fn a() -> Sealer {
    Sealer::new(
        "state",
        Some(target(
            aes("a", pbkdf2("a", "correct horse battery staple")),
            None,
        )),
    )
}

fn name() -> String {
    "resource x".into()
}

#[test]
fn sealed_blobs_open_and_hide_their_content() {
    let s = a();
    let blob = s
        .seal(b"seed", &id("~1"), b"{\"url\":\"https://secret\"}")
        .unwrap();
    let text = String::from_utf8(blob.clone()).unwrap();
    assert!(text.starts_with(MAGIC));
    assert!(!text.contains("secret") && !text.contains("correct horse"));
    let opened = s.open(&id("~1"), &name, &blob).unwrap();
    assert_eq!(&*opened.plain, b"{\"url\":\"https://secret\"}");
    assert_eq!(opened.sealed_with, s.write_id(b"seed").unwrap());
    // A fresh nonce each time: the same record never seals to the same bytes.
    let again = s
        .seal(b"seed", &id("~1"), b"{\"url\":\"https://secret\"}")
        .unwrap();
    assert_ne!(blob, again);
}

#[test]
fn a_record_moved_to_another_slot_or_workspace_does_not_open() {
    let s = a();
    let blob = s.seal(b"seed", &id("~1"), b"{}").unwrap();
    assert!(matches!(
        s.open(&id("~2"), &name, &blob),
        Err(CryptoError::Tampered { .. })
    ));
    let other = RecordId {
        workspace: "prod",
        ..id("~1")
    };
    assert!(matches!(
        s.open(&other, &name, &blob),
        Err(CryptoError::Tampered { .. })
    ));
    let plan = Sealer::new("plan", a().spec.clone());
    assert!(matches!(
        plan.open(&id("~1"), &name, &blob),
        Err(CryptoError::Tampered { .. })
    ));
    // A remote state is state: it opens, under its own name in messages.
    let remote = Sealer::remote_state(a().spec.clone());
    assert!(remote.open(&id("~1"), &name, &blob).is_ok());
}

#[test]
fn a_flipped_or_truncated_byte_is_tampering_and_names_the_record() {
    let s = a();
    let blob = s.seal(b"seed", &id("~1"), b"{\"a\":1}").unwrap();
    for i in [MAGIC.len() + 3, blob.len() - 2] {
        let mut bad = blob.clone();
        bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
        match s.open(&id("~1"), &name, &bad) {
            Err(e @ CryptoError::Tampered { .. }) => {
                assert!(e.to_string().contains("resource x"), "{e}")
            }
            Err(e) => panic!("byte {i}: expected tampering, got {e}"),
            Ok(_) => panic!("byte {i}: a changed blob opened"),
        }
    }
    let cut = &blob[..blob.len() - 10];
    assert!(matches!(
        s.open(&id("~1"), &name, cut),
        Err(CryptoError::Tampered { .. })
    ));
}

#[test]
fn a_wrong_passphrase_says_the_data_is_intact() {
    let blob = a().seal(b"seed", &id("~1"), b"{}").unwrap();
    let wrong = Sealer::new(
        "state",
        Some(target(
            aes("a", pbkdf2("a", "not the right passphrase")),
            None,
        )),
    );
    let e = wrong.open(&id("~1"), &name, &blob).err().unwrap();
    assert!(matches!(e, CryptoError::WrongKey { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("pbkdf2.a") && text.contains("intact"),
        "{text}"
    );
    assert!(!text.contains('\n'));
}

#[test]
fn rotation_reads_old_records_through_the_fallback_and_writes_with_the_new_key() {
    let old = a();
    let blob = old.seal(b"seed", &id("~1"), b"{}").unwrap();
    let rotating = Sealer::new(
        "state",
        Some(target(
            aes("b", pbkdf2("b", "a brand new passphrase")),
            Some(aes("a", pbkdf2("a", "correct horse battery staple"))),
        )),
    );
    let opened = rotating.open(&id("~1"), &name, &blob).unwrap();
    assert_ne!(opened.sealed_with, rotating.write_id(b"seed").unwrap());
    let resealed = rotating.seal(b"seed", &id("~1"), &opened.plain).unwrap();
    let only_b = Sealer::new(
        "state",
        Some(target(
            aes("b", pbkdf2("b", "a brand new passphrase")),
            None,
        )),
    );
    assert!(only_b.open(&id("~1"), &name, &resealed).is_ok());
    assert!(matches!(
        only_b.open(&id("~1"), &name, &blob),
        Err(CryptoError::NoKey { .. })
    ));
}

#[test]
fn clear_records_need_an_unencrypted_fallback() {
    let e = a().open(&id("x"), &name, b"{}").err().unwrap();
    assert!(matches!(e, CryptoError::Unencrypted { .. }));
    assert!(e.help().contains("unencrypted"));
    let migrating = Sealer::new(
        "state",
        Some(target(
            aes("a", pbkdf2("a", "correct horse battery staple")),
            Some(clear_method()),
        )),
    );
    let opened = migrating.open(&id("x"), &name, b"{}").unwrap();
    assert_eq!(opened.sealed_with, CLEAR);
    // And back: clear writes, sealed records read through the fallback.
    let blob = a().seal(b"seed", &id("~1"), b"{}").unwrap();
    let back = Sealer::new(
        "state",
        Some(target(
            clear_method(),
            Some(aes("a", pbkdf2("a", "correct horse battery staple"))),
        )),
    );
    assert!(back.open(&id("~1"), &name, &blob).is_ok());
    assert_eq!(back.seal(b"seed", &id("x"), b"{}").unwrap(), b"{}");
    assert!(matches!(
        Sealer::clear("state").open(&id("~1"), &name, &blob),
        Err(CryptoError::NotConfigured { .. })
    ));
}

#[test]
fn slots_hide_names_and_are_stable_per_key() {
    let s = a();
    let one = s.slot(b"seed", "resource", "fabric_endpoint.chat").unwrap();
    assert!(one.starts_with('~') && !one.contains("chat"));
    assert_eq!(
        one,
        s.slot(b"seed", "resource", "fabric_endpoint.chat").unwrap()
    );
    assert_ne!(
        one,
        s.slot(b"seed", "output", "fabric_endpoint.chat").unwrap()
    );
    assert_eq!(
        Sealer::clear("state")
            .slot(b"seed", "resource", "a.b")
            .unwrap(),
        "a.b"
    );
}

#[test]
fn pbkdf2_matches_the_published_vectors() {
    // RFC 7914 section 11 / the widely published PBKDF2-HMAC-SHA256 vectors.
    let key = pbkdf2_key(&Secret::new("password"), b"salt", 1, Pbkdf2Hash::Sha256, 32);
    assert_eq!(
        hex_lower(&key),
        "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
    );
    let key = pbkdf2_key(&Secret::new("password"), b"salt", 2, Pbkdf2Hash::Sha256, 32);
    assert_eq!(
        hex_lower(&key),
        "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"
    );
}

#[test]
fn aes_gcm_matches_the_nist_vectors() {
    // "The Galois/Counter Mode of Operation" test cases 13 and 14: AES-256, zero key and IV.
    let key = [0u8; 32];
    let nonce = [0u8; 12];
    assert_eq!(
        hex_lower(&aead_seal(&key, &nonce, b"", b"").unwrap()),
        "530f8afbc74536b9a963b4f1c4cb738b"
    );
    assert_eq!(
        hex_lower(&aead_seal(&key, &nonce, &[0u8; 16], b"").unwrap()),
        "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"
    );
}

#[cfg(unix)]
fn script(dir: &std::path::Path, body: &str) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("kp.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    vec![path.display().to_string()]
}

#[cfg(unix)]
#[test]
fn external_providers_are_run_and_their_failures_explained() {
    let dir = tempfile::tempdir().unwrap();
    let key = STANDARD.encode([7u8; 32]);
    let good = script(
        dir.path(),
        &format!(
            "cat >/dev/null\necho '{{\"magic\":\"OpenTofu-External-Key-Provider\",\"version\":1}}'\necho '{{\"keys\":{{\"encryption_key\":\"{key}\",\"decryption_key\":\"{key}\"}},\"meta\":{{\"external_data\":{{\"id\":\"k1\"}}}}}}'"
        ),
    );
    let ext = |command: Vec<String>| {
        Sealer::new(
            "state",
            Some(target(
                aes(
                    "x",
                    KeyProviderSpec {
                        name: "kms".into(),
                        kind: KeyProviderKind::External { command },
                    },
                ),
                None,
            )),
        )
    };
    let s = ext(good);
    let blob = s.seal(b"seed", &id("~1"), b"{}").unwrap();
    assert!(s.open(&id("~1"), &name, &blob).is_ok());

    for (body, says) in [
        ("echo 'vault sealed' >&2; exit 3", "vault sealed"),
        ("echo garbage", "protocol header"),
        (
            "echo '{\"magic\":\"OpenTofu-External-Key-Provider\",\"version\":1}'; echo '{\"keys\":{\"encryption_key\":\"c2hvcnQ=\"}}'",
            "16, 24 or 32",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let e = ext(script(dir.path(), body))
            .seal(b"seed", &id("~1"), b"{}")
            .err()
            .unwrap();
        let text = e.to_string();
        assert!(text.contains("external.kms") && text.contains(says), "{text}");
    }
}
