//! A Mermaid `flowchart` of what a plan changes, for the pull-request report: every resource
//! instance the plan creates, updates, replaces, destroys or reads, the resources those
//! depend on (unchanged ones in grey, for context), and an arrow from each dependency to what
//! depends on it, coloured by action. GitHub renders Mermaid in comments, so a reviewer sees
//! at a glance which parents a replacement drags along.
//!
//! Node ids are generated (`n0`, `n1`, ...), and addresses go in quoted labels with `"` as
//! `#quot;`, so no address (module keys, for_each keys) can break the syntax. A diagram with
//! more than [`MAX_NODES`] nodes or [`MAX_EDGES`] edges is left out: past that size it is a
//! hairball GitHub renders slowly and nobody reads.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use inferform_engine::{Action, Plan};
use inferform_types::ResourceAddr;

/// The most nodes a diagram may have.
pub const MAX_NODES: usize = 60;
/// The most arrows a diagram may have.
pub const MAX_EDGES: usize = 120;

/// Why no diagram is drawn.
#[derive(Debug, PartialEq, Eq)]
pub enum NoDiagram {
    /// The plan changes nothing.
    NothingChanges,
    /// Too many nodes or arrows to read: how many nodes it would have had.
    TooLarge { nodes: usize, edges: usize },
}

/// The class (and so the colour) of a node.
fn class(action: Option<Action>) -> &'static str {
    match action {
        Some(Action::Create) => "create",
        Some(Action::Update) => "update",
        Some(Action::Replace { .. }) => "replace",
        Some(Action::Delete) => "delete",
        Some(Action::Read) => "read",
        Some(Action::Forget) => "forget",
        Some(Action::NoOp) | None => "unchanged",
    }
}

fn symbol(action: Option<Action>) -> &'static str {
    match action {
        Some(Action::Create) => "+ ",
        Some(Action::Update) => "~ ",
        Some(Action::Replace {
            create_first: false,
        }) => "-/+ ",
        Some(Action::Replace { create_first: true }) => "+/- ",
        Some(Action::Delete) => "- ",
        Some(Action::Read) => "<= ",
        Some(Action::Forget) => ". ",
        Some(Action::NoOp) | None => "",
    }
}

/// A label Mermaid reads as text whatever the address holds.
fn label(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The diagram's Mermaid source (without the code fence), or why there is none.
pub fn plan_diagram(plan: &Plan) -> Result<String, NoDiagram> {
    // Instances the plan touches, by address, with their action.
    let touched: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    if touched.is_empty() {
        return Err(NoDiagram::NothingChanges);
    }
    // Every instance the plan knows, by the resource block it belongs to: dependencies name
    // blocks (keyless module paths), and reach each instance in a related module instance,
    // as the apply scheduler reads them (`module.env["a"]` never waits on `["b"]`).
    let mut by_resource: BTreeMap<ResourceAddr, Vec<usize>> = BTreeMap::new();
    for (i, c) in plan.changes.iter().enumerate() {
        by_resource
            .entry(c.addr.resource.config_addr())
            .or_default()
            .push(i);
    }
    let mut nodes: BTreeSet<usize> = BTreeSet::new();
    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
    for (i, c) in plan.changes.iter().enumerate() {
        if c.action == Action::NoOp {
            continue;
        }
        nodes.insert(i);
        for dep in &c.dependencies {
            for &j in by_resource.get(&dep.config_addr()).into_iter().flatten() {
                let other = &plan.changes[j].addr.resource.module;
                if j != i && other.related(&c.addr.resource.module) {
                    nodes.insert(j);
                    edges.insert((j, i));
                }
            }
        }
    }
    if nodes.len() > MAX_NODES || edges.len() > MAX_EDGES {
        return Err(NoDiagram::TooLarge {
            nodes: nodes.len(),
            edges: edges.len(),
        });
    }
    let id: BTreeMap<usize, usize> = nodes.iter().enumerate().map(|(n, &i)| (i, n)).collect();
    let mut out = String::from("flowchart LR\n");
    for &i in &nodes {
        let c = &plan.changes[i];
        let action = (c.action != Action::NoOp).then_some(c.action);
        let _ = writeln!(
            out,
            "  n{}[\"{}\"]:::{}",
            id[&i],
            label(&format!(
                "{}{}{}",
                symbol(action),
                c.addr,
                c.deposed
                    .as_ref()
                    .map_or(String::new(), |k| format!(" (deposed {k})"))
            )),
            class(action)
        );
    }
    for (from, to) in &edges {
        let _ = writeln!(out, "  n{} --> n{}", id[from], id[to]);
    }
    out.push_str(
        "  classDef create fill:#dafbe1,stroke:#1a7f37,color:#1a7f37\n\
         \x20 classDef update fill:#fff8c5,stroke:#9a6700,color:#9a6700\n\
         \x20 classDef replace fill:#ffebe9,stroke:#cf222e,color:#cf222e,stroke-dasharray:4\n\
         \x20 classDef delete fill:#ffebe9,stroke:#cf222e,color:#cf222e\n\
         \x20 classDef read fill:#ddf4ff,stroke:#0969da,color:#0969da\n\
         \x20 classDef forget fill:#f6f8fa,stroke:#57606a,color:#57606a,stroke-dasharray:2\n\
         \x20 classDef unchanged fill:#f6f8fa,stroke:#8c959f,color:#57606a\n",
    );
    Ok(out)
}

/// The report's section: a heading, a legend line and the fenced diagram; a one-line note
/// when it is too large; nothing when nothing changes.
pub fn diagram_section(plan: &Plan) -> String {
    match plan_diagram(plan) {
        Ok(src) => format!(
            "### Change diagram\n\nArrows run from a dependency to what depends on it. \
             Green: create; yellow: update; red, dashed: replace; red: destroy; blue: read; \
             grey, dashed: removed from state only; grey: unchanged.\n\n```mermaid\n{src}```\n\n"
        ),
        Err(NoDiagram::NothingChanges) => String::new(),
        Err(NoDiagram::TooLarge { nodes, edges }) => format!(
            "### Change diagram\n\n_Left out: {nodes} resources and {edges} dependencies are \
             more than a diagram can show legibly ({MAX_NODES} and {MAX_EDGES}); \
             `inferform graph` prints the whole graph._\n\n"
        ),
    }
}
