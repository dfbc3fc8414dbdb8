//! inferform-local-cloud owns the local stand-in for both clouds: one axum HTTP server, on
//! loopback, that answers Huawei Cloud DataArts Fabric's and Alaya NeW's APIs as
//! `CLOUD-APIS.md` describes them (same paths, bodies, envelopes, status codes, asynchronous
//! statuses and auth checks), so that tests, demos and the quickstart need no account and no
//! network. It owns its own signature and body checks, its lifecycle clock, its fault injection
//! and its data folder. It must not import any provider crate (nor any other inferform crate),
//! and no provider may import it: the signer here and the providers' signer are each tested
//! against the official known-answer vectors, so that one bug cannot hide in both.
//!
//! # Serving
//!
//! [`LocalCloud::start`] binds an address (port 0 picks a free one) and serves in a tokio task;
//! [`router`] gives the bare [`axum::Router`] for in-process tests. One address serves:
//!
//! - Fabric management: `/v1/workspaces`, `/v1/workspaces/{ws}`, `.../endpoints[/{id}]`,
//!   `.../models[/{id}[/versions]]`;
//! - Fabric "ep": `/v1/workspaces/{ws}/services/instances[/{id}[/invocations]]`;
//! - Alaya: `/api/serverless-infer/v1/deployment/...`;
//! - Alaya services: each deployment's `serviceUrl` is `http://{host}/alaya-svc/{serviceId}`
//!   (the host the client used), so `{serviceUrl}/v1/chat/completions` reaches this server;
//! - `/_local/...`: the local cloud's own controls (no auth, no faults), below.
//!
//! Every answer carries a fresh `X-Request-Id`.
//!
//! # Auth
//!
//! Fabric accepts `X-Auth-Token: {fabric_auth_token}`, or an `SDK-HMAC-SHA256` signature by
//! `fabric_access_key`/`fabric_secret_key`, checked with the header names the client signed and
//! an `X-Sdk-Date` within 15 minutes of now (`X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` is
//! honoured). Failures are 401 with a gateway body: `APIG.0301` (missing credentials, wrong
//! token, unknown key, bad date, signature mismatch — the latter's `solution_msg` shows the
//! server's canonical request), `APIG.1002` (an `Authorization` header that does not parse).
//! Alaya accepts `Authorization: plain Credential={alaya_access_key},Signature={alaya_secret_key}`;
//! failures are 401 `{"code": -1, "data": null, "msg": ..}`. Bodies over 12 MB get 413.
//! Default keys: `local-ak`/`local-sk`, token `local-token`, Alaya `local-alaya-ak`/`local-alaya-sk`
//! (`inferform local-cloud serve --access-key/--secret-key/--alaya-access-key/--alaya-secret-key`
//! or the config file set others). With `fabric_project_id` set, a Fabric call whose
//! `X-Project-Id` names another project gets 403 `{"error": {"code": "APIGW.0302", "message",
//! "title": "Forbidden"}}`.
//!
//! # Answers **[ours where the vendor is silent]**
//!
//! Fabric successes are plain JSON: creates 200 (workspace and endpoint: the object; model:
//! `{id, version_id}`; instance: `{id}`); workspace PUT 200 with the object; endpoint and
//! instance PUT and DELETE 202 with the object; model PUT 202 `{id, version_id}` when it makes
//! a new version (200 otherwise); workspace and model DELETE 200 `{}`. Lists take `offset`
//! (default 0) and `limit` (1–100, default 10) and answer `{"total": N, "<kind>s": [...]}` with
//! keys `workspaces`, `endpoints`, `models`, `versions`, `instances`, oldest first. Filters are
//! exact: workspaces `id`, `name`; endpoints `name`, `type`; models `id`, `name`, `type`;
//! instances `name`, `endpoint_id`. A model in a list carries `status`, `version_id` and its
//! current `version` object. Errors are `{"error_code", "error_msg", "solution_msg"}` with
//! codes `dataartsfabric.00040001` (bad or missing field; the message names it),
//! `.00040002` (name taken in its scope), `.00040003` (wrong status for the call),
//! `.00040009` (still in use: a workspace with endpoints or models, a model used by an
//! instance, an endpoint serving instances), `.00040404` (404, no such object),
//! `.00050000`/`.00050003` (500/503), `.00050010` (the `error_code` of an injected failed
//! create); unknown routes get `APIG.0101` (404/405), throttling `APIG.0308` (429).
//!
//! Alaya answers are `{"code": 0, "data": .., "msg": "success"}` (HTTP 200) or
//! `{"code": -1, "data": null, "msg": ..}` with 400/401/404/500. Three kinds share one id
//! space and the calls by id (get, list, scale, cancel, delete):
//!
//! - expert, `POST /deployment/expert` (the seed's body), offline update
//!   `PUT /deployment/expert/{id}`; shown with `mode: "expert"` and `expert {headConfig,
//!   workerConfig, scale, extensions}`;
//! - quick start, `POST /deployment` {vksId, namespace, name, servedName, modelId, backend,
//!   backendVersion, backendArgs, resource {workers, cpu, mem, gpu {gpuType, count}}, and
//!   **[ours]** an optional `scale` (default `{min: 1, max: 1}`)}; shown with
//!   `mode: "quickStart"` and `quickStart {backend, backendVersion, backendArgs, resource,
//!   scale}`;
//! - LoRA, `POST /deployment/lora` {baseServiceId, modelId, name, servedName (a list, or one
//!   string)}, offline update `PUT /deployment/lora/{id}` (same body; the base cannot change);
//!   shown with `mode: "lora"`, `baseServiceId`, and its base's `vksId`, `namespace`, `apiKey`
//!   and `serviceUrl`: it is invoked there, with one of its `servedName`s as the model.
//!   **[ours]** The base must be an expert or quick-start deployment that is not being
//!   deleted; served names are unique on a base; a base cannot be deleted while LoRA
//!   deployments run on it (400); a LoRA deployment cannot be scaled (400: scale its base).
//!
//! Creates answer `data.serviceId`; get answers the deployment: `serviceId`, `vksId`,
//! `namespace`, `name`, `servedName`, `modelId`, `mode`, the mode's object, `apiKey`,
//! `serviceUrl`, `status`, `createTime`, `updateTime` (and `errorMsg` when failed); bases add
//! `instance [{instanceId, name, status, baseModelReady, loraModels}]` (the running LoRA
//! deployments' served names) and `replicas`. Names are unique per `vksId` and `namespace`
//! across kinds. List answers `data {count, rows}` (every kind, oldest first) with `page`
//! (from 1) and `size` (1–100, default 10), filters `vksId`, `namespace`, `name`, `model`
//! (the mode: `expert`, `quickStart`, `lora`). Scale, offline updates, cancel and delete
//! answer `data: null`.
//!
//! # Lifecycle
//!
//! Endpoints: `CREATING` → `RUNNING` (or `CREATE_FAILED`), PUT → `UPDATING` → `RUNNING` (the
//! change shows when it completes), DELETE → `DELETING` → gone (404). Service instances: the
//! same with `FAILED` for a failed create. A model PUT with `version` adds a version
//! `CREATING` → `RUNNING` while the model is `UPDATING`, then the model's `version_id` moves to
//! it. Alaya (every kind): create → `starting` → `running` (or `failed`), cancel →
//! `stopping` → `stopped`, offline update (only when `stopped` or `failed`) → `starting` →
//! `running`, delete →
//! `stopping` → gone; `/scale` applies at once. With `scale.min = 0`, a deployment with no call
//! for `idleTime` seconds shows zero `instance`s, and the next call waits one cold start
//! (`alaya_starting_ms`). The times come from [`Timings`]. Statuses are derived lazily from the
//! clock on each access, so no task runs in the background and a restart carries on.
//!
//! Invocations (Fabric `POST .../instances/{id}/invocations`, Alaya
//! `POST {serviceUrl}/v1/chat/completions` with header `apiKey`) answer only while running,
//! with `text/event-stream` `data: {chat.completion.chunk}` events and `data: [DONE]`, one
//! event every `stream_chunk_ms` (default 5), so that a client sees a real stream; the text
//! is `You said: {last user message}`, one word per chunk, cut at `max_tokens`. `"stream":
//! false` gets one `chat.completion` object instead. On Alaya, `model` picks one of the
//! service's `servedName`s or one of a running LoRA deployment's on it (default: the first
//! served name); another model gets 404, a wrong `apiKey` 401, a service or LoRA deployment
//! that is not running 400.
//!
//! # Config file
//!
//! JSON, every field optional (see [`Config`], [`Timings`], [`Faults`]); unknown fields are
//! errors:
//!
//! ```json
//! {
//!   "fabric_access_key": "local-ak", "fabric_secret_key": "local-sk",
//!   "fabric_auth_token": "local-token",
//!   "alaya_access_key": "local-alaya-ak", "alaya_secret_key": "local-alaya-sk",
//!   "data_dir": ".inferform/local-cloud",
//!   "fabric_project_id": null,
//!   "timings": {"all_ms": 200, "endpoint_delete_ms": 50, "stream_chunk_ms": 5},
//!   "faults": {
//!     "latency_ms": 0, "error_rate": 0.0, "rate_limit_per_sec": 0,
//!     "ambiguous_rate": 0.0, "ambiguous_mode": "error500",
//!     "create_failure_rate": 0.0,
//!     "malformed_rate": 0.0, "malformed": "garbage",
//!     "lost_answer_rate": 0.0, "update_failure_rate": 0.0, "delete_failure_rate": 0.0,
//!     "stuck_rate": 0.0, "reset_rate": 0.0, "list_lag_ms": 0, "seed": null,
//!     "calls": {"fabric.endpoint.create": {"create_failure_rate": 1.0}, "alaya.*": {"latency_ms": 20},
//!               "fabric.model.list": {"malformed_rate": 1.0, "malformed": "wrong_shape"}}
//!   }
//! }
//! ```
//!
//! Call kinds for `faults.calls`: `fabric.workspace.{create,list,update,delete}`,
//! `fabric.endpoint.{create,list,show,update,delete}`,
//! `fabric.model.{create,list,versions,update,delete}`,
//! `fabric.instance.{create,list,show,update,delete,invoke}`,
//! `alaya.deployment.{create,list,show,scale,update,cancel,delete}` (`create` and `update`:
//! expert; the others: every kind), `alaya.quick_start.create`, `alaya.lora.{create,update}`,
//! `alaya.invoke`; a key
//! ending in `*` matches a prefix, and the longest match wins. Rate limiting counts each cloud
//! separately (Alaya services count with Alaya) in one-second windows.
//!
//! Malformed answers ([`Malformed`]): a share `malformed_rate` of the successful answers of a
//! call kind is replaced, after the call took effect, by `garbage` (200 `application/json`,
//! binary bytes with NULs), `empty` (200, no body), `wrong_shape` (200 `{"unexpected":
//! "shape"}`; for Alaya an envelope with that as `data`), `html502` (a proxy's 502 page,
//! `text/html`), `wrong_content_type` (200 `text/html`, a sign-in page), `truncated` (the real
//! body cut in half) or `any` (one of these at random each time). Documents written before
//! these fields existed read as before.
//!
//! Updates and deletes (call kinds ending in `.update`, `.scale`, `.cancel` / `.delete`):
//! `lost_answer_rate` carries the call out but loses its answer as `ambiguous_mode` says (a
//! 500 or a dropped connection; `ambiguous_rate` does the same for creates);
//! `update_failure_rate` and `delete_failure_rate` refuse the call, changing nothing, with the
//! "wrong status" error (Fabric 400 `dataartsfabric.00040003`, Alaya 400 `code: -1`).
//! `stuck_rate` leaves a created endpoint, service instance or Alaya deployment in
//! `CREATING` / `starting` for ever. `reset_rate` closes the connection of any call before
//! the call happens. `list_lag_ms` hides an object from list answers (not from a GET by id,
//! nor from a Fabric list filtered by `id`) for that long after its create: eventual
//! consistency, which adoption by name must survive. `seed` makes every random choice of the
//! faults come from one generator seeded with it (reseeded whenever faults with a seed are
//! set), so a run whose calls come in the same order meets the same faults. Every one of
//! these fields can be set per call kind in `calls`, but `seed`.
//!
//! # `/_local`
//!
//! - `GET /_local/objects`: every object, as a JSON object grouped by kind, each list holding
//!   the objects as the cloud's GET shows them: `{"fabric_workspace": [..], "fabric_endpoint":
//!   [..], "fabric_model": [..], "fabric_model_version": [..], "fabric_service_instance": [..],
//!   "alaya_expert_deployment": [..], "alaya_quick_start_deployment": [..],
//!   "alaya_lora_deployment": [..]}`.
//! - `POST /_local/reset`: removes every object (and its file).
//! - `GET`/`POST /_local/faults`: reads or replaces the faults (a [`Faults`] document).
//! - `GET /_local/faults/stats`: every fault injected since start, `{"total": N, "faults":
//!   {name: n}, "calls": {call kind: {name: n}}}`, names `throttled`, `latency`, `error`,
//!   `ambiguous.error500`, `ambiguous.drop`, `lost_answer.error500`, `lost_answer.drop`,
//!   `create_failure`, `update_failure`, `delete_failure`, `stuck`, `reset`, `list_lag` (one
//!   per object left out of a list answer) and `malformed.{kind}`; `DELETE` sets them back to
//!   zero. With a data folder they are kept in `{data_dir}/fault-stats.json` too, so they
//!   add up over restarts (each inferform command runs its own embedded cloud).
//! - `GET`/`POST /_local/timings`: reads or replaces the timings (a [`Timings`] document).
//! - `GET /_local/health`: `{"ok": true}`.
//!
//! # Persistence
//!
//! With `data_dir`, each object is a file `{data_dir}/{kind}/{id}.json`, written to a temporary
//! file, synced and renamed, so a crash leaves the old or the new version, never a torn one;
//! leftover temporary files are removed at start. The files are written outside the objects'
//! lock by one writer thread that takes changes in order and commits them in groups (syncing
//! a group's files in parallel); a call answers once its own change, and the last change to
//! everything it read, is on disk, so no answer shows what a crash could take back (see the
//! `store` module). A file holds its object as the last call that changed it left it, with
//! its scheduled transition, so loading it replays what the clock did since: status changes
//! cost no writes (an invocation's time is not written either).

