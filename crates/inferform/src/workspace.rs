//! What every command that works on a configuration does first: load the files, work out the
//! variables, validate against the providers' schemas, open state, start the embedded local
//! cloud when asked, and configure the providers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use inferform_lang::config::Config;
use inferform_lang::decode::decode_body;
use inferform_lang::eval::Scope;
use inferform_lang::validate::{validate, Schemas};
use inferform_lang::vars::resolve;
use inferform_local_cloud::LocalCloud;
use inferform_provider::{Provider, ProviderEnv, ProviderFactory};
use inferform_state::backend::{Backend, OpenOptions, Opened};
use inferform_state::{Change, StateError, StateStore};
use inferform_types::{Diagnostic, Diagnostics, Schema, Value};

pub use crate::inputs::{data_dir, display_dir, var_sources, CliVar};
use crate::ui::Ui;
use crate::LockFlags;

/// Every provider inferform knows, by name.
pub fn factories() -> BTreeMap<String, Arc<dyn ProviderFactory>> {
    factories_reading(crate::encryption::remote_state_sealer(None))
}

/// Every provider, `inferform_remote_state` reading other states with `remote`.
pub fn factories_reading(
    remote: Arc<inferform_state::encryption::Sealer>,
) -> BTreeMap<String, Arc<dyn ProviderFactory>> {
    let list: Vec<Arc<dyn ProviderFactory>> = vec![
        Arc::new(
            inferform_engine::builtin::BuiltinFactory::with_remote_state(Arc::new(
                crate::backend::RemoteStates { sealer: remote },
            )),
        ),
        inferform_fabric::factory(),
        inferform_alaya::factory(),
    ];
    list.into_iter()
        .map(|f| (f.name().to_string(), f))
        .collect()
}

/// Every data source type's schema.
pub fn data_schemas(
    factories: &BTreeMap<String, Arc<dyn ProviderFactory>>,
) -> BTreeMap<String, Schema> {
    factories
        .values()
        .flat_map(|f| f.data_source_schemas())
        .collect()
}

/// Every resource type's schema.
pub fn schemas(factories: &BTreeMap<String, Arc<dyn ProviderFactory>>) -> BTreeMap<String, Schema> {
    factories
        .values()
        .flat_map(|f| f.resource_schemas())
        .collect()
}

/// A loaded, validated configuration.
pub struct Workspace {
    pub dir: PathBuf,
    pub config: Config,
    pub vars: BTreeMap<String, Value>,
    pub factories: BTreeMap<String, Arc<dyn ProviderFactory>>,
    pub schemas: BTreeMap<String, Schema>,
    pub data_schemas: BTreeMap<String, Schema>,
    /// The `encryption` block (or `INFERFORM_ENCRYPTION`), evaluated; `None` without either.
    pub encryption: Option<inferform_state::encryption::EncryptionSpec>,
    /// Warnings found while loading, to show with the result.
    pub warnings: Diagnostics,
}

impl Workspace {
    /// The sealer of this configuration's state.
    pub fn state_sealer(&self) -> Arc<inferform_state::encryption::Sealer> {
        crate::encryption::state_sealer(self.encryption.as_ref())
    }

    /// The backend this configuration keeps its state in (see [`crate::backend::for_config`]).
    pub fn backend(&self) -> Result<(crate::backend::Settings, Arc<dyn Backend>), Diagnostics> {
        crate::backend::for_config(&self.config, &self.vars, &self.dir, self.state_sealer())
    }
}

/// Loads and validates the configuration in `dir`, with variables. All diagnostics on failure.
pub fn load(dir: &Path, cli_vars: &[CliVar]) -> Result<Workspace, Diagnostics> {
    load_with(dir, cli_vars, |_| true)
}

/// Loads the configuration for `init`, which needs only the variables the backend block
/// reads: a required variable with no value is no error here (if the backend reads it,
/// evaluating the backend says so), as `init` in CI runs before plan-time values are given.
pub fn load_for_init(dir: &Path, cli_vars: &[CliVar]) -> Result<Workspace, Diagnostics> {
    load_with(dir, cli_vars, |d| d.code != "inferform::vars::missing")
}

/// Loads the configuration for `console`, which also works where there is none, as
/// Terraform's does: with no `*.hcl` files it evaluates expressions on their own.
pub fn load_for_console(dir: &Path, cli_vars: &[CliVar]) -> Result<Workspace, Diagnostics> {
    load_with(dir, cli_vars, |d| d.code != "inferform::config::no_files")
}

