//! End-to-end: the providers through the real binary against the local cloud. `invoke` streams
//! a service's answer; an apply converges through injected errors, throttling and lost
//! answers without leaving a duplicate behind; and no secret reaches output or
//! `.inferform/`.

#[path = "support/mod.rs"]
mod support;

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::*;

/// The text with every run of white space, and the report's wrapping, made one space.
fn words(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn invoke_streams_the_answer_of_a_fabric_instance_and_an_alaya_deployment() {
    let work = Work::quickstart();
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    for addr in [
        "fabric_service_instance.chat",
        "alaya_expert_deployment.vllm",
    ] {
        let out = work.run(&["invoke", addr, "--message", "hello", "--local-cloud"]);
        assert_eq!(out.code, 0, "{addr}: {out:?}");
        assert_eq!(out.stdout, "You said: hello\n", "{addr}: {out:?}");
        assert_eq!(out.stderr, "", "{addr}: {out:?}");
    }

    let missing = work.run(&[
        "invoke",
        "fabric_service_instance.other",
        "--message",
        "hello",
        "--local-cloud",
    ]);
    assert_eq!(missing.code, 1, "{missing:?}");
    let text = words(&missing.stderr);
    assert!(
        text.contains("cannot invoke fabric_service_instance.other: it is not in the state"),
        "{missing:?}"
    );
    assert!(
        text.contains("alaya_expert_deployment.vllm, fabric_service_instance.chat"),
        "the help names what can be invoked: {missing:?}"
    );

    let workspace = work.run(&[
        "invoke",
        "fabric_workspace.main",
        "--message",
        "hello",
        "--local-cloud",
    ]);
    assert_eq!(workspace.code, 1, "{workspace:?}");
    assert!(
        words(&workspace.stderr).contains(
            "cannot invoke fabric_workspace.main: a fabric_workspace does not answer messages"
        ),
        "{workspace:?}"
    );
    assert!(workspace.stdout.is_empty(), "{workspace:?}");

    // The object is gone behind inferform's back: the error names the address, the call, the
    // status, the cloud's code and the request id.
    let workspace_id = work.run(&["output", "--raw", "workspace_id"]).stdout;
    let instance_id = work.run(&["output", "--raw", "chat_instance_id"]).stdout;
    work.with_cloud(|addr| {
        let path = format!(
            "/v1/workspaces/{}/services/instances/{}",
            workspace_id.trim(),
            instance_id.trim()
        );
        let (status, body) = http_call(addr, "DELETE", &path, None);
        assert_eq!(status, 202, "{body}");
        // The instance is DELETING for a moment, then gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while http_call(addr, "GET", &path, None).0 != 404 {
            assert!(Instant::now() < deadline, "the instance is never deleted");
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let gone = work.run(&[
        "invoke",
        "fabric_service_instance.chat",
        "--message",
        "hello",
        "--local-cloud",
    ]);
    assert_eq!(gone.code, 1, "{gone:?}");
    let text = words(&gone.stderr);
    for part in [
        "cannot invoke fabric_service_instance.chat: POST /v1/workspaces/",
        "/invocations returned 404: dataartsfabric.00040404",
        "(request id ",
    ] {
        assert!(text.contains(part), "{part:?} in {gone:?}");
    }
}

#[test]
fn invoke_prints_each_piece_as_it_arrives() {
    let work = Work::quickstart();
    // One event every 150 ms: the first word must be out long before the last.
    work.cloud_config(r#"{"timings": {"all_ms": 300, "stream_chunk_ms": 150}}"#);
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    let mut child = work
        .command(&[
            "invoke",
            "fabric_service_instance.chat",
            "--message",
            "one two three four five six",
            "--local-cloud",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start invoke");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 3];
    stdout.read_exact(&mut first).expect("the first word");
    assert_eq!(&first, b"You");
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the first word arrived while the answer was still streaming"
    );
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("the rest");
    let status = child.wait().expect("wait");
    assert!(status.success());
    assert_eq!(rest, " said: one two three four five six\n");
}

/// Eight Fabric stacks (workspace, endpoint, model, instance) and eight Alaya deployments.
const FORTY: &str = r#"
provider "fabric" {
  region = "cn-southwest-2"
}

provider "alaya" {}

resource "fabric_workspace" "ws" {
  count = 8
  name  = "ws-${count.index}"
}

resource "fabric_endpoint" "ep" {
  count        = 8
  workspace_id = fabric_workspace.ws[count.index].id
  name         = "ep-${count.index}"
  type         = "inference"
  reserved_resource {
    mu {
      spec_code = "mu.llama3.8b"
      min       = 0
      max       = 1
    }
  }
}

resource "fabric_model" "model" {
  count        = 8
  workspace_id = fabric_workspace.ws[count.index].id
  name         = "model-${count.index}"
  type         = "LLM_MODEL"
  version {
    name = "v1"
    config {
      llm_model_config {
        base_model_type = "llama3-8b"
        model_path      = "obs://models/llama3"
      }
    }
  }
}

resource "fabric_service_instance" "chat" {
  count        = 8
  workspace_id = fabric_workspace.ws[count.index].id
  name         = "chat-${count.index}"
  endpoint_id  = fabric_endpoint.ep[count.index].id
  source {
    id = fabric_model.model[count.index].id
  }
}

resource "alaya_expert_deployment" "dep" {
  count       = 8
  name        = "dep-${count.index}"
  namespace   = "default"
  vks_id      = "vcacb50arkk4"
  served_name = ["m${count.index}"]
  model_id    = "c486cdee-c316-4fc1-9f75-0d1741940f27"
  scale {
    min       = 1
    max       = 2
    rps_value = 10
    idle_time = 60
  }
  head_config {
    image = "registry.example/vllm:0.8.1"
    resource {
      mem = 32
      cpu = 4
      gpu {
        gpu_type = "nvidia.com/gpu-l40s"
        count    = 1
      }
    }
  }
}
"#;

#[test]
fn forty_resources_converge_through_faults_without_duplicates() {
    let work = Work::new(&[("main.hcl", FORTY)]);
    // One call in five fails outright, one create in five is carried out but its answer is
    // lost (a 500 or a dropped connection), and each cloud throttles past 200 calls a second.
    work.cloud_config(
        r#"{"timings": {"all_ms": 200},
            "faults": {"error_rate": 0.2, "ambiguous_rate": 0.2, "ambiguous_mode": "either",
                       "rate_limit_per_sec": 200}}"#,
    );
    let started = Instant::now();
    let apply = work.run(&["apply", "--local-cloud", "--auto-approve"]);
    assert_eq!(apply.code, 0, "the first apply converges: {apply:?}");
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 40 added, 0 changed, 0 destroyed."),
        "{apply:?}"
    );
    eprintln!("apply of 40 through faults: {:?}", started.elapsed());

    let objects = work.cloud_objects();
    for (kind, prefix, key) in [
        ("fabric_workspace", "ws-", "name"),
        ("fabric_endpoint", "ep-", "name"),
        ("fabric_model", "model-", "name"),
        ("fabric_service_instance", "chat-", "name"),
        ("alaya_expert_deployment", "dep-", "name"),
    ] {
        let mut names: Vec<String> = objects[kind]
            .as_array()
            .unwrap_or_else(|| panic!("{kind} in {objects}"))
            .iter()
            .map(|o| o[key].as_str().unwrap_or_default().to_string())
            .collect();
        names.sort();
        let expected: Vec<String> = {
            let mut e: Vec<String> = (0..8).map(|i| format!("{prefix}{i}")).collect();
            e.sort();
            e
        };
        assert_eq!(names, expected, "exactly the configured {kind}s, once each");
    }
    // One version per model: no model was made twice, and none was given a second version.
    let mut models: Vec<&str> = objects["fabric_model_version"]
        .as_array()
        .unwrap_or_else(|| panic!("fabric_model_version in {objects}"))
        .iter()
        .map(|v| v["model_id"].as_str().unwrap_or_default())
        .collect();
    models.sort_unstable();
    models.dedup();
    assert_eq!(models.len(), 8, "{objects}");
    assert_eq!(count(&objects), 40 + 8, "nothing else: {objects}");

    // Every object in state is one the cloud holds, under its own address.
    let list = work.run(&["state", "list"]);
    assert_eq!(list.code, 0, "{list:?}");
    assert_eq!(list.stdout.lines().count(), 40, "{list:?}");

    // The faults stay on: refresh retries its reads, and nothing is left to change.
    let plan = work.run(&["plan", "--local-cloud", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "no changes after convergence: {plan:?}");
    assert!(plan.stdout.contains("No changes."), "{plan:?}");
}

/// The quickstart with every credential written in the provider blocks.
fn with_credentials(work: &Work) {
    let main = std::fs::read_to_string(work.path().join("main.hcl")).expect("main.hcl");
    let main = main
        .replace(
            "region = \"cn-southwest-2\" # credentials from HW_ACCESS_KEY / HW_SECRET_KEY",
            "region     = \"cn-southwest-2\"\n  access_key = \"local-ak\"\n  secret_key = \"local-sk\"",
        )
        .replace(
            "provider \"alaya\" {} # credentials from ALAYA_ACCESS_KEY / ALAYA_SECRET_KEY",
            "provider \"alaya\" {\n  access_key = \"local-alaya-ak\"\n  secret_key = \"local-alaya-sk\"\n}",
        );
    assert!(
        main.contains("\"local-sk\"") && main.contains("\"local-alaya-sk\""),
        "the quickstart's provider blocks changed; update this test:\n{main}"
    );
    work.write("main.hcl", &main);
}

/// Every file under `dir`, recursively, except the folder `skip`.
fn files_under(dir: &Path, skip: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path == skip {
            continue;
        }
        if path.is_dir() {
            files_under(&path, skip, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn secrets_reach_neither_output_nor_working_files() {
    let work = Work::quickstart();
    with_credentials(&work);
    let mut runs: Vec<(String, Out)> = Vec::new();
    let run = |runs: &mut Vec<(String, Out)>, args: &[&str], code: i32| {
        let out = work.run(args);
        assert_eq!(out.code, code, "{args:?}: {out:?}");
        runs.push((args.join(" "), out));
    };
    run(&mut runs, &["apply", "--local-cloud", "--auto-approve"], 0);
    run(
        &mut runs,
        &["plan", "--local-cloud", "--detailed-exitcode"],
        0,
    );
    run(
        &mut runs,
        &[
            "plan",
            "--local-cloud",
            "--var",
            "env=prod",
            "--out",
            ".inferform/prod.plan",
        ],
        0,
    );
    run(&mut runs, &["show", ".inferform/prod.plan"], 0);
    run(&mut runs, &["show", "--json", ".inferform/prod.plan"], 0);
    run(&mut runs, &["show"], 0);
    run(&mut runs, &["show", "--json"], 0);
    run(&mut runs, &["plan", "--local-cloud", "--json"], 0);
    run(
        &mut runs,
        &["state", "show", "alaya_expert_deployment.vllm"],
        0,
    );
    run(
        &mut runs,
        &["state", "show", "fabric_service_instance.chat"],
        0,
    );
    run(&mut runs, &["state", "pull"], 0);
    run(&mut runs, &["output"], 0);
    run(&mut runs, &["output", "--json"], 0);
    run(&mut runs, &["refresh", "--local-cloud"], 0);
    for addr in [
        "fabric_service_instance.chat",
        "alaya_expert_deployment.vllm",
    ] {
        run(
            &mut runs,
            &["invoke", addr, "--message", "hello", "--local-cloud"],
            0,
        );
        assert_eq!(
            runs.last().map(|(_, o)| o.stdout.as_str()),
            Some("You said: hello\n")
        );
    }
    // Wrong secrets: the cloud refuses them, and the errors show neither.
    let main = std::fs::read_to_string(work.path().join("main.hcl")).expect("main.hcl");
    work.write(
        "main.hcl",
        &main
            .replace("\"local-sk\"", "\"wrong-fabric-sk\"")
            .replace("\"local-alaya-sk\"", "\"wrong-alaya-sk\""),
    );
    run(&mut runs, &["plan", "--local-cloud"], 1);
    run(
        &mut runs,
        &[
            "invoke",
            "fabric_service_instance.chat",
            "--message",
            "hello",
            "--local-cloud",
        ],
        1,
    );
    let refused = &runs.last().expect("a run").1;
    assert!(refused.stderr.contains("returned 401"), "{refused:?}");

    let api_key = work.cloud_objects()["alaya_expert_deployment"][0]["apiKey"]
        .as_str()
        .expect("the deployment's apiKey")
        .to_string();
    let secrets = [
        "local-sk",
        "local-alaya-sk",
        "wrong-fabric-sk",
        "wrong-alaya-sk",
        "Signature=",
        api_key.as_str(),
    ];
    for (args, out) in &runs {
        for secret in secrets {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "`inferform {args}` printed {secret:?}: {out:?}"
            );
        }
    }

    let data = work.path().join(".inferform");
    let mut files = Vec::new();
    files_under(&data, &data.join("local-cloud"), &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("prod.plan")),
        "the saved plan is checked: {files:?}"
    );
    assert!(
        files.iter().any(|f| f.starts_with(data.join("state"))),
        "the state is checked: {files:?}"
    );
    let mut leaks = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        for secret in secrets {
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                leaks.push(format!("{} holds {secret:?}", file.display()));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
}
