//! Load benchmark: requests per second for a create/show mix against the local cloud on
//! loopback, client and server in one process.
//!
//! `cargo bench -p inferform-local-cloud --bench load` (env: `LOAD_SECS`, default 5;
//! `LOAD_CONCURRENCY`, default 64; `LOAD_CREATE_EVERY`, default 10: one create per that many
//! calls, the rest are shows of endpoints already made; `LOAD_STORE`: `memory`, `disk` (a data
//! folder in a temporary directory, every change synced) or `both`, the default, one run after
//! the other). Faults are off. Bounded in time; talks to 127.0.0.1 only.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inferform_local_cloud::{Config, LocalCloud};
use serde_json::{json, Value};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let store = std::env::var("LOAD_STORE").unwrap_or_else(|_| "both".to_owned());
    if store == "memory" || store == "both" {
        runtime.block_on(run("in memory", Config::default()));
    }
    if store == "disk" || store == "both" {
        let dir = tempfile::tempdir().expect("a temporary data folder");
        let config = Config {
            data_dir: Some(dir.path().to_owned()),
            ..Config::default()
        };
        runtime.block_on(run("with a data folder", config));
    }
}

async fn run(label: &str, config: Config) {
    let secs = env("LOAD_SECS", 5).clamp(1, 120);
    let concurrency = env("LOAD_CONCURRENCY", 64).clamp(1, 1024);
    let create_every = env("LOAD_CREATE_EVERY", 10).max(1);
    let cloud = LocalCloud::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the local cloud starts");
    let base = cloud.base_url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .expect("client");
    let ws: Value = http
        .post(format!("{base}/v1/workspaces"))
        .header("X-Auth-Token", "local-token")
        .json(&json!({"name": "bench"}))
        .send()
        .await
        .expect("create workspace")
        .json()
        .await
        .expect("workspace JSON");
    let ws = ws["id"].as_str().expect("workspace id").to_owned();
    let endpoints = format!("{base}/v1/workspaces/{ws}/endpoints");
    let seed: Value = http
        .post(&endpoints)
        .header("X-Auth-Token", "local-token")
        .json(&json!({"name": "seed", "type": "inference"}))
        .send()
        .await
        .expect("create endpoint")
        .json()
        .await
        .expect("endpoint JSON");
    let seed = seed["id"].as_str().expect("endpoint id").to_owned();

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (http, endpoints, seed) = (http.clone(), endpoints.clone(), seed.clone());
        let (ok, failed) = (ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut last = seed;
            let mut n: u64 = 0;
            let mut since_create: u64 = 0;
            while Instant::now() < deadline {
                n += 1;
                since_create += 1;
                let is_create = since_create == create_every;
                if is_create {
                    since_create = 0;
                }
                let t = Instant::now();
                let result = if is_create {
                    http.post(&endpoints)
                        .header("X-Auth-Token", "local-token")
                        .json(&json!({"name": format!("e-{worker}-{n}"), "type": "inference",
                            "reserved_resource": {"mu": {"spec_code": "mu.s", "min": 0, "max": 1}}}))
                        .send()
                        .await
                } else {
                    http.get(format!("{endpoints}/{last}"))
                        .header("X-Auth-Token", "local-token")
                        .send()
                        .await
                };
                match result {
                    Ok(resp) if resp.status().is_success() => {
                        match resp.json::<Value>().await {
                            Ok(v) => {
                                if is_create {
                                    if let Some(id) = v["id"].as_str() {
                                        last = id.to_owned();
                                    }
                                }
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        if let Ok(l) = t.await {
            latencies.extend(l);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let ok = ok.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    println!(
        "local-cloud load ({label}): {:.0} req/s ({ok} ok, {failed} failed in {elapsed:.1}s; \
         concurrency {concurrency}, 1 create per {create_every} calls; p50 {:?}, p99 {:?})",
        ok as f64 / elapsed,
        pct(0.50),
        pct(0.99),
    );
    cloud.shutdown().await;
}
