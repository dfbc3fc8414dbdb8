//! The configuration model: what the loader builds from HCL files. Expressions stay
//! unevaluated here ([`Expr`]); the engine evaluates them once values are known.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use hcl_edit::expr::Expression;
use inferform_types::{ModulePath, ResourceAddr, SourceSpan, Type};

/// A source file: its name as the user sees it (relative to the working directory) and text.
#[derive(Clone, Debug)]
pub struct Source {
    pub name: Arc<str>,
    pub text: Arc<str>,
}

impl Source {
    pub fn span(&self, range: Range<usize>) -> SourceSpan {
        SourceSpan::new(self.name.clone(), self.text.clone(), range)
    }
}

/// An unevaluated expression and the file it came from.
#[derive(Clone, Debug)]
pub struct Expr {
    pub expr: Expression,
    pub source: Source,
}

impl Expr {
    /// Parses one expression written on its own (at the console's prompt), named `name` in
    /// diagnostics.
    pub fn parse(name: &str, text: &str) -> Result<Expr, inferform_types::Diagnostic> {
        let source = Source {
            name: name.into(),
            text: text.into(),
        };
        match hcl_edit::parser::parse_expr(text) {
            Ok(expr) => Ok(Expr { expr, source }),
            Err(e) => {
                let at = e.location();
                let offset: usize = text
                    .split_inclusive('\n')
                    .take(at.line().saturating_sub(1))
                    .map(str::len)
                    .sum::<usize>()
                    + at.column().saturating_sub(1);
                let offset = offset.min(text.len());
                Err(inferform_types::Diagnostic::error(
                    "inferform::console::syntax",
                    format!("this is not an expression: {}", e.message()),
                )
                .with_span(source.span(offset..offset))
                .with_help("write one expression per line, such as var.name or local.x + 1"))
            }
        }
    }

    /// The expression's location, for diagnostics.
    pub fn span(&self) -> SourceSpan {
        self.span_of(&self.expr)
    }

    /// The location of a sub-expression of this one.
    pub fn span_of(&self, sub: &Expression) -> SourceSpan {
        use hcl_edit::Span;
        self.source.span(sub.span().unwrap_or(0..0))
    }
}

/// An attribute inside a block body: `name = expr`.
#[derive(Clone, Debug)]
pub struct AttrNode {
    pub name: String,
    pub name_span: SourceSpan,
    pub expr: Expr,
}

/// A nested block: `kind "label" { ... }`.
#[derive(Clone, Debug)]
pub struct BlockNode {
    pub kind: String,
    pub labels: Vec<String>,
    pub kind_span: SourceSpan,
    pub body: Body,
}

/// A block's contents, in source order.
#[derive(Clone, Debug)]
pub struct Body {
    pub attributes: Vec<AttrNode>,
    pub blocks: Vec<BlockNode>,
    /// The whole block, for "missing required ..." diagnostics.
    pub span: SourceSpan,
}

impl Body {
    pub fn attribute(&self, name: &str) -> Option<&AttrNode> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// A `provider "NAME" { ... }` block.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub name: String,
    pub alias: Option<String>,
    pub body: Body,
    pub span: SourceSpan,
}

