//! Expression evaluation over the hcl-edit syntax tree, with Terraform's rules for unknown
//! values (an operation on an unknown is unknown, so plans can show `(known after apply)`) and
//! sensitive values (anything computed from a sensitive value is sensitive).

use std::collections::BTreeMap;
use std::path::PathBuf;

use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::template::{Directive, Element, Template};
use inferform_types::{Diagnostic, Number, Value};

use crate::config::Expr;

/// The names an expression can see.
#[derive(Clone, Debug, Default)]
pub struct Scope<'a> {
    /// Top-level names: `var`, `local`, `path`, `data`, and one entry per resource type.
    pub root: Option<&'a BTreeMap<String, Value>>,
    /// Names bound nearer: `count`, `each`, for-expression variables. Later entries win.
    pub bound: Vec<(String, Value)>,
    /// The directory relative paths in `file()` are read from.
    pub base_dir: Option<PathBuf>,
}

impl<'a> Scope<'a> {
    pub fn new(root: &'a BTreeMap<String, Value>) -> Self {
        Scope {
            root: Some(root),
            bound: Vec::new(),
            base_dir: None,
        }
    }

    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.bound.push((name.to_string(), value));
        self
    }

    fn lookup(&self, name: &str) -> Option<&Value> {
        self.bound
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .or_else(|| self.root?.get(name))
    }
}

/// Evaluates an expression in a scope.
pub fn eval(expr: &Expr, scope: &Scope) -> Result<Value, Diagnostic> {
    Evaluator {
        expr,
        scope: scope.clone(),
        heredoc_indent: 0,
    }
    .eval(&expr.expr)
}

struct Evaluator<'a, 's> {
    expr: &'a Expr,
    scope: Scope<'s>,
    /// The indent a `<<-` heredoc strips. hcl-edit strips it from the heredoc's own literals
    /// only, so the evaluator strips it from those inside `%{if}` and `%{for}` bodies.
    heredoc_indent: usize,
}

