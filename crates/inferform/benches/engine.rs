//! Engine benchmarks, through the release binary, on this machine:
//!
//! 1. `plan --refresh=false` of N `inferform_data` resources already in state (N = 1,000 and
//!    10,000; `INFERFORM_BENCH_SIZES=1000,10000`): wall time (median of 3) and peak memory.
//!    With Terraform on PATH, the same for `terraform plan -refresh=false` of N
//!    `terraform_data` resources as the peer (`INFERFORM_BENCH_TERRAFORM=0` skips it).
//!    Goal: 10,000 in under 1 s, under 300 MB.
//! 2. Apply of 100 DataArts Fabric stacks (workspace → endpoint + model → instance: 400
//!    resources) on the local cloud, with endpoints and instances taking 2 s to reach
//!    RUNNING: the makespan against the critical-path lower bound (2 s + 2 s). Goal: ≤ 1.2.
//!
//! 3. The cost of encryption at rest: the first apply (which plans) of 5,000 `inferform_data`
//!    resources and a plan with all 5,000 in state, with the local sled state in clear, sealed
//!    with AES-GCM under a key from an `external` provider (a script printing a fixed key, as
//!    a KMS would hand one over: the cost of sealing alone), and under a PBKDF2 key at its
//!    default 600,000 iterations (median of 3 each; `INFERFORM_BENCH_ENCRYPTION=N` sets the
//!    count, `0` skips it). Goal: under 10% slower. PBKDF2 is slow on purpose, once per
//!    command, whatever the size of the state: `state list` of the same state shows it.
//!
//! Run: `cargo bench -p inferform --bench engine`. Compare ratios measured in one run: these
//! machines are noisy.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_inferform");

/// Runs a command; returns its wall time and the peak resident memory of the process, in MB.
// The child is reaped by wait4 (which also gives its resource usage), not by Child::wait.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> (Duration, f64) {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, with valid pointers to locals.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert!(rc == pid, "wait4 failed");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "command failed: {err}"
    );
    (elapsed, usage.ru_maxrss as f64 / 1024.0)
}

fn median(mut v: Vec<(Duration, f64)>) -> (Duration, f64) {
    v.sort_by_key(|x| x.0);
    v[v.len() / 2]
}

fn inferform(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("INFERFORM_LOCAL_CLOUD");
    cmd
}

