//! A scripted in-memory cloud for the engine's cases: one resource type, `test_thing`, and
//! one data source, `test_lookup`, whose objects live in a map and whose every call is logged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use inferform_provider::{ErrorKind, Object, OpContext, Provider, ProviderError};
use inferform_types::{Attribute, Block, Schema, Type};

/// `test_thing`: `name` forces a new object, `size`, `tags`, `secret` and the `settings`
/// block change in place; `id` and `arn` come from the cloud.
pub fn thing_schema() -> Schema {
    Schema::new()
        .attr("id", Attribute::computed(Type::String))
        .attr("arn", Attribute::computed(Type::String))
        .attr("name", Attribute::required(Type::String).force_new())
        .attr("size", Attribute::optional(Type::Number))
        .attr("tags", Attribute::optional(Type::map(Type::String)))
        .attr("secret", Attribute::optional(Type::String).sensitive())
        .attr("parent", Attribute::optional(Type::String))
        .block(
            "settings",
            Block::single(
                Schema::new()
                    .attr("mode", Attribute::optional(Type::String))
                    .attr("level", Attribute::optional(Type::Number)),
            ),
        )
}

/// `test_lookup`: finds a thing by name (or by id); `id` and `size` are what the cloud says.
pub fn lookup_schema() -> Schema {
    Schema::new()
        .attr("name", Attribute::required(Type::String))
        .attr("id", Attribute::computed(Type::String))
        .attr("size", Attribute::computed(Type::Number))
}

#[derive(Default)]
pub struct Cloud {
    /// Objects by id.
    pub objects: Mutex<BTreeMap<String, Object>>,
    /// Every call that changed or read something, in order: `create NAME`, `update NAME`,
    /// `delete NAME`, `lookup NAME`.
    pub calls: Mutex<Vec<String>>,
    /// Names whose create the cloud refuses.
    pub refuse: Mutex<BTreeSet<String>>,
    /// Names whose create answers a 500: after making the object (`true`) or before (`false`).
    pub unanswered: Mutex<BTreeMap<String, bool>>,
    /// Names whose delete the cloud refuses (a 500).
    pub refuse_delete: Mutex<BTreeSet<String>>,
    /// Refuse to delete an object another object's `parent` names.
    pub guard_parents: AtomicBool,
    /// A call after which the apply is stopped (as Ctrl-C or a kill would stop it), and the
    /// apply's stop flag.
    pub stop_after: Mutex<Option<(String, Arc<AtomicBool>)>>,
    next_id: Mutex<u32>,
}

