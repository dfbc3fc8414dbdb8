//! Plans and diagnostics → text for people: the terminal plan in Terraform's layout (`+`, `~`,
//! `-/+`, `-`, attribute-level diffs, `(known after apply)`, `(sensitive value)`,
//! `# forces replacement`), and diagnostics with the source snippet underlined (miette).
//!
//! For machines and reviews, [`plan_json`] gives Terraform's JSON plan representation and
//! [`plan_markdown`] a pull-request comment.
//!
//! Rendering is pure: it returns strings and never prints, so it is snapshot-tested.
//! Sensitive values are replaced by `(sensitive value)` here and nowhere leak through.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use inferform_engine::{Action, Plan, ResourceChange};
use inferform_types::{Diagnostic, Nesting, Schema, Value};

mod capacity;
mod diagram;
mod docs;
mod json;
mod json_config;
mod markdown;
pub mod progress;
mod state_views;
mod text;
pub mod ui_json;
mod views;

pub use capacity::{
    capacity_json, markdown_capacity, plan_capacity, render_capacity, Capacity, CapacityRow,
    Prices, Range, Resource, HOURS_PER_MONTH,
};
pub use diagram::{diagram_section, plan_diagram, NoDiagram, MAX_EDGES, MAX_NODES};
pub use docs::{docs_index, resource_doc, DocKind, DocPage, IndexEntry, GENERATED_NOTE};
pub use json::{
    canonical_json, plan_hash, plan_json, plan_json_full, plan_json_priced, PlanSource,
    CAPACITY_KEY, FORMAT_VERSION,
};
pub use json_config::ConfigSchemas;
pub use markdown::{
    plan_markdown, plan_markdown_priced, plan_markdown_with_limit, GITHUB_COMMENT_LIMIT,
    MARKER_PREFIX,
};
pub use state_views::{history_json_lines, history_table, resource_block, state_document};
pub use text::{console_value, format_value, Style};
pub use views::{
    apply_summary, diagnostic_json, file_diff, outputs_json, outputs_section, state_json,
    validate_json, ApplySummary, SensitiveOutputs,
};

/// How to render: colours on or off.
#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions {
    pub color: bool,
}

/// Renders a diagnostic as miette's graphical report: code, message, snippet, help.
pub fn render_diagnostic(d: &Diagnostic, opts: RenderOptions) -> String {
    let theme = if opts.color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    let bounded;
    let d = match bound_diagnostic(d) {
        Some(b) => {
            bounded = b;
            &bounded
        }
        None => d,
    };
    let excerpt = d.span.as_deref().map(Excerpt::new);
    let report = NamedDiagnostic {
        diagnostic: d,
        source: excerpt.as_ref().map(|e| e.source.clone()),
        label: excerpt.as_ref().map(|e| e.label),
    };
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("Error: {}\n", d.message);
    }
    out
}

/// The most characters of one source line a snippet shows. Lines are cut to a window around
/// the span (marked with `…`), so a 50 MB line (a string left open at the start of a huge file)
/// prints a line's worth, not 50 MB.
pub const SNIPPET_WIDTH: usize = 120;

/// The most bytes of source a snippet shows whole; a span over more (a block of thousands of
/// lines) is shown by its first line.
const SNIPPET_BYTES: usize = 16 * 1024;

/// The most characters of a message or help text printed; the rest is summarised. Messages
/// quote values and names from the input, which can be as long as the input.
pub const MESSAGE_LIMIT: usize = 500;

/// `d` with its message and help cut to [`MESSAGE_LIMIT`], when either is longer.
fn bound_diagnostic(d: &Diagnostic) -> Option<Diagnostic> {
    let long = |t: &str| t.len() > MESSAGE_LIMIT;
    if !long(&d.message) && !d.help.as_deref().is_some_and(long) {
        return None;
    }
    let mut b = d.clone();
    b.message = bound_text(&d.message);
    b.help = d.help.as_deref().map(bound_text);
    Some(b)
}

fn bound_text(t: &str) -> String {
    let count = t.chars().count();
    if count <= MESSAGE_LIMIT {
        return t.to_string();
    }
    let kept: String = t.chars().take(MESSAGE_LIMIT).collect();
    format!("{kept}… ({} more characters)", count - MESSAGE_LIMIT)
}

