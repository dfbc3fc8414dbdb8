//! The built-in provider `inferform` and its one resource type, `inferform_data`, like
//! Terraform's `terraform_data`: it stores `input` and echoes it as `output`, and is replaced
//! when `triggers_replace` changes. No cloud: handy for tests, benchmarks and glue.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use inferform_provider::{
    ConfigureError, Object, OpContext, Provider, ProviderEnv, ProviderError, ProviderFactory,
};
use inferform_types::{Attribute, Schema, Type};

pub struct BuiltinFactory;

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

    fn configure(
        &self,
        _config: &Object,
        _env: &ProviderEnv,
    ) -> Result<Arc<dyn Provider>, ConfigureError> {
        Ok(Arc::new(Builtin {
            counter: AtomicU64::new(0),
            nonce: nonce(),
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
}