impl ProviderConfig {
    /// How resources refer to this configuration: `fabric`, or `fabric.west` with an alias.
    pub fn key(&self) -> String {
        match &self.alias {
            Some(a) => format!("{}.{a}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A `variable "NAME" { ... }` block.
#[derive(Clone, Debug)]
pub struct Variable {
    pub name: String,
    pub ty: Option<Type>,
    pub default: Option<Expr>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    /// `validation { condition, error_message }` blocks.
    pub validations: Vec<Condition>,
    pub span: SourceSpan,
}

/// The `lifecycle { ... }` block of a resource.
#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    pub create_before_destroy: bool,
    pub prevent_destroy: bool,
    pub ignore_changes: Vec<String>,
    /// `replace_triggered_by`: references to resources (replace when they change) or to
    /// their attributes (replace when the value changes).
    pub replace_triggered_by: Vec<Expr>,
    /// `precondition` blocks: checked before the resource's change is planned (and again
    /// before it is made, when the plan could not know).
    pub preconditions: Vec<Condition>,
    /// `postcondition` blocks: checked against the planned object (`self`), and against the
    /// object the cloud returns once it is made.
    pub postconditions: Vec<Condition>,
}

/// A `precondition`, `postcondition` or check `assert` block: a condition that must hold,
/// and what to say when it does not.
#[derive(Clone, Debug)]
pub struct Condition {
    pub condition: Expr,
    /// A string template, evaluated where the condition is.
    pub error_message: Expr,
    /// The block's header, where its failure is reported when the condition cannot be.
    pub span: SourceSpan,
}

/// A `check "NAME" { assert { ... } }` block: conditions about the whole configuration,
/// checked at the end of every plan and apply; a failure is a warning, never an error.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub asserts: Vec<Condition>,
    pub span: SourceSpan,
}

/// A `removed { from = ..., lifecycle { destroy = false } }` block: the resource has left the
/// configuration; with `destroy = false` its objects are forgotten by state, not destroyed.
#[derive(Clone, Debug)]
pub struct Removed {
    pub from: ResourceAddr,
    pub destroy: bool,
    pub span: SourceSpan,
}

/// A `resource` or `data` block.
#[derive(Clone, Debug)]
pub struct Resource {
    pub addr: ResourceAddr,
    /// The body without its meta-arguments (`count`, `depends_on`, `lifecycle`...).
    pub body: Body,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<(ResourceAddr, SourceSpan)>,
    /// `depends_on` entries that name a module call (`module.network`): every resource in it.
    pub depends_on_modules: Vec<(String, SourceSpan)>,
    /// The `provider` meta-argument: `fabric.west` picks an aliased configuration.
    pub provider: Option<(String, SourceSpan)>,
    pub lifecycle: Lifecycle,
    /// `timeouts { create = "10m" }`, in seconds.
    pub timeouts: BTreeMap<String, u64>,
    /// For a `data` block inside a `check` block: the check's name. Only that check's
    /// assertions may read it, and a failure to read it is a warning, as the check's are.
    pub check: Option<String>,
    /// The block's header (`resource "type" "name"`), where diagnostics about it point.
    pub span: SourceSpan,
}

/// An `output "NAME" { ... }` block.
#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub value: Expr,
    pub sensitive: bool,
    pub description: Option<String>,
    pub span: SourceSpan,
}

/// A local value from a `locals { ... }` block.
#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub expr: Expr,
    pub span: SourceSpan,
}

/// A `moved { from = ..., to = ... }` block: state under `from` now belongs to `to`.
#[derive(Clone, Debug)]
pub struct Moved {
    pub from: inferform_types::ResourceInstanceAddr,
    pub to: inferform_types::ResourceInstanceAddr,
    pub span: SourceSpan,
}

/// An `import { to = ..., id = "..." }` block: bring an existing object under management.
#[derive(Clone, Debug)]
pub struct Import {
    pub to: inferform_types::ResourceInstanceAddr,
    pub id: Expr,
    pub span: SourceSpan,
}

/// A `module "NAME" { source = "./dir" ... }` block: a call of the configuration in another
/// directory, with its input variables set.
#[derive(Clone, Debug)]
pub struct ModuleCall {
    pub name: String,
    /// The `source` as written: a local path starting with `./` or `../`.
    pub source: String,
    pub source_span: SourceSpan,
    /// The arguments other than meta-arguments: one per input variable of the module.
    pub inputs: Vec<AttrNode>,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<(ResourceAddr, SourceSpan)>,
    pub depends_on_modules: Vec<(String, SourceSpan)>,
    /// `providers = { fabric = fabric.west }`: the module's provider name → the caller's
    /// provider configuration it uses.
    pub providers: BTreeMap<String, (String, SourceSpan)>,
    /// The block's header, where diagnostics about the call point.
    pub span: SourceSpan,
}

impl ModuleCall {
    pub fn input(&self, name: &str) -> Option<&AttrNode> {
        self.inputs.iter().find(|a| a.name == name)
    }
}

/// What a child module declares besides its resources (which live in [`Config::resources`]
/// with the module's path in their addresses).
#[derive(Clone, Debug, Default)]
pub struct ModuleBody {
    /// The module's directory relative to the root module's, as `path.module` shows it.
    pub dir: String,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Local>,
    pub outputs: BTreeMap<String, Output>,
    pub calls: BTreeMap<String, ModuleCall>,
}

/// The `backend "TYPE" { ... }` block of the settings block (`inferform { ... }`, or
/// `terraform { ... }` in files brought from Terraform): where the configuration's state lives.
/// The body stays unevaluated because its arguments may read variables and locals, known only
/// once variable values are: [`crate::backend::eval_backend`] evaluates it.
#[derive(Clone, Debug)]
pub struct Backend {
    /// The backend type: `pg` or `local`.
    pub kind: String,
    /// Where the type is written (the block's label), for diagnostics about it.
    pub kind_span: SourceSpan,
    pub body: Body,
    /// The block's header (`backend "pg"`).
    pub span: SourceSpan,
}