/// What a snippet shows of a file: the span's first line and one line either side, each cut to
/// [`SNIPPET_WIDTH`] characters around the span's column, with the span moved to match. Line
/// numbers stay those of the file (see [`Excerpt`]'s `SourceCode`). A span over many lines is
/// cut to its first line, so that the snippet never grows with the input.
struct Excerpt {
    source: miette::NamedSource<Window>,
    label: miette::SourceSpan,
}

/// A few lines of a file, and where they sit in it.
#[derive(Clone)]
struct Window {
    text: String,
    /// The 0-based line number of `text`'s first line in the file.
    first_line: usize,
    /// Characters cut from the start of every line shown (plus one for the `…` put there).
    shift: usize,
}

impl miette::SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.text.as_str().read_span(span, before, after)?;
        Ok(Box::new(miette::MietteSpanContents::new(
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            inner.column() + self.shift,
            inner.line_count(),
        )))
    }
}

impl Excerpt {
    fn new(span: &inferform_types::SourceSpan) -> Excerpt {
        let text: &str = &span.text;
        let start = floor_boundary(text, span.range.start.min(text.len()));
        let end = floor_boundary(text, span.range.end.clamp(start, text.len()));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        // One line of context either side, as miette shows.
        let before_start = if line_start == 0 {
            0
        } else {
            text[..line_start - 1].rfind('\n').map_or(0, |i| i + 1)
        };
        let next_line_end = |from: usize| {
            if from >= text.len() {
                text.len()
            } else {
                text[from + 1..]
                    .find('\n')
                    .map_or(text.len(), |i| from + 1 + i)
            }
        };
        let first_line = text[..before_start].matches('\n').count();
        // Most snippets are a few short lines: shown whole, exactly as they are.
        let last_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        // Through the newline that ends the line after, so that an empty line there is still
        // a line to miette.
        let whole = &text[before_start..(next_line_end(last_end) + 1).min(text.len())];
        if whole.len() <= SNIPPET_BYTES
            && whole
                .lines()
                .all(|l| l.len() <= SNIPPET_WIDTH || l.chars().count() <= SNIPPET_WIDTH)
        {
            let window = Window {
                text: whole.to_string(),
                first_line,
                shift: 0,
            };
            return Excerpt {
                source: miette::NamedSource::new(&span.file, window),
                label: (start - before_start, end - start).into(),
            };
        }
        let end = end.min(line_end);
        let after_end = next_line_end(line_end);
        let column = text[line_start..start].chars().count();
        let first_col = column.saturating_sub(SNIPPET_WIDTH / 3);
        let mut window = String::new();
        let mut label_start = 0;
        let mut label_end = 0;
        let mut at = before_start;
        loop {
            let this_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
            let line = &text[at..this_end];
            let mut chars = line.char_indices().skip(first_col).peekable();
            if first_col > 0 && chars.peek().is_some() {
                window.push('…');
            }
            for (shown, (i, c)) in chars.enumerate() {
                if shown == SNIPPET_WIDTH {
                    window.push('…');
                    break;
                }
                if at + i == start {
                    label_start = window.len();
                }
                if at + i == end {
                    label_end = window.len();
                }
                window.push(c);
            }
            if at == line_start {
                let cut = window.len();
                if start >= at + line.len() {
                    label_start = cut;
                }
                if end >= at + line.len() || label_end < label_start {
                    label_end = if end == start { label_start } else { cut };
                }
            }
            if this_end >= after_end || this_end >= text.len() {
                break;
            }
            window.push('\n');
            at = this_end + 1;
        }
        let window = Window {
            text: window,
            first_line,
            shift: first_col.saturating_sub(usize::from(first_col > 0)),
        };
        Excerpt {
            source: miette::NamedSource::new(&span.file, window),
            label: (label_start, label_end.saturating_sub(label_start)).into(),
        }
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A diagnostic whose source carries its file name, so the snippet header shows
/// `[file:line:column]`.
struct NamedDiagnostic<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<miette::NamedSource<Window>>,
    /// The diagnostic's span, in the excerpt's offsets.
    label: Option<miette::SourceSpan>,
}

impl std::fmt::Debug for NamedDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.diagnostic.fmt(f)
    }
}

