//! The `inferform` binary: clap commands, the terminal display, and the wiring of the
//! configuration, state, engine, providers and the embedded local cloud. Commands are thin:
//! they parse arguments, call into the crates below, and render.

mod commands;
mod ui;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Declarative provisioning for AI-inference infrastructure.
#[derive(Parser, Debug)]
#[command(name = "inferform", version, about, propagate_version = true)]
pub struct Cli {
    /// Run as if started in DIR (where the configuration and `.inferform/` live).
    #[arg(
        short = 'C',
        long = "chdir",
        global = true,
        value_name = "DIR",
        default_value = "."
    )]
    pub dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check the configuration for mistakes, without touching state or any cloud.
    Validate(ValidateArgs),
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Create, update and delete objects to match the configuration.
    Apply(ApplyArgs),
    /// Delete every object this configuration manages.
    Destroy(ApplyArgs),
    /// Show the root outputs from state.
    Output(OutputArgs),
    /// Run the local stand-in for DataArts Fabric and Alaya NeW.
    #[command(name = "local-cloud", subcommand)]
    LocalCloud(LocalCloudCommand),
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options shared by the commands that plan.
#[derive(Args, Debug, Clone)]
pub struct PlanFlags {
    /// Run the embedded local cloud and point every provider at it (also INFERFORM_LOCAL_CLOUD=1).
    #[arg(long, env = "INFERFORM_LOCAL_CLOUD", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
    pub local_cloud: bool,
    /// Set a variable: --var name=value (repeatable; later wins).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a file (repeatable; later wins).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// Read each tracked object from its cloud before planning.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan to destroy every object instead.
    #[arg(long)]
    pub destroy: bool,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// The output to show; all when left out.
    pub name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print a string output's value without quotes.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Subcommand, Debug)]
pub enum LocalCloudCommand {
    /// Serve both clouds' APIs until interrupted.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: std::net::SocketAddr,
        /// Folder the objects are kept in; in memory when left out.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// A JSON file with keys, timings and faults.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// The `--var` and `--var-file` flags in the order they were given, so later ones win.
fn cli_vars(matches: &clap::ArgMatches) -> Vec<workspace::CliVar> {
    let Some((_, sub)) = matches.subcommand() else {
        return Vec::new();
    };
    let mut out: Vec<(usize, workspace::CliVar)> = Vec::new();
    let ids = sub
        .ids()
        .map(|id| id.as_str().to_string())
        .collect::<Vec<_>>();
    if ids.iter().any(|i| i == "vars") {
        if let (Some(idx), Some(vals)) = (sub.indices_of("vars"), sub.get_many::<String>("vars")) {
            out.extend(
                idx.zip(vals)
                    .map(|(i, v)| (i, workspace::CliVar::Assign(v.clone()))),
            );
        }
    }
    if ids.iter().any(|i| i == "var_files") {
        if let (Some(idx), Some(vals)) = (
            sub.indices_of("var_files"),
            sub.get_many::<PathBuf>("var_files"),
        ) {
            out.extend(
                idx.zip(vals)
                    .map(|(i, v)| (i, workspace::CliVar::File(v.clone()))),
            );
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, v)| v).collect()
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let vars = cli_vars(&matches);
    let ui = ui::Ui::from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ui.error_line(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(commands::run(cli, vars, &ui));
    ExitCode::from(code)
}
