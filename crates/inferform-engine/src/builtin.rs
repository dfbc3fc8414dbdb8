//! The built-in provider `inferform`. Its resource type `inferform_data`, like Terraform's
//! `terraform_data`, stores `input` and echoes it as `output`, and is replaced when
//! `triggers_replace` changes: no cloud, handy for tests, benchmarks and glue. Its data source
//! `inferform_remote_state`, like `terraform_remote_state`, reads the root outputs of another
//! configuration's state, through a [`RemoteStateReader`] the binary gives it, because the
//! engine itself reads no state but its own store.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use inferform_provider::{
    ConfigureError, ErrorKind, Object, OpContext, Provider, ProviderEnv, ProviderError,
    ProviderFactory,
};
use inferform_types::{Attribute, Schema, Type};

/// The data source type that reads another configuration's outputs.
pub const REMOTE_STATE: &str = "inferform_remote_state";

/// Reads the root outputs of a state that a backend holds, for `inferform_remote_state`. The
/// binary implements it over the state backends; the engine only calls it, so plans stay
/// testable without a database or files.
pub trait RemoteStateReader: Send + Sync {
    /// The root outputs of `workspace` in the state the backend describes: name -> (value as
    /// JSON, sensitive). `backend` is `pg` or `local`; `config` holds the data source's
    /// `config` (`conn_str`, `schema_name`... for pg; `path`, a configuration directory, for
    /// local). A state that cannot be read, or a workspace that does not exist, is an error,
    /// never empty outputs: the message is shown to the user, so it must not hold a credential.
    fn read_outputs(
        &self,
        backend: &str,
        config: &serde_json::Map<String, serde_json::Value>,
        workspace: &str,
    ) -> Result<BTreeMap<String, (serde_json::Value, bool)>, String>;
}

/// Makes the built-in provider. [`BuiltinFactory::default`] has no remote state reader, so
/// `inferform_remote_state` fails with a clear error when read;
/// [`BuiltinFactory::with_remote_state`] gives it one.
#[derive(Clone, Default)]
pub struct BuiltinFactory {
    remote_state: Option<Arc<dyn RemoteStateReader>>,
}

impl BuiltinFactory {
    /// A factory whose providers read `inferform_remote_state` with `reader`.
    pub fn with_remote_state(reader: Arc<dyn RemoteStateReader>) -> Self {
        BuiltinFactory {
            remote_state: Some(reader),
        }
    }
}

impl ProviderFactory for BuiltinFactory {
    fn name(&self) -> &'static str {
        "inferform"
    }

    fn provider_schema(&self) -> Schema {
        Schema::new().describe("The built-in provider; it takes no settings.")
    }

    fn resource_schemas(&self) -> BTreeMap<String, Schema> {
        let schema = Schema::new()
            .describe(
                "Stores a value in state and echoes it; replaced when triggers_replace changes.",
            )
            .attr(
                "id",
                Attribute::computed(Type::String).describe("A unique id, made at create."),
            )
            .attr(
                "input",
                Attribute::optional(Type::Any).describe("Any value to store."),
            )
            .attr(
                "output",
                Attribute::computed(Type::Any).describe("The stored input."),
            )
            .attr(
                "triggers_replace",
                Attribute::optional(Type::Any)
                    .force_new()
                    .describe("Any value; a change replaces the resource."),
            );
        BTreeMap::from([("inferform_data".to_string(), schema)])
    }

    fn data_source_schemas(&self) -> BTreeMap<String, Schema> {
        let schema = Schema::new()
            .describe("Reads the root outputs of another configuration's state.")
            .attr(
                "backend",
                Attribute::required(Type::String)
                    .describe("Where the other state lives: \"pg\" or \"local\"."),
            )
            .attr(
                "config",
                Attribute::optional(Type::Any).describe(
                    "The backend's settings: conn_str, schema_name for pg; path (the configuration's directory) for local.",
                ),
            )
            .attr(
                "workspace",
                Attribute::optional_computed(Type::String)
                    .describe("The workspace to read; \"default\" when unset."),
            )
            .attr(
                "defaults",
                Attribute::optional(Type::Any)
                    .describe("Values for outputs the state does not have."),
            )
            .attr(
                "outputs",
                Attribute::computed(Type::Any).describe(
                    "The root outputs, by name; sensitive ones stay sensitive.",
                ),
            );
        BTreeMap::from([(REMOTE_STATE.to_string(), schema)])
    }

    fn configure(
        &self,
        _config: &Object,
        _env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConfigureError> {
        Ok(Arc::new(Builtin {
            counter: AtomicU64::new(0),
            nonce: nonce(),
            remote_state: self.remote_state.clone(),
        }))
    }
}

/// A per-process prefix so ids from different runs do not collide.
fn nonce() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (t as u64) ^ ((std::process::id() as u64) << 32)
}

struct Builtin {
    counter: AtomicU64,
    nonce: u64,
    remote_state: Option<Arc<dyn RemoteStateReader>>,
}

