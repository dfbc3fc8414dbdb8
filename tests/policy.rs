//! Plans that policy tools really read: checkov (`--framework terraform_plan`), as CI would
//! run it on `show --json`, with a custom policy on a `fabric_endpoint` attribute
//! (`tests/policy/`): a plan that violates it fails, a good one passes.
//!
//! checkov comes from PyPI (`.ci/run` installs it and sets `INFERFORM_CHECKOV`); it runs with
//! `--skip-download`, so it needs no network. Where it is absent the test says so and passes.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::Work;

/// checkov: `INFERFORM_CHECKOV`, else `checkov` on PATH.
fn checkov() -> Option<PathBuf> {
    let candidate = std::env::var_os("INFERFORM_CHECKOV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("checkov"));
    let found = Command::new(&candidate)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "notice: checkov is not installed (pip install checkov, or set INFERFORM_CHECKOV): the policy check was not run"
        );
    }
    found.then_some(candidate)
}

/// Plans the working directory, writes `show --json` of the plan, and runs the policy on it:
/// checkov's exit code and what it printed.
fn check(checkov: &Path, work: &Work) -> (i32, String) {
    let out = work.run(&["plan", "--local-cloud", "--out", "p.plan"]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = work.run(&["show", "--json", "p.plan"]);
    assert_eq!(json.code, 0, "{json:?}");
    std::fs::write(work.path().join("plan.json"), &json.stdout).expect("write the plan");
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/policy");
    let out = Command::new(checkov)
        .current_dir(work.path())
        .args(["-f", "plan.json", "--framework", "terraform_plan"])
        .arg("--external-checks-dir")
        .arg(&policies)
        .args([
            "--check",
            "CKV2_INFERFORM_1",
            "--skip-download",
            "--compact",
            "--quiet",
        ])
        .args(["-o", "cli"])
        .output()
        .expect("run checkov");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn checkov_reads_our_plans_a_violation_fails_and_a_good_plan_passes() {
    let Some(checkov) = checkov() else {
        return;
    };
    // The quickstart reserves at most 1 MU: the policy passes.
    let good = Work::quickstart();
    let (code, text) = check(&checkov, &good);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Passed checks: 1, Failed checks: 0"),
        "{text}"
    );

    // 4 MU: the policy fails, naming the endpoint.
    let bad = Work::quickstart();
    let main = std::fs::read_to_string(bad.path().join("main.hcl")).expect("read");
    bad.write("main.hcl", &main.replace("max       = 1", "max       = 4"));
    let (code, text) = check(&checkov, &bad);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("Passed checks: 0, Failed checks: 1"),
        "{text}"
    );
    assert!(
        text.contains("FAILED for resource: fabric_endpoint.chat"),
        "{text}"
    );
}
