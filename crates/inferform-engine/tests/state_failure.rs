//! When state can no longer be written (a full disk, a lost database connection), apply starts
//! no new change: whatever it did could not be recorded. Through the engine alone.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inferform_engine::{Action, ApplyInput, ApplyObserver, BuiltinFactory, Engine, PlanOptions};
use inferform_lang::load_sources;
use inferform_provider::{ProviderEnv, ProviderFactory};
use inferform_state::{
    Change, HistoryEntry, Intent, MemoryStore, OutputState, ResourceState, State, StateError,
    StateStore,
};
use inferform_types::ResourceInstanceAddr;

/// A store that fails every write from the first one touching `fails_at` on, as a store whose
/// connection dropped does; writes for `late` wait until then and succeed, so that change
/// finishes, deterministically, after the failure.
struct Breaking {
    inner: MemoryStore,
    fails_at: String,
    late: String,
    broken: AtomicBool,
}

impl Breaking {
    fn check(&self, addr: &str) -> Result<(), StateError> {
        if addr == self.fails_at {
            self.broken.store(true, Ordering::SeqCst);
        }
        if addr == self.late {
            while !self.broken.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            return Ok(());
        }
        if self.broken.load(Ordering::SeqCst) {
            return Err(StateError::ConnectionLost {
                cause: "the test dropped it".into(),
            });
        }
        Ok(())
    }
}

impl StateStore for Breaking {
    fn load(&self) -> Result<State, StateError> {
        self.inner.load()
    }
    fn put_resource(&self, r: &ResourceState) -> Result<(), StateError> {
        self.check(&r.addr)?;
        self.inner.put_resource(r)
    }
    fn remove_resource(&self, addr: &str) -> Result<(), StateError> {
        self.check(addr)?;
        self.inner.remove_resource(addr)
    }
    fn put_outputs(&self, outputs: &BTreeMap<String, OutputState>) -> Result<(), StateError> {
        self.check("")?;
        self.inner.put_outputs(outputs)
    }
    fn record_intent(&self, intent: &Intent) -> Result<(), StateError> {
        self.check(&intent.addr)?;
        self.inner.record_intent(intent)
    }
    fn clear_intent(&self, addr: &str) -> Result<(), StateError> {
        self.check(addr)?;
        self.inner.clear_intent(addr)
    }
    fn replace(&self, state: &State) -> Result<(), StateError> {
        self.inner.replace(state)
    }
    fn restore(&self, state: &State) -> Result<(), StateError> {
        self.inner.restore(state)
    }
    fn record_history(&self, change: &Change) -> Result<HistoryEntry, StateError> {
        self.inner.record_history(change)
    }
    fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        self.inner.history()
    }
    fn state_at(&self, serial: u64) -> Result<Option<State>, StateError> {
        self.inner.state_at(serial)
    }
}

/// Which changes were started, in order.
#[derive(Default)]
struct Started(Mutex<Vec<String>>);

impl ApplyObserver for Started {
    fn started(&self, addr: &ResourceInstanceAddr, _: Action) {
        self.0.lock().unwrap().push(addr.to_string());
    }
    fn status(&self, _: &ResourceInstanceAddr, _: &str) {}
    fn finished(&self, _: &ResourceInstanceAddr, _: Action, _: Option<&str>, _: Duration) {}
    fn failed(&self, _: &ResourceInstanceAddr, _: Action, _: &str) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_state_write_stops_new_work() {
    // `x` fails to record its create intent; `a` finishes after that, and `b` and `c`, which
    // depend on it, would be ready then: they must not start.
    let text = r#"
resource "inferform_data" "x" {
  input = "x"
}
resource "inferform_data" "a" {
  input = "a"
}
resource "inferform_data" "b" {
  input = inferform_data.a.id
}
resource "inferform_data" "c" {
  input = inferform_data.b.id
}
"#;
    let (config, diags) = load_sources(vec![("main.hcl".into(), text.into())]);
    assert!(!diags.has_errors());
    let factory = BuiltinFactory::default();
    let provider = factory
        .configure(&serde_json::Map::new(), &ProviderEnv::default())
        .unwrap();
    let engine = Arc::new(Engine {
        providers: BTreeMap::from([("inferform".to_string(), provider)]),
        schemas: factory.resource_schemas(),
        data_schemas: factory.data_source_schemas(),
        parallelism: 4,
    });
    let (plan, diags) = engine
        .plan(
            &config,
            &BTreeMap::new(),
            &State::default(),
            &PlanOptions::default(),
        )
        .await;
    assert!(!diags.has_errors());
    let store = Arc::new(Breaking {
        inner: MemoryStore::new(State::default()),
        fails_at: "inferform_data.x".into(),
        late: "inferform_data.a".into(),
        broken: AtomicBool::new(false),
    });
    let started = Arc::new(Started::default());
    let outcome = engine
        .apply(ApplyInput {
            config: Arc::new(config),
            plan,
            store: store.clone(),
            observer: started.clone(),
            stop: Arc::new(AtomicBool::new(false)),
            base_dir: None,
        })
        .await;
    assert!(
        outcome
            .diagnostics
            .iter()
            .any(|d| d.code == "inferform::apply::state_failed"),
        "{:?}",
        outcome.diagnostics
    );
    assert!(outcome
        .failures
        .iter()
        .any(|f| f.addr.to_string() == "inferform_data.x"));
    let started = started.0.lock().unwrap().clone();
    for addr in ["inferform_data.b", "inferform_data.c"] {
        assert!(!started.contains(&addr.to_string()), "{started:?}");
        assert!(
            outcome.skipped.iter().any(|a| a.to_string() == addr),
            "{:?}",
            outcome.skipped
        );
    }
    let state = store.inner.load().unwrap();
    assert_eq!(
        state.resources.keys().collect::<Vec<_>>(),
        vec!["inferform_data.a"]
    );
}