impl std::fmt::Display for NamedDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for NamedDiagnostic<'_> {}

impl miette::Diagnostic for NamedDiagnostic<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        miette::Diagnostic::code(self.diagnostic)
    }
    fn severity(&self) -> Option<miette::Severity> {
        miette::Diagnostic::severity(self.diagnostic)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        miette::Diagnostic::help(self.diagnostic)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.label?;
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(self.diagnostic.label.clone(), span),
        )))
    }
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace {
            create_first: false,
        } => "-/+",
        Action::Replace { create_first: true } => "+/-",
        Action::Delete => "-",
        Action::Read => "<=",
        Action::NoOp => " ",
        Action::Forget => ".",
    }
}

fn legend_line(action: Action) -> &'static str {
    match action {
        Action::Create => "  + create",
        Action::Update => "  ~ update in-place",
        Action::Replace {
            create_first: false,
        } => "-/+ destroy and then create replacement",
        Action::Replace { create_first: true } => "+/- create replacement and then destroy",
        Action::Delete => "  - destroy",
        Action::Read => " <= read (data resources)",
        Action::NoOp => "",
        Action::Forget => "  . forget (removed from state, not destroyed)",
    }
}

/// Renders a plan as `inferform plan` prints it.
pub fn render_plan(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
    opts: RenderOptions,
) -> String {
    render_plan_priced(plan, schemas, in_config, opts, None)
}

/// [`render_plan`], with the cost of the capacity change when the user gave prices.
pub fn render_plan_priced(
    plan: &Plan,
    schemas: &BTreeMap<String, Schema>,
    in_config: &BTreeSet<String>,
    opts: RenderOptions,
    prices: Option<&Prices>,
) -> String {
    let style = Style { color: opts.color };
    let mut out = String::new();
    if !plan.drift.is_empty() {
        out.push_str(&render_drift(plan, schemas, style));
    }
    if plan.targeted {
        out.push_str(&style.yellow("Warning: Resource targeting is in effect"));
        out.push_str("\n\nYou are creating a plan with --target, which means that the result of this\nplan may not represent all of the changes requested by the current\nconfiguration.\n\n");
    }
    let moved_to: BTreeMap<String, String> = plan
        .moved
        .iter()
        .map(|(f, t)| (t.to_string(), f.to_string()))
        .collect();
    let changes: Vec<&ResourceChange> = plan
        .changes
        .iter()
        .filter(|c| {
            c.action != Action::NoOp
                || moved_to.contains_key(&c.addr.to_string())
                || plan.imports.contains_key(&c.addr)
        })
        .collect();
    if plan.refresh_only {
        if plan.drift.is_empty() {
            out.push_str(&style.bold("No changes."));
            out.push_str(" Your infrastructure still matches the configuration.\n\ninferform has checked that the real remote objects still match the result of\nyour most recent changes, and found no differences.\n");
        } else {
            out.push_str("This is a refresh-only plan, so inferform will not take any actions to undo\nthese. If you were expecting these changes then you can apply this plan to\nrecord the updated values in the inferform state without changing any remote\nobjects.\n");
        }
        return out;
    }
    if changes.is_empty() {
        let outputs_change = plan.outputs.iter().any(output_changed);
        if !outputs_change {
            out.push_str(&style.bold("No changes."));
            out.push_str(" Your infrastructure matches the configuration.\n\n");
            out.push_str("inferform has compared your real infrastructure against your configuration and\nfound no differences, so no changes are needed.\n");
            return out;
        }
    } else {
        out.push_str("inferform used the selected providers to generate the following execution\nplan. Resource actions are indicated with the following symbols:\n");
        let mut seen: Vec<Action> = Vec::new();
        for order in [
            Action::Create,
            Action::Update,
            Action::Replace {
                create_first: false,
            },
            Action::Replace { create_first: true },
            Action::Delete,
            Action::Forget,
        ] {
            if changes.iter().any(|c| c.action == order) && !seen.contains(&order) {
                seen.push(order);
                out.push_str(&style.action(order, legend_line(order)));
                out.push('\n');
            }
        }
        out.push_str("\ninferform will perform the following actions:\n\n");
        for c in &changes {
            let schema = schemas.get(&c.addr.resource.type_name);
            let a = c.addr.to_string();
            let notes = Notes {
                moved_from: moved_to.get(&a).map(String::as_str),
                imported: plan.imports.get(&c.addr).map(String::as_str),
                reason: plan.replace_reasons.get(&c.addr).map(|r| r.as_str()),
            };
            out.push_str(&render_change_noted(c, schema, in_config, &notes, style));
            out.push('\n');
        }
    }
    let (add, change, destroy) = plan.counts();
    let imports = if plan.imports.is_empty() {
        String::new()
    } else {
        format!("{} to import, ", plan.imports.len())
    };
    let _ = writeln!(
        out,
        "{} {imports}{add} to add, {change} to change, {destroy} to destroy.",
        style.bold("Plan:")
    );
    let forgotten: Vec<String> = changes
        .iter()
        .filter(|c| c.action == Action::Forget)
        .map(|c| c.addr.to_string())
        .collect();
    if !forgotten.is_empty() {
        out.push('\n');
        out.push_str(&style.yellow("Warning: Some objects will no longer be managed by inferform"));
        out.push_str("\n\nIf you apply this plan, inferform will discard its tracking information for\nthe following objects, but it will not delete them:\n");
        for a in &forgotten {
            let _ = writeln!(out, " - {a}");
        }
        out.push_str("\nAfter applying this plan, inferform will no longer manage these objects. You\nwill need to import them into inferform to manage them again.\n");
    }
    if let Some(cap) = plan_capacity(plan) {
        out.push_str(&render_capacity(&cap, prices));
    }
    out.push_str(&render_output_changes(plan, style));
    out
}

