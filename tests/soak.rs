//! The fault soak: cycles of configuration changes (creates, in-place updates, replacements
//! and deletes of Fabric and Alaya objects) applied through the binary against a local cloud
//! that injects faults (5xx, 429, lost create, update and delete answers, failed creates,
//! refused updates and deletes, malformed answers, connection resets, lists that lag behind
//! creates), with the apply SIGKILLed at a random moment, then re-applied with the faults on
//! until one run succeeds, then applied once more with the faults off. After each cycle the
//! cloud must hold exactly the configured objects, each healthy and wired to its own parents,
//! state must match the cloud, and the next plan must be empty.
//!
//! Bounded: 3 cycles by default (CI); `INFERFORM_SOAK_CYCLES=20` runs longer, and
//! `INFERFORM_SOAK_SEED=N` picks another seed (every random choice, the cloud's faults
//! included, comes from it; each faulty run gets its own cloud seed drawn from it, though
//! concurrency and the kill's moment still vary from run to run). The figures are printed as
//! one line starting `soak:` (run with `--nocapture`).
//!
//! Other knobs: `INFERFORM_SOAK_VERBOSE=1` prints every failed faulty apply and every final
//! apply; `INFERFORM_SOAK_LIST_LAG_MS=500` turns on lists that lag behind creates. Creates
//! stuck for ever (`stuck_rate`) are left out: an apply waits up to 30 minutes for them.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

/// Transitions of 400 ms keep a cycle to seconds while every object still passes through
/// its intermediate statuses.
const TIMINGS: &str = r#"{"all_ms": 400}"#;

/// Applies with the faults on, after the killed one, before giving up on the faulty cloud.
const FAULTY_ATTEMPTS: u32 = 8;

/// A small deterministic generator (SplitMix64), so that a seed replays a whole soak.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `true` with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// An endpoint slot: an endpoint `e{i}` and the service instance `s{i}` on it.
#[derive(Clone, Debug)]
struct Endpoint {
    service_type: bool,
    desc: u32,
    /// The instance's fewest model units (0 or 1): a change replaces the instance.
    inst_min: u32,
    /// The instance's most model units (1 or 2, at least `inst_min`): changed in place.
    inst_max: u32,
}

/// An Alaya expert deployment slot `d{j}`.
#[derive(Clone, Debug)]
struct Deployment {
    max: u32,
    image: u32,
    /// Which of two model ids: a change replaces the deployment.
    model: u32,
}

/// The configuration of one cycle.
#[derive(Clone, Debug, Default)]
struct Shape {
    ws_desc: u32,
    model_desc: u32,
    endpoints: BTreeMap<u32, Endpoint>,
    deployments: BTreeMap<u32, Deployment>,
}

impl Shape {
    fn first() -> Shape {
        let mut s = Shape::default();
        s.endpoints.insert(
            0,
            Endpoint {
                service_type: false,
                desc: 0,
                inst_min: 0,
                inst_max: 1,
            },
        );
        s.deployments.insert(
            0,
            Deployment {
                max: 2,
                image: 0,
                model: 0,
            },
        );
        s
    }

    /// The next cycle's configuration: some objects added, updated, replaced and removed.
    fn change(&self, rng: &mut Rng) -> Shape {
        let mut s = self.clone();
        if rng.chance(0.5) {
            s.ws_desc += 1;
        }
        if rng.chance(0.3) {
            s.model_desc += 1;
        }
        for i in 0..3 {
            match s.endpoints.get_mut(&i) {
                Some(e) => {
                    if rng.chance(0.25) {
                        s.endpoints.remove(&i);
                    } else {
                        // Replaced, and its instance with it.
                        if rng.chance(0.3) {
                            e.service_type = !e.service_type;
                        }
                        if rng.chance(0.4) {
                            e.desc += 1; // in place
                        }
                        if rng.chance(0.25) {
                            e.inst_min = 1 - e.inst_min; // the instance is replaced
                        }
                        if rng.chance(0.3) {
                            e.inst_max = 3 - e.inst_max; // the instance changes in place
                        }
                        e.inst_max = e.inst_max.max(e.inst_min);
                    }
                }
                None => {
                    if rng.chance(0.6) {
                        s.endpoints.insert(
                            i,
                            Endpoint {
                                service_type: rng.chance(0.5),
                                desc: 0,
                                inst_min: 0,
                                inst_max: 1,
                            },
                        );
                    }
                }
            }
        }
        if s.endpoints.is_empty() {
            s.endpoints.insert(
                rng.below(3) as u32,
                Endpoint {
                    service_type: false,
                    desc: 0,
                    inst_min: 0,
                    inst_max: 1,
                },
            );
        }
        for j in 0..2 {
            match s.deployments.get_mut(&j) {
                Some(d) => {
                    if rng.chance(0.25) {
                        s.deployments.remove(&j);
                    } else {
                        if rng.chance(0.35) {
                            d.max = 1 + (d.max % 3); // scaled online
                        }
                        if rng.chance(0.25) {
                            d.image += 1; // offline update: cancel, update, start
                        }
                        if rng.chance(0.2) {
                            d.model = 1 - d.model; // replaced
                        }
                    }
                }
                None => {
                    if rng.chance(0.6) {
                        s.deployments.insert(
                            j,
                            Deployment {
                                max: 1 + rng.below(3) as u32,
                                image: 0,
                                model: 0,
                            },
                        );
                    }
                }
            }
        }
        s
    }

