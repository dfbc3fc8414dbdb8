//! Static checks of a loaded configuration against the known resource schemas: resource types
//! and providers exist, every reference names something declared, `count.index` and `each.*`
//! appear only where they mean something.

use std::collections::{BTreeMap, BTreeSet};

use inferform_types::{Diagnostic, Diagnostics, ResourceAddr, ResourceMode, Schema, Value};

use crate::config::{Config, Expr, Resource};
use crate::decode::decode_body;
use crate::eval::Scope;
use crate::refs::{references, Subject};
use crate::suggest::did_you_mean;

/// What validation needs to know about providers.
pub struct Schemas<'a> {
    /// Resource type → schema, for every provider.
    pub resources: &'a BTreeMap<String, Schema>,
    /// Data source type → schema.
    pub data_sources: &'a BTreeMap<String, Schema>,
    /// Provider names that exist.
    pub providers: &'a BTreeSet<String>,
}

/// Checks the configuration; returns every problem found.
pub fn validate(config: &Config, schemas: &Schemas) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for p in &config.providers {
        if !schemas.providers.contains(&p.name) {
            let help = match did_you_mean(&p.name, schemas.providers.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "the providers are: {}",
                    schemas
                        .providers
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            diags.push(
                Diagnostic::error(
                    "inferform::config::unknown_provider",
                    format!("unknown provider `{}`", p.name),
                )
                .with_span(p.span.clone())
                .with_help(help),
            );
        }
    }
    let declared: BTreeSet<&ResourceAddr> = config.resources.iter().map(|r| &r.addr).collect();
    for r in &config.resources {
        let table = match r.addr.mode {
            ResourceMode::Managed => schemas.resources,
            ResourceMode::Data => schemas.data_sources,
        };
        if !table.contains_key(&r.addr.type_name) {
            let kind = if r.addr.mode == ResourceMode::Data {
                "data source"
            } else {
                "resource"
            };
            let help = match did_you_mean(&r.addr.type_name, table.keys().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "the {kind} types are: {}",
                    table.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            };
            diags.push(
                Diagnostic::error(
                    "inferform::config::unknown_resource_type",
                    format!("unknown {kind} type `{}`", r.addr.type_name),
                )
                .with_span(r.span.clone())
                .with_help(help),
            );
        }
        if let Some((key, span)) = &r.provider {
            let (name, alias) = key
                .split_once('.')
                .map_or((key.as_str(), None), |(n, a)| (n, Some(a)));
            if name != r.addr.provider_name() {
                diags.push(
                    Diagnostic::error(
                        "inferform::config::provider_mismatch",
                        format!(
                            "{} cannot use provider `{name}`: its type belongs to `{}`",
                            r.addr,
                            r.addr.provider_name()
                        ),
                    )
                    .with_span(span.clone())
                    .with_help(format!(
                        "use a `{}` configuration, such as {}.ALIAS",
                        r.addr.provider_name(),
                        r.addr.provider_name()
                    )),
                );
            } else if alias.is_some() && !config.providers.iter().any(|p| &p.key() == key) {
                diags.push(
                    Diagnostic::error(
                        "inferform::config::undeclared_provider",
                        format!("provider configuration `{key}` is not declared"),
                    )
                    .with_span(span.clone())
                    .with_help(format!(
                        "add `provider \"{name}\" {{ alias = \"{}\" ... }}`",
                        alias.unwrap_or_default()
                    )),
                );
            }
        }
        for (target, span) in &r.depends_on {
            if !declared.contains(target) {
                diags.push(undeclared_resource(target, span.clone(), config));
            }
        }
        let mut exprs: Vec<&Expr> = Vec::new();
        collect_body_exprs(&r.body, &mut exprs);
        exprs.extend(r.count.iter());
        exprs.extend(r.for_each.iter());
        exprs.extend(r.lifecycle.replace_triggered_by.iter());
        for e in exprs {
            check_refs(e, config, schemas, Some(r), &mut diags);
        }
        for meta in [&r.count, &r.for_each].into_iter().flatten() {
            for reference in references(meta) {
                if let Subject::Resource(addr) = &reference.subject {
                    if addr == &r.addr {
                        diags.push(
                            Diagnostic::error(
                                "inferform::config::self_reference",
                                format!("{} refers to itself", r.addr),
                            )
                            .with_span(reference.span)
                            .with_help("a resource cannot use its own attributes"),
                        );
                    }
                }
            }
        }
    }
    check_bodies(config, schemas, &mut diags);
    for local in config.locals.values() {
        check_refs(&local.expr, config, schemas, None, &mut diags);
    }
    for output in config.outputs.values() {
        check_refs(&output.value, config, schemas, None, &mut diags);
    }
    for variable in config.variables.values() {
        if let Some(default) = &variable.default {
            if let Some(r) = references(default).into_iter().next() {
                diags.push(
                    Diagnostic::error(
                        "inferform::config::variable_default_reference",
                        "a variable's default cannot refer to anything",
                    )
                    .with_span(r.span)
                    .with_help("use a literal value, or compute the value in a local"),
                );
            }
        }
    }
    diags
}

