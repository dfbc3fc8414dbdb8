//! Team state through the real binary against a real PostgreSQL: the pg backend, `init`,
//! migration both ways, locking across processes, SIGKILL, workspaces, history and
//! `inferform_remote_state`. Each test works in a schema of its own, dropped at the end, so
//! they run in parallel. Without a server they are skipped (and say why); under CI=true a
//! missing server fails them.

mod support;

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use support::{count, Work};

/// A fresh schema in the test database, dropped when this goes.
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    fn new() -> Option<Schema> {
        let url = inferform_state::pg::test_url()?;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        Some(Schema { url, name })
    }

    /// The backend block of a configuration that keeps its state in this schema; the
    /// connection string comes from PG_CONN_STR, as a team's CI would pass it.
    fn block(&self) -> String {
        format!(
            "inferform {{\n  backend \"pg\" {{\n    schema_name = \"{}\"\n  }}\n}}\n",
            self.name
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        inferform_state::pg::drop_schema(&self.url, &self.name);
    }
}

/// Runs inferform in `work` with the database's connection string in PG_CONN_STR.
fn run(work: &Work, db: &Schema, args: &[&str]) -> support::Out {
    support::Out::from(
        work.command(args)
            .env("PG_CONN_STR", &db.url)
            .output()
            .expect("run inferform"),
    )
}

const DATA: &str = r#"
variable "n" {
  type    = number
  default = 3
}

resource "inferform_data" "item" {
  count = var.n
  input = "item-${count.index}"
}

output "items" {
  value = inferform_data.item[*].output
}

output "where" {
  value = inferform.workspace
}
"#;

/// The quickstart's object kinds, one of each.
const KINDS: [&str; 5] = [
    "fabric_workspace",
    "fabric_endpoint",
    "fabric_model",
    "fabric_service_instance",
    "alaya_expert_deployment",
];

macro_rules! schema_or_skip {
    () => {
        match Schema::new() {
            Some(s) => s,
            None => return,
        }
    };
}

