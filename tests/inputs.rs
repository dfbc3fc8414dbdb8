//! Bad input, through the real binary: a local state left damaged by a full disk, expressions
//! and chains deep enough to overflow a stack, a line of 50 MB, tampered `state push`
//! documents, and a module input that fails its validation. Each must give a clear error (or
//! recover), never a crash or a flood of text, and a failed command must change no state.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::*;

const ONE_RESOURCE: &str = r#"
resource "inferform_data" "x" {
  input = "a"
}
"#;

/// Every file of a local state directory, by name, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("state directory") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            out.insert(
                entry.file_name().to_string_lossy().to_string(),
                std::fs::read(entry.path()).expect("read state file"),
            );
        }
    }
    out
}

fn state_dir(work: &Work) -> std::path::PathBuf {
    work.path().join(".inferform/state")
}

/// Checks that no error text is raw library text.
fn assert_no_raw_text(out: &Out) {
    for raw in ["backtrace", "offset None", "panicked", "overflowed"] {
        assert!(!out.stderr.contains(raw), "raw text {raw:?}: {out:?}");
    }
}

#[test]
fn a_torn_snapshot_left_by_a_full_disk_is_recovered() {
    let work = Work::new(&[("main.hcl", ONE_RESOURCE)]);
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    // What sled leaves when the disk fills while it writes a snapshot at open: an empty file
    // that it would read, at every later open, as the newest snapshot.
    let torn = state_dir(&work).join("snap.00000000FFFFFFFF.generating");
    std::fs::write(&torn, b"").expect("write torn snapshot");

    let list = work.run(&["state", "list"]);
    assert_eq!(list.code, 0, "{list:?}");
    assert_eq!(list.stdout.trim(), "inferform_data.x", "{list:?}");
    assert!(!torn.exists(), "the torn snapshot is removed");
    let plan = work.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "the state is whole: {plan:?}");

    // A snapshot cut midway (not only an empty one) is recovered the same way.
    std::fs::write(&torn, vec![7u8; 300]).expect("write torn snapshot");
    let list = work.run(&["state", "list"]);
    assert_eq!(list.code, 0, "{list:?}");
    assert_eq!(list.stdout.trim(), "inferform_data.x", "{list:?}");
}

#[test]
fn a_damaged_state_is_refused_with_advice_and_left_as_it_was() {
    let work = Work::new(&[("main.hcl", ONE_RESOURCE)]);
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    // A finished snapshot (not a `.generating` one) that fails its checksum: real damage.
    std::fs::write(
        state_dir(&work).join("snap.FFFFFFFFFFFFFFF0"),
        b"this is not a snapshot at all",
    )
    .expect("write damaged snapshot");
    let before = files(&state_dir(&work));

    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["state", "list"],
    ] {
        let out = work.run(args);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("is damaged and cannot be read"),
            "{args:?}: {out:?}"
        );
        assert!(
            out.stderr.contains("inferform changed nothing")
                && out.stderr.contains("free some space")
                && out.stderr.contains("state push"),
            "says what to do: {out:?}"
        );
        assert_no_raw_text(&out);
        assert_eq!(
            files(&state_dir(&work)),
            before,
            "{args:?} changed the damaged state"
        );
    }
}

