//! The blocks teams use to guard changes, through the binary: `precondition` and
//! `postcondition` in `lifecycle`, `check` blocks, and `removed` blocks.

mod support;

use support::Work;

const GUARDED: &str = r#"
variable "replicas" {
  type    = number
  default = 2
}

resource "inferform_data" "pool" {
  input = var.replicas

  lifecycle {
    precondition {
      condition     = var.replicas > 0
      error_message = "replicas must be positive, got ${var.replicas}"
    }
    postcondition {
      condition     = startswith(self.id, var.prefix)
      error_message = "the pool's id does not start with ${var.prefix}"
    }
  }
}

variable "prefix" {
  type    = string
  default = ""
}

resource "inferform_data" "consumer" {
  input = inferform_data.pool.id
}

check "capacity" {
  assert {
    condition     = inferform_data.pool.output < 3
    error_message = "more than two replicas costs more than planned"
  }
}
"#;

#[test]
fn a_failed_precondition_stops_the_plan_and_names_its_values() {
    let work = Work::new(&[("main.hcl", GUARDED)]);
    let plan = work.run(&["plan", "--var", "replicas=0"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr.contains("inferform::plan::precondition_failed"),
        "{plan:?}"
    );
    assert!(
        plan.stderr
            .contains("inferform_data.pool: precondition failed: replicas must be positive, got 0"),
        "{plan:?}"
    );
    assert!(
        plan.stderr
            .contains("`var.replicas > 0` is false; it read var.replicas = 0"),
        "{plan:?}"
    );
    let apply = work.run(&["apply", "--auto-approve", "--var", "replicas=0"]);
    assert_eq!(apply.code, 1, "{apply:?}");
    assert_eq!(work.run(&["state", "list"]).stdout.trim(), "");
}

#[test]
fn a_postcondition_known_only_after_apply_is_judged_then() {
    let work = Work::new(&[("main.hcl", GUARDED)]);
    // The id is known only once the object exists: the plan cannot judge it.
    let plan = work.run(&["plan", "--var", "prefix=nope"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let apply = work.run(&["apply", "--auto-approve", "--var", "prefix=nope"]);
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(
        apply.stderr.contains(
            "inferform_data.pool: postcondition failed: the pool's id does not start with nope"
        ),
        "{apply:?}"
    );
    // The object exists and stays in state; what depends on it is not attempted.
    let list = work.run(&["state", "list"]).stdout;
    assert_eq!(list.trim(), "inferform_data.pool", "{list}");
    assert!(
        apply.stderr.contains("inferform_data.consumer"),
        "{apply:?}"
    );
    // With a condition that holds, the next apply goes on.
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
}

#[test]
fn a_failed_check_warns_in_plan_and_apply_and_changes_nothing_else() {
    let work = Work::new(&[("main.hcl", GUARDED)]);
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(!apply.stderr.contains("check"), "{apply:?}");
    let apply = work.run(&["apply", "--auto-approve", "--var", "replicas=5"]);
    assert_eq!(apply.code, 0, "a failed check only warns: {apply:?}");
    assert!(
        apply.stderr.contains(
            "check \"capacity\": check assertion failed: more than two replicas costs more than planned"
        ),
        "{apply:?}"
    );
    let plan = work.run(&["plan", "--var", "replicas=5", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stderr.contains("inferform::check::assertion_failed"),
        "{plan:?}"
    );
}

#[test]
fn a_removed_block_forgets_the_object_and_leaves_it_in_the_cloud() {
    let provider = "provider \"fabric\" {\n  region = \"cn-southwest-2\"\n}\n";
    let kept = "resource \"fabric_workspace\" \"kept\" {\n  name = \"kept\"\n}\n";
    let both = format!(
        "{provider}\n{kept}\nresource \"fabric_workspace\" \"legacy\" {{\n  name = \"legacy\"\n}}\n"
    );
    let work = Work::new(&[("main.hcl", &both)]);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    // Still configured and in a removed block: refused.
    let removed = "removed {\n  from = fabric_workspace.legacy\n\n  lifecycle {\n    destroy = false\n  }\n}\n";
    work.write("main.hcl", &format!("{both}\n{removed}"));
    let plan = work.run(&["plan", "--local-cloud"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr
            .contains("inferform::config::removed_still_configured"),
        "{plan:?}"
    );

    work.write("main.hcl", &format!("{provider}\n{kept}\n{removed}"));
    let plan = work.run(&["plan", "--local-cloud"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout.contains(
            "# fabric_workspace.legacy will no longer be managed by inferform, but will not be destroyed"
        ),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("0 to destroy"), "{plan:?}");
    assert!(
        plan.stdout.contains(" - fabric_workspace.legacy"),
        "{plan:?}"
    );
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(
        work.run(&["state", "list"]).stdout.trim(),
        "fabric_workspace.kept"
    );
    let names: Vec<String> = work.cloud_objects()["fabric_workspace"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.contains(&"legacy".to_string()), "{names:?}");
    // Nothing left to do.
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");

    // Without `destroy = false` a removed block destroys, as deleting the block would.
    let work = Work::new(&[("main.hcl", &both)]);
    assert_eq!(
        work.run(&["apply", "--local-cloud", "--auto-approve"]).code,
        0
    );
    work.write(
        "main.hcl",
        &format!("{provider}\n{kept}\nremoved {{\n  from = fabric_workspace.legacy\n}}\n"),
    );
    let plan = work.run(&["plan", "--local-cloud"]);
    assert!(plan.stdout.contains("1 to destroy"), "{plan:?}");
}

/// A `data` block inside a `check` block is read for that check alone: an object it cannot
/// find warns (plan and apply go on), the check is judged once the apply has made it, and
/// reading it from outside the check is refused.
#[test]
fn a_check_reads_its_own_data_source_and_a_failed_read_only_warns() {
    let config = r#"
provider "fabric" {
  region = "cn-southwest-2"
}

resource "fabric_workspace" "main" {
  name = "guarded"
}

check "workspace_visible" {
  data "fabric_workspace" "found" {
    name = fabric_workspace.main.name
  }

  assert {
    condition     = data.fabric_workspace.found.id == fabric_workspace.main.id
    error_message = "the workspace is not found by its name"
  }
}
"#;
    let work = Work::new(&[("main.hcl", config)]);
    // Before the workspace exists, the look-up fails: a warning, and the plan goes on.
    let plan = work.run(&["plan", "--local-cloud"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stderr.contains("inferform::check::data_read"),
        "{plan:?}"
    );
    assert!(
        plan.stderr
            .contains("check \"workspace_visible\": data.fabric_workspace.found could not be read"),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("Plan: 1 to add"), "{plan:?}");
    // After the apply the look-up finds it and the check holds: no warning at the end.
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(
        apply.stderr.matches("could not be read").count(),
        1,
        "only the apply's plan warns: {apply:?}"
    );
    assert!(!apply.stderr.contains("assertion failed"), "{apply:?}");
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(!plan.stderr.contains("workspace_visible"), "{plan:?}");

    // Only the check's own assertions may read it.
    work.write(
        "main.hcl",
        &format!("{config}\noutput \"leak\" {{\n  value = data.fabric_workspace.found.id\n}}\n"),
    );
    let plan = work.run(&["plan", "--local-cloud"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr.contains("inferform::config::scoped_data"),
        "{plan:?}"
    );
    assert!(
        plan.stderr.contains(
            "data.fabric_workspace.found is scoped to check \"workspace_visible\" and cannot be read here"
        ),
        "{plan:?}"
    );
}
