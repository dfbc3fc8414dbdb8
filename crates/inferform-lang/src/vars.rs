//! Variable values: from `INFERFORM_VAR_name` environment variables, auto-loaded var files
//! (`inferform.vars.hcl`, `*.auto.vars.hcl`), then `--var` and `--var-file` in command-line
//! order; a later source wins. Each value is converted to the variable's type; a variable
//! without a value or default is an error (there is no prompt).

use std::collections::BTreeMap;

use hcl_edit::structure::Structure;
use inferform_types::{Diagnostic, Diagnostics, Value};

use crate::config::{Config, Expr, Source};
use crate::eval::{eval, Scope};
use crate::types::convert;

/// One source of variable values, in precedence order (later wins).
#[derive(Clone, Debug)]
pub enum VarSource {
    /// `INFERFORM_VAR_name=value` or `--var name=value`: the raw text.
    Raw {
        name: String,
        value: String,
        origin: String,
    },
    /// A var file: `name = expression` lines.
    File(Source),
    /// A value already known, such as one recorded in a saved plan.
    Value {
        name: String,
        value: Value,
        origin: String,
    },
}

/// Works out every variable's value. The result is what `var.*` refers to.
pub fn resolve(config: &Config, sources: &[VarSource]) -> (BTreeMap<String, Value>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut given: BTreeMap<String, Value> = BTreeMap::new();
    // Where a value from a var file was written, so a wrong value is shown where it is.
    let mut written_at: BTreeMap<String, inferform_types::SourceSpan> = BTreeMap::new();
    let empty = BTreeMap::new();
    let scope = Scope::new(&empty);
    for source in sources {
        match source {
            VarSource::Raw {
                name,
                value,
                origin,
            } => {
                let Some(var) = config.variables.get(name) else {
                    diags.push(
                        Diagnostic::error(
                            "inferform::vars::undeclared",
                            format!("{origin} sets `{name}`, which is not a declared variable"),
                        )
                        .with_help(format!(
                            "declare it with `variable \"{name}\" {{}}`, or check the spelling"
                        )),
                    );
                    continue;
                };
                // Strings are taken as written; other types are parsed as HCL, as Terraform does.
                let parsed = match var.ty {
                    None | Some(inferform_types::Type::String) => Ok(Value::String(value.clone())),
                    Some(_) => hcl_edit::parser::parse_expr(value)
                        .map_err(|e| e.message().to_string())
                        .and_then(|expr| {
                            let src = Source {
                                name: origin.clone().into(),
                                text: value.clone().into(),
                            };
                            eval(&Expr { expr, source: src }, &scope).map_err(|d| d.message)
                        }),
                };
                match parsed {
                    Ok(v) => {
                        written_at.remove(name);
                        given.insert(name.clone(), v);
                    }
                    Err(msg) => diags.push(
                        Diagnostic::error(
                            "inferform::vars::bad_value",
                            format!("{origin}: the value of `{name}` does not parse: {msg}"),
                        )
                        .with_help(
                            "write the value as an HCL expression, for example [\"a\", \"b\"]",
                        ),
                    ),
                }
            }
            VarSource::Value {
                name,
                value,
                origin,
            } => {
                if config.variables.contains_key(name) {
                    written_at.remove(name);
                    given.insert(name.clone(), value.clone());
                } else {
                    diags.push(
                        Diagnostic::error(
                            "inferform::vars::undeclared",
                            format!("{origin} sets `{name}`, which is not a declared variable"),
                        )
                        .with_help("the configuration changed since this value was recorded"),
                    );
                }
            }
            VarSource::File(source) => match hcl_edit::parser::parse_body(&source.text) {
                Err(e) => diags.push(crate::loader::parse_error(source, &e)),
                Ok(body) => {
                    for structure in body.iter() {
                        match structure {
                            Structure::Attribute(attr) => {
                                let name = attr.key.as_str();
                                let expr = Expr {
                                    expr: attr.value.clone(),
                                    source: source.clone(),
                                };
                                if !config.variables.contains_key(name) {
                                    use hcl_edit::Span;
                                    diags.push(
                                        Diagnostic::warning(
                                            "inferform::vars::undeclared",
                                            format!("value for undeclared variable `{name}`"),
                                        )
                                        .with_span(source.span(attr.key.span().unwrap_or(0..0)))
                                        .with_help("declare the variable, or remove this line"),
                                    );
                                    continue;
                                }
                                match eval(&expr, &scope) {
                                    Ok(v) => {
                                        written_at.insert(name.to_string(), expr.span());
                                        given.insert(name.to_string(), v);
                                    }
                                    Err(d) => diags.push(d),
                                }
                            }
                            Structure::Block(b) => {
                                use hcl_edit::Span;
                                diags.push(
                                    Diagnostic::error(
                                        "inferform::vars::block",
                                        "a var file holds only `name = value` lines",
                                    )
                                    .with_span(source.span(b.ident.span().unwrap_or(0..0)))
                                    .with_help("remove the block"),
                                )
                            }
                        }
                    }
                }
            },
        }
    }
    let mut out = BTreeMap::new();
    for (name, var) in &config.variables {
        let value = match given.remove(name) {
            Some(v) => v,
            None => match &var.default {
                Some(expr) => match eval(expr, &scope) {
                    Ok(v) => {
                        written_at.insert(name.clone(), expr.span());
                        v
                    }
                    Err(d) => {
                        // A default that refers to something is reported by validation.
                        if crate::refs::references(expr).is_empty() {
                            diags.push(d);
                        }
                        continue;
                    }
                },
                None => {
                    diags.push(
                        Diagnostic::error("inferform::vars::missing", format!("no value for the required variable `{name}`"))
                            .with_span(var.span.clone())
                            .with_help(format!(
                                "set it with --var {name}=VALUE, a var file, or INFERFORM_VAR_{name}; or give it a default"
                            )),
                    );
                    continue;
                }
            },
        };
        if value.is_null() && !var.nullable {
            diags.push(
                Diagnostic::error(
                    "inferform::vars::null",
                    format!("variable `{name}` must not be null"),
                )
                .with_span(var.span.clone())
                .with_help("give it a value"),
            );
            continue;
        }
        let at = written_at.get(name).unwrap_or(&var.span).clone();
        match typed(var, value, &format!("variable `{name}`"), at) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(d) => diags.push(d),
        }
    }
    // Validations run once every value is known, so a condition may read other variables too.
    let root = BTreeMap::from([("var".to_string(), Value::Object(out.clone()))]);
    let scope = Scope::new(&root);
    for (name, var) in &config.variables {
        if !out.contains_key(name) {
            continue;
        }
        check_validations(
            var,
            &scope,
            &format!("invalid value for variable `{name}`"),
            &format!("give `{name}` a value for which the condition holds"),
            &mut diags,
        );
    }
    (out, diags)
}

