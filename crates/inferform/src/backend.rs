//! Where a working directory's state lives, and which workspace is selected.
//!
//! A configuration names its backend in `inferform { backend "pg" { ... } }`; `inferform init`
//! checks it and records it in `.inferform/backend.json`, with the `--backend-config` values it
//! was given. Every later command reads that record, so `state`, `output` and `show` need no
//! variables, and the commands that load the configuration compare its backend block with the
//! record first: a changed backend is never used, nor an old one silently kept, until `init`
//! has moved the state (`--migrate-state`) or been told to start afresh (`--reconfigure`).
//! No block and no record is today's local state under `.inferform/state`, unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use inferform_lang::config::Config;
use inferform_state::backend::{Backend, LocalBackend, PgConfig};
use inferform_state::encryption::Sealer;
use inferform_state::pg::PgBackend;
use inferform_types::{Diagnostic, Diagnostics, Value};
use serde::{Deserialize, Serialize};

use crate::inputs::data_dir;

/// The schema state lives in when `schema_name` is not given.
pub const DEFAULT_SCHEMA: &str = "inferform_remote_state";

/// A backend as a configuration and the command line describe it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// `local` or `pg`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The block's arguments, evaluated.
    #[serde(default)]
    pub block: BTreeMap<String, serde_json::Value>,
    /// `--backend-config` values given to `init`; they win over the block's.
    #[serde(default)]
    pub cli: BTreeMap<String, serde_json::Value>,
}

impl Settings {
    pub fn local() -> Settings {
        Settings {
            kind: "local".into(),
            ..Settings::default()
        }
    }

    /// The arguments in force: the block's, then `--backend-config`, then for what neither
    /// sets, the environment (`PG_CONN_STR`, `PG_SCHEMA_NAME`, `PG_SKIP_SCHEMA_CREATION`).
    pub fn effective(&self) -> BTreeMap<String, serde_json::Value> {
        let mut out = self.block.clone();
        out.extend(self.cli.clone());
        if self.kind == "pg" {
            for (arg, var) in [
                ("conn_str", "PG_CONN_STR"),
                ("schema_name", "PG_SCHEMA_NAME"),
                ("skip_schema_creation", "PG_SKIP_SCHEMA_CREATION"),
            ] {
                if out.get(arg).is_none_or(|v| v.is_null()) {
                    if let Ok(v) = std::env::var(var) {
                        out.insert(arg.into(), serde_json::Value::String(v));
                    }
                }
            }
        }
        out
    }

    /// The backend these settings describe, its records in clear (for describing it).
    pub fn open(&self, dir: &Path) -> Result<Arc<dyn Backend>, Diagnostic> {
        self.open_sealed(dir, Arc::new(Sealer::clear("state")))
    }

    /// The backend these settings describe, its records sealed by `sealer`.
    pub fn open_sealed(
        &self,
        dir: &Path,
        sealer: Arc<Sealer>,
    ) -> Result<Arc<dyn Backend>, Diagnostic> {
        match self.kind.as_str() {
            "local" => Ok(Arc::new(
                LocalBackend::new(&data_dir(dir)).with_sealer(sealer),
            )),
            "pg" => Ok(Arc::new(
                PgBackend::new(pg_config(&self.effective())?).with_sealer(sealer),
            )),
            other => Err(Diagnostic::error(
                "inferform::backend::unknown",
                format!("the recorded backend type {other:?} is not one this inferform knows"),
            )
            .with_help("run `inferform init --reconfigure` to record the configuration's backend")),
        }
    }

    /// Where the state is, without credentials and whatever way each setting was given: two
    /// settings with one identity are one backend (a conn_str moved from the block to
    /// PG_CONN_STR, or a rotated password, changes nothing).
    pub fn identity(&self, dir: &Path) -> Result<String, Diagnostic> {
        Ok(format!("{}: {}", self.kind, self.open(dir)?.describe()))
    }

    /// A short description for messages, with no secret in it.
    pub fn describe(&self) -> String {
        match self.kind.as_str() {
            "pg" => {
                let schema = self
                    .effective()
                    .get("schema_name")
                    .and_then(|v| v.as_str().map(str::to_string))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| DEFAULT_SCHEMA.into());
                format!("the \"pg\" backend (schema {schema})")
            }
            _ => "local state (.inferform/state)".into(),
        }
    }
}

