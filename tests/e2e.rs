//! End-to-end: the real `inferform` binary against the embedded local cloud on 127.0.0.1.
//! Each test copies its configuration into a temporary directory, so tests run in parallel
//! and leave nothing behind.

#[path = "support/mod.rs"]
mod support;

use support::*;

#[test]
fn quickstart_apply_then_no_op_plan_then_destroy() {
    let work = Work::quickstart();

    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 5 added, 0 changed, 0 destroyed."),
        "{apply:?}"
    );
    // Dependencies first: the instance is created only after its endpoint and model.
    assert!(
        line_of(&apply.stdout, "fabric_endpoint.chat: Creation complete")
            < line_of(&apply.stdout, "fabric_service_instance.chat: Creating...")
    );
    assert!(
        line_of(&apply.stdout, "fabric_model.llama: Creation complete")
            < line_of(&apply.stdout, "fabric_service_instance.chat: Creating...")
    );
    // Everything here is made within a second or two: no "Still creating..." line, which
    // comes only after 10 s (tests/progress.rs shows one, with the status it last saw).
    assert!(
        !apply.stdout.contains("Still creating"),
        "nothing is reported as still going before 10 s: {apply:?}"
    );
    for output in [
        "workspace_id",
        "endpoint_id",
        "model_id",
        "chat_instance_id",
        "alaya_service_id",
    ] {
        assert!(
            apply.stdout.contains(&format!("{output} = \"")),
            "output {output}: {apply:?}"
        );
    }

    let objects = work.cloud_objects();
    for kind in [
        "fabric_workspace",
        "fabric_endpoint",
        "fabric_model",
        "fabric_service_instance",
        "alaya_expert_deployment",
    ] {
        assert_eq!(
            objects[kind].as_array().map(Vec::len),
            Some(1),
            "{kind} in {objects}"
        );
    }
    assert_eq!(objects["fabric_endpoint"][0]["status"], "RUNNING");
    // The API key is a secret: it never shows in the output.
    let api_key = objects["alaya_expert_deployment"][0]["apiKey"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!api_key.is_empty(), "{objects}");
    assert!(!apply.stdout.contains(&api_key) && !apply.stderr.contains(&api_key));

    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("No changes. Your infrastructure matches the configuration."),
        "{plan:?}"
    );

    let output = work.run(&["output", "--raw", "workspace_id"]);
    assert_eq!(output.code, 0, "{output:?}");
    assert_eq!(
        output.stdout,
        objects["fabric_workspace"][0]["id"].as_str().unwrap()
    );

    let destroy = work.run(&["destroy", "--local-cloud", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(
        destroy
            .stdout
            .contains("Destroy complete! Resources: 5 destroyed."),
        "{destroy:?}"
    );
    // Reverse order: the instance goes before the endpoint and model, those before the workspace.
    let out = &destroy.stdout;
    assert!(
        line_of(out, "fabric_service_instance.chat: Destruction complete")
            < line_of(out, "fabric_endpoint.chat: Destroying...")
    );
    assert!(
        line_of(out, "fabric_service_instance.chat: Destruction complete")
            < line_of(out, "fabric_model.llama: Destroying...")
    );
    assert!(
        line_of(out, "fabric_endpoint.chat: Destruction complete")
            < line_of(out, "fabric_workspace.main: Destroying...")
    );
    assert!(
        line_of(out, "fabric_model.llama: Destruction complete")
            < line_of(out, "fabric_workspace.main: Destroying...")
    );

    let objects = work.cloud_objects();
    assert_eq!(
        count(&objects),
        0,
        "the local cloud still holds objects: {objects}"
    );

    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 2,
        "after destroy the plan creates everything again: {plan:?}"
    );
    assert!(
        plan.stdout
            .contains("Plan: 5 to add, 0 to change, 0 to destroy."),
        "{plan:?}"
    );
}

