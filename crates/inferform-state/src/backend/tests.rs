use super::*;
use crate::fixtures::resource;
use crate::Change;

fn opts(timeout: Duration) -> OpenOptions {
    OpenOptions {
        operation: "OperationTypeApply".into(),
        lock: true,
        timeout,
    }
}

#[test]
fn default_stays_where_it_was_and_workspaces_live_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join(".inferform");
    let b = LocalBackend::new(&data);
    b.init().unwrap();
    assert_eq!(b.describe(), data.join("state").display().to_string());
    assert_eq!(b.workspaces().unwrap(), ["default"]);
    assert!(b.read("default").unwrap().is_none());

    {
        let opened = b.open("default", &opts(Duration::ZERO)).unwrap();
        opened.store.put_resource(&resource("a.default")).unwrap();
        assert!(data.join("state").is_dir());
        let holder: LockInfo =
            serde_json::from_str(&std::fs::read_to_string(data.join("state.lock.json")).unwrap())
                .unwrap();
        assert_eq!(Some(holder), opened.lock);
    }
    assert!(!data.join("state.lock.json").exists(), "removed on drop");

    b.create_workspace("dev").unwrap();
    b.create_workspace("prod_2").unwrap();
    assert!(data.join("workspaces/dev/state").is_dir());
    assert_eq!(b.workspaces().unwrap(), ["default", "dev", "prod_2"]);
    assert!(matches!(
        b.create_workspace("dev"),
        Err(StateError::WorkspaceExists { .. })
    ));
    assert!(matches!(
        b.create_workspace("default"),
        Err(StateError::WorkspaceExists { .. })
    ));
    for bad in ["", "../x", "a b", &"n".repeat(91)] {
        assert!(
            matches!(
                b.create_workspace(bad),
                Err(StateError::BadWorkspaceName { .. })
            ),
            "{bad:?}"
        );
    }
    {
        let dev = b.open("dev", &opts(Duration::ZERO)).unwrap();
        assert!(data.join("workspaces/dev/state.lock.json").exists());
        dev.store.put_resource(&resource("a.dev")).unwrap();
        dev.store
            .record_history(&Change::new("apply", None))
            .unwrap();
        assert_eq!(
            dev.store
                .load()
                .unwrap()
                .resources
                .keys()
                .collect::<Vec<_>>(),
            ["a.dev"]
        );
    }
    let default = b.read("default").unwrap().unwrap();
    assert_eq!(default.resources.keys().collect::<Vec<_>>(), ["a.default"]);
    match b.open("nope", &opts(Duration::ZERO)) {
        Err(StateError::NoWorkspace { available, .. }) => {
            assert_eq!(available, ["default", "dev", "prod_2"])
        }
        other => panic!("expected NoWorkspace, got {other:?}"),
    }
    assert!(b.read("nope").unwrap().is_none());

    assert!(matches!(
        b.delete_workspace("default"),
        Err(StateError::DefaultWorkspace)
    ));
    b.delete_workspace("dev").unwrap();
    assert!(!data.join("workspaces/dev").exists());
    assert_eq!(b.workspaces().unwrap(), ["default", "prod_2"]);
    assert!(matches!(
        b.delete_workspace("dev"),
        Err(StateError::NoWorkspace { .. })
    ));
    b.create_workspace("dev").unwrap();
    let dev = b.open("dev", &opts(Duration::ZERO)).unwrap();
    assert!(dev.store.load().unwrap().resources.is_empty());
    assert!(dev.store.history().unwrap().is_empty());
}

#[cfg(unix)]
#[test]
fn what_it_creates_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join(".inferform");
    let b = LocalBackend::new(&data);
    let _opened = b.open("default", &opts(Duration::ZERO)).unwrap();
    b.create_workspace("dev").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("state")), 0o700);
    assert_eq!(mode(&data.join("workspaces")), 0o700);
    assert_eq!(mode(&data.join("workspaces/dev/state")), 0o700);
    assert_eq!(mode(&data.join("state.lock.json")), 0o600);
}

#[test]
fn a_held_workspace_names_its_holder_and_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let b = Arc::new(LocalBackend::new(&dir.path().join(".inferform")));
    let first = b.open("default", &opts(Duration::ZERO)).unwrap();
    let info = first.lock.clone().unwrap();
    match b.open("default", &opts(Duration::ZERO)) {
        Err(e @ StateError::LockedBy { .. }) => {
            let StateError::LockedBy { info: holder, .. } = &e else {
                unreachable!()
            };
            assert_eq!(holder.as_deref(), Some(&info));
            let text = e.to_string();
            assert!(text.starts_with("Error acquiring the state lock"), "{text}");
            assert!(text.contains(&info.id), "{text}");
            assert!(e.help().unwrap().contains("--lock-timeout"));
        }
        other => panic!("expected LockedBy, got {other:?}"),
    }
    assert!(matches!(
        b.read("default"),
        Err(StateError::LockedBy { .. })
    ));
    match b.force_unlock("default", "not-the-id") {
        Err(StateError::LockIdMismatch { holder, .. }) => assert_eq!(*holder, info),
        other => panic!("expected LockIdMismatch, got {other:?}"),
    }
    assert!(matches!(
        b.force_unlock("default", &info.id),
        Err(StateError::LocalLockHeld { .. })
    ));

    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        drop(first);
    });
    let started = Instant::now();
    let second = b.open("default", &opts(Duration::from_secs(10))).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    releaser.join().unwrap();
    assert_ne!(second.lock.as_ref().unwrap().id, info.id);
}

#[test]
fn deleting_a_held_workspace_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(&dir.path().join(".inferform"));
    b.create_workspace("dev").unwrap();
    let held = b.open("dev", &opts(Duration::ZERO)).unwrap();
    assert!(matches!(
        b.delete_workspace("dev"),
        Err(StateError::LockedBy { info: Some(_), .. })
    ));
    drop(held);
    b.delete_workspace("dev").unwrap();
}

#[test]
fn force_unlock_removes_a_stale_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join(".inferform");
    let b = LocalBackend::new(&data);
    assert_eq!(
        b.force_unlock("default", "x").unwrap(),
        ForceUnlocked::NotLocked
    );
    drop(b.open("default", &opts(Duration::ZERO)).unwrap());
    // A killed run leaves its record behind (its file lock went with it).
    let stale = LockInfo::new("OperationTypeApply", "x");
    std::fs::write(
        data.join("state.lock.json"),
        serde_json::to_string(&stale).unwrap(),
    )
    .unwrap();
    assert_eq!(
        b.force_unlock("default", &stale.id).unwrap(),
        ForceUnlocked::StaleRecordRemoved
    );
    assert!(!data.join("state.lock.json").exists());
    assert_eq!(
        b.force_unlock("default", &stale.id).unwrap(),
        ForceUnlocked::NotLocked
    );
}

#[test]
fn migration_between_backends_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let from = LocalBackend::new(&dir.path().join("a"));
    let to = LocalBackend::new(&dir.path().join("b"));
    {
        let src = from.open("default", &opts(Duration::ZERO)).unwrap();
        for i in 0..5 {
            src.store
                .put_resource(&resource(&format!("a.r{i}")))
                .unwrap();
        }
    }
    let state = from.read("default").unwrap().unwrap();
    let dst = to.open("default", &opts(Duration::ZERO)).unwrap();
    dst.store.restore(&state).unwrap();
    dst.store
        .record_history(&Change::new("init --migrate-state", None))
        .unwrap();
    assert_eq!(dst.store.load().unwrap(), state);
    assert_eq!(dst.store.history().unwrap()[0].serial, state.serial);
}
