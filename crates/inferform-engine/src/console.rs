//! What `inferform console` evaluates against: the configuration's variables, locals and
//! module outputs, and the objects state records, read as they were last recorded (no cloud
//! is read). Resources the configuration declares and state does not hold read as unknown,
//! as they would before their first apply.

use std::collections::BTreeMap;
use std::path::PathBuf;

use inferform_lang::config::{Config, Expr};
use inferform_lang::eval::eval;
use inferform_lang::validate::{validate_expression, Schemas};
use inferform_state::State;
use inferform_types::{Diagnostic, ModulePath, ResourceInstanceAddr, Value};

use crate::diff::marked;
use crate::instances::set_instance;
use crate::scope::{Env, Roots};

/// An evaluator for one expression at a time.
pub struct Console<'c> {
    config: &'c Config,
    schemas: Schemas<'c>,
    env: Env<'c>,
    roots: Roots,
}

/// What a console reads: the loaded configuration and where it runs.
pub struct ConsoleInput<'c> {
    pub config: &'c Config,
    pub vars: &'c BTreeMap<String, Value>,
    pub state: &'c State,
    /// What references are checked against; its resource schemas also say what is sensitive.
    pub schemas: Schemas<'c>,
    pub workspace: &'c str,
    pub base_dir: Option<PathBuf>,
}

impl<'c> Console<'c> {
    pub fn new(input: ConsoleInput<'c>) -> Self {
        let mut roots = Roots::new();
        for r in &input.config.resources {
            if r.addr.module.is_root() && r.count.is_none() && r.for_each.is_none() {
                let addr = ResourceInstanceAddr {
                    resource: r.addr.clone(),
                    key: inferform_types::InstanceKey::None,
                };
                set_instance(&mut roots, &addr, Value::Unknown);
            }
        }
        for (addr, r) in &input.state.resources {
            let Ok(a) = addr.parse::<ResourceInstanceAddr>() else {
                continue;
            };
            let v = marked(r.value(), input.schemas.resources.get(&r.type_name));
            set_instance(&mut roots, &a, v);
        }
        let env =
            Env::for_plan(input.config, input.vars, input.base_dir).with_workspace(input.workspace);
        Console {
            config: input.config,
            schemas: input.schemas,
            env,
            roots,
        }
    }

    /// Evaluates one expression, written as at the console's prompt.
    pub fn eval(&self, text: &str) -> Result<Value, Diagnostic> {
        let expr = Expr::parse("<console-input>", text)?;
        let problems = validate_expression(self.config, &self.schemas, &expr);
        if let Some(d) = problems.into_iter().find(|d| d.is_error()) {
            return Err(d);
        }
        let scope = self.env.scope(&self.roots, &ModulePath::root(), &[&expr]);
        let value = eval(&expr, &scope);
        // A local or module output the expression reads may have failed on its own.
        if let Some(d) = self
            .env
            .take_diagnostics()
            .into_iter()
            .find(|d| d.is_error())
        {
            return Err(d);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console_of(text: &str, state: &State, f: impl FnOnce(&Console)) {
        let (config, diags) = inferform_lang::load_sources(vec![("main.hcl".into(), text.into())]);
        assert!(!diags.has_errors(), "{diags:?}");
        let vars = inferform_lang::vars::resolve(&config, &[]).0;
        let (resources, providers) = (BTreeMap::new(), Default::default());
        let schemas = Schemas {
            resources: &resources,
            data_sources: &resources,
            providers: &providers,
        };
        let console = Console::new(ConsoleInput {
            config: &config,
            vars: &vars,
            state,
            schemas,
            workspace: "",
            base_dir: None,
        });
        f(&console);
    }

    #[test]
    fn reads_variables_locals_and_state() {
        let text = r#"
variable "n" {
  default = 2
}

locals {
  doubled = var.n * 2
}

resource "inferform_data" "item" {
  input = "x"
}
"#;
        let mut state = State::default();
        state.resources.insert(
            "inferform_data.item".into(),
            inferform_state::ResourceState {
                addr: "inferform_data.item".into(),
                type_name: "inferform_data".into(),
                provider: "inferform".into(),
                attributes: serde_json::json!({"id": "abc", "input": "x"}),
                dependencies: vec![],
                tainted: false,
                sensitive_paths: vec![],
                deposed: Default::default(),
            },
        );
        console_of(text, &state, |c| {
            assert_eq!(c.eval("local.doubled + 1").unwrap(), Value::number(5.0));
            assert_eq!(
                c.eval("inferform_data.item.id").unwrap(),
                Value::string("abc")
            );
            assert!(c.eval("local.nosuch").is_err());
            assert!(c.eval("1 +").is_err());
        });
        console_of(text, &State::default(), |c| {
            assert_eq!(c.eval("inferform_data.item.id").unwrap(), Value::Unknown);
        });
    }
}
