//! The backend block, `inferform { backend "pg" { ... } }`: which backend types exist and what
//! each takes, the check that its arguments read nothing but input variables and locals, and
//! [`eval_backend`], which works the arguments out ahead of everything else.
//!
//! The backend is where state lives, so it is set up before anything is planned (`init`
//! records it in `.inferform/backend.json`): its arguments cannot wait for resources, module
//! outputs or `count`. They may read input variables and the root module's locals, and those
//! locals may read the same, as OpenTofu allows. Because the settings are saved in the working
//! directory, a sensitive value must not reach them: a secret comes from the environment or
//! `--backend-config` instead.

use std::collections::{BTreeMap, BTreeSet};

use inferform_types::{Diagnostic, Diagnostics, Type, Value};

use crate::config::{Backend, Config, Expr};
use crate::eval::{eval, Scope};
use crate::refs::{references, Reference, Subject};
use crate::suggest::did_you_mean;
use crate::types::convert;

/// Every backend type with the arguments it takes and their types. Every argument is
/// optional: it may come from `--backend-config` or the environment (`PG_CONN_STR`) instead.
pub const BACKENDS: &[(&str, &[(&str, Type)])] = &[
    ("local", &[]),
    (
        "pg",
        &[
            ("conn_str", Type::String),
            ("schema_name", Type::String),
            ("skip_schema_creation", Type::Bool),
        ],
    ),
];

/// The arguments of backend type `kind`, with their types; `None` when there is no such type.
pub fn arguments(kind: &str) -> Option<&'static [(&'static str, Type)]> {
    BACKENDS.iter().find(|(k, _)| *k == kind).map(|(_, a)| *a)
}

/// The names of the backend types, for messages and suggestions.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    BACKENDS.iter().map(|(k, _)| *k)
}

/// The arguments the backend block sets that its type takes. Unknown ones were reported when
/// the block was loaded and are left alone here, so they are not reported twice.
fn known_arguments(backend: &Backend) -> Vec<(&crate::config::AttrNode, &'static Type)> {
    let Some(args) = arguments(&backend.kind) else {
        return Vec::new();
    };
    backend
        .body
        .attributes
        .iter()
        .filter_map(|a| {
            args.iter()
                .find(|(name, _)| *name == a.name)
                .map(|(_, ty)| (a, ty))
        })
        .collect()
}

/// What a reference names, for "reads ..." messages.
fn describe(r: &Reference) -> String {
    let text = &r.span.text[r.span.range.clone()];
    if text.is_empty() {
        "something".to_string()
    } else {
        format!("`{text}`")
    }
}

/// The problems of the backend block's references: anything other than input variables and
/// the root module's locals, read directly or through those locals, and variables or locals
/// the arguments name that are not declared. Validation reports these with everything else;
/// [`eval_backend`] checks again because it may be given a configuration nobody validated.
///
/// A local's own undeclared names are left to validation of the local, so they are reported
/// once; what it may not read is reported here, because only the backend forbids it.
pub fn check_references(config: &Config) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let Some(backend) = &config.backend else {
        return diags;
    };
    // (expression, the argument it serves, the local it is the value of)
    let mut queue: Vec<(&Expr, &str, Option<&str>)> = known_arguments(backend)
        .into_iter()
        .map(|(a, _)| (&a.expr, a.name.as_str(), None))
        .collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut i = 0;
    while let Some(&(expr, arg, via)) = queue.get(i) {
        i += 1;
        for r in references(expr) {
            match &r.subject {
                Subject::Variable(name) => {
                    if via.is_none() && !config.variables.contains_key(name) {
                        let help =
                            match did_you_mean(name, config.variables.keys().map(String::as_str)) {
                                Some(s) => format!("did you mean `var.{s}`?"),
                                None => format!(
                                    "declare it with `variable \"{name}\" {{ type = string }}`"
                                ),
                            };
                        diags.push(
                            Diagnostic::error(
                                "inferform::config::undeclared_variable",
                                format!("reference to undeclared variable `{name}`"),
                            )
                            .with_span(r.span.clone())
                            .with_help(help),
                        );
                    }
                }
                Subject::Local(name) => match config.locals.get_key_value(name) {
                    Some((key, local)) if seen.insert(key.as_str()) => {
                        queue.push((&local.expr, arg, Some(key.as_str())));
                    }
                    Some(_) => {}
                    None if via.is_none() => {
                        let help =
                            match did_you_mean(name, config.locals.keys().map(String::as_str)) {
                                Some(s) => format!("did you mean `local.{s}`?"),
                                None => format!("define it in a `locals {{ {name} = ... }}` block"),
                            };
                        diags.push(
                            Diagnostic::error(
                                "inferform::config::undeclared_local",
                                format!("reference to undeclared local value `{name}`"),
                            )
                            .with_span(r.span.clone())
                            .with_help(help),
                        );
                    }
                    None => {}
                },
                _ => {
                    let help = match via {
                        None => format!(
                            "the backend is set up before anything else is evaluated, so `{arg}` cannot read {}: write the value, take it from var.NAME or local.NAME, or pass it with --backend-config {arg}=VALUE",
                            describe(&r)
                        ),
                        Some(local) => format!(
                            "the backend's `{arg}` uses local.{local}, which reads {}; the backend is set up before anything else is evaluated: work the local out from variables only, or pass the value with --backend-config {arg}=VALUE",
                            describe(&r)
                        ),
                    };
                    diags.push(
                        Diagnostic::error(
                            "inferform::config::backend_reference",
                            "backend arguments may use input variables and locals only",
                        )
                        .with_span(r.span.clone())
                        .with_label("not a variable or local")
                        .with_help(help),
                    );
                }
            }
        }
    }
    diags
}

