//! The `inferform` binary: clap commands, the terminal display, and the wiring of the
//! configuration, state, engine, providers and the embedded local cloud. Commands are thin:
//! they parse arguments, call into the crates below, and render.

mod backend;
mod commands;
mod encryption;
mod inputs;
mod prices;
mod ui;
mod workspace;

use std::path::{Path, PathBuf};
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
    /// Prepare the working directory: check the backend, and move state when it changed.
    Init(InitArgs),
    /// Check the configuration for mistakes, without touching state or any cloud.
    Validate(ValidateArgs),
    /// Rewrite configuration files in the canonical style, as `terraform fmt` does.
    Fmt(FmtArgs),
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Create, update and delete objects to match the configuration.
    Apply(ApplyArgs),
    /// Delete every object this configuration manages.
    Destroy(DestroyArgs),
    /// Read every tracked object and record what changed outside inferform.
    Refresh(RefreshArgs),
    /// Show the state, or a saved plan.
    Show(ShowArgs),
    /// Show the root outputs from state.
    Output(OutputArgs),
    /// Evaluate expressions against the configuration and state, one per line of input.
    Console(ConsoleArgs),
    /// Bring an existing cloud object under management at ADDR.
    Import(ImportArgs),
    /// Send a chat message to a service instance or deployment in state and print the answer.
    Invoke(InvokeArgs),
    /// Print the dependency graph of the configuration in DOT.
    Graph(GraphArgs),
    /// Inspect and edit state.
    #[command(subcommand)]
    State(StateCommand),
    /// Release a state lock held by a run that no longer exists or must be stopped.
    ForceUnlock(ForceUnlockArgs),
    /// List, create, select and delete workspaces: separate states of one configuration.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Run the local stand-in for DataArts Fabric and Alaya NeW.
    #[command(name = "local-cloud", subcommand)]
    LocalCloud(LocalCloudCommand),
    /// Print a completion script for a shell; it also completes resource addresses from state.
    Completion(CompletionArgs),
    /// Print a manual page (roff), generated from the command line definition: `inferform man |
    /// man -l -`.
    Man(ManArgs),
    /// Print the resource addresses in the selected workspace's state, one a line, for
    /// completion scripts: takes no lock and prints nothing on any error.
    #[command(name = "__complete-addresses", hide = true)]
    CompleteAddresses,
}

#[derive(Args, Debug)]
pub struct CompletionArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: commands::completion::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// The command whose page to print (`state show`); inferform's own page when left out.
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Write nothing; list the files that are not formatted and exit 3 if there are any.
    #[arg(long)]
    pub check: bool,
    /// Print a unified diff of each change.
    #[arg(long)]
    pub diff: bool,
    /// Also format the files in subdirectories (hidden ones, such as `.inferform/`, are skipped).
    #[arg(long)]
    pub recursive: bool,
    /// Files or directories to format; the working directory's `*.hcl` files when left out.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
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
    /// Plan no changes: only record what changed outside inferform.
    #[arg(long)]
    pub refresh_only: bool,
    /// Plan only this resource or instance and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Replace this instance even if nothing forces it (repeatable).
    #[arg(long = "replace", value_name = "ADDR")]
    pub replace: Vec<String>,
    /// How many API calls may be in flight at once. Waiting for a cloud object to become
    /// ready holds no slot, so it never keeps other ready work from starting.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Print machine-readable output: one JSON object per line (Terraform's `-json` UI).
    #[arg(long)]
    pub json: bool,
    /// A price file (HCL: `currency`, `mu_per_hour`, `gpu_per_hour`): the plan then shows what
    /// its capacity change costs per hour and per month. No price is built in.
    #[arg(long, env = "INFERFORM_PRICES", value_name = "FILE")]
    pub prices: Option<PathBuf>,
    #[command(flatten)]
    pub lock: LockFlags,
}

/// How to wait for the state lock.
#[derive(Args, Debug, Clone)]
pub struct LockFlags {
    /// How long to wait for the state lock held by another run ("0s", "30s", "5m").
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub lock_timeout: String,
    /// Take the state lock (--lock=false skips it: only to recover when locking is broken,
    /// since two runs may then write the same state at once).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub lock: bool,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// A backend setting, KEY=VALUE, or a file of KEY = "value" lines (repeatable; later wins,
    /// and these win over the backend block).
    #[arg(long = "backend-config", value_name = "KEY=VALUE|FILE")]
    pub backend_config: Vec<String>,
    /// Copy the state of every workspace from the backend used before to the configured one.
    #[arg(long, conflicts_with = "reconfigure")]
    pub migrate_state: bool,
    /// Use the configured backend as it is, leaving any state of the previous one where it is.
    #[arg(long)]
    pub reconfigure: bool,
    /// Set a variable used by the backend block: --var name=value (repeatable; later wins).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a file (repeatable; later wins).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    #[command(flatten)]
    pub lock: LockFlags,
}

