//! State backend benchmark, through the release binary: plan and apply of N `inferform_data`
//! resources (N = 1,000 and 5,000; `INFERFORM_BENCH_SIZES=1000,5000`) with state in the local
//! sled store and in the pg backend, in one run so the ratios compare like with like.
//!
//! - apply: the first apply of N resources (every write a transaction that bumps the serial;
//!   concurrent writes share one commit). Goal: time per resource flat from 1,000 to 5,000.
//! - plan: `plan` with N resources in state and nothing to do (median of 3). Goal: pg within
//!   1.5× of local.
//!
//! PostgreSQL comes from `INFERFORM_TEST_PG` (default: the test database `.ci/run` creates).
//! Run: `cargo bench -p inferform --bench state`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_inferform");

fn inferform(dir: &Path, pg: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("INFERFORM_LOCAL_CLOUD")
        .env_remove("INFERFORM_WORKSPACE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match pg {
        Some(url) => cmd.env("PG_CONN_STR", url),
        None => cmd.env_remove("PG_CONN_STR"),
    };
    cmd
}

fn timed(mut cmd: Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("run inferform");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "inferform failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// (apply, median plan) for N resources on one backend.
fn bench(n: usize, pg: Option<(&str, &str)>) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = String::with_capacity(n * 90);
    for i in 0..n {
        config.push_str(&format!(
            "resource \"inferform_data\" \"r{i}\" {{\n  input = {{ index = {i}, name = \"item-{i}\" }}\n}}\n\n"
        ));
    }
    if let Some((_, schema)) = pg {
        config.push_str(&format!(
            "inferform {{\n  backend \"pg\" {{\n    schema_name = \"{schema}\"\n  }}\n}}\n"
        ));
    }
    std::fs::write(dir.path().join("main.hcl"), &config).expect("write config");
    let url = pg.map(|(u, _)| u);
    if pg.is_some() {
        timed(inferform(dir.path(), url, &["init"]));
    }
    let apply = timed(inferform(
        dir.path(),
        url,
        &["apply", "--auto-approve", "--parallelism", "64"],
    ));
    let mut plans: Vec<Duration> = (0..3)
        .map(|_| timed(inferform(dir.path(), url, &["plan"])))
        .collect();
    plans.sort();
    (apply, plans[1])
}

fn main() {
    let sizes: Vec<usize> = std::env::var("INFERFORM_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1000, 5000]);
    let Some(url) = inferform_state::pg::test_url() else {
        eprintln!("the state benchmark needs PostgreSQL: set INFERFORM_TEST_PG");
        return;
    };
    println!("backend  resources    apply  per resource     plan");
    let mut first_apply: Option<(usize, f64, f64)> = None;
    for &n in &sizes {
        let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let (local_apply, local_plan) = bench(n, None);
        let (pg_apply, pg_plan) = bench(n, Some((&url, &schema)));
        inferform_state::pg::drop_schema(&url, &schema);
        for (name, apply, plan) in [
            ("local", local_apply, local_plan),
            ("pg", pg_apply, pg_plan),
        ] {
            println!(
                "{name:<7}  {n:>9}  {:>6.2} s  {:>9.3} ms  {:>6.3} s",
                apply.as_secs_f64(),
                apply.as_secs_f64() * 1000.0 / n as f64,
                plan.as_secs_f64()
            );
        }
        println!(
            "         pg/local: apply {:.2}x, plan {:.2}x (goal for plan: <= 1.5x)",
            pg_apply.as_secs_f64() / local_apply.as_secs_f64(),
            pg_plan.as_secs_f64() / local_plan.as_secs_f64()
        );
        match first_apply {
            None => {
                first_apply = Some((n, local_apply.as_secs_f64(), pg_apply.as_secs_f64()))
            }
            Some((n0, local0, pg0)) => println!(
                "         {n} vs {n0} resources ({:.1}x as many): apply took {:.2}x (local), {:.2}x (pg); linear is {:.1}x",
                n as f64 / n0 as f64,
                local_apply.as_secs_f64() / local0,
                pg_apply.as_secs_f64() / pg0,
                n as f64 / n0 as f64
            ),
        }
    }
}