/// The backend block's arguments, evaluated with the root module's variables and the locals
/// they need. Unset and null arguments are left out; each value is converted to its
/// argument's type.
///
/// `vars` are the root module's variable values as [`crate::vars::resolve`] gives them,
/// marked sensitive where their variables are. An argument that reads anything but variables
/// and locals, whose value is sensitive (backend settings are saved in the working directory,
/// so a secret must come from `PG_CONN_STR` or `--backend-config`), or whose value is not
/// known is an error. A configuration without a backend block, or whose block has an unknown
/// type (reported when it was loaded), gives no arguments and no diagnostics.
pub fn eval_backend(
    config: &Config,
    vars: &BTreeMap<String, Value>,
) -> (BTreeMap<String, Value>, Diagnostics) {
    let mut out = BTreeMap::new();
    let Some(backend) = &config.backend else {
        return (out, Diagnostics::new());
    };
    if arguments(&backend.kind).is_none() {
        return (out, Diagnostics::new());
    }
    let mut diags = check_references(config);
    if diags.has_errors() {
        return (out, diags);
    }
    let args = known_arguments(backend);
    let exprs: Vec<&Expr> = args.iter().map(|(a, _)| &a.expr).collect();
    let Some(root) = settings_root(config, vars, &exprs, &mut diags) else {
        return (out, diags);
    };
    let scope = Scope::new(&root);
    for (attr, ty) in args {
        let name = &attr.name;
        let value = match eval(&attr.expr, &scope) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        if value.is_sensitive() {
            diags.push(sensitive_argument(config, backend, attr, vars));
            continue;
        }
        if !value.is_wholly_known() {
            diags.push(
                Diagnostic::error(
                    "inferform::config::backend_unknown",
                    format!("the value of the backend's `{name}` is not known until apply"),
                )
                .with_span(attr.expr.span())
                .with_help(
                    "the backend is set up before the plan: build the value from variables, locals and literals",
                ),
            );
            continue;
        }
        if value.is_null() {
            continue;
        }
        match convert(value, ty) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(msg) => diags.push(
                Diagnostic::error(
                    "inferform::config::type_mismatch",
                    format!(
                        "wrong type for `{name}` in backend \"{}\": {msg}",
                        backend.kind
                    ),
                )
                .with_span(attr.expr.span())
                .with_help(format!("`{name}` takes {}", ty.display())),
            ),
        }
    }
    (out, diags)
}

/// The scope the settings blocks (`backend`, `encryption`) evaluate in: `var` with the root
/// module's variable values and `local` with the locals `exprs` need, worked out in dependency
/// order. `None` (with the reasons in `diags`) when a needed local cannot be worked out.
pub(crate) fn settings_root(
    config: &Config,
    vars: &BTreeMap<String, Value>,
    exprs: &[&Expr],
    diags: &mut Diagnostics,
) -> Option<BTreeMap<String, Value>> {
    let mut order = Vec::new();
    let mut state = BTreeMap::new();
    for expr in exprs {
        for r in references(expr) {
            if let Subject::Local(name) = r.subject {
                needed_local(config, &name, &mut state, &mut order, diags);
            }
        }
    }
    if diags.has_errors() {
        return None;
    }
    let mut root = BTreeMap::from([
        ("var".to_string(), Value::Object(vars.clone())),
        ("local".to_string(), Value::Object(BTreeMap::new())),
    ]);
    for name in order {
        let Some(local) = config.locals.get(name) else {
            continue;
        };
        let value = match eval(&local.expr, &Scope::new(&root)) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                Value::Unknown
            }
        };
        if let Some(Value::Object(locals)) = root.get_mut("local") {
            locals.insert(name.to_string(), value);
        }
    }
    if diags.has_errors() {
        return None;
    }
    Some(root)
}