/// Decodes every resource body against its schema with every reference unknown, so unknown
/// arguments, misplaced blocks, missing required arguments and literal type errors are found
/// without variable values or state.
fn check_bodies(config: &Config, schemas: &Schemas, diags: &mut Diagnostics) {
    let mut root: BTreeMap<String, Value> = BTreeMap::new();
    for name in ["var", "local", "data", "path", "count", "each", "self"] {
        root.insert(name.to_string(), Value::Unknown);
    }
    for r in &config.resources {
        root.insert(r.addr.type_name.clone(), Value::Unknown);
    }
    let scope = Scope::new(&root);
    for r in &config.resources {
        let table = match r.addr.mode {
            ResourceMode::Managed => schemas.resources,
            ResourceMode::Data => schemas.data_sources,
        };
        if let Some(schema) = table.get(&r.addr.type_name) {
            let block = match r.addr.mode {
                ResourceMode::Managed => "resource",
                ResourceMode::Data => "data",
            };
            let what = format!("{block} \"{}\" \"{}\"", r.addr.type_name, r.addr.name);
            let mut found = Diagnostics::new();
            decode_body(&r.body, schema, &scope, &what, &mut found);
            // Evaluation errors here come from unknown placeholders; reference checks report
            // those properly, so only the schema's own findings are kept.
            diags.extend(Diagnostics(
                found
                    .into_iter()
                    .filter(|d| d.code.starts_with("inferform::config::"))
                    .collect(),
            ));
        }
    }
}

/// A reference that reads an attribute its resource type does not have, or reads one straight
/// off a resource with `count` or `for_each`, whose attributes belong to its instances.
fn check_attribute(
    reference: &crate::refs::Reference,
    config: &Config,
    schemas: &Schemas,
) -> Option<Diagnostic> {
    let Subject::Resource(addr) = &reference.subject else {
        return None;
    };
    let first = reference.attrs.first()?;
    let target = config.resource(addr)?;
    if target.count.is_some() || target.for_each.is_some() {
        let (meta, key) = if target.count.is_some() {
            ("count", "0")
        } else {
            ("for_each", "\"KEY\"")
        };
        return Some(
            Diagnostic::error(
                "inferform::config::missing_instance_key",
                format!("{addr} has `{meta}` set, so its attributes belong to its instances"),
            )
            .with_span(reference.span.clone())
            .with_help(format!(
                "pick an instance, as {addr}[{key}].{first}, or all of them, as {addr}[*].{first}"
            )),
        );
    }
    let table = match addr.mode {
        ResourceMode::Managed => schemas.resources,
        ResourceMode::Data => schemas.data_sources,
    };
    let schema = table.get(&addr.type_name)?;
    if schema.attributes.contains_key(first) || schema.blocks.contains_key(first) {
        return None;
    }
    let help = match did_you_mean(first, schema.names()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!(
            "{} has: {}",
            addr.type_name,
            schema.names().collect::<Vec<_>>().join(", ")
        ),
    };
    Some(
        Diagnostic::error(
            "inferform::config::unsupported_attribute",
            format!("{addr} has no attribute `{first}`"),
        )
        .with_span(reference.span.clone())
        .with_help(help),
    )
}

fn collect_body_exprs<'a>(body: &'a crate::config::Body, out: &mut Vec<&'a Expr>) {
    out.extend(body.attributes.iter().map(|a| &a.expr));
    for b in &body.blocks {
        collect_body_exprs(&b.body, out);
    }
}