/// The settings `inferform_remote_state`'s `config` takes for each backend.
fn remote_state_settings(backend: &str) -> Option<Vec<&'static str>> {
    match backend {
        "local" => Some(vec!["path"]),
        other => inferform_lang::backend::arguments(other)
            .map(|args| args.iter().map(|(name, _)| *name).collect()),
    }
}

fn invalid(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::Invalid, message)
}

impl Builtin {
    /// Reads `inferform_remote_state`: the outputs the reader finds, over `defaults`, with
    /// the paths of the sensitive ones under [`crate::SENSITIVE_PATHS`].
    fn read_remote_state(&self, query: &Object) -> Result<Object, ProviderError> {
        let backend = query
            .get("backend")
            .and_then(|v| v.as_str())
            .ok_or_else(|| invalid("`backend` must be \"pg\" or \"local\""))?;
        let Some(allowed) = remote_state_settings(backend) else {
            let kinds: Vec<&str> = inferform_lang::backend::kinds().collect();
            let hint = match inferform_lang::suggest::did_you_mean(backend, kinds.iter().copied()) {
                Some(s) => format!("did you mean \"{s}\"?"),
                None => format!("the backends are {}", kinds.join(", ")),
            };
            return Err(invalid(format!(
                "there is no backend type named \"{backend}\": {hint}"
            )));
        };
        let config = match query.get("config") {
            None => serde_json::Map::new(),
            Some(serde_json::Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(invalid(format!(
                    "`config` must be an object of {backend} settings, such as {{ {} = ... }}",
                    allowed.first().copied().unwrap_or("path")
                )))
            }
        };
        for key in config.keys() {
            if !allowed.contains(&key.as_str()) {
                let hint = match inferform_lang::suggest::did_you_mean(key, allowed.iter().copied())
                {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("it takes {}", allowed.join(", ")),
                };
                return Err(invalid(format!(
                    "`config` has `{key}`, which is not a setting of the {backend} backend: {hint}"
                )));
            }
        }
        let workspace = query
            .get("workspace")
            .and_then(|v| v.as_str())
            .unwrap_or(crate::scope::DEFAULT_WORKSPACE)
            .to_string();
        let mut outputs =
            match query.get("defaults") {
                None => serde_json::Map::new(),
                Some(serde_json::Value::Object(m)) => m.clone(),
                Some(_) => return Err(invalid(
                    "`defaults` must be an object of output values, such as { endpoint_id = \"\" }",
                )),
            };
        let reader = self.remote_state.as_ref().ok_or_else(|| {
            invalid("reading another configuration's state is not available here: the built-in provider was made without a remote state reader")
        })?;
        let found = reader
            .read_outputs(backend, &config, &workspace)
            .map_err(|e| {
                invalid(format!(
                    "cannot read the outputs of workspace \"{workspace}\" from the {backend} backend: {e}"
                ))
            })?;
        let mut sensitive = Vec::new();
        for (name, (value, secret)) in found {
            if secret {
                sensitive.push(serde_json::json!(["outputs", name]));
            }
            outputs.insert(name, value);
        }
        let mut out = Object::new();
        out.insert("backend".into(), backend.into());
        out.insert("config".into(), serde_json::Value::Object(config));
        out.insert("workspace".into(), workspace.into());
        out.insert(
            "defaults".into(),
            query.get("defaults").cloned().unwrap_or_default(),
        );
        out.insert("outputs".into(), serde_json::Value::Object(outputs));
        if !sensitive.is_empty() {
            out.insert(
                crate::SENSITIVE_PATHS.into(),
                serde_json::Value::Array(sensitive),
            );
        }
        Ok(out)
    }
}

impl Builtin {
    fn object(&self, planned: &Object, id: String) -> Object {
        let input = planned
            .get("input")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let mut out = Object::new();
        out.insert("id".into(), id.into());
        out.insert("input".into(), input.clone());
        out.insert("output".into(), input);
        out.insert(
            "triggers_replace".into(),
            planned.get("triggers_replace").cloned().unwrap_or_default(),
        );
        out
    }
}

#[async_trait::async_trait]
impl Provider for Builtin {
    async fn read(
        &self,
        _: &OpContext,
        _: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        Ok(Some(prior.clone()))
    }

    async fn create(
        &self,
        _: &OpContext,
        _: &str,
        planned: &Object,
    ) -> Result<Object, ProviderError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Ok(self.object(planned, format!("{:016x}-{n:08x}", self.nonce)))
    }

    async fn update(
        &self,
        _: &OpContext,
        _: &str,
        prior: &Object,
        planned: &Object,
    ) -> Result<Object, ProviderError> {
        let id = prior
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        Ok(self.object(planned, id))
    }

    async fn delete(&self, _: &OpContext, _: &str, _: &Object) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn find(
        &self,
        _: &OpContext,
        _: &str,
        _: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        Ok(None)
    }

    async fn read_data(
        &self,
        _: &OpContext,
        type_name: &str,
        config: &Object,
    ) -> Result<Object, ProviderError> {
        if type_name != REMOTE_STATE {
            return Err(invalid(format!("there is no data source {type_name}")));
        }
        self.read_remote_state(config)
    }
}
