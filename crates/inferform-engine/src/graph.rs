//! The configuration graph: locals, resources and outputs as nodes, with an edge from each
//! thing to what it refers to. Plans walk it in dependency order; a cycle is a diagnostic that
//! lists the cycle with the place each step happens.

use std::collections::{BTreeMap, BTreeSet};

use inferform_lang::config::{Body, Config, Expr, ModuleCall, Resource};
use inferform_lang::refs::{references, Subject};
use inferform_types::{Diagnostic, InstanceKey, ModulePath, ResourceAddr, SourceSpan};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// One node of the configuration graph. Module paths are configuration paths (no keys).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    /// An input variable of a child module.
    Var(ModulePath, String),
    Local(ModulePath, String),
    /// A `module` block's expansion (`count`/`for_each`, `depends_on`): the path it makes.
    Call(ModulePath),
    /// An index into `Config::resources`.
    Resource(usize),
    Output(ModulePath, String),
}

/// The graph, and each node's direct dependencies in the order they were found.
pub struct ConfigGraph {
    pub graph: DiGraph<Node, SourceSpan>,
    pub index: BTreeMap<Node, NodeIndex>,
}

/// The expressions of a resource's preconditions and postconditions: what they read is
/// read by the resource, and orders it as its arguments do.
pub(crate) fn condition_exprs(
    r: &inferform_lang::config::Resource,
) -> impl Iterator<Item = &inferform_lang::Expr> {
    r.lifecycle
        .preconditions
        .iter()
        .chain(&r.lifecycle.postconditions)
        .flat_map(|c| [&c.condition, &c.error_message])
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
/// `depends_on`; through locals, module inputs and outputs too. Builds the graph: to ask for
/// many resources, build a [`ConfigGraph`] once and use [`ConfigGraph::resource_dependencies`].
pub fn resource_dependencies(config: &Config, idx: usize) -> Vec<ResourceAddr> {
    ConfigGraph::build(config).resource_dependencies(config, idx)
}

fn key() -> InstanceKey {
    InstanceKey::None
}

/// Every node: each module's locals, calls and input variables, every resource, then each
/// module's outputs.
fn nodes(config: &Config) -> (DiGraph<Node, SourceSpan>, BTreeMap<Node, NodeIndex>) {
    let mut graph = DiGraph::new();
    let mut index = BTreeMap::new();
    let mut add = |n: Node, graph: &mut DiGraph<Node, SourceSpan>| {
        index.insert(n.clone(), graph.add_node(n));
    };
    let paths = config.module_paths();
    for path in &paths {
        let Some(view) = config.module(path) else {
            continue;
        };
        for name in view.locals.keys() {
            add(Node::Local(path.clone(), name.clone()), &mut graph);
        }
        if !path.is_root() {
            add(Node::Call(path.clone()), &mut graph);
            for name in view.variables.keys() {
                add(Node::Var(path.clone(), name.clone()), &mut graph);
            }
        }
    }
    for i in 0..config.resources.len() {
        add(Node::Resource(i), &mut graph);
    }
    for path in &paths {
        if let Some(view) = config.module(path) {
            for name in view.outputs.keys() {
                add(Node::Output(path.clone(), name.clone()), &mut graph);
            }
        }
    }
    (graph, index)
}

/// The edges found so far (from, to, where the reference is written), in the order found.
struct Edges<'c> {
    config: &'c Config,
    by_addr: BTreeMap<&'c ResourceAddr, usize>,
    found: Vec<(Node, Node, SourceSpan)>,
}

