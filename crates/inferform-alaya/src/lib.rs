//! The `alaya` provider: Alaya NeW serverless inference, one resource type,
//! `alaya_expert_deployment`. It owns the API client (plain credential header, the
//! `{code, data, msg}` envelope: [`client`]), the schemas ([`schema`]) and the operations
//! ([`provider`]), mapping snake_case attributes to the API's camelCase.
//!
//! It must not depend on the local cloud (not even in tests), print, or read the process
//! environment: defaults come in through [`ProviderEnv`]. Secrets and API keys never reach an
//! error or a `Debug` output.

use std::collections::BTreeMap;
use std::sync::Arc;

use inferform_provider::settings;
use inferform_provider::{
    ClientSettings, ConfigureError, Object, Provider, ProviderEnv, ProviderFactory, Secret,
};
use inferform_types::Schema;

pub mod client;
pub mod provider;
pub mod schema;

pub use client::{AlayaAuth, AlayaClient};
pub use provider::AlayaProvider;

/// The provider's name, the prefix of its resource types.
pub const NAME: &str = "alaya";

/// The API's base URL when the block does not say.
pub const DEFAULT_ENDPOINT: &str = "https://api.alayanew.com";

/// Requests a second when the block does not say.
pub const DEFAULT_MAX_REQUESTS_PER_SECOND: f64 = 20.0;

/// Builds `alaya` providers from `provider "alaya"` blocks.
#[derive(Debug, Default, Clone)]
pub struct AlayaFactory {
    /// Overrides the client's retry and timeout behaviour (tests).
    pub client_settings: Option<ClientSettings>,
}

/// The `alaya` provider factory, for the binary's registry.
pub fn factory() -> Arc<dyn ProviderFactory> {
    Arc::new(AlayaFactory::default())
}

impl ProviderFactory for AlayaFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn provider_schema(&self) -> Schema {
        schema::provider()
    }

    fn resource_schemas(&self) -> BTreeMap<String, Schema> {
        schema::resources()
    }

    fn import_id_format(&self, type_name: &str) -> Vec<&'static str> {
        if schema::resources().contains_key(type_name) {
            provider::IMPORT_ID_FORMAT.to_vec()
        } else {
            Vec::new()
        }
    }

    fn data_source_schemas(&self) -> BTreeMap<String, Schema> {
        schema::data_sources()
    }

    fn configure(
        &self,
        config: &Object,
        env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConfigureError> {
        Ok(Arc::new(self.build(config, env)?))
    }
}

impl AlayaFactory {
    /// [`ProviderFactory::configure`], with the concrete type.
    pub fn build(
        &self,
        config: &Object,
        env: &ProviderEnv,
    ) -> Result<AlayaProvider, ConfigureError> {
        let get = |name: &str, vars: &[&str]| settings::string(config, name, env, vars);
        let (access_key, secret_key) = match (
            get("access_key", &["ALAYA_ACCESS_KEY"]),
            get("secret_key", &["ALAYA_SECRET_KEY"]),
        ) {
            (Some(ak), Some(sk)) => (ak, sk),
            (Some(_), None) => return Err(ConfigureError {
                attribute: Some("secret_key".into()),
                message: format!("provider \"{NAME}\" has an access key but no secret key"),
                help: Some(
                    "set secret_key in the provider block, or ALAYA_SECRET_KEY in the environment"
                        .into(),
                ),
            }),
            _ => {
                return Err(ConfigureError {
                    attribute: Some("access_key".into()),
                    message: format!("provider \"{NAME}\" has no credentials"),
                    help: Some(
                        "set access_key and secret_key in the provider block, or ALAYA_ACCESS_KEY \
                         and ALAYA_SECRET_KEY in the environment"
                            .into(),
                    ),
                })
            }
        };
        let endpoint = get("endpoint", &[]).unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let base = settings::base_url(NAME, "endpoint", &endpoint)?;
        let mut client_settings = self.client_settings.clone().unwrap_or_default();
        client_settings.max_requests_per_second = Some(
            settings::positive_number(NAME, config, "max_requests_per_second")?
                .unwrap_or(DEFAULT_MAX_REQUESTS_PER_SECOND),
        );
        let auth = AlayaAuth {
            access_key,
            secret_key: Secret::new(secret_key),
        };
        let client =
            AlayaClient::new(base, auth, &client_settings).map_err(|e| ConfigureError {
                attribute: None,
                message: format!("provider \"{NAME}\": {e}"),
                help: None,
            })?;
        Ok(AlayaProvider::new(client))
    }
}

#[cfg(test)]
mod tests;
