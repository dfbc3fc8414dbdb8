//! Plans → Markdown for a pull-request review comment.
//!
//! The comment reads top-down in order of risk: a hidden marker with the plan's hash (so a CI
//! job finds its comment and updates it in place), the counts, a warning that lists every
//! destroy and replace with the attributes that force each replacement, then one collapsible
//! section per resource with its attribute diff (the terminal renderer's, without colour, in a
//! ```` ```diff ```` block). It fits in one GitHub comment: when the whole would be too long,
//! per-resource sections are left out, least risky first, and a note says how many; the counts
//! and the destroy/replace warning are never trimmed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use inferform_engine::diff::marked;
use inferform_engine::{Action, OutputChange, Plan, ResourceChange};
use inferform_types::addr::provider_for_type;
use inferform_types::{Schema, Value};

use crate::capacity::{markdown_capacity, plan_capacity, Prices};
use crate::diagram::diagram_section;

/// What stands in for the change diagram when the comment has no room for it.
const DIAGRAM_LEFT_OUT: &str = "### Change diagram\n\n_Left out to keep this comment within \
                                one comment's limit; `inferform graph` prints the graph._\n\n";
use crate::json::{action_reason, plan_hash};
use crate::text::{format_value, Style};

/// The longest comment GitHub accepts, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// The start of the hidden marker on the comment's first line: `<!-- inferform-plan: HASH -->`.
pub const MARKER_PREFIX: &str = "<!-- inferform-plan: ";

/// Renders a plan as a pull-request comment that fits GitHub's limit
/// ([`GITHUB_COMMENT_LIMIT`]); see [`plan_markdown_with_limit`].
pub fn plan_markdown(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
) -> String {
    plan_markdown_with_limit(plan, schemas, in_config, GITHUB_COMMENT_LIMIT)
}

/// Renders a plan as a pull-request comment of at most `limit` characters (counted as UTF-8
/// bytes with each newline as two, so the bound holds however the host counts).
///
/// `schemas` and `in_config` are as for [`plan_json`](crate::plan_json): schemas hide every
/// sensitive attribute (shown as `(sensitive value)`), and `in_config` (the configuration's
/// resource addresses) gives each destroy its reason.
///
/// Layout:
/// 1. `<!-- inferform-plan: HASH -->`, HASH being [`plan_hash`](crate::plan_hash): the SHA-256
///    of the plan's canonical JSON.
/// 2. `## inferform plan` and the counts: `**Plan:** N to add, N to change, N to replace,
///    N to destroy, N to import, N to move, N drifted.` A replace counts once, as a replace
///    (the terminal's `Plan:` line counts it as one add and one destroy). When a change
///    touches a reservation, the capacity table (and with prices the cost table) of
///    [`crate::capacity`]. Then `No changes.`,
///    or a line for a refresh-only plan, and a `> [!WARNING]` when `--target` was used.
/// 3. A `> [!CAUTION]` block listing every destroy and replace, with the attribute paths that
///    force each replacement, before anything else.
/// 4. When sections were trimmed, a `> [!NOTE]` saying how many.
/// 5. `### Change diagram`: a Mermaid flowchart of the changed resources and their
///    dependencies, coloured by action ([`crate::diagram`]); a one-line note instead when it
///    is too large to read or when the comment has no room for it.
/// 6. `### Changed outside inferform`: one `<details>` per drifted resource.
/// 7. `### Resource changes`: one `<details>` per created, updated, replaced, destroyed, read,
///    moved or imported resource, its summary the symbol, address and action, its body a
///    ```` ```diff ```` block with `+`/`-`/`~` in the first column; secrets show as
///    `(sensitive value)`.
/// 8. `### Output changes`: one ```` ```diff ```` block.
///
/// Only per-resource sections and the output block are ever trimmed: first creates, reads and
/// outputs, then updates and drift, then destroys and replaces. If even the counts and the
/// warning would not fit (thousands of destroys), the warning lists as many as fit and says
/// how many more there are.
pub fn plan_markdown_with_limit(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
    limit: usize,
) -> String {
    report(plan, schemas, in_config, limit, None)
}