fn output_changed(o: &inferform_engine::OutputChange) -> bool {
    o.before.as_ref().map(Value::deep_unmarked) != Some(o.after.deep_unmarked())
        || !o.after.is_wholly_known()
}

fn render_output_changes(plan: &Plan, style: Style) -> String {
    let changed: Vec<_> = plan.outputs.iter().filter(|o| output_changed(o)).collect();
    if changed.is_empty() {
        return String::new();
    }
    let width = changed.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let mut out = String::from("\nChanges to Outputs:\n");
    for o in changed {
        let (sym, action) = if o.before.is_none() {
            ("+", Action::Create)
        } else {
            ("~", Action::Update)
        };
        let after = if o.sensitive {
            "(sensitive value)".to_string()
        } else {
            format_value(&o.after, 4)
        };
        let line = match &o.before {
            None => format!("{sym} {:width$} = {after}", o.name),
            Some(b) => {
                let before = if o.sensitive {
                    "(sensitive value)".to_string()
                } else {
                    format_value(b, 4)
                };
                format!("{sym} {:width$} = {before} -> {after}", o.name)
            }
        };
        let _ = writeln!(out, "  {}", style.action(action, &line));
    }
    out
}

fn render_drift(plan: &Plan, schemas: &BTreeMap<String, Schema>, style: Style) -> String {
    let mut out = String::new();
    out.push_str(&style.bold("Note: Objects have changed outside of inferform"));
    out.push_str("\n\ninferform detected the following changes made outside of inferform since the\nlast \"inferform apply\" which may have affected this plan:\n\n");
    for d in &plan.drift {
        let addr = d.addr.to_string();
        let (ty, name) = (
            d.addr.resource.type_name.as_str(),
            d.addr.resource.name.as_str(),
        );
        match &d.after {
            None => {
                let _ = writeln!(out, "  # {} has been deleted", style.bold(&addr));
                let _ = writeln!(
                    out,
                    "  {}",
                    style.action(
                        Action::Delete,
                        &format!("- resource \"{ty}\" \"{name}\" {{")
                    )
                );
                let mut body = String::new();
                object_diff(
                    &mut body,
                    Some(&d.before),
                    None,
                    schemas.get(ty),
                    &[],
                    6,
                    style,
                    false,
                );
                out.push_str(&body);
                out.push_str("    }\n\n");
            }
            Some(after) => {
                let _ = writeln!(out, "  # {} has changed", style.bold(&addr));
                let _ = writeln!(
                    out,
                    "  {}",
                    style.action(
                        Action::Update,
                        &format!("~ resource \"{ty}\" \"{name}\" {{")
                    )
                );
                let mut body = String::new();
                object_diff(
                    &mut body,
                    Some(&d.before),
                    Some(after),
                    schemas.get(ty),
                    &[],
                    6,
                    style,
                    true,
                );
                out.push_str(&body);
                out.push_str("    }\n\n");
            }
        }
    }
    out.push_str("Unless you have made equivalent changes to your configuration, or ignored the\nrelevant attributes using ignore_changes, the following plan may include\nactions to undo or respond to these changes.\n\n");
    out.push_str(&"─".repeat(77));
    out.push_str("\n\n");
    out
}

