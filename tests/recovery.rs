//! Crash recovery through the binary, against the local cloud: a run killed in the middle of a
//! create or a delete, an object removed behind inferform's back, a create whose answer cannot
//! be read. After each, the next apply must leave the cloud holding exactly the configured
//! objects, each healthy, state matching it, and the plan after that empty.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::*;

/// A Fabric stack: a workspace, an endpoint and a model, and a service instance that needs
/// the endpoint running.
const FABRIC_STACK: &str = r#"
provider "fabric" {
  region = "cn-southwest-2"
}

resource "fabric_workspace" "main" {
  name        = "recovery"
  description = "recovery tests"
}

resource "fabric_endpoint" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat"
  type         = "inference"
  reserved_resource {
    mu {
      spec_code = "mu.llama3.8b"
      min       = 0
      max       = 1
    }
  }
}

resource "fabric_model" "llama" {
  workspace_id = fabric_workspace.main.id
  name         = "llama3-8b"
  type         = "LLM_MODEL"
  version {
    name = "v1"
    config {
      llm_model_config {
        base_model_type = "llama3-8b"
        model_path      = "obs://models/llama3"
      }
    }
  }
}

resource "fabric_service_instance" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat"
  endpoint_id  = fabric_endpoint.chat.id
  source {
    id = fabric_model.llama.id
  }
}
"#;

/// The objects of one kind the local cloud holds.
fn of_kind<'a>(objects: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    objects[kind]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// The `status` of an object as the local cloud shows it.
fn status(o: &serde_json::Value) -> String {
    o["status"]
        .as_str()
        .or_else(|| o["body"]["status"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Starts `apply` and kills it (SIGKILL) `after` the line containing `marker` is printed.
fn kill_apply_after(work: &Work, args: &[&str], marker: &str, after: Duration) {
    let mut full = vec!["apply", "--local-cloud", "--auto-approve"];
    full.extend_from_slice(args);
    let mut child = work
        .command(&full)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start apply");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let mut found = false;
    for line in lines.by_ref() {
        let line = line.expect("read stdout");
        seen.push(line.clone());
        if line.contains(marker) {
            found = true;
            break;
        }
    }
    assert!(found, "no line with {marker:?} in:\n{}", seen.join("\n"));
    // Keep reading, so the child never blocks on a full pipe, until it is time to kill it.
    let start = Instant::now();
    std::thread::sleep(after.saturating_sub(start.elapsed()));
    child.kill().expect("SIGKILL"); // no chance to record anything more
    child.wait().expect("reap");
}

/// Checks that the cloud holds exactly one of each object of the Fabric stack, each
/// running and wired to its own parents, that state says the same, and that the next plan is
/// empty.
fn assert_fabric_stack_healthy(work: &Work) {
    let objects = work.cloud_objects();
    for kind in [
        "fabric_workspace",
        "fabric_endpoint",
        "fabric_model",
        "fabric_service_instance",
    ] {
        assert_eq!(of_kind(&objects, kind).len(), 1, "one {kind}: {objects}");
    }
    let endpoint = of_kind(&objects, "fabric_endpoint")[0];
    let instance = of_kind(&objects, "fabric_service_instance")[0];
    assert_eq!(status(endpoint), "RUNNING", "{objects}");
    assert_eq!(status(instance), "RUNNING", "{objects}");
    assert_eq!(instance["endpoint_id"], endpoint["id"], "{objects}");
    let shown = work.run(&["state", "show", "fabric_endpoint.chat"]);
    assert!(
        shown.stdout.contains("\"RUNNING\"") && !shown.stdout.contains("tainted"),
        "{shown:?}"
    );
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "the next plan is empty: {plan:?}");
}

/// Issue 12, item 1: a run killed while the cloud is creating an object whose create then
/// fails. The next run finds the object by name; it must not adopt it as healthy but wait for
/// it to settle, see it failed, and replace it, as a failed create is replaced.
#[test]
fn an_interrupted_create_that_fails_is_adopted_tainted_and_replaced() {
    let work = Work::new(&[("main.hcl", FABRIC_STACK)]);
    work.cloud_config(
        r#"{"timings": {"all_ms": 3000},
            "faults": {"calls": {"fabric.endpoint.create": {"create_failure_rate": 1.0}}}}"#,
    );
    kill_apply_after(
        &work,
        &[],
        "fabric_endpoint.chat: Creating...",
        Duration::from_millis(1500),
    );
    // The endpoint is still CREATING, and will end CREATE_FAILED.
    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stdout
            .contains("fabric_endpoint.chat is tainted, so must be replaced"),
        "the failed endpoint is replaced: {apply:?}"
    );
    assert_fabric_stack_healthy(&work);
}

