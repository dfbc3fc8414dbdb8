//! `inferform console` through the binary, and the language against Terraform: every case in
//! `tests/console/` (a configuration and expressions) must give the values Terraform 1.11 gave
//! for it (stored by `tests/console/answers.sh`), or fail where Terraform failed.

mod support;

use std::io::Write;
use std::process::Stdio;

use serde_json::Value as Json;
use support::Work;

/// Runs `inferform console` on `work` with `input`: (exit code, stdout, stderr).
fn console(work: &Work, input: &str) -> (i32, String, String) {
    let mut child = work
        .command(&["console"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start console");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("console");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Numbers compared by value (`1` and `1.0` are one), whole ones digit by digit so that a
/// lost digit shows.
fn normal(j: &Json) -> Json {
    match j {
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Json::String(i.to_string()),
            (_, Some(u), _) => Json::String(u.to_string()),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e30 => {
                Json::String(format!("{f:.0}"))
            }
            (_, _, f) => serde_json::json!(f),
        },
        Json::Array(items) => Json::Array(items.iter().map(normal).collect()),
        Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), normal(v))).collect()),
        other => other.clone(),
    }
}

#[test]
fn every_case_gives_terraforms_answers() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/console");
    let mut cases: Vec<_> = std::fs::read_dir(root)
        .expect("cases")
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    cases.sort_by_key(|e| e.file_name());
    let (mut checked, mut misses) = (0, Vec::new());
    for case in cases {
        let dir = case.path();
        let name = case.file_name().to_string_lossy().into_owned();
        let config = std::fs::read_to_string(dir.join("main.hcl")).expect("main.hcl");
        let answers: Json = serde_json::from_str(
            &std::fs::read_to_string(dir.join("terraform.json")).expect("terraform.json"),
        )
        .expect("answers");
        let work = Work::new(&[("main.hcl", &config)]);
        let list = std::fs::read_to_string(dir.join("expressions.txt")).expect("expressions");
        for expr in list
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let want = &answers[expr];
            assert!(!want.is_null(), "{name}: no stored answer for {expr}");
            checked += 1;
            let (code, stdout, stderr) = console(&work, &format!("jsonencode({expr})\n"));
            let got = (code == 0)
                .then(|| serde_json::from_str::<String>(stdout.trim()).ok())
                .flatten()
                .and_then(|text| serde_json::from_str::<Json>(&text).ok());
            match (got, want.get("json")) {
                (Some(got), Some(json)) if normal(&got) == normal(json) => {}
                (None, None) => {}
                (got, _) => misses.push(format!(
                    "{name}: {expr}\n    terraform: {want}\n    inferform: {got:?} {stderr}"
                )),
            }
        }
    }
    assert!(checked > 0);
    assert!(
        misses.is_empty(),
        "{} of {checked} differ from Terraform:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

#[test]
fn console_reads_state_and_prints_as_terraform_does() {
    let work = Work::quickstart();
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let (code, stdout, stderr) = console(
        &work,
        "length(fabric_workspace.main.id) > 0\n{a = 1, b = [true]}\n\"two\\nlines\"\n\
         toset([\"b\", \"a\", \"b\"])\ntoset([])\n",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "true\n{\n  \"a\" = 1\n  \"b\" = [\n    true,\n  ]\n}\n<<EOT\ntwo\nlines\nEOT\n\
         toset([\n  \"a\",\n  \"b\",\n])\ntoset([])\n"
    );
    // Reading a script, the first mistake ends the run with its diagnostic.
    let (code, stdout, stderr) = console(&work, "local.nosuch\n1 + 1\n");
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(stderr.contains("nosuch"), "{stderr}");
}

/// `output --json` gives each output's type beside its value, as Terraform writes it.
#[test]
fn output_json_gives_each_type() {
    let hcl = r#"
output "s" {
  value = "x"
}

output "l" {
  value = [1, "a"]
}

output "o" {
  value = { a = 1, b = [true] }
}

output "secret" {
  value     = { k = "v" }
  sensitive = true
}
"#;
    let work = Work::new(&[("main.hcl", hcl)]);
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let out: Json = serde_json::from_str(&work.run(&["output", "--json"]).stdout).expect("JSON");
    assert_eq!(out["s"]["type"], serde_json::json!("string"));
    assert_eq!(
        out["l"]["type"],
        serde_json::json!(["tuple", ["number", "string"]])
    );
    assert_eq!(
        out["o"]["type"],
        serde_json::json!(["object", {"a": "number", "b": ["tuple", ["bool"]]}])
    );
    // A sensitive collection's type would show its keys.
    assert_eq!(out["secret"]["type"], serde_json::json!("dynamic"));
}

/// Where there is no configuration, the console still evaluates, as Terraform's does, and
/// leaves nothing behind; `plan` there still says there is nothing to plan.
#[test]
fn console_works_in_a_directory_with_no_configuration() {
    let work = Work::new(&[]);
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(work.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    let (code, stdout, stderr) = console(&work, "upper(\"ok\")\ntoset([\"b\", \"a\"])\n");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "\"OK\"\ntoset([\n  \"a\",\n  \"b\",\n])\n");
    assert_eq!(listing(), before, "the console made nothing");
    let (code, _, stderr) = console(&work, "var.x\n");
    assert_eq!(code, 1);
    assert!(stderr.contains("undeclared"), "{stderr}");
    let plan = work.run(&["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(plan.stderr.contains("no configuration files"), "{plan:?}");
}