/// [`plan_markdown`], with the cost of the capacity change when the user gave prices.
pub fn plan_markdown_priced(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
    prices: Option<&Prices>,
) -> String {
    report(plan, schemas, in_config, GITHUB_COMMENT_LIMIT, prices)
}

/// The report; see [`plan_markdown_with_limit`] for its layout. The capacity (and cost)
/// section follows the counts line: it is part of the head, never trimmed.
fn report(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
    limit: usize,
    prices: Option<&Prices>,
) -> String {
    let mut head = String::new();
    let _ = writeln!(
        head,
        "{MARKER_PREFIX}{} -->",
        plan_hash(plan, schemas, in_config)
    );
    head.push_str("## inferform plan\n\n");
    head.push_str(&summary(plan, prices));

    let warnings = warnings(plan, in_config);
    let mut items = sections(plan, schemas, in_config);
    let headings: usize = Section::ALL
        .iter()
        .filter(|s| items.iter().any(|i| i.section == **s))
        .map(|s| cost(s.heading()))
        .sum();
    // The longest the note about trimmed sections can be.
    let note_room = cost(&trim_note(items.len(), items.len(), false, limit));
    let room_for_warnings = limit.saturating_sub(cost(&head) + note_room);
    let (warning_text, all_listed) = fit_warnings(&warnings, room_for_warnings);
    head.push_str(&warning_text);

    let everything = cost(&head) + headings + items.iter().map(|i| cost(&i.text)).sum::<usize>();
    // The diagram is shown only when everything else fits with it: the per-resource
    // sections say more, so it is the first thing left out.
    // In its place goes a one-line note, where even that fits without trimming more.
    let mut diagram = diagram_section(plan);
    if !diagram.is_empty() && everything + cost(&diagram) > limit {
        let note = cost(DIAGRAM_LEFT_OUT);
        let note_fits = if everything <= limit {
            everything + note <= limit
        } else {
            cost(&head) + note_room + headings + note <= limit
        };
        diagram = if note_fits {
            String::from(DIAGRAM_LEFT_OUT)
        } else {
            String::new()
        };
    }
    let everything = everything + cost(&diagram);
    if everything <= limit {
        items.iter_mut().for_each(|i| i.kept = true);
    } else {
        // Keep the most important sections that fit; the rest are trimmed.
        let mut budget = limit.saturating_sub(cost(&head) + note_room + headings + cost(&diagram));
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| (items[i].priority, i));
        for i in order {
            let c = cost(&items[i].text);
            if c <= budget {
                budget -= c;
                items[i].kept = true;
            }
        }
    }
    let trimmed = items.iter().filter(|i| !i.kept).count();

    let mut out = head;
    if trimmed > 0 {
        out.push_str(&trim_note(trimmed, items.len(), all_listed, limit));
    }
    out.push_str(&diagram);
    for section in Section::ALL {
        let kept: Vec<&Item> = items
            .iter()
            .filter(|i| i.section == section && i.kept)
            .collect();
        if kept.is_empty() {
            continue;
        }
        out.push_str(section.heading());
        for item in kept {
            out.push_str(&item.text);
        }
    }
    out
}

/// The note that says how many sections were trimmed.
fn trim_note(trimmed: usize, total: usize, all_listed: bool, limit: usize) -> String {
    let complete = if all_listed {
        "The counts and the list of destroys and replaces above are complete"
    } else {
        "The counts above are complete, the list of destroys and replaces is not"
    };
    format!(
        "> [!NOTE]\n> **{trimmed} of {total} per-resource sections were trimmed** to keep this \
         comment within the {}-character limit of one comment. {complete}; `inferform show` \
         on the saved plan prints everything.\n\n",
        group_thousands(limit)
    )
}

/// Length as a comment-length limit counts it, pessimistically: UTF-8 bytes, newlines twice
/// (a browser sends them as CRLF).
fn cost(s: &str) -> usize {
    s.len() + s.bytes().filter(|b| *b == b'\n').count()
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    groups.reverse();
    groups.join(",")
}