/// Issue 12, item 1, the other way round: the failed status is already there when the next
/// run looks. Adopted, the object is tainted in state, so a run that cannot replace it yet
/// still replaces it later.
#[test]
fn an_interrupted_create_found_failed_is_recorded_tainted() {
    let work = Work::new(&[("main.hcl", FABRIC_STACK)]);
    work.cloud_config(
        r#"{"timings": {"all_ms": 1000},
            "faults": {"calls": {"fabric.endpoint.create": {"create_failure_rate": 1.0}}}}"#,
    );
    kill_apply_after(
        &work,
        &[],
        "fabric_endpoint.chat: Creating...",
        Duration::from_millis(300),
    );
    // The endpoint is CREATE_FAILED by now.
    std::thread::sleep(Duration::from_millis(1200));
    // Every create fails for now: the replacement fails too, and the record stays tainted.
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_ne!(apply.code, 0, "{apply:?}");
    let shown = work.run(&["state", "show", "fabric_endpoint.chat"]);
    assert!(shown.stdout.contains("tainted"), "{shown:?}");
    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_fabric_stack_healthy(&work);
}

/// Alaya deployments, as many as `var.n`.
fn alaya_deployments() -> String {
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/quickstart/alaya.hcl"),
    )
    .expect("the quickstart's Alaya deployment");
    let block = example
        .replace(
            "resource \"alaya_expert_deployment\" \"vllm\" {",
            "resource \"alaya_expert_deployment\" \"dep\" {\n  count = var.n",
        )
        .replace(
            "name        = \"test-expert\"",
            "name        = \"dep-${count.index}\"",
        );
    format!("provider \"alaya\" {{}}\n\nvariable \"n\" {{\n  type = number\n}}\n\n{block}")
}

