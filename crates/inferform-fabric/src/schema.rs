//! The schemas of the `fabric` provider block and its four resource types.
//!
//! Attribute names are the API's field names; path parameters are attributes
//! (`workspace_id`); fixed-field objects are single nested blocks. Fields the cloud fills in
//! when the configuration leaves them out are optional and computed. `force_new` marks exactly
//! the fields CLOUD-APIS.md says cannot change in place.

use inferform_provider::lookup::{data_source_schema, Lookup};
use inferform_types::{Attribute, Block, Schema, Type};

pub const WORKSPACE: &str = "fabric_workspace";
pub const ENDPOINT: &str = "fabric_endpoint";
pub const MODEL: &str = "fabric_model";
pub const SERVICE_INSTANCE: &str = "fabric_service_instance";

fn s() -> Type {
    Type::String
}

fn n() -> Type {
    Type::Number
}

pub fn provider() -> Schema {
    Schema::new()
        .describe("Huawei Cloud DataArts Fabric.")
        .attr(
            "region",
            Attribute::optional(s()).describe(
                "Region, such as cn-north-4 or cn-southwest-2 (default: HW_REGION_NAME).",
            ),
        )
        .attr(
            "project_id",
            Attribute::optional(s())
                .describe("Project id, sent as X-Project-Id (default: HW_PROJECT_ID)."),
        )
        .attr(
            "access_key",
            Attribute::optional(s())
                .describe("Access key (AK) that signs requests (default: HW_ACCESS_KEY)."),
        )
        .attr(
            "secret_key",
            Attribute::optional(s())
                .sensitive()
                .describe("Secret key (SK) that signs requests (default: HW_SECRET_KEY)."),
        )
        .attr(
            "auth_token",
            Attribute::optional(s()).sensitive().describe(
                "IAM token sent as X-Auth-Token, instead of AK/SK (default: HW_AUTH_TOKEN).",
            ),
        )
        .attr(
            "security_token",
            Attribute::optional(s()).sensitive().describe(
                "Security token of temporary AK/SK credentials, sent as X-Security-Token.",
            ),
        )
        .attr(
            "endpoint",
            Attribute::optional(s()).describe(
                "Base URL of the workspace, endpoint and model API, with scheme \
                 (default: https://fabric.{region}.myhuaweicloud.com).",
            ),
        )
        .attr(
            "ep_endpoint",
            Attribute::optional(s()).describe(
                "Base URL of the service instance API, with scheme (default: endpoint when it is \
                 set, else https://fabric-ep.{region}.myhuaweicloud.com).",
            ),
        )
        .attr(
            "max_requests_per_second",
            Attribute::optional(n()).describe(
                "Most requests a second this provider sends, over all operations (default 20).",
            ),
        )
}

fn workspace_id() -> Attribute {
    Attribute::required(s())
        .force_new()
        .describe("Id of the workspace that holds it.")
}

fn id(what: &str) -> Attribute {
    Attribute::computed(s()).describe(format!("Id of the {what}, set by the cloud."))
}

pub fn workspace() -> Schema {
    Schema::new()
        .describe("A DataArts Fabric workspace: holds endpoints, models and service instances.")
        .attr("id", id("workspace"))
        .attr("name", Attribute::required(s()).describe("Workspace name."))
        .attr(
            "description",
            Attribute::optional(s()).describe("Free-text description."),
        )
        .attr(
            "metastore_id",
            Attribute::optional_computed(s()).describe("Id of the metastore the workspace uses."),
        )
        .attr(
            "enterprise_project_id",
            Attribute::optional_computed(s()).force_new().describe(
                "Enterprise project the workspace belongs to; changing it replaces the workspace.",
            ),
        )
        .attr(
            "create_time",
            Attribute::computed(s()).describe("When it was created (RFC 3339)."),
        )
        .attr(
            "create_domain_name",
            Attribute::computed(s()).describe("Account (domain) that created it."),
        )
        .attr(
            "create_user_name",
            Attribute::computed(s()).describe("User that created it."),
        )
        .attr(
            "access_url",
            Attribute::computed(s()).describe("URL of the workspace's console."),
        )
}

