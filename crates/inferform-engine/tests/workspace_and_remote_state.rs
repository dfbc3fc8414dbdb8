//! `inferform.workspace` in plans and applies, and the `inferform_remote_state` data source
//! with a fake reader: through the engine alone, no state backend, cloud or socket.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use inferform_engine::{
    Action, ApplyInput, ApplyObserver, BuiltinFactory, Engine, Plan, PlanOptions, RemoteStateReader,
};
use inferform_lang::{load_dir, load_sources, Config};
use inferform_provider::{ProviderEnv, ProviderFactory};
use inferform_state::{MemoryStore, State, StateStore};
use inferform_types::{Diagnostics, ResourceInstanceAddr, Value};

fn engine(factory: BuiltinFactory) -> Arc<Engine> {
    let provider = factory
        .configure(&serde_json::Map::new(), &ProviderEnv::default())
        .expect("the built-in provider takes no settings");
    Arc::new(Engine {
        providers: BTreeMap::from([("inferform".to_string(), provider)]),
        schemas: factory.resource_schemas(),
        data_schemas: factory.data_source_schemas(),
        parallelism: 4,
    })
}

fn load(text: &str) -> Config {
    let (config, diags) = load_sources(vec![("main.hcl".into(), text.into())]);
    assert_clean(&diags);
    config
}

fn assert_clean(diags: &Diagnostics) {
    assert!(
        !diags.has_errors(),
        "{:?}",
        diags
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect::<Vec<_>>()
    );
}

async fn plan(
    engine: &Engine,
    config: &Config,
    vars: &BTreeMap<String, Value>,
    workspace: &str,
) -> (Plan, Diagnostics) {
    let opts = PlanOptions {
        workspace: workspace.to_string(),
        ..PlanOptions::default()
    };
    engine.plan(config, vars, &State::default(), &opts).await
}

fn after<'p>(plan: &'p Plan, addr: &str) -> &'p Value {
    let addr: ResourceInstanceAddr = addr.parse().expect("address");
    plan.changes
        .iter()
        .find(|c| c.addr == addr)
        .and_then(|c| c.after.as_ref())
        .unwrap_or_else(|| panic!("no planned value for {addr}"))
}

/// A directory of its own under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(files: &[(&str, &str)]) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "inferform-engine-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
            std::fs::write(path, text).expect("write file");
        }
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Quiet;

impl ApplyObserver for Quiet {
    fn started(&self, _: &ResourceInstanceAddr, _: Action) {}
    fn status(&self, _: &ResourceInstanceAddr, _: &str) {}
    fn finished(&self, _: &ResourceInstanceAddr, _: Action, _: Option<&str>, _: Duration) {}
    fn failed(&self, _: &ResourceInstanceAddr, _: Action, _: &str) {}
}

#[tokio::test]
async fn workspace_is_seen_in_the_root_in_modules_and_at_apply() {
    let dir = TempDir::new(&[
        (
            "main.hcl",
            r#"
resource "inferform_data" "first" {
  input = "first-${inferform.workspace}"
}

# Known only once `first` exists: the apply evaluates it again.
resource "inferform_data" "second" {
  input = "${inferform_data.first.id}/${inferform.workspace}"
}

module "app" {
  source = "./modules/app"
}

output "seen_by_module" {
  value = module.app.name
}
"#,
        ),
        (
            "modules/app/main.hcl",
            r#"
resource "inferform_data" "named" {
  input = "app-${terraform.workspace}"
}

output "name" {
  value = inferform_data.named.input
}
"#,
        ),
    ]);
    let (config, diags) = load_dir(dir.path(), "");
    assert_clean(&diags);
    let engine = engine(BuiltinFactory::default());
    let vars = BTreeMap::new();

    let (p, diags) = plan(&engine, &config, &vars, "staging").await;
    assert_clean(&diags);
    assert_eq!(p.workspace, "staging");
    assert_eq!(
        after(&p, "inferform_data.first").get("input"),
        Some(&Value::string("first-staging"))
    );
    assert_eq!(
        after(&p, "module.app.inferform_data.named").get("input"),
        Some(&Value::string("app-staging"))
    );
    assert_eq!(
        after(&p, "inferform_data.second").get("input"),
        Some(&Value::Unknown)
    );
    let output = p.outputs.iter().find(|o| o.name == "seen_by_module");
    assert_eq!(
        output.map(|o| &o.after),
        Some(&Value::string("app-staging"))
    );

    // Without a workspace given, it is `default`.
    let (p_default, diags) = plan(&engine, &config, &vars, "").await;
    assert_clean(&diags);
    assert_eq!(
        after(&p_default, "inferform_data.first").get("input"),
        Some(&Value::string("first-default"))
    );

    let store = Arc::new(MemoryStore::new(State::default()));
    let outcome = engine
        .apply(ApplyInput {
            config: Arc::new(config),
            plan: p,
            store: store.clone(),
            observer: Arc::new(Quiet),
            stop: Arc::new(AtomicBool::new(false)),
            base_dir: None,
        })
        .await;
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let state = store.load().expect("state");
    let first_id = state.resources["inferform_data.first"].attributes["id"]
        .as_str()
        .expect("an id")
        .to_string();
    assert_eq!(
        state.resources["inferform_data.second"].attributes["output"],
        serde_json::json!(format!("{first_id}/staging"))
    );
    assert_eq!(
        outcome.outputs["seen_by_module"].value,
        serde_json::json!("app-staging")
    );
}