/// Issue 12, item 1, on Alaya: a deployment whose create ends `failed` after the run that
/// started it was killed is replaced, not adopted as healthy.
#[test]
fn an_interrupted_alaya_create_that_fails_is_replaced() {
    let work = Work::new(&[("main.hcl", &alaya_deployments())]);
    work.cloud_config(
        r#"{"timings": {"all_ms": 3000},
            "faults": {"calls": {"alaya.deployment.create": {"create_failure_rate": 1.0}}}}"#,
    );
    kill_apply_after(
        &work,
        &["--var", "n=1"],
        "alaya_expert_deployment.dep[0]: Creating...",
        Duration::from_millis(1500),
    );
    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve", "--var", "n=1"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stdout
            .contains("alaya_expert_deployment.dep[0] is tainted, so must be replaced"),
        "{apply:?}"
    );
    let objects = work.cloud_objects();
    let deployments = of_kind(&objects, "alaya_expert_deployment");
    assert_eq!(deployments.len(), 1, "{objects}");
    assert_eq!(status(deployments[0]), "running", "{objects}");
    let plan = work.run(&[
        "plan",
        "--local-cloud",
        "--detailed-exitcode",
        "--var",
        "n=1",
    ]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

/// Issue 12, item 2: a run killed while deleting. The next run finds the object gone; the
/// record must leave state then (not only after a `refresh`), and the plan after be empty.
#[test]
fn a_run_killed_mid_delete_leaves_no_record_of_the_deleted_object() {
    let work = Work::new(&[("main.hcl", &alaya_deployments())]);
    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve", "--var", "n=2"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    work.cloud_config(r#"{"timings": {"all_ms": 300, "alaya_stopping_ms": 3000}}"#);
    kill_apply_after(
        &work,
        &["--var", "n=1"],
        "alaya_expert_deployment.dep[1]: Destroying...",
        Duration::from_millis(1500),
    );
    std::thread::sleep(Duration::from_millis(2000)); // the delete finishes in the cloud
    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve", "--var", "n=1"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let list = work.run(&["state", "list"]);
    assert_eq!(
        list.stdout.trim(),
        "alaya_expert_deployment.dep[0]",
        "{list:?}\n{apply:?}"
    );
    let objects = work.cloud_objects();
    assert_eq!(
        of_kind(&objects, "alaya_expert_deployment").len(),
        1,
        "{objects}"
    );
    let plan = work.run(&[
        "plan",
        "--local-cloud",
        "--detailed-exitcode",
        "--var",
        "n=1",
    ]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(!plan.stdout.contains("has been deleted"), "{plan:?}");
}

/// Issue 12, item 2, without a kill: an object deleted outside inferform and taken out of the
/// configuration. Apply drops its record, as `refresh` would.
#[test]
fn an_object_deleted_outside_and_unconfigured_leaves_state() {
    let two = r#"
provider "fabric" {
  region = "cn-southwest-2"
}

resource "fabric_workspace" "keep" {
  name = "keep"
}
"#;
    let extra = "\nresource \"fabric_workspace\" \"gone\" {\n  name = \"gone\"\n}\n";
    let work = Work::new(&[("main.hcl", &format!("{two}{extra}"))]);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let objects = work.cloud_objects();
    let id = of_kind(&objects, "fabric_workspace")
        .into_iter()
        .find(|w| w["name"] == "gone")
        .and_then(|w| w["id"].as_str())
        .expect("the workspace `gone`")
        .to_string();
    let (code, body) =
        work.with_cloud(|addr| http_call(addr, "DELETE", &format!("/v1/workspaces/{id}"), None));
    assert!(code < 300, "{code} {body}");
    work.write("main.hcl", two);

    let plan = work.run(&["plan", "--local-cloud"]);
    assert!(
        plan.stdout
            .contains("fabric_workspace.gone has been deleted"),
        "{plan:?}"
    );
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let list = work.run(&["state", "list"]);
    assert_eq!(list.stdout.trim(), "fabric_workspace.keep", "{list:?}");
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(!plan.stdout.contains("has been deleted"), "{plan:?}");
}

/// An object deleted outside inferform that an output reads: `refresh` drops its record and
/// the output it can no longer work out, and plan proposes to create it again.
#[test]
fn refresh_drops_a_gone_object_and_the_outputs_that_read_it() {
    let hcl = r#"
provider "fabric" {
  region = "cn-southwest-2"
}

resource "fabric_workspace" "main" {
  name = "gone"
}

output "id" {
  value = fabric_workspace.main.id
}

output "fixed" {
  value = "kept"
}
"#;
    let work = Work::new(&[("main.hcl", hcl)]);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let id = work.run(&["output", "--raw", "id"]).stdout;
    let (code, body) =
        work.with_cloud(|addr| http_call(addr, "DELETE", &format!("/v1/workspaces/{id}"), None));
    assert!(code < 300, "{code} {body}");

    let refresh = work.run(&["refresh", "--local-cloud"]);
    assert_eq!(refresh.code, 0, "{refresh:?}");
    let list = work.run(&["state", "list"]);
    assert_eq!(list.stdout.trim(), "", "{list:?}");
    let outputs = work.run(&["output", "--json"]);
    let outputs: serde_json::Value = serde_json::from_str(&outputs.stdout).expect("JSON");
    assert!(outputs.get("id").is_none(), "{outputs}");
    assert_eq!(outputs["fixed"]["value"], "kept", "{outputs}");
    let plan = work.run(&["plan", "--local-cloud"]);
    assert!(plan.stdout.contains("1 to add"), "{plan:?}");
}

/// An apply that fails keeps what its outputs said of the objects that did not change: a
/// failed update leaves the value as the object has it, not as it was planned, and an output
/// that cannot be worked out keeps its recorded value rather than vanishing.
#[test]
fn a_failed_apply_keeps_outputs_true_to_the_objects() {
    let hcl = |desc: &str, extra: &str| {
        format!(
            r#"
provider "fabric" {{
  region = "cn-southwest-2"
}}

resource "fabric_workspace" "main" {{
  name        = "outputs"
  description = "{desc}"
}}

output "description" {{
  value = fabric_workspace.main.description
}}

output "id" {{
  value = fabric_workspace.main.id
}}
{extra}"#
        )
    };
    let work = Work::new(&[("main.hcl", &hcl("first", ""))]);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let before = work.run(&["output", "--json"]).stdout;

    // The update fails, so a new workspace named after it is not attempted.
    let more = r#"
resource "fabric_workspace" "more" {
  name = "more-${fabric_workspace.main.description}"
}

output "more" {
  value = fabric_workspace.more.id
}
"#;
    work.write("main.hcl", &hcl("second", more));
    work.cloud_config(
        r#"{"faults": {"calls": {"fabric.workspace.update": {"update_failure_rate": 1.0}}}}"#,
    );
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_ne!(apply.code, 0, "{apply:?}");
    let outputs: serde_json::Value =
        serde_json::from_str(&work.run(&["output", "--json"]).stdout).expect("JSON");
    let before: serde_json::Value = serde_json::from_str(&before).expect("JSON");
    assert_eq!(outputs["description"]["value"], "first", "{outputs}");
    assert_eq!(outputs["id"], before["id"], "{outputs}");
    assert!(outputs.get("more").is_none(), "{outputs}");
}

/// A workspace and an endpoint in it.
const WORKSPACE_AND_ENDPOINT: &str = r#"
provider "fabric" {
  region = "cn-southwest-2"
}

resource "fabric_workspace" "main" {
  name = "recovery"
}

resource "fabric_endpoint" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat"
  type         = "inference"
}
"#;

/// Issue 12, item 5: the cloud makes the endpoint but answers its create with a body that
/// cannot be read. The apply looks the object up by name and adopts it at once.
#[test]
fn a_create_answered_unreadably_is_adopted_by_name() {
    for kind in [
        "garbage",
        "empty",
        "wrong_shape",
        "truncated",
        "wrong_content_type",
    ] {
        let work = Work::new(&[("main.hcl", WORKSPACE_AND_ENDPOINT)]);
        work.cloud_config(&format!(
            r#"{{"timings": {{"all_ms": 300}},
                "faults": {{"calls": {{"fabric.endpoint.create":
                    {{"malformed_rate": 1.0, "malformed": "{kind}"}}}}}}}}"#
        ));
        let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
        assert_eq!(apply.code, 0, "{kind}: {apply:?}");
        let objects = work.cloud_objects();
        let endpoints = of_kind(&objects, "fabric_endpoint");
        assert_eq!(endpoints.len(), 1, "{kind}: {objects}");
        let shown = work.run(&["state", "show", "fabric_endpoint.chat"]);
        let id = endpoints[0]["id"].as_str().unwrap_or_default();
        assert!(shown.stdout.contains(id), "{kind}: {shown:?}");
        let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "{kind}: {plan:?}");
    }
}

