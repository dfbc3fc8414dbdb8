//! The local cloud's knobs: keys, data folder, lifecycle timings and faults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::Error;

/// Everything the local cloud can be told at start. Every field has a default, so a JSON config
/// file may set any subset of them (see the crate documentation for the format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The Fabric access key accepted in `SDK-HMAC-SHA256` signatures (default `local-ak`).
    pub fabric_access_key: String,
    /// The Fabric secret key that signatures are checked with (default `local-sk`).
    pub fabric_secret_key: String,
    /// The IAM token accepted in `X-Auth-Token` (default `local-token`).
    pub fabric_auth_token: String,
    /// The Alaya access key expected in `plain Credential=..` (default `local-alaya-ak`).
    pub alaya_access_key: String,
    /// The Alaya secret key expected in `Signature=..` (default `local-alaya-sk`).
    pub alaya_secret_key: String,
    /// When set, a Fabric call whose `X-Project-Id` names another project is refused with
    /// 403 (`{"error": {"code", "message", "title"}}`); calls without the header pass.
    pub fabric_project_id: Option<String>,
    /// Where objects are kept, one JSON file per object; `None` keeps them in memory only.
    pub data_dir: Option<PathBuf>,
    /// Time spent in each transitional status.
    pub timings: Timings,
    /// Injected latency, errors, throttling, lost answers, failed or stuck operations,
    /// resets, list lag and malformed answers.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            fabric_access_key: "local-ak".to_owned(),
            fabric_secret_key: "local-sk".to_owned(),
            fabric_auth_token: "local-token".to_owned(),
            alaya_access_key: "local-alaya-ak".to_owned(),
            alaya_secret_key: "local-alaya-sk".to_owned(),
            fabric_project_id: None,
            data_dir: None,
            timings: Timings::default(),
            faults: Faults::default(),
        }
    }
}

impl Config {
    /// Parses a JSON config document; unknown fields are an error so that typos show.
    pub fn from_json(text: &str) -> Result<Config, Error> {
        serde_json::from_str(text).map_err(|source| Error::Config { path: None, source })
    }

    /// Reads and parses a JSON config file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| Error::Config {
            path: Some(path.to_owned()),
            source,
        })
    }
}

/// Milliseconds spent in each transitional status, per kind of object and operation.
///
/// In JSON, `all_ms` sets every transition at once; fields named beside it win over it:
/// `{"all_ms": 100, "endpoint_delete_ms": 0}`. `stream_chunk_ms` is not a transition: `all_ms`
/// leaves it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timings {
    /// Endpoint `CREATING` → `RUNNING` (default 1500).
    pub endpoint_create_ms: u64,
    /// Endpoint `UPDATING` → `RUNNING` (default 1500).
    pub endpoint_update_ms: u64,
    /// Endpoint `DELETING` → gone (default 500).
    pub endpoint_delete_ms: u64,
    /// Service instance `CREATING` → `RUNNING` (default 1500).
    pub instance_create_ms: u64,
    /// Service instance `UPDATING` → `RUNNING` (default 1500).
    pub instance_update_ms: u64,
    /// Service instance `DELETING` → gone (default 500).
    pub instance_delete_ms: u64,
    /// A new model version `CREATING` → `RUNNING`, the model `UPDATING` → `RUNNING` (default 1500).
    pub model_update_ms: u64,
    /// Alaya deployment `starting` → `running`, also a cold start after scale to zero (default 1500).
    pub alaya_starting_ms: u64,
    /// Alaya deployment `stopping` → `stopped` or gone (default 500).
    pub alaya_stopping_ms: u64,
    /// The pause between two server-sent events of a streamed invocation, so that a client
    /// sees a real stream (default 5; 0 sends them all at once).
    pub stream_chunk_ms: u64,
}

/// The default pause between two streamed events.
const STREAM_CHUNK_MS: u64 = 5;

