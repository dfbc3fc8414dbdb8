//! Static checks of a loaded configuration against the known resource schemas: resource types
//! and providers exist, every reference names something declared, `count.index` and `each.*`
//! appear only where they mean something.

use std::collections::{BTreeMap, BTreeSet};

use inferform_types::{
    Diagnostic, Diagnostics, ModulePath, ResourceAddr, ResourceMode, Schema, Value,
};

use crate::config::{Config, Expr, ModuleCall, ModuleView};
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
        let Some(view) = config.module(&r.addr.module) else {
            continue;
        };
        let here = Here {
            config,
            path: &r.addr.module,
            view,
            check: r.check.as_deref(),
        };
        for (target, span) in &r.depends_on {
            if !declared.contains(target) {
                diags.push(undeclared_resource(target, span.clone(), config));
            }
        }
        check_depends_on_modules(&here, &r.depends_on_modules, &mut diags);
        let mut exprs: Vec<&Expr> = Vec::new();
        collect_body_exprs(&r.body, &mut exprs);
        exprs.extend(r.count.iter());
        exprs.extend(r.for_each.iter());
        exprs.extend(r.lifecycle.replace_triggered_by.iter());
        for c in &r.lifecycle.preconditions {
            exprs.extend([&c.condition, &c.error_message]);
        }
        let meta = (r.count.is_some(), r.for_each.is_some());
        for e in exprs {
            check_refs(e, &here, schemas, meta, &mut diags);
            check_no_self(e, "outside a postcondition", &mut diags);
        }
        for c in &r.lifecycle.postconditions {
            for e in [&c.condition, &c.error_message] {
                check_refs(e, &here, schemas, meta, &mut diags);
            }
        }
        for m in [&r.count, &r.for_each].into_iter().flatten() {
            for reference in references(m) {
                if let Subject::Resource(addr) = &reference.subject {
                    if addr.clone().in_module(r.addr.module.clone()) == r.addr {
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
    check_backend(config, &mut diags);
    for path in config.module_paths() {
        let Some(view) = config.module(&path) else {
            continue;
        };
        check_module(
            &Here {
                config,
                path: &path,
                view,
                check: None,
            },
            schemas,
            &mut diags,
        );
    }
    diags
}

/// Checks one expression written on its own in the root module (at the console): the
/// functions it calls and the names it refers to exist, as in a configuration.
pub fn validate_expression(config: &Config, schemas: &Schemas, expr: &Expr) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let root = inferform_types::ModulePath::root();
    if let Some(view) = config.module(&root) {
        let here = Here {
            config,
            path: &root,
            view,
            check: None,
        };
        check_refs(expr, &here, schemas, (false, false), &mut diags);
    }
    diags
}

/// The backend block's arguments read only variables and locals (see [`crate::backend`]) and
/// call functions that exist.
fn check_backend(config: &Config, diags: &mut Diagnostics) {
    let Some(backend) = &config.backend else {
        return;
    };
    diags.extend(crate::backend::check_references(config));
    for attr in &backend.body.attributes {
        check_functions(&attr.expr, diags);
    }
}

/// Where an expression is: the module it is written in, and the check block, if any.
struct Here<'a> {
    config: &'a Config,
    path: &'a ModulePath,
    view: ModuleView<'a>,
    check: Option<&'a str>,
}

impl Here<'_> {
    /// A resource reference written here, as an address in this module.
    fn rehome<'r>(&self, addr: &'r ResourceAddr) -> std::borrow::Cow<'r, ResourceAddr> {
        if self.path.is_root() {
            std::borrow::Cow::Borrowed(addr)
        } else {
            std::borrow::Cow::Owned(addr.clone().in_module(self.path.clone()))
        }
    }
}

/// `self` means the object a postcondition checks; anywhere else it is a mistake.
fn check_no_self(expr: &Expr, where_: &str, diags: &mut Diagnostics) {
    for r in references(expr) {
        if matches!(r.subject, Subject::SelfRef) {
            diags.push(
                Diagnostic::error(
                    "inferform::config::self_reference",
                    format!("`self` cannot be used {where_}"),
                )
                .with_span(r.span)
                .with_help("`self` is the resource's own object, in its postcondition blocks"),
            );
        }
    }
}

