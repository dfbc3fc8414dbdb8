//! Modules through the binary: the multi-environment example applied against the local
//! cloud, an environment removed, module outputs, `moved` into a module, and module inputs
//! checked per instance.

#[path = "support/mod.rs"]
mod support;

use support::*;

fn kinds(objects: &serde_json::Value, kind: &str) -> usize {
    objects[kind].as_array().map_or(0, Vec::len)
}

#[test]
fn environments_example_applies_each_module_instance_and_drops_a_removed_one() {
    let work = Work::example("environments");
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply.stdout.contains("Apply complete! Resources: 8 added"),
        "{apply:?}"
    );
    // A nested module's resource waits for the workspace its caller passes in, and the
    // service instance for the model the nested module makes.
    let ws = line_of(
        &apply.stdout,
        "module.env[\"prod\"].fabric_workspace.this: Creation complete",
    );
    let model = line_of(
        &apply.stdout,
        "module.env[\"prod\"].module.model.fabric_model.this: Creating...",
    );
    let model_done = line_of(
        &apply.stdout,
        "module.env[\"prod\"].module.model.fabric_model.this: Creation complete",
    );
    let instance = line_of(
        &apply.stdout,
        "module.env[\"prod\"].fabric_service_instance.chat: Creating...",
    );
    assert!(ws < model && model_done < instance, "{apply:?}");

    let objects = work.cloud_objects();
    for kind in [
        "fabric_workspace",
        "fabric_endpoint",
        "fabric_model",
        "fabric_service_instance",
    ] {
        assert_eq!(kinds(&objects, kind), 2, "{kind}: {objects}");
    }
    let names: Vec<&str> = objects["fabric_workspace"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["name"].as_str())
        .collect();
    assert!(
        names.contains(&"llm-dev") && names.contains(&"llm-prod"),
        "{names:?}"
    );

    let list = work.run(&["state", "list"]);
    assert!(
        list.stdout
            .contains("module.env[\"dev\"].module.model.fabric_model.this\n"),
        "{list:?}"
    );
    let show = work.run(&["state", "show", "module.env[\"prod\"].fabric_endpoint.chat"]);
    assert_eq!(show.code, 0, "{show:?}");
    assert!(show.stdout.contains("max       = 4"), "{show:?}");

    // Root outputs read module outputs through a for expression.
    let out = work.run(&["output", "--json", "workspace_ids"]);
    let ids: serde_json::Value = serde_json::from_str(&out.stdout).expect("output JSON");
    assert_eq!(ids.as_object().map(|m| m.len()), Some(2), "{out:?}");

    let again = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{again:?}");

    // The saved plan's JSON names each change's module.
    let shrink = r#"environments={dev={max_units=2,model="llama3-8b"}}"#;
    let plan = work.run(&[
        "plan",
        "--local-cloud",
        "--var",
        shrink,
        "--out",
        "shrink.plan",
    ]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 4 to destroy."),
        "{plan:?}"
    );
    for line in plan
        .stdout
        .lines()
        .filter(|l| l.contains("will be destroyed"))
    {
        assert!(line.contains("module.env[\"prod\"]"), "{line}");
    }
    let json = work.run(&["show", "--json", "shrink.plan"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan JSON");
    let change = doc["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "module.env[\"dev\"].fabric_endpoint.chat")
        .expect("dev endpoint change");
    assert_eq!(change["module_address"], "module.env[\"dev\"]");
    assert_eq!(change["change"]["actions"], serde_json::json!(["update"]));

    let apply = work.run(&["apply", "--local-cloud", "shrink.plan"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let objects = work.cloud_objects();
    assert_eq!(
        count(&objects),
        4 + kinds(&objects, "fabric_model_version"),
        "{objects}"
    );

    let destroy = work.run(&[
        "destroy",
        "--local-cloud",
        "--auto-approve",
        "--var",
        shrink,
    ]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    let objects = work.cloud_objects();
    assert_eq!(
        count(&objects),
        kinds(&objects, "fabric_model_version"),
        "{objects}"
    );
}

const MODULE: &str = r#"
variable "name" {
  type = string
}

variable "size" {
  type    = number
  default = 1
  validation {
    condition     = var.size <= 3
    error_message = "size is at most 3"
  }
}

resource "inferform_data" "item" {
  count = var.size
  input = "${var.name}-${count.index}"
}

output "items" {
  value = inferform_data.item[*].output
}
"#;

#[test]
fn module_count_outputs_moves_and_per_instance_input_checks() {
    let work = Work::new(&[(
        "main.hcl",
        r#"
resource "inferform_data" "seed" {
  input = "seed"
}

module "pool" {
  source = "./modules/pool"
  count  = 2
  name   = "${inferform_data.seed.output}-${count.index}"
  size   = count.index + 1
}

output "all" {
  value = flatten(module.pool[*].items)
}
"#,
    )]);
    std::fs::create_dir_all(work.path().join("modules/pool")).unwrap();
    work.write("modules/pool/main.hcl", MODULE);

    // A module instance as a target brings what its inputs read along.
    let targeted = work.run(&["plan", "--target", "module.pool[1]"]);
    assert!(
        targeted
            .stdout
            .contains("Plan: 3 to add, 0 to change, 0 to destroy."),
        "{targeted:?}"
    );
    assert!(
        targeted
            .stdout
            .contains("# inferform_data.seed will be created")
            && targeted
                .stdout
                .contains("# module.pool[1].inferform_data.item[1] will be created")
            && !targeted.stdout.contains("module.pool[0]"),
        "{targeted:?}"
    );

    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("Resources: 4 added"), "{apply:?}");
    let out = work.run(&["output", "--json", "all"]);
    let all: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(
        all,
        serde_json::json!(["seed-0-0", "seed-1-0", "seed-1-1"]),
        "{out:?}"
    );
    let list = work.run(&["state", "list"]);
    assert!(
        list.stdout
            .contains("module.pool[1].inferform_data.item[1]"),
        "{list:?}"
    );

    // Moving a root resource into a module keeps it.
    work.write(
        "main.hcl",
        r#"
module "pool" {
  source = "./modules/pool"
  count  = 2
  name   = "seed-${count.index}"
  size   = count.index + 1
}

module "seed" {
  source = "./modules/pool"
  name   = "seed"
  size   = 1
}

moved {
  from = inferform_data.seed
  to   = module.seed.inferform_data.item[0]
}
"#,
    );
    let plan = work.run(&["plan", "--detailed-exitcode"]);
    assert!(
        plan.stdout.contains(
            "# module.seed.inferform_data.item[0] will be updated in-place\n  # (moved from inferform_data.seed)"
        ),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{plan:?}"
    );

    // A module input that fails the module's validation names the instance.
    work.write(
        "main.hcl",
        r#"
module "pool" {
  source = "./modules/pool"
  count  = 2
  name   = "p"
  size   = count.index * 4
}
"#,
    );
    let bad = work.run(&["plan"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr
            .contains("invalid value for variable `size` of module.pool[1]: size is at most 3"),
        "{bad:?}"
    );
    assert!(!bad.stderr.contains("module.pool[0]"), "{bad:?}");
}

const TRIGGERED: &str = r#"
variable "v" {
  type = string
}

resource "inferform_data" "src" {
  input = var.v
}

resource "inferform_data" "dst" {
  count = var.v == "gone" ? 0 : 2
  input = "dst"
  lifecycle {
    replace_triggered_by = [inferform_data.src]
  }
}
"#;

#[test]
fn module_expansions_reading_resources_destroy_and_triggers_stay_in_their_instance() {
    let work = Work::new(&[(
        "main.hcl",
        r#"
variable "a" {
  type    = string
  default = "one"
}

resource "inferform_data" "n" {
  input = { a = var.a, b = "fixed" }
}

module "e" {
  source   = "./modules/e"
  for_each = inferform_data.n.output
  v        = each.value
}
"#,
    )]);
    std::fs::create_dir_all(work.path().join("modules/e")).unwrap();
    work.write("modules/e/main.hcl", TRIGGERED);
    let apply = work.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("Resources: 7 added"), "{apply:?}");

    // A change in module.e["a"] replaces what it triggers there only.
    let plan = work.run(&["plan", "--var", "a=two"]);
    assert!(
        plan.stdout.contains(
            "# module.e[\"a\"].inferform_data.dst[0] will be replaced due to changes in replace_triggered_by"
        ),
        "{plan:?}"
    );
    assert!(!plan.stdout.contains("# module.e[\"b\"]"), "{plan:?}");

    // Instances a module's count drops are deleted without a "not in configuration" note.
    let plan = work.run(&["plan", "--var", "a=gone"]);
    assert!(
        plan.stdout
            .contains("# module.e[\"a\"].inferform_data.dst[1] will be destroyed"),
        "{plan:?}"
    );
    assert!(!plan.stdout.contains("is not in configuration"), "{plan:?}");

    // Destroying works out the module's instances from the resource they read.
    let destroy = work.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(
        destroy
            .stdout
            .contains("Destroy complete! Resources: 7 destroyed."),
        "{destroy:?}"
    );
}
