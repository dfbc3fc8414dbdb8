//! Reference pages (`docs/resources/<type>.md`) from resource and data-source schemas.
//!
//! Schemas are the one source of truth for which arguments exist, which are required, which
//! force replacement and which are sensitive, so the pages are generated from them (as
//! `schemas/*.json` are) rather than written by hand and left to drift. Only the example is
//! written by a person, and a test validates it through the binary.

use std::fmt::Write as _;

use inferform_types::{Attribute, Nesting, Schema};

/// Whether a page describes a resource or a data source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    Resource,
    DataSource,
}

/// Everything one page is made of.
pub struct DocPage<'a> {
    pub kind: DocKind,
    pub type_name: &'a str,
    /// The provider serving the type (`fabric`; `inferform` for the built-in ones).
    pub provider: &'a str,
    pub schema: &'a Schema,
    /// The parts of the `inferform import` id; empty when the type cannot be imported.
    pub import_id: &'a [&'a str],
    /// A configuration using the type, which `inferform validate` accepts.
    pub example: &'a str,
}

/// The line every generated page carries, so nobody edits one by hand.
pub const GENERATED_NOTE: &str = "<!-- Generated from the provider's schema by tests/docs.rs; do not edit. Regenerate with: INFERFORM_UPDATE_DOCS=1 cargo test -p inferform --test docs -->";

/// One attribute with the path of blocks it sits in.
struct Row<'a> {
    path: String,
    attr: &'a Attribute,
}

/// Every attribute of `schema` and of its nested blocks, depth first, with dotted paths.
fn rows<'a>(schema: &'a Schema, prefix: &str, out: &mut Vec<Row<'a>>) {
    for (name, attr) in &schema.attributes {
        out.push(Row {
            path: format!("{prefix}{name}"),
            attr,
        });
    }
    for (name, block) in &schema.blocks {
        rows(&block.schema, &format!("{prefix}{name}."), out);
    }
}

fn marks(attr: &Attribute, kind: DocKind) -> String {
    let mut out = vec![attr.ty.display()];
    if attr.required {
        out.push("required".into());
    } else if attr.optional {
        out.push("optional".into());
    }
    if attr.computed && attr.optional {
        out.push("computed when left out".into());
    }
    if attr.sensitive {
        out.push("sensitive".into());
    }
    if attr.force_new && kind == DocKind::Resource {
        out.push("**forces replacement**".into());
    }
    out.join(", ")
}

fn sentence(text: &str) -> String {
    let t = text.trim();
    if t.is_empty() || t.ends_with('.') {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// The arguments of one body: attributes the configuration may set, then its nested blocks,
/// each as a subsection.
fn arguments(out: &mut String, schema: &Schema, path: &str, kind: DocKind) {
    // Required arguments first: they are what a reader must write.
    let mut settable: Vec<_> = schema
        .attributes
        .iter()
        .filter(|(_, a)| a.settable())
        .collect();
    settable.sort_by_key(|(name, a)| (!a.required, *name));
    for (name, attr) in &settable {
        let _ = write!(out, "- `{name}` ({})", marks(attr, kind));
        let d = sentence(&attr.description);
        if d.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, ": {d}");
        }
    }
    for (name, block) in &schema.blocks {
        let how = match (block.nesting, block.required) {
            (Nesting::Single, true) => "block, required, exactly one",
            (Nesting::Single, false) => "block, optional, at most one",
            (Nesting::List, true) => "block, required, one or more",
            (Nesting::List, false) => "block, optional, any number",
        };
        let d = sentence(&block.description);
        let _ = write!(out, "- `{name}` ({how})");
        if d.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, ": {d}");
        }
    }
    for (name, block) in &schema.blocks {
        let full = format!("{path}{name}");
        if !block.schema.attributes.values().any(|a| a.settable()) && block.schema.blocks.is_empty()
        {
            continue;
        }
        let _ = writeln!(out, "\n### `{full}`\n");
        let d = sentence(&block.schema.description);
        if !d.is_empty() && d != sentence(&block.description) {
            let _ = writeln!(out, "{d}\n");
        }
        arguments(out, &block.schema, &format!("{full}."), kind);
    }
}