/// The pg backend's settings from its arguments.
pub fn pg_config(args: &BTreeMap<String, serde_json::Value>) -> Result<PgConfig, Diagnostic> {
    let text = |k: &str| match args.get(k) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let Some(conn_str) = text("conn_str").filter(|s| !s.trim().is_empty()) else {
        return Err(Diagnostic::error(
            "inferform::backend::conn_str",
            "the pg backend has no conn_str",
        )
        .with_help(
            "set it in the environment (PG_CONN_STR=postgres://user:password@host/db), with \
             `--backend-config conn_str=...`, or as conn_str in the backend block",
        ));
    };
    let skip = match args.get("skip_schema_creation") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) if s == "true" || s == "1" => true,
        Some(serde_json::Value::String(s)) if s == "false" || s == "0" || s.is_empty() => false,
        Some(other) => {
            return Err(Diagnostic::error(
                "inferform::backend::skip_schema_creation",
                format!("skip_schema_creation must be true or false, not {other}"),
            )
            .with_help("write skip_schema_creation = true"))
        }
    };
    Ok(PgConfig {
        conn_str,
        schema_name: text("schema_name")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SCHEMA.into()),
        skip_schema_creation: skip,
    })
}

/// The file `init` records the backend in.
pub fn record_path(dir: &Path) -> PathBuf {
    data_dir(dir).join("backend.json")
}

/// The backend `init` recorded, if it recorded one.
pub fn recorded(dir: &Path) -> Result<Option<Settings>, Diagnostic> {
    let path = record_path(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Diagnostic::error(
                "inferform::backend::record",
                format!("cannot read {}: {e}", path.display()),
            )
            .with_help("check the file's permissions, or run `inferform init` again"))
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Diagnostic::error(
            "inferform::backend::record",
            format!("{} is not a backend record: {e}", path.display()),
        )
        .with_help("run `inferform init --reconfigure` to record the backend again")
    })
}

/// Records the backend for later commands. The file may hold a connection string given with
/// `--backend-config`, so it is private to its owner.
pub fn record(dir: &Path, settings: &Settings) -> Result<(), Diagnostic> {
    let path = record_path(dir);
    let text = serde_json::to_string_pretty(settings).unwrap_or_default();
    inferform_state::backend::write_private(&path, text.as_bytes()).map_err(|e| {
        Diagnostic::error(
            "inferform::backend::record",
            format!("cannot write {}: {e}", path.display()),
        )
        .with_help("check that .inferform/ is writable")
    })
}

/// The backend the configuration's block describes (with `--backend-config` values, when `init`
/// has them), its arguments checked and evaluated.
pub fn configured(
    config: &Config,
    vars: &BTreeMap<String, Value>,
    cli: BTreeMap<String, serde_json::Value>,
) -> Result<Settings, Diagnostics> {
    let Some(block) = &config.backend else {
        return Ok(Settings::local());
    };
    let (values, diags) = inferform_lang::backend::eval_backend(config, vars);
    if diags.has_errors() {
        return Err(diags);
    }
    let block_args = values
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.to_json()?)))
        .filter(|(_, v)| !v.is_null())
        .collect();
    let settings = Settings {
        kind: block.kind.clone(),
        block: block_args,
        cli,
    };
    Ok(settings)
}

/// Whether the backend block's own conn_str carries a password: it is then recorded in
/// `.inferform/backend.json`, and if it came from a variable, in saved plans too.
pub fn block_has_password(settings: &Settings) -> bool {
    settings
        .block
        .get("conn_str")
        .and_then(|v| v.as_str())
        .is_some_and(|c| {
            let userinfo = c
                .split_once("://")
                .and_then(|(_, rest)| rest.split_once('@'))
                .map(|(u, _)| u.contains(':'));
            userinfo.unwrap_or(false) || c.contains("password=")
        })
}

