//! The `fabric` provider: Huawei Cloud DataArts Fabric workspaces, endpoints, models and service
//! instances. It owns the SDK-HMAC-SHA256 signer ([`signer`], checked against the official
//! known-answer vectors), the API client for the two hosts ([`client`]), the resource schemas
//! ([`schema`]) and the operations ([`provider`]).
//!
//! It must not depend on the local cloud (not even in tests), print, or read the process
//! environment: defaults come in through [`ProviderEnv`]. Secrets never reach an error or a
//! `Debug` output.

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
pub mod signer;

pub use client::{Credentials, FabricAuth, FabricClient};
pub use provider::FabricProvider;

/// The provider's name, the prefix of its resource types.
pub const NAME: &str = "fabric";

/// Requests a second when the block does not say.
pub const DEFAULT_MAX_REQUESTS_PER_SECOND: f64 = 20.0;

/// Builds `fabric` providers from `provider "fabric"` blocks.
#[derive(Debug, Default, Clone)]
pub struct FabricFactory {
    /// Overrides the client's retry and timeout behaviour (tests).
    pub client_settings: Option<ClientSettings>,
}

/// The `fabric` provider factory, for the binary's registry.
pub fn factory() -> Arc<dyn ProviderFactory> {
    Arc::new(FabricFactory::default())
}

impl ProviderFactory for FabricFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn provider_schema(&self) -> Schema {
        schema::provider()
    }

    fn resource_schemas(&self) -> BTreeMap<String, Schema> {
        schema::resources()
    }

    fn data_source_schemas(&self) -> BTreeMap<String, Schema> {
        schema::data_sources()
    }

    fn import_id_format(&self, type_name: &str) -> Vec<&'static str> {
        provider::Kind::of(type_name)
            .map(|k| k.import_format().to_vec())
            .unwrap_or_default()
    }

    fn configure(
        &self,
        config: &Object,
        env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConfigureError> {
        Ok(Arc::new(self.build(config, env)?))
    }
}

impl FabricFactory {
    /// [`ProviderFactory::configure`], with the concrete type.
    pub fn build(
        &self,
        config: &Object,
        env: &ProviderEnv,
    ) -> Result<FabricProvider, ConfigureError> {
        let get = |name: &str, vars: &[&str]| settings::string(config, name, env, vars);
        let access_key = get("access_key", &["HW_ACCESS_KEY"]);
        let secret_key = get("secret_key", &["HW_SECRET_KEY"]);
        let auth_token = get("auth_token", &["HW_AUTH_TOKEN"]);
        let security_token = get("security_token", &["HW_SECURITY_TOKEN"]);
        let credentials =
            match (access_key, secret_key, auth_token) {
                (Some(access_key), Some(secret_key), _) => Credentials::AkSk {
                    access_key,
                    secret_key: Secret::new(secret_key),
                    security_token: security_token.map(Secret::new),
                },
                (_, _, Some(token)) => Credentials::Token(Secret::new(token)),
                (Some(_), None, None) => return Err(ConfigureError {
                    attribute: Some("secret_key".into()),
                    message: format!("provider \"{NAME}\" has an access key but no secret key"),
                    help: Some(
                        "set secret_key in the provider block, or HW_SECRET_KEY in the environment"
                            .into(),
                    ),
                }),
                _ => return Err(ConfigureError {
                    attribute: Some("access_key".into()),
                    message: format!("provider \"{NAME}\" has no credentials"),
                    help: Some(
                        "set access_key and secret_key in the provider block, or HW_ACCESS_KEY \
                         and HW_SECRET_KEY in the environment"
                            .into(),
                    ),
                }),
            };
        let region = get("region", &["HW_REGION_NAME"]);
        let endpoint = get("endpoint", &[]);
        let ep_endpoint = get("ep_endpoint", &[]);
        let missing_region = || ConfigureError {
            attribute: Some("region".into()),
            message: format!("provider \"{NAME}\" has no region"),
            help: Some(
                "set region in the provider block (such as cn-north-4), or HW_REGION_NAME in the \
                 environment; or set endpoint"
                    .into(),
            ),
        };
        let main = match (&endpoint, &region) {
            (Some(url), _) => settings::base_url(NAME, "endpoint", url)?,
            (None, Some(region)) => regional(region, "fabric")?,
            (None, None) => return Err(missing_region()),
        };
        let ep = match (&ep_endpoint, &endpoint, &region) {
            (Some(url), _, _) => settings::base_url(NAME, "ep_endpoint", url)?,
            (None, Some(_), _) => main.clone(),
            (None, None, Some(region)) => regional(region, "fabric-ep")?,
            (None, None, None) => return Err(missing_region()),
        };
        let mut client_settings = self.client_settings.clone().unwrap_or_default();
        client_settings.max_requests_per_second = Some(
            settings::positive_number(NAME, config, "max_requests_per_second")?
                .unwrap_or(DEFAULT_MAX_REQUESTS_PER_SECOND),
        );
        let auth = FabricAuth {
            credentials,
            project_id: get("project_id", &["HW_PROJECT_ID"]),
        };
        let client =
            FabricClient::new(main, ep, auth, &client_settings).map_err(|e| ConfigureError {
                attribute: None,
                message: format!("provider \"{NAME}\": {e}"),
                help: None,
            })?;
        Ok(FabricProvider::new(client))
    }
}

/// `https://{host}.{region}.myhuaweicloud.com`
fn regional(region: &str, host: &str) -> Result<reqwest::Url, ConfigureError> {
    let valid = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(ConfigureError {
            attribute: Some("region".into()),
            message: format!("provider \"{NAME}\": `{region}` is not a region name"),
            help: Some("use a region name such as cn-north-4 or cn-southwest-2".into()),
        });
    }
    settings::base_url(
        NAME,
        "region",
        &format!("https://{host}.{region}.myhuaweicloud.com"),
    )
}

#[cfg(test)]
mod tests;
