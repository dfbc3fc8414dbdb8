//! Judging `precondition`, `postcondition` and check `assert` blocks: one rule for all three,
//! so that a failure always names the condition, shows the values it read, and says the
//! configuration's own error message.

use inferform_lang::config::{Condition, Config, Expr, Resource};
use inferform_lang::eval::{eval, Scope};
use inferform_lang::refs::references;
use inferform_types::{Diagnostic, ModulePath, Value};

use crate::scope::{Env, Roots};

/// Which block a condition comes from, and so how its failure counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Precondition,
    Postcondition,
    /// A check block's assertion: a failure is a warning.
    Assert,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Precondition => "precondition",
            Kind::Postcondition => "postcondition",
            Kind::Assert => "check assertion",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Kind::Precondition => "inferform::plan::precondition_failed",
            Kind::Postcondition => "inferform::plan::postcondition_failed",
            Kind::Assert => "inferform::check::assertion_failed",
        }
    }
}

/// How a condition stands.
#[derive(Debug)]
pub(crate) enum Verdict {
    Holds,
    /// It reads values known only after apply: judged again then.
    Unknown,
    Fails(Diagnostic),
}

/// Judges `c` in `scope`; `subject` names what it guards (`fabric_endpoint.chat`, or
/// `check "health"`).
pub(crate) fn judge(c: &Condition, scope: &Scope, kind: Kind, subject: &str) -> Verdict {
    let failure = |message: String, help: String| {
        let d = if kind == Kind::Assert {
            Diagnostic::warning(kind.code(), message)
        } else {
            Diagnostic::error(kind.code(), message)
        };
        Verdict::Fails(d.with_span(c.condition.span()).with_help(help))
    };
    let value = match eval(&c.condition, scope) {
        Ok(v) => v,
        Err(d) => {
            return failure(
                format!(
                    "{subject}: the {} cannot be worked out: {}",
                    kind.name(),
                    d.message
                ),
                d.help.unwrap_or_else(|| "fix the condition".into()),
            )
        }
    };
    if value.is_unknown() {
        return Verdict::Unknown;
    }
    let holds = match value.unmarked() {
        Value::Bool(b) => *b,
        Value::String(s) if s == "true" || s == "false" => s == "true",
        other => {
            return failure(
                format!(
                    "{subject}: the {} must be true or false, got {}",
                    kind.name(),
                    other.kind()
                ),
                "write a comparison, such as var.replicas > 0".into(),
            )
        }
    };
    if holds {
        return Verdict::Holds;
    }
    let message = match eval(&c.error_message, scope).map(|v| v.deep_unmarked()) {
        Ok(Value::String(s)) => s,
        _ => "(its error message could not be worked out)".into(),
    };
    failure(
        format!("{subject}: {} failed: {message}", kind.name()),
        format!(
            "{} is false{}",
            source_text(&c.condition),
            read_values(&c.condition, scope)
        ),
    )
}

/// The condition as written.
fn source_text(e: &Expr) -> String {
    let range = e.span().range;
    let text = e.source.text.get(range).unwrap_or_default().trim();
    let one_line: Vec<&str> = text.split_whitespace().collect();
    let text = one_line.join(" ");
    if text.chars().count() > 120 {
        format!("`{}…`", text.chars().take(120).collect::<String>())
    } else {
        format!("`{text}`")
    }
}

