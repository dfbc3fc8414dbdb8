//! References inside expressions: which variables, locals and resources an expression reads.
//! The engine draws graph edges from these; validation checks that each one is declared.

use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::Span;
use inferform_types::{ResourceAddr, SourceSpan};

use crate::config::Expr;

/// What a reference points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Variable(String),
    Local(String),
    /// A resource in the same module as the expression.
    Resource(ResourceAddr),
    /// `module.NAME`: the outputs of a module call in the same module.
    Module(String),
    /// `count.index`
    Count,
    /// `each.key`, `each.value`
    Each,
    /// `path.module`, `path.root`, `path.cwd`
    Path,
    /// `self`, inside provisioners and conditions.
    SelfRef,
    /// `inferform.workspace`, or `terraform.workspace` in files brought from Terraform: facts
    /// about the run rather than the configuration. `root` is the name as written, `attr` the
    /// attribute read (only `workspace` exists; validation reports the rest).
    Meta {
        root: String,
        attr: Option<String>,
    },
    /// A name that is none of the above; validation reports it.
    Other(String),
}

/// One reference found in an expression.
#[derive(Clone, Debug)]
pub struct Reference {
    pub subject: Subject,
    /// The attribute names read after the subject (`fabric_workspace.main.id` → `["id"]`).
    pub attrs: Vec<String>,
    /// The subject is followed straight away by an index (`fabric_endpoint.e[0]`,
    /// `module.m["k"]`).
    pub indexed: bool,
    pub span: SourceSpan,
}

/// Every reference an expression makes, in source order.
pub fn references(expr: &Expr) -> Vec<Reference> {
    let mut walker = Walker {
        expr,
        bound: Vec::new(),
        out: Vec::new(),
    };
    walker.expr(&expr.expr);
    walker.out
}

struct Walker<'a> {
    expr: &'a Expr,
    bound: Vec<String>,
    out: Vec<Reference>,
}