#[derive(Subcommand, Debug)]
pub enum WorkspaceCommand {
    /// List the workspaces; the selected one is marked with `*`.
    List,
    /// Print the selected workspace's name.
    Show,
    /// Create a workspace and select it.
    New {
        name: String,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// Select a workspace for the commands that follow.
    Select { name: String },
    /// Delete a workspace and its state's history.
    Delete {
        name: String,
        /// Delete it even though its state still tracks objects (they stay in the cloud,
        /// unmanaged).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        lock: LockFlags,
    },
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
    /// Save the plan to FILE, for `inferform apply FILE` and `inferform show FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Apply exactly this saved plan (refused if it is stale).
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Args, Debug)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A saved plan to show; the state when left out.
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
    /// Print JSON: a plan in the structure of Terraform's JSON plan, or the state's values.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print a saved plan as a Markdown report for a pull-request comment.
    #[arg(long, requires = "plan_file")]
    pub markdown: bool,
    /// A price file (see `plan --prices`): a saved plan then shows what its capacity change
    /// costs.
    #[arg(long, env = "INFERFORM_PRICES", value_name = "FILE")]
    pub prices: Option<PathBuf>,
    #[command(flatten)]
    pub lock: LockFlags,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
    /// The resource instance to import into, as declared in the configuration.
    #[arg(value_name = "ADDR")]
    pub addr: String,
    /// The object's id in its cloud (`WORKSPACE_ID/OBJECT_ID` for objects in a workspace).
    pub id: String,
}

#[derive(Args, Debug)]
pub struct InvokeArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
    /// The fabric_service_instance or alaya_expert_deployment to ask, as state names it.
    #[arg(value_name = "ADDR")]
    pub addr: String,
    /// The message to send; the answer is printed as it streams in.
    #[arg(long, value_name = "TEXT")]
    pub message: String,
}

#[derive(Args, Debug)]
pub struct GraphArgs {}

#[derive(Args, Debug)]
pub struct ForceUnlockArgs {
    /// The lock ID from the "Error acquiring the state lock" message.
    pub lock_id: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// List the instances in state.
    List {
        /// Only addresses starting with these.
        addrs: Vec<String>,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// Show one instance's attributes.
    Show {
        #[arg(value_name = "ADDR")]
        addr: String,
        /// Read the state as it was at this serial (see `state history`).
        #[arg(long, value_name = "N")]
        serial: Option<u64>,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// Move an instance to another address (after renaming a resource block).
    Mv {
        #[arg(value_name = "ADDR")]
        from: String,
        to: String,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// Forget instances: the cloud objects stay, inferform stops managing them.
    Rm {
        #[arg(required = true, value_name = "ADDR")]
        addrs: Vec<String>,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// Print the state as JSON (sensitive attributes are left out).
    Pull {
        /// Print the state as it was at this serial (see `state history`).
        #[arg(long, value_name = "N")]
        serial: Option<u64>,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// List every recorded change: serial, when, who, command and plan fingerprint.
    History {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// Replace the state with a JSON document from `state pull`, or with the state as it was at
    /// an earlier serial (`--serial N`, exactly, sensitive values included).
    Push {
        #[arg(required_unless_present = "serial", conflicts_with = "serial")]
        file: Option<PathBuf>,
        /// Roll back to the state recorded at this serial (see `state history`).
        #[arg(long, value_name = "N")]
        serial: Option<u64>,
        /// Accept another lineage or a lower serial.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        lock: LockFlags,
    },
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
    #[command(flatten)]
    pub lock: LockFlags,
}

#[derive(Args, Debug)]
pub struct ConsoleArgs {
    /// Set a variable: --var name=value (repeatable; later wins).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a file (repeatable; later wins).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    #[command(flatten)]
    pub lock: LockFlags,
}

#[derive(Subcommand, Debug)]
pub enum LocalCloudCommand {
    /// Serve both clouds' APIs until interrupted.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8787", value_name = "HOST:PORT")]
        addr: std::net::SocketAddr,
        /// Folder the objects are kept in; in memory when left out.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// A JSON file with keys, timings and faults.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The DataArts Fabric access key that signatures must name (default `local-ak`;
        /// wins over the config file).
        #[arg(long, value_name = "AK")]
        access_key: Option<String>,
        /// The DataArts Fabric secret key that signatures are checked with (default `local-sk`).
        #[arg(long, value_name = "SK")]
        secret_key: Option<String>,
        /// The Alaya NeW access key expected in `plain Credential=` (default `local-alaya-ak`).
        #[arg(long, value_name = "AK")]
        alaya_access_key: Option<String>,
        /// The Alaya NeW secret key expected in `Signature=` (default `local-alaya-sk`).
        #[arg(long, value_name = "SK")]
        alaya_secret_key: Option<String>,
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

/// Makes every file and folder this process creates private to its owner (umask 077): state,
/// locks, saved plans and the local cloud's data name what a team runs, and CI runners are
/// shared machines. Files that inferform writes itself are created 0600 anyway; this covers
/// those that libraries create (sled's log and snapshots, written as it pleases).
fn private_files() {
    #[cfg(unix)]
    // SAFETY: umask(2) only sets the process's file-creation mask; it cannot fail and touches
    // no memory.
    unsafe {
        libc::umask(0o077);
    }
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    private_files();
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let mut cli = cli;
    let vars = cli_vars(&matches);
    let ui = ui::Ui::from_env();
    // Like Terraform's -chdir, -C changes directory first: every path on the command line, and
    // every file name in messages, is then relative to DIR.
    if cli.dir != Path::new(".") {
        if let Err(e) = std::env::set_current_dir(&cli.dir) {
            ui.error_line(&format!(
                "Error: cannot change to the directory {}: {e}",
                cli.dir.display()
            ));
            return ExitCode::from(1);
        }
        cli.dir = PathBuf::from(".");
    }
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