impl<'c> Edges<'c> {
    fn new(config: &'c Config) -> Self {
        let by_addr = config
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| (&r.addr, i))
            .collect();
        Edges {
            config,
            by_addr,
            found: Vec::new(),
        }
    }

    /// Resources inside a module path, nested modules included.
    fn inside(&self, path: &ModulePath) -> Vec<usize> {
        self.config
            .resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.addr.module.starts_with(path))
            .map(|(i, _)| i)
            .collect()
    }

    /// `depends_on` written in module `path`: the resources it names, and every resource in
    /// the module calls it names.
    fn depends_on(
        &mut self,
        from: &Node,
        path: &ModulePath,
        resources: &[(ResourceAddr, SourceSpan)],
        modules: &[(String, SourceSpan)],
    ) {
        for (addr, span) in resources {
            if let Some(j) = self.by_addr.get(&addr.clone().in_module(path.clone())) {
                self.found
                    .push((from.clone(), Node::Resource(*j), span.clone()));
            }
        }
        for (m, span) in modules {
            for j in self.inside(&path.child(m, key())) {
                self.found
                    .push((from.clone(), Node::Resource(j), span.clone()));
            }
        }
    }

    /// What a reference to module call `call` from module `path` reads: the call, and the
    /// output it names (every output, when the call has instances or names none).
    fn module_targets(&self, path: &ModulePath, call: &str, attr: Option<&String>) -> Vec<Node> {
        let child = path.child(call, key());
        let (Some(c), Some(view)) = (
            self.config.module(path).and_then(|v| v.calls.get(call)),
            self.config.module(&child),
        ) else {
            return Vec::new();
        };
        let mut out = vec![Node::Call(child.clone())];
        match attr {
            Some(o) if c.count.is_none() && c.for_each.is_none() => {
                out.push(Node::Output(child.clone(), o.clone()))
            }
            _ => out.extend(
                view.outputs
                    .keys()
                    .map(|o| Node::Output(child.clone(), o.clone())),
            ),
        }
        out
    }

    /// What an expression written in module `path` refers to.
    fn refs(&mut self, from: &Node, path: &ModulePath, expr: &Expr) {
        for r in references(expr) {
            let targets: Vec<Node> = match r.subject {
                Subject::Variable(name) if !path.is_root() => {
                    vec![Node::Var(path.clone(), name)]
                }
                Subject::Local(name) => vec![Node::Local(path.clone(), name)],
                Subject::Resource(addr) => match self.by_addr.get(&addr.in_module(path.clone())) {
                    Some(i) => vec![Node::Resource(*i)],
                    None => continue,
                },
                Subject::Module(call) => self.module_targets(path, &call, r.attrs.first()),
                _ => continue,
            };
            for to in targets {
                self.found.push((from.clone(), to, r.span.clone()));
            }
        }
    }

    /// The edges of module `path`'s locals, outputs and calls.
    fn module(&mut self, path: &ModulePath) {
        let Some(view) = self.config.module(path) else {
            return;
        };
        for (name, local) in view.locals {
            self.refs(&Node::Local(path.clone(), name.clone()), path, &local.expr);
        }
        for (name, output) in view.outputs {
            self.refs(
                &Node::Output(path.clone(), name.clone()),
                path,
                &output.value,
            );
        }
        for (name, call) in view.calls {
            self.call(path, name, call);
        }
    }

    /// A module call's expansion reads its `count`/`for_each` and `depends_on`, and waits
    /// for its own module's call; each of the child's variables reads the call's argument.
    fn call(&mut self, path: &ModulePath, name: &str, call: &ModuleCall) {
        let child = path.child(name, key());
        let from = Node::Call(child.clone());
        for e in call.count.iter().chain(call.for_each.iter()) {
            self.refs(&from, path, e);
        }
        self.depends_on(&from, path, &call.depends_on, &call.depends_on_modules);
        if !path.is_root() {
            self.found
                .push((from.clone(), Node::Call(path.clone()), call.span.clone()));
        }
        let Some(child_view) = self.config.module(&child) else {
            return;
        };
        for (var_name, variable) in child_view.variables {
            let node = Node::Var(child.clone(), var_name.clone());
            self.found
                .push((node.clone(), from.clone(), variable.span.clone()));
            if let Some(input) = call.input(var_name) {
                self.refs(&node, path, &input.expr);
            }
            // Validation conditions may read the module's other variables (even each
            // other's): they see those as they are then, so they draw no edges.
        }
    }

    /// A resource reads its body, `count`, `for_each`, `replace_triggered_by`, conditions
    /// and `depends_on`, and waits for its module's call.
    fn resource(&mut self, i: usize, r: &Resource) {
        let from = Node::Resource(i);
        let path = &r.addr.module;
        for e in body_exprs(&r.body)
            .into_iter()
            .chain(r.count.iter())
            .chain(r.for_each.iter())
            .chain(r.lifecycle.replace_triggered_by.iter())
            .chain(condition_exprs(r))
        {
            self.refs(&from, path, e);
        }
        self.depends_on(&from, path, &r.depends_on, &r.depends_on_modules);
        if !path.is_root() {
            self.found
                .push((from.clone(), Node::Call(path.clone()), r.span.clone()));
        }
    }
}

impl ConfigGraph {
    /// Builds the graph in named steps: every node (`nodes`), the edges of each module's
    /// locals, outputs and calls (`Edges::module`), those of each resource
    /// (`Edges::resource`); then the edges join the graph.
    pub fn build(config: &Config) -> ConfigGraph {
        let (mut graph, index) = nodes(config);
        let mut edges = Edges::new(config);
        for path in &config.module_paths() {
            edges.module(path);
        }
        for (i, r) in config.resources.iter().enumerate() {
            edges.resource(i, r);
        }
        for (from, to, span) in edges.found {
            if let (Some(&a), Some(&b)) = (index.get(&from), index.get(&to)) {
                if a != b || !matches!(from, Node::Resource(_)) {
                    graph.add_edge(a, b, span);
                }
            }
        }
        ConfigGraph { graph, index }
    }

    /// The resources resource `idx` needs, directly or through locals, variables, module
    /// calls and outputs (not through other resources: those carry their own).
    pub fn resource_dependencies(&self, config: &Config, idx: usize) -> Vec<ResourceAddr> {
        let Some(&start) = self.index.get(&Node::Resource(idx)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut seen = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            for e in self.graph.edges(n) {
                let t = e.target();
                if !seen.insert(t) {
                    continue;
                }
                match &self.graph[t] {
                    Node::Resource(j) => out.push(config.resources[*j].addr.clone()),
                    _ => stack.push(t),
                }
            }
        }
        out.sort();
        out.dedup();
        out
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
        let within = |path: &ModulePath, what: String| {
            if path.is_root() {
                what
            } else {
                format!("{path}.{what}")
            }
        };
        match node {
            Node::Var(p, n) => within(p, format!("var.{n}")),
            Node::Local(p, n) => within(p, format!("local.{n}")),
            Node::Call(p) => p.to_string(),
            Node::Resource(i) => config.resources[*i].addr.to_string(),
            Node::Output(p, n) => within(p, format!("output.{n}")),
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
    let graph = ConfigGraph::build(config);
    for (i, r) in config.resources.iter().enumerate() {
        for dep in graph.resource_dependencies(config, i) {
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