mod alaya;
mod app;
mod config;
mod fabric;
mod fields;
mod invoke;
mod local;
mod reply;
mod sign;
mod stats;
mod store;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub use config::{AmbiguousMode, CallFaults, Config, Faults, Malformed, Timings};

/// Why the local cloud could not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("cannot listen on {addr}: {source}")]
    #[diagnostic(
        code(inferform::local_cloud::bind),
        help("pick another port, or 0 for any free one")
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use the local cloud's data at {}: {source}", path.display())]
    #[diagnostic(code(inferform::local_cloud::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the local cloud's object file {} is not valid: {source}", path.display())]
    #[diagnostic(
        code(inferform::local_cloud::corrupt),
        help("move the file away to start without that object")
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid local cloud config{}: {source}", path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    #[diagnostic(code(inferform::local_cloud::config))]
    Config {
        path: Option<PathBuf>,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid faults: {msg}")]
    #[diagnostic(code(inferform::local_cloud::faults))]
    InvalidFaults { msg: String },
}

/// The whole local cloud as a router, for in-process use (for example tower's `oneshot`).
/// Opens the data folder when the config names one.
pub fn router(config: Config) -> Result<axum::Router, Error> {
    Ok(app::router(app::App::new(config)?))
}

/// A running local cloud. Dropping it stops the server abruptly; [`LocalCloud::shutdown`]
/// stops it gracefully.
pub struct LocalCloud {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl LocalCloud {
    /// Binds `addr` (port 0 picks a free port) and serves in a tokio task.
    pub async fn start(config: Config, addr: SocketAddr) -> Result<LocalCloud, Error> {
        let app = app::App::new(config)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let _ = app.bound.set(bound);
        let router = app::router(app);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            // Errors here are per connection and already handled by hyper; the listener itself
            // does not fail once bound.
            let _ = serve.await;
        });
        Ok(LocalCloud {
            addr: bound,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (the loopback address when bound to an unspecified one).
    pub fn base_url(&self) -> String {
        let ip = if self.addr.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.addr.ip()
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Stops accepting connections and waits (up to 5 seconds) for answers under way.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for LocalCloud {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