/// Renders one resource change: the comment line, then the resource with its attribute diff.
pub fn render_change(
    c: &ResourceChange,
    schema: Option<&Schema>,
    in_config: &BTreeSet<String>,
    style: Style,
) -> String {
    render_change_noted(c, schema, in_config, &Notes::default(), style)
}

/// What the plan says about a change besides its action.
#[derive(Clone, Copy, Debug, Default)]
pub struct Notes<'a> {
    /// The address state had before a `moved` block.
    pub moved_from: Option<&'a str>,
    /// The import id, when an `import` block brings the object in.
    pub imported: Option<&'a str>,
    /// Why a replacement happens when no attribute forces it: tainted, requested, triggered.
    pub reason: Option<&'a str>,
}

/// [`render_change`] with the notes Terraform prints: moves, imports, replacement reasons.
pub fn render_change_noted(
    c: &ResourceChange,
    schema: Option<&Schema>,
    in_config: &BTreeSet<String>,
    notes: &Notes,
    style: Style,
) -> String {
    let mut out = String::new();
    let addr = c.addr.to_string();
    let what = match (c.action, notes.reason) {
        (Action::Replace { .. }, Some("tainted")) => "is tainted, so must be replaced".to_string(),
        (Action::Replace { .. }, Some("requested")) => "will be replaced, as requested".to_string(),
        (Action::Replace { .. }, Some("triggered")) => {
            "will be replaced due to changes in replace_triggered_by".to_string()
        }
        (Action::Create, _) => "will be created".to_string(),
        (Action::Update, _) => "will be updated in-place".to_string(),
        (Action::Replace { .. }, _) => "must be replaced".to_string(),
        (Action::Delete, _) => "will be destroyed".to_string(),
        (Action::Read, _) => "will be read during apply".to_string(),
        (Action::Forget, _) => {
            "will no longer be managed by inferform, but will not be destroyed".to_string()
        }
        (Action::NoOp, _) => match (notes.moved_from, notes.imported) {
            (Some(_), _) => "has moved".to_string(),
            (None, Some(_)) => "will be imported".to_string(),
            (None, None) => "has no changes".to_string(),
        },
    };
    match (c.action, notes.moved_from) {
        (Action::NoOp, Some(from)) => {
            let _ = writeln!(
                out,
                "  # {} has moved to {}",
                style.bold(from),
                style.bold(&addr)
            );
        }
        _ => {
            // A deposed object is named as Terraform names it, after its address.
            let deposed = c
                .deposed
                .as_ref()
                .map_or(String::new(), |k| format!(" (deposed object {k})"));
            let _ = writeln!(out, "  # {}{deposed} {what}", style.bold(&addr));
            if c.deposed.is_some() {
                let _ = writeln!(
                    out,
                    "  # (left over from a partially-failed replacement of this instance)"
                );
            }
            if let Some(from) = notes.moved_from {
                let _ = writeln!(out, "  # (moved from {from})");
            }
        }
    }
    if let (Some(id), false) = (notes.imported, c.action == Action::NoOp) {
        let _ = writeln!(out, "  # (imported from \"{id}\")");
    }
    if c.action == Action::Forget {
        let _ = writeln!(out, "  # (destroy = false is set in the configuration)");
    }
    if c.action == Action::Delete
        && c.deposed.is_none()
        && !in_config.contains(&c.addr.resource.config_addr().to_string())
    {
        let _ = writeln!(
            out,
            "  # (because {} is not in configuration)",
            c.addr.resource
        );
    }
    let sym = symbol(c.action);
    let pad = if sym.len() == 1 { "  " } else { "" };
    let _ = writeln!(
        out,
        "{pad}{} {} \"{}\" \"{}\" {{",
        style.action(c.action, sym),
        match c.addr.resource.mode {
            inferform_types::ResourceMode::Data => "data",
            inferform_types::ResourceMode::Managed => "resource",
        },
        c.addr.resource.type_name,
        c.addr.resource.name
    );
    let full = matches!(c.action, Action::Create | Action::Delete);
    // A forgotten object does not change: it is shown as it stands, unchanged parts hidden.
    let after = match c.action {
        Action::Forget => c.before.as_ref(),
        _ => c.after.as_ref(),
    };
    object_diff(
        &mut out,
        c.before.as_ref(),
        after,
        schema,
        &c.replace_paths,
        6,
        style,
        !full,
    );
    out.push_str("    }\n");
    out
}