/// A reader of one made-up state: workspace `prod` of the `pg` backend.
#[derive(Default)]
struct FakeReader {
    calls: Mutex<Vec<(String, serde_json::Value, String)>>,
}

impl RemoteStateReader for FakeReader {
    fn read_outputs(
        &self,
        backend: &str,
        config: &serde_json::Map<String, serde_json::Value>,
        workspace: &str,
    ) -> Result<BTreeMap<String, (serde_json::Value, bool)>, String> {
        self.calls.lock().unwrap().push((
            backend.to_string(),
            serde_json::Value::Object(config.clone()),
            workspace.to_string(),
        ));
        if workspace != "prod" {
            return Err(format!("the state has no workspace \"{workspace}\""));
        }
        Ok(BTreeMap::from([
            (
                "endpoint_id".to_string(),
                (serde_json::json!("ep-0042"), false),
            ),
            (
                "db_password".to_string(),
                (serde_json::json!("s3cr3t-from-platform"), true),
            ),
            (
                "replicas".to_string(),
                (serde_json::json!({"min": 1, "max": 3}), false),
            ),
        ]))
    }
}

const REMOTE: &str = r#"
variable "platform_db" {
  type      = string
  sensitive = true
  default   = "postgres://reader:pw@db/infra"
}

variable "platform_workspace" {
  type    = string
  default = "prod"
}

data "inferform_remote_state" "platform" {
  backend   = "pg"
  config    = { conn_str = var.platform_db, schema_name = "platform_state" }
  workspace = var.platform_workspace
  defaults  = { region = "cn-north-4", endpoint_id = "unused", fallback = var.platform_db }
}

resource "inferform_data" "app" {
  input = {
    endpoint = data.inferform_remote_state.platform.outputs.endpoint_id
    region   = data.inferform_remote_state.platform.outputs.region
    max      = data.inferform_remote_state.platform.outputs.replicas.max
    password = data.inferform_remote_state.platform.outputs.db_password
  }
}
"#;

fn remote_vars(workspace: &str) -> BTreeMap<String, Value> {
    BTreeMap::from([
        (
            "platform_db".to_string(),
            Value::string("postgres://reader:pw@db/infra").sensitive(),
        ),
        ("platform_workspace".to_string(), Value::string(workspace)),
    ])
}