/// Adds local `name` to `order` after the locals it reads (depth first), once. `state` holds
/// `false` while a local's own reads are being visited and `true` once it is placed, so a
/// local met again while `false` closes a cycle. The walk keeps its own stack rather than
/// recursing: a chain of thousands of locals, each reading the next, must not overflow the
/// thread's stack.
fn needed_local<'c>(
    config: &'c Config,
    name: &str,
    state: &mut BTreeMap<&'c str, bool>,
    order: &mut Vec<&'c str>,
    diags: &mut Diagnostics,
) {
    /// Starts visiting local `name`: the locals it reads, or `None` when there is nothing to do.
    fn enter<'c>(
        config: &'c Config,
        name: &str,
        state: &mut BTreeMap<&'c str, bool>,
        diags: &mut Diagnostics,
    ) -> Option<(&'c str, std::vec::IntoIter<String>)> {
        let (key, local) = config.locals.get_key_value(name)?;
        match state.get(key.as_str()) {
            Some(true) => return None,
            Some(false) => {
                diags.push(
                    Diagnostic::error(
                        "inferform::config::backend_cycle",
                        format!("local value `{name}` depends on itself"),
                    )
                    .with_span(local.span.clone())
                    .with_help(
                        "the backend uses this local: break the cycle, so that one of the locals does not refer to the next",
                    ),
                );
                return None;
            }
            None => {}
        }
        state.insert(key.as_str(), false);
        let reads: Vec<String> = references(&local.expr)
            .into_iter()
            .filter_map(|r| match r.subject {
                Subject::Local(other) => Some(other),
                _ => None,
            })
            .collect();
        Some((key.as_str(), reads.into_iter()))
    }
    let mut stack: Vec<(&'c str, std::vec::IntoIter<String>)> = Vec::new();
    stack.extend(enter(config, name, state, diags));
    while let Some((key, reads)) = stack.last_mut() {
        match reads.next() {
            Some(other) => {
                let next = enter(config, &other, state, diags);
                stack.extend(next);
            }
            None => {
                let key = *key;
                stack.pop();
                state.insert(key, true);
                order.push(key);
            }
        }
    }
}