/// Parses `--backend-config` values: `KEY=VALUE`, or a file of `KEY = value` lines.
pub fn cli_settings(
    kind: &str,
    given: &[String],
) -> Result<BTreeMap<String, serde_json::Value>, Diagnostic> {
    let mut out = BTreeMap::new();
    for item in given {
        if item.contains("://") && !item.starts_with("conn_str=") {
            // A connection string passed bare: never echo it, it may hold a password.
            return Err(Diagnostic::error(
                "inferform::backend::config_value",
                "a --backend-config value looks like a connection string without its setting name",
            )
            .with_help("write --backend-config conn_str=postgres://..., or better, set PG_CONN_STR in the environment"));
        }
        match item.split_once('=') {
            Some((k, v)) => {
                out.insert(
                    k.trim().to_string(),
                    serde_json::Value::String(v.to_string()),
                );
            }
            None => {
                let text = std::fs::read_to_string(item).map_err(|e| {
                    Diagnostic::error(
                        "inferform::backend::config_file",
                        format!("cannot read the backend config file {item}: {e}"),
                    )
                    .with_help("pass KEY=VALUE, or the path of a file of KEY = \"value\" lines")
                })?;
                let map: serde_json::Map<String, serde_json::Value> = hcl::from_str(&text)
                    .map_err(|e| {
                        Diagnostic::error(
                            "inferform::backend::config_file",
                            format!("{item} is not a file of backend settings: {}", first_line(&e.to_string())),
                        )
                        .with_help("write one KEY = \"value\" per line, such as schema_name = \"team_state\"")
                    })?;
                out.extend(map);
            }
        }
    }
    let allowed: Vec<&str> = inferform_lang::backend::arguments(kind)
        .unwrap_or_default()
        .iter()
        .map(|(name, _)| *name)
        .collect();
    for key in out.keys() {
        if !allowed.contains(&key.as_str()) {
            let help = match inferform_lang::suggest::did_you_mean(key, allowed.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if allowed.is_empty() => format!("the {kind} backend takes no settings"),
                None => format!("the {kind} backend takes: {}", allowed.join(", ")),
            };
            let shown = if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                key.as_str()
            } else {
                "(a value that is not a setting name)"
            };
            return Err(Diagnostic::error(
                "inferform::backend::unknown_argument",
                format!("--backend-config {shown}: not a setting of the {kind} backend"),
            )
            .with_help(help));
        }
    }
    Ok(out)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The backend for a command that loaded the configuration in `dir` (with `vars`): the
/// recorded one, provided the configuration still asks for it, its state sealed with
/// `sealer`.
pub fn for_config(
    config: &Config,
    vars: &BTreeMap<String, Value>,
    dir: &Path,
    sealer: Arc<inferform_state::encryption::Sealer>,
) -> Result<(Settings, Arc<dyn Backend>), Diagnostics> {
    let kind = config.backend.as_ref().map_or("local", |b| b.kind.as_str());
    let recorded = recorded(dir).map_err(one)?;
    // The `--backend-config` values init was given still count.
    let cli = recorded
        .as_ref()
        .filter(|r| r.kind == kind)
        .map(|r| r.cli.clone())
        .unwrap_or_default();
    let wanted = configured(config, vars, cli)?;
    match recorded {
        None if wanted.kind == "local" => {}
        None => {
            return Err(one(Diagnostic::error(
                "inferform::backend::init_required",
                "Backend initialization required, please run \"inferform init\"",
            )
            .with_help(format!(
                "the configuration keeps its state in the \"{}\" backend, which this working directory has not initialized: run `inferform init` (with `--migrate-state` if it already has local state to move)",
                wanted.kind
            ))))
        }
        Some(rec) if rec.identity(dir).ok() == Some(wanted.identity(dir).map_err(one)?) => {}
        Some(rec) => {
            return Err(one(Diagnostic::error(
                "inferform::backend::changed",
                "Backend configuration changed",
            )
            .with_help(format!(
                "this working directory uses {}, and the configuration now asks for {}: run `inferform init --migrate-state` to copy the state across, or `inferform init --reconfigure` to start with the new backend's state",
                rec.describe(),
                wanted.describe()
            ))))
        }
    }
    let backend = wanted.open_sealed(dir, sealer).map_err(one)?;
    Ok((wanted, backend))
}

/// The backend for a command that does not load the configuration (`state`, `output`, `show`,
/// `workspace`, `force-unlock`): the recorded one, or local state.
pub fn for_dir(dir: &Path) -> Result<Arc<dyn Backend>, Diagnostic> {
    let spec = crate::encryption::for_dir(dir)?;
    let sealer = crate::encryption::state_sealer(spec.as_ref());
    match recorded(dir)? {
        Some(settings) => settings.open_sealed(dir, sealer),
        None => {
            // A configuration that names a backend nobody initialized must not read the
            // local state instead.
            let (config, _) = inferform_lang::load_dir(dir, &crate::inputs::display_dir(dir));
            if let Some(b) = config.backend.as_ref().filter(|b| b.kind != "local") {
                return Err(Diagnostic::error(
                    "inferform::backend::init_required",
                    "Backend initialization required, please run \"inferform init\"",
                )
                .with_help(format!(
                    "the configuration keeps its state in the \"{}\" backend, which this working directory has not initialized",
                    b.kind
                )));
            }
            Ok(Arc::new(
                LocalBackend::new(&data_dir(dir)).with_sealer(sealer),
            ))
        }
    }
}

/// One diagnostic as the list the loading and evaluation steps return.
pub fn one(d: Diagnostic) -> Diagnostics {
    let mut diags = Diagnostics::new();
    diags.push(d);
    diags
}