    fn hcl(&self) -> String {
        let mut out = format!(
            r#"
provider "fabric" {{
  region = "cn-southwest-2"
}}

provider "alaya" {{}}

resource "fabric_workspace" "main" {{
  name        = "soak"
  description = "cycle {ws}"
}}

resource "fabric_model" "llama" {{
  workspace_id = fabric_workspace.main.id
  name         = "llama3-8b"
  type         = "LLM_MODEL"
  description  = "model {md}"
  version {{
    name = "v1"
    config {{
      llm_model_config {{
        base_model_type = "llama3-8b"
        model_path      = "obs://models/llama3"
      }}
    }}
  }}
}}
"#,
            ws = self.ws_desc,
            md = self.model_desc
        );
        for (i, e) in &self.endpoints {
            let kind = if e.service_type {
                "service"
            } else {
                "inference"
            };
            let _ = write!(
                out,
                r#"
resource "fabric_endpoint" "e{i}" {{
  workspace_id = fabric_workspace.main.id
  name         = "ep{i}"
  type         = "{kind}"
  description  = "endpoint {desc}"
  reserved_resource {{
    mu {{
      spec_code = "mu.llama3.8b"
      min       = 0
      max       = 2
    }}
  }}
}}

resource "fabric_service_instance" "s{i}" {{
  workspace_id = fabric_workspace.main.id
  name         = "svc{i}"
  endpoint_id  = fabric_endpoint.e{i}.id
  source {{
    id = fabric_model.llama.id
  }}
  config {{
    model_instance_config {{
      resource {{
        min = {min}
        max = {max}
      }}
    }}
  }}
}}
"#,
                desc = e.desc,
                min = e.inst_min,
                max = e.inst_max
            );
        }
        for (j, d) in &self.deployments {
            let _ = write!(
                out,
                r#"
resource "alaya_expert_deployment" "d{j}" {{
  name        = "soak-{j}"
  namespace   = "default"
  vks_id      = "vcacb50arkk4"
  served_name = ["soak{j}"]
  model_id    = "{model}"
  scale {{
    min       = 1
    max       = {max}
    rps_value = 10
    idle_time = 60
  }}
  head_config {{
    image  = "registry.example/vllm:v{image}"
    cmd    = ["sh", "-c", "serve.sh"]
    labels = {{}}
    env    = {{}}
    args   = []
    resource {{
      mem = 32
      cpu = 4
      gpu {{
        gpu_type = "nvidia.com/gpu-l40s"
        count    = 1
      }}
    }}
  }}
  worker_config {{
    workers = 1
    image   = "registry.example/vllm:v{image}"
    cmd     = ["sh", "-c", "serve.sh"]
    labels  = {{}}
    env     = {{}}
    args    = []
    resource {{
      workers = 1
      mem     = 8
      cpu     = 4
      gpu {{
        gpu_type = "nvidia.com/gpu-l40s"
        count    = 1
      }}
    }}
  }}
}}
"#,
                max = d.max,
                image = d.image,
                model = MODELS[d.model as usize % 2]
            );
        }
        out
    }