/// The value of variable `name` in module instance `module`: the call's input, evaluated
/// where the call is (`given`, with where it was written), or the default; converted to the
/// variable's type, marked sensitive where the variable is, and checked by its validations
/// (which may read the module's `others` variables). Unknown values pass through until apply.
pub fn module_input(
    module: &str,
    name: &str,
    var: &crate::config::Variable,
    given: Option<(Value, inferform_types::SourceSpan)>,
    mut others: BTreeMap<String, Value>,
) -> Result<Value, Diagnostics> {
    let mut diags = Diagnostics::new();
    let empty = BTreeMap::new();
    let scope = Scope::new(&empty);
    let default = || match &var.default {
        Some(expr) => eval(expr, &scope).ok().map(|v| (v, expr.span())),
        None => None,
    };
    // A missing required input or a default that refers to something is reported by
    // validation; null stands in.
    let (value, at) = given
        .or_else(default)
        .unwrap_or((Value::Null, var.span.clone()));
    let value = if value.is_null() && !var.nullable {
        match default() {
            Some((v, _)) => v,
            None => {
                diags.push(
                    Diagnostic::error(
                        "inferform::vars::null",
                        format!("{module}: variable `{name}` must not be null"),
                    )
                    .with_span(at)
                    .with_help("give it a value in the module block"),
                );
                return Err(diags);
            }
        }
    } else {
        value
    };
    let value = match typed(
        var,
        value,
        &format!("variable `{name}` of {module}"),
        at.clone(),
    ) {
        Ok(v) => v,
        Err(d) => {
            diags.push(d);
            return Err(diags);
        }
    };
    others.insert(name.to_string(), value.clone());
    let root = BTreeMap::from([("var".to_string(), Value::Object(others))]);
    let scope = Scope::new(&root);
    check_validations(
        var,
        &scope,
        &format!("invalid value for variable `{name}` of {module}"),
        &format!(
            "give `{name}` a value for which the condition holds: it is set at {}:{}",
            at.file,
            at.line_col().0
        ),
        &mut diags,
    );
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(value)
    }
}

/// A variable's value converted to its type and marked sensitive where the variable is; a
/// value that does not convert is reported at `at` as an invalid value for `what`.
fn typed(
    var: &crate::config::Variable,
    value: Value,
    what: &str,
    at: inferform_types::SourceSpan,
) -> Result<Value, Diagnostic> {
    let value = match &var.ty {
        Some(ty) => convert(value, ty).map_err(|msg| {
            Diagnostic::error(
                "inferform::vars::type",
                format!("invalid value for {what}: {msg}"),
            )
            .with_span(at)
            .with_help(format!("the variable's type is {}", ty.display()))
        })?,
        None => value,
    };
    Ok(if var.sensitive {
        value.sensitive()
    } else {
        value
    })
}

/// A validation's error message, written as a template that may read the variable.
fn message(template: &crate::config::Expr, scope: &Scope) -> String {
    match eval(template, scope).map(|v| v.deep_unmarked()) {
        Ok(Value::String(s)) => s,
        _ => "(the validation's error message could not be worked out)".into(),
    }
}

/// Runs a variable's `validation` blocks in `scope`; a false condition is reported as
/// `{what}: {error_message}` with `help`. A condition still unknown passes until apply.
fn check_validations(
    var: &crate::config::Variable,
    scope: &Scope,
    what: &str,
    help: &str,
    diags: &mut Diagnostics,
) {
    for v in &var.validations {
        match eval(&v.condition, scope) {
            Ok(c) if !c.is_wholly_known() => {}
            Ok(c) => match c.deep_unmarked().as_bool() {
                Some(true) => {}
                Some(false) => diags.push(
                    Diagnostic::error(
                        "inferform::vars::invalid",
                        format!("{what}: {}", message(&v.error_message, scope)),
                    )
                    .with_span(v.condition.span())
                    .with_label("this condition is false")
                    .with_help(help),
                ),
                None => diags.push(
                    Diagnostic::error(
                        "inferform::vars::condition",
                        "a validation condition must be true or false",
                    )
                    .with_span(v.condition.span())
                    .with_help("write a comparison, such as length(var.name) <= 64"),
                ),
            },
            Err(d) => diags.push(d),
        }
    }
}
