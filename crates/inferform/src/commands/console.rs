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
    let ws = match workspace::load(dir, vars) {
        Ok(ws) => ws,
        Err(diags) => {
            ui.diagnostics(diags.iter());
            return 1;
        }
    };
    ui.diagnostics(ws.warnings.iter());
    let backend = match crate::backend::for_config(&ws) {
        Ok((_, backend)) => backend,
        Err(diags) => {
            ui.diagnostics(diags.iter());
            return 1;
        }
    };
    let (lock, state) = match workspace::read_state_in(
        backend.as_ref(),
        dir,
        &args.lock,
        "OperationTypeConsole",
        ui,
    ) {
        Ok(s) => s,
        Err(d) => {
            ui.diagnostics([&d]);
            return 1;
        }
    };
    let providers = ws.factories.keys().cloned().collect();
    let console = Console::new(ConsoleInput {
        config: &ws.config,
        vars: &ws.vars,
        state: &state,
        schemas: Schemas {
            resources: &ws.schemas,
            data_sources: &ws.data_schemas,
            providers: &providers,
        },
        workspace: &lock.workspace,
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