impl Timings {
    /// Every transition takes `ms`; handy in tests (`Timings::uniform(50)`). Streams keep the
    /// default pace.
    pub fn uniform(ms: u64) -> Timings {
        Timings {
            endpoint_create_ms: ms,
            endpoint_update_ms: ms,
            endpoint_delete_ms: ms,
            instance_create_ms: ms,
            instance_update_ms: ms,
            instance_delete_ms: ms,
            model_update_ms: ms,
            alaya_starting_ms: ms,
            alaya_stopping_ms: ms,
            stream_chunk_ms: STREAM_CHUNK_MS,
        }
    }
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            endpoint_create_ms: 1500,
            endpoint_update_ms: 1500,
            endpoint_delete_ms: 500,
            instance_create_ms: 1500,
            instance_update_ms: 1500,
            instance_delete_ms: 500,
            model_update_ms: 1500,
            alaya_starting_ms: 1500,
            alaya_stopping_ms: 500,
            stream_chunk_ms: STREAM_CHUNK_MS,
        }
    }
}

impl<'de> Deserialize<'de> for Timings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            all_ms: Option<u64>,
            endpoint_create_ms: Option<u64>,
            endpoint_update_ms: Option<u64>,
            endpoint_delete_ms: Option<u64>,
            instance_create_ms: Option<u64>,
            instance_update_ms: Option<u64>,
            instance_delete_ms: Option<u64>,
            model_update_ms: Option<u64>,
            alaya_starting_ms: Option<u64>,
            alaya_stopping_ms: Option<u64>,
            stream_chunk_ms: Option<u64>,
        }
        let raw = Raw::deserialize(deserializer)?;
        let base = raw.all_ms.map(Timings::uniform).unwrap_or_default();
        Ok(Timings {
            endpoint_create_ms: raw.endpoint_create_ms.unwrap_or(base.endpoint_create_ms),
            endpoint_update_ms: raw.endpoint_update_ms.unwrap_or(base.endpoint_update_ms),
            endpoint_delete_ms: raw.endpoint_delete_ms.unwrap_or(base.endpoint_delete_ms),
            instance_create_ms: raw.instance_create_ms.unwrap_or(base.instance_create_ms),
            instance_update_ms: raw.instance_update_ms.unwrap_or(base.instance_update_ms),
            instance_delete_ms: raw.instance_delete_ms.unwrap_or(base.instance_delete_ms),
            model_update_ms: raw.model_update_ms.unwrap_or(base.model_update_ms),
            alaya_starting_ms: raw.alaya_starting_ms.unwrap_or(base.alaya_starting_ms),
            alaya_stopping_ms: raw.alaya_stopping_ms.unwrap_or(base.alaya_stopping_ms),
            stream_chunk_ms: raw.stream_chunk_ms.unwrap_or(STREAM_CHUNK_MS),
        })
    }
}

/// How an "ambiguous" failure looks to the client: the object was created, but the answer is
/// lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmbiguousMode {
    /// The answer is a 500 error body.
    #[default]
    Error500,
    /// The connection is closed before any answer.
    Drop,
    /// Either of the two, at random.
    Either,
}

/// A malformed answer given in place of a call's successful one, after the call took effect:
/// what a broken gateway, proxy or server version can send. Clients must read each as an
/// error, never as "not found" or "empty".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Malformed {
    /// 200 `application/json` whose body is binary garbage, NUL bytes included.
    #[default]
    Garbage,
    /// 200 `application/json` with an empty body.
    Empty,
    /// 200 with valid JSON of another shape: `{"unexpected": "shape"}` for Fabric, an Alaya
    /// envelope whose `data` is that object.
    WrongShape,
    /// 502 with a proxy's HTML page (`text/html`).
    Html502,
    /// 200 `text/html` with a web page (a login page of a captive proxy).
    WrongContentType,
    /// 200 with the real answer cut in the middle (its `Content-Length` says the cut size).
    Truncated,
    /// One of the above, at random for each answer.
    Any,
}

impl Malformed {
    /// The six concrete kinds, for [`Malformed::Any`].
    pub const CONCRETE: [Malformed; 6] = [
        Malformed::Garbage,
        Malformed::Empty,
        Malformed::WrongShape,
        Malformed::Html502,
        Malformed::WrongContentType,
        Malformed::Truncated,
    ];

    /// The name used in the config and in `/_local/faults/stats`.
    pub fn name(self) -> &'static str {
        match self {
            Malformed::Garbage => "garbage",
            Malformed::Empty => "empty",
            Malformed::WrongShape => "wrong_shape",
            Malformed::Html502 => "html502",
            Malformed::WrongContentType => "wrong_content_type",
            Malformed::Truncated => "truncated",
            Malformed::Any => "any",
        }
    }
}

