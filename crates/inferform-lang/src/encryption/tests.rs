use super::*;
use crate::load_sources;

fn eval_text(text: &str, vars: &[(&str, Value)]) -> (Option<EncryptionSpec>, Diagnostics) {
    let (config, diags) = load_sources(vec![("main.hcl".into(), text.into())]);
    assert!(
        !diags.has_errors(),
        "{:?}",
        diags.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
    let vars: BTreeMap<String, Value> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    eval_encryption(&config, &vars)
}

fn codes(diags: &Diagnostics) -> Vec<&str> {
    diags.iter().map(|d| d.code.as_str()).collect()
}

const FULL: &str = r#"
variable "pass" {
  type      = string
  sensitive = true
}
locals {
  rounds = 200000
}
inferform {
  encryption {
    key_provider "pbkdf2" "new" {
      passphrase    = var.pass
      iterations    = local.rounds
      hash_function = "sha256"
    }
    key_provider "pbkdf2" "old" {
      passphrase = "an old passphrase of enough length"
    }
    key_provider "external" "kms" {
      command = ["./kms", "--key", "infra"]
    }
    method "aes_gcm" "new" {
      keys = key_provider.pbkdf2.new
    }
    method "aes_gcm" "old" {
      keys = key_provider.pbkdf2.old
    }
    method "unencrypted" "migrate" {}
    state {
      method = method.aes_gcm.new
      fallback {
        method = method.aes_gcm.old
      }
      enforced = true
    }
    plan {
      method = method.unencrypted.migrate
    }
    remote_state_data_sources {
      default {
        method = method.aes_gcm.old
      }
    }
  }
}
"#;

#[test]
fn the_whole_block_evaluates_with_variables_and_locals() {
    let (spec, diags) = eval_text(
        FULL,
        &[("pass", Value::string("a sensitive passphrase").sensitive())],
    );
    assert!(diags.is_empty(), "{:?}", codes(&diags));
    let spec = spec.unwrap();
    let state = spec.state.unwrap();
    assert!(state.enforced);
    assert_eq!(state.method.id(), "aes_gcm.new");
    match &state.method.kind {
        MethodKind::AesGcm { keys } => match &keys.kind {
            KeyProviderKind::Pbkdf2 {
                passphrase,
                iterations,
                hash_function,
                key_length,
                salt_length,
            } => {
                assert_eq!(passphrase.expose(), "a sensitive passphrase");
                assert_eq!(
                    (*iterations, *hash_function, *key_length, *salt_length),
                    (200_000, Pbkdf2Hash::Sha256, 32, 32)
                );
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(state.fallback.unwrap().id(), "aes_gcm.old");
    assert!(spec.plan.unwrap().method.is_unencrypted());
    assert_eq!(spec.remote_state.unwrap().method.id(), "aes_gcm.old");
}

#[test]
fn mistakes_are_reported_with_stable_codes_and_suggestions() {
    let (_, diags) = eval_text(
        r#"
inferform {
  encryption {
    key_provider "pbkdf" "a" {
      passphrase = "long enough passphrase here"
    }
    key_provider "pbkdf2" "b" {
      passphrase = "short"
      key_lenght = 32
    }
    method "aes_gcm" "m" {
      keys = key_provider.pbkdf2.c
    }
    stat {
      method = method.aes_gcm.m
    }
  }
}
"#,
        &[],
    );
    let got = codes(&diags);
    assert!(
        got.contains(&"inferform::config::unknown_key_provider"),
        "{got:?}"
    );
    let texts: Vec<String> = diags
        .iter()
        .map(|d| format!("{} / {}", d.message, d.help.clone().unwrap_or_default()))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("did you mean `key_provider.pbkdf2.b`")),
        "{texts:?}"
    );

    let (_, diags) = eval_text(
        r#"
inferform {
  encryption {
    key_provider "pbkdf" "a" {
      passphrase = "long enough passphrase here"
    }
    key_provider "pbkdf2" "b" {
      passphrase = "short"
      key_lenght = 32
    }
    stat {}
  }
}
"#,
        &[],
    );
    let texts: Vec<String> = diags
        .iter()
        .map(|d| {
            format!(
                "{} | {} | {}",
                d.code,
                d.message,
                d.help.clone().unwrap_or_default()
            )
        })
        .collect();
    for wanted in [
        "unknown_key_provider_type | there is no key provider type \"pbkdf\" | did you mean \"pbkdf2\"?",
        "encryption_passphrase_short",
        "unknown argument `key_lenght`",
        "did you mean `key_length`?",
        "unknown block `stat`",
        "did you mean `state`?",
    ] {
        assert!(texts.iter().any(|t| t.contains(wanted)), "{wanted}: {texts:#?}");
    }
    assert!(!texts.iter().any(|t| t.contains("\"short\"")), "{texts:#?}");
}

#[test]
fn enforced_with_a_clear_method_and_resource_references_are_refused() {
    let (_, diags) = eval_text(
        r#"
inferform {
  encryption {
    method "unencrypted" "u" {}
    state {
      method   = method.unencrypted.u
      enforced = true
    }
  }
}
"#,
        &[],
    );
    assert_eq!(
        codes(&diags),
        vec!["inferform::config::encryption_enforced"]
    );
    let (_, diags) = eval_text(
        r#"
resource "inferform_data" "d" {
  input = "x"
}
inferform {
  encryption {
    key_provider "pbkdf2" "k" {
      passphrase = inferform_data.d.output
    }
  }
}
"#,
        &[],
    );
    assert_eq!(
        codes(&diags),
        vec!["inferform::config::encryption_reference"]
    );
}

#[test]
fn the_environment_takes_hcl_or_json_and_shows_no_snippet() {
    let (config, _) = load_sources(vec![("main.hcl".into(), String::new())]);
    let hcl = r#"
key_provider "pbkdf2" "env" {
  passphrase = "from the environment, long"
}
method "aes_gcm" "env" {
  keys = key_provider.pbkdf2.env
}
state {
  method = method.aes_gcm.env
}
"#;
    let (spec, diags) = from_env(hcl, &config, &BTreeMap::new());
    assert!(diags.is_empty(), "{:?}", codes(&diags));
    assert_eq!(spec.unwrap().state.unwrap().method.id(), "aes_gcm.env");

    let json = r#"{
      "key_provider": {"pbkdf2": {"env": {"passphrase": "from the environment, long"}}},
      "method": {"aes_gcm": {"env": {"keys": "${key_provider.pbkdf2.env}"}}},
      "state": {"method": "${method.aes_gcm.env}", "enforced": true},
      "plan": {"method": "${method.aes_gcm.env}"}
    }"#;
    let (spec, diags) = from_env(json, &config, &BTreeMap::new());
    assert!(diags.is_empty(), "{:?}", codes(&diags));
    let spec = spec.unwrap();
    assert!(spec.state.unwrap().enforced);
    assert!(spec.plan.is_some());

    let (_, diags) = from_env(
        r#"key_provider "pbkdf2" "env" { passphrase = "tiny secret" }"#,
        &config,
        &BTreeMap::new(),
    );
    let d = diags.iter().next().unwrap();
    assert_eq!(d.code, "inferform::config::encryption_passphrase_short");
    assert!(
        d.span.is_none() && d.message.starts_with(ENV),
        "{}",
        d.message
    );
    assert!(!d.message.contains("tiny secret"));
}

#[test]
fn a_reference_is_no_passphrase() {
    let (_, diags) = eval_text(
        r#"
inferform {
  encryption {
    key_provider "pbkdf2" "k" {
      passphrase = method.unencrypted.u
    }
    method "unencrypted" "u" {}
  }
}
"#,
        &[],
    );
    assert_eq!(codes(&diags), vec!["inferform::config::encryption_value"]);
}
