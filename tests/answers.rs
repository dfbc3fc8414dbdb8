//! Answers that say an object is gone, and answers that cannot be understood, through the
//! binary against the local cloud: a child whose workspace was deleted is gone (not an
//! unreadable object that blocks every plan), and a malformed answer (garbage, an empty 200,
//! another shape, a proxy's HTML 502, a web page, a body cut midway) is an error that changes
//! nothing, never "the object was deleted" followed by a plan that re-creates healthy objects.
//! Errors quote a server's text bounded and escaped.

mod support;

use support::*;

/// Every Fabric object of the quickstart, and its Alaya deployment.
const ADDRESSES: [&str; 5] = [
    "fabric_workspace.main",
    "fabric_endpoint.chat",
    "fabric_model.llama",
    "fabric_service_instance.chat",
    "alaya_expert_deployment.vllm",
];

/// The malformed answers the local cloud can give.
const MALFORMED: [&str; 6] = [
    "garbage",
    "empty",
    "wrong_shape",
    "html502",
    "wrong_content_type",
    "truncated",
];

/// Text without whitespace and the report's frame, so that a check does not depend on where
/// the report wrapped its lines.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '│' | '×' | '├' | '╰' | '─' | '▶'))
        .collect()
}

/// Whether stderr says `needle`, wherever its lines were wrapped.
fn says(out: &Out, needle: &str) -> bool {
    squash(&out.stderr).contains(&squash(needle))
}

fn applied_quickstart() -> Work {
    let work = Work::quickstart();
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    work
}

fn state_list(work: &Work) -> String {
    let list = work.run(&["state", "list"]);
    assert_eq!(list.code, 0, "{list:?}");
    list.stdout
}

/// Issue 12, case 3: a model (and an endpoint and a service instance) whose workspace was
/// deleted behind inferform's back used to make every plan and refresh fail with "GET
/// /v1/workspaces/<id>/models returned 404 … workspace does not exist". A missing parent
/// means the child is gone: the plan says so and proposes to create them again.
#[test]
fn children_of_a_deleted_workspace_are_gone_not_unreadable() {
    let work = applied_quickstart();
    // The workspace goes, as if deleted in the console; what it held is unreachable with it.
    let dir = work.path().join(".inferform/local-cloud/fabric_workspace");
    for entry in std::fs::read_dir(&dir).expect("workspace files") {
        std::fs::remove_file(entry.expect("entry").path()).expect("remove workspace");
    }

    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "the plan works and has changes: {plan:?}");
    assert!(!says(&plan, "does not exist"), "{plan:?}");
    for addr in &ADDRESSES[..4] {
        assert!(
            plan.stdout.contains(&format!("# {addr} has been deleted")),
            "{addr}: {plan:?}"
        );
        assert!(
            plan.stdout.contains(&format!("# {addr} will be created")),
            "{addr}: {plan:?}"
        );
    }
    assert!(
        !plan.stdout.contains("alaya_expert_deployment.vllm will be"),
        "{plan:?}"
    );

    // (Without the outputs: a refresh that drops resources fails to evaluate the outputs
    // that name them, a matter of its own.)
    std::fs::remove_file(work.path().join("outputs.hcl")).expect("remove outputs");
    let refresh = work.run(&["refresh", "--local-cloud"]);
    assert_eq!(refresh.code, 0, "{refresh:?}");
    let list = state_list(&work);
    assert!(!list.contains("fabric_model.llama"), "{list}");

    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "converged: {plan:?}");
}

/// Checks that a command failed on an answer it could not read: an error naming the call,
/// no proposal to create, replace or forget anything, nothing raw from the server printed.
fn assert_unreadable_is_an_error(what: &str, out: &Out) {
    assert_eq!(out.code, 1, "{what}: {out:?}");
    for proposal in [
        "has been deleted",
        "will be created",
        "must be replaced",
        "will be updated",
    ] {
        assert!(!out.stdout.contains(proposal), "{what}: {out:?}");
    }
    assert!(
        says(out, "GET /v1/workspaces") || says(out, "GET /api/serverless-infer"),
        "{what}: {out:?}"
    );
    assert!(!out.stderr.contains('\0'), "{what}: raw NUL: {out:?}");
    assert!(
        !out.stderr.contains('\u{1b}'),
        "{what}: raw escape: {out:?}"
    );
    assert!(!out.stderr.contains("\r"), "{what}: raw CR: {out:?}");
    assert!(out.stderr.len() < 16 * 1024, "{what}: {out:?}");
}