/// Faults injected into the cloud calls (never into `/_local/...`). The top-level fields apply
/// to every call; `calls` overrides them per call kind (see the crate documentation for the
/// names, e.g. `fabric.endpoint.create`, or a prefix with `*`: `alaya.*`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added before answering each call, in milliseconds.
    pub latency_ms: u64,
    /// Share (0.0–1.0) of calls answered 500 or 503 without doing anything.
    pub error_rate: f64,
    /// Share of creates that are carried out but whose answer is lost (a 500, or a dropped
    /// connection, as `ambiguous_mode` says).
    pub ambiguous_rate: f64,
    /// How an ambiguous failure looks.
    pub ambiguous_mode: AmbiguousMode,
    /// Share of creates (endpoints, service instances, Alaya deployments) that end in
    /// `CREATE_FAILED` / `FAILED` / `failed` with an error code and message.
    pub create_failure_rate: f64,
    /// Requests per second allowed per cloud (Fabric, Alaya) before answering 429 with
    /// `Retry-After`; 0 means no limit.
    pub rate_limit_per_sec: u32,
    /// Share of successful calls whose answer is replaced by a malformed one (the call
    /// itself took effect), of the kind `malformed` says.
    pub malformed_rate: f64,
    /// Which malformed answer (default `garbage`).
    pub malformed: Malformed,
    /// Share of updates and deletes (call kinds ending in `.update`, `.scale`, `.cancel`,
    /// `.delete`) that are carried out but whose answer is lost, as `ambiguous_mode` says
    /// (a 500, or a dropped connection).
    pub lost_answer_rate: f64,
    /// Share of updates (`.update`, `.scale`, `.cancel`) refused, without any change, with the
    /// cloud's "wrong status" error: Fabric 400 `dataartsfabric.00040003`, Alaya 400
    /// `{"code": -1}`.
    pub update_failure_rate: f64,
    /// Share of deletes (`.delete`) refused in the same way.
    pub delete_failure_rate: f64,
    /// Share of creates (endpoints, service instances, Alaya deployments) whose object stays
    /// in `CREATING` / `starting` for ever.
    pub stuck_rate: f64,
    /// Share of calls whose connection is closed before the call is carried out, before any
    /// body is sent.
    pub reset_rate: f64,
    /// Milliseconds for which a newly created object is missing from list answers (eventual
    /// consistency); a GET by id sees it at once. 0 means lists are consistent.
    pub list_lag_ms: u64,
    /// Seeds the one generator every random choice of the faults draws from, so that a faulty
    /// run replays exactly (the same calls in the same order get the same faults). Replacing
    /// the faults with a seed reseeds it; without one it is seeded from the system.
    pub seed: Option<u64>,
    /// Overrides for one call kind, or a prefix ending in `*`; the longest match wins.
    pub calls: BTreeMap<String, CallFaults>,
}

/// Per-call-kind overrides of [`Faults`]; an absent field keeps the top-level value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallFaults {
    pub latency_ms: Option<u64>,
    pub error_rate: Option<f64>,
    pub ambiguous_rate: Option<f64>,
    pub ambiguous_mode: Option<AmbiguousMode>,
    pub create_failure_rate: Option<f64>,
    pub malformed_rate: Option<f64>,
    pub malformed: Option<Malformed>,
    pub lost_answer_rate: Option<f64>,
    pub update_failure_rate: Option<f64>,
    pub delete_failure_rate: Option<f64>,
    pub stuck_rate: Option<f64>,
    pub reset_rate: Option<f64>,
    pub list_lag_ms: Option<u64>,
}

/// The faults that apply to one call, after overrides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Effective {
    pub latency_ms: u64,
    pub error_rate: f64,
    pub ambiguous_rate: f64,
    pub ambiguous_mode: AmbiguousMode,
    pub create_failure_rate: f64,
    pub malformed_rate: f64,
    pub malformed: Malformed,
    pub lost_answer_rate: f64,
    pub update_failure_rate: f64,
    pub delete_failure_rate: f64,
    pub stuck_rate: f64,
    pub reset_rate: f64,
    pub list_lag_ms: u64,
}