    /// Every configured address, with its type and the object name it must have.
    fn expected(&self) -> BTreeMap<String, (&'static str, String)> {
        let mut m = BTreeMap::new();
        m.insert(
            "fabric_workspace.main".to_owned(),
            ("fabric_workspace", "soak".to_owned()),
        );
        m.insert(
            "fabric_model.llama".to_owned(),
            ("fabric_model", "llama3-8b".to_owned()),
        );
        for i in self.endpoints.keys() {
            m.insert(
                format!("fabric_endpoint.e{i}"),
                ("fabric_endpoint", format!("ep{i}")),
            );
            m.insert(
                format!("fabric_service_instance.s{i}"),
                ("fabric_service_instance", format!("svc{i}")),
            );
        }
        for j in self.deployments.keys() {
            m.insert(
                format!("alaya_expert_deployment.d{j}"),
                ("alaya_expert_deployment", format!("soak-{j}")),
            );
        }
        m
    }
}

/// The two model ids an Alaya deployment alternates between.
const MODELS: [&str; 2] = [
    "c486cdee-c316-4fc1-9f75-0d1741940f27",
    "5d1b7c0e-2a4f-4a8e-9d0c-8a1f6e3b2c71",
];

/// The kinds whose objects the configurations manage (model versions belong to models).
const KINDS: [&str; 5] = [
    "fabric_workspace",
    "fabric_model",
    "fabric_endpoint",
    "fabric_service_instance",
    "alaya_expert_deployment",
];

fn id_of(o: &Value) -> String {
    o["id"]
        .as_str()
        .or_else(|| o["serviceId"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn status_of(o: &Value) -> String {
    o["status"].as_str().unwrap_or_default().to_owned()
}

fn faults_config(seed: u64) -> String {
    let list_lag_ms = list_lag_ms();
    format!(
        r#"{{"timings": {TIMINGS}, "faults": {{
            "seed": {seed},
            "error_rate": 0.1, "rate_limit_per_sec": 20,
            "ambiguous_rate": 0.2, "ambiguous_mode": "either",
            "create_failure_rate": 0.15,
            "lost_answer_rate": 0.2, "update_failure_rate": 0.1, "delete_failure_rate": 0.1,
            "malformed_rate": 0.03, "malformed": "any",
            "reset_rate": 0.03,
            "list_lag_ms": {list_lag_ms}
        }}}}"#
    )
}