fn action_of(before: Option<&Value>, after: Option<&Value>) -> Action {
    match (before, after) {
        (None, Some(_)) => Action::Create,
        (Some(_), None) => Action::Delete,
        _ => Action::Update,
    }
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !matches!(v, Value::Null))
}

/// Writes the attribute lines of an object diff at `indent` spaces. With `hide_unchanged`,
/// unchanged attributes other than `id` and `name` are counted, not shown.
#[allow(clippy::too_many_arguments)]
fn object_diff(
    out: &mut String,
    before: Option<&Value>,
    after: Option<&Value>,
    schema: Option<&Schema>,
    replace_paths: &[String],
    indent: usize,
    style: Style,
    hide_unchanged: bool,
) {
    object_diff_at(
        out,
        before,
        after,
        schema,
        replace_paths,
        "",
        indent,
        style,
        hide_unchanged,
    )
}

#[allow(clippy::too_many_arguments)]
fn object_diff_at(
    out: &mut String,
    before: Option<&Value>,
    after: Option<&Value>,
    schema: Option<&Schema>,
    replace_paths: &[String],
    prefix: &str,
    indent: usize,
    style: Style,
    hide_unchanged: bool,
) {
    let empty = BTreeMap::new();
    let b = before.and_then(|v| v.as_object()).unwrap_or(&empty);
    let a = after.and_then(|v| v.as_object()).unwrap_or(&empty);
    let is_block = |k: &str| schema.is_some_and(|s| s.blocks.contains_key(k));
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    let attrs: Vec<&String> = keys.iter().copied().filter(|k| !is_block(k)).collect();
    let blocks: Vec<&String> = keys.iter().copied().filter(|k| is_block(k)).collect();
    let mut hidden = 0;
    let mut lines: Vec<(Action, String, String, bool)> = Vec::new();
    for k in attrs {
        let bv = present(b.get(k.as_str()).filter(|_| before.is_some()));
        let av = present(a.get(k.as_str()).filter(|_| after.is_some()));
        if bv.is_none() && av.is_none() {
            continue;
        }
        let path = if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        };
        let forces = replace_paths.contains(&path);
        let action = match (before.is_some(), after.is_some()) {
            (false, _) => Action::Create,
            (_, false) => Action::Delete,
            _ => {
                if bv.map(Value::deep_unmarked) == av.map(Value::deep_unmarked)
                    && av.is_none_or(Value::is_wholly_known)
                {
                    if hide_unchanged && k != "id" && k != "name" {
                        hidden += 1;
                        continue;
                    }
                    Action::NoOp
                } else {
                    action_of(bv, av)
                }
            }
        };
        let inner = indent + 2;
        let text = match action {
            Action::Create => format_value(av.unwrap_or(&Value::Null), inner),
            Action::Delete => format!(
                "{} -> null",
                format_value(bv.unwrap_or(&Value::Null), inner)
            ),
            Action::NoOp => format_value(av.unwrap_or(&Value::Null), inner),
            _ => match (bv, av) {
                (Some(Value::String(b)), Some(Value::String(a)))
                    if b.contains('\n') || a.contains('\n') =>
                {
                    multiline_diff(b, a, indent, style)
                }
                _ => format!(
                    "{} -> {}",
                    format_value(bv.unwrap_or(&Value::Null), inner),
                    format_value(av.unwrap_or(&Value::Null), inner)
                ),
            },
        };
        lines.push((action, k.to_string(), text, forces));
    }
    let width = lines.iter().map(|l| l.1.len()).max().unwrap_or(0);
    for (action, name, text, forces) in lines {
        let sym = match action {
            Action::Create => "+",
            Action::Delete => "-",
            Action::NoOp => " ",
            _ => "~",
        };
        let note = if forces {
            style.red(" # forces replacement")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{}{} {name:width$} = {text}{note}",
            " ".repeat(indent),
            style.action(action, sym)
        );
    }
    for k in blocks {
        let bv = present(b.get(k.as_str()).filter(|_| before.is_some()));
        let av = present(a.get(k.as_str()).filter(|_| after.is_some()));
        let sub = schema.and_then(|s| s.blocks.get(k.as_str()));
        let path = if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        };
        let (bitems, aitems): (Vec<Option<&Value>>, Vec<Option<&Value>>) =
            match sub.map(|s| s.nesting) {
                Some(Nesting::List) => {
                    let bl = bv.and_then(|v| v.as_list()).unwrap_or(&[]);
                    let al = av.and_then(|v| v.as_list()).unwrap_or(&[]);
                    let n = bl.len().max(al.len());
                    (
                        (0..n).map(|i| bl.get(i)).collect(),
                        (0..n).map(|i| al.get(i)).collect(),
                    )
                }
                _ => (vec![bv], vec![av]),
            };
        for (i, (bi, ai)) in bitems.into_iter().zip(aitems).enumerate() {
            if bi.is_none() && ai.is_none() {
                continue;
            }
            let item_path = if matches!(sub.map(|s| s.nesting), Some(Nesting::List)) {
                format!("{path}[{i}]")
            } else {
                path.clone()
            };
            let action = match (
                before.is_some() && bi.is_some(),
                after.is_some() && ai.is_some(),
            ) {
                (false, true) => Action::Create,
                (true, false) => Action::Delete,
                _ => {
                    if bi.map(Value::deep_unmarked) == ai.map(Value::deep_unmarked)
                        && ai.is_none_or(Value::is_wholly_known)
                    {
                        if hide_unchanged {
                            hidden += 1;
                            continue;
                        }
                        Action::NoOp
                    } else {
                        Action::Update
                    }
                }
            };
            let sym = match action {
                Action::Create => "+",
                Action::Delete => "-",
                Action::NoOp => " ",
                _ => "~",
            };
            let _ = writeln!(
                out,
                "{}{} {k} {{",
                " ".repeat(indent),
                style.action(action, sym)
            );
            let (bb, ab) = match action {
                Action::Create => (None, ai),
                Action::Delete => (bi, None),
                _ => (bi, ai),
            };
            object_diff_at(
                out,
                bb,
                ab,
                sub.map(|s| &s.schema),
                replace_paths,
                &item_path,
                indent + 4,
                style,
                hide_unchanged,
            );
            let _ = writeln!(out, "{}}}", " ".repeat(indent + 2));
        }
    }
    if hidden > 0 {
        let noun = if hidden == 1 {
            "attribute or block"
        } else {
            "attributes or blocks"
        };
        let _ = writeln!(
            out,
            "{}{}",
            " ".repeat(indent + 2),
            style.dim(&format!("# ({hidden} unchanged {noun} hidden)"))
        );
    }
}

