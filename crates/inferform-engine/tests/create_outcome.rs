//! A create whose outcome is unknown keeps its intent, and the next plan adopts the object by
//! name; a create the cloud clearly refused clears it. Through the engine alone, with a fake
//! cloud whose create answers can be made unreadable (issue 12, item 5).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inferform_engine::{Action, ApplyFailure, ApplyInput, ApplyObserver, Engine, PlanOptions};
use inferform_lang::load_sources;
use inferform_provider::{ErrorKind, Object, OpContext, Provider, ProviderError};
use inferform_state::{MemoryStore, State, StateStore};
use inferform_types::{Attribute, ResourceInstanceAddr, Schema, Type};

/// One kind of object, `fake_thing`, with a unique name. `answer` is what the next creates
/// answer after making the object (`None`: the object, as a cloud would).
#[derive(Default)]
struct FakeCloud {
    objects: Mutex<BTreeMap<String, Object>>,
    answer: Mutex<Option<ProviderError>>,
    /// When set, creates are refused with this error before anything is made.
    refuse: Mutex<Option<ProviderError>>,
    next_id: Mutex<u32>,
}

#[async_trait::async_trait]
impl Provider for FakeCloud {
    async fn read(
        &self,
        _: &OpContext,
        _: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let id = prior.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        Ok(self.objects.lock().unwrap().get(id).cloned())
    }

    async fn create(
        &self,
        _: &OpContext,
        _: &str,
        planned: &Object,
    ) -> Result<Object, ProviderError> {
        if let Some(e) = self.refuse.lock().unwrap().clone() {
            return Err(e);
        }
        let name = planned.get("name").cloned().unwrap_or_default();
        if self
            .objects
            .lock()
            .unwrap()
            .values()
            .any(|o| o.get("name") == Some(&name))
        {
            let mut e = ProviderError::new(ErrorKind::Api, format!("{name} already exists"));
            e.status = Some(409);
            return Err(e);
        }
        let id = {
            let mut n = self.next_id.lock().unwrap();
            *n += 1;
            format!("id-{n}")
        };
        let mut obj = planned.clone();
        obj.insert("id".into(), id.clone().into());
        self.objects.lock().unwrap().insert(id, obj.clone());
        match self.answer.lock().unwrap().clone() {
            Some(e) => Err(e),
            None => Ok(obj),
        }
    }

    async fn update(
        &self,
        _: &OpContext,
        _: &str,
        _: &Object,
        planned: &Object,
    ) -> Result<Object, ProviderError> {
        Ok(planned.clone())
    }

    async fn delete(&self, _: &OpContext, _: &str, prior: &Object) -> Result<(), ProviderError> {
        let id = prior.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        self.objects.lock().unwrap().remove(id);
        Ok(())
    }

    async fn find(
        &self,
        _: &OpContext,
        _: &str,
        planned: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let name = planned.get("name");
        Ok(self
            .objects
            .lock()
            .unwrap()
            .values()
            .find(|o| o.get("name") == name)
            .cloned())
    }
}

struct Quiet;

impl ApplyObserver for Quiet {
    fn started(&self, _: &ResourceInstanceAddr, _: Action) {}
    fn status(&self, _: &ResourceInstanceAddr, _: &str) {}
    fn finished(&self, _: &ResourceInstanceAddr, _: Action, _: Option<&str>, _: Duration) {}
    fn failed(&self, _: &ResourceInstanceAddr, _: Action, _: &str) {}
}

const CONFIG: &str = "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n}\n";

fn engine(cloud: Arc<FakeCloud>) -> Arc<Engine> {
    let schema = Schema::new()
        .attr("id", Attribute::computed(Type::String))
        .attr("name", Attribute::required(Type::String).force_new());
    Arc::new(Engine {
        providers: BTreeMap::from([("fake".to_string(), cloud as Arc<dyn Provider>)]),
        schemas: BTreeMap::from([("fake_thing".to_string(), schema)]),
        data_schemas: BTreeMap::new(),
        parallelism: 4,
    })
}