#[test]
fn plan_shows_changes_with_detailed_exitcode() {
    let work = Work::new(&[(
        "main.hcl",
        r#"
resource "inferform_data" "a" {
  input = { name = "x" }
}
"#,
    )]);
    let plan = work.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(
        plan.stdout.contains("# inferform_data.a will be created"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{plan:?}"
    );
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let plan = work.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn apply_without_approval_asks_and_cancels() {
    let work = Work::new(&[("main.hcl", "resource \"inferform_data\" \"a\" {}\n")]);
    let apply = work.run(&["apply"]);
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(
        apply.stderr.contains("Only 'yes' will be accepted"),
        "{apply:?}"
    );
    assert!(apply.stderr.contains("--auto-approve"), "{apply:?}");
    let plan = work.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "nothing was applied: {plan:?}");
}

/// Asserts a clean failure: exit 1, a message naming file and line, no panic.
fn assert_diagnostic(out: &Out, message: &str, location: &str) {
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(message),
        "expected {message:?}: {out:?}"
    );
    assert!(
        out.stderr.contains(location),
        "expected location {location:?}: {out:?}"
    );
    assert!(!out.stderr.contains("panicked"), "{out:?}");
}

#[test]
fn missing_credentials_name_the_provider_block() {
    let work = Work::new(&[(
        "main.hcl",
        "provider \"fabric\" {\n  region = \"cn-north-4\"\n}\n\nresource \"fabric_workspace\" \"main\" {\n  name = \"x\"\n}\n",
    )]);
    let out = work.run(&["plan"]);
    assert_diagnostic(
        &out,
        "provider \"fabric\" has no credentials",
        "main.hcl:1:1",
    );
    assert!(out.stderr.contains("HW_ACCESS_KEY"), "{out:?}");
}

#[test]
fn unknown_resource_type_suggests_the_right_one() {
    let work = Work::new(&[(
        "main.hcl",
        "resource \"fabric_workspce\" \"main\" {\n  name = \"x\"\n}\n",
    )]);
    let out = work.run(&["plan", "--local-cloud"]);
    assert_diagnostic(
        &out,
        "unknown resource type `fabric_workspce`",
        "main.hcl:1:1",
    );
    assert!(
        out.stderr.contains("did you mean `fabric_workspace`?"),
        "{out:?}"
    );
    let out = work.run(&["validate"]);
    assert_diagnostic(
        &out,
        "unknown resource type `fabric_workspce`",
        "main.hcl:1:1",
    );
}

#[test]
fn reference_to_undeclared_resource_points_at_it() {
    let work = Work::new(&[(
        "main.hcl",
        r#"resource "fabric_workspace" "main" {
  name = "x"
}

resource "fabric_endpoint" "chat" {
  workspace_id = fabric_workspace.mian.id
  name         = "chat"
  type         = "inference"
}
"#,
    )]);
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_diagnostic(
        &out,
        "reference to undeclared managed resource `fabric_workspace.mian`",
        "main.hcl:6:18",
    );
    assert!(
        out.stderr.contains("did you mean `fabric_workspace.main`?"),
        "{out:?}"
    );
}

#[test]
fn every_error_is_reported_together() {
    let work = Work::new(&[(
        "main.hcl",
        r#"resource "inferform_data" "a" {
  inptu = 1
}

resource "inferform_data" "b" {
  input = var.nope
}

resource "fabric_workspce" "c" {}
"#,
    )]);
    let out = work.run(&["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
    for expected in [
        "unknown argument `inptu`",
        "main.hcl:2:3",
        "did you mean `input`?",
        "undeclared variable `nope`",
        "main.hcl:6:11",
        "unknown resource type `fabric_workspce`",
        "main.hcl:9:1",
    ] {
        assert!(out.stderr.contains(expected), "{expected}: {out:?}");
    }
}

#[test]
fn syntax_errors_point_at_the_line() {
    let work = Work::new(&[(
        "main.hcl",
        "resource \"inferform_data\" \"a\" {\n  input = \n}\n",
    )]);
    let out = work.run(&["validate"]);
    assert_diagnostic(&out, "syntax error", "main.hcl:");
}

/// Every line of `--json` output is a JSON object with a `type`.
fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("not JSON: {e}: {l}"))
        })
        .inspect(|v| assert!(v["type"].is_string() && v["@message"].is_string(), "{v}"))
        .collect()
}

