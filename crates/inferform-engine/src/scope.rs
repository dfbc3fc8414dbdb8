//! Evaluation scopes per module instance. Resources' values live in one map per module
//! instance ([`Roots`]); what else an expression reads (`var.*`, `local.*`, `module.*`,
//! `path.*`, `inferform.workspace`) is worked out on demand by [`Env`], module inputs from
//! the calling module, module outputs from the called one, and kept once known.
//!
//! On demand is what makes this right during a plan walked in dependency order, and during
//! an apply: a value is first asked for by something that depends on it, so everything it
//! reads is already planned (or applied) by then.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use inferform_lang::config::Expr;
use inferform_lang::eval::{eval, Scope};
use inferform_lang::refs::{references, Subject};
use inferform_lang::Config;
use inferform_types::{Diagnostic, Diagnostics, InstanceKey, ModulePath, Value};

pub use crate::instances::Roots;
use crate::instances::{expand_meta, instance_scope};

/// The workspace every configuration starts in, as in Terraform.
pub const DEFAULT_WORKSPACE: &str = "default";

/// A workspace name as given, or the default one for an empty name: `Plan` and `PlanOptions`
/// made with `..Default::default()` elsewhere may carry an empty one.
pub fn workspace_name(name: &str) -> &str {
    if name.is_empty() {
        DEFAULT_WORKSPACE
    } else {
        name
    }
}

/// Instance keys of a `count`/`for_each`, with each instance's `each.value`.
pub(crate) type Keys = Arc<Vec<(InstanceKey, Option<Value>)>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Var,
    Local,
    Output,
}

type Slot = (ModulePath, Kind, String);

/// How many variables, locals and module outputs one value may wait on, each reading the next,
/// before evaluation gives up with a diagnostic. Values are worked out on demand, so a chain of
/// them is a chain of nested calls: unbounded, a long one (6,000 locals, each `local.prev + 1`)
/// overflows the stack and aborts the process, on a tokio worker's 2 MiB stack soonest. 256
/// levels stay well inside that even in a debug build, and far beyond any real configuration.
pub const MAX_VALUE_DEPTH: usize = 256;

fn empty() -> &'static BTreeMap<String, Value> {
    static EMPTY: OnceLock<BTreeMap<String, Value>> = OnceLock::new();
    EMPTY.get_or_init(BTreeMap::new)
}

/// Works out variables, locals, module outputs and module expansions for evaluation.
pub struct Env<'c> {
    pub config: &'c Config,
    /// The root module's variables.
    pub vars: &'c BTreeMap<String, Value>,
    pub base_dir: Option<PathBuf>,
    /// The current workspace, what `inferform.workspace` (and `terraform.workspace`) give.
    pub workspace: String,
    /// During a plan every value is final once asked for; during an apply only wholly
    /// known ones are (the rest wait for resources still to be applied).
    keep_unknown: bool,
    memo: Mutex<BTreeMap<Slot, Value>>,
    calls: Mutex<BTreeMap<(ModulePath, String), Keys>>,
    visiting: Mutex<BTreeSet<Slot>>,
    /// How deep [`Env::compute`] is nested on each thread (see [`MAX_VALUE_DEPTH`]).
    depth: Mutex<std::collections::HashMap<std::thread::ThreadId, usize>>,
    diags: Mutex<Vec<Diagnostic>>,
}

impl<'c> Env<'c> {
    pub fn for_plan(
        config: &'c Config,
        vars: &'c BTreeMap<String, Value>,
        base_dir: Option<PathBuf>,
    ) -> Self {
        Self::new(config, vars, base_dir, true)
    }

    pub fn for_apply(
        config: &'c Config,
        vars: &'c BTreeMap<String, Value>,
        base_dir: Option<PathBuf>,
    ) -> Self {
        Self::new(config, vars, base_dir, false)
    }

    fn new(
        config: &'c Config,
        vars: &'c BTreeMap<String, Value>,
        base_dir: Option<PathBuf>,
        keep_unknown: bool,
    ) -> Self {
        Env {
            config,
            vars,
            base_dir,
            workspace: DEFAULT_WORKSPACE.to_string(),
            keep_unknown,
            memo: Mutex::default(),
            calls: Mutex::default(),
            visiting: Mutex::default(),
            depth: Mutex::default(),
            diags: Mutex::default(),
        }
    }

    /// Evaluates in workspace `name` (the default one when empty): every module instance,
    /// root and children, sees it as `inferform.workspace`.
    pub fn with_workspace(mut self, name: &str) -> Self {
        self.workspace = workspace_name(name).to_string();
        self
    }

