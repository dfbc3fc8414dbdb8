//! Plan and apply semantics, case by case, through the engine alone: one table row per case
//! (see `harness`), grouped by subject. What only the binary shows (rendering, locking,
//! signals, the local cloud's faults) stays in the end-to-end suites of `tests/`.

mod harness;

use harness::{run_all, Applied, Case, Opts, Setup, APPLIED, CASE};

const TWO: &str = r#"
resource "test_thing" "a" {
  name = "a"
  size = 1
}

resource "test_thing" "b" {
  name   = "b"
  parent = test_thing.a.id
}
"#;

const COUNTED: &str = r#"
resource "test_thing" "x" {
  count = 2
  name  = "n-${count.index}"
}
"#;

const APP_MODULE: (&str, &str) = (
    "modules/app/main.hcl",
    r#"
variable "name" {
  type = string
}

variable "size" {
  type    = number
  default = 1
}

resource "test_thing" "t" {
  name = var.name
  size = var.size
}

output "id" {
  value = test_thing.t.id
}
"#,
);

#[tokio::test(flavor = "current_thread")]
async fn actions() {
    run_all(&[
        Case {
            name: "everything is created in dependency order",
            config: TWO,
            plan: &["create test_thing.a", "create test_thing.b"],
            apply: Some(Applied {
                order: &[("create a", "create b")],
                calls: &["create a", "create b"],
                state: &["test_thing.a", "test_thing.b"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an unchanged configuration plans nothing",
            before: TWO,
            config: TWO,
            plan: &[],
            apply: Some(Applied {
                calls: &[],
                state: &["test_thing.a", "test_thing.b"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a changed attribute updates in place",
            before: TWO,
            config: r#"
resource "test_thing" "a" {
  name = "a"
  size = 2
}

resource "test_thing" "b" {
  name   = "b"
  parent = test_thing.a.id
}
"#,
            plan: &["update test_thing.a"],
            apply: Some(Applied {
                calls: &["update a"],
                state: &["test_thing.a", "test_thing.b"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a force-new attribute replaces, destroying first, and dependents follow",
            before: TWO,
            config: r#"
resource "test_thing" "a" {
  name = "a2"
  size = 1
}

resource "test_thing" "b" {
  name   = "b"
  parent = test_thing.a.id
}
"#,
            plan: &["replace test_thing.a forced by name", "update test_thing.b"],
            apply: Some(Applied {
                order: &[("delete a", "create a2"), ("create a2", "update b")],
                calls: &["create a2", "delete a", "update b"],
                state: &["test_thing.a", "test_thing.b"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a resource left out of the configuration is deleted",
            before: TWO,
            config: r#"
resource "test_thing" "a" {
  name = "a"
  size = 1
}
"#,
            plan: &["delete test_thing.b"],
            apply: Some(Applied {
                calls: &["delete b"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "deletes run in reverse dependency order",
            before: TWO,
            config: "",
            plan: &["delete test_thing.a", "delete test_thing.b"],
            apply: Some(Applied {
                order: &[("delete b", "delete a")],
                state: &[],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a destroy plan deletes everything, dependents first",
            before: TWO,
            config: TWO,
            opts: Opts {
                destroy: true,
                ..Opts::PLAN
            },
            plan: &["delete test_thing.a", "delete test_thing.b"],
            apply: Some(Applied {
                order: &[("delete b", "delete a")],
                state: &[],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a changed sensitive attribute is an update",
            before: "resource \"test_thing\" \"a\" {\n  name   = \"a\"\n  secret = \"one\"\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name   = \"a\"\n  secret = \"two\"\n}\n",
            plan: &["update test_thing.a"],
            apply: Some(Applied {
                calls: &["update a"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a changed nested block is an update",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  settings {\n    mode = \"fast\"\n  }\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  settings {\n    mode = \"slow\"\n  }\n}\n",
            plan: &["update test_thing.a"],
            apply: Some(Applied {
                calls: &["update a"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an unknown resource type is an error",
            config: "resource \"test_nope\" \"a\" {\n  name = \"a\"\n}\n",
            plan: &[],
            diags: &["error inferform::plan::unknown_type"],
            ..CASE
        },
        Case {
            name: "an output shows a value once known",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\noutput \"name\" {\n  value = test_thing.a.name\n}\n",
            plan: &["create test_thing.a", "output name = \"a\""],
            apply: Some(Applied {
                state: &["test_thing.a"],
                outputs: &["name = \"a\""],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an output of a sensitive value must say so",
            config: "resource \"test_thing\" \"a\" {\n  name   = \"a\"\n  secret = \"s\"\n}\n\noutput \"s\" {\n  value = test_thing.a.secret\n}\n",
            plan: &["create test_thing.a", "output s = (sensitive value)"],
            diags: &["error inferform::plan::output_sensitive"],
            ..CASE
        },
        Case {
            name: "a sensitive output is recorded as sensitive",
            config: "resource \"test_thing\" \"a\" {\n  name   = \"a\"\n  secret = \"s\"\n}\n\noutput \"s\" {\n  value     = test_thing.a.secret\n  sensitive = true\n}\n",
            plan: &["create test_thing.a", "output s = (sensitive value)"],
            apply: Some(Applied {
                state: &["test_thing.a"],
                outputs: &["s = \"s\""],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a reference cycle is an error",
            config: "resource \"test_thing\" \"a\" {\n  name   = \"a\"\n  parent = test_thing.b.id\n}\n\nresource \"test_thing\" \"b\" {\n  name   = \"b\"\n  parent = test_thing.a.id\n}\n",
            plan: &[],
            diags: &["error inferform::graph::cycle"],
            ..CASE
        },
        Case {
            name: "inferform_data echoes its input, and a changed input updates it",
            before: "resource \"inferform_data\" \"d\" {\n  input = 1\n}\n\noutput \"o\" {\n  value = inferform_data.d.output\n}\n",
            config: "resource \"inferform_data\" \"d\" {\n  input = 2\n}\n\noutput \"o\" {\n  value = inferform_data.d.output\n}\n",
            plan: &["update inferform_data.d", "output o = 2"],
            apply: Some(Applied {
                state: &["inferform_data.d"],
                outputs: &["o = 2"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "inferform_data's triggers_replace forces a replacement",
            before: "resource \"inferform_data\" \"d\" {\n  triggers_replace = \"one\"\n}\n",
            config: "resource \"inferform_data\" \"d\" {\n  triggers_replace = \"two\"\n}\n",
            plan: &["replace inferform_data.d forced by triggers_replace"],
            apply: Some(Applied {
                state: &["inferform_data.d"],
                ..APPLIED
            }),
            ..CASE
        },
    ])
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn count_and_for_each() {
    run_all(&[
        Case {
            name: "count makes numbered instances",
            config: COUNTED,
            plan: &["create test_thing.x[0]", "create test_thing.x[1]"],
            apply: Some(Applied {
                calls: &["create n-0", "create n-1"],
                state: &["test_thing.x[0]", "test_thing.x[1]"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a count from a string variable counts",
            config: "variable \"n\" {\n  default = \"2\"\n}\n\nresource \"test_thing\" \"x\" {\n  count = var.n\n  name  = \"n-${count.index}\"\n}\n",
            plan: &["create test_thing.x[0]", "create test_thing.x[1]"],
            ..CASE
        },
        Case {
            name: "lowering count deletes the last instances and shrinks what splats see",
            before: "resource \"inferform_data\" \"x\" {\n  count = 3\n  input = count.index\n}\n\noutput \"all\" {\n  value = inferform_data.x[*].output\n}\n",
            config: "resource \"inferform_data\" \"x\" {\n  count = 1\n  input = count.index\n}\n\noutput \"all\" {\n  value = inferform_data.x[*].output\n}\n",
            plan: &["delete inferform_data.x[1]", "delete inferform_data.x[2]", "output all = [0]"],
            apply: Some(Applied {
                state: &["inferform_data.x[0]"],
                outputs: &["all = [0]"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "raising count adds instances",
            before: COUNTED,
            config: "resource \"test_thing\" \"x\" {\n  count = 3\n  name  = \"n-${count.index}\"\n}\n",
            plan: &["create test_thing.x[2]"],
            apply: Some(Applied {
                calls: &["create n-2"],
                state: &["test_thing.x[0]", "test_thing.x[1]", "test_thing.x[2]"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a negative count is an error",
            config: "resource \"test_thing\" \"x\" {\n  count = -1\n  name  = \"x\"\n}\n",
            plan: &[],
            diags: &["error inferform::plan::bad_count"],
            ..CASE
        },
        Case {
            name: "a count known only after apply is an error",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\nresource \"test_thing\" \"x\" {\n  count = length(test_thing.a.id)\n  name  = \"x\"\n}\n",
            plan: &["create test_thing.a"],
            diags: &["error inferform::plan::unknown_keys"],
            ..CASE
        },
        Case {
            name: "for_each over a map makes keyed instances",
            config: "resource \"test_thing\" \"x\" {\n  for_each = { a = 1, b = 2 }\n  name     = each.key\n  size     = each.value\n}\n",
            plan: &["create test_thing.x[\"a\"]", "create test_thing.x[\"b\"]"],
            apply: Some(Applied {
                calls: &["create a", "create b"],
                state: &["test_thing.x[\"a\"]", "test_thing.x[\"b\"]"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "for_each over a set of strings",
            config: "resource \"test_thing\" \"x\" {\n  for_each = toset([\"b\", \"a\", \"b\"])\n  name     = each.value\n}\n",
            plan: &["create test_thing.x[\"a\"]", "create test_thing.x[\"b\"]"],
            ..CASE
        },
        Case {
            name: "for_each over a list of numbers is an error",
            config: "resource \"test_thing\" \"x\" {\n  for_each = toset([1, 2])\n  name     = \"x\"\n}\n",
            plan: &[],
            diags: &["error inferform::plan::bad_for_each"],
            ..CASE
        },
        Case {
            name: "a key gone from for_each deletes its instance only",
            before: "resource \"test_thing\" \"x\" {\n  for_each = { a = 1, b = 2 }\n  name     = each.key\n  size     = each.value\n}\n",
            config: "resource \"test_thing\" \"x\" {\n  for_each = { a = 1 }\n  name     = each.key\n  size     = each.value\n}\n",
            plan: &["delete test_thing.x[\"b\"]"],
            apply: Some(Applied {
                calls: &["delete b"],
                state: &["test_thing.x[\"a\"]"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "count to for_each with moved blocks keeps the objects",
            before: COUNTED,
            config: r#"
resource "test_thing" "x" {
  for_each = toset(["n-0", "n-1"])
  name     = each.key
}

moved {
  from = test_thing.x[0]
  to   = test_thing.x["n-0"]
}

moved {
  from = test_thing.x[1]
  to   = test_thing.x["n-1"]
}
"#,
            plan: &[
                "move test_thing.x[0] -> test_thing.x[\"n-0\"]",
                "move test_thing.x[1] -> test_thing.x[\"n-1\"]",
            ],
            apply: Some(Applied {
                calls: &[],
                state: &["test_thing.x[\"n-0\"]", "test_thing.x[\"n-1\"]"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "count to for_each without moved blocks replaces every instance",
            before: COUNTED,
            config: "resource \"test_thing\" \"x\" {\n  for_each = toset([\"n-0\", \"n-1\"])\n  name     = each.key\n}\n",
            plan: &[
                "delete test_thing.x[0]",
                "delete test_thing.x[1]",
                "create test_thing.x[\"n-0\"]",
                "create test_thing.x[\"n-1\"]",
            ],
            ..CASE
        },
        Case {
            name: "for_each to count with moved blocks keeps the objects",
            before: "resource \"test_thing\" \"x\" {\n  for_each = toset([\"n-0\"])\n  name     = each.key\n}\n",
            config: "resource \"test_thing\" \"x\" {\n  count = 1\n  name  = \"n-${count.index}\"\n}\n\nmoved {\n  from = test_thing.x[\"n-0\"]\n  to   = test_thing.x[0]\n}\n",
            plan: &["move test_thing.x[\"n-0\"] -> test_thing.x[0]"],
            apply: Some(Applied {
                calls: &[],
                state: &["test_thing.x[0]"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a single resource moved to count index 0",
            before: "resource \"test_thing\" \"x\" {\n  name = \"n-0\"\n}\n",
            config: "resource \"test_thing\" \"x\" {\n  count = 2\n  name  = \"n-${count.index}\"\n}\n\nmoved {\n  from = test_thing.x\n  to   = test_thing.x[0]\n}\n",
            plan: &["move test_thing.x -> test_thing.x[0]", "create test_thing.x[1]"],
            apply: Some(Applied {
                calls: &["create n-1"],
                state: &["test_thing.x[0]", "test_thing.x[1]"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a moved block whose destination is taken does nothing",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\nresource \"test_thing\" \"b\" {\n  name = \"b\"\n}\n",
            config: "resource \"test_thing\" \"b\" {\n  name = \"b\"\n}\n\nmoved {\n  from = test_thing.a\n  to   = test_thing.b\n}\n",
            plan: &["delete test_thing.a"],
            ..CASE
        },
        Case {
            name: "a splat over a counted resource reads every instance",
            config: "resource \"test_thing\" \"x\" {\n  count = 2\n  name  = \"n-${count.index}\"\n}\n\noutput \"names\" {\n  value = test_thing.x[*].name\n}\n",
            plan: &[
                "create test_thing.x[0]",
                "create test_thing.x[1]",
                "output names = [\"n-0\", \"n-1\"]",
            ],
            apply: Some(Applied {
                state: &["test_thing.x[0]", "test_thing.x[1]"],
                outputs: &["names = [\"n-0\",\"n-1\"]"],
                ..APPLIED
            }),
            ..CASE
        },
    ])
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn lifecycle() {
    run_all(&[
        Case {
            name: "ignore_changes leaves an attribute as the cloud has it",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 1\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 2\n  lifecycle {\n    ignore_changes = [size]\n  }\n}\n",
            plan: &[],
            ..CASE
        },
        Case {
            name: "ignore_changes on a nested block ignores everything in it",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  settings {\n    mode = \"fast\"\n  }\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  settings {\n    mode  = \"slow\"\n    level = 3\n  }\n  lifecycle {\n    ignore_changes = [settings]\n  }\n}\n",
            plan: &[],
            ..CASE
        },
        Case {
            name: "ignore_changes on one attribute of a nested block ignores that one only",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  settings {\n    mode = \"fast\"\n  }\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  settings {\n    mode  = \"slow\"\n    level = 3\n  }\n  lifecycle {\n    ignore_changes = [settings.mode]\n  }\n}\n",
            plan: &["update test_thing.a"],
            apply: Some(Applied {
                calls: &["update a"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "ignore_changes = all ignores a force-new change too",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name = \"b\"\n  lifecycle {\n    ignore_changes = all\n  }\n}\n",
            plan: &[],
            ..CASE
        },
        Case {
            name: "create_before_destroy creates the new object first",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a2\"\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n",
            plan: &["replace-cbd test_thing.a forced by name"],
            apply: Some(Applied {
                order: &[("create a2", "delete a")],
                calls: &["create a2", "delete a"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a create_before_destroy chain destroys old objects only once their dependents moved on",
            before: CHAIN,
            config: CHAIN_RENAMED,
            plan: &[
                "replace-cbd test_thing.a forced by name",
                "replace-cbd test_thing.b forced by name",
            ],
            apply: Some(Applied {
                // Terraform's order: new a, new b, old b, old a.
                order: &[
                    ("create a2", "create b-id-3"),
                    ("create b-id-3", "delete b-id-1"),
                    ("delete b-id-1", "delete a"),
                ],
                calls: &["create a2", "create b-id-3", "delete a", "delete b-id-1"],
                state: &["test_thing.a", "test_thing.b"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a create_before_destroy chain succeeds where the cloud refuses deleting a parent in use",
            before: PARENT_CHAIN,
            setup: &[Setup::GuardParents],
            config: PARENT_CHAIN_RENAMED,
            plan: &[
                "replace-cbd test_thing.a forced by name",
                "replace-cbd test_thing.b forced by name",
            ],
            apply: Some(Applied {
                order: &[
                    ("create a2", "create b-id-3"),
                    ("create b-id-3", "delete b-id-1"),
                    ("delete b-id-1", "delete a"),
                ],
                calls: &["create a2", "create b-id-3", "delete a", "delete b-id-1"],
                state: &["test_thing.a", "test_thing.b"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a failed delete of the old object keeps it in state as deposed, for the next apply",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            setup: &[Setup::RefuseDelete("a")],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a2\"\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n",
            plan: &["replace-cbd test_thing.a forced by name"],
            apply: Some(Applied {
                order: &[("create a2", "delete a")],
                calls: &["create a2", "delete a"],
                failed: &["test_thing.a replace-cbd inferform::apply::failed"],
                state: &["test_thing.a"],
                deposed: &["test_thing.a: 1 deposed"],
                then: &["delete test_thing.a (deposed)"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a create_before_destroy create left unanswered keeps the old object deposed; the next run adopts the new one",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            setup: &[Setup::Unanswered("a2", true)],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a2\"\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n",
            plan: &["replace-cbd test_thing.a forced by name"],
            apply: Some(Applied {
                calls: &["create a2"],
                failed: &["test_thing.a replace-cbd inferform::apply::failed"],
                state: &["test_thing.a"],
                deposed: &["test_thing.a: 1 deposed"],
                then: &["adopt test_thing.a", "delete test_thing.a (deposed)"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a create_before_destroy create left unanswered that made nothing keeps the old object current",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            setup: &[Setup::Unanswered("a2", false)],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a2\"\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n",
            plan: &["replace-cbd test_thing.a forced by name"],
            apply: Some(Applied {
                calls: &["create a2"],
                failed: &["test_thing.a replace-cbd inferform::apply::failed"],
                state: &["test_thing.a"],
                deposed: &["test_thing.a: 1 deposed"],
                // The old object is not destroyed: it is still the current one.
                then: &["replace-cbd test_thing.a forced by name"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a deposed object in state is destroyed, and its address's record stays",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            setup: &[Setup::Depose("test_thing.a", "a-old")],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            plan: &["delete test_thing.a (deposed)"],
            apply: Some(Applied {
                calls: &["delete a-old"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a deposed object gone from the cloud leaves state without a delete",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            setup: &[Setup::Depose("test_thing.a", "a-old"), Setup::Vanish("a-old")],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 2\n}\n",
            plan: &["update test_thing.a"],
            apply: Some(Applied {
                calls: &["update a"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a deposed object moves with its address and is destroyed there",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            setup: &[Setup::Depose("test_thing.a", "a-old")],
            config: "resource \"test_thing\" \"b\" {\n  name = \"a\"\n}\n\nmoved {\n  from = test_thing.a\n  to   = test_thing.b\n}\n",
            plan: &["move test_thing.a -> test_thing.b", "delete test_thing.b (deposed)"],
            apply: Some(Applied {
                calls: &["delete a-old"],
                state: &["test_thing.b"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a destroy plan destroys deposed objects before the record they are in",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            setup: &[Setup::Depose("test_thing.a", "a-old")],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            opts: Opts {
                destroy: true,
                ..Opts::PLAN
            },
            plan: &["delete test_thing.a", "delete test_thing.a (deposed)"],
            apply: Some(Applied {
                order: &[("delete a-old", "delete a")],
                calls: &["delete a", "delete a-old"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "after a failed delete of the old object, outputs read the new one",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\noutput \"id\" {\n  value = test_thing.a.id\n}\n",
            setup: &[Setup::RefuseDelete("a")],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a2\"\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n\noutput \"id\" {\n  value = test_thing.a.id\n}\n",
            plan: &[
                "replace-cbd test_thing.a forced by name",
                "output id = (known after apply)",
            ],
            apply: Some(Applied {
                failed: &["test_thing.a replace-cbd inferform::apply::failed"],
                state: &["test_thing.a"],
                outputs: &["id = \"id-2\""],
                deposed: &["test_thing.a: 1 deposed"],
                then: &["delete test_thing.a (deposed)"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an apply interrupted after a create_before_destroy create leaves the old object deposed",
            before: CHAIN,
            config: CHAIN_RENAMED,
            plan: &[
                "replace-cbd test_thing.a forced by name",
                "replace-cbd test_thing.b forced by name",
            ],
            apply: Some(Applied {
                stop_after: Some("create a2"),
                calls: &["create a2"],
                skipped: &["test_thing.a", "test_thing.b"],
                state: &["test_thing.a", "test_thing.b"],
                deposed: &["test_thing.a: 1 deposed"],
                then: &[
                    "delete test_thing.a (deposed)",
                    "replace-cbd test_thing.b forced by name",
                ],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "prevent_destroy refuses a replacement",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a2\"\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n",
            plan: &["replace test_thing.a forced by name"],
            diags: &["error inferform::plan::prevent_destroy"],
            ..CASE
        },
        Case {
            name: "prevent_destroy refuses a destroy plan",
            before: PROTECTED,
            config: PROTECTED,
            opts: Opts {
                destroy: true,
                ..Opts::PLAN
            },
            plan: &["delete test_thing.a"],
            diags: &["error inferform::plan::prevent_destroy"],
            ..CASE
        },
        Case {
            name: "prevent_destroy allows an update",
            before: PROTECTED,
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 5\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n",
            plan: &["update test_thing.a"],
            ..CASE
        },
        Case {
            name: "a tainted object is replaced",
            before: TWO,
            setup: &[Setup::Taint("test_thing.a")],
            config: TWO,
            plan: &["replace test_thing.a (tainted)", "update test_thing.b"],
            apply: Some(Applied {
                order: &[("delete a", "create a"), ("create a", "update b")],
                calls: &["create a", "delete a", "update b"],
                state: &["test_thing.a", "test_thing.b"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a tainted object with create_before_destroy is replaced new-first",
            before: "resource \"inferform_data\" \"d\" {\n  input = 1\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n",
            setup: &[Setup::Taint("inferform_data.d")],
            config: "resource \"inferform_data\" \"d\" {\n  input = 1\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n",
            plan: &["replace-cbd inferform_data.d (tainted)"],
            apply: Some(Applied {
                state: &["inferform_data.d"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "--replace replaces as requested",
            before: TWO,
            config: TWO,
            opts: Opts {
                replace: &["test_thing.b"],
                ..Opts::PLAN
            },
            plan: &["replace test_thing.b (requested)"],
            apply: Some(Applied {
                order: &[("delete b", "create b")],
                calls: &["create b", "delete b"],
                state: &["test_thing.a", "test_thing.b"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "replace_triggered_by fires when the referenced resource changes",
            before: TRIGGERED,
            config: TRIGGERED_SIZE_2,
            plan: &["update test_thing.a", "replace test_thing.b (triggered)"],
            apply: Some(Applied {
                order: &[("update a", "create b")],
                state: &["test_thing.a", "test_thing.b"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "replace_triggered_by on an attribute that does not change does not fire",
            before: TRIGGERED_NAME,
            config: TRIGGERED_NAME_SIZE_2,
            plan: &["update test_thing.a"],
            ..CASE
        },
        Case {
            name: "a failed precondition stops the plan",
            config: "variable \"n\" {\n  default = 1\n}\n\nresource \"test_thing\" \"a\" {\n  name = \"a\"\n  lifecycle {\n    precondition {\n      condition     = var.n > 2\n      error_message = \"n is too small\"\n    }\n  }\n}\n",
            plan: &[],
            diags: &["error inferform::plan::precondition_failed"],
            ..CASE
        },
        Case {
            name: "a postcondition known at plan time is judged at plan time",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  lifecycle {\n    postcondition {\n      condition     = self.name == \"b\"\n      error_message = \"wrong name\"\n    }\n  }\n}\n",
            plan: &["create test_thing.a"],
            diags: &["error inferform::plan::postcondition_failed"],
            ..CASE
        },
        Case {
            name: "a postcondition known only after apply fails the change and keeps the object",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  lifecycle {\n    postcondition {\n      condition     = self.id == \"nope\"\n      error_message = \"wrong id\"\n    }\n  }\n}\n\nresource \"test_thing\" \"b\" {\n  name   = \"b\"\n  parent = test_thing.a.id\n}\n",
            plan: &["create test_thing.a", "create test_thing.b"],
            apply: Some(Applied {
                calls: &["create a"],
                failed: &[
                    "test_thing.a create inferform::plan::postcondition_failed at self.id == \"nope\"",
                ],
                skipped: &["test_thing.b"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a failed check block warns and changes nothing else",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 1\n}\n\ncheck \"big\" {\n  assert {\n    condition     = test_thing.a.size > 3\n    error_message = \"too small\"\n  }\n}\n",
            plan: &["create test_thing.a"],
            diags: &["warning inferform::check::assertion_failed"],
            ..CASE
        },
    ])
    .await;
}

const PROTECTED: &str =
    "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n";

const CHAIN: &str = r#"
resource "test_thing" "a" {
  name = "a"
  lifecycle {
    create_before_destroy = true
  }
}

resource "test_thing" "b" {
  name = "b-${test_thing.a.id}"
  lifecycle {
    create_before_destroy = true
  }
}
"#;

const CHAIN_RENAMED: &str = r#"
resource "test_thing" "a" {
  name = "a2"
  lifecycle {
    create_before_destroy = true
  }
}

resource "test_thing" "b" {
  name = "b-${test_thing.a.id}"
  lifecycle {
    create_before_destroy = true
  }
}
"#;

const PARENT_CHAIN: &str = r#"
resource "test_thing" "a" {
  name = "a"
  lifecycle {
    create_before_destroy = true
  }
}

resource "test_thing" "b" {
  name   = "b-${test_thing.a.id}"
  parent = test_thing.a.id
  lifecycle {
    create_before_destroy = true
  }
}
"#;

const PARENT_CHAIN_RENAMED: &str = r#"
resource "test_thing" "a" {
  name = "a2"
  lifecycle {
    create_before_destroy = true
  }
}

resource "test_thing" "b" {
  name   = "b-${test_thing.a.id}"
  parent = test_thing.a.id
  lifecycle {
    create_before_destroy = true
  }
}
"#;

const TRIGGERED: &str = r#"
resource "test_thing" "a" {
  name = "a"
  size = 1
}

resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a]
  }
}
"#;

const TRIGGERED_SIZE_2: &str = r#"
resource "test_thing" "a" {
  name = "a"
  size = 2
}

resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a]
  }
}
"#;

const TRIGGERED_NAME: &str = r#"
resource "test_thing" "a" {
  name = "a"
  size = 1
}

resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a.name]
  }
}
"#;

const TRIGGERED_NAME_SIZE_2: &str = r#"
resource "test_thing" "a" {
  name = "a"
  size = 2
}

resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a.name]
  }
}
"#;

#[tokio::test(flavor = "current_thread")]
async fn modules() {
    run_all(&[
        Case {
            name: "a module's resources take its path",
            files: &[APP_MODULE],
            config: "module \"app\" {\n  source = \"./modules/app\"\n  name   = \"x\"\n}\n",
            plan: &["create module.app.test_thing.t"],
            apply: Some(Applied {
                calls: &["create x"],
                state: &["module.app.test_thing.t"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a counted module makes numbered instances",
            files: &[APP_MODULE],
            config: "module \"app\" {\n  count  = 2\n  source = \"./modules/app\"\n  name   = \"x-${count.index}\"\n}\n",
            plan: &["create module.app[0].test_thing.t", "create module.app[1].test_thing.t"],
            apply: Some(Applied {
                calls: &["create x-0", "create x-1"],
                state: &["module.app[0].test_thing.t", "module.app[1].test_thing.t"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a module with for_each makes keyed instances",
            files: &[APP_MODULE],
            config: ENVS,
            plan: &[
                "create module.app[\"dev\"].test_thing.t",
                "create module.app[\"prod\"].test_thing.t",
            ],
            apply: Some(Applied {
                state: &["module.app[\"dev\"].test_thing.t", "module.app[\"prod\"].test_thing.t"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a key gone from a module's for_each deletes that instance's resources",
            files: &[APP_MODULE],
            before: ENVS,
            config: "module \"app\" {\n  for_each = { dev = 1 }\n  source   = \"./modules/app\"\n  name     = \"app-${each.key}\"\n  size     = each.value\n}\n",
            plan: &["delete module.app[\"prod\"].test_thing.t"],
            apply: Some(Applied {
                calls: &["delete app-prod"],
                state: &["module.app[\"dev\"].test_thing.t"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an input changed for one module instance updates that instance only",
            files: &[APP_MODULE],
            before: ENVS,
            config: "module \"app\" {\n  for_each = { dev = 1, prod = 3 }\n  source   = \"./modules/app\"\n  name     = \"app-${each.key}\"\n  size     = each.value\n}\n",
            plan: &["update module.app[\"prod\"].test_thing.t"],
            ..CASE
        },
        Case {
            name: "a module's output feeds a root resource, which waits for it",
            files: &[APP_MODULE],
            config: "module \"app\" {\n  source = \"./modules/app\"\n  name   = \"x\"\n}\n\nresource \"test_thing\" \"user\" {\n  name   = \"user\"\n  parent = module.app.id\n}\n\noutput \"app_id\" {\n  value = module.app.id\n}\n",
            plan: &[
                "create test_thing.user",
                "create module.app.test_thing.t",
                "output app_id = (known after apply)",
            ],
            apply: Some(Applied {
                order: &[("create x", "create user")],
                state: &["module.app.test_thing.t", "test_thing.user"],
                outputs: &["app_id = \"id-1\""],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a moved block takes a root resource into a module",
            files: &[APP_MODULE],
            before: "resource \"test_thing\" \"t\" {\n  name = \"x\"\n  size = 1\n}\n",
            config: "module \"app\" {\n  source = \"./modules/app\"\n  name   = \"x\"\n}\n\nmoved {\n  from = test_thing.t\n  to   = module.app.test_thing.t\n}\n",
            plan: &["move test_thing.t -> module.app.test_thing.t"],
            apply: Some(Applied {
                calls: &[],
                state: &["module.app.test_thing.t"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "module count to for_each with moved blocks keeps the objects",
            files: &[APP_MODULE],
            before: "module \"app\" {\n  count  = 1\n  source = \"./modules/app\"\n  name   = \"app-dev\"\n}\n",
            config: "module \"app\" {\n  for_each = { dev = 1 }\n  source   = \"./modules/app\"\n  name     = \"app-${each.key}\"\n  size     = each.value\n}\n\nmoved {\n  from = module.app[0].test_thing.t\n  to   = module.app[\"dev\"].test_thing.t\n}\n",
            plan: &["move module.app[0].test_thing.t -> module.app[\"dev\"].test_thing.t"],
            apply: Some(Applied {
                calls: &[],
                state: &["module.app[\"dev\"].test_thing.t"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a destroy plan reaches into every module instance",
            files: &[APP_MODULE],
            before: ENVS,
            config: ENVS,
            opts: Opts {
                destroy: true,
                ..Opts::PLAN
            },
            plan: &[
                "delete module.app[\"dev\"].test_thing.t",
                "delete module.app[\"prod\"].test_thing.t",
            ],
            apply: Some(Applied {
                state: &[],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "replace_triggered_by stays in its module instance",
            files: &[TRIGGER_MODULE],
            before: "module \"m\" {\n  for_each = { a = 1, b = 1 }\n  source   = \"./modules/trig\"\n  key      = each.key\n  size     = each.value\n}\n",
            config: "module \"m\" {\n  for_each = { a = 1, b = 2 }\n  source   = \"./modules/trig\"\n  key      = each.key\n  size     = each.value\n}\n",
            plan: &[
                "replace module.m[\"b\"].test_thing.dst (triggered)",
                "update module.m[\"b\"].test_thing.src",
            ],
            ..CASE
        },
    ])
    .await;
}

const ENVS: &str = "module \"app\" {\n  for_each = { dev = 1, prod = 2 }\n  source   = \"./modules/app\"\n  name     = \"app-${each.key}\"\n  size     = each.value\n}\n";

const TRIGGER_MODULE: (&str, &str) = (
    "modules/trig/main.hcl",
    r#"
variable "key" {
  type = string
}

variable "size" {
  type = number
}

resource "test_thing" "src" {
  name = "src-${var.key}"
  size = var.size
}

resource "test_thing" "dst" {
  name = "dst-${var.key}"
  lifecycle {
    replace_triggered_by = [test_thing.src]
  }
}
"#,
);

const CHAIN3: &str = r#"
resource "test_thing" "a" {
  name = "a"
}

resource "test_thing" "b" {
  name = "b"
}

resource "test_thing" "c" {
  name   = "c"
  parent = test_thing.b.id
}
"#;

#[tokio::test(flavor = "current_thread")]
async fn targeting() {
    run_all(&[
        Case {
            name: "a target takes what it depends on and nothing else",
            config: CHAIN3,
            opts: Opts {
                targets: &["test_thing.c"],
                ..Opts::PLAN
            },
            plan: &["create test_thing.b", "create test_thing.c"],
            apply: Some(Applied {
                order: &[("create b", "create c")],
                calls: &["create b", "create c"],
                state: &["test_thing.b", "test_thing.c"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a targeted destroy takes what depends on the target",
            before: CHAIN3,
            config: CHAIN3,
            opts: Opts {
                destroy: true,
                targets: &["test_thing.b"],
                ..Opts::PLAN
            },
            plan: &["delete test_thing.b", "delete test_thing.c"],
            apply: Some(Applied {
                order: &[("delete c", "delete b")],
                calls: &["delete b", "delete c"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a targeted plan leaves dependents of the target alone",
            before: CHAIN3,
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\nresource \"test_thing\" \"b\" {\n  name = \"b\"\n  size = 2\n}\n\nresource \"test_thing\" \"c\" {\n  name   = \"c\"\n  parent = test_thing.b.id\n  size   = 2\n}\n",
            opts: Opts {
                targets: &["test_thing.b"],
                ..Opts::PLAN
            },
            plan: &["update test_thing.b"],
            apply: Some(Applied {
                calls: &["update b"],
                state: &["test_thing.a", "test_thing.b", "test_thing.c"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a target with an instance key takes that instance only",
            config: COUNTED,
            opts: Opts {
                targets: &["test_thing.x[1]"],
                ..Opts::PLAN
            },
            plan: &["create test_thing.x[1]"],
            apply: Some(Applied {
                calls: &["create n-1"],
                state: &["test_thing.x[1]"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a target without a key takes every instance",
            config: "resource \"test_thing\" \"x\" {\n  count = 2\n  name  = \"n-${count.index}\"\n}\n\nresource \"test_thing\" \"y\" {\n  name = \"y\"\n}\n",
            opts: Opts {
                targets: &["test_thing.x"],
                ..Opts::PLAN
            },
            plan: &["create test_thing.x[0]", "create test_thing.x[1]"],
            ..CASE
        },
        Case {
            name: "a module instance target takes that instance's resources",
            files: &[APP_MODULE],
            config: ENVS,
            opts: Opts {
                targets: &["module.app[\"prod\"]"],
                ..Opts::PLAN
            },
            plan: &["create module.app[\"prod\"].test_thing.t"],
            apply: Some(Applied {
                state: &["module.app[\"prod\"].test_thing.t"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a module target without a key takes every instance",
            files: &[APP_MODULE],
            config: "module \"app\" {\n  for_each = { dev = 1, prod = 2 }\n  source   = \"./modules/app\"\n  name     = \"app-${each.key}\"\n  size     = each.value\n}\n\nresource \"test_thing\" \"other\" {\n  name = \"other\"\n}\n",
            opts: Opts {
                targets: &["module.app"],
                ..Opts::PLAN
            },
            plan: &[
                "create module.app[\"dev\"].test_thing.t",
                "create module.app[\"prod\"].test_thing.t",
            ],
            ..CASE
        },
    ])
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn data_sources() {
    run_all(&[
        Case {
            name: "a data source with known arguments is read at plan time",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 7\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 7\n}\n\ndata \"test_lookup\" \"a\" {\n  name = \"a\"\n}\n\nresource \"test_thing\" \"copy\" {\n  name = \"copy\"\n  size = data.test_lookup.a.size\n}\n\noutput \"found\" {\n  value = data.test_lookup.a.id\n}\n",
            plan: &["create test_thing.copy", "output found = \"id-1\""],
            apply: Some(Applied {
                calls: &["create copy", "lookup a"],
                order: &[("lookup a", "create copy")],
                state: &["test_thing.a", "test_thing.copy"],
                outputs: &["found = \"id-1\""],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a data source whose arguments are unknown is read during apply",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 4\n}\n\ndata \"test_lookup\" \"a\" {\n  name = test_thing.a.id\n}\n\nresource \"test_thing\" \"copy\" {\n  name = \"copy\"\n  size = data.test_lookup.a.size\n}\n",
            plan: &[
                "create test_thing.a",
                "create test_thing.copy",
                "read data.test_lookup.a",
            ],
            apply: Some(Applied {
                order: &[("create a", "lookup id-1"), ("lookup id-1", "create copy")],
                calls: &["create a", "create copy", "lookup id-1"],
                state: &["test_thing.a", "test_thing.copy"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a data source that finds nothing is an error at plan time",
            config: "data \"test_lookup\" \"a\" {\n  name = \"missing\"\n}\n",
            plan: &[],
            diags: &["error inferform::plan::data_read"],
            ..CASE
        },
        Case {
            name: "a destroy plan reads no data source",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\ndata \"test_lookup\" \"gone\" {\n  name = \"missing\"\n}\n",
            opts: Opts {
                destroy: true,
                ..Opts::PLAN
            },
            plan: &["delete test_thing.a"],
            apply: Some(Applied {
                calls: &["delete a"],
                state: &[],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a counted data source reads each instance",
            before: COUNTED,
            config: "resource \"test_thing\" \"x\" {\n  count = 2\n  name  = \"n-${count.index}\"\n}\n\ndata \"test_lookup\" \"x\" {\n  count = 2\n  name  = \"n-${count.index}\"\n}\n\noutput \"ids\" {\n  value = data.test_lookup.x[*].id\n}\n",
            plan: &["output ids = [\"id-1\", \"id-2\"]"],
            ..CASE
        },
    ])
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn state_blocks() {
    run_all(&[
        Case {
            name: "a moved block renames without replacing",
            before: "resource \"inferform_data\" \"old\" {\n  input = 1\n}\n",
            config: "resource \"inferform_data\" \"new\" {\n  input = 1\n}\n\nmoved {\n  from = inferform_data.old\n  to   = inferform_data.new\n}\n",
            plan: &["move inferform_data.old -> inferform_data.new"],
            apply: Some(Applied {
                state: &["inferform_data.new"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a moved block whose source is not in state does nothing",
            config: "resource \"test_thing\" \"new\" {\n  name = \"n\"\n}\n\nmoved {\n  from = test_thing.old\n  to   = test_thing.new\n}\n",
            plan: &["create test_thing.new"],
            ..CASE
        },
        Case {
            name: "a removed block with destroy = false forgets the object",
            before: TWO,
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 1\n}\n\nremoved {\n  from = test_thing.b\n  lifecycle {\n    destroy = false\n  }\n}\n",
            plan: &["forget test_thing.b"],
            apply: Some(Applied {
                calls: &[],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a removed block with destroy = true deletes the object",
            before: TWO,
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 1\n}\n\nremoved {\n  from = test_thing.b\n  lifecycle {\n    destroy = true\n  }\n}\n",
            plan: &["delete test_thing.b"],
            apply: Some(Applied {
                calls: &["delete b"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a destroy plan deletes what a removed block would forget",
            before: "resource \"test_thing\" \"b\" {\n  name = \"b\"\n}\n",
            config: "removed {\n  from = test_thing.b\n  lifecycle {\n    destroy = false\n  }\n}\n",
            opts: Opts {
                destroy: true,
                ..Opts::PLAN
            },
            plan: &["delete test_thing.b"],
            ..CASE
        },
        Case {
            name: "an import block adopts an existing object",
            setup: &[Setup::Make("ext-1", r#"{"name": "ext"}"#)],
            config: "resource \"test_thing\" \"a\" {\n  name = \"ext\"\n}\n\nimport {\n  to = test_thing.a\n  id = \"ext-1\"\n}\n",
            plan: &["import test_thing.a = ext-1"],
            apply: Some(Applied {
                calls: &[],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an imported object that differs from its configuration is updated",
            setup: &[Setup::Make("ext-1", r#"{"name": "ext", "size": 1}"#)],
            config: "resource \"test_thing\" \"a\" {\n  name = \"ext\"\n  size = 2\n}\n\nimport {\n  to = test_thing.a\n  id = \"ext-1\"\n}\n",
            plan: &["import test_thing.a = ext-1", "update test_thing.a"],
            apply: Some(Applied {
                calls: &["update ext"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an import block of an address state has is done already",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\nimport {\n  to = test_thing.a\n  id = \"id-1\"\n}\n",
            plan: &[],
            ..CASE
        },
        Case {
            name: "an import of an id the cloud does not have is an error",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\nimport {\n  to = test_thing.a\n  id = \"nope\"\n}\n",
            plan: &[],
            diags: &["error inferform::plan::import_missing"],
            ..CASE
        },
        Case {
            name: "an import into a resource the configuration lacks is an error",
            config: "import {\n  to = test_thing.a\n  id = \"x\"\n}\n",
            plan: &[],
            diags: &["error inferform::plan::import_target"],
            ..CASE
        },
    ])
    .await;
}

const ONE: &str = "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 1\n}\n";

#[tokio::test(flavor = "current_thread")]
async fn refresh() {
    run_all(&[
        Case {
            name: "drift is put back",
            before: ONE,
            setup: &[Setup::Drift("a", "size", "9")],
            config: ONE,
            plan: &["update test_thing.a"],
            apply: Some(Applied {
                calls: &["update a"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "without refresh drift is not seen",
            before: ONE,
            setup: &[Setup::Drift("a", "size", "9")],
            config: ONE,
            opts: Opts {
                refresh: false,
                ..Opts::PLAN
            },
            plan: &[],
            ..CASE
        },
        Case {
            name: "a refresh-only plan records drift and changes nothing",
            before: ONE,
            setup: &[Setup::Drift("a", "size", "9")],
            config: ONE,
            opts: Opts {
                refresh_only: true,
                ..Opts::PLAN
            },
            plan: &["drift test_thing.a"],
            apply: Some(Applied {
                calls: &[],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a refresh-only plan records an object found gone",
            before: ONE,
            setup: &[Setup::Vanish("a")],
            config: ONE,
            opts: Opts {
                refresh_only: true,
                ..Opts::PLAN
            },
            plan: &["drift test_thing.a gone"],
            apply: Some(Applied {
                calls: &[],
                state: &[],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an object deleted outside is created again",
            before: ONE,
            setup: &[Setup::Vanish("a")],
            config: ONE,
            plan: &["create test_thing.a"],
            apply: Some(Applied {
                calls: &["create a"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an object deleted outside and no longer configured leaves state",
            before: TWO,
            setup: &[Setup::Vanish("b")],
            config: ONE,
            plan: &[],
            apply: Some(Applied {
                calls: &[],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "drift of an ignored attribute is left alone",
            before: ONE,
            setup: &[Setup::Drift("a", "size", "9")],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  size = 1\n  lifecycle {\n    ignore_changes = [size]\n  }\n}\n",
            plan: &[],
            ..CASE
        },
        Case {
            name: "drift of a force-new attribute replaces",
            before: ONE,
            setup: &[Setup::Drift("a", "name", "\"z\"")],
            config: ONE,
            plan: &["replace test_thing.a forced by name"],
            ..CASE
        },
    ])
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn interrupted_creates() {
    run_all(&[
        Case {
            name: "the object of an interrupted create is adopted, not made again",
            setup: &[
                Setup::Make("ext-9", r#"{"name": "a", "size": 1}"#),
                Setup::Intent("test_thing.a", "a"),
            ],
            config: ONE,
            plan: &["adopt test_thing.a"],
            apply: Some(Applied {
                calls: &[],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an adopted object that differs from its configuration is updated",
            setup: &[
                Setup::Make("ext-9", r#"{"name": "a", "size": 5}"#),
                Setup::Intent("test_thing.a", "a"),
            ],
            config: ONE,
            plan: &["adopt test_thing.a", "update test_thing.a"],
            apply: Some(Applied {
                calls: &["update a"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an interrupted create that made nothing is sent again",
            setup: &[Setup::Intent("test_thing.a", "a")],
            config: ONE,
            plan: &["create test_thing.a"],
            apply: Some(Applied {
                calls: &["create a"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an adopted object whose create failed is replaced as tainted",
            setup: &[
                Setup::Make(
                    "ext-9",
                    r#"{"name": "a", "size": 1, "status": "CREATE_FAILED"}"#,
                ),
                Setup::Intent("test_thing.a", "a"),
            ],
            config: ONE,
            plan: &["adopt test_thing.a", "replace test_thing.a (tainted)"],
            apply: Some(Applied {
                order: &[("delete a", "create a")],
                calls: &["create a", "delete a"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an interrupted create of a resource no longer configured deletes what it made",
            setup: &[
                Setup::Make("ext-9", r#"{"name": "gone"}"#),
                Setup::Intent("test_thing.gone", "gone"),
            ],
            config: ONE,
            plan: &[
                "adopt test_thing.gone",
                "create test_thing.a",
                "delete test_thing.gone",
            ],
            apply: Some(Applied {
                calls: &["create a", "delete gone"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
    ])
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn apply_outcomes() {
    run_all(&[
        Case {
            name: "a failure skips its dependents and nothing else",
            setup: &[Setup::Refuse("b")],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\nresource \"test_thing\" \"b\" {\n  name = \"b\"\n}\n\nresource \"test_thing\" \"c\" {\n  name   = \"c\"\n  parent = test_thing.b.id\n}\n\nresource \"test_thing\" \"d\" {\n  name   = \"d\"\n  parent = test_thing.c.id\n}\n",
            plan: &[
                "create test_thing.a",
                "create test_thing.b",
                "create test_thing.c",
                "create test_thing.d",
            ],
            apply: Some(Applied {
                calls: &["create a", "create b"],
                failed: &["test_thing.b create inferform::apply::failed"],
                skipped: &["test_thing.c", "test_thing.d"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a refused create leaves no intent, and the output it feeds keeps its old value",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\noutput \"id\" {\n  value = test_thing.a.id\n}\n",
            setup: &[Setup::Refuse("a2")],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a2\"\n}\n\noutput \"id\" {\n  value = test_thing.a.id\n}\n",
            plan: &[
                "replace test_thing.a forced by name",
                "output id = (known after apply)",
            ],
            apply: Some(Applied {
                order: &[("delete a", "create a2")],
                calls: &["create a2", "delete a"],
                failed: &["test_thing.a replace inferform::apply::failed"],
                state: &[],
                outputs: &["id = \"id-1\""],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "a failed create_before_destroy replacement keeps the old object",
            before: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n",
            setup: &[Setup::Refuse("a2")],
            config: "resource \"test_thing\" \"a\" {\n  name = \"a2\"\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n",
            plan: &["replace-cbd test_thing.a forced by name"],
            apply: Some(Applied {
                calls: &["create a2"],
                failed: &["test_thing.a replace-cbd inferform::apply::failed"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "an expression that fails at apply keeps its span",
            config: "resource \"test_thing\" \"a\" {\n  name = \"a\"\n}\n\nresource \"test_thing\" \"b\" {\n  name = \"b\"\n  size = tonumber(test_thing.a.id)\n}\n",
            plan: &["create test_thing.a", "create test_thing.b"],
            apply: Some(Applied {
                calls: &["create a"],
                failed: &["test_thing.b create inferform::eval at tonumber(test_thing.a.id)"],
                state: &["test_thing.a"],
                ..APPLIED
            }),
            ..CASE
        },
        Case {
            name: "independent branches both finish when a third fails",
            setup: &[Setup::Refuse("bad")],
            config: "resource \"test_thing\" \"bad\" {\n  name = \"bad\"\n}\n\nresource \"test_thing\" \"x\" {\n  name = \"x\"\n}\n\nresource \"test_thing\" \"y\" {\n  name   = \"y\"\n  parent = test_thing.x.id\n}\n",
            plan: &["create test_thing.bad", "create test_thing.x", "create test_thing.y"],
            apply: Some(Applied {
                order: &[("create x", "create y")],
                calls: &["create bad", "create x", "create y"],
                failed: &["test_thing.bad create inferform::apply::failed"],
                state: &["test_thing.x", "test_thing.y"],
                ..APPLIED
            }),
            ..CASE
        },
    ])
    .await;
}