/// A change of a multi-line string as Terraform shows it: a heredoc with the unchanged lines
/// and `-`/`+` before the lines removed and added (a line diff by `similar`).
fn multiline_diff(before: &str, after: &str, indent: usize, style: Style) -> String {
    let mut out = String::from("<<-EOT\n");
    let diff = similar::TextDiff::from_lines(before, after);
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        let _ = match change.tag() {
            similar::ChangeTag::Equal => writeln!(out, "{}{line}", " ".repeat(indent + 6)),
            similar::ChangeTag::Delete => {
                writeln!(
                    out,
                    "{}{} {line}",
                    " ".repeat(indent + 4),
                    style.action(Action::Delete, "-")
                )
            }
            similar::ChangeTag::Insert => {
                writeln!(
                    out,
                    "{}{} {line}",
                    " ".repeat(indent + 4),
                    style.action(Action::Create, "+")
                )
            }
        };
    }
    out.push_str(&format!("{}EOT", " ".repeat(indent + 2)));
    out
}

/// Renders outputs as `inferform output` and the end of apply print them.
pub fn render_outputs(outputs: &BTreeMap<String, inferform_state::OutputState>) -> String {
    let mut out = String::new();
    for (name, o) in outputs {
        let value = if o.sensitive {
            "<sensitive>".to_string()
        } else {
            format_value(&Value::from_json(&o.value), 0)
        };
        let _ = writeln!(out, "{name} = {value}");
    }
    out
}