/// Issue 12, item 5, when the look-up cannot tell either (the list fails too): the apply
/// fails, but keeps the create's intent, and the next run adopts the object by name rather
/// than fail with "already exists" for ever.
#[test]
fn a_create_of_unknown_outcome_keeps_its_intent_for_the_next_run() {
    let work = Work::new(&[("main.hcl", WORKSPACE_AND_ENDPOINT)]);
    work.cloud_config(
        r#"{"timings": {"all_ms": 300},
            "faults": {"calls": {
                "fabric.endpoint.create": {"malformed_rate": 1.0, "malformed": "garbage"},
                "fabric.endpoint.list": {"error_rate": 1.0}}}}"#,
    );
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_ne!(apply.code, 0, "{apply:?}");
    assert_eq!(
        of_kind(&work.cloud_objects(), "fabric_endpoint").len(),
        1,
        "the cloud made it"
    );

    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stdout
            .contains("fabric_endpoint.chat: found the object an interrupted run was creating"),
        "{apply:?}"
    );
    assert!(!apply.stdout.contains("already exists"), "{apply:?}");
    let objects = work.cloud_objects();
    assert_eq!(of_kind(&objects, "fabric_endpoint").len(), 1, "{objects}");
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

/// An endpoint and the service instance on it, both `create_before_destroy`, whose names
/// follow `var.suffix`.
const CBD_STACK: &str = r#"
provider "fabric" {
  region = "cn-southwest-2"
}

variable "suffix" {
  type    = string
  default = ""
}

resource "fabric_workspace" "main" {
  name        = "cbd"
  description = "create_before_destroy"
}

resource "fabric_endpoint" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat${var.suffix}"
  type         = "inference"
  reserved_resource {
    mu {
      spec_code = "mu.llama3.8b"
      min       = 0
      max       = 1
    }
  }
  lifecycle {
    create_before_destroy = true
  }
}

resource "fabric_model" "llama" {
  workspace_id = fabric_workspace.main.id
  name         = "llama3-8b"
  type         = "LLM_MODEL"
  version {
    name = "v1"
    config {
      llm_model_config {
        base_model_type = "llama3-8b"
        model_path      = "obs://models/llama3"
      }
    }
  }
}