impl Faults {
    /// The faults for one call kind: the top level, then the longest matching override.
    pub(crate) fn for_call(&self, call: &str) -> Effective {
        let mut eff = Effective {
            latency_ms: self.latency_ms,
            error_rate: self.error_rate,
            ambiguous_rate: self.ambiguous_rate,
            ambiguous_mode: self.ambiguous_mode,
            create_failure_rate: self.create_failure_rate,
            malformed_rate: self.malformed_rate,
            malformed: self.malformed,
            lost_answer_rate: self.lost_answer_rate,
            update_failure_rate: self.update_failure_rate,
            delete_failure_rate: self.delete_failure_rate,
            stuck_rate: self.stuck_rate,
            reset_rate: self.reset_rate,
            list_lag_ms: self.list_lag_ms,
        };
        let best = self
            .calls
            .iter()
            .filter(|(key, _)| match key.strip_suffix('*') {
                Some(prefix) => call.starts_with(prefix),
                None => key.as_str() == call,
            })
            .max_by_key(|(key, _)| key.len() + usize::from(!key.ends_with('*')));
        if let Some((_, o)) = best {
            eff.latency_ms = o.latency_ms.unwrap_or(eff.latency_ms);
            eff.error_rate = o.error_rate.unwrap_or(eff.error_rate);
            eff.ambiguous_rate = o.ambiguous_rate.unwrap_or(eff.ambiguous_rate);
            eff.ambiguous_mode = o.ambiguous_mode.unwrap_or(eff.ambiguous_mode);
            eff.create_failure_rate = o.create_failure_rate.unwrap_or(eff.create_failure_rate);
            eff.malformed_rate = o.malformed_rate.unwrap_or(eff.malformed_rate);
            eff.malformed = o.malformed.unwrap_or(eff.malformed);
            eff.lost_answer_rate = o.lost_answer_rate.unwrap_or(eff.lost_answer_rate);
            eff.update_failure_rate = o.update_failure_rate.unwrap_or(eff.update_failure_rate);
            eff.delete_failure_rate = o.delete_failure_rate.unwrap_or(eff.delete_failure_rate);
            eff.stuck_rate = o.stuck_rate.unwrap_or(eff.stuck_rate);
            eff.reset_rate = o.reset_rate.unwrap_or(eff.reset_rate);
            eff.list_lag_ms = o.list_lag_ms.unwrap_or(eff.list_lag_ms);
        }
        eff
    }