    /// The diagnostics found so far, each once.
    pub fn take_diagnostics(&self) -> Diagnostics {
        Diagnostics(std::mem::take(
            &mut *self.diags.lock().unwrap_or_else(|p| p.into_inner()),
        ))
    }

    fn report(&self, d: Diagnostic) {
        let mut diags = self.diags.lock().unwrap_or_else(|p| p.into_inner());
        let same = |o: &Diagnostic| {
            o.code == d.code && o.message == d.message && o.location() == d.location()
        };
        if !diags.iter().any(same) {
            diags.push(d);
        }
    }

    /// The scope to evaluate `exprs` in, inside module instance `m`: its resources, and the
    /// variables, locals and module outputs the expressions read.
    pub fn scope<'r>(&self, roots: &'r Roots, m: &ModulePath, exprs: &[&Expr]) -> Scope<'r> {
        let mut vars = BTreeMap::new();
        let mut locals = BTreeMap::new();
        // Module call → the outputs wanted (`None`: all of them).
        let mut wanted: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
        let view = self.config.module(m);
        for e in exprs {
            for r in references(e) {
                match r.subject {
                    Subject::Variable(name) if !vars.contains_key(&name) => {
                        let v = self.var(roots, m, &name);
                        vars.insert(name, v);
                    }
                    Subject::Local(name) if !locals.contains_key(&name) => {
                        let v = self.local(roots, m, &name);
                        locals.insert(name, v);
                    }
                    Subject::Module(call) => {
                        let whole = view
                            .and_then(|v| v.calls.get(&call))
                            .is_none_or(|c| c.count.is_some() || c.for_each.is_some());
                        let entry = wanted.entry(call).or_insert_with(|| Some(BTreeSet::new()));
                        match (r.attrs.first(), entry.as_mut()) {
                            (Some(out), Some(set)) if !whole => {
                                set.insert(out.clone());
                            }
                            _ => *entry = None,
                        }
                    }
                    _ => {}
                }
            }
        }
        let modules: BTreeMap<String, Value> = wanted
            .into_iter()
            .map(|(call, outs)| {
                let v = self.module_value(roots, m, &call, outs.as_ref());
                (call, v)
            })
            .collect();
        Scope {
            root: Some(roots.get(m).unwrap_or_else(|| empty())),
            bound: vec![
                ("var".into(), Value::Object(vars)),
                ("local".into(), Value::Object(locals)),
                ("module".into(), Value::Object(modules)),
                ("path".into(), self.path_value(m)),
                ("inferform".into(), self.meta_value()),
                ("terraform".into(), self.meta_value()),
            ],
            base_dir: self.base_dir.clone(),
        }
    }

    /// What `inferform` (and `terraform`) is: facts about the run.
    fn meta_value(&self) -> Value {
        Value::object([("workspace", Value::string(&self.workspace))])
    }

    fn path_value(&self, m: &ModulePath) -> Value {
        let root = self
            .base_dir
            .as_ref()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| ".".into());
        let module = match self.config.module(m).map(|v| v.dir) {
            Some(dir) if dir != "." && !m.is_root() => {
                if root == "." {
                    dir.to_string()
                } else {
                    format!("{}/{dir}", root.trim_end_matches('/'))
                }
            }
            _ => root.clone(),
        };
        Value::object([
            ("module", Value::string(module)),
            ("root", Value::string(&root)),
            ("cwd", Value::string(&root)),
        ])
    }

    fn remembered(&self, slot: &Slot) -> Option<Value> {
        self.memo
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(slot)
            .cloned()
    }

    /// Evaluates one slot once: memoised, and guarded against cycles (the graph reports
    /// those; here a cycle only yields an unknown value).
    fn compute(&self, slot: Slot, f: impl FnOnce() -> Value) -> Value {
        if let Some(v) = self.remembered(&slot) {
            return v;
        }
        if !self
            .visiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(slot.clone())
        {
            return Value::Unknown;
        }
        let v = match self.deeper(1) {
            Some(depth) if depth > MAX_VALUE_DEPTH => {
                // One chain is one mistake: later values that reach the limit say no more.
                let d = too_deep(&slot);
                let said = (self.diags.lock().unwrap_or_else(|p| p.into_inner()).iter())
                    .any(|o| o.code == d.code);
                if !said {
                    self.report(d);
                }
                Value::Unknown
            }
            _ => f(),
        };
        self.deeper(-1);
        self.visiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&slot);
        if self.keep_unknown || v.is_wholly_known() {
            self.memo
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(slot, v.clone());
        }
        v
    }

    /// Moves this thread's nesting depth by `by`; the depth after the move.
    fn deeper(&self, by: isize) -> Option<usize> {
        let mut depths = self.depth.lock().unwrap_or_else(|p| p.into_inner());
        let id = std::thread::current().id();
        let depth = depths.entry(id).or_default();
        *depth = depth.checked_add_signed(by)?;
        let now = *depth;
        if now == 0 {
            depths.remove(&id);
        }
        Some(now)
    }

    /// `var.NAME` inside module instance `m`.
    pub fn var(&self, roots: &Roots, m: &ModulePath, name: &str) -> Value {
        if m.is_root() {
            return self.vars.get(name).cloned().unwrap_or(Value::Null);
        }
        self.compute((m.clone(), Kind::Var, name.to_string()), || {
            self.module_input(roots, m, name, true)
        })
    }

    /// A module input as its `validation` blocks see it. `checked` runs the variable's own
    /// validations and reports problems; unchecked, the value is only looked at: taken as
    /// it is now, never remembered, and unknown when it cannot be worked out yet.
    fn module_input(&self, roots: &Roots, m: &ModulePath, name: &str, checked: bool) -> Value {
        let (Some(call), Some(view), Some((parent, step))) =
            (self.config.call(m), self.config.module(m), m.split_last())
        else {
            return Value::Unknown;
        };
        let Some(variable) = view.variables.get(name) else {
            return Value::Unknown;
        };
        let given = call.input(name).map(|attr| {
            let scope = self.call_scope(roots, &parent, &call.name, &step.key, &[&attr.expr]);
            let v = match eval(&attr.expr, &scope) {
                Ok(v) => v,
                Err(d) => {
                    if checked {
                        self.report(d);
                    }
                    Value::Unknown
                }
            };
            (v, attr.expr.span())
        });
        let mut variable = std::borrow::Cow::Borrowed(variable);
        // Validation conditions may read the module's other variables.
        let mut others = BTreeMap::new();
        if checked {
            for v in &variable.validations {
                let read = references(&v.condition)
                    .into_iter()
                    .chain(references(&v.error_message));
                for r in read {
                    if let Subject::Variable(other) = r.subject {
                        if other != name && !others.contains_key(&other) {
                            let slot = (m.clone(), Kind::Var, other.clone());
                            let value = self
                                .remembered(&slot)
                                .unwrap_or_else(|| self.module_input(roots, m, &other, false));
                            others.insert(other, value);
                        }
                    }
                }
            }
        } else {
            variable.to_mut().validations.clear();
        }
        match inferform_lang::vars::module_input(&m.to_string(), name, &variable, given, others) {
            Ok(v) => v,
            Err(diags) if checked => {
                diags.into_iter().for_each(|d| self.report(d));
                Value::Unknown
            }
            Err(_) => Value::Unknown,
        }
    }

    /// The scope of a module call's own arguments (inputs, and nothing else): the calling
    /// module instance, with `count.index` or `each` of the instance being made.
    fn call_scope<'r>(
        &self,
        roots: &'r Roots,
        parent: &ModulePath,
        call: &str,
        key: &InstanceKey,
        exprs: &[&Expr],
    ) -> Scope<'r> {
        let scope = self.scope(roots, parent, exprs);
        let Some(c) = self.config.module(parent).and_then(|v| v.calls.get(call)) else {
            return scope;
        };
        let each = match key {
            InstanceKey::Str(_) => self
                .call_keys(roots, parent, call)
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.clone()),
            _ => None,
        };
        instance_scope(&scope, key, &each, c.count.is_some())
    }

    /// `local.NAME` inside module instance `m`.
    pub fn local(&self, roots: &Roots, m: &ModulePath, name: &str) -> Value {
        self.compute((m.clone(), Kind::Local, name.to_string()), || {
            let Some(local) = self.config.module(m).and_then(|v| v.locals.get(name)) else {
                return Value::Unknown;
            };
            let scope = self.scope(roots, m, &[&local.expr]);
            match eval(&local.expr, &scope) {
                Ok(v) => v,
                Err(d) => {
                    self.report(d);
                    Value::Unknown
                }
            }
        })
    }

    /// An output block of module instance `m`, evaluated there: marked sensitive when it
    /// says so. Module outputs (through [`Env::output`]) and the root's, at plan and at
    /// apply, are all worked out here.
    pub(crate) fn output_value(
        &self,
        roots: &Roots,
        m: &ModulePath,
        output: &inferform_lang::config::Output,
    ) -> Result<Value, Diagnostic> {
        let scope = self.scope(roots, m, &[&output.value]);
        let v = eval(&output.value, &scope)?;
        Ok(if output.sensitive { v.sensitive() } else { v })
    }

    /// An output of module instance `m` (not the root: root outputs belong to the plan).
    pub fn output(&self, roots: &Roots, m: &ModulePath, name: &str) -> Value {
        self.compute((m.clone(), Kind::Output, name.to_string()), || {
            let Some(output) = self.config.module(m).and_then(|v| v.outputs.get(name)) else {
                return Value::Unknown;
            };
            match self.output_value(roots, m, output) {
                Ok(v) => v,
                Err(d) => {
                    self.report(d);
                    Value::Unknown
                }
            }
        })
    }

    /// The instance keys of module call `call` made from module instance `parent`.
    pub(crate) fn call_keys(&self, roots: &Roots, parent: &ModulePath, call: &str) -> Keys {
        let slot = (parent.clone(), call.to_string());
        if let Some(k) = self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&slot)
        {
            return k.clone();
        }
        let Some(c) = self.config.module(parent).and_then(|v| v.calls.get(call)) else {
            return Arc::new(Vec::new());
        };
        let exprs: Vec<&Expr> = c.count.iter().chain(c.for_each.iter()).collect();
        let scope = self.scope(roots, parent, &exprs);
        let keys = match expand_meta(c.count.as_ref(), c.for_each.as_ref(), &scope) {
            Ok(k) => k,
            Err(d) => {
                self.report(d);
                Vec::new()
            }
        };
        let keys = Arc::new(keys);
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(slot, keys.clone());
        keys
    }

    /// Every instance of the module at configuration path `path` (keys ignored).
    pub fn instances(&self, roots: &Roots, path: &ModulePath) -> Vec<ModulePath> {
        let mut out = vec![ModulePath::root()];
        for step in &path.0 {
            let mut next = Vec::new();
            for parent in &out {
                for (key, _) in self.call_keys(roots, parent, &step.name).iter() {
                    next.push(parent.child(&step.name, key.clone()));
                }
            }
            out = next;
        }
        out
    }

    /// What `module.CALL` is inside `m`: an object of outputs, or a list (count) or map
    /// (for_each) of them. `wanted` limits the outputs worked out.
    fn module_value(
        &self,
        roots: &Roots,
        m: &ModulePath,
        call: &str,
        wanted: Option<&BTreeSet<String>>,
    ) -> Value {
        let Some(c) = self.config.module(m).and_then(|v| v.calls.get(call)) else {
            return Value::Unknown;
        };
        let child = m.child(call, InstanceKey::None);
        let names: Vec<String> = match (wanted, self.config.module(&child)) {
            (Some(w), _) => w.iter().cloned().collect(),
            (None, Some(view)) => view.outputs.keys().cloned().collect(),
            (None, None) => Vec::new(),
        };
        let outputs = |key: &InstanceKey| {
            let inst = m.child(call, key.clone());
            Value::Object(
                names
                    .iter()
                    .map(|n| (n.clone(), self.output(roots, &inst, n)))
                    .collect(),
            )
        };
        if c.count.is_none() && c.for_each.is_none() {
            return outputs(&InstanceKey::None);
        }
        let keys = self.call_keys(roots, m, call);
        if c.count.is_some() {
            Value::List(keys.iter().map(|(k, _)| outputs(k)).collect())
        } else {
            Value::Object(
                keys.iter()
                    .filter_map(|(k, _)| match k {
                        InstanceKey::Str(s) => Some((s.clone(), outputs(k))),
                        _ => None,
                    })
                    .collect(),
            )
        }
    }
}

/// The error a chain longer than [`MAX_VALUE_DEPTH`] gives, naming the value at which the limit
/// was reached (the diagnostic has no span: the chain runs through many places).
fn too_deep(slot: &Slot) -> Diagnostic {
    let (m, kind, name) = slot;
    let place = if m.is_root() {
        String::new()
    } else {
        format!(" in {m}")
    };
    let what = match kind {
        Kind::Var => format!("`var.{name}`{place}"),
        Kind::Local => format!("`local.{name}`{place}"),
        Kind::Output => format!("the output `{name}` of {m}"),
    };
    Diagnostic::error(
        "inferform::eval::too_deep",
        format!(
            "values depend on each other more than {MAX_VALUE_DEPTH} deep: {what} is reached through a chain of {MAX_VALUE_DEPTH} variables, locals or module outputs, each reading the next"
        ),
    )
    .with_help(format!(
        "shorten the chain: compute the value in fewer steps (a for expression, or a function such as sum or range) instead of {MAX_VALUE_DEPTH} values each reading the previous one"
    ))
}