fn plan_bench(n: usize, with_terraform: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = String::with_capacity(n * 90);
    let mut resources = serde_json::Map::new();
    for i in 0..n {
        config.push_str(&format!("resource \"inferform_data\" \"r{i}\" {{\n  input = {{ index = {i}, name = \"item-{i}\" }}\n}}\n\n"));
        let input = serde_json::json!({"index": i, "name": format!("item-{i}")});
        resources.insert(
            format!("inferform_data.r{i}"),
            serde_json::json!({
                "addr": format!("inferform_data.r{i}"),
                "type_name": "inferform_data",
                "provider": "inferform",
                "attributes": {"id": format!("id-{i}"), "input": input, "output": input, "triggers_replace": null},
                "dependencies": [],
            }),
        );
    }
    std::fs::write(dir.path().join("main.hcl"), &config).expect("write config");
    let state = serde_json::json!({"version": 1, "lineage": "bench", "serial": 1, "resources": resources, "outputs": {}});
    std::fs::write(dir.path().join("state.json"), state.to_string()).expect("write state");
    let (t, _) = measure(
        inferform(dir.path(), &["state", "push", "--force", "state.json"]).stdin(Stdio::null()),
    );
    let _ = t;
    // The plan must find nothing to do, or it is not the benchmark we mean.
    let out = inferform(
        dir.path(),
        &["plan", "--refresh=false", "--detailed-exitcode"],
    )
    .output()
    .expect("plan");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let runs: Vec<_> = (0..3)
        .map(|_| measure(&mut inferform(dir.path(), &["plan", "--refresh=false"])))
        .collect();
    let (time, mem) = median(runs);
    println!(
        "plan --refresh=false, {n:>6} inferform_data in state: {:>8.3} s, peak {:>6.1} MB",
        time.as_secs_f64(),
        mem
    );

    if with_terraform {
        let tf = tempfile::tempdir().expect("tempdir");
        let mut config = String::with_capacity(n * 90);
        let mut instances = Vec::with_capacity(n);
        for i in 0..n {
            config.push_str(&format!("resource \"terraform_data\" \"r{i}\" {{\n  input = {{ index = {i}, name = \"item-{i}\" }}\n}}\n\n"));
            let value = serde_json::json!({"index": i, "name": format!("item-{i}")});
            let ty = serde_json::json!(["object", {"index": "number", "name": "string"}]);
            instances.push(serde_json::json!({
                "mode": "managed", "type": "terraform_data", "name": format!("r{i}"),
                "provider": "provider[\"terraform.io/builtin/terraform\"]",
                "instances": [{"schema_version": 0, "attributes": {
                    "id": format!("id-{i}"), "input": {"value": value, "type": ty},
                    "output": {"value": value, "type": ty}, "triggers_replace": null},
                    "sensitive_attributes": []}]
            }));
        }
        std::fs::write(tf.path().join("main.tf"), &config).expect("write tf config");
        let state = serde_json::json!({"version": 4, "terraform_version": "1.11.4", "serial": 1,
            "lineage": "8a2c7c2e-0000-0000-0000-000000000000", "outputs": {}, "resources": instances, "check_results": null});
        std::fs::write(tf.path().join("terraform.tfstate"), state.to_string())
            .expect("write tf state");
        let tf_cmd = |args: &[&str]| {
            let mut c = Command::new("terraform");
            c.current_dir(tf.path())
                .args(args)
                .env("CHECKPOINT_DISABLE", "1")
                .env("TF_IN_AUTOMATION", "1");
            c
        };
        measure(&mut tf_cmd(&["init", "-input=false", "-no-color"]));
        let check = tf_cmd(&[
            "plan",
            "-refresh=false",
            "-detailed-exitcode",
            "-no-color",
            "-input=false",
        ])
        .output()
        .expect("terraform plan");
        assert_eq!(
            check.status.code(),
            Some(0),
            "terraform plan: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        let runs: Vec<_> = (0..3)
            .map(|_| {
                measure(&mut tf_cmd(&[
                    "plan",
                    "-refresh=false",
                    "-no-color",
                    "-input=false",
                ]))
            })
            .collect();
        let (tf_time, tf_mem) = median(runs);
        println!(
            "terraform plan -refresh=false, {n:>6} terraform_data:    {:>8.3} s, peak {:>6.1} MB   (inferform is {:.1}x faster, {:.1}x less memory)",
            tf_time.as_secs_f64(),
            tf_mem,
            tf_time.as_secs_f64() / time.as_secs_f64(),
            tf_mem / mem
        );
    }
}

fn apply_bench(stacks: usize, ready_ms: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = String::from("provider \"fabric\" {\n  region                  = \"cn-north-4\"\n  max_requests_per_second = 2000\n}\n\n");
    for i in 0..stacks {
        config.push_str(&format!(
            r#"resource "fabric_workspace" "w{i}" {{
  name = "ws-{i}"
}}

resource "fabric_endpoint" "e{i}" {{
  workspace_id = fabric_workspace.w{i}.id
  name         = "ep-{i}"
  type         = "inference"
  reserved_resource {{
    mu {{
      spec_code = "mu.llama3.8b"
      min       = 0
      max       = 1
    }}
  }}
}}

resource "fabric_model" "m{i}" {{
  workspace_id = fabric_workspace.w{i}.id
  name         = "model-{i}"
  type         = "LLM_MODEL"
}}

resource "fabric_service_instance" "s{i}" {{
  workspace_id = fabric_workspace.w{i}.id
  name         = "svc-{i}"
  endpoint_id  = fabric_endpoint.e{i}.id
  source {{
    id = fabric_model.m{i}.id
  }}
}}

"#
        ));
    }
    std::fs::write(dir.path().join("main.hcl"), config).expect("write config");
    let cloud = serde_json::json!({"timings": {"endpoint_create_ms": ready_ms, "instance_create_ms": ready_ms}});
    std::fs::write(dir.path().join("cloud.json"), cloud.to_string()).expect("write cloud config");
    let mut child = inferform(dir.path(), &["apply", "--local-cloud", "--auto-approve"])
        .env(
            "INFERFORM_LOCAL_CLOUD_CONFIG",
            dir.path().join("cloud.json"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("apply");
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line = line.expect("line");
        if first.is_none() && line.contains(": Creating...") {
            first = Some(Instant::now());
        }
        if line.contains("Apply complete!") {
            last = Some(Instant::now());
        }
    }
    assert!(child.wait().expect("wait").success(), "apply failed");
    let makespan = last
        .expect("apply completed")
        .duration_since(first.expect("apply started"));
    let bound = Duration::from_millis(2 * ready_ms);
    println!(
        "apply of {stacks} Fabric stacks ({} resources), {ready_ms} ms to RUNNING: makespan {:.2} s, critical path {:.2} s, ratio {:.3}",
        stacks * 4,
        makespan.as_secs_f64(),
        bound.as_secs_f64(),
        makespan.as_secs_f64() / bound.as_secs_f64()
    );
}