    /// Checks that every share is within 0.0–1.0.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let check = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} must be between 0.0 and 1.0, got {v}"))
            }
        };
        check("error_rate", self.error_rate)?;
        check("ambiguous_rate", self.ambiguous_rate)?;
        check("create_failure_rate", self.create_failure_rate)?;
        check("malformed_rate", self.malformed_rate)?;
        check("lost_answer_rate", self.lost_answer_rate)?;
        check("update_failure_rate", self.update_failure_rate)?;
        check("delete_failure_rate", self.delete_failure_rate)?;
        check("stuck_rate", self.stuck_rate)?;
        check("reset_rate", self.reset_rate)?;
        for (key, o) in &self.calls {
            for (name, v) in [
                ("error_rate", o.error_rate),
                ("ambiguous_rate", o.ambiguous_rate),
                ("create_failure_rate", o.create_failure_rate),
                ("malformed_rate", o.malformed_rate),
                ("lost_answer_rate", o.lost_answer_rate),
                ("update_failure_rate", o.update_failure_rate),
                ("delete_failure_rate", o.delete_failure_rate),
                ("stuck_rate", o.stuck_rate),
                ("reset_rate", o.reset_rate),
            ] {
                if let Some(v) = v {
                    check(&format!("calls.{key}.{name}"), v)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_is_the_default() {
        assert_eq!(Config::from_json("{}").ok(), Some(Config::default()));
    }

    #[test]
    fn all_ms_sets_every_timing_and_named_fields_win() {
        let c = Config::from_json(r#"{"timings": {"all_ms": 100, "endpoint_delete_ms": 7}}"#)
            .expect("valid config");
        assert_eq!(c.timings.endpoint_create_ms, 100);
        assert_eq!(c.timings.alaya_stopping_ms, 100);
        assert_eq!(c.timings.endpoint_delete_ms, 7);
        assert_eq!(
            c.timings.stream_chunk_ms, STREAM_CHUNK_MS,
            "not a transition"
        );
    }

    #[test]
    fn unknown_fields_are_errors() {
        assert!(Config::from_json(r#"{"fabric_acces_key": "x"}"#).is_err());
        assert!(Config::from_json(r#"{"timings": {"endpoint_ms": 1}}"#).is_err());
    }

    #[test]
    fn malformed_answers_per_call_and_old_documents_still_read() {
        let f: Faults = serde_json::from_str(
            r#"{"calls": {"fabric.model.list": {"malformed_rate": 1.0, "malformed": "wrong_shape"},
                "alaya.*": {"malformed_rate": 0.5}}}"#,
        )
        .expect("valid faults");
        let e = f.for_call("fabric.model.list");
        assert_eq!(
            (e.malformed_rate, e.malformed),
            (1.0, Malformed::WrongShape)
        );
        let e = f.for_call("alaya.deployment.show");
        assert_eq!((e.malformed_rate, e.malformed), (0.5, Malformed::Garbage));
        assert_eq!(f.for_call("fabric.endpoint.show").malformed_rate, 0.0);
        // A document written before malformed answers existed means what it meant.
        let old: Faults = serde_json::from_str(
            r#"{"error_rate": 0.1, "ambiguous_mode": "drop",
                "calls": {"fabric.*": {"latency_ms": 3}}}"#,
        )
        .expect("old document");
        assert_eq!(old.malformed_rate, 0.0);
        assert!(serde_json::from_str::<Faults>(r#"{"malformed": "gibberish"}"#).is_err());
        let bad: Faults =
            serde_json::from_str(r#"{"calls": {"x": {"malformed_rate": 2.0}}}"#).expect("parses");
        assert!(bad.validate().is_err());
    }

    #[test]
    fn new_faults_read_per_call_and_old_documents_mean_none_of_them() {
        let f: Faults = serde_json::from_str(
            r#"{"seed": 7, "lost_answer_rate": 0.2, "list_lag_ms": 400,
                "calls": {"fabric.endpoint.*": {"stuck_rate": 1.0, "delete_failure_rate": 0.5},
                          "alaya.deployment.update": {"update_failure_rate": 1.0, "reset_rate": 0.1}}}"#,
        )
        .expect("valid faults");
        assert_eq!(f.seed, Some(7));
        let e = f.for_call("fabric.endpoint.create");
        assert_eq!(
            (e.stuck_rate, e.lost_answer_rate, e.list_lag_ms),
            (1.0, 0.2, 400)
        );
        assert_eq!(
            f.for_call("fabric.endpoint.delete").delete_failure_rate,
            0.5
        );
        let e = f.for_call("alaya.deployment.update");
        assert_eq!((e.update_failure_rate, e.reset_rate), (1.0, 0.1));
        assert_eq!(f.for_call("fabric.instance.create").stuck_rate, 0.0);
        let old: Faults = serde_json::from_str(r#"{"error_rate": 0.1, "ambiguous_rate": 0.5}"#)
            .expect("old document");
        let e = old.for_call("fabric.endpoint.delete");
        assert_eq!(
            (
                e.lost_answer_rate,
                e.update_failure_rate,
                e.delete_failure_rate,
                e.stuck_rate
            ),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert_eq!((e.reset_rate, e.list_lag_ms, old.seed), (0.0, 0, None));
        let bad: Faults = serde_json::from_str(r#"{"reset_rate": 1.5}"#).expect("parses");
        assert!(bad.validate().is_err());
        let bad: Faults =
            serde_json::from_str(r#"{"calls": {"x": {"stuck_rate": -0.1}}}"#).expect("parses");
        assert!(bad.validate().is_err());
    }

    #[test]
    fn longest_override_wins() {
        let f: Faults = serde_json::from_str(
            r#"{"latency_ms": 5, "calls": {"fabric.*": {"latency_ms": 10},
                "fabric.endpoint.create": {"latency_ms": 20}}}"#,
        )
        .expect("valid faults");
        assert_eq!(f.for_call("alaya.deployment.create").latency_ms, 5);
        assert_eq!(f.for_call("fabric.model.create").latency_ms, 10);
        assert_eq!(f.for_call("fabric.endpoint.create").latency_ms, 20);
    }
}
