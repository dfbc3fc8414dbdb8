//! Against a real PostgreSQL (see [`test_url`]): each test in a fresh schema of its own.

use std::time::{Duration, Instant};

use super::*;
use crate::backend::{Backend, ForceUnlocked, OpenOptions, PgConfig};
use crate::fixtures::{full_state, intent, resource};
use crate::{Change, FORMAT_VERSION};

/// A backend on a fresh, initialized schema. The backend is dropped before the schema.
struct Fixture {
    backend: PgBackend,
    schema: TestSchema,
}

fn fixture() -> Option<Fixture> {
    let schema = TestSchema::new()?;
    let backend = PgBackend::new(schema.config());
    backend.init().unwrap();
    Some(Fixture { backend, schema })
}

fn opts(lock: bool, timeout: Duration) -> OpenOptions {
    OpenOptions {
        operation: "OperationTypeApply".into(),
        lock,
        timeout,
    }
}

fn locked() -> OpenOptions {
    opts(true, Duration::ZERO)
}

/// Runs SQL in the fixture's schema from another session.
fn sql(f: &Fixture, text: &str) {
    f.schema.exec(text).unwrap();
}

#[test]
fn round_trip_with_serial_bumps_and_exact_restore() {
    let Some(f) = fixture() else { return };
    let opened = f.backend.open("default", &locked()).unwrap();
    let store = opened.store.clone();
    let start = store.load().unwrap();
    assert_eq!(start.serial, 0);
    assert!(!start.lineage.is_empty());

    let mut r = resource("a.one");
    r.sensitive_paths = vec![vec!["zeta".into()]];
    r.tainted = true;
    store.put_resource(&r).unwrap();
    store.put_resource(&resource("a.two")).unwrap();
    store.remove_resource("a.two").unwrap();
    store.record_intent(&intent("a.three")).unwrap();
    store.record_intent(&intent("a.four")).unwrap();
    store.clear_intent("a.four").unwrap();
    let mut outputs = BTreeMap::new();
    outputs.insert(
        "old".to_string(),
        OutputState {
            value: serde_json::json!(1),
            sensitive: false,
        },
    );
    store.put_outputs(&outputs).unwrap();
    outputs.clear();
    outputs.insert(
        "new".to_string(),
        OutputState {
            value: serde_json::json!({"s": "x"}),
            sensitive: true,
        },
    );
    store.put_outputs(&outputs).unwrap();

    let state = store.load().unwrap();
    assert_eq!(state.serial, 8);
    assert_eq!(state.lineage, start.lineage);
    assert_eq!(state.resources.len(), 1);
    assert_eq!(state.resources["a.one"], r);
    // Attributes keep the order the provider gave them.
    let keys: Vec<&String> = state.resources["a.one"]
        .attributes
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["id", "zeta", "alpha"]);
    assert_eq!(state.intents.keys().collect::<Vec<_>>(), ["a.three"]);
    assert_eq!(state.outputs, outputs);

    let wanted = full_state("copied", 41);
    store.restore(&wanted).unwrap();
    assert_eq!(store.load().unwrap(), wanted);
    store.put_resource(&resource("a.after")).unwrap();
    assert_eq!(store.load().unwrap().serial, 42);

    let mut pushed = full_state("pushed", 3);
    pushed.resources.remove("a.b");
    store.replace(&pushed).unwrap();
    let state = store.load().unwrap();
    assert_eq!(state.serial, 43);
    assert_eq!(state.lineage, "pushed");
    assert_eq!(state.resources, pushed.resources);
    drop(store);
    drop(opened);

    // It is all there for the next opener, and for a reader.
    let again = f.backend.open("default", &locked()).unwrap();
    assert_eq!(again.store.load().unwrap(), state);
    assert_eq!(f.backend.read("default").unwrap().unwrap(), state);
}

#[test]
fn concurrent_writers_are_all_durable_with_the_right_serial() {
    let Some(f) = fixture() else { return };
    let opened = f.backend.open("default", &locked()).unwrap();
    let started = Instant::now();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let store = opened.store.clone();
            std::thread::spawn(move || {
                for i in 0..64 {
                    store
                        .put_resource(&resource(&format!("a.r{t}_{i}")))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let took = started.elapsed();
    eprintln!("1024 writes from 16 threads: {took:?}");
    drop(opened);
    let state = f.backend.read("default").unwrap().unwrap();
    assert_eq!(state.resources.len(), 1024);
    assert_eq!(state.serial, 1024);
}

#[test]
fn usable_from_inside_a_tokio_runtime() {
    let Some(f) = fixture() else { return };
    let opened = f.backend.open("default", &locked()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = opened.store.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            store.put_resource(&resource("a.async")).unwrap();
            store.load().unwrap()
        })
        .await
        .unwrap()
    });
    assert!(opened
        .store
        .load()
        .unwrap()
        .resources
        .contains_key("a.async"));
}

