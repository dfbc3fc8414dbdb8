//! Encryption at rest through the real binary: nothing in clear in `.inferform/`, in a saved
//! plan or in a dump of the pg schema; rotation, migration both ways, tampering, the saved-plan
//! workflow across machines, and every bad key or key provider, each with a clear error that
//! changes nothing. `.inferform/local-cloud/` is left out of every byte search: it is the
//! stand-in for the clouds themselves, which hold the objects in clear by nature.
//!
//! Keys use PBKDF2's smallest accepted iteration count (200,000), so the debug build stays
//! quick; the default (600,000) is exercised by the unit tests' parameters only in size.

mod support;

use std::path::{Path, PathBuf};

use support::Work;

const PASS_A: &str = "passphrase number one, long enough";
const PASS_B: &str = "passphrase number two, long enough";

/// An encryption block with key providers and methods `names` (`a` for [`PASS_A`], `b` for
/// [`PASS_B`], `clear` for an `unencrypted` method), the state (and plan) target on `method`,
/// and the fallback on `fallback`.
fn encryption(method: &str, fallback: Option<&str>) -> String {
    let mut text = String::from("inferform {\n  encryption {\n");
    for (name, pass) in [("a", PASS_A), ("b", PASS_B)] {
        text.push_str(&format!(
            "    key_provider \"pbkdf2\" \"{name}\" {{\n      passphrase = \"{pass}\"\n      iterations = 200000\n    }}\n    method \"aes_gcm\" \"{name}\" {{\n      keys = key_provider.pbkdf2.{name}\n    }}\n"
        ));
    }
    text.push_str("    method \"unencrypted\" \"clear\" {}\n");
    let method_ref = |m: &str| {
        if m == "clear" {
            "method.unencrypted.clear".to_string()
        } else {
            format!("method.aes_gcm.{m}")
        }
    };
    for target in ["state", "plan"] {
        text.push_str(&format!(
            "    {target} {{\n      method = {}\n",
            method_ref(method)
        ));
        if let Some(f) = fallback {
            text.push_str(&format!(
                "      fallback {{\n        method = {}\n      }}\n",
                method_ref(f)
            ));
        }
        text.push_str("    }\n");
    }
    text.push_str("  }\n}\n");
    text
}

const DATA: &str = r#"
variable "n" {
  type    = number
  default = 2
}

resource "inferform_data" "secret_item" {
  count = var.n
  input = "confidential-value-${count.index}"
}

output "hidden_output_name" {
  value = inferform_data.secret_item[*].output
}
"#;

/// Every file under `dir`, but the local cloud's.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "local-cloud") {
            continue;
        }
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The needles of `needles` found in any byte of `paths`.
fn found(paths: &[PathBuf], needles: &[String]) -> Vec<String> {
    let mut hits = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).expect("read file");
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                hits.push(format!("{n} in {}", path.display()));
            }
        }
    }
    hits
}