resource "fabric_service_instance" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat${var.suffix}"
  endpoint_id  = fabric_endpoint.chat.id
  source {
    id = fabric_model.llama.id
  }
  lifecycle {
    create_before_destroy = true
  }
}
"#;

/// A create_before_destroy endpoint replaced together with the instance it serves: the
/// local cloud refuses to delete an endpoint that still serves an instance, so the old
/// endpoint must go after the old instance, which goes after the new instance stands.
/// Afterwards the cloud holds exactly the new objects and state no deposed object.
#[test]
fn a_create_before_destroy_endpoint_and_its_instance_are_replaced_in_terraform_order() {
    let work = Work::new(&[("main.hcl", CBD_STACK)]);
    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let before = work.cloud_objects();
    let old_endpoint = of_kind(&before, "fabric_endpoint")[0]["id"].clone();
    let old_instance = of_kind(&before, "fabric_service_instance")[0]["id"].clone();

    let replace = [
        "apply",
        "--local-cloud",
        "--auto-approve",
        "--replace",
        "fabric_endpoint.chat",
        "--var",
        "suffix=-2",
    ];
    let apply = work.run(&replace);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply.stdout.contains("2 added, 0 changed, 2 destroyed"),
        "{apply:?}"
    );
    // The old instance goes before the old endpoint, and both after the new instance; the
    // old objects are named as Terraform names deposed objects.
    let at = |start: &str, end: &str| {
        apply
            .stdout
            .lines()
            .position(|l| l.starts_with(start) && l.contains(end))
            .unwrap_or_else(|| panic!("no line {start:?}…{end:?} in {apply:?}"))
    };
    let instance_created = at("fabric_service_instance.chat: ", "Creation complete");
    let instance_destroyed = at(
        "fabric_service_instance.chat (deposed object ",
        "): Destruction complete",
    );
    let endpoint_destroying = at("fabric_endpoint.chat (deposed object ", "): Destroying...");
    assert!(instance_created < instance_destroyed, "{apply:?}");
    assert!(instance_destroyed < endpoint_destroying, "{apply:?}");

    let objects = work.cloud_objects();
    let endpoints = of_kind(&objects, "fabric_endpoint");
    let instances = of_kind(&objects, "fabric_service_instance");
    assert_eq!((endpoints.len(), instances.len()), (1, 1), "{objects}");
    assert_ne!(endpoints[0]["id"], old_endpoint, "{objects}");
    assert_ne!(instances[0]["id"], old_instance, "{objects}");
    assert_eq!(endpoints[0]["name"], "chat-2", "{objects}");
    assert_eq!(instances[0]["endpoint_id"], endpoints[0]["id"], "{objects}");
    assert_eq!(status(instances[0]), "RUNNING", "{objects}");

    let pulled = work.run(&["state", "pull"]);
    assert_eq!(pulled.code, 0, "{pulled:?}");
    assert!(!pulled.stdout.contains("deposed"), "{pulled:?}");
    let plan = work.run(&[
        "plan",
        "--local-cloud",
        "--detailed-exitcode",
        "--var",
        "suffix=-2",
    ]);
    assert_eq!(plan.code, 0, "the next plan is empty: {plan:?}");
}