#[test]
fn a_held_lock_blocks_others_and_is_released_on_drop() {
    let Some(f) = fixture() else { return };
    let first = f.backend.open("default", &locked()).unwrap();
    let info = first.lock.clone().unwrap();
    assert_eq!(info.operation, "OperationTypeApply");
    assert!(info.path.contains("workspace \"default\""), "{}", info.path);
    match f.backend.open("default", &locked()) {
        Err(StateError::LockedBy {
            info: Some(holder), ..
        }) => assert_eq!(*holder, info),
        other => panic!("expected LockedBy with the holder, got {other:?}"),
    }
    // Waiting: the holder lets go while the second waits.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        drop(first);
    });
    let started = Instant::now();
    let second = f
        .backend
        .open("default", &opts(true, Duration::from_secs(10)))
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    releaser.join().unwrap();
    assert!(second.lock.is_some());
    // Unlocked opens are not blocked.
    let reader = f
        .backend
        .open("default", &opts(false, Duration::ZERO))
        .unwrap();
    assert!(reader.lock.is_none());
    reader.store.load().unwrap();
}

#[test]
fn a_killed_holder_releases_the_lock_and_its_writes_fail_fast() {
    let Some(f) = fixture() else { return };
    let holder = f.backend.open("default", &locked()).unwrap();
    holder.store.put_resource(&resource("a.before")).unwrap();
    // End the holder's session from outside, as the server does when its process dies.
    sql(
        &f,
        &format!(
            "SELECT pg_terminate_backend(backend_pid) FROM \"{}\".locks",
            f.schema.schema
        ),
    );
    let next = f
        .backend
        .open("default", &opts(true, Duration::from_secs(10)))
        .unwrap();
    assert!(next.lock.is_some());
    let started = Instant::now();
    match holder.store.put_resource(&resource("a.after")) {
        Err(StateError::ConnectionLost { .. }) => {}
        other => panic!("expected ConnectionLost, got {other:?}"),
    }
    assert!(matches!(
        holder.store.load(),
        Err(StateError::ConnectionLost { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(holder);
    let state = next.store.load().unwrap();
    assert!(state.resources.contains_key("a.before"));
    assert!(!state.resources.contains_key("a.after"));
}

#[test]
fn force_unlock_checks_the_id_and_stops_a_running_holder() {
    let Some(f) = fixture() else { return };
    let holder = f.backend.open("default", &locked()).unwrap();
    let id = holder.lock.as_ref().unwrap().id.clone();
    match f.backend.force_unlock("default", "not-the-id") {
        Err(StateError::LockIdMismatch { holder: h, .. }) => assert_eq!(h.id, id),
        other => panic!("expected LockIdMismatch, got {other:?}"),
    }
    assert_eq!(
        f.backend.force_unlock("default", &id).unwrap(),
        ForceUnlocked::HolderStopped
    );
    assert!(matches!(
        holder.store.put_resource(&resource("a.late")),
        Err(StateError::ConnectionLost { .. })
    ));
    let next = f.backend.open("default", &locked()).unwrap();
    drop(next);
    assert_eq!(
        f.backend.force_unlock("default", &id).unwrap(),
        ForceUnlocked::NotLocked
    );
    // A record whose holder is gone is only removed.
    sql(
        &f,
        &format!(
            "INSERT INTO \"{}\".locks (workspace, info, backend_pid) VALUES ('default', '{}', 1)",
            f.schema.schema,
            serde_json::to_string(&crate::LockInfo::new("OperationTypeApply", "x"))
                .unwrap()
                .replace("\"ID\":\"", "\"ID\":\"stale-")
        ),
    );
    let stale = f.backend.read("default").unwrap();
    assert!(stale.is_some());
    match f.backend.force_unlock("default", "nope") {
        Err(StateError::LockIdMismatch { holder, .. }) => {
            assert!(holder.id.starts_with("stale-"));
            assert_eq!(
                f.backend.force_unlock("default", &holder.id).unwrap(),
                ForceUnlocked::StaleRecordRemoved
            );
        }
        other => panic!("expected LockIdMismatch, got {other:?}"),
    }
    // A stale record names nobody when someone else is blocked.
    drop(holder);
}

#[test]
fn workspaces_are_isolated_and_deleted_with_their_history() {
    let Some(f) = fixture() else { return };
    let b = &f.backend;
    assert_eq!(b.workspaces().unwrap(), ["default"]);
    b.create_workspace("prod").unwrap();
    b.create_workspace("dev-1").unwrap();
    assert_eq!(b.workspaces().unwrap(), ["default", "dev-1", "prod"]);
    assert!(matches!(
        b.create_workspace("prod"),
        Err(StateError::WorkspaceExists { .. })
    ));
    assert!(matches!(
        b.create_workspace("default"),
        Err(StateError::WorkspaceExists { .. })
    ));
    for bad in ["", "a b", "x/y", "ü", &"n".repeat(91)] {
        assert!(
            matches!(
                b.create_workspace(bad),
                Err(StateError::BadWorkspaceName { .. })
            ),
            "{bad:?}"
        );
    }
    match b.open("nope", &locked()) {
        Err(StateError::NoWorkspace { name, available }) => {
            assert_eq!(name, "nope");
            assert_eq!(available, ["default", "dev-1", "prod"]);
        }
        other => panic!("expected NoWorkspace, got {other:?}"),
    }

    let prod = b.open("prod", &locked()).unwrap();
    let default = b.open("default", &locked()).unwrap();
    prod.store.put_resource(&resource("a.prod")).unwrap();
    prod.store
        .record_history(&Change::new("apply", None))
        .unwrap();
    default.store.put_resource(&resource("a.default")).unwrap();
    assert_eq!(
        prod.store
            .load()
            .unwrap()
            .resources
            .keys()
            .collect::<Vec<_>>(),
        ["a.prod"]
    );
    assert_eq!(
        default
            .store
            .load()
            .unwrap()
            .resources
            .keys()
            .collect::<Vec<_>>(),
        ["a.default"]
    );
    assert_ne!(
        prod.store.load().unwrap().lineage,
        default.store.load().unwrap().lineage
    );
    assert!(default.store.history().unwrap().is_empty());

    match b.delete_workspace("prod") {
        Err(StateError::LockedBy { info: Some(i), .. }) => {
            assert_eq!(i.id, prod.lock.as_ref().unwrap().id)
        }
        other => panic!("expected LockedBy, got {other:?}"),
    }
    drop(prod);
    b.delete_workspace("prod").unwrap();
    assert_eq!(b.workspaces().unwrap(), ["default", "dev-1"]);
    assert!(b.read("prod").unwrap().is_none());
    assert!(matches!(
        b.delete_workspace("default"),
        Err(StateError::DefaultWorkspace)
    ));
    assert!(matches!(
        b.delete_workspace("prod"),
        Err(StateError::NoWorkspace { .. })
    ));
    // A new workspace of the same name starts afresh.
    b.create_workspace("prod").unwrap();
    let prod = b.open("prod", &locked()).unwrap();
    let state = prod.store.load().unwrap();
    assert!(state.resources.is_empty());
    assert_eq!(state.serial, 0);
    assert!(prod.store.history().unwrap().is_empty());
}

#[test]
fn history_records_snapshots() {
    let Some(f) = fixture() else { return };
    let opened = f.backend.open("default", &locked()).unwrap();
    let store = &opened.store;
    store.put_resource(&resource("a.one")).unwrap();
    let first = store
        .record_history(&Change {
            who: "ana@laptop".into(),
            command: "apply".into(),
            fingerprint: Some("fp-1".into()),
        })
        .unwrap();
    assert_eq!(first.serial, 1);
    assert_eq!(first.resources, 1);
    assert_eq!(first.who, "ana@laptop");
    store.put_resource(&resource("a.two")).unwrap();
    store.remove_resource("a.one").unwrap();
    let second = store
        .record_history(&Change::new("state rm", None))
        .unwrap();
    assert_eq!(second.serial, 3);
    assert_eq!(
        store.history().unwrap(),
        vec![first.clone(), second.clone()]
    );
    let at1 = store.state_at(1).unwrap().unwrap();
    assert_eq!(at1.resources.keys().collect::<Vec<_>>(), ["a.one"]);
    assert_eq!(at1.serial, 1);
    let at3 = store.state_at(3).unwrap().unwrap();
    assert_eq!(at3, store.load().unwrap());
    assert!(store.state_at(2).unwrap().is_none());
    // The same serial again replaces its entry.
    let again = store.record_history(&Change::new("refresh", None)).unwrap();
    assert_eq!(again.serial, 3);
    let all = store.history().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].command, "refresh");
}

#[test]
fn an_older_format_is_raised_on_open() {
    let Some(f) = fixture() else { return };
    sql(
        &f,
        &format!(
            "UPDATE \"{}\".meta SET value = '1' WHERE key = 'format_version'",
            f.schema.schema
        ),
    );
    let b = PgBackend::new(f.schema.config());
    // A reader leaves it as it is (a role that may only read still reads)...
    b.read("default").unwrap();
    sql(
        &f,
        &format!(
            "DO $$ BEGIN IF (SELECT value FROM \"{}\".meta WHERE key = 'format_version') <> '1' \
             THEN RAISE EXCEPTION 'raised by a reader'; END IF; END $$",
            f.schema.schema
        ),
    );
    // ...and opening a workspace, which may write, raises it: a version 1 inferform is now
    // refused here, as it would drop deposed objects.
    drop(b.open("default", &locked()).unwrap());
    sql(
        &f,
        &format!(
            "DO $$ BEGIN IF (SELECT value FROM \"{}\".meta WHERE key = 'format_version') <> '{}' \
             THEN RAISE EXCEPTION 'not raised'; END IF; END $$",
            f.schema.schema, FORMAT_VERSION
        ),
    );
}

#[test]
fn a_newer_format_is_refused() {
    let Some(f) = fixture() else { return };
    sql(
        &f,
        &format!(
            "UPDATE \"{}\".meta SET value = '{}' WHERE key = 'format_version'",
            f.schema.schema,
            FORMAT_VERSION + 1
        ),
    );
    // A fresh backend, as a newer inferform's user would be met by an older one.
    let b = PgBackend::new(f.schema.config());
    for result in [
        b.open("default", &locked()).map(|_| ()),
        b.init(),
        b.read("default").map(|_| ()),
        b.workspaces().map(|_| ()),
    ] {
        match result {
            Err(StateError::TooNew { found, supported }) => {
                assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION))
            }
            other => panic!("expected TooNew, got {other:?}"),
        }
    }
}