/// Applies `f` to the unmarked value and re-marks the result if the input was sensitive.
/// A bool, or a string that converts to one (`"true"`, `"false"`), as conditions and logic
/// operators accept.
fn to_bool(v: &Value) -> Option<bool> {
    match v.unmarked() {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// `value` converted to the type it shares with `other` (the other result of a conditional):
/// a number or bool becomes a string beside a string; kinds with no common type are an
/// error. Null and unknown go with anything.
pub(crate) fn unify_with(value: Value, other: &Value) -> Result<Value, String> {
    use Value as V;
    let kind = |v: &Value| match v.unmarked() {
        V::Null | V::Unknown => None,
        V::String(_) => Some("string"),
        V::Number(_) => Some("number"),
        V::Bool(_) => Some("bool"),
        V::List(_) => Some("list"),
        V::Set(_) => Some("set"),
        V::Object(_) => Some("object"),
        V::Sensitive(_) => None,
    };
    let (Some(mine), Some(theirs)) = (kind(&value), kind(other)) else {
        return Ok(value);
    };
    if mine == theirs {
        return Ok(value);
    }
    match (mine, theirs) {
        ("number" | "bool", "string") => {
            let sensitive = value.is_sensitive();
            let text = match value.unmarked() {
                V::Number(n) => inferform_types::value::format_number(*n),
                V::Bool(b) => b.to_string(),
                _ => unreachable!("a number or bool"),
            };
            Ok(if sensitive {
                V::String(text).sensitive()
            } else {
                V::String(text)
            })
        }
        ("string", "number" | "bool") => Ok(value),
        // A sequence beside a set becomes a set; the set itself stays one.
        ("list", "set") => {
            let sensitive = value.is_sensitive();
            let set = V::set(value.as_list().unwrap_or_default().to_vec());
            Ok(if sensitive { set.sensitive() } else { set })
        }
        ("set", "list") => Ok(value),
        _ => Err(format!("{mine} and {theirs}")),
    }
}

/// `templatestring` renders a template kept elsewhere, so its first argument must be a
/// reference to one (`local.t`, `var.m["t"]`), as Terraform asks: a literal or an
/// interpolation there would be a template written twice, and is refused.
fn template_reference(e: &Expression) -> Result<(), (&'static str, &'static str)> {
    match e {
        Expression::Variable(_) => Ok(()),
        Expression::Traversal(t) if matches!(t.expr, Expression::Variable(_)) => Ok(()),
        Expression::String(_) | Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => {
            Err((
                "templatestring() renders a template kept elsewhere, not one written here",
                "write the template as a string expression itself, or pass a reference such \
                 as local.template",
            ))
        }
        _ => Err((
            "templatestring() takes a direct reference to a string that holds the template",
            "pass a reference such as local.template or var.templates[\"name\"]",
        )),
    }
}

fn keep_marks(inputs: &[&Value], result: Value) -> Value {
    if inputs.iter().any(|v| v.is_sensitive()) {
        result.sensitive()
    } else {
        result
    }
}

/// Appends `text`, removing up to `indent` spaces or tabs from the start of every line but the
/// first (which continues a line that a directive began).
fn dedent_lines(text: &str, indent: usize, out: &mut String) {
    for (i, line) in text.split('\n').enumerate() {
        if i == 0 {
            out.push_str(line);
            continue;
        }
        out.push('\n');
        let strip = line
            .bytes()
            .take(indent)
            .take_while(|b| *b == b' ' || *b == b'\t')
            .count();
        out.push_str(&line[strip..]);
    }
}

/// Whether an element's markers strip the whitespace before it and after it (`~`).
fn strips(element: &Element) -> (bool, bool) {
    match element {
        Element::Literal(_) => (false, false),
        Element::Interpolation(i) => (i.strip.strip_start(), i.strip.strip_end()),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => (
                d.if_expr.strip.strip_start(),
                d.endif_expr.strip.strip_end(),
            ),
            Directive::For(d) => (
                d.for_expr.strip.strip_start(),
                d.endfor_expr.strip.strip_end(),
            ),
        },
    }
}

impl Evaluator<'_, '_> {
    fn error(
        &self,
        at: &Expression,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::error("inferform::eval", message)
            .with_span(self.expr.span_of(at))
            .with_help(help)
    }

    fn eval(&mut self, e: &Expression) -> Result<Value, Diagnostic> {
        Ok(match e {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            // Read from the literal's text, exactly (`0.1` is one tenth, not a float near it).
            Expression::Number(n) => Value::Number(
                Number::parse(&n.value().to_string())
                    .unwrap_or_else(|| Number::from_f64(n.value().as_f64().unwrap_or(f64::NAN))),
            ),
            Expression::String(s) => Value::String(s.as_str().to_string()),
            Expression::Array(items) => Value::List(
                items
                    .iter()
                    .map(|i| self.eval(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expression::Object(obj) => {
                let mut out = BTreeMap::new();
                for (k, v) in obj.iter() {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(Expression::Variable(v)) => v.as_str().to_string(),
                        // `{ local.word = 1 }` could mean the name or the value: Terraform
                        // refuses to guess, and so does this.
                        ObjectKey::Expression(k @ Expression::Traversal(_)) => {
                            return Err(self.error(
                                k,
                                "ambiguous attribute key: a reference is not a name",
                                "to use the value as the key, wrap it in parentheses: { (local.word) = 1 }",
                            ))
                        }
                        ObjectKey::Expression(k) => match self.eval(k)? {
                            Value::Unknown => return Ok(Value::Unknown),
                            key => self.to_string(k, key)?.0,
                        },
                    };
                    out.insert(key, self.eval(v.expr())?);
                }
                Value::Object(out)
            }
            // A template that is one interpolation and nothing else is that value itself,
            // not its text ("${true}" is a bool), as HCL defines.
            Expression::StringTemplate(t) => match t.iter().collect::<Vec<_>>().as_slice() {
                [Element::Interpolation(i)] => self.eval(&i.expr)?,
                _ => self.template(t, 0)?,
            },
            Expression::HeredocTemplate(h) => {
                self.template(&h.template, h.indent().unwrap_or(0))?
            }
            Expression::Parenthesis(p) => self.eval(p.inner())?,
            Expression::Variable(v) => self.variable(e, v.as_str())?,
            Expression::Conditional(c) => match self.eval(&c.cond_expr)? {
                cond if cond.is_unknown() => Value::Unknown,
                cond => match to_bool(&cond) {
                    Some(pick) => {
                        let (chosen, other) = if pick {
                            (&c.true_expr, &c.false_expr)
                        } else {
                            (&c.false_expr, &c.true_expr)
                        };
                        let value = self.eval(chosen)?;
                        // The result has the type both results share, as in Terraform: the
                        // other result is evaluated for its type only, and its errors are not
                        // this expression's.
                        let value = match self.eval(other) {
                            Ok(o) => unify_with(value, &o).map_err(|why| {
                                self.error(
                                    e,
                                    format!("the true and false results have inconsistent types: {why}"),
                                    "make both results the same type, for example with tostring() or tolist()",
                                )
                            })?,
                            Err(_) => value,
                        };
                        keep_marks(&[&cond], value)
                    }
                    None => {
                        return Err(self.error(
                            &c.cond_expr,
                            format!("the condition must be true or false, got {}", cond.kind()),
                            "use a comparison such as var.env == \"prod\"",
                        ))
                    }
                },
            },
            Expression::FuncCall(call) => self.call(e, call)?,
            Expression::Traversal(t) => {
                let mut ops = t.operators.iter().map(|o| o.value()).peekable();
                // A variable's leading attribute reads are followed by reference, and only what
                // they reach is copied: `local.a` must not copy every local (a configuration
                // with thousands of them would take quadratic time).
                let mut value = match &t.expr {
                    Expression::Variable(v) => {
                        let Some(mut reached) = self.scope.lookup(v.as_str()) else {
                            return self.variable(&t.expr, v.as_str());
                        };
                        while let Some(TraversalOperator::GetAttr(name)) = ops.peek() {
                            match reached {
                                Value::Object(map) => match map.get(name.as_str()) {
                                    Some(next) => {
                                        reached = next;
                                        ops.next();
                                    }
                                    None => break,
                                },
                                _ => break,
                            }
                        }
                        reached.clone()
                    }
                    other => self.eval(other)?,
                };
                let mut splat = false;
                for op in ops {
                    if let TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) = op {
                        value = match value {
                            Value::Null => Value::List(Vec::new()),
                            Value::Unknown => Value::Unknown,
                            v @ Value::List(_) => v,
                            // A splat over a set gives a list, in the set's order.
                            Value::Set(items) => Value::List(items),
                            Value::Sensitive(inner) if inner.as_list().is_some() => {
                                Value::List(inner.as_list().unwrap_or_default().to_vec())
                            }
                            v => Value::List(vec![v]),
                        };
                        splat = true;
                        continue;
                    }
                    value = if splat {
                        match value {
                            Value::List(items) => Value::List(
                                items
                                    .into_iter()
                                    .map(|v| self.step(e, v, op))
                                    .collect::<Result<_, _>>()?,
                            ),
                            other => other,
                        }
                    } else {
                        self.step(e, value, op)?
                    };
                }
                value
            }
            Expression::UnaryOp(u) => {
                let v = self.eval(&u.expr)?;
                if v.is_unknown() {
                    return Ok(Value::Unknown);
                }
                let r = match (u.operator.value(), v.unmarked()) {
                    (UnaryOperator::Neg, Value::Number(n)) => Value::Number(-*n),
                    (UnaryOperator::Not, b) if to_bool(b).is_some() => {
                        Value::Bool(!to_bool(b).unwrap_or_default())
                    }
                    (op, other) => {
                        return Err(self.error(
                            &u.expr,
                            format!("cannot apply `{}` to a {}", op.as_str(), other.kind()),
                            "`-` takes a number and `!` takes a bool",
                        ))
                    }
                };
                keep_marks(&[&v], r)
            }
            Expression::BinaryOp(b) => self.binary(b)?,
            Expression::ForExpr(f) => self.for_expr(f)?,
        })
    }

    fn variable(&self, at: &Expression, name: &str) -> Result<Value, Diagnostic> {
        self.scope.lookup(name).cloned().ok_or_else(|| {
            self.error(
                at,
                format!("unknown name `{name}`"),
                "refer to var.NAME, local.NAME or TYPE.NAME.ATTRIBUTE",
            )
        })
    }

    fn step(
        &mut self,
        at: &Expression,
        value: Value,
        op: &TraversalOperator,
    ) -> Result<Value, Diagnostic> {
        if value.is_unknown() {
            return Ok(Value::Unknown);
        }
        let sensitive = value.is_sensitive() && matches!(value, Value::Sensitive(_));
        let inner = match value {
            Value::Sensitive(v) => *v,
            v => v,
        };
        let result = match op {
            TraversalOperator::GetAttr(name) => match inner {
                Value::Object(mut map) => match map.remove(name.as_str()) {
                    Some(v) => v,
                    None => {
                        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
                        keys.sort();
                        let help =
                            match crate::suggest::did_you_mean(name.as_str(), keys.iter().copied())
                            {
                                Some(s) => format!("did you mean `{s}`?"),
                                None if keys.is_empty() => {
                                    "this object has no attributes".to_string()
                                }
                                None => format!("this object has: {}", keys.join(", ")),
                            };
                        return Err(self.error(
                            at,
                            format!("this object has no attribute `{}`", name.as_str()),
                            help,
                        ));
                    }
                },
                Value::Null => {
                    return Err(self.error(
                        at,
                        format!("cannot read `{}` of a null value", name.as_str()),
                        "check that the value is set before reading its attributes",
                    ))
                }
                other => {
                    return Err(self.error(
                        at,
                        format!(
                            "cannot read attribute `{}` of a {}",
                            name.as_str(),
                            other.kind()
                        ),
                        "attributes can be read from objects only; use [INDEX] for lists",
                    ))
                }
            },
            TraversalOperator::Index(index) => {
                let key = self.eval(index)?;
                self.index(index, inner, key)?
            }
            TraversalOperator::LegacyIndex(i) => {
                self.index(at, inner, Value::number(*i.value() as i64))?
            }
            TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => inner,
        };
        Ok(if sensitive {
            result.sensitive()
        } else {
            result
        })
    }

    fn index(&self, at: &Expression, collection: Value, key: Value) -> Result<Value, Diagnostic> {
        if key.is_unknown() {
            return Ok(Value::Unknown);
        }
        let marked = key.is_sensitive();
        // A list index may be written as a string of a number (`list["1"]`), as Terraform
        // converts it.
        let key = match key.unmarked() {
            Value::String(s) if matches!(collection, Value::List(_)) => match Number::parse(s) {
                Some(n) => Value::Number(n),
                None => key,
            },
            _ => key,
        };
        let result =
            match (collection, key.unmarked()) {
                (Value::List(mut items), Value::Number(n)) => {
                    let len = items.len();
                    let Some(i) = n
                        .to_i64()
                        .filter(|i| *i >= 0 && (*i as usize) < len)
                        .map(|i| i as usize)
                    else {
                        return Err(self.error(
                            at,
                            format!("index {n} is out of range for a list of {len} element(s)"),
                            "list indexes start at 0",
                        ));
                    };
                    items.swap_remove(i)
                }
                (Value::Set(_), _) => return Err(self.error(
                    at,
                    "elements of a set are identified only by their value and have no index or key",
                    "iterate over the set with a for expression, or convert it with tolist()",
                )),
                (Value::Object(mut map), Value::String(k)) => match map.remove(k) {
                    Some(v) => v,
                    None => {
                        return Err(self.error(
                            at,
                            format!("the map has no element {k:?}"),
                            "use lookup(map, key, default) for an optional key",
                        ))
                    }
                },
                (Value::Object(mut map), Value::Number(n)) => {
                    let k = inferform_types::value::format_number(*n);
                    map.remove(&k).ok_or_else(|| {
                        self.error(at, format!("the map has no element {k:?}"), "check the key")
                    })?
                }
                (collection, key) => {
                    return Err(self.error(
                        at,
                        format!("cannot index a {} with a {}", collection.kind(), key.kind()),
                        "index lists with numbers and maps with strings",
                    ))
                }
            };
        Ok(if marked { result.sensitive() } else { result })
    }

    /// A value as template text; the bool says whether it was sensitive.
    fn to_string(&self, at: &Expression, v: Value) -> Result<(String, bool), Diagnostic> {
        let sensitive = v.is_sensitive();
        Ok(match v.unmarked() {
            Value::String(s) => (s.clone(), sensitive),
            Value::Number(n) => (inferform_types::value::format_number(*n), sensitive),
            Value::Bool(b) => (b.to_string(), sensitive),
            Value::Null => {
                return Err(self.error(
                    at,
                    "cannot include a null value in a string",
                    "give the value a default, or use coalesce()",
                ))
            }
            other => {
                return Err(self.error(
                    at,
                    format!("cannot include a {} in a string", other.kind()),
                    "use jsonencode() or join() to turn it into a string",
                ))
            }
        })
    }

    fn template(&mut self, t: &Template, indent: usize) -> Result<Value, Diagnostic> {
        let mut out = String::new();
        let mut unknown = false;
        let mut sensitive = false;
        let outer = std::mem::replace(&mut self.heredoc_indent, indent);
        let r = self.template_into(
            t,
            (false, false),
            false,
            &mut out,
            &mut unknown,
            &mut sensitive,
        );
        self.heredoc_indent = outer;
        r?;
        Ok(if unknown {
            Value::Unknown
        } else if sensitive {
            Value::String(out).sensitive()
        } else {
            Value::String(out)
        })
    }

    /// Evaluates a template into `out`. `strip` says whether the markers around this template
    /// (`%{ for ~}` before it, `%{~ endfor }` after it) strip whitespace from its first and
    /// last literal. `nested` is true for the body of a directive.
    fn template_into(
        &mut self,
        t: &Template,
        strip: (bool, bool),
        nested: bool,
        out: &mut String,
        unknown: &mut bool,
        sensitive: &mut bool,
    ) -> Result<(), Diagnostic> {
        let elements: Vec<&Element> = t.iter().collect();
        for (i, element) in elements.iter().enumerate() {
            match element {
                Element::Literal(l) => {
                    let mut text = l.value().as_str();
                    let after_strip = match i.checked_sub(1).map(|p| elements[p]) {
                        None => strip.0,
                        Some(prev) => strips(prev).1,
                    };
                    let before_strip = match elements.get(i + 1) {
                        None => strip.1,
                        Some(next) => strips(next).0,
                    };
                    if after_strip {
                        text = text.trim_start();
                    }
                    if before_strip {
                        text = text.trim_end();
                    }
                    if nested && self.heredoc_indent > 0 {
                        dedent_lines(text, self.heredoc_indent, out);
                    } else {
                        out.push_str(text);
                    }
                }
                Element::Interpolation(i) => {
                    let v = self.eval(&i.expr)?;
                    if v.is_unknown() {
                        *unknown = true;
                        continue;
                    }
                    let (s, marked) = self.to_string(&i.expr, v)?;
                    *sensitive |= marked;
                    out.push_str(&s);
                }
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        let cond = self.eval(&d.if_expr.cond_expr)?;
                        if cond.is_unknown() {
                            *unknown = true;
                            continue;
                        }
                        match to_bool(&cond) {
                            Some(true) => {
                                let end = match &d.else_expr {
                                    Some(e) => e.strip.strip_start(),
                                    None => d.endif_expr.strip.strip_start(),
                                };
                                let strip = (d.if_expr.strip.strip_end(), end);
                                self.template_into(
                                    &d.if_expr.template,
                                    strip,
                                    true,
                                    out,
                                    unknown,
                                    sensitive,
                                )?
                            }
                            Some(false) => {
                                if let Some(e) = &d.else_expr {
                                    let strip =
                                        (e.strip.strip_end(), d.endif_expr.strip.strip_start());
                                    self.template_into(
                                        &e.template,
                                        strip,
                                        true,
                                        out,
                                        unknown,
                                        sensitive,
                                    )?;
                                }
                            }
                            None => {
                                return Err(self.error(
                                    &d.if_expr.cond_expr,
                                    "an %{if} condition must be true or false",
                                    "use a comparison",
                                ))
                            }
                        }
                    }
                    Directive::For(d) => {
                        let collection = self.eval(&d.for_expr.collection_expr)?;
                        if collection.is_unknown() {
                            *unknown = true;
                            continue;
                        }
                        let pairs = self.pairs(&d.for_expr.collection_expr, collection)?;
                        for (k, v) in pairs {
                            let saved = self.scope.bound.len();
                            if let Some(kv) = &d.for_expr.key_var {
                                self.scope.bound.push((kv.as_str().to_string(), k));
                            }
                            self.scope
                                .bound
                                .push((d.for_expr.value_var.as_str().to_string(), v));
                            let strip = (
                                d.for_expr.strip.strip_end(),
                                d.endfor_expr.strip.strip_start(),
                            );
                            let r = self.template_into(
                                &d.for_expr.template,
                                strip,
                                true,
                                out,
                                unknown,
                                sensitive,
                            );
                            self.scope.bound.truncate(saved);
                            r?;
                        }
                    }
                },
            }
        }
        Ok(())
    }

    /// The (key, value) pairs a for-expression iterates over.
    fn pairs(&self, at: &Expression, collection: Value) -> Result<Vec<(Value, Value)>, Diagnostic> {
        Ok(match collection {
            Value::List(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::number(i), v))
                .collect(),
            // A set's element is its own key.
            Value::Set(items) => items.into_iter().map(|v| (v.clone(), v)).collect(),
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| (Value::String(k), v))
                .collect(),
            Value::Sensitive(inner) => self
                .pairs(at, *inner)?
                .into_iter()
                .map(|(k, v)| (k, v.sensitive()))
                .collect(),
            other => {
                return Err(self.error(
                    at,
                    format!("cannot iterate over a {}", other.kind()),
                    "a for expression takes a list, set or map",
                ))
            }
        })
    }

    fn for_expr(&mut self, f: &hcl_edit::expr::ForExpr) -> Result<Value, Diagnostic> {
        let collection = self.eval(&f.intro.collection_expr)?;
        if collection.is_unknown() {
            return Ok(Value::Unknown);
        }
        let pairs = self.pairs(&f.intro.collection_expr, collection)?;
        let mut list = Vec::new();
        let mut map: BTreeMap<String, Value> = BTreeMap::new();
        for (k, v) in pairs {
            let saved = self.scope.bound.len();
            if let Some(kv) = &f.intro.key_var {
                self.scope.bound.push((kv.as_str().to_string(), k));
            }
            self.scope
                .bound
                .push((f.intro.value_var.as_str().to_string(), v));
            let result = (|| {
                if let Some(cond) = &f.cond {
                    let c = self.eval(&cond.expr)?;
                    if c.is_unknown() {
                        return Ok(Some(None));
                    }
                    match c.as_bool() {
                        Some(true) => {}
                        Some(false) => return Ok(None),
                        None => {
                            return Err(self.error(
                                &cond.expr,
                                "a for expression's `if` must be true or false",
                                "use a comparison",
                            ))
                        }
                    }
                }
                let value = self.eval(&f.value_expr)?;
                let key = match &f.key_expr {
                    Some(k) => Some(self.eval(k).and_then(|kv| {
                        if kv.is_unknown() {
                            Ok(None)
                        } else {
                            self.to_string(k, kv).map(|(s, _)| Some(s))
                        }
                    })?),
                    None => None,
                };
                Ok(Some(Some((key, value))))
            })();
            self.scope.bound.truncate(saved);
            match result? {
                None => {}
                Some(None) => return Ok(Value::Unknown),
                Some(Some((None, value))) => list.push(value),
                Some(Some((Some(None), _))) => return Ok(Value::Unknown),
                Some(Some((Some(Some(key)), value))) => {
                    if f.grouping {
                        match map.entry(key).or_insert_with(|| Value::List(Vec::new())) {
                            Value::List(items) => items.push(value),
                            _ => unreachable!("grouped entries are lists"),
                        }
                    } else {
                        match map.entry(key) {
                            std::collections::btree_map::Entry::Occupied(e) => {
                                return Err(self.error(
                                    f.key_expr.as_ref().unwrap_or(&f.value_expr),
                                    format!(
                                        "duplicate key {:?} in the for expression's result",
                                        e.key()
                                    ),
                                    "make keys unique, or group values with `...` after the value",
                                ))
                            }
                            std::collections::btree_map::Entry::Vacant(e) => {
                                e.insert(value);
                            }
                        }
                    }
                }
            }
        }
        Ok(if f.key_expr.is_some() {
            Value::Object(map)
        } else {
            Value::List(list)
        })
    }

    fn binary(&mut self, b: &hcl_edit::expr::BinaryOp) -> Result<Value, Diagnostic> {
        use BinaryOperator::*;
        let op = *b.operator.value();
        let l = self.eval(&b.lhs_expr)?;
        // `&&` and `||` short-circuit on a known left side, as HCL does not, but the result is
        // the same for known values and more useful with unknown ones.
        let r = self.eval(&b.rhs_expr)?;
        if l.is_unknown() || r.is_unknown() {
            return Ok(Value::Unknown);
        }
        let marks = [&l, &r];
        let (lu, ru) = (l.deep_unmarked(), r.deep_unmarked());
        let result = match op {
            Eq => Value::Bool(lu == ru),
            NotEq => Value::Bool(lu != ru),
            And | Or => match (to_bool(&lu), to_bool(&ru)) {
                (Some(x), Some(y)) => Value::Bool(if op == And { x && y } else { x || y }),
                _ => {
                    return Err(self.error(
                        &b.lhs_expr,
                        format!(
                            "`{}` takes two bools, got {} and {}",
                            op.as_str(),
                            lu.kind(),
                            ru.kind()
                        ),
                        "compare values first, for example var.a == \"x\"",
                    ))
                }
            },
            _ => {
                let num = |this: &Self, v: &Value, at: &Expression| -> Result<Number, Diagnostic> {
                    match v {
                        Value::Number(n) => Ok(*n),
                        Value::String(s) => Number::parse(s).ok_or_else(|| {
                            this.error(
                                at,
                                format!(
                                    "a number is required, got the string {}",
                                    crate::suggest::quoted(s)
                                ),
                                "use tonumber() or a number literal",
                            )
                        }),
                        other => Err(this.error(
                            at,
                            format!("a number is required, got {}", other.kind()),
                            "arithmetic and comparisons take numbers",
                        )),
                    }
                };
                let x = num(self, &lu, &b.lhs_expr)?;
                let y = num(self, &ru, &b.rhs_expr)?;
                match op {
                    Plus => Value::Number(x + y),
                    Minus => Value::Number(x - y),
                    Mul => Value::Number(x * y),
                    // As Terraform: x % 0 is x.
                    Mod if y == Number::from(0) => Value::Number(x),
                    Div | Mod if y == Number::from(0) => {
                        return Err(self.error(
                            &b.rhs_expr,
                            "division by zero",
                            "make sure the divisor is not 0",
                        ))
                    }
                    Div => Value::Number(x / y),
                    Mod => Value::Number(x % y),
                    Less => Value::Bool(x < y),
                    LessEq => Value::Bool(x <= y),
                    Greater => Value::Bool(x > y),
                    GreaterEq => Value::Bool(x >= y),
                    Eq | NotEq | And | Or => unreachable!("handled above"),
                }
            }
        };
        Ok(keep_marks(&marks, result))
    }

    fn call(
        &mut self,
        at: &Expression,
        call: &hcl_edit::expr::FuncCall,
    ) -> Result<Value, Diagnostic> {
        let name = call.name.name.as_str();
        let args: Vec<&Expression> = call.args.iter().collect();
        // `try` and `can` evaluate their arguments themselves, catching errors.
        if name == "try" {
            for arg in &args {
                if let Ok(v) = self.eval(arg) {
                    return Ok(v);
                }
            }
            return Err(self.error(
                at,
                "no argument of try() could be evaluated",
                "add a last argument that always works, such as a literal",
            ));
        }
        if name == "can" {
            let [arg] = args.as_slice() else {
                return Err(self.error(
                    at,
                    "can() takes exactly one argument",
                    "write can(expression)",
                ));
            };
            return Ok(match self.eval(arg) {
                Ok(v) if v.is_unknown() => Value::Unknown,
                Ok(_) => Value::Bool(true),
                Err(_) => Value::Bool(false),
            });
        }
        if let (true, Some(first)) = (name == "templatestring", args.first()) {
            if let Err((message, help)) = template_reference(first) {
                return Err(self.error(first, message, help));
            }
        }
        let mut values = Vec::with_capacity(args.len());
        for arg in &args {
            values.push(self.eval(arg)?);
        }
        if call.args.expand_final() {
            match values.pop().map(|v| v.deep_unmarked()) {
                Some(Value::List(items) | Value::Set(items)) => values.extend(items),
                Some(Value::Unknown) => return Ok(Value::Unknown),
                _ => {
                    return Err(self.error(
                        at,
                        "the last argument before `...` must be a list",
                        "remove the `...` or pass a list",
                    ))
                }
            }
        }
        let base_dir = self.scope.base_dir.as_deref();
        let eval_template = |expr: &Expr, vars: &BTreeMap<String, Value>| {
            let mut scope = Scope::new(vars);
            scope.base_dir = base_dir.map(std::path::Path::to_path_buf);
            eval(expr, &scope).map_err(|d| d.message)
        };
        let caller = crate::funcs::Caller {
            base_dir,
            eval_template: &eval_template,
        };
        crate::funcs::call(name, values, &caller)
            .map_err(|e| self.error(at, format!("{name}(): {}", e.message), e.help))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn run(src: &str, root: &BTreeMap<String, Value>) -> Result<Value, Diagnostic> {
        let source = Source {
            name: "t.hcl".into(),
            text: src.into(),
        };
        let expr = Expr {
            expr: hcl_edit::parser::parse_expr(src).unwrap(),
            source,
        };
        eval(&expr, &Scope::new(root))
    }

    fn root() -> BTreeMap<String, Value> {
        let mut root = BTreeMap::new();
        root.insert(
            "var".into(),
            Value::object([
                ("env", Value::string("dev")),
                ("n", Value::number(3.0)),
                ("key", Value::string("k").sensitive()),
            ]),
        );
        root.insert(
            "fabric_workspace".into(),
            Value::object([(
                "main",
                Value::object([("id", Value::Unknown), ("name", Value::string("ws"))]),
            )]),
        );
        root
    }

    #[test]
    fn evaluates_templates_and_references() {
        let r = root();
        assert_eq!(
            run("\"llm-${var.env}\"", &r).unwrap(),
            Value::string("llm-dev")
        );
        assert_eq!(
            run("fabric_workspace.main.name", &r).unwrap(),
            Value::string("ws")
        );
        assert_eq!(
            run("\"x-${fabric_workspace.main.id}\"", &r).unwrap(),
            Value::Unknown
        );
        assert_eq!(run("var.n * 2 + 1", &r).unwrap(), Value::number(7.0));
        assert_eq!(
            run("var.env == \"dev\" ? 1 : 2", &r).unwrap(),
            Value::number(1.0)
        );
        assert_eq!(
            run("[for i in [1, 2, 3] : i * 2 if i > 1]", &r).unwrap(),
            Value::List(vec![Value::number(4.0), Value::number(6.0)])
        );
        assert_eq!(
            run("{for k, v in {a = 1} : upper(k) => v}", &r).unwrap(),
            Value::object([("A", Value::number(1.0))])
        );
        assert_eq!(
            run("[{a = 1}, {a = 2}][*].a", &r).unwrap(),
            Value::List(vec![Value::number(1.0), Value::number(2.0)])
        );
        assert_eq!(
            run("\"%{ for x in [1,2] }${x},%{ endfor }\"", &r).unwrap(),
            Value::string("1,2,")
        );
    }

    #[test]
    fn strip_markers_trim_whitespace_beside_them() {
        let r = root();
        assert_eq!(
            run("\"%{ for x in [1, 2] ~}\n  ${x}\n%{~ endfor }\"", &r).unwrap(),
            Value::string("12")
        );
        assert_eq!(
            run(
                "\"a \n%{~ if true ~}\n b \n%{~ else ~} x %{~ endif ~}\n c\"",
                &r
            )
            .unwrap(),
            Value::string("abc")
        );
        assert_eq!(
            run("\"[ ${~ var.env ~} ]\"", &r).unwrap(),
            Value::string("[dev]")
        );
    }

    #[test]
    fn indented_heredoc_dedents_directive_bodies() {
        let r = root();
        let src = "<<-EOT\n    list:\n    %{~ for x in [1, 2] }\n      - ${x}\n    %{~ endfor }\n    end\n  EOT";
        assert_eq!(
            run(src, &r).unwrap(),
            Value::string("list:\n  - 1\n  - 2\nend\n")
        );
    }

    #[test]
    fn sensitive_spreads() {
        let r = root();
        assert!(run("\"k=${var.key}\"", &r).unwrap().is_sensitive());
        assert!(!run("var.env", &r).unwrap().is_sensitive());
    }

    #[test]
    fn errors_point_at_the_expression() {
        let r = root();
        let err = run("fabric_workspace.main.nam", &r).unwrap_err();
        assert!(err.help.unwrap().contains("name"));
        assert!(run("1 / 0", &r).is_err());
        assert!(run("try(1 / 0, 5)", &r).is_ok());
        assert_eq!(run("can(1 / 0)", &r).unwrap(), Value::Bool(false));
    }
}
