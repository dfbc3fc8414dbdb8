//! `inferform fmt` through the real binary: which files it finds, what it writes, what it
//! prints and how it exits. Each test works in its own temporary directory.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_inferform");

const MESSY: &str =
    "resource \"inferform_data\" \"a\" {\ninput=1\n  triggers_replace = [1,2]   # why\n}\n";
const TIDY: &str = "resource \"inferform_data\" \"a\" {\n  input            = 1\n  triggers_replace = [1, 2] # why\n}\n";
const MESSY_VARS: &str = "env=\"dev\"\nreplicas = 3\n";
const TIDY_VARS: &str = "env      = \"dev\"\nreplicas = 3\n";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Out {
    let output = Command::new(BIN)
        .arg("-C")
        .arg(dir)
        .arg("fmt")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run inferform");
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A working directory: messy and tidy files at the top, a messy module below, and messy
/// files in places fmt must leave alone.
fn work() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = [
        ("main.hcl", MESSY),
        ("tidy.hcl", TIDY),
        ("dev.vars.hcl", MESSY_VARS),
        ("notes.txt", "a=1\n"),
        ("modules/db/main.hcl", MESSY),
        (".inferform/cache.hcl", MESSY),
        (".hidden/x.hcl", MESSY),
    ];
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).expect("read")
}

#[test]
fn check_lists_unformatted_files_and_exits_3_without_writing() {
    let dir = work();
    let out = run(dir.path(), &["--check"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(out.stdout, "dev.vars.hcl\nmain.hcl\n");
    assert_eq!(out.stderr, "");
    assert_eq!(read(dir.path(), "main.hcl"), MESSY);
    assert_eq!(read(dir.path(), "dev.vars.hcl"), MESSY_VARS);
}

#[test]
fn check_passes_on_formatted_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("main.hcl"), TIDY).expect("write");
    let out = run(dir.path(), &["--check"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

/// Copies the `*.hcl` files under `from` (hidden directories left out) into `to`.
fn copy_hcl(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read examples") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            std::fs::create_dir_all(to.join(&name)).expect("mkdir");
            copy_hcl(&path, &to.join(&name));
        } else if path.extension().is_some_and(|e| e == "hcl") {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

#[test]
fn check_passes_on_the_shipped_examples() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_hcl(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples"),
        dir.path(),
    );
    let out = run(dir.path(), &["--check", "--recursive"]);
    assert_eq!(
        out.code, 0,
        "examples need formatting:\n{}{}",
        out.stdout, out.stderr
    );
    assert!(
        dir.path().join("quickstart/main.hcl").exists(),
        "the examples went missing"
    );
}

#[test]
fn diff_prints_a_unified_diff() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("main.hcl"), MESSY).expect("write");
    let out = run(dir.path(), &["--check", "--diff"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r#"
    main.hcl
    --- old/main.hcl
    +++ new/main.hcl
    @@ -1,4 +1,4 @@
     resource "inferform_data" "a" {
    -input=1
    -  triggers_replace = [1,2]   # why
    +  input            = 1
    +  triggers_replace = [1, 2] # why
     }
    "#);
    assert_eq!(
        read(dir.path(), "main.hcl"),
        MESSY,
        "--check must not write"
    );
}

#[test]
fn rewrites_in_place_and_lists_what_changed() {
    let dir = work();
    let out = run(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "dev.vars.hcl\nmain.hcl\n");
    assert_eq!(read(dir.path(), "main.hcl"), TIDY);
    assert_eq!(read(dir.path(), "dev.vars.hcl"), TIDY_VARS);
    assert_eq!(read(dir.path(), "tidy.hcl"), TIDY);
    assert_eq!(read(dir.path(), "notes.txt"), "a=1\n");
    assert_eq!(
        read(dir.path(), "modules/db/main.hcl"),
        MESSY,
        "not recursive by default"
    );

    let again = run(dir.path(), &[]);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "a second run changes nothing"
    );
}

#[test]
fn diff_without_check_also_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("main.hcl"), MESSY).expect("write");
    let out = run(dir.path(), &["--diff"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("main.hcl\n--- old/main.hcl\n"),
        "{}",
        out.stdout
    );
    assert_eq!(read(dir.path(), "main.hcl"), TIDY);
}

#[test]
fn recursive_descends_but_skips_hidden_directories() {
    let dir = work();
    let out = run(dir.path(), &["--recursive"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "dev.vars.hcl\nmain.hcl\nmodules/db/main.hcl\n");
    assert_eq!(read(dir.path(), "modules/db/main.hcl"), TIDY);
    assert_eq!(read(dir.path(), ".inferform/cache.hcl"), MESSY);
    assert_eq!(read(dir.path(), ".hidden/x.hcl"), MESSY);
}

#[test]
fn explicit_paths_format_just_those() {
    let dir = work();
    let out = run(dir.path(), &["modules/db/main.hcl", "dev.vars.hcl"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "modules/db/main.hcl\ndev.vars.hcl\n");
    assert_eq!(read(dir.path(), "modules/db/main.hcl"), TIDY);
    assert_eq!(read(dir.path(), "main.hcl"), MESSY);

    let out = run(dir.path(), &["--check", "modules"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

#[test]
fn a_file_that_does_not_parse_is_reported_and_the_rest_formatted() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a_broken.hcl"), "locals {\n  x = \n}\n").expect("write");
    std::fs::write(dir.path().join("b.hcl"), MESSY).expect("write");
    let out = run(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "b.hcl\n");
    assert!(out.stderr.contains("syntax error"), "{}", out.stderr);
    // -C changes directory, so names are relative to it; the line and column are given.
    assert!(out.stderr.contains("a_broken.hcl:2:"), "{}", out.stderr);
    assert_eq!(read(dir.path(), "a_broken.hcl"), "locals {\n  x = \n}\n");
    assert_eq!(read(dir.path(), "b.hcl"), TIDY);

    let check = run(dir.path(), &["--check"]);
    assert_eq!(check.code, 1, "an error outranks unformatted files");
}

#[test]
fn bad_paths_are_errors() {
    let dir = work();
    let out = run(dir.path(), &["missing.hcl", "notes.txt", "main.hcl"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no file or directory at"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("notes.txt is not an .hcl file"),
        "{}",
        out.stderr
    );
    assert_eq!(
        read(dir.path(), "main.hcl"),
        TIDY,
        "the good path is still formatted"
    );
}

#[test]
fn a_file_that_is_not_utf8_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bin.hcl"), [0xff, 0xfe, b'a', b'=']).expect("write");
    let out = run(dir.path(), &["--check"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}