#[test]
fn a_database_that_lost_its_records_is_not_started_afresh() {
    let work = Work::new(&[("main.hcl", ONE_RESOURCE)]);
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    // The log overwritten by something that is not sled's: sled reads it as an empty
    // database. Starting a new lineage there would plan to create everything again.
    let db = state_dir(&work).join("db");
    let len = std::fs::metadata(&db).expect("db").len() as usize;
    std::fs::write(&db, vec![0x5a; len.max(64)]).expect("overwrite db");

    let plan = work.run(&["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr.contains("is damaged and cannot be read") && plan.stderr.contains("no lineage"),
        "{plan:?}"
    );
    assert!(!plan.stdout.contains("will be created"), "{plan:?}");
    assert_no_raw_text(&plan);
}

/// `n` locals, each one more than the last, and an output reading the last.
fn chain(n: usize) -> String {
    let mut text = String::from("locals {\n  a0 = 1\n");
    for i in 1..n {
        text.push_str(&format!("  a{i} = local.a{} + 1\n", i - 1));
    }
    text.push_str(&format!(
        "}}\n\noutput \"last\" {{\n  value = local.a{}\n}}\n",
        n - 1
    ));
    text
}

#[test]
fn a_chain_of_six_thousand_locals_is_a_diagnostic_not_a_crash() {
    let mut text = chain(6000);
    // A `count` reading the chain would add an error of its own ("known only after apply")
    // that is only a consequence: it is not shown.
    text.push_str(
        "\nresource \"inferform_data\" \"x\" {\n  count = local.a5999 > 0 ? 1 : 0\n  input = local.a5999\n}\n",
    );
    let work = Work::new(&[("main.hcl", &text)]);
    let plan = work.run(&["plan"]);
    assert_eq!(plan.code, 1, "no abort (134): {plan:?}");
    assert!(
        plan.stderr.contains("inferform::eval::too_deep")
            && plan.stderr.contains("more than 256 deep"),
        "{plan:?}"
    );
    assert_eq!(
        plan.stderr.matches(" × ").count(),
        1,
        "one chain, one error: {plan:?}"
    );
    assert_no_raw_text(&plan);
    assert!(
        !work.path().join(".inferform/state").exists() || {
            let list = work.run(&["state", "list"]);
            list.stdout.trim().is_empty()
        }
    );
}

#[test]
fn a_chain_within_the_limit_plans_and_applies_on_any_thread() {
    // Apply evaluates again on the runtime's worker threads, whose stacks are the smallest.
    let mut text = chain(250);
    text.push_str("\nresource \"inferform_data\" \"x\" {\n  input = local.a249\n}\n");
    let work = Work::new(&[("main.hcl", &text)]);
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("last = 250"), "{apply:?}");
}

#[test]
fn a_backend_reading_a_long_chain_of_locals_does_not_overflow() {
    let mut text = String::from("locals {\n  a0 = \"team\"\n");
    for i in 1..20_000 {
        text.push_str(&format!("  a{i} = local.a{}\n", i - 1));
    }
    text.push_str("}\n\ninferform {\n  backend \"pg\" {\n    schema_name = local.a19999\n  }\n}\n");
    let work = Work::new(&[("main.hcl", &text)]);
    let init = work.run(&["init"]);
    assert_eq!(init.code, 1, "{init:?}");
    assert!(init.stderr.contains("has no conn_str"), "{init:?}");
    assert_no_raw_text(&init);
}

