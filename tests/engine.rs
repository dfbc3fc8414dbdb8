//! End-to-end tests of the plan and apply engine through the binary: each action kind, drift,
//! saved and stale plans, locking, partial failure, a process killed mid-apply, moves,
//! imports, targeting and the state commands. Everything runs against the local cloud on
//! 127.0.0.1 in a temporary directory.

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::*;

const STACK: &str = r#"
provider "fabric" {
  region = "cn-north-4"
}

resource "fabric_workspace" "main" {
  name        = "ws"
  description = "first"
}

resource "fabric_endpoint" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat"
  type         = "inference"
  description  = "v1"
  reserved_resource {
    mu {
      spec_code = "mu.llama3.8b"
      min       = 0
      max       = 2
    }
  }
}
"#;

fn kinds(objects: &serde_json::Value, kind: &str) -> usize {
    objects[kind].as_array().map_or(0, Vec::len)
}

#[test]
fn update_in_place_then_replace_then_delete() {
    let work = Work::new(&[("main.hcl", STACK)]);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    // An updatable attribute changes in place.
    work.write(
        "main.hcl",
        &STACK.replace("description  = \"v1\"", "description  = \"v2\""),
    );
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(
        plan.stdout
            .contains("# fabric_endpoint.chat will be updated in-place"),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains("~ description = \"v1\" -> \"v2\""),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{plan:?}"
    );
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stdout
            .contains("Resources: 0 added, 1 changed, 0 destroyed."),
        "{apply:?}"
    );
    let endpoint_id = work.cloud_objects()["fabric_endpoint"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // `type` cannot change in place: the endpoint is replaced, and the plan says why.
    work.write(
        "main.hcl",
        &STACK
            .replace("description  = \"v1\"", "description  = \"v2\"")
            .replace("\"inference\"", "\"service\""),
    );
    let plan = work.run(&["plan", "--local-cloud"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("# fabric_endpoint.chat must be replaced"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("-/+ resource \"fabric_endpoint\" \"chat\""),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("\"inference\" -> \"service\" # forces replacement"),
        "{plan:?}"
    );
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stdout
            .contains("Resources: 1 added, 0 changed, 1 destroyed."),
        "{apply:?}"
    );
    let objects = work.cloud_objects();
    assert_eq!(kinds(&objects, "fabric_endpoint"), 1, "{objects}");
    assert_ne!(
        objects["fabric_endpoint"][0]["id"],
        endpoint_id.as_str(),
        "a new endpoint replaced the old"
    );
    assert_eq!(objects["fabric_endpoint"][0]["type"], "service");

    // Removed from the configuration: destroyed, and the plan says why.
    let only_workspace = STACK
        .split("resource \"fabric_endpoint\"")
        .next()
        .unwrap()
        .to_string();
    work.write("main.hcl", &only_workspace);
    let plan = work.run(&["plan", "--local-cloud"]);
    assert!(
        plan.stdout
            .contains("# fabric_endpoint.chat will be destroyed"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("(because fabric_endpoint.chat is not in configuration)"),
        "{plan:?}"
    );
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let objects = work.cloud_objects();
    assert_eq!(kinds(&objects, "fabric_endpoint"), 0, "{objects}");
    assert_eq!(kinds(&objects, "fabric_workspace"), 1, "{objects}");
}

#[test]
fn drift_is_reported_and_refresh_records_it() {
    let work = Work::new(&[("main.hcl", STACK)]);
    assert_eq!(
        work.run(&["apply", "--local-cloud", "--auto-approve"]).code,
        0
    );
    let ws = work.cloud_objects()["fabric_workspace"][0].clone();
    let id = ws["id"].as_str().unwrap().to_string();
    // Someone edits the workspace in the cloud.
    let (status, body) = work.with_cloud(|addr| {
        http_call(
            addr,
            "PUT",
            &format!("/v1/workspaces/{id}"),
            Some(r#"{"name": "ws", "description": "edited by hand"}"#),
        )
    });
    assert!(status < 300, "{status} {body}");

    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(
        plan.stdout
            .contains("Objects have changed outside of inferform"),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains("# fabric_workspace.main has changed"),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains("\"first\" -> \"edited by hand\""),
        "drift shows the outside change: {plan:?}"
    );
    assert!(
        plan.stdout.contains("\"edited by hand\" -> \"first\""),
        "the plan undoes it: {plan:?}"
    );

    let plan = work.run(&["plan", "--local-cloud", "--refresh-only"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout.contains("This is a refresh-only plan"),
        "{plan:?}"
    );
    let plan = work.run(&[
        "plan",
        "--local-cloud",
        "--refresh=false",
        "--detailed-exitcode",
    ]);
    assert_eq!(
        plan.code, 0,
        "without refresh, state still matches the configuration: {plan:?}"
    );

    let refresh = work.run(&["refresh", "--local-cloud"]);
    assert_eq!(refresh.code, 0, "{refresh:?}");
    let show = work.run(&["state", "show", "fabric_workspace.main"]);
    assert!(
        show.stdout.contains("\"edited by hand\""),
        "refresh recorded the drift: {show:?}"
    );

    // Deleted outside: the plan creates it again.
    let ep = work.cloud_objects()["fabric_endpoint"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    work.with_cloud(|addr| {
        http_call(
            addr,
            "DELETE",
            &format!("/v1/workspaces/{id}/endpoints/{ep}"),
            None,
        )
    });
    std::thread::sleep(Duration::from_millis(800));
    let plan = work.run(&["plan", "--local-cloud"]);
    assert!(
        plan.stdout
            .contains("# fabric_endpoint.chat has been deleted"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("# fabric_endpoint.chat will be created"),
        "{plan:?}"
    );
}

#[test]
fn saved_plan_applies_exactly_and_stale_plans_are_refused() {
    let config = r#"
variable "token" {
  type      = string
  sensitive = true
}

resource "inferform_data" "a" {
  input = { name = "a", token = var.token }
}

resource "inferform_data" "b" {
  input = inferform_data.a.output
}
"#;
    let work = Work::new(&[("main.hcl", config)]);
    let plan = work
        .command(&["plan", "--out", "first.plan"])
        .env("INFERFORM_VAR_token", "s3cr3t-t0ken")
        .output()
        .map(Out::from)
        .unwrap();
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout.contains("Saved the plan to: first.plan"),
        "{plan:?}"
    );
    let saved = std::fs::read_to_string(work.path().join("first.plan")).unwrap();
    assert!(
        !saved.contains("s3cr3t-t0ken"),
        "the plan file holds no secret: {saved}"
    );
    assert!(!plan.stdout.contains("s3cr3t-t0ken"), "{plan:?}");

    let show = work.run(&["show", "first.plan"]);
    assert_eq!(show.code, 0, "{show:?}");
    assert!(
        show.stdout
            .contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{show:?}"
    );

    // The secret must be given again, and be the same.
    let wrong = work
        .command(&["apply", "first.plan"])
        .env("INFERFORM_VAR_token", "other")
        .output()
        .map(Out::from)
        .unwrap();
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains("Saved plan is stale"), "{wrong:?}");
    let apply = work
        .command(&["apply", "first.plan"])
        .env("INFERFORM_VAR_token", "s3cr3t-t0ken")
        .output()
        .map(Out::from)
        .unwrap();
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply.stdout.contains("Apply complete! Resources: 2 added"),
        "{apply:?}"
    );

    // A plan made before another apply is stale.
    let again = work
        .command(&["apply", "first.plan"])
        .env("INFERFORM_VAR_token", "s3cr3t-t0ken")
        .output()
        .map(Out::from)
        .unwrap();
    assert_eq!(again.code, 1, "{again:?}");
    assert!(
        again
            .stderr
            .contains("the state changed since the plan was made"),
        "{again:?}"
    );

    // A plan whose configuration changed since is stale.
    let env = ("INFERFORM_VAR_token", "s3cr3t-t0ken");
    let plan = work
        .command(&["plan", "--out", "second.plan"])
        .env(env.0, env.1)
        .output()
        .map(Out::from)
        .unwrap();
    assert_eq!(plan.code, 0, "{plan:?}");
    work.write(
        "main.hcl",
        &config.replace("name = \"a\"", "name = \"changed\""),
    );
    let apply = work
        .command(&["apply", "second.plan"])
        .env(env.0, env.1)
        .output()
        .map(Out::from)
        .unwrap();
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(
        apply.stderr.contains("the configuration files changed"),
        "{apply:?}"
    );

    let garbage = work.run(&["apply", "main.hcl"]);
    assert_eq!(garbage.code, 1, "{garbage:?}");
    assert!(
        garbage.stderr.contains("is not a saved plan"),
        "{garbage:?}"
    );
}

#[test]
fn an_edited_saved_plan_is_refused_by_show_and_apply() {
    let config = "resource \"inferform_data\" \"a\" {\n  input = \"a\"\n}\n\nresource \"inferform_data\" \"b\" {\n  input = \"b\"\n}\n\noutput \"a\" {\n  value = inferform_data.a.output\n}\n";
    let work = Work::new(&[("main.hcl", config)]);
    assert_eq!(work.run(&["plan", "--out", "p.json"]).code, 0);
    let text = std::fs::read_to_string(work.path().join("p.json")).unwrap();
    let original: serde_json::Value = serde_json::from_str(&text).unwrap();
    let write = |doc: &serde_json::Value| {
        std::fs::write(work.path().join("edited.json"), doc.to_string()).unwrap()
    };
    let refused = |what: &str| {
        for cmd in [&["show", "edited.json"][..], &["apply", "edited.json"][..]] {
            let out = work.run(cmd);
            assert_eq!(out.code, 1, "{what}: {cmd:?}: {out:?}");
            assert!(
                out.stderr.contains("was changed after"),
                "{what}: {cmd:?}: {out:?}"
            );
        }
    };

    // What a reviewer sees emptied: show would say "No changes", apply would do it all.
    let mut hidden = original.clone();
    hidden["changes"] = serde_json::json!([]);
    hidden["outputs"] = serde_json::json!([]);
    write(&hidden);
    refused("changes and outputs emptied");

    // The same, with the content hash made to match: the listed changes no longer give the
    // fingerprint.
    let mut rehashed = hidden.clone();
    rehashed["content_hash"] = serde_json::Value::String(String::new());
    write(&rehashed);
    refused("content hash cleared");

    // A changed value.
    let mut changed = original.clone();
    changed["changes"][0]["after"]["input"] = serde_json::json!("z");
    write(&changed);
    refused("a value changed");

    assert_eq!(
        work.run(&["state", "list"]).stdout,
        "",
        "nothing was applied"
    );
    let apply = work.run(&["apply", "p.json"]);
    assert_eq!(apply.code, 0, "the untouched file applies: {apply:?}");
    assert!(apply.stdout.contains("2 added"), "{apply:?}");
}

#[test]
fn the_state_lock_blocks_a_second_run_and_names_its_holder() {
    let work = Work::new(&[("main.hcl", STACK)]);
    work.cloud_config(r#"{"timings": {"all_ms": 3000}}"#);
    let mut slow = work
        .command(&["apply", "--local-cloud", "--auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(slow.stdout.take().unwrap()).lines();
    // Wait until the apply is under way (it holds the lock from the start).
    for line in lines.by_ref() {
        if line.unwrap().contains("Creating...") {
            break;
        }
    }
    let blocked = work.run(&["plan", "--local-cloud"]);
    assert_eq!(blocked.code, 1, "{blocked:?}");
    assert!(
        blocked.stderr.contains("Error acquiring the state lock"),
        "{blocked:?}"
    );
    assert!(blocked.stderr.contains("OperationTypeApply"), "{blocked:?}");
    assert!(blocked.stderr.contains("ID:"), "{blocked:?}");
    let unlock = work.run(&["force-unlock", "not-the-id"]);
    assert_eq!(unlock.code, 1, "{unlock:?}");

    let started = Instant::now();
    let waited = work.run(&["plan", "--local-cloud", "--lock-timeout", "60s"]);
    assert_eq!(waited.code, 0, "{waited:?}");
    assert!(
        started.elapsed() > Duration::from_millis(500),
        "it waited for the lock"
    );
    for _ in lines {}
    assert!(slow.wait().unwrap().success());
}

#[test]
fn one_failure_skips_its_dependents_only_and_the_next_apply_converges() {
    let work = Work::quickstart();
    work.cloud_config(r#"{"timings": {"all_ms": 300}, "faults": {"calls": {"fabric.endpoint.create": {"create_failure_rate": 1.0}}}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(apply.stdout.contains("Apply failed."), "{apply:?}");
    assert!(
        apply.stderr.contains("fabric_endpoint.chat"),
        "the failure is named: {apply:?}"
    );
    assert!(
        apply.stderr.contains("fabric_service_instance.chat"),
        "its dependent is reported skipped: {apply:?}"
    );
    for done in [
        "fabric_workspace.main: Creation complete",
        "fabric_model.llama: Creation complete",
        "alaya_expert_deployment.vllm: Creation complete",
    ] {
        assert!(
            apply.stdout.contains(done),
            "independent work went on: {done}: {apply:?}"
        );
    }
    assert!(
        !apply
            .stdout
            .contains("fabric_service_instance.chat: Creating"),
        "{apply:?}"
    );
    let list = work.run(&["state", "list"]);
    for addr in [
        "fabric_workspace.main",
        "fabric_model.llama",
        "alaya_expert_deployment.vllm",
        "fabric_endpoint.chat",
    ] {
        assert!(
            list.stdout.lines().any(|l| l == addr),
            "{addr} is recorded: {list:?}"
        );
    }

    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let plan = work.run(&["plan", "--local-cloud"]);
    assert!(
        plan.stdout
            .contains("# fabric_endpoint.chat is tainted, so must be replaced"),
        "{plan:?}"
    );
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let objects = work.cloud_objects();
    for kind in [
        "fabric_workspace",
        "fabric_endpoint",
        "fabric_model",
        "fabric_service_instance",
        "alaya_expert_deployment",
    ] {
        assert_eq!(kinds(&objects, kind), 1, "exactly one {kind}: {objects}");
    }
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn a_process_killed_mid_apply_leaves_nothing_orphaned() {
    let work = Work::quickstart();
    work.cloud_config(r#"{"timings": {"all_ms": 1500}}"#);
    let mut child = work
        .command(&["apply", "--local-cloud", "--auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("fabric_endpoint.chat: Creating...") {
            break;
        }
    }
    // The endpoint's create has been sent, and it stays CREATING for 1.5 s: kill it mid-way.
    std::thread::sleep(std::time::Duration::from_millis(600));
    child.kill().unwrap(); // SIGKILL: no chance to record anything more
    child.wait().unwrap();

    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let objects = work.cloud_objects();
    for kind in [
        "fabric_workspace",
        "fabric_endpoint",
        "fabric_model",
        "fabric_service_instance",
        "alaya_expert_deployment",
    ] {
        assert_eq!(
            kinds(&objects, kind),
            1,
            "exactly one {kind}, none orphaned or duplicated: {objects}"
        );
    }
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let destroy = work.run(&["destroy", "--local-cloud", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert_eq!(count(&work.cloud_objects()), 0);
}

#[test]
fn moved_blocks_rename_without_replacing() {
    let work = Work::new(&[(
        "main.hcl",
        "resource \"inferform_data\" \"old\" {\n  input = 1\n}\n",
    )]);
    assert_eq!(work.run(&["apply", "--auto-approve"]).code, 0);
    let id = work.run(&["state", "show", "inferform_data.old"]).stdout;
    work.write("main.hcl", "resource \"inferform_data\" \"new\" {\n  input = 1\n}\n\nmoved {\n  from = inferform_data.old\n  to   = inferform_data.new\n}\n");
    let plan = work.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(
        plan.stdout
            .contains("# inferform_data.old has moved to inferform_data.new"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to destroy."),
        "{plan:?}"
    );
    assert_eq!(work.run(&["apply", "--auto-approve"]).code, 0);
    let list = work.run(&["state", "list"]);
    assert_eq!(list.stdout.trim(), "inferform_data.new");
    let moved = work.run(&["state", "show", "inferform_data.new"]).stdout;
    let id_line = |s: &str| {
        s.lines()
            .find(|l| l.trim_start().starts_with("id "))
            .map(str::to_string)
    };
    assert_eq!(
        id_line(&id),
        id_line(&moved),
        "the same object, not a new one"
    );
}

#[test]
fn import_block_and_import_command_adopt_existing_objects() {
    let config = "provider \"fabric\" {\n  region = \"cn-north-4\"\n}\n\nresource \"fabric_workspace\" \"main\" {\n  name        = \"made-by-hand\"\n  description = \"hand\"\n}\n";
    let work = Work::new(&[("main.hcl", config)]);
    // Start the local cloud once so its data folder exists, then create an object by hand.
    assert_eq!(work.run(&["plan", "--local-cloud"]).code, 0);
    let (status, body) = work.with_cloud(|addr| {
        http_call(
            addr,
            "POST",
            "/v1/workspaces",
            Some(r#"{"name": "made-by-hand", "description": "hand"}"#),
        )
    });
    assert!(status < 300, "{status} {body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    work.write(
        "imports.hcl",
        &format!("import {{\n  to = fabric_workspace.main\n  id = \"{id}\"\n}}\n"),
    );
    let plan = work.run(&["plan", "--local-cloud"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("# fabric_workspace.main will be imported"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."),
        "{plan:?}"
    );
    assert_eq!(
        work.run(&["apply", "--local-cloud", "--auto-approve"]).code,
        0
    );
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert_eq!(kinds(&work.cloud_objects(), "fabric_workspace"), 1);

    // The command: forget it, then import it again.
    std::fs::remove_file(work.path().join("imports.hcl")).unwrap();
    assert_eq!(work.run(&["state", "rm", "fabric_workspace.main"]).code, 0);
    let import = work.run(&["import", "--local-cloud", "fabric_workspace.main", &id]);
    assert_eq!(import.code, 0, "{import:?}");
    assert!(import.stdout.contains("Import successful!"), "{import:?}");
    let again = work.run(&["import", "--local-cloud", "fabric_workspace.main", &id]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("already managed"), "{again:?}");
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn target_replace_create_before_destroy_and_prevent_destroy() {
    let config = r#"
resource "inferform_data" "a" {
  input = "a"
}

resource "inferform_data" "b" {
  input = "b"
  lifecycle {
    create_before_destroy = true
  }
}

resource "inferform_data" "c" {
  input = inferform_data.b.output
}
"#;
    let work = Work::new(&[("main.hcl", config)]);
    let plan = work.run(&["plan", "--target", "inferform_data.c"]);
    assert!(
        plan.stdout.contains("Resource targeting is in effect"),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains("Plan: 2 to add"),
        "c and what it needs: {plan:?}"
    );
    assert!(
        !plan.stdout.contains("inferform_data.a will be created"),
        "{plan:?}"
    );
    assert_eq!(work.run(&["apply", "--auto-approve"]).code, 0);

    let plan = work.run(&["plan", "--replace", "inferform_data.b"]);
    assert!(
        plan.stdout
            .contains("# inferform_data.b will be replaced, as requested"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("+/- resource \"inferform_data\" \"b\""),
        "create before destroy: {plan:?}"
    );
    let apply = work.run(&["apply", "--auto-approve", "--replace", "inferform_data.b"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    let protected = config.replace(
        "input = \"a\"",
        "input = \"a\"\n  lifecycle {\n    prevent_destroy = true\n  }",
    );
    work.write("main.hcl", &protected);
    let destroy = work.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 1, "{destroy:?}");
    assert!(destroy.stderr.contains("prevent_destroy"), "{destroy:?}");
    assert!(destroy.stderr.contains("main.hcl:"), "{destroy:?}");
    assert_eq!(
        work.run(&["state", "list"]).stdout.lines().count(),
        3,
        "nothing was destroyed"
    );
    work.write("main.hcl", config);
    let destroy = work.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(
        destroy
            .stdout
            .contains("Destroy complete! Resources: 3 destroyed."),
        "{destroy:?}"
    );
}

#[test]
fn state_commands_list_show_mv_rm_pull_push() {
    let work = Work::quickstart();
    assert_eq!(
        work.run(&["apply", "--local-cloud", "--auto-approve"]).code,
        0
    );
    let list = work.run(&["state", "list"]);
    assert_eq!(list.stdout.lines().count(), 5, "{list:?}");
    let show = work.run(&["state", "show", "alaya_expert_deployment.vllm"]);
    // State keeps no apiKey at all: every read of the deployment gives it again.
    assert!(
        show.stdout.contains("service_url") && !show.stdout.contains("api_key"),
        "{show:?}"
    );
    let api_key = work.cloud_objects()["alaya_expert_deployment"][0]["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!show.stdout.contains(&api_key));

    let pull = work.run(&["state", "pull"]);
    assert_eq!(pull.code, 0, "{pull:?}");
    assert!(
        !pull.stdout.contains(&api_key),
        "state pull leaves secrets out"
    );
    work.write("pulled.json", &pull.stdout);

    assert_eq!(
        work.run(&["state", "mv", "fabric_model.llama", "fabric_model.other"])
            .code,
        0
    );
    assert!(work
        .run(&["state", "list"])
        .stdout
        .contains("fabric_model.other"));
    let rm = work.run(&["state", "rm", "fabric_model.other"]);
    assert_eq!(rm.code, 0, "{rm:?}");
    assert!(
        rm.stdout
            .contains("Successfully removed 1 resource instance(s)."),
        "{rm:?}"
    );

    let push = work.run(&["state", "push", "pulled.json"]);
    assert_eq!(push.code, 1, "an older serial is refused: {push:?}");
    let push = work.run(&["state", "push", "--force", "pulled.json"]);
    assert_eq!(push.code, 0, "{push:?}");
    assert!(work
        .run(&["state", "list"])
        .stdout
        .contains("fabric_model.llama"));
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "after a push and a refresh nothing changes: {plan:?}"
    );

    let graph = work.run(&["graph"]);
    assert!(
        graph
            .stdout
            .contains("\"fabric_service_instance.chat\" -> \"fabric_endpoint.chat\""),
        "{graph:?}"
    );
}

#[test]
fn data_sources_provider_aliases_and_variable_validation() {
    let base = r#"
provider "fabric" {
  region = "cn-north-4"
}

provider "fabric" {
  alias  = "west"
  region = "cn-southwest-2"
}

variable "env" {
  type    = string
  default = "dev"
  validation {
    condition     = contains(["dev", "prod"], var.env)
    error_message = "env must be dev or prod."
  }
}

resource "fabric_workspace" "main" {
  name = "ws-${var.env}"
}

resource "fabric_workspace" "west" {
  provider = fabric.west
  name     = "ws-west"
}
"#;
    let work = Work::new(&[("main.hcl", base)]);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(kinds(&work.cloud_objects(), "fabric_workspace"), 2);

    // A data source reads an existing object at plan time: its id is known in the plan.
    let id = work.cloud_objects()["fabric_workspace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "ws-dev")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    work.write(
        "data.hcl",
        "data \"fabric_workspace\" \"found\" {\n  name = \"ws-dev\"\n}\n\nresource \"inferform_data\" \"copy\" {\n  input = data.fabric_workspace.found.id\n}\n",
    );
    let plan = work.run(&["plan", "--local-cloud"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout.contains(&format!("+ input  = \"{id}\"")),
        "the data source's id is known at plan time: {plan:?}"
    );

    // A data source that finds nothing is a clear error.
    work.write(
        "data.hcl",
        "data \"fabric_workspace\" \"found\" {\n  name = \"no-such-workspace\"\n}\n",
    );
    let plan = work.run(&["plan", "--local-cloud"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr.contains("data.fabric_workspace.found"),
        "{plan:?}"
    );
    std::fs::remove_file(work.path().join("data.hcl")).unwrap();

    // An undeclared alias is pointed at.
    work.write("bad.hcl", "resource \"fabric_workspace\" \"east\" {\n  provider = fabric.east\n  name     = \"e\"\n}\n");
    let out = work.run(&["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("provider configuration `fabric.east` is not declared"),
        "{out:?}"
    );
    assert!(out.stderr.contains("bad.hcl:2:14"), "{out:?}");
    std::fs::remove_file(work.path().join("bad.hcl")).unwrap();

    // A failing validation names the variable, shows the message, points at the condition.
    let out = work.run(&["plan", "--local-cloud", "--var", "env=test"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("invalid value for variable `env`: env must be dev or prod."),
        "{out:?}"
    );
    assert!(out.stderr.contains("main.hcl:15:21"), "{out:?}");
}

#[test]
fn parallelism_bounds_calls_not_waits() {
    let mut config = String::from("provider \"fabric\" {\n  region = \"cn-north-4\"\n}\n\nresource \"fabric_workspace\" \"main\" {\n  name = \"ws\"\n}\n");
    for i in 0..4 {
        config.push_str(&format!(
            "\nresource \"fabric_endpoint\" \"e{i}\" {{\n  workspace_id = fabric_workspace.main.id\n  name         = \"e{i}\"\n  type         = \"inference\"\n}}\n"
        ));
    }
    let work = Work::new(&[("main.hcl", &config)]);
    work.cloud_config(r#"{"timings": {"all_ms": 1500}}"#);
    let apply = work.run(&[
        "apply",
        "--local-cloud",
        "--auto-approve",
        "--parallelism",
        "1",
    ]);
    assert_eq!(apply.code, 0, "{apply:?}");
    // With one call slot, every endpoint still starts while the others wait for RUNNING.
    let last_start = (0..4)
        .map(|i| line_of(&apply.stdout, &format!("fabric_endpoint.e{i}: Creating...")))
        .max()
        .unwrap();
    let first_done = (0..4)
        .map(|i| {
            line_of(
                &apply.stdout,
                &format!("fabric_endpoint.e{i}: Creation complete"),
            )
        })
        .min()
        .unwrap();
    assert!(last_start < first_done, "waits held call slots: {apply:?}");
}

#[test]
fn ctrl_c_lets_work_in_flight_finish_and_records_it() {
    let work = Work::quickstart();
    work.cloud_config(r#"{"timings": {"all_ms": 1500}}"#);
    let mut child = work
        .command(&["apply", "--local-cloud", "--auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("fabric_endpoint.chat: Creating...") {
            break;
        }
    }
    // The endpoint stays CREATING for 1.5 s: interrupt while it is in flight.
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SIGINT, as Ctrl-C sends it.
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for line in lines {
        seen.push_str(&line.unwrap());
        seen.push('\n');
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let code = child.wait().unwrap().code();
    assert_eq!(
        code,
        Some(1),
        "an interrupted apply fails: {seen}\n{stderr}"
    );
    assert!(stderr.contains("Interrupt received"), "{stderr}");
    assert!(
        seen.contains("fabric_endpoint.chat: Creation complete"),
        "the endpoint in flight finished: {seen}"
    );
    assert!(
        !seen.contains("fabric_service_instance.chat: Creating"),
        "nothing new started: {seen}"
    );
    let list = work.run(&["state", "list"]);
    assert!(
        list.stdout.lines().any(|l| l == "fabric_endpoint.chat"),
        "and it is recorded: {list:?}"
    );

    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let objects = work.cloud_objects();
    for kind in [
        "fabric_workspace",
        "fabric_endpoint",
        "fabric_model",
        "fabric_service_instance",
        "alaya_expert_deployment",
    ] {
        assert_eq!(kinds(&objects, kind), 1, "exactly one {kind}: {objects}");
    }
}

/// Lowering `count` deletes the last instances: a splat over the resource then sees only
/// those left, in the plan and in the apply (a null in a deleted one's place made
/// `x[*].output` fail). A count given on the command line is a string of a number, which
/// counts as Terraform converts it.
#[test]
fn lowering_count_shrinks_what_splats_see() {
    let hcl = r#"
variable "n" {
  default = 3
}

resource "inferform_data" "x" {
  count = var.n
  input = count.index
}

output "all" {
  value = inferform_data.x[*].output
}
"#;
    let work = Work::new(&[("main.hcl", hcl)]);
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let plan = work.run(&["plan", "--var", "n=1"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("2 to destroy"), "{plan:?}");
    let apply = work.run(&["apply", "--auto-approve", "--var", "n=1"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let out: serde_json::Value =
        serde_json::from_str(&work.run(&["output", "--json"]).stdout).expect("JSON");
    assert_eq!(out["all"]["value"], serde_json::json!([0]));
}