/// Issue 12, case 4: a 200 with another shape or an empty body used to read as "object
/// deleted" in the Fabric list lookups, and the plan proposed to re-create healthy objects.
/// Every malformed answer, on every read of both clouds, is now an error that leaves state
/// as it was; once the cloud answers properly again, nothing is left to change.
#[test]
fn malformed_answers_are_errors_never_deletions() {
    let work = applied_quickstart();
    let before = state_list(&work);
    for addr in ADDRESSES {
        assert!(before.contains(addr), "{before}");
    }

    for kind in MALFORMED {
        // Only the model list: the lookup the issue caught.
        work.cloud_config(&format!(
            r#"{{"timings": {{"all_ms": 300}},
                "faults": {{"calls": {{"fabric.model.list": {{"malformed_rate": 1.0, "malformed": "{kind}"}}}}}}}}"#
        ));
        let plan = work.run(&["plan", "--local-cloud"]);
        assert_unreadable_is_an_error(&format!("model list, {kind}"), &plan);
        assert!(says(&plan, "fabric_model.llama"), "{kind}: {plan:?}");
        assert!(says(&plan, "/models"), "{kind}: {plan:?}");

        // Every read of both clouds.
        work.cloud_config(&format!(
            r#"{{"timings": {{"all_ms": 300}},
                "faults": {{"malformed_rate": 1.0, "malformed": "{kind}"}}}}"#
        ));
        let plan = work.run(&["plan", "--local-cloud"]);
        assert_unreadable_is_an_error(&format!("every call, {kind}"), &plan);
        for addr in ADDRESSES {
            assert!(says(&plan, addr), "{kind}: {addr}: {plan:?}");
        }
    }

    // A refresh that cannot read changes no state.
    work.cloud_config(
        r#"{"timings": {"all_ms": 300}, "faults": {"malformed_rate": 1.0, "malformed": "empty"}}"#,
    );
    let refresh = work.run(&["refresh", "--local-cloud"]);
    assert_unreadable_is_an_error("refresh, empty", &refresh);
    assert_eq!(state_list(&work), before);

    work.cloud_config(r#"{"timings": {"all_ms": 300}}"#);
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "nothing changed: {plan:?}");
    assert_eq!(state_list(&work), before);
    assert_eq!(count(&work.cloud_objects()), 5 + 1, "no duplicates");
}

/// Raw answer bodies used to be echoed into errors, NUL bytes included. Now an unreadable
/// success is described (content type, size), and the text of an error answer is quoted
/// bounded, on one line, with control characters escaped (the unit tests of
/// `inferform-provider`, `-fabric` and `-alaya` check NULs and escapes byte by byte).
#[test]
fn server_text_in_errors_is_bounded_and_escaped() {
    let work = applied_quickstart();
    // Garbage with NULs and a terminal escape is described, not echoed.
    work.cloud_config(
        r#"{"timings": {"all_ms": 300},
            "faults": {"malformed_rate": 1.0, "malformed": "garbage"}}"#,
    );
    let plan = work.run(&["plan", "--local-cloud"]);
    assert_unreadable_is_an_error("garbage", &plan);
    assert!(
        says(&plan, "not an Alaya envelope (application/json, 30 bytes)"),
        "{plan:?}"
    );
    assert!(
        says(&plan, "not valid JSON (application/json, 30 bytes)"),
        "{plan:?}"
    );

    // A proxy's HTML 502 page is quoted on one line, with what it was.
    work.cloud_config(
        r#"{"timings": {"all_ms": 300},
            "faults": {"calls": {"fabric.endpoint.show": {"malformed_rate": 1.0, "malformed": "html502"}}}}"#,
    );
    let plan = work.run(&["plan", "--local-cloud"]);
    assert_unreadable_is_an_error("endpoint html502", &plan);
    assert!(says(&plan, "returned 502"), "{plan:?}");
    assert!(says(&plan, "text/html"), "{plan:?}");
    assert!(says(&plan, "502 Bad Gateway"), "{plan:?}");
}