#[test]
fn skip_schema_creation_needs_the_schema_and_open_needs_init() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let plain = PgBackend::new(schema.config());
    match plain.open("default", &locked()) {
        Err(e @ StateError::NotInitialized { .. }) => {
            assert!(e.help().unwrap().contains("inferform init"), "{e}")
        }
        other => panic!("expected NotInitialized, got {other:?}"),
    }
    let skip = PgBackend::new(PgConfig {
        skip_schema_creation: true,
        ..schema.config()
    });
    match skip.init() {
        Err(StateError::NoSchema { schema: s }) => assert_eq!(s, schema.schema),
        other => panic!("expected NoSchema, got {other:?}"),
    }
    schema
        .exec(&format!("CREATE SCHEMA \"{}\"", schema.schema))
        .unwrap();
    skip.init().unwrap();
    skip.open("default", &locked())
        .unwrap()
        .store
        .put_resource(&resource("a.b"))
        .unwrap();
    // init again is harmless.
    plain.init().unwrap();
    assert_eq!(plain.read("default").unwrap().unwrap().resources.len(), 1);
}

#[test]
fn a_wrong_password_is_an_auth_error_that_does_not_show_it() {
    let Some(url) = test_url() else { return };
    let target = conn::Target::parse(&url).unwrap();
    let host = match &target.config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
    };
    let conn_str = format!(
        "host={host} port={} user={} dbname={} password=not-the-Password-9",
        target.config.get_ports().first().copied().unwrap_or(5432),
        target.config.get_user().unwrap_or("inferform"),
        target.config.get_dbname().unwrap_or("inferform_test"),
    );
    let b = PgBackend::new(PgConfig {
        conn_str,
        schema_name: "inferform_remote_state".into(),
        skip_schema_creation: false,
    });
    match b.init() {
        Err(e @ StateError::Auth { .. }) => {
            let text = format!("{e} {}", e.help().unwrap());
            assert!(!text.contains("not-the-Password-9"), "{text}");
            assert!(text.contains("password"), "{text}");
        }
        other => panic!("expected Auth, got {other:?}"),
    }
}

