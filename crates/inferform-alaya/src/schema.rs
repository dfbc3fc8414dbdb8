//! The schemas of the `alaya` provider block and `alaya_expert_deployment`.
//!
//! Attribute names are the API's camelCase names in snake_case (`vksId` → `vks_id`); fixed-field
//! objects are nested blocks; free-key maps (`env`, `labels`, `extensions`) are attributes.

use inferform_provider::lookup::{data_source_schema, Lookup};
use inferform_types::{Attribute, Block, Schema, Type};

pub const EXPERT_DEPLOYMENT: &str = "alaya_expert_deployment";

fn s() -> Type {
    Type::String
}

fn n() -> Type {
    Type::Number
}

pub fn provider() -> Schema {
    Schema::new()
        .describe("Alaya NeW serverless inference.")
        .attr(
            "access_key",
            Attribute::optional(s()).describe("Open API access key (default: ALAYA_ACCESS_KEY)."),
        )
        .attr(
            "secret_key",
            Attribute::optional(s())
                .sensitive()
                .describe("Open API secret key (default: ALAYA_SECRET_KEY)."),
        )
        .attr(
            "endpoint",
            Attribute::optional(s()).describe(
                "Base URL of the API, with scheme; paths go under /api/serverless-infer/v1 \
                 (default: https://api.alayanew.com).",
            ),
        )
        .attr(
            "max_requests_per_second",
            Attribute::optional(n()).describe(
                "Most requests a second this provider sends, over all operations (default 20).",
            ),
        )
}

fn resource(with_workers: bool) -> Schema {
    let gpu = Schema::new()
        .describe("GPUs of each pod.")
        .attr(
            "gpu_type",
            Attribute::optional(s()).describe("GPU resource name, such as nvidia.com/gpu-l40s."),
        )
        .attr(
            "count",
            Attribute::optional(n()).describe("Number of GPUs."),
        );
    let mut schema = Schema::new()
        .describe("Resources of each pod.")
        .attr("mem", Attribute::optional(n()).describe("Memory, in GiB."))
        .attr("cpu", Attribute::optional(n()).describe("CPU cores."))
        .block("gpu", Block::single(gpu).describe("GPUs of each pod."));
    if with_workers {
        schema = schema.attr(
            "workers",
            Attribute::optional(n()).describe("Number of worker pods these resources apply to."),
        );
    }
    schema
}

fn pod_config(worker: bool) -> Schema {
    let pvc_mount = Schema::new()
        .describe("A persistent volume claim mounted into the container.")
        .attr(
            "container_path",
            Attribute::required(s()).describe("Where the volume appears in the container."),
        )
        .attr(
            "pvc_name",
            Attribute::required(s()).describe("Name of the persistent volume claim."),
        );
    let mut schema = Schema::new()
        .attr(
            "image",
            if worker {
                Attribute::optional(s())
            } else {
                Attribute::required(s())
            }
            .describe("Container image."),
        )
        .attr(
            "cmd",
            Attribute::optional(Type::list(s())).describe("Container command."),
        )
        .attr(
            "args",
            Attribute::optional(Type::list(s())).describe("Arguments of the command."),
        )
        .attr(
            "labels",
            Attribute::optional(Type::map(s())).describe("Pod labels."),
        )
        .attr(
            "env",
            Attribute::optional(Type::map(s())).describe("Environment variables of the container."),
        )
        .block(
            "resource",
            Block::single(resource(worker)).describe("Resources of each pod."),
        )
        .block(
            "pvc_mounts",
            Block::list(pvc_mount).describe("Persistent volume claims mounted into the container."),
        );
    if worker {
        schema = schema
            .describe("The worker pods of a multi-node deployment.")
            .attr(
                "workers",
                Attribute::optional(n()).describe("Number of worker pods."),
            );
    } else {
        schema = schema.describe("The head pod.");
    }
    schema
}

