//! The pull-request comment: snapshots, secrets, the marker, and the length limit.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use inferform_engine::Plan;
use inferform_render::{
    plan_hash, plan_markdown, plan_markdown_with_limit, GITHUB_COMMENT_LIMIT, MARKER_PREFIX,
};
use inferform_types::Value;

/// The comment's length as the renderer bounds it: bytes, newlines counted twice.
fn cost(s: &str) -> usize {
    s.len() + s.matches('\n').count()
}

#[test]
fn mixed_plan_snapshot() {
    let md = plan_markdown(&mixed_plan(), &schemas(), &mixed_in_config());
    insta::assert_snapshot!(md);
}

#[test]
fn no_changes_snapshot() {
    let md = plan_markdown(&Plan::default(), &BTreeMap::new(), &BTreeSet::new());
    insta::assert_snapshot!(md);
}

#[test]
fn no_secret_is_shown() {
    let md = plan_markdown(&mixed_plan(), &schemas(), &mixed_in_config());
    assert_no_secret("the Markdown plan", &md);
    assert!(md.contains("(sensitive value)"));
    // Without schemas, the plan's own marks still hide what they mark.
    let md = plan_markdown(&mixed_plan(), &BTreeMap::new(), &mixed_in_config());
    for secret in ["s3cr3t-new", "hunter2-old", "hunter2-new", "out-secret-new"] {
        assert!(!md.contains(secret), "{secret} shown:\n{md}");
    }
}

#[test]
fn marker_holds_the_plan_hash() {
    let plan = mixed_plan();
    let md = plan_markdown(&plan, &schemas(), &mixed_in_config());
    let first = md.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "{MARKER_PREFIX}{} -->",
            plan_hash(&plan, &schemas(), &mixed_in_config())
        )
    );
}

#[test]
fn warnings_come_before_details_with_forcing_paths() {
    let md = plan_markdown(&mixed_plan(), &schemas(), &mixed_in_config());
    let caution = md.find("[!CAUTION]").expect("a warning");
    let first_details = md.find("<details>").expect("details");
    assert!(caution < first_details);
    let warning = &md[caution..first_details];
    for line in [
        "**replace** `fabric_endpoint.chat` (destroy, then create): `type`, `reserved_resource.mu.spec_code` force replacement",
        "**replace** `inferform_data.cbd` (create the new object, then destroy the old): `triggers_replace` forces replacement",
        "**destroy** `inferform_data.item[2]`: its index is beyond `count`",
        "**destroy** `inferform_data.old`: its resource block is no longer in the configuration",
    ] {
        assert!(warning.contains(line), "{line} missing from:\n{warning}");
    }
    assert!(md.contains(
        "**Plan:** 1 to add, 2 to change, 2 to replace, 2 to destroy, 0 to import, 0 to move, 2 drifted."
    ));
}

/// 2,000 resources: too long for one comment. The counts and every destroy and replace stay;
/// per-resource details are trimmed, creates first, and a note says how many.
#[test]
fn large_plan_is_trimmed_to_fit() {
    let plan = large_plan(2000, 30, 30);
    let md = plan_markdown(&plan, &schemas(), &large_in_config());
    assert!(
        cost(&md) <= GITHUB_COMMENT_LIMIT,
        "{} bytes and newlines",
        cost(&md)
    );
    assert!(md.chars().count() <= GITHUB_COMMENT_LIMIT);
    assert!(md.contains(
        "**Plan:** 2000 to add, 0 to change, 30 to replace, 30 to destroy, 0 to import, 0 to move, 0 drifted."
    ));
    for i in 0..30 {
        assert!(md.contains(&format!("**destroy** `inferform_data.old[{i}]`")));
        assert!(md.contains(&format!("**replace** `inferform_data.rep[{i}]`")));
        // Destroys and replaces keep their details ahead of creates.
        assert!(md.contains(&format!(
            "<code>inferform_data.old[{i}]</code> will be destroyed"
        )));
        assert!(md.contains(&format!(
            "<code>inferform_data.rep[{i}]</code> must be replaced"
        )));
    }
    let kept = md.matches("<details>").count();
    let trimmed = 2060 - kept;
    assert!(trimmed > 0);
    assert!(
        md.contains(&format!(
            "**{trimmed} of 2060 per-resource sections were trimmed**"
        )),
        "no note for {trimmed} trimmed sections"
    );
    // Every section left is whole.
    assert_eq!(md.matches("</details>").count(), kept);
    assert_eq!(md.matches("```diff").count(), kept);
    // The top of it, to see the layout.
    let head: String = md.lines().take(12).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(head);
}

/// So many destroys that even their list does not fit: the list is cut with a count of the
/// rest, and the comment still fits.
#[test]
fn thousands_of_destroys_still_fit() {
    let plan = large_plan(0, 5000, 0);
    let md = plan_markdown(&plan, &schemas(), &large_in_config());
    assert!(cost(&md) <= GITHUB_COMMENT_LIMIT);
    assert!(md.contains("5000 to destroy"));
    assert!(md.contains("**This plan destroys 5000 resources.**"));
    let listed = md.matches("- **destroy**").count();
    assert!(listed > 500, "only {listed} listed");
    assert!(md.contains(&format!("> - … and {} more not listed here", 5000 - listed)));
    assert!(md.contains("**5000 of 5000 per-resource sections were trimmed**"));
    assert!(md.contains("the list of destroys and replaces is not;"));
}

#[test]
fn a_small_limit_trims_creates_before_destroys() {
    let plan = mixed_plan();
    let full = plan_markdown(&plan, &schemas(), &mixed_in_config());
    // The diagram goes first; 200 characters less than the rest trims sections too.
    let diagram = inferform_render::diagram_section(&plan);
    assert!(full.contains(&diagram));
    let limit = cost(&full) - cost(&diagram) - 200;
    let md = plan_markdown_with_limit(&plan, &schemas(), &mixed_in_config(), limit);
    assert!(cost(&md) <= limit);
    assert!(md.contains("**Plan:**"));
    assert!(md.contains("[!CAUTION]"));
    assert!(md.contains("<code>inferform_data.old</code> will be destroyed"));
    assert!(md.contains("per-resource sections were trimmed"));
    assert!(md.contains("the list of destroys and replaces above are complete;"));
}

#[test]
fn awkward_names_do_not_break_the_markup() {
    let mut plan = Plan::default();
    let key = inferform_types::InstanceKey::Str("<b>`x`</b>".into());
    plan.changes.push(change(
        addr("inferform_data", "odd", key),
        inferform_engine::Action::Delete,
        Some(Value::object([(
            "input",
            Value::string("```\nnot a fence"),
        )])),
        None,
        &[],
    ));
    let md = plan_markdown(&plan, &schemas(), &BTreeSet::new());
    insta::assert_snapshot!(md);
}