/// Loads and validates, leaving out the diagnostics `keep` refuses.
fn load_with(
    dir: &Path,
    cli_vars: &[CliVar],
    keep: impl Fn(&Diagnostic) -> bool,
) -> Result<Workspace, Diagnostics> {
    let (config, diags) = inferform_lang::load_dir(dir, &display_dir(dir));
    let mut diags = Diagnostics(diags.0.into_iter().filter(|d| keep(d)).collect());
    let factories = factories();
    let schemas = schemas(&factories);
    let data_schemas = data_schemas(&factories);
    if !diags.has_errors() {
        let providers: BTreeSet<String> = factories.keys().cloned().collect();
        diags.extend(validate(
            &config,
            &Schemas {
                resources: &schemas,
                data_sources: &data_schemas,
                providers: &providers,
            },
        ));
        diags.extend(check_provider_blocks(&config, &factories));
        // Cycles are found here too, so `validate` reports them, not only `plan`.
        if let Err(cycles) = inferform_engine::graph::ConfigGraph::build(&config).order(&config) {
            cycles.into_iter().for_each(|d| diags.push(d));
        }
    }
    let (sources, more) = var_sources(dir, cli_vars);
    diags.extend(more);
    let (vars, more) = resolve(&config, &sources);
    diags.extend(Diagnostics(more.into_iter().filter(|d| keep(d)).collect()));
    if diags.has_errors() {
        return Err(diags);
    }
    let (encryption, more) = crate::encryption::evaluate(&config, &vars);
    diags.extend(more);
    if diags.has_errors() {
        return Err(diags);
    }
    // `inferform_remote_state` reads with the configuration's remote-state keys.
    let factories = if encryption
        .as_ref()
        .is_some_and(|e| e.remote_state.is_some())
    {
        factories_reading(crate::encryption::remote_state_sealer(encryption.as_ref()))
    } else {
        factories
    };
    Ok(Workspace {
        encryption,
        dir: dir.to_path_buf(),
        config,
        vars,
        factories,
        schemas,
        data_schemas,
        warnings: diags,
    })
}

/// Decodes every provider block against its provider's schema with variables unknown, so a
/// misspelt or mistyped argument is reported by `validate`, before any credential is needed.
fn check_provider_blocks(
    config: &Config,
    factories: &BTreeMap<String, Arc<dyn ProviderFactory>>,
) -> Diagnostics {
    let root = BTreeMap::from([
        ("var".to_string(), Value::Unknown),
        ("local".to_string(), Value::Unknown),
        ("inferform".to_string(), Value::Unknown),
        ("terraform".to_string(), Value::Unknown),
    ]);
    let scope = Scope::new(&root);
    let mut diags = Diagnostics::new();
    for p in &config.providers {
        if let Some(factory) = factories.get(&p.name) {
            let mut found = Diagnostics::new();
            decode_body(
                &p.body,
                &factory.provider_schema(),
                &scope,
                &format!("provider \"{}\"", p.name),
                &mut found,
            );
            diags.extend(Diagnostics(
                found
                    .into_iter()
                    .filter(|d| d.code.starts_with("inferform::config::"))
                    .collect(),
            ));
        }
    }
    diags
}

/// Parses a `--lock-timeout` value.
pub fn parse_timeout(text: &str) -> Result<std::time::Duration, Diagnostic> {
    inferform_lang::loader::parse_duration(text)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| {
            Diagnostic::error(
                "inferform::cli::lock_timeout",
                format!("--lock-timeout {text:?} is not a duration"),
            )
            .with_help("write a duration such as 0s, 30s or 5m")
        })
}

/// A workspace's state, opened (and locked, unless `--lock=false`) for one command. The lock
/// goes when this is dropped or the process ends, however it ends.
pub struct LockedState {
    pub store: Arc<dyn StateStore>,
    /// The workspace this is the state of.
    pub workspace: String,
    _opened: Opened,
}

impl LockedState {
    /// Records in the state's history that `command` changed it. History is a record, not the
    /// state: a failure to write it is a warning, and the change itself stands.
    pub fn record(&self, command: &str, fingerprint: Option<String>, ui: &Ui) {
        let change = Change::new(command, fingerprint);
        if let Err(e) = self.store.record_history(&change) {
            ui.diagnostics([&Diagnostic::warning(
                "inferform::state::history",
                format!("the change was recorded, but not in the state's history: {e}"),
            )
            .with_help("`inferform state history` will not list this change")]);
        }
    }
}