/// Checks the root module's `check` and `removed` blocks.
fn check_checks_and_removed(
    config: &Config,
    here: &Here,
    schemas: &Schemas,
    diags: &mut Diagnostics,
) {
    for check in &config.checks {
        let here = Here {
            check: Some(&check.name),
            ..*here
        };
        for a in &check.asserts {
            for e in [&a.condition, &a.error_message] {
                check_refs(e, &here, schemas, (false, false), diags);
                check_no_self(e, "in a check block", diags);
            }
        }
    }
    for removed in &config.removed {
        if config.resource(&removed.from).is_some() {
            diags.push(
                Diagnostic::error(
                    "inferform::config::removed_still_configured",
                    format!(
                        "{} is in a removed block but still in the configuration",
                        removed.from
                    ),
                )
                .with_span(removed.span.clone())
                .with_help("delete the resource block, or the removed block"),
            );
        }
    }
}

/// Checks one module's locals, outputs, variables and `module` blocks.
fn check_module(here: &Here, schemas: &Schemas, diags: &mut Diagnostics) {
    if here.path.is_root() {
        check_checks_and_removed(here.config, here, schemas, diags);
    }
    for local in here.view.locals.values() {
        check_refs(&local.expr, here, schemas, (false, false), diags);
    }
    for output in here.view.outputs.values() {
        check_refs(&output.value, here, schemas, (false, false), diags);
    }
    for call in here.view.calls.values() {
        check_call(here, call, schemas, diags);
    }
    for variable in here.view.variables.values() {
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
}

/// `depends_on = [module.NAME]` entries name module blocks of the same module.
fn check_depends_on_modules(
    here: &Here,
    names: &[(String, inferform_types::SourceSpan)],
    diags: &mut Diagnostics,
) {
    for (name, span) in names {
        if !here.view.calls.contains_key(name) {
            diags.push(undeclared_module(here, name, span.clone()));
        }
    }
}

fn undeclared_module(here: &Here, name: &str, span: inferform_types::SourceSpan) -> Diagnostic {
    Diagnostic::error(
        "inferform::config::undeclared_module",
        format!("reference to undeclared module `{name}`"),
    )
    .with_span(span)
    .with_label("not declared")
    .with_help(
        match did_you_mean(name, here.view.calls.keys().map(String::as_str)) {
            Some(s) => format!("did you mean `module.{s}`?"),
            None => {
                format!("declare it with `module \"{name}\" {{ source = \"./modules/{name}\" }}`")
            }
        },
    )
}

/// A `module` block: its inputs match the module's variables, every required variable is set,
/// and its expressions refer to things declared where the block is.
fn check_call(here: &Here, call: &ModuleCall, schemas: &Schemas, diags: &mut Diagnostics) {
    let meta = (call.count.is_some(), call.for_each.is_some());
    for e in call
        .inputs
        .iter()
        .map(|a| &a.expr)
        .chain(call.count.iter())
        .chain(call.for_each.iter())
    {
        check_refs(e, here, schemas, meta, diags);
    }
    for m in [&call.count, &call.for_each].into_iter().flatten() {
        for reference in references(m) {
            if matches!(&reference.subject, Subject::Module(n) if n == &call.name) {
                diags.push(
                    Diagnostic::error(
                        "inferform::config::self_reference",
                        format!("module `{}` refers to its own outputs", call.name),
                    )
                    .with_span(reference.span)
                    .with_help("a module's count and for_each cannot use its own outputs"),
                );
            }
        }
    }
    for (target, span) in &call.depends_on {
        let target = target.clone().in_module(here.path.clone());
        if here.config.resource(&target).is_none() {
            diags.push(undeclared_resource(&target, span.clone(), here.config));
        }
    }
    check_depends_on_modules(here, &call.depends_on_modules, diags);
    for (from, (_, span)) in &call.providers {
        let name = from.split('.').next().unwrap_or(from);
        if !schemas.providers.contains(name) {
            let help = match did_you_mean(name, schemas.providers.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => {
                    "the keys of `providers` are the provider names the module uses, such as fabric"
                        .to_string()
                }
            };
            diags.push(
                Diagnostic::error(
                    "inferform::config::unknown_provider",
                    format!(
                        "module `{}` is given provider `{from}`, which is no provider",
                        call.name
                    ),
                )
                .with_span(span.clone())
                .with_help(help),
            );
        }
    }
    for (to, span) in call.providers.values() {
        let (name, alias) = to
            .split_once('.')
            .map_or((to.as_str(), None), |(n, a)| (n, Some(a)));
        if !schemas.providers.contains(name) {
            diags.push(
                Diagnostic::error(
                    "inferform::config::unknown_provider",
                    format!("unknown provider `{name}`"),
                )
                .with_span(span.clone())
                .with_help("`providers` values name provider configurations, such as fabric.west"),
            );
        } else if alias.is_some()
            && here.path.is_root()
            && !here.config.providers.iter().any(|p| &p.key() == to)
        {
            diags.push(
                Diagnostic::error(
                    "inferform::config::undeclared_provider",
                    format!("provider configuration `{to}` is not declared"),
                )
                .with_span(span.clone())
                .with_help(format!(
                    "add `provider \"{name}\" {{ alias = \"{}\" ... }}`",
                    alias.unwrap_or_default()
                )),
            );
        }
    }
    let child_path = here
        .path
        .child(&call.name, inferform_types::InstanceKey::None);
    // A module that could not be loaded was reported where its source is.
    let Some(child) = here.config.module(&child_path) else {
        return;
    };
    for input in &call.inputs {
        if child.variables.contains_key(&input.name) {
            continue;
        }
        let help = match did_you_mean(&input.name, child.variables.keys().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None if child.variables.is_empty() => {
                format!("module `{}` declares no variables", call.name)
            }
            None => format!(
                "the module's variables are: {}",
                child
                    .variables
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        diags.push(
            Diagnostic::error(
                "inferform::config::unknown_module_input",
                format!("module `{}` has no variable `{}`", call.name, input.name),
            )
            .with_span(input.name_span.clone())
            .with_help(help),
        );
    }
    for (name, variable) in child.variables {
        if variable.default.is_none() && call.input(name).is_none() {
            let (line, _) = variable.span.line_col();
            diags.push(
                Diagnostic::error(
                    "inferform::config::missing_module_input",
                    format!(
                        "module `{}` needs a value for its variable `{name}`",
                        call.name
                    ),
                )
                .with_span(call.span.clone())
                .with_help(format!(
                    "add `{name} = ...` to the module block; the variable is declared at {}:{line}",
                    variable.span.file
                )),
            );
        }
    }
}

/// Decodes every resource body against its schema with every reference unknown, so unknown
/// arguments, misplaced blocks, missing required arguments and literal type errors are found
/// without variable values or state.
fn check_bodies(config: &Config, schemas: &Schemas, diags: &mut Diagnostics) {
    let mut root: BTreeMap<String, Value> = BTreeMap::new();
    for name in [
        "var",
        "local",
        "data",
        "path",
        "count",
        "each",
        "self",
        "module",
        "inferform",
        "terraform",
    ] {
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
    here: &Here,
    schemas: &Schemas,
) -> Option<Diagnostic> {
    let Subject::Resource(addr) = &reference.subject else {
        return None;
    };
    let target = here.config.resource(&here.rehome(addr))?;
    if reference.indexed && target.count.is_none() && target.for_each.is_none() {
        return Some(
            Diagnostic::error(
                "inferform::config::unexpected_instance_key",
                format!(
                    "{addr} has neither `count` nor `for_each`, so it has no instances to pick"
                ),
            )
            .with_span(reference.span.clone())
            .with_help(format!(
                "write {addr}.ATTRIBUTE, or add count or for_each to the resource"
            )),
        );
    }
    let first = reference.attrs.first()?;
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
        .filter(|r| {
            r.addr.mode == addr.mode
                && r.addr.type_name == addr.type_name
                && r.addr.module == addr.module
        })
        .map(|r| r.addr.name.clone())
        .collect();
    let help = match did_you_mean(&addr.name, names.iter().map(String::as_str)) {
        Some(s) => format!(
            "did you mean `{}`?",
            inferform_types::ResourceAddr {
                name: s.to_string(),
                ..addr.clone()
            }
            .local()
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

/// Checks the functions an expression calls and the names it refers to. `meta` says whether
/// `count` and `for_each` are set where the expression is.
fn check_refs(
    expr: &Expr,
    here: &Here,
    schemas: &Schemas,
    meta: (bool, bool),
    diags: &mut Diagnostics,
) {
    let config = here.config;
    let view = here.view;
    check_functions(expr, diags);
    for r in references(expr) {
        if let Some(d) = check_attribute(&r, here, schemas) {
            diags.push(d);
        }
        let problem = match &r.subject {
            Subject::Variable(name) if !view.variables.contains_key(name) => Some(
                Diagnostic::error(
                    "inferform::config::undeclared_variable",
                    format!("reference to undeclared variable `{name}`"),
                )
                .with_help(
                    match did_you_mean(name, view.variables.keys().map(String::as_str)) {
                        Some(s) => format!("did you mean `var.{s}`?"),
                        None => {
                            format!("declare it with `variable \"{name}\" {{ type = string }}`")
                        }
                    },
                ),
            ),
            Subject::Local(name) if !view.locals.contains_key(name) => Some(
                Diagnostic::error(
                    "inferform::config::undeclared_local",
                    format!("reference to undeclared local value `{name}`"),
                )
                .with_help(
                    match did_you_mean(name, view.locals.keys().map(String::as_str)) {
                        Some(s) => format!("did you mean `local.{s}`?"),
                        None => format!("define it in a `locals {{ {name} = ... }}` block"),
                    },
                ),
            ),
            Subject::Resource(addr) => match config.resource(&here.rehome(addr)) {
                None => {
                    let addr = here.rehome(addr).into_owned();
                    diags.push(undeclared_resource(&addr, r.span.clone(), config));
                    None
                }
                // A check's data source is for that check's assertions alone.
                Some(target) if target.check.is_some() && target.check.as_deref() != here.check => {
                    let name = target.check.as_deref().unwrap_or_default();
                    Some(
                        Diagnostic::error(
                            "inferform::config::scoped_data",
                            format!(
                                "{} is scoped to check \"{name}\" and cannot be read here",
                                target.addr
                            ),
                        )
                        .with_help(format!(
                            "read it only in the assert blocks of check \"{name}\", or move the \
                             data block out of the check block"
                        )),
                    )
                }
                Some(_) => None,
            },
            Subject::Module(name) => {
                if !view.calls.contains_key(name) {
                    diags.push(undeclared_module(here, name, r.span.clone()));
                } else {
                    check_module_output(here, name, &r, diags);
                }
                None
            }
            Subject::Count if !meta.0 => Some(
                Diagnostic::error(
                    "inferform::config::count_outside",
                    "`count.index` is used where `count` is not set",
                )
                .with_help("add `count = N` to the resource, or remove the reference"),
            ),
            Subject::Each if !meta.1 => Some(
                Diagnostic::error(
                    "inferform::config::each_outside",
                    "`each` is used where `for_each` is not set",
                )
                .with_help("add `for_each = ...` to the resource, or remove the reference"),
            ),
            Subject::Meta { root, attr } => check_meta(root, attr.as_deref()),
            Subject::Other(name) => Some(
                Diagnostic::error(
                    "inferform::config::unknown_reference",
                    format!("unknown name `{name}`"),
                )
                .with_help(
                    "refer to var.NAME, local.NAME, TYPE.NAME, data.TYPE.NAME or module.NAME.OUTPUT",
                ),
            ),
            _ => None,
        };
        if let Some(d) = problem {
            diags.push(d.with_span(r.span.clone()));
        }
    }
}

/// Every function an expression calls exists.
fn check_functions(expr: &Expr, diags: &mut Diagnostics) {
    for (name, span) in crate::refs::function_calls(expr) {
        if crate::funcs::NAMES.contains(&name.as_str()) {
            continue;
        }
        let help = match did_you_mean(&name, crate::funcs::NAMES.iter().copied()) {
            Some(s) => format!("did you mean `{s}()`?"),
            None => "see \"Expressions\" in the README for the built-in functions".to_string(),
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
}

/// The attributes of `inferform` (and `terraform`, its name in files brought from Terraform).
const META_ATTRIBUTES: &[&str] = &["workspace"];

/// `inferform.workspace` is the one attribute of `inferform`; anything else is a mistake,
/// most likely a misspelling. `None` when the reference is fine.
fn check_meta(root: &str, attr: Option<&str>) -> Option<Diagnostic> {
    match attr {
        Some(a) if META_ATTRIBUTES.contains(&a) => None,
        Some(a) => Some(
            Diagnostic::error(
                "inferform::config::unsupported_attribute",
                format!("`{root}` has no attribute `{a}`"),
            )
            .with_help(match did_you_mean(a, META_ATTRIBUTES.iter().copied()) {
                Some(s) => format!("did you mean `{root}.{s}`?"),
                None => format!(
                    "`{root}` has one attribute: {root}.workspace, the name of the current workspace"
                ),
            }),
        ),
        None => Some(
            Diagnostic::error(
                "inferform::config::unknown_reference",
                format!("`{root}` is not a value on its own"),
            )
            .with_help(format!(
                "write {root}.workspace for the name of the current workspace"
            )),
        ),
    }
}

/// `module.NAME.OUTPUT`: the output exists, and an instance is picked when the call has
/// `count` or `for_each`.
fn check_module_output(
    here: &Here,
    name: &str,
    reference: &crate::refs::Reference,
    diags: &mut Diagnostics,
) {
    let Some(call) = here.view.calls.get(name) else {
        return;
    };
    if reference.indexed && call.count.is_none() && call.for_each.is_none() {
        diags.push(
            Diagnostic::error(
                "inferform::config::unexpected_instance_key",
                format!("module `{name}` has neither `count` nor `for_each`, so it has no instances to pick"),
            )
            .with_span(reference.span.clone())
            .with_help(format!("write module.{name}.OUTPUT, or add count or for_each to the module block")),
        );
        return;
    }
    let Some(output) = reference.attrs.first() else {
        return;
    };
    if call.count.is_some() || call.for_each.is_some() {
        let (meta, key) = if call.count.is_some() {
            ("count", "0")
        } else {
            ("for_each", "\"KEY\"")
        };
        diags.push(
            Diagnostic::error(
                "inferform::config::missing_instance_key",
                format!("module `{name}` has `{meta}` set, so its outputs belong to its instances"),
            )
            .with_span(reference.span.clone())
            .with_help(format!(
                "pick an instance, as module.{name}[{key}].{output}, or all of them, as module.{name}[*].{output}"
            )),
        );
        return;
    }
    let child = here.path.child(name, inferform_types::InstanceKey::None);
    let Some(child) = here.config.module(&child) else {
        return;
    };
    if child.outputs.contains_key(output) {
        return;
    }
    let help = match did_you_mean(output, child.outputs.keys().map(String::as_str)) {
        Some(s) => format!("did you mean `module.{name}.{s}`?"),
        None if child.outputs.is_empty() => format!("module `{name}` declares no outputs"),
        None => format!(
            "the module's outputs are: {}",
            child.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    diags.push(
        Diagnostic::error(
            "inferform::config::unsupported_attribute",
            format!("module `{name}` has no output `{output}`"),
        )
        .with_span(reference.span.clone())
        .with_help(help),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate_text(text: &str) -> Diagnostics {
        let (config, diags) = crate::load_sources(vec![("main.hcl".into(), text.into())]);
        assert!(!diags.has_errors(), "{diags:?}");
        let resources = BTreeMap::from([(
            "inferform_data".to_string(),
            Schema::new().attr(
                "input",
                inferform_types::Attribute::optional(inferform_types::Type::Any),
            ),
        )]);
        let providers = BTreeSet::from(["inferform".to_string()]);
        validate(
            &config,
            &Schemas {
                resources: &resources,
                data_sources: &BTreeMap::new(),
                providers: &providers,
            },
        )
    }

    #[test]
    fn workspace_is_the_one_attribute_of_inferform_and_terraform() {
        let diags = validate_text(
            "resource \"inferform_data\" \"a\" {\n  input = [inferform.workspace, terraform.workspace]\n}\n",
        );
        assert!(diags.is_empty(), "{diags:?}");

        let diags = validate_text(
            "locals {\n  a = inferform.wrokspace\n  b = terraform.version\n  c = inferform\n}\n",
        );
        let found: Vec<(String, String, String)> = diags
            .iter()
            .map(|d| {
                (
                    d.location().unwrap(),
                    d.message.clone(),
                    d.help.clone().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "main.hcl:2:7".to_string(),
                    "`inferform` has no attribute `wrokspace`".to_string(),
                    "did you mean `inferform.workspace`?".to_string()
                ),
                (
                    "main.hcl:3:7".to_string(),
                    "`terraform` has no attribute `version`".to_string(),
                    "`terraform` has one attribute: terraform.workspace, the name of the current workspace".to_string()
                ),
                (
                    "main.hcl:4:7".to_string(),
                    "`inferform` is not a value on its own".to_string(),
                    "write inferform.workspace for the name of the current workspace".to_string()
                ),
            ]
        );
    }
}