/// The counts line, and `No changes.` when there are none.
fn summary(plan: &Plan, prices: Option<&Prices>) -> String {
    let count = |f: fn(&Action) -> bool| plan.changes.iter().filter(|c| f(&c.action)).count();
    let add = count(|a| *a == Action::Create);
    let change = count(|a| *a == Action::Update);
    let replace = count(|a| matches!(a, Action::Replace { .. }));
    let destroy = count(|a| *a == Action::Delete);
    let (import, moved) = (plan.imports.len(), plan.moved.len());
    let mut out = format!(
        "**Plan:** {add} to add, {change} to change, {replace} to replace, {destroy} to destroy, \
         {import} to import, {moved} to move, {} drifted.\n\n",
        plan.drift.len()
    );
    if let Some(cap) = plan_capacity(plan) {
        out.push_str(&markdown_capacity(&cap, prices));
    }
    if plan.refresh_only {
        out.push_str(
            "**Refresh-only plan:** applying it records the changes made outside inferform in \
             state, and changes nothing in the cloud.\n\n",
        );
    } else if !plan.has_changes() {
        out.push_str("**No changes.** Your infrastructure matches the configuration.\n\n");
    }
    if plan.targeted {
        out.push_str(
            "> [!WARNING]\n> This plan was made with `--target`: it covers only the targeted \
             resources and what they depend on, so it may not be everything the configuration \
             asks for.\n\n",
        );
    }
    out
}

