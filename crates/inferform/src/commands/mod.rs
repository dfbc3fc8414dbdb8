//! The commands. Each parses nothing itself (clap did), calls the crates below, and renders.

mod apply;
pub mod completion;
mod console;
mod fmt;
mod force_unlock;
mod graph;
mod import;
mod init;
mod invoke;
mod local_cloud;
mod output;
mod plan;
mod progress;
mod show;
mod state;
mod validate;
mod workspaces;

use crate::ui::Ui;
use crate::workspace::CliVar;
use crate::{Cli, Command};

/// Exit codes: 0 success, 1 error, 2 (plan --detailed-exitcode) changes present.
pub async fn run(cli: Cli, vars: Vec<CliVar>, ui: &Ui) -> u8 {
    match cli.command {
        Command::Init(args) => init::run(&cli.dir, &args, &vars, ui),
        Command::Validate(args) => validate::run(&cli.dir, &args, ui),
        Command::Fmt(args) => fmt::run(&cli.dir, &args, ui),
        Command::Plan(args) => plan::run(&cli.dir, &args, &vars, ui).await,
        Command::Apply(args) => apply::run_apply(&cli.dir, &args, &vars, ui).await,
        Command::Destroy(args) => apply::run_destroy(&cli.dir, &args, &vars, ui).await,
        Command::Refresh(args) => apply::run_refresh(&cli.dir, &args, &vars, ui).await,
        Command::Show(args) => show::run(&cli.dir, &args, ui),
        Command::Output(args) => output::run(&cli.dir, &args, ui),
        Command::Console(args) => console::run(&cli.dir, &args, &vars, ui),
        Command::Import(args) => import::run(&cli.dir, &args, &vars, ui).await,
        Command::Invoke(args) => invoke::run(&cli.dir, &args, &vars, ui).await,
        Command::Graph(_) => graph::run(&cli.dir, ui),
        Command::State(cmd) => state::run(&cli.dir, &cmd, ui),
        Command::ForceUnlock(args) => force_unlock::run(&cli.dir, &args, ui),
        Command::Workspace(cmd) => workspaces::run(&cli.dir, &cmd, ui),
        Command::LocalCloud(cmd) => local_cloud::run(cmd, ui).await,
        Command::Completion(args) => completion::run(args.shell, ui),
        Command::Man(args) => completion::man(&args.command, ui),
        Command::CompleteAddresses => completion::addresses(&cli.dir, ui),
    }
}