/// Opens workspace `name` of `backend` for `operation` (`OperationTypeApply`...), waiting up
/// to `--lock-timeout` for another run's lock.
pub fn open_state(
    backend: &dyn Backend,
    workspace: &str,
    operation: &str,
    lock: &LockFlags,
    ui: &Ui,
) -> Result<LockedState, Diagnostic> {
    let timeout = parse_timeout(&lock.lock_timeout)?;
    if !lock.lock {
        ui.diagnostics([&Diagnostic::warning(
            "inferform::state::lock_disabled",
            "state locking is disabled (--lock=false)",
        )
        .with_help(
            "another run may write this state at the same time: changes can be lost and cloud \
             objects duplicated. Use it only to recover when locking itself is broken.",
        )]);
    }
    let options = OpenOptions {
        operation: operation.to_string(),
        lock: lock.lock,
        timeout,
    };
    let opened = backend.open(workspace, &options).map_err(|e| match &e {
        StateError::LockedBy { .. } => crate::backend::state_diag("inferform::state::locked", &e),
        _ => crate::backend::state_diag("inferform::state::open", &e),
    })?;
    Ok(LockedState {
        store: opened.store.clone(),
        workspace: workspace.to_string(),
        _opened: opened,
    })
}

/// Opens and locks the selected workspace's state in the backend recorded for `dir`, for a
/// command that does not load the configuration, and reads it.
pub fn read_state(
    dir: &Path,
    lock: &LockFlags,
    operation: &str,
    ui: &Ui,
) -> Result<(LockedState, inferform_state::State), Diagnostic> {
    read_state_in(
        crate::backend::for_dir(dir)?.as_ref(),
        dir,
        lock,
        operation,
        ui,
    )
}

/// Opens and locks the selected workspace's state in `backend`, and reads it.
pub fn read_state_in(
    backend: &dyn Backend,
    dir: &Path,
    lock: &LockFlags,
    operation: &str,
    ui: &Ui,
) -> Result<(LockedState, inferform_state::State), Diagnostic> {
    let workspace = crate::backend::current_workspace(dir)?;
    let locked = open_state(backend, &workspace, operation, lock, ui)?;
    let state = locked
        .store
        .load()
        .map_err(|e| crate::backend::state_diag("inferform::state::read", &e))?;
    Ok((locked, state))
}

/// Starts the embedded local cloud with its data under `.inferform/local-cloud/`.
/// `INFERFORM_LOCAL_CLOUD_CONFIG` may name a JSON file of keys, timings and faults.
pub async fn start_local_cloud(dir: &Path) -> Result<LocalCloud, Diagnostic> {
    let mut config = match std::env::var_os("INFERFORM_LOCAL_CLOUD_CONFIG") {
        Some(path) => inferform_local_cloud::Config::load(Path::new(&path)).map_err(|e| {
            Diagnostic::error(
                "inferform::local_cloud::config",
                format!("cannot read the local cloud's configuration: {e}"),
            )
            .with_help("INFERFORM_LOCAL_CLOUD_CONFIG must name a JSON file")
        })?,
        None => inferform_local_cloud::Config::default(),
    };
    let cloud_dir = data_dir(dir).join("local-cloud");
    config.data_dir = Some(cloud_dir.clone());
    // The cloud keeps its port from run to run, as a real cloud keeps its hostnames: the URLs
    // it hands out (serviceUrl, access_url) stay valid and show no drift.
    let port_file = cloud_dir.join("port");
    let saved: Option<u16> = std::fs::read_to_string(&port_file)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let cloud = match saved {
        Some(port) => match LocalCloud::start(
            config.clone(),
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .await
        {
            Ok(c) => Ok(c),
            Err(_) => LocalCloud::start(config, any).await,
        },
        None => LocalCloud::start(config, any).await,
    }
    .map_err(|e| {
        Diagnostic::error(
            "inferform::local_cloud::start",
            format!("cannot start the local cloud: {e}"),
        )
        .with_help("check that .inferform/local-cloud is writable")
    })?;
    if saved != Some(cloud.addr().port()) {
        let _ = inferform_state::backend::create_private_dir(&cloud_dir);
        let _ = std::fs::write(&port_file, cloud.addr().port().to_string());
    }
    Ok(cloud)
}

/// The provider names a run needs: those of configured resources, of tracked objects, and
/// of provider blocks.
pub fn needed_providers(ws: &Workspace, state: &inferform_state::State) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = ws
        .config
        .resources
        .iter()
        .map(inferform_lang::Config::provider_key)
        .collect();
    out.extend(state.resources.values().map(|r| r.provider.clone()));
    out.extend(state.intents.values().map(|r| r.provider.clone()));
    out.extend(ws.config.providers.iter().map(|p| p.key()));
    out
}