/// Text as the user reads it, with miette's wrapping and frame undone, so that a message is
/// searched whole.
fn flat(text: &str) -> String {
    text.replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The names the sled store gives its own trees and meta entries, which are no user data.
const STRUCTURE: [&str; 9] = [
    "resources",
    "outputs",
    "intents",
    "history",
    "meta",
    "lineage",
    "serial",
    "format_version",
    "sealed_with",
];

/// Every string of at least 8 characters in a JSON document, keys included: names, ids,
/// URLs, attribute values, outputs.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if s.len() >= 8 => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if k.len() >= 8 {
                    out.push(k.clone());
                }
                strings(x, out);
            }
        }
        _ => {}
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn nothing_in_clear_in_state_or_plan_and_everything_private() {
    let work = Work::quickstart();
    work.write("encryption.hcl", &encryption("a", None));
    let plan = work.run(&["plan", "--local-cloud", "--out", "p.plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let plan_file = work.path().join("p.plan");
    // What the configuration says, which the plan holds: names and values.
    let planned: Vec<String> = [
        "fabric_service_instance",
        "fabric_endpoint",
        "alaya_expert_deployment",
        "mu.llama3.8b",
        "obs://",
        "llama3-8b",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let hits = found(std::slice::from_ref(&plan_file), &planned);
    assert!(hits.is_empty(), "the plan file shows {hits:?}");
    let shown = work.run(&["show", "p.plan"]);
    assert!(shown.stdout.contains("fabric_endpoint.chat"), "{shown:?}");

    let apply = work.run(&["apply", "--local-cloud", "p.plan"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let pulled = work.run(&["state", "pull"]);
    assert_eq!(pulled.code, 0, "{pulled:?}");
    let state: serde_json::Value = serde_json::from_str(&pulled.stdout).expect("state JSON");
    let mut needles = planned.clone();
    strings(&state["resources"], &mut needles);
    strings(&state["outputs"], &mut needles);
    needles.retain(|n| {
        n != state["lineage"].as_str().unwrap_or_default()
            && !STRUCTURE.iter().any(|s| s.contains(n.as_str()))
    });
    assert!(
        needles.iter().any(|n| n.starts_with("http://127.0.0.1")),
        "the state has URLs to look for: {needles:?}"
    );
    let all = files(&work.path().join(".inferform"));
    assert!(all.iter().any(|p| p.ends_with("db")), "{all:?}");
    let hits = found(&all, &needles);
    assert!(hits.is_empty(), "in clear under .inferform/: {hits:?}");
    let outputs = work.run(&["output", "--json"]);
    assert!(outputs.stdout.contains("chat_instance_id"), "{outputs:?}");

    #[cfg(unix)]
    {
        assert_eq!(mode(&plan_file), 0o600);
        let data = work.path().join(".inferform");
        assert_eq!(mode(&data), 0o700);
        let mut stack = vec![data];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    assert_eq!(mode(&p), 0o700, "{}", p.display());
                    stack.push(p);
                } else {
                    assert_eq!(mode(&p), 0o600, "{}", p.display());
                }
            }
        }
    }
}

#[test]
fn rotation_from_a_to_b_then_b_alone_reads_everything() {
    let work = Work::new(&[("main.hcl", DATA)]);
    work.write("encryption.hcl", &encryption("a", None));
    let first = work.run(&["apply", "--auto-approve"]);
    assert_eq!(first.code, 0, "{first:?}");

    // B writes, A reads what B has not written yet; the first write re-seals everything.
    work.write("encryption.hcl", &encryption("b", Some("a")));
    let during = work.run(&["apply", "--auto-approve", "--var", "n=3"]);
    assert_eq!(during.code, 0, "{during:?}");

    work.write("encryption.hcl", &encryption("b", None));
    let plan = work.run(&["plan", "--detailed-exitcode", "--var", "n=3"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let list = work.run(&["state", "list"]);
    assert_eq!(list.stdout.lines().count(), 3, "{list:?}");
    let history = work.run(&["state", "history", "--json"]);
    assert_eq!(history.code, 0, "{history:?}");
    let first_serial = history
        .stdout
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|h| h["serial"].as_u64())
        .unwrap_or_else(|| panic!("{history:?}"));
    let old = work.run(&["state", "pull", "--serial", &first_serial.to_string()]);
    assert_eq!(old.code, 0, "{old:?}");
    assert!(old.stdout.contains("confidential-value-1"), "{old:?}");

    // A alone no longer opens it, and says which key it needs.
    work.write("encryption.hcl", &encryption("a", None));
    let refused = work.run(&["state", "list"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    let text = flat(&refused.stderr);
    assert!(text.contains("key provider pbkdf2.b"), "{refused:?}");
    assert!(text.contains("the stored data is intact"), "{refused:?}");
}

#[test]
fn migration_from_clear_to_encrypted_and_back() {
    let work = Work::new(&[("main.hcl", DATA)]);
    assert_eq!(work.run(&["apply", "--auto-approve"]).code, 0);

    // Encryption without a fallback refuses clear state, says how to migrate, changes nothing.
    work.write("encryption.hcl", &encryption("a", None));
    let refused = work.run(&["plan"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    let text = flat(&refused.stderr);
    assert!(text.contains("the state is not encrypted"), "{refused:?}");
    assert!(text.contains("method \"unencrypted\""), "{refused:?}");

    work.write("encryption.hcl", &encryption("a", Some("clear")));
    let migrate = work.run(&["apply", "--auto-approve", "--var", "n=3"]);
    assert_eq!(migrate.code, 0, "{migrate:?}");
    work.write("encryption.hcl", &encryption("a", None));
    let plan = work.run(&["plan", "--detailed-exitcode", "--var", "n=3"]);
    assert_eq!(plan.code, 0, "{plan:?}");

    // And back: clear writes, the old key as fallback, then no encryption at all. (The count
    // only grows: shrinking it trips an engine bug unrelated to encryption, filed apart.)
    work.write("encryption.hcl", &encryption("clear", Some("a")));
    let back = work.run(&["apply", "--auto-approve", "--var", "n=4"]);
    assert_eq!(back.code, 0, "{back:?}");
    std::fs::remove_file(work.path().join("encryption.hcl")).unwrap();
    let plan = work.run(&["plan", "--detailed-exitcode", "--var", "n=4"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let pulled = work.run(&["state", "pull"]);
    assert!(pulled.stdout.contains("confidential-value-1"), "{pulled:?}");
}

/// Copies a working directory, state and all: another machine with the same files.
fn copy_all(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let p = entry.path();
        let target = to.join(entry.file_name());
        if p.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_all(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

#[test]
fn a_saved_plan_applies_elsewhere_with_the_same_key_and_stale_plans_are_still_refused() {
    let here = Work::new(&[("main.hcl", DATA)]);
    assert_eq!(here.run(&["apply", "--auto-approve"]).code, 0);
    let there = Work::new(&[]);
    copy_all(here.path(), there.path());
    // The key comes from the environment on the applying side, as CI would hold it.
    let env = format!(
        r#"{{"key_provider": {{"pbkdf2": {{"ci": {{"passphrase": "{PASS_A}", "iterations": 200000}}}}}},
            "method": {{"aes_gcm": {{"ci": {{"keys": "${{key_provider.pbkdf2.ci}}"}}}}}},
            "plan": {{"method": "${{method.aes_gcm.ci}}"}}}}"#
    );

    // Both sides take the key from the environment, so their configurations are the same.
    let plan = support::Out::from(
        here.command(&["plan", "--var", "n=3", "--out", "p.plan"])
            .env("INFERFORM_ENCRYPTION", &env)
            .output()
            .unwrap(),
    );
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(std::fs::read(here.path().join("p.plan"))
        .unwrap()
        .starts_with(b"IFENC1."));
    std::fs::copy(here.path().join("p.plan"), there.path().join("p.plan")).unwrap();

    // Without the key the plan cannot be read; with a wrong one, it says so.
    let without = there.run(&["apply", "p.plan"]);
    assert_eq!(without.code, 1, "{without:?}");
    assert!(
        flat(&without.stderr).contains("the plan is encrypted, but no encryption is configured"),
        "{without:?}"
    );
    let wrong = there
        .command(&["apply", "p.plan"])
        .env("INFERFORM_ENCRYPTION", env.replace(PASS_A, PASS_B))
        .output()
        .unwrap();
    let wrong = support::Out::from(wrong);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    let text = flat(&wrong.stderr);
    assert!(
        text.contains("cannot decrypt the plan: the key from key provider pbkdf2.ci")
            && text.contains("intact"),
        "{wrong:?}"
    );

    let apply = support::Out::from(
        there
            .command(&["apply", "p.plan"])
            .env("INFERFORM_ENCRYPTION", &env)
            .output()
            .unwrap(),
    );
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("1 added"), "{apply:?}");
    // The same plan again is stale: the state moved on.
    let again = support::Out::from(
        there
            .command(&["apply", "p.plan"])
            .env("INFERFORM_ENCRYPTION", &env)
            .output()
            .unwrap(),
    );
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("Saved plan is stale"), "{again:?}");
}

#[test]
fn a_wrong_or_short_passphrase_and_a_state_without_keys_are_clear_errors() {
    let work = Work::new(&[("main.hcl", DATA)]);
    work.write("encryption.hcl", &encryption("a", None));
    assert_eq!(work.run(&["apply", "--auto-approve"]).code, 0);

    work.write(
        "encryption.hcl",
        &encryption("a", None).replace(PASS_A, "a different passphrase, also long"),
    );
    let wrong = work.run(&["plan"]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    let text = flat(&wrong.stderr);
    assert!(
        text.contains("cannot decrypt the state: the key from key provider pbkdf2.a is not the one it was encrypted with (nothing was changed: the stored data is intact)"),
        "{text}"
    );
    assert!(
        !wrong.stderr.contains("a different passphrase"),
        "{wrong:?}"
    );

    work.write(
        "encryption.hcl",
        &encryption("a", None).replace(PASS_A, "too short"),
    );
    let short = work.run(&["validate"]);
    assert_eq!(short.code, 1, "{short:?}");
    let text = flat(&short.stderr);
    assert!(text.contains("is too short: 9 characters"), "{short:?}");
    assert!(text.contains("at least 16"), "{short:?}");
    assert!(text.contains("(encryption.hcl:4)"), "{short:?}");
    // The passphrase itself is never printed, not even in a snippet of the file.
    assert!(!short.stderr.contains("\"too short\""), "{short:?}");

    // With the right key again, everything is as it was.
    work.write("encryption.hcl", &encryption("a", None));
    let plan = work.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");

    std::fs::remove_file(work.path().join("encryption.hcl")).unwrap();
    let unkeyed = work.run(&["state", "list"]);
    assert_eq!(unkeyed.code, 1, "{unkeyed:?}");
    assert!(
        flat(&unkeyed.stderr).contains("the state is encrypted, but no encryption is configured"),
        "{unkeyed:?}"
    );
    assert!(
        unkeyed.stderr.contains("INFERFORM_ENCRYPTION"),
        "{unkeyed:?}"
    );
}

#[cfg(unix)]
#[test]
fn external_key_providers_work_and_their_failures_are_explained() {
    use std::os::unix::fs::PermissionsExt as _;
    let work = Work::new(&[("main.hcl", DATA)]);
    let script = |name: &str, body: &str| {
        let path = work.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        path.display().to_string()
    };
    // 32 bytes, base64.
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let good = script(
        "kms.sh",
        &format!(
            "cat >/dev/null\necho '{{\"magic\":\"OpenTofu-External-Key-Provider\",\"version\":1}}'\necho '{{\"keys\":{{\"encryption_key\":\"{key}\",\"decryption_key\":\"{key}\"}},\"meta\":{{\"external_data\":{{\"key_id\":\"k1\"}}}}}}'"
        ),
    );
    let config = |command: &str| {
        format!(
            "inferform {{\n  encryption {{\n    key_provider \"external\" \"kms\" {{\n      command = [\"{command}\"]\n    }}\n    method \"aes_gcm\" \"kms\" {{\n      keys = key_provider.external.kms\n    }}\n    state {{\n      method = method.aes_gcm.kms\n    }}\n  }}\n}}\n"
        )
    };
    work.write("encryption.hcl", &config(&good));
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let hits = found(
        &files(&work.path().join(".inferform")),
        &["confidential-value".to_string(), "secret_item".to_string()],
    );
    assert!(hits.is_empty(), "{hits:?}");
    assert_eq!(work.run(&["state", "list"]).stdout.lines().count(), 2);

    for (body, says) in [
        ("echo 'vault is sealed' >&2; exit 3", "vault is sealed"),
        ("echo this is not json", "protocol header"),
    ] {
        work.write("encryption.hcl", &config(&script("bad.sh", body)));
        let out = work.run(&["state", "list"]);
        assert_eq!(out.code, 1, "{out:?}");
        let text = flat(&out.stderr);
        assert!(text.contains("key provider external.kms failed"), "{out:?}");
        assert!(text.contains(says), "{out:?}");
    }
}

/// The pg side: a dump of the schema shows nothing, and a flipped byte in one record is
/// reported as tampering of that record.
#[test]
fn pg_dump_shows_nothing_and_tampering_is_named() {
    let Some(url) = inferform_state::pg::test_url() else {
        return;
    };
    let schema = inferform_state::pg::TestSchema {
        url: url.clone(),
        schema: format!("t_{}", uuid::Uuid::new_v4().simple()),
    };
    let work = Work::new(&[("main.hcl", DATA)]);
    work.write(
        "backend.hcl",
        &format!(
            "inferform {{\n  backend \"pg\" {{\n    schema_name = \"{}\"\n  }}\n}}\n",
            schema.schema
        ),
    );
    work.write("encryption.hcl", &encryption("a", None));
    let run = |args: &[&str]| {
        support::Out::from(
            work.command(args)
                .env("PG_CONN_STR", &url)
                .output()
                .expect("run inferform"),
        )
    };
    assert_eq!(run(&["init"]).code, 0);
    let apply = run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let dump = schema.dump().expect("dump the schema");
    for needle in [
        "confidential-value",
        "secret_item",
        "hidden_output_name",
        "inferform_data",
    ] {
        assert!(!dump.contains(needle), "{needle} in the dump:\n{dump}");
    }
    assert_eq!(run(&["state", "list"]).stdout.lines().count(), 2);

    schema
        .exec(&format!(
            "UPDATE \"{0}\".records SET value = overlay(value placing \
             (CASE WHEN substr(value, length(value) - 3, 1) = 'A' THEN 'B' ELSE 'A' END) \
             from length(value) - 3 for 1) \
             WHERE key = (SELECT min(key) FROM \"{0}\".records WHERE kind = 'resource')",
            schema.schema
        ))
        .expect("flip a byte");
    let tampered = run(&["plan"]);
    assert_eq!(tampered.code, 1, "{tampered:?}");
    let text = flat(&tampered.stderr);
    assert!(
        text.contains("the state record resource record ~") && text.contains("integrity check"),
        "{tampered:?}"
    );
    assert!(!tampered.stderr.contains("not found"), "{tampered:?}");
}

#[test]
fn state_push_encrypts_and_pull_gives_clear_text_to_the_key_holder() {
    let source = Work::new(&[("main.hcl", DATA)]);
    assert_eq!(source.run(&["apply", "--auto-approve"]).code, 0);
    let pulled = source.run(&["state", "pull"]);
    assert_eq!(pulled.code, 0, "{pulled:?}");

    let target = Work::new(&[("main.hcl", DATA)]);
    target.write("encryption.hcl", &encryption("a", None));
    target.write("pulled.json", &pulled.stdout);
    let push = target.run(&["state", "push", "pulled.json"]);
    assert_eq!(push.code, 0, "{push:?}");
    let hits = found(
        &files(&target.path().join(".inferform")),
        &[
            "confidential-value".to_string(),
            "secret_item".to_string(),
            "hidden_output_name".to_string(),
        ],
    );
    assert!(hits.is_empty(), "{hits:?}");
    let again = target.run(&["state", "pull"]);
    assert!(again.stdout.contains("confidential-value-1"), "{again:?}");
    let plan = target.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn remote_state_is_read_with_the_remote_state_data_sources_keys() {
    let platform = Work::new(&[("main.hcl", DATA)]);
    platform.write("encryption.hcl", &encryption("a", None));
    assert_eq!(platform.run(&["apply", "--auto-approve"]).code, 0);

    let reader = format!(
        r#"
data "inferform_remote_state" "platform" {{
  backend = "local"
  config  = {{ path = "{}" }}
}}

output "from_platform" {{
  value = data.inferform_remote_state.platform.outputs.hidden_output_name
}}
"#,
        platform.path().display()
    );
    let app = Work::new(&[("main.hcl", &reader)]);
    let refused = app.run(&["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        flat(&refused.stderr)
            .contains("the remote state is encrypted, but no encryption is configured"),
        "{refused:?}"
    );

    app.write(
        "encryption.hcl",
        &format!(
            r#"
inferform {{
  encryption {{
    key_provider "pbkdf2" "platform" {{
      passphrase = "{PASS_A}"
      iterations = 200000
    }}
    method "aes_gcm" "platform" {{
      keys = key_provider.pbkdf2.platform
    }}
    remote_state_data_sources {{
      default {{
        method = method.aes_gcm.platform
      }}
    }}
  }}
}}
"#
        ),
    );
    let apply = app.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("confidential-value-1"), "{apply:?}");
}