/// "; it read var.x = 3, ..." for the values the condition refers to (sensitive ones
/// hidden), so that the reader sees why it failed.
fn read_values(e: &Expr, scope: &Scope) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut parts = Vec::new();
    for r in references(e) {
        let text = r
            .span
            .text
            .get(r.span.range.clone())
            .unwrap_or_default()
            .to_string();
        if text.is_empty() || seen.contains(&text) || seen.len() >= 6 {
            continue;
        }
        seen.push(text.clone());
        let Ok(parsed) = reference_expr(&text, e) else {
            continue;
        };
        if let Ok(v) = eval(&parsed, scope) {
            let shown = if v.is_sensitive() {
                "(sensitive value)".to_string()
            } else {
                let s = v.to_string();
                if s.chars().count() > 80 {
                    format!("{}…", s.chars().take(80).collect::<String>())
                } else {
                    s
                }
            };
            parts.push(format!("{text} = {shown}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("; it read {}", parts.join(", "))
    }
}

/// A reference's text as an expression of its own, in the condition's file.
fn reference_expr(text: &str, within: &Expr) -> Result<Expr, Diagnostic> {
    let mut e = Expr::parse(&within.source.name, text)?;
    e.source = within.source.clone();
    Ok(e)
}

/// Judges a resource instance's preconditions (`self` is `None`) or postconditions (`self`
/// is the object, planned or made). Failures are returned; with `strict`, a condition still
/// unknown is one too (at apply every value it reads is known).
pub(crate) fn resource_conditions(
    r: &Resource,
    scope: &Scope,
    subject: &str,
    object: Option<&Value>,
    strict: bool,
) -> Vec<Diagnostic> {
    let (conditions, kind) = match object {
        None => (&r.lifecycle.preconditions, Kind::Precondition),
        Some(_) => (&r.lifecycle.postconditions, Kind::Postcondition),
    };
    if conditions.is_empty() {
        return Vec::new();
    }
    let scope = match object {
        Some(o) => scope.clone().with("self", o.clone()),
        None => scope.clone(),
    };
    let mut out = Vec::new();
    for c in conditions {
        match judge(c, &scope, kind, subject) {
            Verdict::Holds => {}
            Verdict::Unknown if !strict => {}
            Verdict::Unknown => out.push(
                Diagnostic::error(
                    kind.code(),
                    format!("{subject}: the {} reads values still unknown", kind.name()),
                )
                .with_span(c.condition.span())
                .with_help("a condition can read only what is known once the resource's dependencies are applied"),
            ),
            Verdict::Fails(d) => out.push(d),
        }
    }
    out
}

/// Judges every `check` block's assertions against the values in `roots`: the warnings of
/// those that fail. One still unknown at plan is judged after apply.
pub(crate) fn check_blocks(config: &Config, env: &Env, roots: &Roots) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for check in &config.checks {
        let subject = format!("check \"{}\"", check.name);
        for a in &check.asserts {
            let scope = env.scope(
                roots,
                &ModulePath::root(),
                &[&a.condition, &a.error_message],
            );
            if let Verdict::Fails(d) = judge(a, &scope, Kind::Assert, &subject) {
                out.push(d);
            }
        }
    }
    out
}

/// The warning for a check's data source that could not be read: the check cannot pass, and
/// says why, but nothing else stops.
pub(crate) fn scoped_data_failed(
    r: &Resource,
    addr: &inferform_types::ResourceInstanceAddr,
    reason: &dyn std::fmt::Display,
) -> Diagnostic {
    Diagnostic::warning(
        "inferform::check::data_read",
        format!(
            "check \"{}\": {addr} could not be read: {reason}",
            r.check.as_deref().unwrap_or_default()
        ),
    )
    .with_span(r.span.clone())
    .with_help("the check's assertions that read it are not judged; the rest of the run goes on")
}

/// Reads every check block's data sources against `roots` as they now stand (after an
/// apply), so that the checks are judged on the infrastructure as it is. One that cannot be
/// read warns, and reads as unknown.
pub(crate) async fn read_scoped_data(
    engine: &crate::Engine,
    config: &Config,
    env: &Env<'_>,
    roots: &mut Roots,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for r in config.resources.iter().filter(|r| r.check.is_some()) {
        let addr = r.addr.clone().instance(inferform_types::InstanceKey::None);
        let provider_key = Config::provider_key(r);
        let (Some(schema), Some(provider)) = (
            engine.data_schemas.get(&r.addr.type_name),
            engine.providers.get(&provider_key),
        ) else {
            continue;
        };
        let scope = env.scope(
            roots,
            &ModulePath::root(),
            &crate::instances::resource_exprs(r),
        );
        let what = format!("data \"{}\" \"{}\"", r.addr.type_name, r.addr.name);
        let mut diags = inferform_types::Diagnostics::new();
        let cfg = inferform_lang::decode::decode_body(&r.body, schema, &scope, &what, &mut diags);
        let read = match cfg.to_json() {
            _ if diags.has_errors() => Err("its arguments could not be worked out".to_string()),
            None => Err("its arguments are still unknown".to_string()),
            Some(json) => crate::instances::read_data_source(
                provider.as_ref(),
                &r.addr.type_name,
                &cfg,
                json,
                schema,
            )
            .await
            .map_err(|e| e.to_string()),
        };
        let value = read.unwrap_or_else(|e| {
            out.push(scoped_data_failed(r, &addr, &e));
            Value::Unknown
        });
        crate::instances::set_instance(roots, &addr, value);
    }
    out
}