/// How long new objects stay out of list answers (`INFERFORM_SOAK_LIST_LAG_MS`, default
/// 300 ms: adoption by name must survive lists that lag behind creates).
fn list_lag_ms() -> u64 {
    std::env::var("INFERFORM_SOAK_LIST_LAG_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn healthy_config() -> String {
    format!(r#"{{"timings": {TIMINGS}}}"#)
}

/// What the soak saw.
#[derive(Default)]
struct Figures {
    cycles: u32,
    kills: u32,
    faulty_applies: u32,
    faulty_successes: u32,
    final_failures: u32,
    duplicates: u32,
    lost: u32,
    orphans: u32,
    unhealthy: u32,
    miswired: u32,
    state_mismatches: u32,
    stuck_addresses: u32,
    /// Objects still changing after a successful apply: reported healthy before they were
    /// (see [`an_interrupted_update_is_waited_for`]).
    unsettled: u32,
    violations: Vec<String>,
}

impl Figures {
    fn violation(&mut self, cycle: u32, what: String) {
        self.violations.push(format!("cycle {cycle}: {what}"));
    }
}

/// Applies, and SIGKILLs the run after `after` unless it ended first; `true` when it was
/// killed.
fn kill_apply_after(work: &Work, after: Duration) -> bool {
    let mut child = work
        .command(&["apply", "--local-cloud", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start apply");
    let start = Instant::now();
    while start.elapsed() < after {
        if child.try_wait().expect("poll apply").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = child.try_wait().expect("poll apply").is_none();
    child.kill().ok(); // SIGKILL: no chance to record anything more
    child.wait().expect("reap");
    killed
}

/// The last lines of a run's output, for a report.
fn tail(out: &Out) -> String {
    let text = format!("{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// An address whose state names another object than the one the cloud holds under its name
/// is stuck: every apply fails with "already exists" (as a create intent dropped beside a
/// stale record once left it, see [`a_create_intent_survives_a_stale_record_of_its_address`]).
/// Each is a violation; the soak then takes it back under management the way an operator
/// would (`state rm`, then `import`) so that the later cycles still run.
fn repair_already_exists(work: &Work, shape: &Shape, cycle: u32, f: &mut Figures) -> Out {
    let objects = work.cloud_objects();
    let pulled = work.run(&["state", "pull"]);
    let state: Value = serde_json::from_str(&pulled.stdout).unwrap_or(Value::Null);
    for (addr, (kind, name)) in shape.expected() {
        let Some(o) = objects[kind]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["name"] == name.as_str())
        else {
            continue;
        };
        let recorded = state["resources"][&addr]["attributes"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if recorded == id_of(o) {
            continue;
        }
        f.stuck_addresses += 1;
        f.violation(
            cycle,
            format!(
                "{addr} stuck behind \"already exists\": state has {recorded:?}, the cloud {:?}",
                id_of(o)
            ),
        );
        let id = match o["workspace_id"].as_str() {
            Some(ws) if kind != "fabric_workspace" => format!("{ws}/{}", id_of(o)),
            _ => id_of(o),
        };
        let _ = work.run(&["state", "rm", &addr]);
        let imported = work.run(&["import", "--local-cloud", &addr, &id]);
        if imported.code != 0 {
            f.violation(
                cycle,
                format!("import {addr} {id} failed:\n{}", tail(&imported)),
            );
        }
    }
    work.run(&["apply", "--local-cloud", "--auto-approve"])
}

/// Checks the cycle's outcome; every problem is counted and described.
fn check(work: &Work, shape: &Shape, cycle: u32, f: &mut Figures) {
    let expected = shape.expected();
    let mut objects = work.cloud_objects();
    let changing = |objects: &Value| -> Vec<String> {
        KINDS
            .iter()
            .flat_map(|k| objects[*k].as_array().into_iter().flatten())
            .filter(|o| {
                matches!(
                    status_of(o).as_str(),
                    "starting" | "stopping" | "CREATING" | "UPDATING" | "DELETING"
                )
            })
            .map(|o| format!("{} {}", o["name"], status_of(o)))
            .collect()
    };
    let unsettled = changing(&objects);
    if !unsettled.is_empty() {
        f.unsettled += unsettled.len() as u32;
        f.violation(
            cycle,
            format!("still changing after a successful apply: {unsettled:?}"),
        );
        // Let them settle so that the rest of the checks see them as they end.
        let deadline = Instant::now() + Duration::from_secs(15);
        while !changing(&objects).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(300));
            objects = work.cloud_objects();
        }
    }

    // Exactly the configured objects: one per address, none left over, none missing.
    let mut by_name: BTreeMap<(&str, String), Vec<&Value>> = BTreeMap::new();
    for kind in KINDS {
        for o in objects[kind].as_array().into_iter().flatten() {
            let name = o["name"].as_str().unwrap_or_default().to_owned();
            by_name.entry((kind, name)).or_default().push(o);
        }
    }
    let wanted: BTreeSet<(&str, String)> =
        expected.values().map(|(k, n)| (*k, n.clone())).collect();
    for (key, objs) in &by_name {
        if !wanted.contains(key) {
            f.orphans += objs.len() as u32;
            f.violation(cycle, format!("orphan {} {:?} in the cloud", key.0, key.1));
        } else if objs.len() > 1 {
            f.duplicates += objs.len() as u32 - 1;
            f.violation(
                cycle,
                format!("{} copies of {} {:?}", objs.len(), key.0, key.1),
            );
        }
    }
    let one = |kind: &str, name: &str| -> Option<&Value> {
        by_name
            .get(&(kind, name.to_owned()))
            .and_then(|v| v.first().copied())
    };
    for (addr, (kind, name)) in &expected {
        match one(kind, name) {
            None => {
                f.lost += 1;
                f.violation(
                    cycle,
                    format!("{addr} ({kind} {name:?}) is not in the cloud"),
                );
            }
            Some(o) => {
                let status = status_of(o);
                let healthy = match *kind {
                    "fabric_workspace" => true,
                    "fabric_model" => status.is_empty() || status == "RUNNING",
                    "alaya_expert_deployment" => status == "running",
                    _ => status == "RUNNING",
                };
                if !healthy {
                    f.unhealthy += 1;
                    f.violation(cycle, format!("{addr} is {status:?}"));
                }
            }
        }
    }

    // Each object wired to its own parents.
    let ws_id = one("fabric_workspace", "soak")
        .map(id_of)
        .unwrap_or_default();
    let model_id = one("fabric_model", "llama3-8b")
        .map(id_of)
        .unwrap_or_default();
    let mut wiring = |ok: bool, what: String| {
        if !ok {
            f.miswired += 1;
            f.violations.push(format!("cycle {cycle}: {what}"));
        }
    };
    if let Some(m) = one("fabric_model", "llama3-8b") {
        wiring(
            m["workspace_id"] == ws_id.as_str(),
            format!("the model is in workspace {}", m["workspace_id"]),
        );
    }
    for (i, e) in &shape.endpoints {
        let Some(ep) = one("fabric_endpoint", &format!("ep{i}")) else {
            continue;
        };
        wiring(
            ep["workspace_id"] == ws_id.as_str(),
            format!("ep{i} is in workspace {}", ep["workspace_id"]),
        );
        let want = if e.service_type {
            "service"
        } else {
            "inference"
        };
        wiring(ep["type"] == want, format!("ep{i} has type {}", ep["type"]));
        if let Some(s) = one("fabric_service_instance", &format!("svc{i}")) {
            wiring(
                s["endpoint_id"] == id_of(ep).as_str(),
                format!("svc{i} is on endpoint {}, not ep{i}", s["endpoint_id"]),
            );
            wiring(
                s["workspace_id"] == ws_id.as_str(),
                format!("svc{i} is in workspace {}", s["workspace_id"]),
            );
            wiring(
                s["source"]["id"] == model_id.as_str(),
                format!("svc{i} serves model {}", s["source"]["id"]),
            );
        }
    }

    // State says the same as the cloud: the configured addresses, each with the id of the
    // object the cloud holds under its name, no intents left, nothing tainted.
    let pulled = work.run(&["state", "pull"]);
    let state: Value = serde_json::from_str(&pulled.stdout).unwrap_or(Value::Null);
    let resources = state["resources"].as_object().cloned().unwrap_or_default();
    let in_state: BTreeSet<String> = resources.keys().cloned().collect();
    let configured: BTreeSet<String> = expected.keys().cloned().collect();
    if in_state != configured {
        f.state_mismatches += 1;
        f.violation(
            cycle,
            format!("state holds {in_state:?}, the configuration {configured:?}"),
        );
    }
    for (addr, (kind, name)) in &expected {
        let Some(r) = resources.get(addr) else {
            continue;
        };
        let recorded = r["attributes"]["id"].as_str().unwrap_or_default();
        let actual = one(kind, name).map(id_of).unwrap_or_default();
        if recorded != actual || r["tainted"] == true {
            f.state_mismatches += 1;
            f.violation(
                cycle,
                format!(
                    "state has {addr} as {recorded:?} (tainted: {}), the cloud {actual:?}",
                    r["tainted"]
                ),
            );
        }
    }
    if state["intents"].as_object().is_some_and(|m| !m.is_empty()) {
        f.state_mismatches += 1;
        f.violation(cycle, format!("intents left: {}", state["intents"]));
    }

    // Nothing stuck: the next plan is empty.
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    if plan.code != 0 {
        let stuck = plan
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("# "))
            .count()
            .max(1);
        f.stuck_addresses += stuck as u32;
        f.violation(
            cycle,
            format!(
                "the next plan is not empty (exit {}):\n{}",
                plan.code,
                tail(&plan)
            ),
        );
    }
}

#[test]
fn soak_faults_kills_and_changes_converge() {
    let cycles: u32 = std::env::var("INFERFORM_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("INFERFORM_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261201);
    let mut rng = Rng(seed);
    let work = Work::new(&[]);
    let mut f = Figures::default();
    let mut shape = Shape::first();
    let started = Instant::now();

    for cycle in 1..=cycles {
        if cycle > 1 {
            shape = shape.change(&mut rng);
        }
        work.write("main.hcl", &shape.hcl());

        // Faults on, and the apply killed at a random moment.
        work.cloud_config(&faults_config(rng.next() >> 1));
        let after = Duration::from_millis(50 + rng.below(2000));
        if kill_apply_after(&work, after) {
            f.kills += 1;
        }

        // Faults still on: apply again until a run succeeds (bounded).
        for _ in 0..FAULTY_ATTEMPTS {
            work.cloud_config(&faults_config(rng.next() >> 1));
            f.faulty_applies += 1;
            let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
            if out.code == 0 {
                f.faulty_successes += 1;
                break;
            }
            assert!(
                !out.stderr.contains("panicked"),
                "cycle {cycle}: inferform panicked: {out:?}"
            );
            if std::env::var_os("INFERFORM_SOAK_VERBOSE").is_some() {
                eprintln!("cycle {cycle}: faulty apply failed:\n{out:?}");
            }
        }

        // Faults off: one apply must finish the job.
        work.cloud_config(&healthy_config());
        let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
        if std::env::var_os("INFERFORM_SOAK_VERBOSE").is_some() {
            eprintln!("cycle {cycle}: final apply:\n{out:?}");
        }
        let out = if out.code != 0 && out.stderr.contains("already exists") {
            repair_already_exists(&work, &shape, cycle, &mut f)
        } else {
            out
        };
        if out.code != 0 {
            f.final_failures += 1;
            f.violation(
                cycle,
                format!("the apply with faults off failed:\n{}", tail(&out)),
            );
        }
        check(&work, &shape, cycle, &mut f);
        f.cycles += 1;
    }

    let stats: Value = work.with_cloud(|addr| {
        serde_json::from_str(&http_get(addr, "/_local/faults/stats")).expect("stats JSON")
    });
    let by_name = stats["faults"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    println!(
        "soak: seed={seed} cycles={} faults={} kills={} faulty_applies={} faulty_successes={} \
         final_failures={} duplicates={} lost={} orphans={} unhealthy={} miswired={} \
         state_mismatches={} stuck_addresses={} \
         unsettled={} seconds={} \
         faults_by_kind=[{by_name}]",
        f.cycles,
        stats["total"],
        f.kills,
        f.faulty_applies,
        f.faulty_successes,
        f.final_failures,
        f.duplicates,
        f.lost,
        f.orphans,
        f.unhealthy,
        f.miswired,
        f.state_mismatches,
        f.stuck_addresses,
        f.unsettled,
        started.elapsed().as_secs(),
    );
    assert!(
        stats["total"].as_u64().unwrap_or(0) > 0,
        "no fault fired: the soak proves nothing"
    );
    assert!(
        f.violations.is_empty(),
        "{} problem(s):\n{}",
        f.violations.len(),
        f.violations.join("\n")
    );
}

/// Replacing a `fabric_endpoint` (its `type` changed) replaces the `fabric_service_instance`
/// on it too (`endpoint_id` forces a new one). The cloud refuses to delete an endpoint that
/// still serves an instance, so the instance must go first and come back last.
#[test]
fn replacing_an_endpoint_replaces_the_instance_on_it_first() {
    let mut shape = Shape::first();
    shape.deployments.clear();
    let work = Work::new(&[("main.hcl", &shape.hcl())]);
    work.cloud_config(&healthy_config());
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out:?}");
    if let Some(e) = shape.endpoints.get_mut(&0) {
        e.service_type = true;
    }
    work.write("main.hcl", &shape.hcl());
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(out.code, 0, "the replacement succeeds: {out:?}");
    let at = |line: &str| {
        out.stdout
            .find(line)
            .unwrap_or_else(|| panic!("no {line:?} in:\n{}", out.stdout))
    };
    let (ep, si) = ("fabric_endpoint.e0", "fabric_service_instance.s0");
    let order = [
        at(&format!("{si}: Destruction complete")),
        at(&format!("{ep}: Destruction complete")),
        at(&format!("{ep}: Creation complete")),
        at(&format!("{si}: Creation complete")),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", out.stdout);
    assert!(
        out.stdout.contains("2 added, 0 changed, 2 destroyed"),
        "{}",
        out.stdout
    );
    let mut f = Figures::default();
    check(&work, &shape, 1, &mut f);
    assert!(f.violations.is_empty(), "{}", f.violations.join("\n"));
}

/// A create whose answer is lost (500) while the cloud's lists lag behind creates (eventual
/// consistency): looked up by name and not found yet, sent again and refused with "already
/// exists". The refusal must not be taken as proof that nothing was made: the object is
/// looked up again and adopted, in this run or the next, never orphaned.
#[test]
fn adoption_survives_lists_that_lag_behind_creates() {
    let hcl = "provider \"fabric\" {\n  region = \"cn-southwest-2\"\n}\n\n\
               resource \"fabric_workspace\" \"main\" {\n  name = \"soak\"\n}\n";
    let work = Work::new(&[("main.hcl", hcl)]);
    work.cloud_config(&format!(
        r#"{{"timings": {TIMINGS}, "faults": {{"list_lag_ms": 3000,
            "calls": {{"fabric.workspace.create": {{"ambiguous_rate": 1.0}}}}}}}}"#
    ));
    let _ = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    std::thread::sleep(Duration::from_millis(3200));
    work.cloud_config(&healthy_config());
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(out.code, 0, "the object is adopted: {out:?}");
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert_eq!(
        work.cloud_objects()["fabric_workspace"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

/// A create of unknown outcome whose object a lagging list still hides at the next run: that
/// run does not find it by name, creates again and is refused with "already exists". The
/// refusal proves nothing, so the intent stays, and once the list shows the object it is
/// adopted, never orphaned with its name refused on every apply.
#[test]
fn an_unfound_intent_survives_a_refused_create() {
    let hcl = "provider \"fabric\" {\n  region = \"cn-southwest-2\"\n}\n\n\
               resource \"fabric_workspace\" \"main\" {\n  name = \"soak\"\n}\n";
    let work = Work::new(&[("main.hcl", hcl)]);
    // Every list hides new objects for a minute, and the create's answer is lost.
    let lagging = |create_faults: &str| {
        format!(
            r#"{{"timings": {TIMINGS}, "faults": {{"list_lag_ms": 60000,
                "calls": {{"fabric.workspace.create": {{{create_faults}}}}}}}}}"#
        )
    };
    work.cloud_config(&lagging(r#""ambiguous_rate": 1.0"#));
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_ne!(out.code, 0, "{out:?}");
    // The next run cannot see it either, and its create is refused.
    work.cloud_config(&lagging(""));
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("looks it up by name again"), "{out:?}");
    // The list catches up: adopted.
    work.cloud_config(&healthy_config());
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(out.code, 0, "the workspace is adopted: {out:?}");
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert_eq!(
        work.cloud_objects()["fabric_workspace"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

/// A replacement killed while the old object is being deleted (its record outlives it),
/// followed by a create of unknown outcome (lost answer, failed look-up): the next run must
/// look the intent up although a record holds its address, find the new object once the old
/// one is gone, and adopt it, never leave it orphaned with "already exists" on every apply.
#[test]
fn a_create_intent_survives_a_stale_record_of_its_address() {
    let mut shape = Shape::first();
    shape.endpoints.clear();
    let work = Work::new(&[("main.hcl", &shape.hcl())]);
    work.cloud_config(&healthy_config());
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out:?}");
    // Replaced (another model), and killed while the old deployment stops.
    if let Some(d) = shape.deployments.get_mut(&0) {
        d.model = 1;
    }
    work.write("main.hcl", &shape.hcl());
    work.cloud_config(r#"{"timings": {"all_ms": 300, "alaya_stopping_ms": 2500}}"#);
    kill_apply_after(&work, Duration::from_millis(1200));
    std::thread::sleep(Duration::from_millis(2600));
    // The new deployment's create answer is lost, and looking it up fails.
    work.cloud_config(&format!(
        r#"{{"timings": {TIMINGS}, "faults": {{"calls": {{
            "alaya.deployment.create": {{"ambiguous_rate": 1.0}},
            "alaya.deployment.list": {{"error_rate": 1.0}}}}}}}}"#
    ));
    let _ = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    work.cloud_config(&healthy_config());
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(out.code, 0, "the new deployment is adopted: {out:?}");
    let mut f = Figures::default();
    check(&work, &shape, 1, &mut f);
    assert!(f.violations.is_empty(), "{}", f.violations.join("\n"));
}

/// An apply killed during an Alaya offline update (cancel, update, start), once the
/// deployment is `starting`: the next apply finds no differences left, but must wait for the
/// deployment to come up before it reports it healthy.
#[test]
fn an_interrupted_update_is_waited_for() {
    let mut shape = Shape::first();
    shape.endpoints.clear();
    let work = Work::new(&[("main.hcl", &shape.hcl())]);
    work.cloud_config(&healthy_config());
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out:?}");
    if let Some(d) = shape.deployments.get_mut(&0) {
        d.image += 1;
    }
    work.write("main.hcl", &shape.hcl());
    work.cloud_config(r#"{"timings": {"all_ms": 300, "alaya_starting_ms": 6000}}"#);
    kill_apply_after(&work, Duration::from_millis(2000));
    let out = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(out.code, 0, "{out:?}");
    let objects = work.cloud_objects();
    let d = &objects["alaya_expert_deployment"][0];
    assert_eq!(
        status_of(d),
        "running",
        "the apply waited for the update: {d}"
    );
}