#[test]
fn machine_readable_plan_apply_and_show() {
    let config = r#"
variable "token" {
  type      = string
  sensitive = true
  default   = "t0p-s3cret"
}

resource "inferform_data" "a" {
  input = { name = "a", token = var.token }
}

output "id" {
  value = inferform_data.a.id
}
"#;
    let work = Work::new(&[("main.hcl", config)]);
    let plan = work.run(&["plan", "--json"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let lines = json_lines(&plan.stdout);
    assert_eq!(lines[0]["type"], "version");
    let change = lines
        .iter()
        .find(|l| l["type"] == "planned_change")
        .expect("planned_change");
    assert_eq!(change["change"]["action"], "create");
    assert_eq!(change["change"]["resource"]["addr"], "inferform_data.a");
    let summary = lines
        .iter()
        .find(|l| l["type"] == "change_summary")
        .expect("change_summary");
    assert_eq!(summary["changes"]["add"], 1);
    assert!(!plan.stdout.contains("t0p-s3cret"));

    assert_eq!(work.run(&["plan", "--out", "p.json"]).code, 0);
    let show = work.run(&["show", "--json", "p.json"]);
    assert_eq!(show.code, 0, "{show:?}");
    let doc: serde_json::Value = serde_json::from_str(show.stdout.trim()).expect("show --json");
    assert_eq!(
        doc["resource_changes"][0]["change"]["actions"],
        serde_json::json!(["create"])
    );
    assert!(
        !show.stdout.contains("t0p-s3cret"),
        "secrets are marked, never written"
    );
    let md = work.run(&["show", "--markdown", "p.json"]);
    assert_eq!(md.code, 0, "{md:?}");
    assert!(md.stdout.starts_with("<!-- inferform-plan: "), "{md:?}");
    assert!(md.stdout.contains("1 to add"), "{md:?}");
    assert!(!md.stdout.contains("t0p-s3cret"));

    let refused = work.run(&["apply", "--json"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        json_lines(&refused.stdout)
            .iter()
            .any(|l| l["type"] == "diagnostic"),
        "{refused:?}"
    );

    let apply = work.run(&["apply", "--json", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let lines = json_lines(&apply.stdout);
    for kind in ["apply_start", "apply_complete", "change_summary", "outputs"] {
        assert!(lines.iter().any(|l| l["type"] == kind), "{kind}: {apply:?}");
    }
    let done = lines
        .iter()
        .find(|l| l["type"] == "apply_complete")
        .unwrap();
    assert_eq!(done["hook"]["id_key"], "id");
    assert!(!apply.stdout.contains("t0p-s3cret"));

    let state = work.run(&["show", "--json"]);
    let doc: serde_json::Value =
        serde_json::from_str(state.stdout.trim()).expect("show --json state");
    assert_eq!(
        doc["values"]["root_module"]["resources"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{state:?}"
    );
    assert!(!state.stdout.contains("t0p-s3cret"), "{state:?}");
}

/// `show --json` writes every top-level key of Terraform's JSON plan, `configuration` with
/// expressions as Terraform writes them (constants, references, `count`/`for_each`, module
/// calls with their module, variables, outputs), `relevant_attributes` and `timestamp`; no
/// secret, not even one written in the configuration.
#[test]
fn show_json_writes_terraforms_configuration_and_timestamp() {
    let main = r#"
provider "fabric" {
  region     = "cn-southwest-2"
  access_key = "AK-PUBLIC-ID"
  secret_key = "sk-never-shown"
}

variable "env" {
  type        = string
  default     = "dev"
  description = "Environment name."
}

variable "token" {
  type      = string
  sensitive = true
  default   = "t0p-s3cret"
}

locals {
  name = "llm-${var.env}"
}

resource "inferform_data" "a" {
  input = local.name
}

resource "inferform_data" "b" {
  count = 2
  input = {
    name  = inferform_data.a.output
    idx   = count.index
    token = var.token
  }
  triggers_replace = [var.env]
}

resource "inferform_data" "c" {
  for_each   = { x = 1, y = 2 }
  input      = each.key
  depends_on = [inferform_data.a]
}

resource "inferform_data" "d" {
  input = upper("constant")
}

module "m" {
  source = "./mod"
  name   = var.env
}

output "a" {
  value = inferform_data.a.output
}

output "s" {
  value     = var.token
  sensitive = true
}

output "first" {
  value = inferform_data.c["x"].output
}
"#;
    let module = r#"
variable "name" {
  type = string
}

resource "inferform_data" "x" {
  input = var.name
}

output "o" {
  value = inferform_data.x.output
}
"#;
    let work = Work::new(&[("main.hcl", main)]);
    std::fs::create_dir(work.path().join("mod")).unwrap();
    work.write("mod/main.hcl", module);
    let plan = work.run(&["plan", "--out", "p.plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let show = work.run(&["show", "--json", "p.plan"]);
    assert_eq!(show.code, 0, "{show:?}");
    for secret in ["sk-never-shown", "t0p-s3cret"] {
        assert!(!show.stdout.contains(secret), "{secret}: {}", show.stdout);
    }
    let mut doc: serde_json::Value = serde_json::from_str(show.stdout.trim()).unwrap();
    let keys: Vec<String> = doc.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "format_version",
            "terraform_version",
            "inferform_version",
            "variables",
            "planned_values",
            "resource_changes",
            "output_changes",
            "configuration",
            "relevant_attributes",
            "timestamp",
            "applyable",
            "complete",
            "errored",
        ]
    );
    let timestamp = doc["timestamp"].as_str().unwrap().to_string();
    let rfc3339 =
        time::OffsetDateTime::parse(&timestamp, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{timestamp}: {e}"));
    assert!(timestamp.ends_with('Z'), "UTC: {timestamp}");
    let age = time::OffsetDateTime::now_utc() - rfc3339;
    assert!(
        age.whole_minutes() < 10,
        "when the plan was written: {timestamp}"
    );
    doc["timestamp"] = "TIMESTAMP".into();
    let shown = serde_json::json!({
        "variables": doc["variables"],
        "configuration": doc["configuration"],
        "relevant_attributes": doc["relevant_attributes"],
        "timestamp": doc["timestamp"],
        "resource": doc["planned_values"]["root_module"]["resources"][0],
    });
    insta::assert_json_snapshot!(shown);
}

/// `validate --json` writes each diagnostic exactly as the `diagnostic` lines of `--json`
/// output do: one rendering, with the code, the place and the help.
#[test]
fn validate_json_and_json_lines_write_a_diagnostic_alike() {
    let work = Work::new(&[(
        "main.hcl",
        "resource \"inferform_data\" \"a\" {\n  inptu = 1\n}\n",
    )]);
    let validate = work.run(&["validate", "--json"]);
    assert_eq!(validate.code, 1, "{validate:?}");
    let doc: serde_json::Value = serde_json::from_str(&validate.stdout).expect("JSON");
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["error_count"], 1, "{doc}");
    let from_validate = &doc["diagnostics"][0];
    assert_eq!(from_validate["range"]["filename"], "main.hcl", "{doc}");
    assert_eq!(from_validate["range"]["start"]["line"], 2, "{doc}");
    assert!(
        !from_validate["detail"].as_str().unwrap_or("").is_empty(),
        "the help is kept: {doc}"
    );
    let plan = work.run(&["plan", "--json"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    let line = json_lines(&plan.stdout)
        .into_iter()
        .find(|l| l["type"] == "diagnostic")
        .expect("a diagnostic line");
    assert_eq!(&line["diagnostic"], from_validate);
}