fn undeclared_resource(
    addr: &ResourceAddr,
    span: inferform_types::SourceSpan,
    config: &Config,
) -> Diagnostic {
    let kind = if addr.mode == ResourceMode::Data {
        "data source"
    } else {
        "managed resource"
    };
    let names: Vec<String> = config
        .resources
        .iter()
        .filter(|r| r.addr.mode == addr.mode && r.addr.type_name == addr.type_name)
        .map(|r| r.addr.name.clone())
        .collect();
    let help = match did_you_mean(&addr.name, names.iter().map(String::as_str)) {
        Some(s) => format!(
            "did you mean `{}`?",
            inferform_types::ResourceAddr {
                name: s.to_string(),
                ..addr.clone()
            }
        ),
        None => format!(
            "declare it with `resource \"{}\" \"{}\" {{ ... }}`, or fix the reference",
            addr.type_name, addr.name
        ),
    };
    Diagnostic::error(
        "inferform::config::undeclared_resource",
        format!("reference to undeclared {kind} `{addr}`"),
    )
    .with_span(span)
    .with_label("not declared")
    .with_help(help)
}

fn check_refs(
    expr: &Expr,
    config: &Config,
    schemas: &Schemas,
    resource: Option<&Resource>,
    diags: &mut Diagnostics,
) {
    for (name, span) in crate::refs::function_calls(expr) {
        if crate::funcs::NAMES.contains(&name.as_str()) {
            continue;
        }
        let help = match did_you_mean(&name, crate::funcs::NAMES.iter().copied()) {
            Some(s) => format!("did you mean `{s}()`?"),
            None => format!("the functions are: {}", sorted_functions().join(", ")),
        };
        diags.push(
            Diagnostic::error(
                "inferform::config::unknown_function",
                format!("there is no function named `{name}`"),
            )
            .with_span(span)
            .with_help(help),
        );
    }
    for r in references(expr) {
        if let Some(d) = check_attribute(&r, config, schemas) {
            diags.push(d);
        }
        let problem = match &r.subject {
            Subject::Variable(name) if !config.variables.contains_key(name) => Some(
                Diagnostic::error(
                    "inferform::config::undeclared_variable",
                    format!("reference to undeclared variable `{name}`"),
                )
                .with_help(
                    match did_you_mean(name, config.variables.keys().map(String::as_str)) {
                        Some(s) => format!("did you mean `var.{s}`?"),
                        None => {
                            format!("declare it with `variable \"{name}\" {{ type = string }}`")
                        }
                    },
                ),
            ),
            Subject::Local(name) if !config.locals.contains_key(name) => Some(
                Diagnostic::error(
                    "inferform::config::undeclared_local",
                    format!("reference to undeclared local value `{name}`"),
                )
                .with_help(
                    match did_you_mean(name, config.locals.keys().map(String::as_str)) {
                        Some(s) => format!("did you mean `local.{s}`?"),
                        None => format!("define it in a `locals {{ {name} = ... }}` block"),
                    },
                ),
            ),
            Subject::Resource(addr) if config.resource(addr).is_none() => {
                diags.push(undeclared_resource(addr, r.span.clone(), config));
                None
            }
            Subject::Count if resource.is_none_or(|res| res.count.is_none()) => Some(
                Diagnostic::error(
                    "inferform::config::count_outside",
                    "`count.index` is used where `count` is not set",
                )
                .with_help("add `count = N` to the resource, or remove the reference"),
            ),
            Subject::Each if resource.is_none_or(|res| res.for_each.is_none()) => Some(
                Diagnostic::error(
                    "inferform::config::each_outside",
                    "`each` is used where `for_each` is not set",
                )
                .with_help("add `for_each = ...` to the resource, or remove the reference"),
            ),
            Subject::Other(name) => Some(
                Diagnostic::error(
                    "inferform::config::unknown_reference",
                    format!("unknown name `{name}`"),
                )
                .with_help("refer to var.NAME, local.NAME, TYPE.NAME or data.TYPE.NAME"),
            ),
            _ => None,
        };
        if let Some(d) = problem {
            diags.push(d.with_span(r.span.clone()));
        }
    }
}

fn sorted_functions() -> Vec<&'static str> {
    let mut names = crate::funcs::NAMES.to_vec();
    names.sort_unstable();
    names
}