/// The page, in Markdown.
pub fn resource_doc(page: &DocPage<'_>) -> String {
    let mut out = String::new();
    let (what, block) = match page.kind {
        DocKind::Resource => ("resource", "resource"),
        DocKind::DataSource => ("data source", "data"),
    };
    let _ = writeln!(out, "# `{}` ({what})\n", page.type_name);
    let _ = writeln!(out, "{GENERATED_NOTE}\n");
    let d = sentence(&page.schema.description);
    if !d.is_empty() {
        let _ = writeln!(out, "{d}\n");
    }
    let _ = writeln!(
        out,
        "Provider: `{}`. Written `{block} \"{}\" \"NAME\" {{ ... }}`; JSON Schema: \
         [`schemas/{block}.{}.schema.json`](../../schemas/{block}.{}.schema.json).\n",
        page.provider, page.type_name, page.type_name, page.type_name
    );

    out.push_str("## Example\n\n```hcl\n");
    out.push_str(page.example.trim_end());
    out.push_str("\n```\n\n");

    out.push_str("## Arguments\n\n");
    if page.kind == DocKind::DataSource {
        out.push_str(
            "The arguments that find the object; everything else is read from the cloud.\n\n",
        );
    }
    arguments(&mut out, page.schema, "", page.kind);

    let mut all = Vec::new();
    rows(page.schema, "", &mut all);
    let read_only: Vec<_> = all.iter().filter(|r| !r.attr.settable()).collect();
    out.push_str("\n## Attributes\n\n");
    out.push_str(
        "Besides the arguments, these are read from the cloud and can be referenced \
         (`TYPE.NAME.ATTRIBUTE`), never set:\n\n",
    );
    if read_only.is_empty() {
        out.push_str("None.\n");
    }
    for r in &read_only {
        let _ = write!(out, "- `{}` ({}", r.path, r.attr.ty.display());
        if r.attr.sensitive {
            out.push_str(", sensitive");
        }
        out.push(')');
        let d = sentence(&r.attr.description);
        if d.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, ": {d}");
        }
    }

    if page.kind == DocKind::Resource {
        out.push_str("\n## Replacement\n\n");
        let forcing: Vec<_> = all.iter().filter(|r| r.attr.force_new).collect();
        if forcing.is_empty() {
            out.push_str("Every argument is updated in place; nothing forces a replacement.\n");
        } else {
            out.push_str("A change to any of these replaces the object (delete, then create; create first with `lifecycle { create_before_destroy = true }`):\n\n");
            for r in forcing {
                let _ = writeln!(out, "- `{}`", r.path);
            }
            out.push_str("\nEvery other argument is updated in place.\n");
        }

        out.push_str("\n## Timeouts\n\n");
        out.push_str(
            "```hcl\ntimeouts {\n  create = \"30m\"\n  update = \"30m\"\n  delete = \"30m\"\n}\n```\n\n\
             How long each operation may wait for the cloud to settle (`\"30s\"`, `\"10m\"`, \
             `\"1h30m\"`); past it the operation fails and what is known is recorded. Without \
             one an operation waits until the object settles.\n",
        );

        out.push_str("\n## Import\n\n");
        if page.import_id.is_empty() {
            let _ = writeln!(out, "`{}` cannot be imported.", page.type_name);
        } else {
            let id = page.import_id.join("/");
            let _ = writeln!(
                out,
                "```sh\ninferform import {}.NAME {id}\n```\n\nor, applied with the plan:\n\n\
                 ```hcl\nimport {{\n  to = {}.NAME\n  id = \"{id}\"\n}}\n```",
                page.type_name, page.type_name
            );
        }
    }
    out
}

/// One line of the index: a page's path under `docs/`, its type and what it is.
pub struct IndexEntry<'a> {
    pub path: &'a str,
    pub kind: DocKind,
    pub type_name: &'a str,
    pub description: &'a str,
}

/// `docs/README.md`: every page, resources first, each with the first sentence of its
/// description.
pub fn docs_index(entries: &[IndexEntry<'_>]) -> String {
    let mut out = String::from("# inferform reference\n\n");
    let _ = writeln!(out, "{GENERATED_NOTE}\n");
    out.push_str(
        "One page per resource type and data source, generated from the schemas the code \
         checks configurations against (the same as `schemas/*.json`).\n",
    );
    for (kind, heading) in [
        (DocKind::Resource, "Resources"),
        (DocKind::DataSource, "Data sources"),
    ] {
        let _ = writeln!(out, "\n## {heading}\n");
        for e in entries.iter().filter(|e| e.kind == kind) {
            let first = e.description.split(". ").next().unwrap_or_default();
            let _ = writeln!(
                out,
                "- [`{}`]({}): {}",
                e.type_name,
                e.path,
                sentence(first)
            );
        }
    }
    out
}