#[test]
fn quickstart_through_the_pg_backend_then_no_op_then_destroy() {
    let db = schema_or_skip!();
    let work = Work::quickstart();
    work.write("backend.hcl", &db.block());
    let plan = run(&work, &db, &["plan", "--local-cloud"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(plan.stderr.contains("inferform init"), "{plan:?}");

    let init = run(&work, &db, &["init"]);
    assert_eq!(init.code, 0, "{init:?}");
    assert!(
        init.stdout
            .contains("Successfully configured the backend \"pg\""),
        "{init:?}"
    );
    assert!(
        !init.stdout.contains(":inferform@"),
        "no password in output: {init:?}"
    );

    let apply = run(&work, &db, &["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("5 added"), "{apply:?}");
    assert!(
        !work.path().join(".inferform/state").exists(),
        "nothing was written to local state"
    );
    let noop = run(
        &work,
        &db,
        &["plan", "--local-cloud", "--detailed-exitcode"],
    );
    assert_eq!(noop.code, 0, "{noop:?}");
    assert!(noop.stdout.contains("No changes"), "{noop:?}");
    let list = run(&work, &db, &["state", "list"]);
    assert_eq!(list.stdout.lines().count(), 5, "{list:?}");
    // The same schema named another way is the same backend: nothing to migrate.
    let again = run(
        &work,
        &db,
        &[
            "init",
            "--backend-config",
            &format!("schema_name={}", db.name),
        ],
    );
    assert_eq!(again.code, 0, "{again:?}");
    let noop = run(
        &work,
        &db,
        &["plan", "--local-cloud", "--detailed-exitcode"],
    );
    assert_eq!(noop.code, 0, "{noop:?}");

    let destroy = run(&work, &db, &["destroy", "--local-cloud", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert_eq!(count(&work.cloud_objects()), 0);
    assert_eq!(run(&work, &db, &["state", "list"]).stdout, "");
}

/// Initializes the quickstart on the pg backend with cloud objects taking `ms` to become
/// ready, starts an apply, and returns it once it has printed `marker` (it holds the lock from
/// the start), with the rest of its output.
fn slow_apply_under_way(
    work: &Work,
    db: &Schema,
    ms: u64,
    marker: &str,
) -> (Child, Lines<BufReader<ChildStdout>>) {
    work.write("backend.hcl", &db.block());
    work.cloud_config(&format!(r#"{{"timings": {{"all_ms": {ms}}}}}"#));
    assert_eq!(run(work, db, &["init"]).code, 0);
    let mut child = work
        .command(&["apply", "--local-cloud", "--auto-approve"])
        .env("PG_CONN_STR", &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains(marker) {
            break;
        }
    }
    (child, lines)
}

#[test]
fn two_applies_at_once_one_proceeds_the_other_waits_or_names_the_holder() {
    let db = schema_or_skip!();
    let work = Work::quickstart();
    let (mut first, lines) = slow_apply_under_way(&work, &db, 2500, "Creating...");
    let refused = run(&work, &db, &["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("Error acquiring the state lock"),
        "{refused:?}"
    );
    assert!(refused.stderr.contains("OperationTypeApply"), "{refused:?}");
    assert!(refused.stderr.contains("Who:"), "{refused:?}");
    assert!(
        !refused.stderr.contains(":inferform@"),
        "no password: {refused:?}"
    );

    let started = Instant::now();
    let waited = run(
        &work,
        &db,
        &[
            "apply",
            "--local-cloud",
            "--auto-approve",
            "--lock-timeout",
            "120s",
        ],
    );
    assert_eq!(waited.code, 0, "{waited:?}");
    assert!(started.elapsed() > Duration::from_millis(500), "it waited");
    assert!(
        waited.stdout.contains("0 added, 0 changed, 0 destroyed"),
        "the second apply saw the first one's state: {waited:?}"
    );
    for _ in lines {}
    assert!(first.wait().unwrap().success());
    let objects = work.cloud_objects();
    for kind in KINDS {
        let n = objects[kind].as_array().map_or(0, Vec::len);
        assert_eq!(n, 1, "exactly one {kind}: {objects}");
    }
    assert_eq!(
        run(&work, &db, &["state", "list"]).stdout.lines().count(),
        5
    );
}

#[test]
fn a_killed_apply_leaves_no_lock_and_the_next_run_converges() {
    let db = schema_or_skip!();
    let work = Work::quickstart();
    let (mut child, _) =
        slow_apply_under_way(&work, &db, 3000, "fabric_endpoint.chat: Creating...");
    // The endpoint stays CREATING for 3 s: kill the run while its create is in flight.
    std::thread::sleep(std::time::Duration::from_millis(1000));
    child.kill().unwrap(); // SIGKILL: no chance to release anything
    child.wait().unwrap();

    // No --lock-timeout inside: the lock must be free at once.
    converges_with_one_of_each(&work, &db);
}

/// With a healthy cloud, the next apply (taking the lock at once) converges: exactly one of
/// each quickstart object, and a plan with nothing to do.
fn converges_with_one_of_each(work: &Work, db: &Schema) {
    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = run(work, db, &["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let objects = work.cloud_objects();
    for kind in KINDS {
        let n = objects[kind].as_array().map_or(0, Vec::len);
        assert_eq!(n, 1, "exactly one {kind}: {objects}");
    }
    let plan = run(work, db, &["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

/// `state pull` without the serial, which every write moves.
fn pulled(work: &Work, db: &Schema) -> serde_json::Value {
    let out = run(work, db, &["state", "pull"]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("state JSON");
    doc.as_object_mut().unwrap().remove("serial");
    doc
}

#[test]
fn migration_from_local_to_pg_and_back_keeps_the_state_exactly() {
    let db = schema_or_skip!();
    let work = Work::new(&[("main.hcl", DATA)]);
    assert_eq!(run(&work, &db, &["apply", "--auto-approve"]).code, 0);
    let local = pulled(&work, &db);
    let serial_before = run(&work, &db, &["state", "pull"]).stdout;

    work.write("backend.hcl", &db.block());
    let plan = run(&work, &db, &["plan"]);
    assert_eq!(
        plan.code, 1,
        "a backend nobody initialized is never used: {plan:?}"
    );
    let refused = run(&work, &db, &["init"]);
    assert_eq!(
        refused.code, 1,
        "local state is never silently left behind: {refused:?}"
    );
    assert!(refused.stderr.contains("--migrate-state"), "{refused:?}");

    let init = run(&work, &db, &["init", "--migrate-state"]);
    assert_eq!(init.code, 0, "{init:?}");
    assert_eq!(pulled(&work, &db), local, "the pg copy is the local state");
    let serial_after = run(&work, &db, &["state", "pull"]).stdout;
    let serial = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["serial"].clone();
    assert_eq!(serial(&serial_before), serial(&serial_after), "serial kept");
    let noop = run(&work, &db, &["plan", "--detailed-exitcode"]);
    assert_eq!(noop.code, 0, "{noop:?}");

    // A change made on pg, then back to local.
    let apply = run(&work, &db, &["apply", "--auto-approve", "--var", "n=4"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let on_pg = pulled(&work, &db);
    std::fs::remove_file(work.path().join("backend.hcl")).unwrap();
    let plan = run(&work, &db, &["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr.contains("Backend configuration changed"),
        "{plan:?}"
    );
    let back = run(&work, &db, &["init", "--migrate-state"]);
    assert_eq!(back.code, 0, "{back:?}");
    assert_eq!(pulled(&work, &db), on_pg, "the local copy is the pg state");
    let noop = run(&work, &db, &["plan", "--detailed-exitcode", "--var", "n=4"]);
    assert_eq!(noop.code, 0, "{noop:?}");
}

#[test]
fn migration_into_a_workspace_holding_another_lineage_is_refused() {
    let db = schema_or_skip!();
    let other = Work::new(&[("main.hcl", DATA), ("backend.hcl", &db.block())]);
    assert_eq!(run(&other, &db, &["init"]).code, 0);
    assert_eq!(run(&other, &db, &["apply", "--auto-approve"]).code, 0);

    let work = Work::new(&[("main.hcl", DATA)]);
    assert_eq!(
        run(&work, &db, &["apply", "--auto-approve", "--var", "n=1"]).code,
        0
    );
    work.write("backend.hcl", &db.block());
    let init = run(&work, &db, &["init", "--migrate-state"]);
    assert_eq!(init.code, 1, "{init:?}");
    assert!(init.stderr.contains("lineage"), "{init:?}");
    // Nothing changed on either side.
    assert_eq!(
        run(&other, &db, &["state", "list"]).stdout.lines().count(),
        3
    );
    assert!(!work.path().join(".inferform/backend.json").exists());
}

#[test]
fn workspaces_isolate_state_and_history_reads_back_earlier_serials() {
    let db = schema_or_skip!();
    let work = Work::new(&[("main.hcl", DATA), ("backend.hcl", &db.block())]);
    assert_eq!(run(&work, &db, &["init"]).code, 0);
    assert_eq!(
        run(&work, &db, &["apply", "--auto-approve", "--var", "n=2"]).code,
        0
    );
    let new = run(&work, &db, &["workspace", "new", "staging"]);
    assert_eq!(new.code, 0, "{new:?}");
    assert_eq!(
        run(&work, &db, &["workspace", "show"]).stdout.trim(),
        "staging"
    );
    assert_eq!(
        run(&work, &db, &["state", "list"]).stdout,
        "",
        "a new workspace is empty"
    );
    let apply = run(&work, &db, &["apply", "--auto-approve", "--var", "n=1"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("where = \"staging\""), "{apply:?}");
    let list = run(&work, &db, &["workspace", "list"]);
    assert_eq!(list.stdout, "  default\n* staging\n", "{list:?}");

    // INFERFORM_WORKSPACE picks one without selecting it.
    let default = work
        .command(&["state", "list"])
        .env("PG_CONN_STR", &db.url)
        .env("INFERFORM_WORKSPACE", "default")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&default.stdout).lines().count(), 2);

    // History: each change with its plan's fingerprint; an earlier serial reads back.
    let saved = run(&work, &db, &["plan", "--var", "n=3", "--out", "p.json"]);
    assert_eq!(saved.code, 0, "{saved:?}");
    assert_eq!(run(&work, &db, &["apply", "p.json"]).code, 0);
    let history = run(&work, &db, &["state", "history", "--json"]);
    assert_eq!(history.code, 0, "{history:?}");
    let entries: Vec<serde_json::Value> = history
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2, "{history:?}");
    let plan_file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("p.json")).unwrap())
            .unwrap();
    assert_eq!(entries[1]["fingerprint"], plan_file["fingerprint"]);
    assert_eq!(entries[1]["command"], "apply");
    assert_eq!(entries[0]["resources"], 1);
    let first = entries[0]["serial"].as_u64().unwrap().to_string();
    let old = run(&work, &db, &["state", "pull", "--serial", &first]);
    assert_eq!(old.code, 0, "{old:?}");
    let doc: serde_json::Value = serde_json::from_str(&old.stdout).unwrap();
    assert_eq!(doc["resources"].as_object().unwrap().len(), 1);
    // Rolling back to an earlier serial restores it exactly, and is itself recorded.
    let back = run(&work, &db, &["state", "push", "--serial", &first]);
    assert_eq!(back.code, 0, "{back:?}");
    assert_eq!(
        run(&work, &db, &["state", "list"]).stdout.lines().count(),
        1
    );
    let plan = run(&work, &db, &["plan", "--var", "n=3", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(plan.stdout.contains("2 to add"), "{plan:?}");
    let table = run(&work, &db, &["state", "history"]);
    assert!(table.stdout.contains("state push --serial"), "{table:?}");
    assert!(table.stdout.starts_with("SERIAL"), "{table:?}");
    let missing = run(
        &work,
        &db,
        &[
            "state",
            "show",
            "inferform_data.item[0]",
            "--serial",
            "99999",
        ],
    );
    assert_eq!(missing.code, 1, "{missing:?}");

    // Deleting: not the active one; a non-empty one needs --force.
    assert_eq!(run(&work, &db, &["workspace", "delete", "staging"]).code, 1);
    assert_eq!(run(&work, &db, &["workspace", "select", "default"]).code, 0);
    let refused = run(&work, &db, &["workspace", "delete", "staging"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("--force"), "{refused:?}");
    assert_eq!(
        run(&work, &db, &["workspace", "delete", "staging", "--force"]).code,
        0
    );
    assert_eq!(
        run(&work, &db, &["workspace", "list"]).stdout,
        "* default\n"
    );
    let typo = run(&work, &db, &["workspace", "select", "stagin"]);
    assert_eq!(typo.code, 1, "{typo:?}");
}

#[test]
fn remote_state_reads_another_workspaces_outputs() {
    let db = schema_or_skip!();
    let platform = Work::new(&[("main.hcl", DATA), ("backend.hcl", &db.block())]);
    assert_eq!(run(&platform, &db, &["init"]).code, 0);
    assert_eq!(run(&platform, &db, &["workspace", "new", "prod"]).code, 0);
    assert_eq!(
        run(&platform, &db, &["apply", "--auto-approve", "--var", "n=2"]).code,
        0
    );

    let app = Work::new(&[(
        "main.hcl",
        &format!(
            r#"
variable "platform_db" {{
  type = string
}}

data "inferform_remote_state" "platform" {{
  backend   = "pg"
  config    = {{ conn_str = var.platform_db, schema_name = "{}" }}
  workspace = "prod"
}}

output "first" {{
  value = data.inferform_remote_state.platform.outputs.items[0]
}}

output "where" {{
  value = data.inferform_remote_state.platform.outputs.where
}}
"#,
            db.name
        ),
    )]);
    let apply = app
        .command(&["apply", "--auto-approve"])
        .env("INFERFORM_VAR_platform_db", &db.url)
        .output()
        .unwrap();
    let apply = support::Out::from(apply);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("first = \"item-0\""), "{apply:?}");
    assert!(apply.stdout.contains("where = \"prod\""), "{apply:?}");

    app.write(
        "main.hcl",
        &format!(
            "data \"inferform_remote_state\" \"p\" {{\n  backend   = \"pg\"\n  config    = {{ conn_str = \"{}\", schema_name = \"{}\" }}\n  workspace = \"nope\"\n}}\n",
            db.url, db.name
        ),
    );
    let missing = app.run(&["plan"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.stderr.contains("nope"), "{missing:?}");
    assert!(
        !missing.stderr.contains(":inferform@"),
        "no password: {missing:?}"
    );
}

#[test]
fn bad_backends_get_clear_errors_and_change_nothing() {
    let db = schema_or_skip!();
    let work = Work::new(&[("main.hcl", DATA), ("backend.hcl", &db.block())]);
    let unreachable = work
        .command(&["init"])
        .env(
            "PG_CONN_STR",
            "postgres://inferform:hunter2secret@127.0.0.1:1/inferform_test",
        )
        .output()
        .unwrap();
    let unreachable = support::Out::from(unreachable);
    assert_eq!(unreachable.code, 1, "{unreachable:?}");
    assert!(
        unreachable.stderr.contains("127.0.0.1:1"),
        "{unreachable:?}"
    );
    assert!(
        !unreachable.stderr.contains("hunter2secret"),
        "{unreachable:?}"
    );
    assert!(!work.path().join(".inferform/backend.json").exists());

    let wrong = db.url.replacen(":inferform@", ":wrong-password@", 1);
    let auth = work
        .command(&["init"])
        .env("PG_CONN_STR", &wrong)
        .output()
        .unwrap();
    let auth = support::Out::from(auth);
    assert_eq!(auth.code, 1, "{auth:?}");
    assert!(auth.stderr.to_lowercase().contains("password"), "{auth:?}");
    assert!(!auth.stderr.contains("wrong-password"), "{auth:?}");

    let skip = run(
        &work,
        &db,
        &["init", "--backend-config", "skip_schema_creation=true"],
    );
    assert_eq!(skip.code, 1, "{skip:?}");
    assert!(skip.stderr.contains(&db.name), "{skip:?}");
    let typo = run(&work, &db, &["init", "--backend-config", "schema=x"]);
    assert_eq!(typo.code, 1, "{typo:?}");
    assert!(typo.stderr.contains("schema_name"), "{typo:?}");

    // A secret in the backend block would be written to .inferform/backend.json.
    work.write(
        "backend.hcl",
        &format!(
            "variable \"db\" {{\n  type      = string\n  sensitive = true\n}}\n\ninferform {{\n  backend \"pg\" {{\n    conn_str    = var.db\n    schema_name = \"{}\"\n  }}\n}}\n",
            db.name
        ),
    );
    let secret = run(&work, &db, &["init", "--var", &format!("db={}", db.url)]);
    assert_eq!(secret.code, 1, "{secret:?}");
    assert!(secret.stderr.contains("sensitive"), "{secret:?}");
    assert!(!work.path().join(".inferform/backend.json").exists());
}

#[test]
fn backend_arguments_come_from_variables_so_each_environment_has_its_own() {
    let db = schema_or_skip!();
    let config = format!(
        "variable \"env\" {{\n  type = string\n}}\n\nlocals {{\n  schema = \"{}_${{var.env}}\"\n}}\n\ninferform {{\n  backend \"pg\" {{\n    schema_name = local.schema\n  }}\n}}\n",
        db.name
    );
    let work = Work::new(&[("main.hcl", DATA), ("backend.hcl", &config)]);
    work.write("dev.vars.hcl", "env = \"dev\"\n");
    let without = run(&work, &db, &["init"]);
    assert_eq!(without.code, 1, "the backend reads var.env: {without:?}");
    assert!(without.stderr.contains("env"), "{without:?}");
    // A required variable the backend does not read is not needed by init.
    work.write("other.hcl", "variable \"token\" {\n  type = string\n}\n");
    let init = run(&work, &db, &["init", "--var-file", "dev.vars.hcl"]);
    assert_eq!(init.code, 0, "{init:?}");
    std::fs::remove_file(work.path().join("other.hcl")).unwrap();
    let init = run(&work, &db, &["init", "--var-file", "dev.vars.hcl"]);
    assert_eq!(init.code, 0, "{init:?}");
    let apply = run(
        &work,
        &db,
        &["apply", "--auto-approve", "--var-file", "dev.vars.hcl"],
    );
    assert_eq!(apply.code, 0, "{apply:?}");
    // Another environment's variables point at another schema: init must be run for it.
    let other = run(&work, &db, &["plan", "--var", "env=prod"]);
    assert_eq!(other.code, 1, "{other:?}");
    assert!(
        other.stderr.contains("Backend configuration changed"),
        "{other:?}"
    );
    inferform_state::pg::drop_schema(&db.url, &format!("{}_dev", db.name));
}

#[test]
fn local_state_has_workspaces_too_and_serves_remote_state() {
    let platform = Work::new(&[("main.hcl", DATA)]);
    let run = |work: &Work, args: &[&str]| work.run(args);
    assert_eq!(run(&platform, &["apply", "--auto-approve"]).code, 0);
    assert_eq!(run(&platform, &["workspace", "new", "blue"]).code, 0);
    let apply = run(&platform, &["apply", "--auto-approve", "--var", "n=1"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("where = \"blue\""), "{apply:?}");
    assert!(platform
        .path()
        .join(".inferform/workspaces/blue/state")
        .is_dir());
    assert_eq!(run(&platform, &["state", "list"]).stdout.lines().count(), 1);
    assert_eq!(run(&platform, &["workspace", "select", "default"]).code, 0);
    assert_eq!(run(&platform, &["state", "list"]).stdout.lines().count(), 3);
    let history = run(&platform, &["state", "history", "--json"]);
    assert_eq!(history.stdout.lines().count(), 1, "{history:?}");

    let app = Work::new(&[(
        "main.hcl",
        &format!(
            "data \"inferform_remote_state\" \"p\" {{\n  backend   = \"local\"\n  config    = {{ path = \"{}\" }}\n  workspace = \"blue\"\n}}\n\noutput \"items\" {{\n  value = data.inferform_remote_state.p.outputs.items\n}}\n",
            platform.path().display()
        ),
    )]);
    let apply = run(&app, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("\"item-0\""), "{apply:?}");
}

#[test]
fn a_connection_lost_mid_apply_stops_new_work_and_the_next_run_converges() {
    let db = schema_or_skip!();
    let work = Work::quickstart();
    let (mut child, lines) = slow_apply_under_way(&work, &db, 2500, "Creating...");
    let holder = run(&work, &db, &["plan", "--local-cloud"]);
    let id = holder
        .stderr
        .lines()
        .find_map(|l| l.trim_start_matches([' ', '│']).trim().strip_prefix("ID:"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| panic!("no lock ID in {holder:?}"));
    // force-unlock ends the holder's database session: its next write fails.
    let unlock = run(&work, &db, &["force-unlock", "--force", &id]);
    assert_eq!(unlock.code, 0, "{unlock:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(!child.wait().unwrap().success(), "{rest:?}");

    converges_with_one_of_each(&work, &db);
}