#[test]
fn an_unreachable_server_is_named_without_the_password() {
    let b = PgBackend::new(PgConfig {
        conn_str: "postgres://inferform:hunter2-secret@127.0.0.1:1/inferform_test".into(),
        schema_name: "inferform_remote_state".into(),
        skip_schema_creation: false,
    });
    assert_eq!(
        b.describe(),
        "postgres://inferform@127.0.0.1:1/inferform_test (schema inferform_remote_state)"
    );
    let started = Instant::now();
    let err = b.init().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(15));
    match &err {
        StateError::Unreachable { target, .. } => {
            assert_eq!(target, "postgres://inferform@127.0.0.1:1/inferform_test")
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let text = format!("{err} {}", err.help().unwrap());
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("PG_CONN_STR"), "{text}");
    assert!(matches!(
        b.open("default", &locked()),
        Err(StateError::Unreachable { .. })
    ));
}

/// Whether a connection made with `url` is encrypted, as the server sees it.
fn encrypted(url: &str) -> bool {
    let target = conn::Target::parse(url).unwrap();
    let conn = Conn::open(&target, &sql::Sql::new("public").unwrap()).unwrap();
    conn.call(|s| {
        async move {
            let row = s
                .client
                .query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await
                .map_err(|e| s.err(e))?;
            Ok(row.get::<_, bool>(0))
        }
        .boxed_local()
    })
    .unwrap()
}