pub fn endpoint() -> Schema {
    let mu = Schema::new()
        .describe("Model units reserved for the endpoint.")
        .attr(
            "spec_code",
            Attribute::required(s()).describe("Resource specification, such as mu.llama3.8b."),
        )
        .attr(
            "min",
            Attribute::optional_computed(n()).describe("Fewest model units kept reserved."),
        )
        .attr(
            "max",
            Attribute::optional_computed(n()).describe("Most model units the endpoint may use."),
        );
    Schema::new()
        .describe("A DataArts Fabric endpoint: reserved compute that service instances run on.")
        .attr("id", id("endpoint"))
        .attr("workspace_id", workspace_id())
        .attr("name", Attribute::required(s()).describe("Endpoint name."))
        .attr(
            "type",
            Attribute::required(s())
                .force_new()
                .describe("Endpoint type: inference, service, ray, job, ...; changing it replaces the endpoint."),
        )
        .attr(
            "description",
            Attribute::optional(s()).describe("Free-text description."),
        )
        .block(
            "reserved_resource",
            Block::single(
                Schema::new()
                    .describe("Resources reserved for the endpoint.")
                    .block("mu", Block::single(mu).describe("Model units reserved.")),
            )
            .describe("Resources reserved for the endpoint."),
        )
        .attr(
            "status",
            Attribute::computed(s()).describe("Status: CREATING, RUNNING, UPDATING, ..."),
        )
        .attr(
            "visibility",
            Attribute::computed(s()).describe("Who may see the endpoint (PRIVATE, ...)."),
        )
        .attr(
            "urls",
            Attribute::computed(Type::list(s())).describe("URLs the endpoint answers on."),
        )
        .attr(
            "create_time",
            Attribute::computed(s()).describe("When it was created (RFC 3339)."),
        )
        .attr(
            "update_time",
            Attribute::computed(s()).describe("When it last changed (RFC 3339)."),
        )
}

pub fn model() -> Schema {
    let llm = Schema::new()
        .describe("Configuration of a large language model.")
        .attr(
            "base_model_type",
            Attribute::optional(s())
                .describe("Base model the weights belong to, such as llama3-8b."),
        )
        .attr(
            "model_path",
            Attribute::optional(s())
                .describe("Where the weights are, such as obs://models/llama3."),
        );
    let config = Schema::new().describe("Version configuration.").block(
        "llm_model_config",
        Block::single(llm).describe("Configuration of a large language model."),
    );
    let version = Schema::new()
        .describe("The model's current version; changing it adds a new version.")
        .attr(
            "name",
            Attribute::optional(s()).describe("Version name, such as v1."),
        )
        .attr(
            "description",
            Attribute::optional(s()).describe("Free-text description of the version."),
        )
        .block(
            "config",
            Block::single(config).describe("Version configuration."),
        );
    Schema::new()
        .describe("A DataArts Fabric model: weights that service instances serve.")
        .attr("id", id("model"))
        .attr("workspace_id", workspace_id())
        .attr("name", Attribute::required(s()).describe("Model name."))
        .attr(
            "type",
            Attribute::required(s())
                .force_new()
                .describe("Model type, such as LLM_MODEL; changing it replaces the model."),
        )
        .attr(
            "description",
            Attribute::optional(s()).describe("Free-text description."),
        )
        .block(
            "version",
            Block::single(version)
                .describe("The model's current version; changing it adds a new version."),
        )
        .attr(
            "version_id",
            Attribute::computed(s()).describe("Id of the model's current version."),
        )
        .attr(
            "create_time",
            Attribute::computed(s()).describe("When it was created (RFC 3339)."),
        )
}

pub fn service_instance() -> Schema {
    let source = Schema::new()
        .describe("The model the instance serves.")
        .attr(
            "id",
            Attribute::required(s())
                .force_new()
                .describe("Id of the model; changing it replaces the instance."),
        )
        .attr(
            "version_id",
            Attribute::optional_computed(s())
                .force_new()
                .describe("Id of the model version (default: the current one); changing it replaces the instance."),
        );
    let resource = Schema::new()
        .describe("Model units the instance runs on.")
        .attr(
            "spec_code",
            Attribute::optional_computed(s())
                .describe("Resource specification, such as mu.llama3.8b."),
        )
        .attr(
            "min",
            Attribute::optional_computed(n())
                .force_new()
                .describe("Fewest model units; changing it replaces the instance."),
        )
        .attr(
            "max",
            Attribute::optional_computed(n())
                .describe("Most model units (at least min, at most the endpoint's max)."),
        );
    let model_instance_config = Schema::new()
        .describe("Configuration of a model instance.")
        .block(
            "resource",
            Block::single(resource).describe("Model units the instance runs on."),
        );
    let config = Schema::new().describe("Instance configuration.").block(
        "model_instance_config",
        Block::single(model_instance_config).describe("Configuration of a model instance."),
    );
    Schema::new()
        .describe("A DataArts Fabric service instance: a model served on an endpoint.")
        .attr("id", id("service instance"))
        .attr("workspace_id", workspace_id())
        .attr(
            "name",
            Attribute::required(s()).describe("Instance name (1-64 characters)."),
        )
        .attr(
            "endpoint_id",
            Attribute::required(s())
                .force_new()
                .describe("Id of the endpoint it runs on; changing it replaces the instance."),
        )
        .attr(
            "description",
            Attribute::optional(s()).describe("Free-text description."),
        )
        .block(
            "source",
            Block::single(source)
                .required()
                .describe("The model the instance serves."),
        )
        .block(
            "config",
            Block::single(config).describe("Instance configuration."),
        )
        .attr(
            "status",
            Attribute::computed(s()).describe("Status: PENDING, CREATING, RUNNING, UPDATING, ..."),
        )
        .attr(
            "create_time",
            Attribute::computed(s()).describe("When it was created (RFC 3339)."),
        )
        .attr(
            "update_time",
            Attribute::computed(s()).describe("When it last changed (RFC 3339)."),
        )
}

