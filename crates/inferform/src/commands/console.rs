//! `inferform console`: evaluates expressions, one per line of input, against the
//! configuration's variables and locals and the objects recorded in state.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use inferform_engine::console::{Console, ConsoleInput};
use inferform_lang::validate::Schemas;

use crate::ui::Ui;
use crate::workspace::{self, CliVar};
use crate::ConsoleArgs;

pub fn run(dir: &Path, args: &ConsoleArgs, vars: &[CliVar], ui: &Ui) -> u8 {
    let ws = match workspace::load_for_console(dir, vars) {
        Ok(ws) => ws,
        Err(diags) => {
            ui.diagnostics(diags.iter());
            return 1;
        }
    };
    ui.diagnostics(ws.warnings.iter());
    // Where there is no configuration there is no state either: nothing is opened or made,
    // and expressions are evaluated on their own, as in Terraform's console.
    let opened = if ws.config.sources.is_empty() {
        None
    } else {
        let backend = match ws.backend() {
            Ok((_, backend)) => backend,
            Err(diags) => {
                ui.diagnostics(diags.iter());
                return 1;
            }
        };
        match workspace::read_state_in(
            backend.as_ref(),
            dir,
            &args.lock,
            "OperationTypeConsole",
            ui,
        ) {
            Ok(s) => Some(s),
            Err(d) => {
                ui.diagnostics([&d]);
                return 1;
            }
        }
    };
    let empty = inferform_state::State::default();
    let (state, workspace) = match &opened {
        Some((lock, state)) => (state, lock.workspace.as_str()),
        None => (&empty, inferform_state::backend::DEFAULT),
    };
    let providers = ws.factories.keys().cloned().collect();
    let console = Console::new(ConsoleInput {
        config: &ws.config,
        vars: &ws.vars,
        state,
        schemas: Schemas {
            resources: &ws.schemas,
            data_sources: &ws.data_schemas,
            providers: &providers,
        },
        workspace,
        base_dir: Some(ws.dir.clone()),
    });
    // At a terminal a mistake is shown and the prompt comes back; reading a script, the first
    // mistake ends the run with an error, as Terraform's console does.
    let interactive = std::io::stdin().is_terminal();
    let prompt = || {
        if interactive {
            ui.out("> ");
        }
    };
    prompt();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else {
            break;
        };
        let text = line.trim();
        if text == "exit" {
            break;
        }
        if !text.is_empty() {
            match console.eval(text) {
                Ok(value) => ui.line(&inferform_render::console_value(&value)),
                Err(d) => {
                    ui.diagnostics([&d]);
                    if !interactive {
                        return 1;
                    }
                }
            }
        }
        prompt();
    }
    0
}