/// The `encryption { ... }` block of the settings block: key providers, methods, and the
/// targets (`state`, `plan`, `remote_state_data_sources`) that use them.
#[derive(Clone, Debug)]
pub struct EncryptionBlock {
    pub body: Body,
    /// The block's header, where diagnostics about the block as a whole point.
    pub span: SourceSpan,
}

/// The declarations of one module, root or child, borrowed from a [`Config`].
#[derive(Clone, Copy, Debug)]
pub struct ModuleView<'a> {
    pub dir: &'a str,
    pub variables: &'a BTreeMap<String, Variable>,
    pub locals: &'a BTreeMap<String, Local>,
    pub outputs: &'a BTreeMap<String, Output>,
    pub calls: &'a BTreeMap<String, ModuleCall>,
}

/// A whole configuration: the root directory of `.hcl` files, and every module it calls.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub sources: Vec<Source>,
    pub providers: Vec<ProviderConfig>,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Local>,
    pub resources: Vec<Resource>,
    pub outputs: BTreeMap<String, Output>,
    pub moved: Vec<Moved>,
    pub imports: Vec<Import>,
    /// The root module's `check` blocks.
    pub checks: Vec<Check>,
    /// The root module's `removed` blocks.
    pub removed: Vec<Removed>,
    /// The root module's `module` blocks.
    pub calls: BTreeMap<String, ModuleCall>,
    /// Every child module by its path in the configuration (instance keys `None`).
    pub modules: BTreeMap<ModulePath, ModuleBody>,
    /// Resource address → position in `resources`, so look-ups stay fast with many resources.
    pub resource_index: BTreeMap<ResourceAddr, usize>,
    /// The root module's backend block; `None` keeps state in the working directory. A child
    /// module's backend block is ignored (with a warning), as Terraform does.
    pub backend: Option<Backend>,
    /// The root module's `encryption` block, unevaluated: [`crate::encryption::eval_encryption`]
    /// works it out once variable values are known.
    pub encryption: Option<EncryptionBlock>,
}

impl Config {
    pub fn resource(&self, addr: &ResourceAddr) -> Option<&Resource> {
        match self.resource_index.get(addr) {
            Some(&i) => self.resources.get(i).filter(|r| &r.addr == addr),
            None if self.resource_index.len() == self.resources.len() => None,
            None => self.resources.iter().find(|r| &r.addr == addr),
        }
    }

    /// The position of a resource in [`Config::resources`].
    pub fn resource_position(&self, addr: &ResourceAddr) -> Option<usize> {
        self.resource(addr)
            .and_then(|r| self.resource_index.get(&r.addr).copied())
    }

    /// Rebuilds the address index after `resources` changed.
    pub fn reindex(&mut self) {
        self.resource_index = self
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.addr.clone(), i))
            .collect();
    }

    /// The provider configuration a resource uses: its `provider` meta-argument
    /// (`fabric.west`), or the default configuration of its type's provider (`fabric`).
    pub fn provider_key(r: &Resource) -> String {
        match &r.provider {
            Some((key, _)) => key.clone(),
            None => r.addr.provider_name().to_string(),
        }
    }

    /// The declarations of the module at `path` (keys ignored); `None` for a path that no
    /// `module` block makes.
    pub fn module(&self, path: &ModulePath) -> Option<ModuleView<'_>> {
        if path.is_root() {
            return Some(ModuleView {
                dir: ".",
                variables: &self.variables,
                locals: &self.locals,
                outputs: &self.outputs,
                calls: &self.calls,
            });
        }
        let body = self.modules.get(&path.without_keys())?;
        Some(ModuleView {
            dir: &body.dir,
            variables: &body.variables,
            locals: &body.locals,
            outputs: &body.outputs,
            calls: &body.calls,
        })
    }

    /// The root module's path, then every child module's, in order.
    pub fn module_paths(&self) -> Vec<ModulePath> {
        std::iter::once(ModulePath::root())
            .chain(self.modules.keys().cloned())
            .collect()
    }

    /// The `module` block that makes the module at `path`; `None` for the root.
    pub fn call(&self, path: &ModulePath) -> Option<&ModuleCall> {
        let (parent, last) = path.split_last()?;
        self.module(&parent)?.calls.get(&last.name)
    }

    /// The provider block for a provider name (the default configuration, without alias).
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers
            .iter()
            .find(|p| p.name == name && p.alias.is_none())
    }
}