#[test]
fn ssl_modes() {
    let Some(f) = fixture() else { return };
    let with_mode = |mode: &str| {
        let sep = if f.schema.url.contains('?') { '&' } else { '?' };
        PgBackend::new(PgConfig {
            conn_str: format!("{}{sep}sslmode={mode}", f.schema.url),
            ..f.schema.config()
        })
    };
    with_mode("disable").workspaces().unwrap();
    with_mode("prefer").workspaces().unwrap();
    // Whether the server speaks TLS decides what require and verify-full can do.
    let server_tls = with_mode("require").workspaces();
    match server_tls {
        Ok(_) => {
            // The test server's certificate is not signed by a public authority.
            match with_mode("verify-full").workspaces() {
                Err(e @ StateError::Tls { .. }) => {
                    assert!(e.help().unwrap().contains("sslrootcert"), "{e}")
                }
                other => panic!("expected a TLS error, got {other:?}"),
            }
            // Debian's test servers use the snakeoil certificate (for "localhost"): trusted
            // as a root, it passes verify-ca whatever the host name, and verify-full only
            // under its own name.
            let snakeoil = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
            if std::path::Path::new(snakeoil).exists() {
                let ca = with_mode(&format!("verify-ca&sslrootcert={snakeoil}")).workspaces();
                eprintln!("verify-ca with {snakeoil}: {ca:?}");
                let full = with_mode(&format!("verify-full&sslrootcert={snakeoil}")).workspaces();
                eprintln!("verify-full with {snakeoil}: {full:?}");
                if ca.is_ok() && !f.schema.url.contains("localhost") {
                    assert!(matches!(full, Err(StateError::Tls { .. })), "{full:?}");
                }
            }
            // prefer (the default) encrypts when the server can.
            assert!(encrypted(&f.schema.url));
            let sep = if f.schema.url.contains('?') { '&' } else { '?' };
            assert!(!encrypted(&format!("{}{sep}sslmode=disable", f.schema.url)));
        }
        Err(StateError::Tls { .. }) => eprintln!("the test server has no TLS"),
        Err(other) => panic!("sslmode=require: {other}"),
    }
}

#[test]
fn loading_five_thousand_resources_is_quick() {
    let Some(f) = fixture() else { return };
    let opened = f.backend.open("default", &locked()).unwrap();
    let mut state = State {
        lineage: "big".into(),
        serial: 5000,
        ..State::default()
    };
    for i in 0..5000 {
        let mut r = resource(&format!("fabric_endpoint.e[{i}]"));
        r.attributes = serde_json::json!({
            "id": format!("ep-{i}"), "name": format!("endpoint-{i}"), "replicas": 2,
            "tags": {"team": "ml", "env": "prod"}, "status": "RUNNING",
        });
        state.resources.insert(r.addr.clone(), r);
    }
    opened.store.restore(&state).unwrap();
    let started = Instant::now();
    let loaded = opened.store.load().unwrap();
    let took = started.elapsed();
    eprintln!("load of 5000 resources: {took:?}");
    assert_eq!(loaded, state);
    assert!(took < Duration::from_secs(5), "{took:?}");
}