/// The file that names the selected workspace.
fn selection_path(dir: &Path) -> PathBuf {
    data_dir(dir).join("environment")
}

/// The selected workspace: `INFERFORM_WORKSPACE`, else the one `workspace select` recorded,
/// else `default`.
pub fn current_workspace(dir: &Path) -> Result<String, Diagnostic> {
    if let Ok(name) = std::env::var("INFERFORM_WORKSPACE") {
        if !name.trim().is_empty() {
            return Ok(name.trim().to_string());
        }
    }
    let path = selection_path(dir);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Ok(_) => Ok("default".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok("default".into()),
        // Never fall back to another workspace's state because the selection is unreadable.
        Err(e) => Err(Diagnostic::error(
            "inferform::workspace::selection",
            format!("cannot read the selected workspace from {}: {e}", path.display()),
        )
        .with_help("fix the file's permissions, or select a workspace again with `inferform workspace select NAME`")),
    }
}

/// Whether the workspace comes from `INFERFORM_WORKSPACE`, which `workspace select` cannot override.
pub fn workspace_from_env() -> bool {
    std::env::var("INFERFORM_WORKSPACE").is_ok_and(|s| !s.trim().is_empty())
}

/// Records the selected workspace.
pub fn select_workspace(dir: &Path, name: &str) -> Result<(), Diagnostic> {
    let path = selection_path(dir);
    inferform_state::backend::write_private(&path, format!("{name}\n").as_bytes()).map_err(|e| {
        Diagnostic::error(
            "inferform::workspace::select",
            format!("cannot write {}: {e}", path.display()),
        )
        .with_help("check that .inferform/ is writable")
    })
}

/// A backend error as a diagnostic, with its how-to-fix line.
pub fn state_diag(code: &str, e: &inferform_state::StateError) -> Diagnostic {
    let d = Diagnostic::error(code, e.to_string());
    match e.help() {
        Some(help) => d.with_help(help),
        None => d,
    }
}

/// Reads other configurations' outputs for `data "inferform_remote_state"`. A `local` path is
/// relative to the configuration directory, which is the working directory (`-C` changes to it
/// first). The pg backend takes the same settings, and the same environment, as a backend block.
pub struct RemoteStates {
    /// Opens the remote state's records: the `remote_state_data_sources` target.
    pub sealer: Arc<Sealer>,
}

impl inferform_engine::builtin::RemoteStateReader for RemoteStates {
    fn read_outputs(
        &self,
        kind: &str,
        config: &serde_json::Map<String, serde_json::Value>,
        workspace: &str,
    ) -> Result<BTreeMap<String, (serde_json::Value, bool)>, String> {
        let failed = |d: Diagnostic| match d.help {
            Some(help) => format!("{}; {help}", d.message),
            None => d.message,
        };
        let (source, what): (Arc<dyn Backend>, String) = match kind {
            "local" => {
                let path = match config.get("path") {
                    Some(serde_json::Value::String(p)) if !p.is_empty() => PathBuf::from(p),
                    None | Some(serde_json::Value::Null) => PathBuf::from("."),
                    Some(other) => {
                        return Err(format!("config.path must be a directory, not {other}"))
                    }
                };
                if !path.is_dir() {
                    return Err(format!(
                        "config.path {} is not a directory: give the directory of the other configuration, relative to this one",
                        path.display()
                    ));
                }
                let what = format!("the local state of {}", path.display());
                let backend = LocalBackend::new(&data_dir(&path)).with_sealer(self.sealer.clone());
                (Arc::new(backend), what)
            }
            "pg" => {
                let settings = Settings {
                    kind: "pg".into(),
                    block: config.clone().into_iter().collect(),
                    cli: BTreeMap::new(),
                };
                let pg = pg_config(&settings.effective()).map_err(failed)?;
                let what = format!("schema {} of the pg backend", pg.schema_name);
                (
                    Arc::new(PgBackend::new(pg).with_sealer(self.sealer.clone())),
                    what,
                )
            }
            other => {
                return Err(format!(
                    "unknown backend {other:?}: use \"pg\" or \"local\""
                ))
            }
        };
        match source.read(workspace) {
            Ok(Some(state)) => Ok(state
                .outputs
                .into_iter()
                .map(|(k, o)| (k, (o.value, o.sensitive)))
                .collect()),
            Ok(None) => {
                let known = source.workspaces().unwrap_or_default();
                Err(format!(
                    "{what} has no workspace \"{workspace}\" (it has: {})",
                    known.join(", ")
                ))
            }
            Err(e) => Err(failed(state_diag("inferform::remote_state", &e))),
        }
    }
}