fn name_of(o: &Object) -> String {
    o.get("name")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

fn id_of(o: &Object) -> String {
    o.get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

impl Cloud {
    fn log(&self, call: String) {
        if let Some((after, stop)) = self.stop_after.lock().unwrap().as_ref() {
            if *after == call {
                stop.store(true, Ordering::SeqCst);
            }
        }
        self.calls.lock().unwrap().push(call);
    }

    /// The object called `name`, if the cloud has one.
    pub fn by_name(&self, name: &str) -> Option<Object> {
        self.objects
            .lock()
            .unwrap()
            .values()
            .find(|o| name_of(o) == name)
            .cloned()
    }

    /// Makes an object outside inferform (for imports and adoption).
    pub fn make(&self, id: &str, attrs: serde_json::Value) {
        let mut obj = attrs.as_object().cloned().unwrap_or_default();
        obj.insert("id".into(), id.into());
        obj.insert("arn".into(), format!("arn:{id}").into());
        self.objects.lock().unwrap().insert(id.to_string(), obj);
    }
}

#[async_trait::async_trait]
impl Provider for Cloud {
    async fn read(
        &self,
        _: &OpContext,
        _: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        Ok(self.objects.lock().unwrap().get(&id_of(prior)).cloned())
    }

    async fn create(
        &self,
        _: &OpContext,
        _: &str,
        planned: &Object,
    ) -> Result<Object, ProviderError> {
        let name = name_of(planned);
        self.log(format!("create {name}"));
        if self.refuse.lock().unwrap().contains(&name) {
            let mut e = ProviderError::new(ErrorKind::Api, format!("{name} is not allowed"));
            e.status = Some(400);
            return Err(e);
        }
        if self.by_name(&name).is_some() {
            let mut e = ProviderError::new(ErrorKind::Api, format!("{name} already exists"));
            e.status = Some(409);
            return Err(e);
        }
        let unanswered = self.unanswered.lock().unwrap().get(&name).copied();
        let lost = || {
            let mut e = ProviderError::new(ErrorKind::Api, "internal error".to_string());
            e.status = Some(500);
            e
        };
        if unanswered == Some(false) {
            return Err(lost());
        }
        let id = {
            let mut n = self.next_id.lock().unwrap();
            *n += 1;
            format!("id-{n}")
        };
        let mut obj = planned.clone();
        obj.insert("id".into(), id.clone().into());
        obj.insert("arn".into(), format!("arn:{id}").into());
        self.objects.lock().unwrap().insert(id, obj.clone());
        if unanswered == Some(true) {
            return Err(lost());
        }
        Ok(obj)
    }

    async fn update(
        &self,
        _: &OpContext,
        _: &str,
        prior: &Object,
        planned: &Object,
    ) -> Result<Object, ProviderError> {
        self.log(format!("update {}", name_of(planned)));
        let id = id_of(prior);
        let mut obj = planned.clone();
        obj.insert("id".into(), id.clone().into());
        obj.insert("arn".into(), format!("arn:{id}").into());
        self.objects.lock().unwrap().insert(id, obj.clone());
        Ok(obj)
    }

    /// With `guard_parents`, refuses, as the local cloud does for an endpoint still serving
    /// an instance, to delete an object that another object's `parent` names.
    async fn delete(&self, _: &OpContext, _: &str, prior: &Object) -> Result<(), ProviderError> {
        let (name, id) = (name_of(prior), id_of(prior));
        self.log(format!("delete {name}"));
        if self.refuse_delete.lock().unwrap().contains(&name) {
            let mut e = ProviderError::new(ErrorKind::Api, format!("cannot delete {name} now"));
            e.status = Some(500);
            return Err(e);
        }
        let mut objects = self.objects.lock().unwrap();
        let guarded = self.guard_parents.load(Ordering::SeqCst);
        if let Some(child) = objects
            .values()
            .filter(|_| guarded)
            .find(|o| o.get("parent").and_then(|p| p.as_str()) == Some(id.as_str()))
        {
            let mut e = ProviderError::new(
                ErrorKind::Api,
                format!("{name} is still in use by {}", name_of(child)),
            );
            e.status = Some(409);
            return Err(e);
        }
        objects.remove(&id);
        Ok(())
    }

    async fn find(
        &self,
        _: &OpContext,
        _: &str,
        planned: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        Ok(self.by_name(&name_of(planned)))
    }

    async fn import(
        &self,
        _: &OpContext,
        _: &str,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        Ok(self.objects.lock().unwrap().get(id).cloned())
    }

    async fn read_data(
        &self,
        _: &OpContext,
        _: &str,
        config: &Object,
    ) -> Result<Object, ProviderError> {
        let name = name_of(config);
        self.log(format!("lookup {name}"));
        let by_id = self.objects.lock().unwrap().get(&name).cloned();
        let found = by_id.or_else(|| self.by_name(&name)).ok_or_else(|| {
            let mut e = ProviderError::new(ErrorKind::Api, format!("no thing is called {name}"));
            e.status = Some(404);
            e
        })?;
        let mut out = Object::new();
        out.insert("name".into(), name.into());
        out.insert("id".into(), id_of(&found).into());
        out.insert(
            "size".into(),
            found
                .get("size")
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        );
        Ok(out)
    }
}