mod sealed {
    use super::*;
    use crate::encryption::tests::{clear_method, key_a, key_b, state_sealer as sealer};
    use crate::encryption::{CryptoError, Sealer};

    fn backend(f: &Fixture, s: Arc<Sealer>) -> PgBackend {
        PgBackend::new(f.schema.config()).with_sealer(s)
    }

    fn fill(store: &dyn StateStore) -> State {
        store
            .put_resource(&resource("fabric_endpoint.secretname"))
            .unwrap();
        store
            .record_intent(&intent("fabric_model.hiddenmodel"))
            .unwrap();
        let outputs = BTreeMap::from([(
            "private_output".to_string(),
            OutputState {
                value: serde_json::json!("https://very.private.example"),
                sensitive: false,
            },
        )]);
        store.put_outputs(&outputs).unwrap();
        store.record_history(&Change::new("apply", None)).unwrap();
        store.load().unwrap()
    }

    #[test]
    fn a_dump_of_the_schema_shows_nothing_and_rotation_completes() {
        let Some(f) = fixture() else { return };
        let wanted = {
            let b = backend(&f, sealer(key_a(), None));
            let opened = b.open("default", &locked()).unwrap();
            fill(opened.store.as_ref())
        };
        let dump = f.schema.dump().unwrap();
        for needle in [
            "secretname",
            "hiddenmodel",
            "private_output",
            "very.private",
            "inferform_data",
        ] {
            assert!(!dump.contains(needle), "{needle} is in the dump:\n{dump}");
        }
        assert_eq!(
            backend(&f, sealer(key_a(), None))
                .read("default")
                .unwrap()
                .unwrap(),
            wanted
        );
        {
            let b = backend(&f, sealer(key_b(), Some(key_a())));
            let opened = b.open("default", &locked()).unwrap();
            assert_eq!(opened.store.load().unwrap(), wanted);
            opened.store.put_resource(&resource("a.new")).unwrap();
        }
        let b = backend(&f, sealer(key_b(), None));
        let opened = b.open("default", &locked()).unwrap();
        assert_eq!(opened.store.load().unwrap().resources.len(), 2);
        assert_eq!(
            opened.store.state_at(wanted.serial).unwrap().unwrap(),
            wanted
        );
        drop(opened);
        assert!(matches!(
            backend(&f, sealer(key_a(), None)).read("default"),
            Err(StateError::Crypto(CryptoError::NoKey { .. }))
        ));
        // A flipped byte in one record is tampering of that record, never "not found".
        sql(
            &f,
            &format!(
                "UPDATE \"{}\".records SET value = overlay(value placing \
             (CASE WHEN substr(value, length(value) - 3, 1) = 'A' THEN 'B' ELSE 'A' END) \
             from length(value) - 3 for 1) WHERE kind = 'resource'",
                f.schema.schema
            ),
        );
        match backend(&f, sealer(key_b(), None)).read("default") {
            Err(StateError::Crypto(e @ CryptoError::Tampered { .. })) => {
                assert!(e.to_string().contains("resource record ~"), "{e}")
            }
            other => panic!("expected tampering, got {other:?}"),
        }
    }

    #[test]
    fn migration_both_ways_and_tampering_named() {
        let Some(f) = fixture() else { return };
        let wanted = {
            let opened = f.backend.open("default", &locked()).unwrap();
            fill(opened.store.as_ref())
        };
        assert!(matches!(
            backend(&f, sealer(key_a(), None)).read("default"),
            Err(StateError::Crypto(CryptoError::Unencrypted { .. }))
        ));
        {
            let b = backend(&f, sealer(key_a(), Some(clear_method())));
            let opened = b.open("default", &locked()).unwrap();
            assert_eq!(opened.store.load().unwrap(), wanted);
            opened
                .store
                .record_history(&Change::new("apply", None))
                .unwrap();
        }
        assert!(!f.schema.dump().unwrap().contains("secretname"));
        assert_eq!(
            backend(&f, sealer(key_a(), None))
                .read("default")
                .unwrap()
                .unwrap(),
            wanted
        );
        // And back to clear, through the fallback.
        {
            let b = backend(&f, sealer(clear_method(), Some(key_a())));
            let opened = b.open("default", &locked()).unwrap();
            opened.store.replace(&wanted).unwrap();
        }
        let state = f.backend.read("default").unwrap().unwrap();
        assert_eq!(state.resources, wanted.resources);
        assert!(f.schema.dump().unwrap().contains("secretname"));
    }
}