/// The error for an argument whose value is sensitive, naming the sensitive variables it is
/// built from (through locals too) when there are any.
fn sensitive_argument(
    config: &Config,
    backend: &Backend,
    attr: &crate::config::AttrNode,
    vars: &BTreeMap<String, Value>,
) -> Diagnostic {
    let mut secret_vars = BTreeSet::new();
    let mut queue = vec![&attr.expr];
    let mut seen = BTreeSet::new();
    while let Some(expr) = queue.pop() {
        for r in references(expr) {
            match r.subject {
                Subject::Variable(v) => {
                    let marked = config.variables.get(&v).is_some_and(|d| d.sensitive)
                        || vars.get(&v).is_some_and(Value::is_sensitive);
                    if marked {
                        secret_vars.insert(v);
                    }
                }
                Subject::Local(l) => {
                    if let Some(local) = config.locals.get(&l) {
                        if seen.insert(l) {
                            queue.push(&local.expr);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let name = &attr.name;
    let from = match secret_vars.len() {
        0 => String::new(),
        1 => format!(
            ", from the sensitive variable `{}`",
            secret_vars.iter().next().map_or("", String::as_str)
        ),
        _ => format!(
            ", from the sensitive variables {}",
            secret_vars
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let instead = if backend.kind == "pg" && name == "conn_str" {
        "set it in the PG_CONN_STR environment variable, or pass it with --backend-config conn_str=...".to_string()
    } else {
        format!("pass it with --backend-config {name}=...")
    };
    Diagnostic::error(
        "inferform::config::backend_sensitive",
        format!("the backend's `{name}` would hold a sensitive value{from}"),
    )
    .with_span(attr.expr.span())
    .with_help(format!(
        "backend settings are saved in the working directory (.inferform/backend.json), so a secret must not come from the configuration: {instead}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load_sources;

    fn load(text: &str) -> Config {
        let (config, diags) = load_sources(vec![("main.hcl".into(), text.into())]);
        assert!(
            !diags.has_errors(),
            "{:?}",
            diags.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
        config
    }

    fn codes(diags: &Diagnostics) -> Vec<&str> {
        diags.iter().map(|d| d.code.as_str()).collect()
    }

    #[test]
    fn evaluates_arguments_through_locals_in_order() {
        let config = load(
            r#"
variable "team" { type = string }
locals {
  schema = "${local.prefix}_${var.team}"
  prefix = "state"
  unused = fabric_workspace.main.id
}
terraform {
  required_version = ">= 1.5"
  backend "pg" {
    conn_str             = "postgres://db.internal/infra"
    schema_name          = local.schema
    skip_schema_creation = "true"
  }
}
"#,
        );
        let vars = BTreeMap::from([("team".to_string(), Value::string("ml"))]);
        let (values, diags) = eval_backend(&config, &vars);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            values,
            BTreeMap::from([
                (
                    "conn_str".to_string(),
                    Value::string("postgres://db.internal/infra")
                ),
                ("schema_name".to_string(), Value::string("state_ml")),
                ("skip_schema_creation".to_string(), Value::Bool(true)),
            ])
        );
    }

    #[test]
    fn a_sensitive_variable_is_refused_even_through_a_local() {
        let config = load(
            r#"
variable "password" {
  type      = string
  sensitive = true
}
locals { conn = "postgres://app:${var.password}@db/infra" }
inferform {
  backend "pg" {
    conn_str = local.conn
  }
}
"#,
        );
        let vars = BTreeMap::from([("password".to_string(), Value::string("hunter2").sensitive())]);
        let (values, diags) = eval_backend(&config, &vars);
        assert!(values.is_empty());
        assert_eq!(codes(&diags), ["inferform::config::backend_sensitive"]);
        let d = diags.iter().next().unwrap();
        assert!(d.message.contains("`conn_str`") && d.message.contains("`password`"));
        assert!(d.help.as_deref().unwrap().contains("PG_CONN_STR"));
        assert!(!d.message.contains("hunter2") && !d.help.as_deref().unwrap().contains("hunter2"));
        assert_eq!(d.location().unwrap(), "main.hcl:9:16");
    }

    #[test]
    fn resources_are_refused_directly_and_through_locals() {
        let config = load(
            r#"
locals {
  ws     = fabric_workspace.main.id
  schema = "s_${local.ws}"
}
inferform {
  backend "pg" {
    conn_str    = "postgres://${path.module}"
    schema_name = local.schema
  }
}
"#,
        );
        let (_, diags) = eval_backend(&config, &BTreeMap::new());
        assert_eq!(
            codes(&diags),
            [
                "inferform::config::backend_reference",
                "inferform::config::backend_reference"
            ]
        );
        let messages: Vec<String> = diags
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}",
                    d.location().unwrap(),
                    d.message,
                    d.help.clone().unwrap()
                )
            })
            .collect();
        assert!(messages[0].starts_with("main.hcl:8:") && messages[0].contains("`path.module`"));
        assert!(
            messages[1].starts_with("main.hcl:3:12")
                && messages[1].contains("local.ws")
                && messages[1].contains("`fabric_workspace.main.id`"),
            "{messages:?}"
        );
    }

    #[test]
    fn unknown_values_wrong_types_and_cycles_are_errors() {
        let config = load(
            r#"
variable "later" { type = string }
locals {
  a = local.b
  b = local.a
}
inferform {
  backend "pg" {
    conn_str             = var.later
    schema_name          = local.a
    skip_schema_creation = [1]
  }
}
"#,
        );
        let (_, diags) = eval_backend(&config, &BTreeMap::new());
        assert_eq!(codes(&diags), ["inferform::config::backend_cycle"]);

        let config = load(
            r#"
variable "later" { type = string }
inferform {
  backend "pg" {
    conn_str             = var.later
    skip_schema_creation = [1]
  }
}
"#,
        );
        let vars = BTreeMap::from([("later".to_string(), Value::Unknown)]);
        let (_, diags) = eval_backend(&config, &vars);
        assert_eq!(
            codes(&diags),
            [
                "inferform::config::backend_unknown",
                "inferform::config::type_mismatch"
            ]
        );
    }

    fn load_with_errors(files: &[(&str, &str)]) -> Diagnostics {
        let files = files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        load_sources(files).1
    }

    #[test]
    fn loading_reports_unknown_types_arguments_and_a_second_backend() {
        let diags = load_with_errors(&[("main.hcl", "inferform {\n  backend \"pgg\" {}\n}\n")]);
        assert_eq!(codes(&diags), ["inferform::config::unknown_backend"]);
        let d = diags.iter().next().unwrap();
        assert_eq!(d.location().unwrap(), "main.hcl:2:11");
        assert_eq!(d.help.as_deref(), Some("did you mean \"pg\"?"));

        let diags = load_with_errors(&[(
            "main.hcl",
            "terraform {\n  required_providers {\n    fabric = { source = \"x/fabric\" }\n  }\n  backend \"pg\" {\n    schema = \"s\"\n    conn_str = \"c\"\n  }\n}\n",
        )]);
        assert_eq!(codes(&diags), ["inferform::config::unknown_attribute"]);
        assert_eq!(
            diags.iter().next().unwrap().help.as_deref(),
            Some("did you mean `schema_name`?")
        );

        let diags = load_with_errors(&[
            ("a.hcl", "inferform {\n  backend \"local\" {}\n}\n"),
            ("b.hcl", "terraform {\n  backend \"pg\" {}\n}\n"),
        ]);
        assert_eq!(codes(&diags), ["inferform::config::duplicate_backend"]);
        let d = diags.iter().next().unwrap();
        assert_eq!(d.location().unwrap(), "b.hcl:2:3");
        assert!(d.help.as_deref().unwrap().contains("a.hcl:2"));

        let diags = load_with_errors(&[(
            "main.hcl",
            "inferform {\n  backend \"local\" {\n    path = \"x\"\n  }\n}\n",
        )]);
        assert_eq!(codes(&diags), ["inferform::config::unknown_attribute"]);
        assert_eq!(
            diags.iter().next().unwrap().help.as_deref(),
            Some("the local backend takes no arguments")
        );
    }

    #[test]
    fn a_child_modules_backend_is_ignored_with_a_warning_and_not_checked() {
        let dir = std::env::temp_dir().join(format!(
            "inferform-backend-test-{}-{}",
            std::process::id(),
            line!()
        ));
        let module = dir.join("modules/app");
        std::fs::create_dir_all(&module).unwrap();
        std::fs::write(
            dir.join("main.hcl"),
            "module \"app\" {\n  source = \"./modules/app\"\n}\n",
        )
        .unwrap();
        std::fs::write(
            module.join("main.hcl"),
            "terraform {\n  backend \"pgg\" {\n    schema = \"app\"\n  }\n}\n",
        )
        .unwrap();
        let (config, diags) = crate::load_dir(&dir, "");
        std::fs::remove_dir_all(&dir).ok();
        assert!(config.backend.is_none());
        assert!(!diags.has_errors());
        assert_eq!(codes(&diags), ["inferform::config::backend_in_module"]);
        let d = diags.iter().next().unwrap();
        assert_eq!(d.location().unwrap(), "modules/app/main.hcl:2:3");
        assert!(d.help.is_some());
    }

    #[test]
    fn validation_checks_backend_references() {
        let config = load(
            r#"
variable "team" { type = string }
locals { ws = inferform_data.a.id }
inferform {
  backend "pg" {
    schema_name = "${var.tema}-${local.ws}-${uper("x")}-${local.nope}"
  }
}
"#,
        );
        let schemas = BTreeMap::new();
        let providers = BTreeSet::new();
        let diags = crate::validate::validate(
            &config,
            &crate::validate::Schemas {
                resources: &schemas,
                data_sources: &schemas,
                providers: &providers,
            },
        );
        let mut found: Vec<&str> = codes(&diags);
        found.sort_unstable();
        assert_eq!(
            found,
            [
                "inferform::config::backend_reference",
                "inferform::config::undeclared_local",
                "inferform::config::undeclared_resource",
                "inferform::config::undeclared_variable",
                "inferform::config::unknown_function",
            ]
        );
    }

    #[test]
    fn no_backend_and_local_backend_give_no_arguments() {
        let (values, diags) = eval_backend(&load("locals { a = 1 }"), &BTreeMap::new());
        assert!(values.is_empty() && diags.is_empty());
        let config = load("inferform {\n  backend \"local\" {}\n}\n");
        assert_eq!(config.backend.as_ref().unwrap().kind, "local");
        let (values, diags) = eval_backend(&config, &BTreeMap::new());
        assert!(values.is_empty() && diags.is_empty());
    }
}