impl Walker<'_> {
    fn reference(
        &mut self,
        root: &str,
        ops: &[&TraversalOperator],
        whole: &Expression,
        end: Option<usize>,
    ) {
        if self.bound.iter().any(|b| b == root) {
            return;
        }
        let names: Vec<String> = ops
            .iter()
            .map_while(|op| match op {
                TraversalOperator::GetAttr(i) => Some(i.as_str().to_string()),
                _ => None,
            })
            .collect();
        let mut span = self.expr.span_of(whole);
        if let Some(end) = end {
            span.range.end = end;
        }
        let (subject, used) = match (root, names.as_slice()) {
            ("var", [name, ..]) => (Subject::Variable(name.clone()), 1),
            ("local", [name, ..]) => (Subject::Local(name.clone()), 1),
            ("count", _) => (Subject::Count, 0),
            ("each", _) => (Subject::Each, 0),
            ("path", _) => (Subject::Path, 0),
            ("module", [name, ..]) => (Subject::Module(name.clone()), 1),
            ("self", _) => (Subject::SelfRef, 0),
            ("inferform" | "terraform", _) => (
                Subject::Meta {
                    root: root.to_string(),
                    attr: names.first().cloned(),
                },
                names.len().min(1),
            ),
            ("data", [ty, name, ..]) => (Subject::Resource(ResourceAddr::data(ty, name)), 2),
            (ty, [name, ..]) if ty.contains('_') => {
                (Subject::Resource(ResourceAddr::new(ty, name)), 1)
            }
            (other, _) => (Subject::Other(other.to_string()), 0),
        };
        // Attribute names `used` by the subject come first; right after them may be an index.
        let indexed = names.len() == used
            && ops.get(used).is_some_and(|op| {
                matches!(
                    op,
                    TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_)
                )
            });
        let attrs = names.into_iter().skip(used).collect();
        self.out.push(Reference {
            subject,
            attrs,
            indexed,
            span,
        });
    }

    fn expr(&mut self, e: &Expression) {
        match e {
            Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
            Expression::Array(items) => items.iter().for_each(|i| self.expr(i)),
            Expression::Object(obj) => {
                for (k, v) in obj.iter() {
                    if let ObjectKey::Expression(k) = k {
                        // A bare identifier key is a name, not a reference; a parenthesised
                        // or computed key is evaluated.
                        if !matches!(k, Expression::Variable(_)) {
                            self.expr(k);
                        }
                    }
                    self.expr(v.expr());
                }
            }
            Expression::StringTemplate(t) => self.template(t),
            Expression::HeredocTemplate(h) => self.template(&h.template),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(v) => self.reference(v.as_str(), &[], e, None),
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr);
                self.expr(&c.true_expr);
                self.expr(&c.false_expr);
            }
            Expression::FuncCall(call) => call.args.iter().for_each(|a| self.expr(a)),
            Expression::Traversal(t) => {
                let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| o.value()).collect();
                match &t.expr {
                    Expression::Variable(v) => {
                        // The span covers the root and the attribute names that were read.
                        let n = ops
                            .iter()
                            .take_while(|o| matches!(o, TraversalOperator::GetAttr(_)))
                            .count();
                        let end = if n > 0 {
                            t.operators[n - 1].span().map(|r| r.end)
                        } else {
                            None
                        };
                        self.reference(v.as_str(), &ops, &t.expr, end);
                    }
                    other => self.expr(other),
                }
                for op in ops {
                    if let TraversalOperator::Index(i) = op {
                        self.expr(i);
                    }
                }
            }
            Expression::UnaryOp(u) => self.expr(&u.expr),
            Expression::BinaryOp(b) => {
                self.expr(&b.lhs_expr);
                self.expr(&b.rhs_expr);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr);
                let pushed = self.bind(
                    f.intro.key_var.as_ref().map(|k| k.as_str()),
                    f.intro.value_var.as_str(),
                );
                if let Some(k) = &f.key_expr {
                    self.expr(k);
                }
                self.expr(&f.value_expr);
                if let Some(c) = &f.cond {
                    self.expr(&c.expr);
                }
                self.bound.truncate(self.bound.len() - pushed);
            }
        }
    }

    fn bind(&mut self, key: Option<&str>, value: &str) -> usize {
        self.bound.push(value.to_string());
        match key {
            Some(k) => {
                self.bound.push(k.to_string());
                2
            }
            None => 1,
        }
    }

    fn template(&mut self, t: &Template) {
        for element in t.iter() {
            match element {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        self.expr(&d.if_expr.cond_expr);
                        self.template(&d.if_expr.template);
                        if let Some(e) = &d.else_expr {
                            self.template(&e.template);
                        }
                    }
                    Directive::For(d) => {
                        self.expr(&d.for_expr.collection_expr);
                        let pushed = self.bind(
                            d.for_expr.key_var.as_ref().map(|k| k.as_str()),
                            d.for_expr.value_var.as_str(),
                        );
                        self.template(&d.for_expr.template);
                        self.bound.truncate(self.bound.len() - pushed);
                    }
                },
            }
        }
    }
}

/// Every function an expression calls, by name, with the span of the name, in source order.
pub fn function_calls(expr: &Expr) -> Vec<(String, SourceSpan)> {
    let mut out = Vec::new();
    calls_in(expr, &expr.expr, &mut out);
    out
}

fn calls_in(expr: &Expr, e: &Expression, out: &mut Vec<(String, SourceSpan)>) {
    let template =
        |t: &Template, out: &mut Vec<(String, SourceSpan)>| calls_in_template(expr, t, out);
    match e {
        Expression::Null(_)
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_)
        | Expression::Variable(_) => {}
        Expression::Array(items) => items.iter().for_each(|i| calls_in(expr, i, out)),
        Expression::Object(obj) => {
            for (k, v) in obj.iter() {
                if let ObjectKey::Expression(k) = k {
                    calls_in(expr, k, out);
                }
                calls_in(expr, v.expr(), out);
            }
        }
        Expression::StringTemplate(t) => template(t, out),
        Expression::HeredocTemplate(h) => template(&h.template, out),
        Expression::Parenthesis(p) => calls_in(expr, p.inner(), out),
        Expression::Conditional(c) => {
            calls_in(expr, &c.cond_expr, out);
            calls_in(expr, &c.true_expr, out);
            calls_in(expr, &c.false_expr, out);
        }
        Expression::FuncCall(call) => {
            let span = call.name.name.span().or_else(|| e.span()).unwrap_or(0..0);
            out.push((call.name.name.as_str().to_string(), expr.source.span(span)));
            call.args.iter().for_each(|a| calls_in(expr, a, out));
        }
        Expression::Traversal(t) => {
            calls_in(expr, &t.expr, out);
            for op in t.operators.iter() {
                if let TraversalOperator::Index(i) = op.value() {
                    calls_in(expr, i, out);
                }
            }
        }
        Expression::UnaryOp(u) => calls_in(expr, &u.expr, out),
        Expression::BinaryOp(b) => {
            calls_in(expr, &b.lhs_expr, out);
            calls_in(expr, &b.rhs_expr, out);
        }
        Expression::ForExpr(f) => {
            calls_in(expr, &f.intro.collection_expr, out);
            if let Some(k) = &f.key_expr {
                calls_in(expr, k, out);
            }
            calls_in(expr, &f.value_expr, out);
            if let Some(c) = &f.cond {
                calls_in(expr, &c.expr, out);
            }
        }
    }
}

