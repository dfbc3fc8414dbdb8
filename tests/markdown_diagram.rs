//! The change diagram of `show --markdown`, parsed by Mermaid's own parser (the one GitHub
//! renders comments with), for real plans: creates across modules (addresses with quoted
//! keys), and replacements that drag dependents along.
//!
//! The parser is the `mermaid` npm package under jsdom, in `tests/mermaid/` (`.ci/run` runs
//! `npm ci` there). Where node or the package is absent the parse is skipped with a notice;
//! everything else is still checked.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use support::Work;

/// The ```mermaid blocks of a report.
fn diagrams(md: &str) -> Vec<String> {
    md.split("```mermaid\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default().to_string())
        .collect()
}

/// Parses `diagrams` with Mermaid; `false` (after a notice) when the parser is not installed.
fn mermaid_accepts(diagrams: &[String]) -> bool {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mermaid");
    if !dir.join("node_modules/mermaid").exists() {
        eprintln!(
            "notice: Mermaid's parser is not installed (npm ci --prefix tests/mermaid): the diagrams were not parsed"
        );
        return false;
    }
    let mut child = match Command::new("node")
        .arg(dir.join("check.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("notice: node cannot be started ({e}): the diagrams were not parsed");
            return false;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(diagrams.join("\n=====\n").as_bytes())
        .expect("write the diagrams");
    let out = child.wait_with_output().expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Mermaid refused a diagram:\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        diagrams.join("\n=====\n")
    );
    assert_eq!(
        stdout.matches("ok flowchart").count(),
        diagrams.len(),
        "{stdout}"
    );
    true
}

fn markdown(work: &Work, plan_args: &[&str]) -> String {
    let mut args = vec!["plan", "--local-cloud", "--out", "p.plan"];
    args.extend_from_slice(plan_args);
    let out = work.run(&args);
    assert!(out.code == 0 || out.code == 2, "{out:?}");
    let md = work.run(&["show", "--markdown", "p.plan"]);
    assert_eq!(md.code, 0, "{md:?}");
    assert!(md.stdout.len() <= 65_536);
    md.stdout
}

#[test]
fn diagrams_of_real_plans_are_valid_mermaid() {
    // Creates across module instances: addresses with quoted for_each keys.
    let envs = Work::example("environments");
    let create = markdown(&envs, &[]);
    let found = diagrams(&create);
    assert_eq!(found.len(), 1, "{create}");
    assert!(found[0].contains("module.env[#quot;"), "{}", found[0]);
    assert!(found[0].contains(" --> "), "{}", found[0]);

    // A replacement: the endpoint, and what depends on it, with the unchanged workspace.
    let quick = Work::quickstart();
    let out = quick.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out:?}");
    let replace = markdown(&quick, &["--replace", "fabric_endpoint.chat"]);
    let replaced = diagrams(&replace);
    assert_eq!(replaced.len(), 1, "{replace}");
    assert!(
        replaced[0].contains("[\"-/+ fabric_endpoint.chat\"]:::replace"),
        "{}",
        replaced[0]
    );
    assert!(
        replaced[0].contains("[\"fabric_workspace.main\"]:::unchanged"),
        "{}",
        replaced[0]
    );
    let destroy = markdown(&quick, &["--destroy"]);
    let destroyed = diagrams(&destroy);
    assert!(destroyed[0].contains(":::delete"), "{}", destroyed[0]);

    let all: Vec<String> = [found, replaced, destroyed].concat();
    mermaid_accepts(&all);
}