/// The encryption block the encrypted runs use: OpenTofu's (and inferform's) defaults.
const ENCRYPTION: &str = r#"
inferform {
  encryption {
    key_provider "pbkdf2" "bench" {
      passphrase = "a benchmark passphrase, long enough"
    }
    method "aes_gcm" "bench" {
      keys = key_provider.pbkdf2.bench
    }
    state {
      method = method.aes_gcm.bench
    }
  }
}
"#;

/// The same with a key from an external provider: `{dir}` is the working directory.
const EXTERNAL: &str = r#"
inferform {
  encryption {
    key_provider "external" "bench" {
      command = ["{dir}/key.sh"]
    }
    method "aes_gcm" "bench" {
      keys = key_provider.external.bench
    }
    state {
      method = method.aes_gcm.bench
    }
  }
}
"#;

/// An external key provider that hands over a fixed 32-byte key.
const KEY_SCRIPT: &str = "#!/bin/sh\ncat >/dev/null\necho '{\"magic\":\"OpenTofu-External-Key-Provider\",\"version\":1}'\necho '{\"keys\":{\"encryption_key\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\",\"decryption_key\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"},\"meta\":{\"external_data\":{}}}'\n";

#[derive(Clone, Copy, PartialEq)]
enum Keys {
    Clear,
    External,
    Pbkdf2,
}

/// (apply, plan, state list) for n resources: medians of 3, each apply in a fresh directory.
fn encryption_runs(n: usize, keys: Keys) -> (Duration, Duration, Duration) {
    let mut applies = Vec::new();
    let mut plans = Vec::new();
    let mut lists = Vec::new();
    for _ in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = String::with_capacity(n * 90);
        for i in 0..n {
            config.push_str(&format!(
                "resource \"inferform_data\" \"r{i}\" {{\n  input = {{ index = {i}, name = \"item-{i}\" }}\n}}\n\n"
            ));
        }
        match keys {
            Keys::Clear => {}
            Keys::Pbkdf2 => config.push_str(ENCRYPTION),
            Keys::External => {
                use std::os::unix::fs::PermissionsExt as _;
                let script = dir.path().join("key.sh");
                std::fs::write(&script, KEY_SCRIPT).expect("write key script");
                std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700))
                    .expect("chmod key script");
                config.push_str(&EXTERNAL.replace("{dir}", &dir.path().display().to_string()));
            }
        }
        std::fs::write(dir.path().join("main.hcl"), &config).expect("write config");
        applies.push(measure(&mut inferform(
            dir.path(),
            &["apply", "--auto-approve", "--parallelism", "64"],
        )));
        plans.push(measure(&mut inferform(dir.path(), &["plan"])));
        // Reading state alone: the KDF and the decryption, without the plan around them.
        lists.push(measure(&mut inferform(dir.path(), &["state", "list"])));
    }
    (median(applies).0, median(plans).0, median(lists).0)
}

fn encryption_bench(n: usize) {
    let clear = encryption_runs(n, Keys::Clear);
    let ratio = |e: Duration, c: Duration| e.as_secs_f64() / c.as_secs_f64();
    println!(
        "encryption, {n} resources, clear: apply {:.2} s, plan {:.2} s, state list {:.2} s",
        clear.0.as_secs_f64(),
        clear.1.as_secs_f64(),
        clear.2.as_secs_f64()
    );
    for (keys, name) in [
        (Keys::External, "external key"),
        (Keys::Pbkdf2, "pbkdf2 key, 600,000 iterations"),
    ] {
        let (apply, plan, list) = encryption_runs(n, keys);
        println!(
            "encryption, {n} resources, {name}: apply {:.2} s ({:.3}x), plan {:.2} s ({:.3}x), \
             plan+apply {:.3}x, state list {:.2} s (+{:.2} s)",
            apply.as_secs_f64(),
            ratio(apply, clear.0),
            plan.as_secs_f64(),
            ratio(plan, clear.1),
            ratio(apply + plan, clear.0 + clear.1),
            list.as_secs_f64(),
            list.as_secs_f64() - clear.2.as_secs_f64(),
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run only on bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sizes: Vec<usize> = std::env::var("INFERFORM_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000]);
    let with_terraform = std::env::var("INFERFORM_BENCH_TERRAFORM").map_or(true, |v| v != "0")
        && Command::new("terraform")
            .arg("version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    let encryption_n: usize = std::env::var("INFERFORM_BENCH_ENCRYPTION")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(5_000);
    if encryption_n > 0 {
        encryption_bench(encryption_n);
    }
    for n in sizes {
        plan_bench(n, with_terraform);
    }
    apply_bench(100, 2000);
}