fn calls_in_template(expr: &Expr, t: &Template, out: &mut Vec<(String, SourceSpan)>) {
    for element in t.iter() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(i) => calls_in(expr, &i.expr, out),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    calls_in(expr, &d.if_expr.cond_expr, out);
                    calls_in_template(expr, &d.if_expr.template, out);
                    if let Some(e) = &d.else_expr {
                        calls_in_template(expr, &e.template, out);
                    }
                }
                Directive::For(d) => {
                    calls_in(expr, &d.for_expr.collection_expr, out);
                    calls_in_template(expr, &d.for_expr.template, out);
                }
            },
        }
    }
}

/// A bare resource reference, as `depends_on` takes: `TYPE.NAME` or `data.TYPE.NAME`.
pub fn static_resource_ref(expr: &Expression) -> Option<ResourceAddr> {
    let Expression::Traversal(t) = expr else {
        return None;
    };
    let Expression::Variable(root) = &t.expr else {
        return None;
    };
    let names: Option<Vec<&str>> = t
        .operators
        .iter()
        .map(|o| match o.value() {
            TraversalOperator::GetAttr(i) => Some(i.as_str()),
            _ => None,
        })
        .collect();
    match (root.as_str(), names?.as_slice()) {
        ("data", [ty, name]) => Some(ResourceAddr::data(*ty, *name)),
        (ty, [name]) => Some(ResourceAddr::new(ty, *name)),
        _ => None,
    }
}

/// An attribute path as `ignore_changes` takes it: `description` or `reserved_resource.mu`.
pub fn attribute_path(expr: &Expression) -> Option<String> {
    match expr {
        Expression::Variable(v) => Some(v.as_str().to_string()),
        Expression::String(s) => Some(s.as_str().to_string()),
        Expression::Traversal(t) => {
            let mut out = attribute_path(&t.expr)?;
            for op in &t.operators {
                match op.value() {
                    TraversalOperator::GetAttr(i) => {
                        out.push('.');
                        out.push_str(i.as_str());
                    }
                    _ => return None,
                }
            }
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn refs(src: &str) -> Vec<Subject> {
        let source = Source {
            name: "t.hcl".into(),
            text: src.into(),
        };
        let expr = Expr {
            expr: hcl_edit::parser::parse_expr(src).unwrap(),
            source,
        };
        references(&expr).into_iter().map(|r| r.subject).collect()
    }

    #[test]
    fn finds_references() {
        assert_eq!(
            refs("\"${var.env}-${fabric_workspace.main.id}\""),
            vec![
                Subject::Variable("env".into()),
                Subject::Resource(ResourceAddr::new("fabric_workspace", "main"))
            ]
        );
        assert_eq!(
            refs("data.fabric_workspace.shared.id"),
            vec![Subject::Resource(ResourceAddr::data(
                "fabric_workspace",
                "shared"
            ))]
        );
        assert_eq!(
            refs("[for s in local.items : s.name]"),
            vec![Subject::Local("items".into())]
        );
        assert_eq!(
            refs("\"app-${terraform.workspace}\""),
            vec![Subject::Meta {
                root: "terraform".into(),
                attr: Some("workspace".into())
            }]
        );
    }
}