#[tokio::test]
async fn remote_state_outputs_are_read_with_defaults_and_sensitive_marks() {
    let reader = Arc::new(FakeReader::default());
    let engine = engine(BuiltinFactory::with_remote_state(reader.clone()));
    let config = load(REMOTE);
    let (p, diags) = plan(&engine, &config, &remote_vars("prod"), "default").await;
    assert_clean(&diags);

    assert_eq!(
        reader.calls.lock().unwrap().as_slice(),
        [(
            "pg".to_string(),
            serde_json::json!({"conn_str": "postgres://reader:pw@db/infra", "schema_name": "platform_state"}),
            "prod".to_string()
        )]
    );
    let input = after(&p, "inferform_data.app")
        .get("input")
        .expect("input")
        .clone();
    assert_eq!(input.get("endpoint"), Some(&Value::string("ep-0042")));
    assert_eq!(
        input.get("region"),
        Some(&Value::string("cn-north-4")),
        "a missing output takes its default"
    );
    assert_eq!(input.get("max"), Some(&Value::number(3.0)));
    let password = input.get("password").expect("password");
    assert!(matches!(password, Value::Sensitive(_)), "{password:?}");
    assert!(!input.get("endpoint").unwrap().is_sensitive());
    let shown = input.to_string();
    assert!(
        shown.contains("password = (sensitive value)") && !shown.contains("s3cr3t"),
        "{shown}"
    );

    // What the data source holds: only the sensitive output is hidden, and the connection
    // string it was given stays hidden too, because it came from a sensitive variable.
    let data = p.roots[&inferform_types::ModulePath::root()]["data"]
        .get("inferform_remote_state")
        .and_then(|d| d.get("platform"))
        .expect("the data source's value")
        .clone();
    assert!(data
        .get("outputs")
        .unwrap()
        .get("db_password")
        .unwrap()
        .is_sensitive());
    assert!(!data
        .get("outputs")
        .unwrap()
        .get("endpoint_id")
        .unwrap()
        .is_sensitive());
    assert!(data
        .get("config")
        .unwrap()
        .get("conn_str")
        .unwrap()
        .is_sensitive());
    assert!(
        data.get("outputs")
            .unwrap()
            .get("fallback")
            .unwrap()
            .is_sensitive(),
        "a default from a sensitive value stays sensitive among the outputs"
    );
    assert!(data.get(inferform_engine::SENSITIVE_PATHS).is_none());

    // An output that shows it must say so, as for any other sensitive value.
    let leaky = config_with(
        REMOTE,
        "output \"pw\" {\n  value = data.inferform_remote_state.platform.outputs.db_password\n}\n",
    );
    let (_, diags) = plan(&engine, &leaky, &remote_vars("prod"), "default").await;
    assert!(
        diags
            .iter()
            .any(|d| d.code == "inferform::plan::output_sensitive"),
        "{diags:?}"
    );
}

fn config_with(base: &str, extra: &str) -> Config {
    load(&format!("{base}\n{extra}"))
}

#[tokio::test]
async fn a_remote_state_that_cannot_be_read_is_an_error_naming_the_data_source() {
    let engine_with = engine(BuiltinFactory::with_remote_state(Arc::new(
        FakeReader::default(),
    )));
    let config = load(REMOTE);
    let (p, diags) = plan(&engine_with, &config, &remote_vars("qa"), "default").await;
    let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let d = errors[0];
    assert_eq!(d.code, "inferform::plan::data_read");
    assert!(
        d.message
            .starts_with("data.inferform_remote_state.platform: ")
            && d.message.contains("the state has no workspace \"qa\""),
        "{}",
        d.message
    );
    assert!(d.location().is_some_and(|l| l.starts_with("main.hcl:")));
    assert!(d.help.is_some());
    assert!(!d.message.contains("pw@db"), "{}", d.message);
    // Never empty outputs in its place: what reads it sees an unknown value.
    let input = after(&p, "inferform_data.app").get("input").expect("input");
    assert_eq!(input.get("endpoint"), Some(&Value::Unknown));

    // Without a reader, reading says so.
    let engine_without = engine(BuiltinFactory::default());
    let (_, diags) = plan(&engine_without, &config, &remote_vars("prod"), "default").await;
    let d = diags.iter().find(|d| d.is_error()).expect("an error");
    assert_eq!(d.code, "inferform::plan::data_read");
    assert!(
        d.message.contains("data.inferform_remote_state.platform")
            && d.message.contains("without a remote state reader"),
        "{}",
        d.message
    );

    // A misspelt backend or setting is caught before the reader is asked.
    let reader = Arc::new(FakeReader::default());
    let engine_checked = engine(BuiltinFactory::with_remote_state(reader.clone()));
    let typo = load(
        "data \"inferform_remote_state\" \"p\" {\n  backend = \"pg\"\n  config  = { conn_string = \"x\" }\n}\n",
    );
    let (_, diags) = plan(&engine_checked, &typo, &BTreeMap::new(), "default").await;
    let d = diags.iter().find(|d| d.is_error()).expect("an error");
    assert!(
        d.message.contains("did you mean `conn_str`?"),
        "{}",
        d.message
    );
    let typo = load("data \"inferform_remote_state\" \"p\" {\n  backend = \"lcoal\"\n}\n");
    let (_, diags) = plan(&engine_checked, &typo, &BTreeMap::new(), "default").await;
    let d = diags.iter().find(|d| d.is_error()).expect("an error");
    assert!(
        d.message.contains("did you mean \"local\"?"),
        "{}",
        d.message
    );
    assert!(reader.calls.lock().unwrap().is_empty());
}
