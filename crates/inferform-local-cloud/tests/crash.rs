//! A crash never corrupts the store: a child process serves from a data folder under load and
//! is killed (SIGKILL) at an arbitrary moment; the folder then opens, and every change the
//! child's clients were told had succeeded is there.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{start, test_config, Client};
use inferform_local_cloud::{Config, LocalCloud};
use reqwest::{Method, StatusCode};
use serde_json::json;

const CHILD_DIR: &str = "INFERFORM_LOCAL_CLOUD_CRASH_DIR";

/// In the child: serve from the folder and change things as fast as possible, printing each
/// acknowledged change, until killed. In a normal test run: nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let (_cloud, c) = start(Config {
        data_dir: Some(dir.into()),
        ..test_config(20)
    })
    .await;
    let c = std::sync::Arc::new(c);
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let name = format!("w{worker}-{n}");
                let r = c
                    .fabric(
                        Method::POST,
                        "/v1/workspaces",
                        &[],
                        Some(&json!({"name": name})),
                    )
                    .await;
                if r.status != StatusCode::OK {
                    continue;
                }
                let id = r.str("/id").to_owned();
                // Every third workspace is deleted after its update, so it may be gone even
                // though the delete was never acknowledged.
                let doomed = n % 3 == 0;
                println!("ACK create {id} {doomed}");
                let r = c
                    .fabric(
                        Method::PUT,
                        &format!("/v1/workspaces/{id}"),
                        &[],
                        Some(&json!({"description": "updated"})),
                    )
                    .await;
                if r.status == StatusCode::OK {
                    println!("ACK update {id} {doomed}");
                }
                if doomed {
                    let r = c
                        .fabric(Method::DELETE, &format!("/v1/workspaces/{id}"), &[], None)
                        .await;
                    if r.status == StatusCode::OK {
                        println!("ACK delete {id} true");
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

#[tokio::test]
async fn a_killed_server_leaves_a_whole_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("the test binary");
    let mut child = Command::new(exe)
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the child starts");
    let stdout = child.stdout.take().expect("the child's output");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Let it work until it has acknowledged a good number of changes, then kill it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines: Vec<String> = Vec::new();
    while lines.iter().filter(|l| l.starts_with("ACK ")).count() < 300 && Instant::now() < deadline
    {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(50)) {
            lines.push(line);
        }
    }
    child.kill().expect("kill the child");
    let _ = child.wait();
    let _ = reader.join();
    lines.extend(rx.try_iter());
    let acks = lines.iter().filter(|l| l.starts_with("ACK ")).count();
    assert!(acks >= 50, "the child did some work: {lines:?}");

    let cloud = LocalCloud::start(
        Config {
            data_dir: Some(dir.path().to_owned()),
            ..Config::default()
        },
        common::loopback(),
    )
    .await
    .expect("the folder opens after a crash");
    let c = Client::new(&cloud.base_url());
    let all = c
        .fabric(Method::GET, "/v1/workspaces", &[("limit", "100")], None)
        .await;
    assert_eq!(all.status, StatusCode::OK);
    let mut expected: std::collections::BTreeMap<String, (&str, bool)> = Default::default();
    for line in lines.iter().filter(|l| l.starts_with("ACK ")) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let [_, what, id, doomed] = parts[..] {
            expected.insert(id.to_owned(), (what, doomed == "true"));
        }
    }
    assert!(!expected.is_empty());
    for (id, (last, doomed)) in &expected {
        let r = c
            .fabric(Method::GET, "/v1/workspaces", &[("id", id)], None)
            .await;
        let total = r.body["total"].as_u64().unwrap_or(9);
        match (*last, *doomed) {
            ("delete", _) => assert_eq!(total, 0, "{id} was deleted"),
            // A delete may have happened without its answer reaching the client.
            (_, true) if total == 0 => {}
            ("update", _) => {
                assert_eq!(total, 1, "{id} was acknowledged");
                assert_eq!(r.str("/workspaces/0/description"), "updated", "{id}");
            }
            _ => assert_eq!(total, 1, "{id} was acknowledged"),
        }
    }
    // No temporary file is left behind.
    let leftovers = std::fs::read_dir(dir.path().join("fabric_workspace"))
        .expect("the folder")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
    cloud.shutdown().await;
}