/// Plans with refresh and applies; returns the plan's adopted addresses and the failures.
async fn plan_and_apply(
    engine: &Arc<Engine>,
    store: &Arc<MemoryStore>,
) -> (Vec<String>, Vec<ApplyFailure>) {
    let (config, diags) = load_sources(vec![("main.hcl".into(), CONFIG.into())]);
    assert!(!diags.has_errors(), "{diags:?}");
    let state = store.load().unwrap();
    let opts = PlanOptions {
        refresh: true,
        ..PlanOptions::default()
    };
    let (plan, diags) = engine.plan(&config, &BTreeMap::new(), &state, &opts).await;
    assert!(!diags.has_errors(), "{diags:?}");
    let adopted = plan.adopted.iter().map(ToString::to_string).collect();
    let outcome = engine
        .apply(ApplyInput {
            config: Arc::new(config),
            plan,
            store: store.clone(),
            observer: Arc::new(Quiet),
            stop: Arc::new(AtomicBool::new(false)),
            base_dir: None,
        })
        .await;
    (adopted, outcome.failures)
}

fn unreadable(status: Option<u16>, message: &str) -> ProviderError {
    let mut e = ProviderError::new(ErrorKind::Api, message);
    e.call = Some("POST /things".into());
    e.status = status;
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_answered_unreadably_keeps_its_intent_and_is_adopted_next() {
    for answer in [
        unreadable(Some(200), "the answer is not valid JSON"),
        unreadable(Some(201), "the answer has an empty body"),
        unreadable(None, "POST /things answered without an id"),
        ProviderError::new(ErrorKind::Timeout, "timed out waiting"),
    ] {
        let cloud = Arc::new(FakeCloud::default());
        *cloud.answer.lock().unwrap() = Some(answer.clone());
        let engine = engine(cloud.clone());
        let store = Arc::new(MemoryStore::new(State::default()));

        let (_, failures) = plan_and_apply(&engine, &store).await;
        assert_eq!(failures.len(), 1, "{answer}: {failures:?}");
        let state = store.load().unwrap();
        assert!(
            state.intents.contains_key("fake_thing.a"),
            "{answer}: the intent is kept: {state:?}"
        );
        assert_eq!(cloud.objects.lock().unwrap().len(), 1);

        // The cloud answers well again: the next run adopts the object, and never reports
        // "already exists".
        *cloud.answer.lock().unwrap() = None;
        let (adopted, failures) = plan_and_apply(&engine, &store).await;
        assert!(failures.is_empty(), "{answer}: {failures:?}");
        assert_eq!(adopted, ["fake_thing.a"], "{answer}");
        let state = store.load().unwrap();
        assert!(state.intents.is_empty(), "{answer}: {state:?}");
        assert_eq!(state.resources["fake_thing.a"].attributes["id"], "id-1");
        assert!(!state.resources["fake_thing.a"].tainted);
        assert_eq!(cloud.objects.lock().unwrap().len(), 1, "no duplicate");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_create_clears_its_intent() {
    for (status, code) in [(400, None), (403, None), (409, None), (200, Some("10001"))] {
        let cloud = Arc::new(FakeCloud::default());
        let mut refusal = unreadable(Some(status), "refused");
        // An Alaya-style envelope: a 200 whose `code` says no.
        refusal.code = code.map(str::to_string);
        *cloud.refuse.lock().unwrap() = Some(refusal);
        let engine = engine(cloud.clone());
        let store = Arc::new(MemoryStore::new(State::default()));
        let (_, failures) = plan_and_apply(&engine, &store).await;
        assert_eq!(failures.len(), 1, "{failures:?}");
        let state = store.load().unwrap();
        assert!(state.intents.is_empty(), "{status}: {state:?}");
        assert!(cloud.objects.lock().unwrap().is_empty());
    }
}