pub fn expert_deployment() -> Schema {
    let scale = Schema::new()
        .describe("Autoscaling; changes apply online, with a rolling update.")
        .attr(
            "min",
            Attribute::required(n()).describe("Fewest instances; 0 scales to zero when idle."),
        )
        .attr("max", Attribute::required(n()).describe("Most instances."))
        .attr(
            "rps_value",
            Attribute::optional_computed(n())
                .describe("Requests a second per instance that trigger scaling out."),
        )
        .attr(
            "idle_time",
            Attribute::optional_computed(n())
                .describe("Seconds without requests before scaling in (to zero when min is 0)."),
        );
    Schema::new()
        .describe("An Alaya NeW expert deployment: a model served with a custom image.")
        .attr(
            "id",
            Attribute::computed(s()).describe("Service id (serviceId), set by the cloud."),
        )
        .attr(
            "vks_id",
            Attribute::required(s())
                .force_new()
                .describe("VKS cluster id; changing it replaces the deployment."),
        )
        .attr(
            "namespace",
            Attribute::required(s())
                .force_new()
                .describe("VKS namespace; changing it replaces the deployment."),
        )
        .attr(
            "name",
            Attribute::required(s())
                .force_new()
                .describe("Service name; changing it replaces the deployment."),
        )
        .attr(
            "served_name",
            Attribute::required(Type::list(s()))
                .describe("Model names the service answers to (the `model` of a request)."),
        )
        .attr(
            "model_id",
            Attribute::required(s())
                .force_new()
                .describe("Model id; changing it replaces the deployment."),
        )
        .block(
            "head_config",
            Block::single(pod_config(false))
                .required()
                .describe("The head pod."),
        )
        .block(
            "worker_config",
            Block::single(pod_config(true)).describe("The worker pods of a multi-node deployment."),
        )
        .block(
            "scale",
            Block::single(scale)
                .required()
                .describe("Autoscaling; changes apply online, with a rolling update."),
        )
        .attr(
            "extensions",
            Attribute::optional(Type::map(s())).describe("Extension fields."),
        )
        .attr(
            "service_url",
            Attribute::computed(s()).describe("Base URL of the service's OpenAI-style API."),
        )
        .attr(
            "api_key",
            Attribute::computed(s())
                .sensitive()
                .describe("Key that calls to the service carry in the apiKey header."),
        )
        .attr(
            "status",
            Attribute::computed(s())
                .describe("Status: starting, running, stopping, stopped, failed."),
        )
}

pub fn resources() -> std::collections::BTreeMap<String, Schema> {
    [(EXPERT_DEPLOYMENT.to_string(), expert_deployment())]
        .into_iter()
        .collect()
}

/// The data source `alaya_expert_deployment`: a deployment looked up by `name`, narrowed by
/// `vks_id` and `namespace` when given, every other attribute read back.
pub fn data_sources() -> std::collections::BTreeMap<String, Schema> {
    let schema = data_source_schema(
        &expert_deployment(),
        &[
            ("name", Lookup::Required),
            ("vks_id", Lookup::Optional),
            ("namespace", Lookup::Optional),
        ],
    );
    [(EXPERT_DEPLOYMENT.to_string(), schema)]
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn described_and_replacing_where_the_api_says() {
        all_described(&provider(), "provider");
        let d = expert_deployment();
        all_described(&d, EXPERT_DEPLOYMENT);
        for name in ["vks_id", "namespace", "name", "model_id"] {
            assert!(d.forces_replacement(&[name]), "{name}");
        }
        assert!(!d.forces_replacement(&["served_name"]));
        assert!(!d.forces_replacement(&["scale", "max"]));
        assert!(!d.forces_replacement(&["head_config", "image"]));
        assert!(d.is_sensitive(&["api_key"]));
        assert!(provider().is_sensitive(&["secret_key"]));
    }

    #[test]
    fn the_data_source_mirrors_the_resource() {
        let data = data_sources();
        let ds = &data[EXPERT_DEPLOYMENT];
        let resource = expert_deployment();
        assert_eq!(
            ds.names().collect::<Vec<_>>(),
            resource.names().collect::<Vec<_>>()
        );
        let settable: Vec<&str> = ds
            .attributes
            .iter()
            .filter(|(_, a)| a.settable())
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(settable, ["name", "namespace", "vks_id"]);
        assert!(ds.attributes["name"].required);
        for name in ["vks_id", "namespace"] {
            let a = &ds.attributes[name];
            assert!(a.optional && a.computed && !a.required, "{name}");
        }
        assert!(ds.is_sensitive(&["api_key"]));
        assert!(ds.attributes["api_key"].computed);
        assert!(!ds.blocks["head_config"].required);
        assert!(!ds.blocks["scale"].schema.attributes["min"].settable());
    }
}