/// Every resource type's schema, by name.
pub fn resources() -> std::collections::BTreeMap<String, Schema> {
    [
        (WORKSPACE, workspace()),
        (ENDPOINT, endpoint()),
        (MODEL, model()),
        (SERVICE_INSTANCE, service_instance()),
    ]
    .into_iter()
    .map(|(name, schema)| (name.to_string(), schema))
    .collect()
}

/// Every data source's schema, by name: each resource type can be looked up by its name (and
/// its workspace), with every other attribute read back.
pub fn data_sources() -> std::collections::BTreeMap<String, Schema> {
    resources()
        .into_iter()
        .map(|(name, schema)| {
            let lookups: &[(&str, Lookup)] = if name == WORKSPACE {
                &[("name", Lookup::Required)]
            } else {
                &[
                    ("workspace_id", Lookup::Required),
                    ("name", Lookup::Required),
                ]
            };
            let data = data_source_schema(&schema, lookups);
            (name, data)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferform_types::Schema;

    fn all_described(schema: &Schema, path: &str) {
        for (name, a) in &schema.attributes {
            assert!(
                !a.description.is_empty(),
                "{path}.{name} has no description"
            );
        }
        for (name, b) in &schema.blocks {
            assert!(
                !b.description.is_empty(),
                "{path}.{name} has no description"
            );
            all_described(&b.schema, &format!("{path}.{name}"));
        }
    }

    #[test]
    fn every_attribute_is_described() {
        all_described(&provider(), "provider");
        for (name, schema) in resources() {
            all_described(&schema, &name);
        }
    }

    #[test]
    fn replacement_is_where_the_api_says() {
        let r = resources();
        assert!(r[WORKSPACE].forces_replacement(&["enterprise_project_id"]));
        assert!(!r[WORKSPACE].forces_replacement(&["name"]));
        assert!(r[ENDPOINT].forces_replacement(&["type"]));
        assert!(r[ENDPOINT].forces_replacement(&["workspace_id"]));
        assert!(!r[ENDPOINT].forces_replacement(&["reserved_resource", "mu", "max"]));
        assert!(r[MODEL].forces_replacement(&["type"]));
        assert!(!r[MODEL].forces_replacement(&["version", "name"]));
        let i = &r[SERVICE_INSTANCE];
        for path in [
            &["endpoint_id"][..],
            &["source", "id"],
            &["source", "version_id"],
            &["config", "model_instance_config", "resource", "min"],
            &["workspace_id"],
        ] {
            assert!(i.forces_replacement(path), "{path:?}");
        }
        assert!(!i.forces_replacement(&["config", "model_instance_config", "resource", "max"]));
        assert!(!i.forces_replacement(&["name"]));
    }

    #[test]
    fn data_sources_mirror_the_resources() {
        let resources = resources();
        let data = data_sources();
        assert_eq!(
            data.keys().collect::<Vec<_>>(),
            resources.keys().collect::<Vec<_>>()
        );
        for (name, ds) in &data {
            let resource = &resources[name];
            let args: Vec<&str> = ds
                .attributes
                .iter()
                .filter(|(_, a)| a.settable())
                .map(|(n, _)| n.as_str())
                .collect();
            let expected: &[&str] = if name == WORKSPACE {
                &["name"]
            } else {
                &["name", "workspace_id"]
            };
            assert_eq!(args, expected, "{name}");
            assert!(args.iter().all(|a| ds.attributes[*a].required), "{name}");
            // Same names everywhere, so the result has the resource's shape.
            assert_eq!(
                ds.names().collect::<Vec<_>>(),
                resource.names().collect::<Vec<_>>()
            );
            assert!(ds.blocks.values().all(|b| !b.required), "{name}");
        }
        let ep = &data[ENDPOINT].blocks["reserved_resource"].schema.blocks["mu"].schema;
        assert!(ep.attributes["spec_code"].computed && !ep.attributes["spec_code"].required);
    }

    #[test]
    fn secrets_are_sensitive() {
        let p = provider();
        for name in ["secret_key", "auth_token", "security_token"] {
            assert!(p.is_sensitive(&[name]), "{name}");
        }
    }
}