#[cfg(test)]
mod multiline_tests {
    use super::*;

    #[test]
    fn multi_line_strings_show_a_line_diff() {
        let text = multiline_diff("a\nb\nc\n", "a\nB\nc\n", 6, Style { color: false });
        assert_eq!(
            text,
            "<<-EOT\n            a\n          - b\n          + B\n            c\n        EOT"
        );
    }
}

#[cfg(test)]
mod snippet_tests {
    use super::*;

    fn diag_at(text: &str, range: std::ops::Range<usize>) -> Diagnostic {
        let span = inferform_types::SourceSpan::new("main.hcl".into(), text.into(), range);
        Diagnostic::error("inferform::test", "m")
            .with_span(span)
            .with_label("here")
    }

    #[test]
    fn short_snippets_are_shown_whole() {
        let text = "a {\n  b = 1\n}\n";
        let out = render_diagnostic(&diag_at(text, 6..7), RenderOptions::default());
        assert!(out.contains("[main.hcl:2:3]"), "{out}");
        assert!(out.contains(" 2 │   b = 1"), "{out}");
        assert!(!out.contains('…'), "{out}");
    }

    #[test]
    fn long_lines_and_long_spans_are_cut() {
        let line = format!("x = \"{}\"", "é".repeat(1_000_000));
        let text = format!("a {{\n{line}\n}}\n");
        let at = text.find('"').unwrap();
        // A span over the whole long line, and one in its middle.
        for range in [at..text.len() - 3, at + 500_000..at + 500_004] {
            let out = render_diagnostic(&diag_at(&text, range.clone()), RenderOptions::default());
            assert!(out.len() < 2000, "{} bytes for {range:?}", out.len());
            assert!(out.contains('…'), "{out}");
            assert!(out.contains(" 2 │ "), "line numbers are the file's: {out}");
        }
        let out = render_diagnostic(&diag_at(&text, at..at + 1), RenderOptions::default());
        assert!(out.contains("[main.hcl:2:5]"), "{out}");
        // A span over many short lines is shown by its first.
        let many = "x = [\n".to_string() + &"  1,\n".repeat(100_000) + "]\n";
        let out = render_diagnostic(&diag_at(&many, 4..many.len() - 1), RenderOptions::default());
        assert!(out.len() < 2000, "{} bytes", out.len());
    }

    #[test]
    fn long_messages_are_cut() {
        let d =
            Diagnostic::error("inferform::test", "v".repeat(100_000)).with_help("h".repeat(10_000));
        let out = render_diagnostic(&d, RenderOptions::default());
        assert!(out.len() < 3 * MESSAGE_LIMIT * 4, "{} bytes", out.len());
        assert!(out.contains("more characters"), "{out}");
    }
}

#[cfg(test)]
mod drift_tests {
    use super::*;

    /// Drift names its block by the address's own type and name, also inside a module
    /// instance whose key holds dots and brackets.
    #[test]
    fn drift_in_a_keyed_module_instance_names_its_block() {
        let addr: inferform_types::ResourceInstanceAddr =
            r#"module.env["eu.west[1]"].fabric_workspace.main"#.parse().unwrap();
        let plan = Plan {
            drift: vec![inferform_engine::Drift {
                addr,
                before: Value::object([("name", Value::string("a"))]),
                after: Some(Value::object([("name", Value::string("b"))])),
            }],
            ..Plan::default()
        };
        let out = render_drift(&plan, &BTreeMap::new(), Style { color: false });
        assert!(
            out.contains(r#"# module.env["eu.west[1]"].fabric_workspace.main has changed"#),
            "{out}"
        );
        assert!(
            out.contains(r#"~ resource "fabric_workspace" "main" {"#),
            "{out}"
        );
    }
}
