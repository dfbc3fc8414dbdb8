//! The configuration graph: locals, resources and outputs as nodes, with an edge from each
//! thing to what it refers to. Plans walk it in dependency order; a cycle is a diagnostic that
//! lists the cycle with the place each step happens.

use std::collections::BTreeMap;

use inferform_lang::config::{Body, Config, Expr};
use inferform_lang::refs::{references, Subject};
use inferform_types::{Diagnostic, ResourceAddr, SourceSpan};
use petgraph::graph::{DiGraph, NodeIndex};

/// One node of the configuration graph.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    Local(String),
    /// An index into `Config::resources`.
    Resource(usize),
    Output(String),
}

/// The graph, and each node's direct dependencies in the order they were found.
pub struct ConfigGraph {
    pub graph: DiGraph<Node, SourceSpan>,
    pub index: BTreeMap<Node, NodeIndex>,
}

/// Every expression in a body, nested blocks included.
pub fn body_exprs(body: &Body) -> Vec<&Expr> {
    let mut out: Vec<&Expr> = body.attributes.iter().map(|a| &a.expr).collect();
    for b in &body.blocks {
        out.extend(body_exprs(&b.body));
    }
    out
}

/// The resources a resource depends on: references in its body, count, for_each, and
/// `depends_on`; through locals too.
pub fn resource_dependencies(config: &Config, idx: usize) -> Vec<ResourceAddr> {
    let r = &config.resources[idx];
    let mut exprs = body_exprs(&r.body);
    exprs.extend(r.count.iter());
    exprs.extend(r.for_each.iter());
    exprs.extend(r.lifecycle.replace_triggered_by.iter());
    let mut out: Vec<ResourceAddr> = r.depends_on.iter().map(|(a, _)| a.clone()).collect();
    let mut seen_locals = Vec::new();
    let mut stack: Vec<&Expr> = exprs;
    while let Some(e) = stack.pop() {
        for reference in references(e) {
            match reference.subject {
                Subject::Resource(a) if a != r.addr => out.push(a),
                Subject::Local(name) if !seen_locals.contains(&name) => {
                    if let Some(local) = config.locals.get(&name) {
                        stack.push(&local.expr);
                    }
                    seen_locals.push(name);
                }
                _ => {}
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

impl ConfigGraph {
    pub fn build(config: &Config) -> ConfigGraph {
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        for name in config.locals.keys() {
            let n = Node::Local(name.clone());
            index.insert(n.clone(), graph.add_node(n));
        }
        for i in 0..config.resources.len() {
            index.insert(Node::Resource(i), graph.add_node(Node::Resource(i)));
        }
        for name in config.outputs.keys() {
            let n = Node::Output(name.clone());
            index.insert(n.clone(), graph.add_node(n));
        }
        let by_addr: BTreeMap<&ResourceAddr, usize> = config
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| (&r.addr, i))
            .collect();
        let mut edges: Vec<(Node, Node, SourceSpan)> = Vec::new();
        let add_refs = |from: &Node, expr: &Expr, edges: &mut Vec<(Node, Node, SourceSpan)>| {
            for r in references(expr) {
                let to = match r.subject {
                    Subject::Local(name) => Node::Local(name),
                    Subject::Resource(addr) => match by_addr.get(&addr) {
                        Some(i) => Node::Resource(*i),
                        None => continue,
                    },
                    _ => continue,
                };
                edges.push((from.clone(), to, r.span));
            }
        };
        for (name, local) in &config.locals {
            add_refs(&Node::Local(name.clone()), &local.expr, &mut edges);
        }
        for (i, r) in config.resources.iter().enumerate() {
            let from = Node::Resource(i);
            for e in body_exprs(&r.body)
                .into_iter()
                .chain(r.count.iter())
                .chain(r.for_each.iter())
                .chain(r.lifecycle.replace_triggered_by.iter())
            {
                add_refs(&from, e, &mut edges);
            }
            for (addr, span) in &r.depends_on {
                if let Some(j) = by_addr.get(addr) {
                    edges.push((from.clone(), Node::Resource(*j), span.clone()));
                }
            }
        }
        for (name, output) in &config.outputs {
            add_refs(&Node::Output(name.clone()), &output.value, &mut edges);
        }
        for (from, to, span) in edges {
            if let (Some(&a), Some(&b)) = (index.get(&from), index.get(&to)) {
                if a != b || matches!(from, Node::Local(_)) {
                    graph.add_edge(a, b, span);
                }
            }
        }
        ConfigGraph { graph, index }
    }

    /// Nodes in the order to evaluate them (dependencies first), or a diagnostic per cycle.
    pub fn order(&self, config: &Config) -> Result<Vec<Node>, Vec<Diagnostic>> {
        let sccs = petgraph::algo::tarjan_scc(&self.graph);
        let mut diags = Vec::new();
        for scc in &sccs {
            let cyclic = scc.len() > 1 || self.graph.contains_edge(scc[0], scc[0]);
            if !cyclic {
                continue;
            }
            let names: Vec<String> = scc
                .iter()
                .rev()
                .map(|n| self.describe(config, &self.graph[*n]))
                .collect();
            let first = scc.iter().rev().find_map(|n| {
                self.graph
                    .edges(*n)
                    .find(|e| scc.contains(&petgraph::visit::EdgeRef::target(e)))
                    .map(|e| e.weight().clone())
            });
            let mut steps = String::new();
            for n in scc.iter().rev() {
                for e in self.graph.edges(*n) {
                    let target = petgraph::visit::EdgeRef::target(&e);
                    if scc.contains(&target) {
                        let (line, _) = e.weight().line_col();
                        steps.push_str(&format!(
                            "\n  {} refers to {} at {}:{line}",
                            self.describe(config, &self.graph[*n]),
                            self.describe(config, &self.graph[target]),
                            e.weight().file
                        ));
                        break;
                    }
                }
            }
            diags.push(
                Diagnostic::error(
                    "inferform::graph::cycle",
                    format!("dependency cycle: {}{steps}", names.join(" → ")),
                )
                .with_span_opt(first)
                .with_help("break the cycle: one of these must not refer to the next"),
            );
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        // tarjan_scc returns components in reverse topological order: dependencies first,
        // because edges point from a node to what it needs.
        Ok(sccs
            .into_iter()
            .map(|scc| self.graph[scc[0]].clone())
            .collect())
    }

    fn describe(&self, config: &Config, node: &Node) -> String {
        match node {
            Node::Local(n) => format!("local.{n}"),
            Node::Resource(i) => config.resources[*i].addr.to_string(),
            Node::Output(n) => format!("output.{n}"),
        }
    }
}

/// The resources and their dependencies in DOT, as `terraform graph` draws them: an edge
/// from each resource to what it needs.
pub fn to_dot(config: &Config) -> String {
    let mut out = String::from(
        "digraph G {\n  rankdir = \"RL\";\n  node [shape = rect, fontname = \"sans-serif\"];\n",
    );
    let mut names: Vec<String> = config
        .resources
        .iter()
        .map(|r| r.addr.to_string())
        .collect();
    names.sort();
    for name in &names {
        out.push_str(&format!("  \"{name}\" [label=\"{name}\"];\n"));
    }
    let mut edges = Vec::new();
    for (i, r) in config.resources.iter().enumerate() {
        for dep in resource_dependencies(config, i) {
            if config.resource(&dep).is_some() {
                edges.push(format!("  \"{}\" -> \"{}\";\n", r.addr, dep));
            }
        }
    }
    edges.sort();
    for e in edges {
        out.push_str(&e);
    }
    out.push_str("}\n");
    out
}