/// Configures each needed provider from its block, the environment, and the local cloud.
pub fn configure_providers(
    ws: &Workspace,
    needed: &BTreeSet<String>,
    local: Option<&LocalCloud>,
    workspace: &str,
) -> Result<BTreeMap<String, Arc<dyn Provider>>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out = BTreeMap::new();
    let mut env_vars: BTreeMap<String, String> = std::env::vars().collect();
    if local.is_some() {
        // The local cloud has its own keys: real credentials are never sent to it.
        env_vars.retain(|k, _| !k.starts_with("HW_") && !k.starts_with("ALAYA_"));
    }
    let env = ProviderEnv { vars: env_vars };
    // Provider settings may use variables and the workspace's name (a region per workspace).
    let meta = Value::object([("workspace", Value::string(workspace))]);
    let root = BTreeMap::from([
        ("var".to_string(), Value::Object(ws.vars.clone())),
        ("inferform".to_string(), meta.clone()),
        ("terraform".to_string(), meta),
    ]);
    let scope = Scope::new(&root);
    for key in needed {
        // `fabric.west` is the `fabric` provider's configuration with alias `west`.
        let name = key.split('.').next().unwrap_or(key);
        let Some(factory) = ws.factories.get(name) else {
            continue;
        };
        let block = ws.config.providers.iter().find(|p| &p.key() == key);
        let mut config = match block {
            Some(p) => {
                let what = format!("provider \"{name}\"");
                let before = diags.0.len();
                let v = decode_body(
                    &p.body,
                    &factory.provider_schema(),
                    &scope,
                    &what,
                    &mut diags,
                );
                if diags.0[before..].iter().any(|d| d.is_error()) {
                    continue;
                }
                match v.deep_unmarked().to_json() {
                    Some(serde_json::Value::Object(m)) => {
                        m.into_iter().filter(|(_, v)| !v.is_null()).collect()
                    }
                    _ => {
                        diags.push(
                            Diagnostic::error(
                                "inferform::provider::unknown",
                                format!("provider \"{name}\" uses a value not known until apply"),
                            )
                            .with_span(p.span.clone())
                            .with_help("provider settings may use variables and literals only"),
                        );
                        continue;
                    }
                }
            }
            None => serde_json::Map::new(),
        };
        if let Some(cloud) = local {
            local_cloud_settings(name, &mut config, &cloud.base_url());
        }
        match factory.configure(&config, &env) {
            Ok(p) => {
                out.insert(key.clone(), p);
            }
            Err(e) => {
                let mut d = Diagnostic::error(
                    "inferform::provider::configure",
                    if e.message.starts_with(&format!("provider \"{name}\"")) {
                        e.message.clone()
                    } else {
                        format!("provider \"{name}\": {}", e.message)
                    },
                );
                if let Some(help) = &e.help {
                    d = d.with_help(help.clone());
                }
                let span = match block {
                    Some(p) => e
                        .attribute
                        .as_deref()
                        .and_then(|a| p.body.attribute(a))
                        .map(|a| a.name_span.clone())
                        .or_else(|| Some(p.span.clone())),
                    None => ws
                        .config
                        .resources
                        .iter()
                        .find(|r| &inferform_lang::Config::provider_key(r) == key)
                        .map(|r| r.span.clone()),
                };
                if block.is_none() {
                    d.help = Some(format!(
                        "{}; this configuration has no provider \"{name}\" block, so only the environment was read",
                        d.help.unwrap_or_default()
                    ));
                }
                diags.push(d.with_span_opt(span));
            }
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

/// Points a provider at the local cloud and gives it the local cloud's default keys unless the
/// block sets credentials itself.
fn local_cloud_settings(
    name: &str,
    config: &mut serde_json::Map<String, serde_json::Value>,
    base_url: &str,
) {
    let defaults = inferform_local_cloud::Config::default();
    let set = |config: &mut serde_json::Map<String, serde_json::Value>, k: &str, v: &str| {
        config.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    };
    match name {
        "fabric" => {
            set(config, "endpoint", base_url);
            set(config, "ep_endpoint", base_url);
            if !config.contains_key("access_key") && !config.contains_key("auth_token") {
                set(config, "access_key", &defaults.fabric_access_key);
                set(config, "secret_key", &defaults.fabric_secret_key);
            }
        }
        "alaya" => {
            set(config, "endpoint", base_url);
            if !config.contains_key("access_key") {
                set(config, "access_key", &defaults.alaya_access_key);
                set(config, "secret_key", &defaults.alaya_secret_key);
            }
        }
        _ => {}
    }
}