/// The old endpoint's delete failing after its replacement was made: the old endpoint stays
/// in state as a deposed object (not orphaned), the next plan destroys it, and the next apply
/// does, leaving the cloud with the new objects only.
#[test]
fn a_failed_delete_of_a_replaced_endpoint_leaves_it_deposed_for_the_next_apply() {
    let work = Work::new(&[("main.hcl", CBD_STACK)]);
    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    work.cloud_config(
        r#"{"timings": {"all_ms": 300}, "faults": {"calls": {"fabric.endpoint.delete": {"error_rate": 1.0}}}}"#,
    );
    let replace = [
        "apply",
        "--local-cloud",
        "--auto-approve",
        "--replace",
        "fabric_endpoint.chat",
        "--var",
        "suffix=-2",
    ];
    let apply = work.run(&replace);
    assert_eq!(apply.code, 1, "{apply:?}");
    let all = format!("{}{}", apply.stdout, apply.stderr);
    assert!(all.contains("deposed object"), "{apply:?}");
    assert!(!all.contains("by hand"), "{apply:?}");
    assert_eq!(
        of_kind(&work.cloud_objects(), "fabric_endpoint").len(),
        2,
        "the old endpoint is still there"
    );
    let pulled = work.run(&["state", "pull"]);
    assert!(pulled.stdout.contains("\"deposed\""), "{pulled:?}");

    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let plan = work.run(&["plan", "--local-cloud", "--var", "suffix=-2"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("# fabric_endpoint.chat (deposed object ")
            && plan.stdout.contains(") will be destroyed"),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains("0 to add, 0 to change, 1 to destroy"),
        "{plan:?}"
    );
    let saved = work.run(&[
        "plan",
        "--local-cloud",
        "--var",
        "suffix=-2",
        "--out",
        "p.json",
    ]);
    assert_eq!(saved.code, 0, "{saved:?}");
    let show = work.run(&["show", "--json", "p.json"]);
    assert_eq!(show.code, 0, "{show:?}");
    let doc: serde_json::Value = serde_json::from_str(show.stdout.trim()).expect("show --json");
    let changes = doc["resource_changes"]
        .as_array()
        .expect("resource_changes");
    let deposed: Vec<_> = changes
        .iter()
        .filter(|c| c.get("deposed").is_some())
        .collect();
    assert_eq!(deposed.len(), 1, "{doc}");
    assert_eq!(deposed[0]["address"], "fabric_endpoint.chat", "{doc}");
    assert_eq!(
        deposed[0]["change"]["actions"],
        serde_json::json!(["delete"]),
        "{doc}"
    );
    let apply = work.run(&["apply", "--local-cloud", "p.json"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let objects = work.cloud_objects();
    let endpoints = of_kind(&objects, "fabric_endpoint");
    assert_eq!(endpoints.len(), 1, "{objects}");
    assert_eq!(endpoints[0]["name"], "chat-2", "{objects}");
    let pulled = work.run(&["state", "pull"]);
    assert!(!pulled.stdout.contains("\"deposed\""), "{pulled:?}");
    let plan = work.run(&[
        "plan",
        "--local-cloud",
        "--detailed-exitcode",
        "--var",
        "suffix=-2",
    ]);
    assert_eq!(plan.code, 0, "the next plan is empty: {plan:?}");
}

/// A run killed (SIGKILL) once the new endpoint of a create_before_destroy replacement
/// stands, while the new instance is being created: the old endpoint is in state as a
/// deposed object, so the next apply adopts or finishes what was in flight, destroys the old
/// instance and then the old endpoint, and leaves the cloud with exactly the new objects.
#[test]
fn a_run_killed_mid_create_before_destroy_leaves_nothing_behind() {
    let work = Work::new(&[("main.hcl", CBD_STACK)]);
    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    work.cloud_config(r#"{"timings": {"all_ms": 300, "instance_create_ms": 3000}}"#);
    kill_apply_after(
        &work,
        &["--replace", "fabric_endpoint.chat", "--var", "suffix=-2"],
        "fabric_service_instance.chat: Creating...",
        Duration::from_millis(500),
    );
    let pulled = work.run(&["state", "pull"]);
    assert!(pulled.stdout.contains("\"deposed\""), "{pulled:?}");
    assert_eq!(
        of_kind(&work.cloud_objects(), "fabric_endpoint").len(),
        2,
        "the old endpoint and the new one"
    );

    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let apply = work.run(&[
        "apply",
        "--local-cloud",
        "--auto-approve",
        "--var",
        "suffix=-2",
    ]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let objects = work.cloud_objects();
    let endpoints = of_kind(&objects, "fabric_endpoint");
    let instances = of_kind(&objects, "fabric_service_instance");
    assert_eq!((endpoints.len(), instances.len()), (1, 1), "{objects}");
    assert_eq!(endpoints[0]["name"], "chat-2", "{objects}");
    assert_eq!(instances[0]["name"], "chat-2", "{objects}");
    assert_eq!(instances[0]["endpoint_id"], endpoints[0]["id"], "{objects}");
    let pulled = work.run(&["state", "pull"]);
    assert!(!pulled.stdout.contains("\"deposed\""), "{pulled:?}");
    let plan = work.run(&[
        "plan",
        "--local-cloud",
        "--detailed-exitcode",
        "--var",
        "suffix=-2",
    ]);
    assert_eq!(plan.code, 0, "the next plan is empty: {plan:?}");
}