#[test]
fn deep_nesting_in_one_file_is_a_syntax_error_not_a_crash() {
    let deep = 10_000;
    let cases = [
        format!("{}1{}", "(".repeat(deep), ")".repeat(deep)),
        format!("{}1{}", "[".repeat(deep), "]".repeat(deep)),
        format!("{}1{}", "{a = ".repeat(deep), "}".repeat(deep)),
        format!("{}1{}", "max(".repeat(deep), ")".repeat(deep)),
        format!("{}true", "!".repeat(deep)),
        format!("{}1", "-".repeat(deep)),
        format!("{}1", "true ? 1 : ".repeat(deep)),
        format!("1{}", " + 1".repeat(deep)),
        format!("\"{}1{}\"", "${".repeat(deep), "}".repeat(deep)),
        format!("{}[1]{}", "[for x in ".repeat(deep), " : x]".repeat(deep)),
    ];
    for expr in cases {
        let text =
            format!("locals {{\n  x = {expr}\n}}\n\noutput \"x\" {{\n  value = local.x\n}}\n");
        let work = Work::new(&[("main.hcl", &text)]);
        for args in [&["validate"][..], &["plan"], &["fmt", "-check"]] {
            let out = work.run(args);
            assert!(
                out.code == 1 || out.code == 2 || out.code == 3,
                "{args:?} on {}…: {out:?}",
                &expr[..40]
            );
            assert_no_raw_text(&out);
            assert!(
                out.stderr.len() < 4000,
                "{args:?} printed {} bytes",
                out.stderr.len()
            );
        }
    }
    // Blocks nested as deep.
    let text = format!("{}{}", "a {\n".repeat(deep), "}\n".repeat(deep));
    let work = Work::new(&[("main.hcl", &text)]);
    let out = work.run(&["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_no_raw_text(&out);
}

#[test]
fn a_50_mb_unterminated_string_is_named_in_a_bounded_error() {
    let text = format!("locals {{\n  x = \"{}\n}}\n", "a".repeat(50 * 1024 * 1024));
    let work = Work::new(&[("main.hcl", &text)]);
    for args in [&["validate"][..], &["plan"]] {
        let out = work.run(args);
        assert_eq!(out.code, 1, "{args:?}");
        assert!(
            out.stderr.len() < 2000 && out.stdout.len() < 2000,
            "{args:?} printed {} bytes",
            out.stderr.len()
        );
        assert!(
            out.stderr.contains("unterminated string") && out.stderr.contains("main.hcl:2:7"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains('…'), "the line is cut: {}", out.stderr);
    }
}

#[test]
fn an_error_on_a_long_line_shows_a_bounded_snippet_and_message() {
    let text = format!(
        "locals {{\n  x = 1 + \"{}\"\n}}\n\noutput \"x\" {{\n  value = local.x\n}}\n",
        "b".repeat(1_000_000)
    );
    let work = Work::new(&[("main.hcl", &text)]);
    let out = work.run(&["plan"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.len() < 4000, "{} bytes", out.stderr.len());
    assert!(out.stderr.contains("main.hcl:2:11"), "{}", out.stderr);
    assert!(
        out.stderr.contains("(1000000 characters)"),
        "the value quoted in the message is cut: {}",
        out.stderr
    );
}

#[test]
fn the_unterminated_string_message_leaves_other_mistakes_alone() {
    // An interpolation left open is hcl-edit's to name; a closed string is not unterminated.
    let work = Work::new(&[(
        "main.hcl",
        "variable \"env\" {\n  default = \"dev\"\n}\n\nlocals {\n  name = \"llm-${var.env\"\n}\n",
    )]);
    let out = work.run(&["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(!out.stderr.contains("unterminated string"), "{out:?}");
    let work = Work::new(&[(
        "main.hcl",
        "# a \"quote in a comment\nlocals {\n  a = <<EOT\nan \"open quote\nEOT\n  b = \"ok\" c\n}\n",
    )]);
    let out = work.run(&["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(!out.stderr.contains("unterminated string"), "{out:?}");
}

/// A `state pull` document, edited by `edit`, pushed: refused, with the state unchanged.
fn push_refused(edit: impl Fn(&mut serde_json::Value), expect: &str) {
    let work = Work::new(&[("main.hcl", ONE_RESOURCE)]);
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let pull = work.run(&["state", "pull"]);
    assert_eq!(pull.code, 0, "{pull:?}");
    let mut doc: serde_json::Value = serde_json::from_str(&pull.stdout).expect("pulled JSON");
    // A newer serial, so that only the check under test can refuse it.
    doc["serial"] = (doc["serial"].as_u64().unwrap() + 10).into();
    edit(&mut doc);
    work.write("edited.json", &doc.to_string());
    let before = files(&state_dir(&work));
    let list_before = work.run(&["state", "list"]).stdout;

    for args in [
        &["state", "push", "edited.json"][..],
        &["state", "push", "--force", "edited.json"],
    ] {
        let push = work.run(args);
        assert_eq!(push.code, 1, "{args:?}: {push:?}");
        assert!(push.stderr.contains(expect), "{args:?}: {push:?}");
        assert!(push.stderr.contains("nothing was changed"), "{push:?}");
        assert_eq!(
            files(&state_dir(&work)),
            before,
            "{args:?} changed the state"
        );
    }
    assert_eq!(work.run(&["state", "list"]).stdout, list_before);
    // The unedited document still goes in.
    work.write("pulled.json", &pull.stdout);
    let push = work.run(&["state", "push", "--force", "pulled.json"]);
    assert_eq!(push.code, 0, "{push:?}");
}

#[test]
fn state_push_refuses_an_unknown_format_version() {
    push_refused(
        |doc| doc["version"] = 99.into(),
        "its format version is 99, and this inferform reads versions 1 to 2",
    );
    push_refused(
        |doc| {
            doc.as_object_mut().unwrap().remove("version");
        },
        "it has no \"version\"",
    );
}

#[test]
fn state_push_refuses_a_record_that_is_not_at_an_address() {
    push_refused(
        |doc| {
            let resources = doc["resources"].as_object_mut().unwrap();
            let (_, mut r) = resources.clone().into_iter().next().unwrap();
            r["addr"] = "not an address!!".into();
            resources.clear();
            resources.insert("not an address!!".into(), r);
        },
        "\"not an address!!\" is not a resource instance address",
    );
    push_refused(
        |doc| {
            let r = doc["resources"]
                .as_object_mut()
                .unwrap()
                .values_mut()
                .next()
                .unwrap();
            r["addr"] = "inferform_data.other".into();
        },
        "says its address is",
    );
}

#[test]
fn an_invalid_module_input_is_the_only_error_shown() {
    let work = Work::new(&[(
        "main.hcl",
        r#"
variable "stacks" {
  type    = number
  default = 1
}

module "m" {
  source = "./mod"
  n      = var.stacks
}

output "ids" {
  value = module.m.ids
}
"#,
    )]);
    std::fs::create_dir_all(work.path().join("mod")).unwrap();
    work.write(
        "mod/main.hcl",
        r#"
variable "n" {
  type = number
  validation {
    condition     = var.n >= 0
    error_message = "n must be zero or more."
  }
}

resource "inferform_data" "a" {
  count = var.n
  input = "a${count.index}"
}

resource "inferform_data" "b" {
  for_each = toset([for i in range(var.n) : tostring(i)])
  input    = each.key
}

output "ids" {
  value = inferform_data.a[*].id
}
"#,
    );
    for args in [
        &["plan", "--var", "stacks=-1"][..],
        &["apply", "--auto-approve", "--var", "stacks=-1"],
    ] {
        let out = work.run(args);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(out.stderr.contains("n must be zero or more."), "{out:?}");
        assert_eq!(
            out.stderr.matches(" × ").count(),
            1,
            "only the real error: {out:?}"
        );
        assert!(!out.stderr.contains("known only after apply"), "{out:?}");
    }
    assert!(
        !work.path().join(".inferform/state").exists()
            || work.run(&["state", "list"]).stdout.trim().is_empty()
    );
    // With a valid value, the same configuration plans.
    let plan = work.run(&["plan", "--var", "stacks=2"]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

/// `for_each` takes a map or a set of strings, as Terraform's does: a list is refused (its
/// positions would become keys), and so is a sensitive set, whose elements would show in every
/// instance's address. A set of strings, and a map with sensitive values, plan.
#[test]
fn for_each_takes_a_map_or_a_set_and_never_a_secret_as_keys() {
    let config = |for_each: &str| {
        format!(
            r#"
variable "token" {{
  type      = string
  default   = "s3cr3t-token"
  sensitive = true
}}

resource "inferform_data" "x" {{
  for_each = {for_each}
  input    = each.value
}}
"#
        )
    };
    let work = Work::new(&[("main.hcl", &config(r#"["b", "a"]"#))]);
    let plan = work.run(&["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr.contains("inferform::plan::bad_for_each"),
        "{plan:?}"
    );
    assert!(plan.stderr.contains("got a list"), "{plan:?}");
    assert!(plan.stderr.contains("toset("), "{plan:?}");
    assert!(plan.stderr.contains("main.hcl:9"), "{plan:?}");

    work.write("main.hcl", &config("toset([var.token])"));
    let plan = work.run(&["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr.contains("cannot take a sensitive value"),
        "{plan:?}"
    );
    assert!(!format!("{plan:?}").contains("s3cr3t"), "{plan:?}");

    work.write("main.hcl", &config(r#"toset(["b", "a", "b"])"#));
    let plan = work.run(&["plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains(r#"inferform_data.x["a"]"#), "{plan:?}");
    assert!(plan.stdout.contains("Plan: 2 to add"), "{plan:?}");

    // A map's sensitive values stay hidden in each.value.
    work.write("main.hcl", &config("{ a = var.token }"));
    let plan = work.run(&["plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains(r#"inferform_data.x["a"]"#), "{plan:?}");
    assert!(!format!("{plan:?}").contains("s3cr3t"), "{plan:?}");
}
