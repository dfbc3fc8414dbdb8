//! The configuration-language corpus through the real binary, exactly as a user meets it.
//!
//! Every directory under `crates/inferform-lang/tests/corpus/invalid/` is one broken
//! configuration: its `*.hcl` files (var files included) and subdirectories (the modules it
//! calls, such as `modules/app/`) are copied to a temporary directory,
//! `inferform validate` runs there (or the arguments its `args` file names, such as
//! `plan --refresh=false`), and the exit code, stdout and stderr are snapshotted. Each
//! diagnostic must point at a file, line and column and carry a help line.
//!
//! Every directory under `corpus/valid/` must plan cleanly with `plan --refresh=false` (the
//! built-in `inferform_data` needs no cloud); the plan text is snapshotted.
//!
//! Snapshots live in `corpus/snapshots/`. After a deliberate change, review the new text with
//! `INSTA_UPDATE=always cargo test -p inferform --test diagnostics` and `git diff`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_inferform");

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../inferform-lang/tests/corpus")
}

/// The fixture directories of one kind, sorted by name.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(corpus().join(kind))
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Copies a directory and everything under it, such as a fixture's `modules/`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create fixture subdirectory");
    for entry in std::fs::read_dir(from).expect("fixture subdirectory") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy fixture file");
        }
    }
}

/// Copies a fixture's files (and subdirectories, such as its modules) to a fresh directory
/// and runs the binary there.
fn run_fixture(fixture: &Path, default_args: &str) -> Run {
    let work = tempfile::tempdir().expect("temp dir");
    let mut args = default_args.to_string();
    for entry in std::fs::read_dir(fixture).expect("fixture") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        if name == "args" {
            args = std::fs::read_to_string(&path)
                .expect("args")
                .trim()
                .to_string();
        } else if path.is_dir() {
            copy_dir(&path, &work.path().join(&name));
        } else {
            std::fs::copy(&path, work.path().join(&name)).expect("copy fixture file");
        }
    }
    let output = Command::new(BIN)
        .args(args.split_whitespace())
        .current_dir(work.path())
        .env_clear()
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run inferform");
    // Paths in messages (canonical or not) become [TMP].
    let tmp = work.path().to_string_lossy().to_string();
    let canonical = std::fs::canonicalize(work.path())
        .map(|p| p.to_string_lossy().to_string())
        .unwrap_or_else(|_| tmp.clone());
    let clean = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .replace(&canonical, "[TMP]")
            .replace(&tmp, "[TMP]")
    };
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: clean(&output.stdout),
        stderr: clean(&output.stderr),
    }
}

/// Checks one snapshot without stopping at the first mismatch, so a run reports them all.
fn check_snapshot(name: &str, text: &str, failures: &mut Vec<String>) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(corpus().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name.to_string(), text));
    }));
    if result.is_err() {
        failures.push(format!("{name}: the snapshot differs"));
    }
}

/// The location header of every rendered diagnostic (`╭─[file:line:column]`) and its help.
fn check_rendering(name: &str, stderr: &str, failures: &mut Vec<String>) {
    // A report starts at its code line (`inferform::...`) and runs to the next one.
    let mut current = String::new();
    let mut all = Vec::new();
    for line in stderr.lines() {
        if line.trim_start().starts_with("inferform::") && !current.is_empty() {
            all.push(std::mem::take(&mut current));
        }
        current.push_str(line);
        current.push('\n');
    }
    all.push(current);
    all.retain(|r| r.contains('×') || r.contains('⚠'));
    if all.is_empty() {
        failures.push(format!("{name}: no diagnostic on stderr"));
    }
    for report in &all {
        let header = report.lines().find(|l| l.contains("╭─["));
        let located = header.is_some_and(|h| {
            let inner = h.split("╭─[").nth(1).unwrap_or("");
            let parts: Vec<&str> = inner.trim_end_matches(']').rsplitn(3, ':').collect();
            parts.len() == 3
                && parts[0].parse::<usize>().is_ok()
                && parts[1].parse::<usize>().is_ok()
        });
        if !located {
            failures.push(format!(
                "{name}: a diagnostic has no file:line:column\n{report}"
            ));
        }
        if !report.contains("help:") {
            failures.push(format!("{name}: a diagnostic has no help line\n{report}"));
        }
    }
}

#[test]
fn invalid_configurations_are_reported_with_location_and_help() {
    let mut failures = Vec::new();
    let all = fixtures("invalid");
    assert!(
        all.len() >= 45,
        "the corpus holds {} invalid fixtures",
        all.len()
    );
    for fixture in &all {
        let name = fixture
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let run = run_fixture(fixture, "validate");
        if run.code == 0 {
            failures.push(format!("{name}: exit code 0 for an invalid configuration"));
        }
        if run.stderr.contains("panicked") {
            failures.push(format!("{name}: the binary panicked\n{}", run.stderr));
        }
        check_rendering(&name, &run.stderr, &mut failures);
        let text = format!(
            "exit code: {}\n--- stdout\n{}--- stderr\n{}",
            run.code, run.stdout, run.stderr
        );
        check_snapshot(&format!("invalid__{name}"), &text, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_configurations_plan_cleanly() {
    let mut failures = Vec::new();
    let all = fixtures("valid");
    assert!(!all.is_empty(), "no valid fixtures");
    for fixture in &all {
        let name = fixture
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let run = run_fixture(fixture, "plan --refresh=false");
        if run.code != 0 || !run.stderr.is_empty() {
            failures.push(format!(
                "{name}: exit code {}, stderr:\n{}",
                run.code, run.stderr
            ));
            continue;
        }
        let text = format!("exit code: {}\n{}", run.code, run.stdout);
        check_snapshot(&format!("valid__{name}"), &text, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
