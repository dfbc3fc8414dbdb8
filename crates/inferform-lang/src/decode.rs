//! Schema-guided decoding: a resource or provider [`Body`] plus its [`Schema`] → an object
//! [`Value`] holding every attribute of the schema (unset ones null), with each configuration
//! mistake reported: unknown arguments (with did-you-mean), blocks written as attributes and
//! the reverse, missing required arguments, values of the wrong type.

use std::collections::BTreeMap;

use inferform_types::{Block, Diagnostic, Diagnostics, Nesting, Schema, Value};

use crate::config::Body;
use crate::eval::{eval, Scope};
use crate::suggest::did_you_mean;
use crate::types::convert;

/// Decodes a body against a schema. `what` names the block in messages
/// (`resource "fabric_endpoint"`).
pub fn decode_body(
    body: &Body,
    schema: &Schema,
    scope: &Scope,
    what: &str,
    diags: &mut Diagnostics,
) -> Value {
    let mut out = BTreeMap::new();
    for attr in &body.attributes {
        let Some(spec) = schema.attributes.get(&attr.name) else {
            let d = if schema.blocks.contains_key(&attr.name) {
                Diagnostic::error(
                    "inferform::config::block_as_attribute",
                    format!("`{}` is a block, not an argument, in {what}", attr.name),
                )
                .with_help(format!(
                    "write it as a block: `{} {{ ... }}`, without `=`",
                    attr.name
                ))
            } else {
                unknown(&attr.name, schema, what)
            };
            diags.push(d.with_span(attr.name_span.clone()));
            continue;
        };
        if !spec.settable() {
            diags.push(
                Diagnostic::error(
                    "inferform::config::computed_attribute",
                    format!(
                        "`{}` is set by the cloud and cannot be configured in {what}",
                        attr.name
                    ),
                )
                .with_span(attr.name_span.clone())
                .with_help(format!(
                    "remove `{}`; read it as a reference instead",
                    attr.name
                )),
            );
            continue;
        }
        match eval(&attr.expr, scope) {
            Ok(v) => match convert(v, &spec.ty) {
                Ok(v) => {
                    out.insert(attr.name.clone(), sets_as_lists(v));
                }
                Err(msg) => diags.push(
                    Diagnostic::error(
                        "inferform::config::type_mismatch",
                        format!("wrong type for `{}` in {what}: {msg}", attr.name),
                    )
                    .with_span(attr.expr.span())
                    .with_help(format!(
                        "`{}` takes {}",
                        attr.name,
                        spec.ty.display()
                    )),
                ),
            },
            Err(d) => diags.push(d),
        }
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for block in &body.blocks {
        let Some(spec) = schema.blocks.get(&block.kind) else {
            let d = if schema.attributes.contains_key(&block.kind) {
                Diagnostic::error(
                    "inferform::config::attribute_as_block",
                    format!("`{}` is an argument, not a block, in {what}", block.kind),
                )
                .with_help(format!("write it as `{} = ...`", block.kind))
            } else {
                unknown(&block.kind, schema, what)
            };
            diags.push(d.with_span(block.kind_span.clone()));
            continue;
        };
        if !block.labels.is_empty() {
            diags.push(
                Diagnostic::error(
                    "inferform::config::block_labels",
                    format!("a `{}` block takes no labels", block.kind),
                )
                .with_span(block.kind_span.clone())
                .with_help(format!("write `{} {{ ... }}`", block.kind)),
            );
        }
        let count = seen.entry(block.kind.as_str()).or_default();
        *count += 1;
        let inner_what = format!("block `{}`", block.kind);
        let value = decode_body(&block.body, &spec.schema, scope, &inner_what, diags);
        match spec.nesting {
            Nesting::Single if *count > 1 => diags.push(
                Diagnostic::error(
                    "inferform::config::duplicate_block",
                    format!("only one `{}` block is allowed in {what}", block.kind),
                )
                .with_span(block.kind_span.clone())
                .with_help("merge the blocks into one"),
            ),
            Nesting::Single => {
                out.insert(block.kind.clone(), value);
            }
            Nesting::List => match out
                .entry(block.kind.clone())
                .or_insert_with(|| Value::List(Vec::new()))
            {
                Value::List(items) => items.push(value),
                _ => unreachable!("list blocks hold lists"),
            },
        }
    }
    for (name, spec) in &schema.attributes {
        if spec.required && !out.contains_key(name) && body.attribute(name).is_none() {
            diags.push(
                Diagnostic::error(
                    "inferform::config::missing_argument",
                    format!("{what} needs the argument `{name}`"),
                )
                .with_span(header(body))
                .with_help(format!("add `{name} = ...` ({})", spec.ty.display())),
            );
        }
    }
    for (name, spec) in &schema.blocks {
        if spec.required && !seen.contains_key(name.as_str()) {
            diags.push(
                Diagnostic::error(
                    "inferform::config::missing_block",
                    format!("{what} needs a `{name}` block"),
                )
                .with_span(header(body))
                .with_help(format!("add `{name} {{ ... }}`")),
            );
        }
    }
    fill_unset(&mut out, schema);
    Value::Object(out)
}

/// The value with every set made a list in the set's order. A resource's arguments go to
/// state as JSON, which has no sets; an argument of any type that was given a set would
/// otherwise read back from state as a list, and differ from its configuration forever.
fn sets_as_lists(v: Value) -> Value {
    match v {
        Value::List(items) | Value::Set(items) => {
            Value::List(items.into_iter().map(sets_as_lists).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, sets_as_lists(v)))
                .collect(),
        ),
        Value::Sensitive(inner) => sets_as_lists(*inner).sensitive(),
        v => v,
    }
}

/// The first line of a body's block, where "missing ..." diagnostics point.
fn header(body: &Body) -> inferform_types::SourceSpan {
    let mut span = body.span.clone();
    let text = &span.text[span.range.start.min(span.text.len())..];
    let end = text
        .find('{')
        .map_or(span.range.end, |i| span.range.start + i + 1);
    span.range.end = end.min(span.range.end.max(span.range.start));
    span
}

fn unknown(name: &str, schema: &Schema, what: &str) -> Diagnostic {
    let help = match did_you_mean(name, schema.names()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            // Only what the configuration may write: computed attributes are read, not set.
            let names: Vec<&str> = schema
                .attributes
                .iter()
                .filter(|(_, a)| a.settable())
                .map(|(n, _)| n.as_str())
                .chain(schema.blocks.keys().map(String::as_str))
                .collect();
            format!("{what} takes: {}", names.join(", "))
        }
    };
    Diagnostic::error(
        "inferform::config::unknown_attribute",
        format!("unknown argument `{name}` in {what}"),
    )
    .with_help(help)
}

/// Adds every attribute and block the configuration left out: null, or an empty list for list
/// blocks, so that references to them resolve.
pub fn fill_unset(out: &mut BTreeMap<String, Value>, schema: &Schema) {
    for name in schema.attributes.keys() {
        out.entry(name.clone()).or_insert(Value::Null);
    }
    for (name, Block { nesting, .. }) in &schema.blocks {
        out.entry(name.clone()).or_insert(match nesting {
            Nesting::Single => Value::Null,
            Nesting::List => Value::List(Vec::new()),
        });
    }
}