/// One line per destroy and replace, in plan order.
fn warnings(plan: &Plan, in_config: &BTreeSet<String>) -> Vec<String> {
    plan.changes
        .iter()
        .filter_map(|c| {
            let addr = code(&c.addr.to_string());
            Some(match c.action {
                Action::Replace { create_first } => {
                    let order = if create_first {
                        "create the new object, then destroy the old"
                    } else {
                        "destroy, then create"
                    };
                    let why = match c.replace_paths.as_slice() {
                        [] => match plan.replace_reasons.get(&c.addr).map(|r| r.as_str()) {
                            Some("tainted") => {
                                "tainted: an earlier create failed and left the object half-made"
                                    .to_string()
                            }
                            Some("triggered") => "`replace_triggered_by` fired".to_string(),
                            _ => "replacement requested with `--replace`".to_string(),
                        },
                        [one] => format!("{} forces replacement", code(one)),
                        many => format!(
                            "{} force replacement",
                            many.iter().map(|p| code(p)).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    format!("- **replace** {addr} ({order}): {why}\n")
                }
                Action::Delete => {
                    let why = match action_reason(plan, c, in_config) {
                        Some("delete_because_no_resource_config") => {
                            ": its resource block is no longer in the configuration"
                        }
                        Some("delete_because_count_index") => ": its index is beyond `count`",
                        Some("delete_because_each_key") => ": its key is no longer in `for_each`",
                        Some("delete_because_wrong_repetition") => {
                            ": the resource's `count` or `for_each` changed"
                        }
                        _ => "",
                    };
                    format!("- **destroy** {addr}{why}\n")
                }
                _ => return None,
            })
        })
        .collect()
}

/// The warning block with as many lines as fit in `room` (all of them unless there are
/// thousands), and whether all are there.
fn fit_warnings(lines: &[String], room: usize) -> (String, bool) {
    if lines.is_empty() {
        return (String::new(), true);
    }
    let (destroys, replaces) = lines.iter().fold((0, 0), |(d, r), l| {
        if l.starts_with("- **destroy**") {
            (d + 1, r)
        } else {
            (d, r + 1)
        }
    });
    let what = match (destroys, replaces) {
        (d, 0) => format!("destroys {d} {}", noun(d)),
        (0, r) => format!("replaces {r} {}", noun(r)),
        (d, r) => format!("destroys {d} and replaces {r} {}", noun(r)),
    };
    let mut out = format!("> [!CAUTION]\n> **This plan {what}.**\n>\n");
    let tail_reserve = 120;
    let mut shown = 0;
    for line in lines {
        if cost(&out) + cost(line) + 2 + tail_reserve > room {
            break;
        }
        out.push_str("> ");
        out.push_str(line);
        shown += 1;
    }
    if shown < lines.len() {
        let _ = writeln!(
            out,
            "> - … and {} more not listed here: too many for one comment; \
             `inferform show` lists them all.",
            lines.len() - shown
        );
    }
    out.push('\n');
    (out, shown == lines.len())
}

fn noun(n: usize) -> &'static str {
    if n == 1 {
        "resource"
    } else {
        "resources"
    }
}

/// Text as inline code, with a fence longer than any run of backticks inside it.
fn code(s: &str) -> String {
    let run = longest_backtick_run(s);
    let fence = "`".repeat(run + 1);
    if run > 0 {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

fn longest_backtick_run(s: &str) -> usize {
    let (mut best, mut cur) = (0, 0);
    for c in s.chars() {
        if c == '`' {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // A backtick would start a code span inside the HTML.
            '`' => out.push_str("&#96;"),
            c => out.push(c),
        }
    }
    out
}

/// The parts of the comment that hold per-resource sections, in the order they appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Drift,
    Changes,
    Outputs,
}

impl Section {
    const ALL: [Section; 3] = [Section::Drift, Section::Changes, Section::Outputs];

    fn heading(&self) -> &'static str {
        match self {
            Section::Drift => "### Changed outside inferform\n\n",
            Section::Changes => "### Resource changes\n\n",
            Section::Outputs => "### Output changes\n\n",
        }
    }
}

/// One trimmable piece of the comment.
struct Item {
    section: Section,
    /// Lower is kept first: 0 destroys and replaces, 1 updates and drift, 2 the rest.
    priority: u8,
    text: String,
    kept: bool,
}

fn sections(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
) -> Vec<Item> {
    let mut items = Vec::new();
    for d in &plan.drift {
        let (symbol, what) = match d.after {
            Some(_) => ("~", "changed outside inferform"),
            None => ("-", "was deleted outside inferform"),
        };
        let body = Some(d.addr.clone()).map(|addr| {
            let schema = schemas.get(&addr.resource.type_name);
            let change = ResourceChange {
                provider: provider_for_type(&addr.resource.type_name).to_string(),
                action: if d.after.is_some() {
                    Action::Update
                } else {
                    Action::Delete
                },
                before: Some(d.before.clone()),
                after: d.after.clone(),
                replace_paths: Vec::new(),
                dependencies: Vec::new(),
                deposed: None,
                addr,
            };
            diff_block(&change, schema, in_config)
        });
        items.push(Item {
            section: Section::Drift,
            priority: 1,
            text: details(symbol, &d.addr.to_string(), what, body.as_deref()),
            kept: false,
        });
    }
    for c in &plan.changes {
        let address = c.addr.to_string();
        let moved_from = plan
            .moved
            .iter()
            .find(|(_, to)| *to == c.addr)
            .map(|(from, _)| from.to_string());
        let import_id = plan.imports.get(&c.addr);
        if c.action == Action::NoOp && moved_from.is_none() && import_id.is_none() {
            continue;
        }
        let (symbol, what, priority) = match c.action {
            Action::Create => ("+", "will be created", 2),
            Action::Update => ("~", "will be updated in-place", 1),
            Action::Replace {
                create_first: false,
            } => ("-/+", "must be replaced", 0),
            Action::Replace { create_first: true } => {
                ("+/-", "must be replaced (new object first)", 0)
            }
            Action::Delete => ("-", "will be destroyed", 0),
            Action::Read => ("<=", "will be read during apply", 2),
            Action::NoOp => (" ", "has no changes", 2),
            Action::Forget => (".", "will be removed from state, not destroyed", 1),
        };
        let mut what = what.to_string();
        if let Some(key) = &c.deposed {
            let _ = write!(
                what,
                "; deposed object <code>{}</code>, left over from a partially-failed replacement",
                html_escape(key)
            );
        }
        if let Some(from) = moved_from {
            let _ = write!(what, "; moved from <code>{}</code>", html_escape(&from));
        }
        if let Some(id) = import_id {
            let _ = write!(what, "; imported (id <code>{}</code>)", html_escape(id));
        }
        let schema = schemas.get(&c.addr.resource.type_name);
        let body = diff_block(c, schema, in_config);
        items.push(Item {
            section: Section::Changes,
            priority,
            text: details(symbol, &address, &what, Some(&body)),
            kept: false,
        });
    }
    if let Some(text) = outputs_block(&plan.outputs) {
        items.push(Item {
            section: Section::Outputs,
            priority: 2,
            text,
            kept: false,
        });
    }
    items
}

/// A collapsible section: the summary line, then the diff block.
fn details(symbol: &str, addr: &str, what: &str, body: Option<&str>) -> String {
    let mut out = format!(
        "<details><summary><code>{}</code> <code>{}</code> {what}</summary>\n\n",
        html_escape(symbol),
        html_escape(addr)
    );
    if let Some(body) = body {
        out.push_str(body);
        out.push('\n');
    }
    out.push_str("</details>\n\n");
    out
}

/// The terminal renderer's diff of one change, without colour and without its leading
/// comment lines (the section's summary says the same), as a ```` ```diff ```` block.
fn diff_block(
    change: &ResourceChange,
    schema: Option<&Schema>,
    in_config: &BTreeSet<String>,
) -> String {
    let hide = |v: &Option<Value>| v.clone().map(|v| marked(v, schema));
    let change = ResourceChange {
        before: hide(&change.before),
        after: hide(&change.after),
        ..change.clone()
    };
    let text = crate::render_change(&change, schema, in_config, Style { color: false });
    let lines: Vec<String> = text
        .lines()
        .skip_while(|l| l.trim_start().starts_with('#'))
        .map(diff_line)
        .collect();
    fenced("diff", &lines.join("\n"))
}

/// Moves a line's leading `+`, `-`, `~`, `-/+` or `+/-` to the first column, keeping the
/// text after it where it was, so that GitHub colours the line.
fn diff_line(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    if indent == 0 {
        return line.to_string();
    }
    for symbol in ["-/+", "+/-", "+", "-", "~"] {
        if let Some(rest) = trimmed.strip_prefix(symbol) {
            if rest.starts_with(' ') {
                return format!("{symbol}{}{rest}", " ".repeat(indent));
            }
        }
    }
    line.to_string()
}

/// A fenced code block whose fence is longer than any run of backticks in `body`.
fn fenced(lang: &str, body: &str) -> String {
    let fence = "`".repeat(3.max(longest_backtick_run(body) + 1));
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

/// The output changes as a diff block; `None` when no output changes.
fn outputs_block(outputs: &[OutputChange]) -> Option<String> {
    let changed: Vec<&OutputChange> = outputs
        .iter()
        .filter(|o| {
            o.before.as_ref().map(Value::deep_unmarked) != Some(o.after.deep_unmarked())
                || !o.after.is_wholly_known()
        })
        .collect();
    if changed.is_empty() {
        return None;
    }
    let width = changed.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let show = |o: &OutputChange, v: &Value| {
        if o.sensitive || v.is_sensitive() {
            "(sensitive value)".to_string()
        } else {
            format_value(v, 2)
        }
    };
    let lines: Vec<String> = changed
        .iter()
        .map(|o| match &o.before {
            None => format!("+ {:width$} = {}", o.name, show(o, &o.after)),
            Some(b) => format!(
                "~ {:width$} = {} -> {}",
                o.name,
                show(o, b),
                show(o, &o.after)
            ),
        })
        .collect();
    Some(format!("{}\n", fenced("diff", &lines.join("\n"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_move_to_the_first_column() {
        assert_eq!(diff_line("      + id = 1"), "+       id = 1");
        assert_eq!(
            diff_line("  ~ resource \"a\" \"b\" {"),
            "~   resource \"a\" \"b\" {"
        );
        assert_eq!(
            diff_line("-/+ resource \"a\" \"b\" {"),
            "-/+ resource \"a\" \"b\" {"
        );
        assert_eq!(diff_line("        \"x\","), "        \"x\",");
        assert_eq!(diff_line("      -1"), "      -1");
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("a.b"), "`a.b`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(fenced("diff", "x ``` y"), "````diff\nx ``` y\n````\n");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(65_536), "65,536");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000_000), "1,000,000");
    }
}
