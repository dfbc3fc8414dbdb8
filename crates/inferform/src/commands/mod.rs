//! The commands. Each parses nothing itself (clap did), calls the crates below, and renders.

mod apply;
mod local_cloud;
mod output;
mod plan;
mod validate;

use crate::ui::Ui;
use crate::workspace::CliVar;
use crate::{Cli, Command};

/// Exit codes: 0 success, 1 error, 2 (plan --detailed-exitcode) changes present.
pub async fn run(cli: Cli, vars: Vec<CliVar>, ui: &Ui) -> u8 {
    match cli.command {
        Command::Validate(args) => validate::run(&cli.dir, &args, ui),
        Command::Plan(args) => plan::run(&cli.dir, &args, &vars, ui).await,
        Command::Apply(args) => apply::run(&cli.dir, &args, &vars, false, ui).await,
        Command::Destroy(args) => apply::run(&cli.dir, &args, &vars, true, ui).await,
        Command::Output(args) => output::run(&cli.dir, &args, ui),
        Command::LocalCloud(cmd) => local_cloud::run(cmd, ui).await,
    }
}
