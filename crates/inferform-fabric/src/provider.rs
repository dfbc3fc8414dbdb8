//! The configured `fabric` provider: create, read, update, delete and find for the four
//! resource types.
//!
//! Workspaces and models have no single GET: they are read by listing with `id=`. Endpoints and
//! service instances have one, and change asynchronously: creates and updates wait for
//! `RUNNING`, deletes for a 404 or `DELETED`.
//!
//! Import ids are `WORKSPACE_ID` for a workspace and `WORKSPACE_ID/ID` for what a workspace
//! holds. Data sources look an object up by `name` (in `workspace_id`) with the lists' `name=`
//! filter, keep the items whose name matches exactly, and read the one found as an import
//! does. A service instance is invoked on the ep host's `.../invocations`, its answer streamed.
//! Every call of an operation is bounded by its [`OpContext::timeout`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use inferform_provider::chat;
use inferform_provider::http::Method;
use inferform_provider::lookup::{none_found, several_found, split_import_id};
use inferform_provider::shape::{
    self, carry_computed, complete, from_api, imported, str_field, text_field, to_api, Naming,
};
use inferform_provider::wait::{create_or_adopt, wait_for, Deadline, Observed};
use inferform_provider::{ErrorKind, Object, OpContext, Opened, Provider, ProviderError};
use inferform_types::Schema;
use serde_json::Value as Json;

use crate::client::{says_gone, seg, FabricClient, Host};
use crate::schema;

/// The four resource types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Workspace,
    Endpoint,
    Model,
    ServiceInstance,
}

impl Kind {
    pub fn of(type_name: &str) -> Result<Kind, ProviderError> {
        Ok(match type_name {
            schema::WORKSPACE => Kind::Workspace,
            schema::ENDPOINT => Kind::Endpoint,
            schema::MODEL => Kind::Model,
            schema::SERVICE_INSTANCE => Kind::ServiceInstance,
            other => {
                return Err(ProviderError::new(
                    ErrorKind::Invalid,
                    format!("the fabric provider has no resource type `{other}`"),
                ))
            }
        })
    }

    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Workspace => schema::WORKSPACE,
            Kind::Endpoint => schema::ENDPOINT,
            Kind::Model => schema::MODEL,
            Kind::ServiceInstance => schema::SERVICE_INSTANCE,
        }
    }

    fn host(self) -> Host {
        match self {
            Kind::ServiceInstance => Host::Ep,
            _ => Host::Main,
        }
    }

    /// The collection's path: `/v1/workspaces/{ws}/endpoints`.
    pub fn collection(self, ws: &str) -> String {
        match self {
            Kind::Workspace => "/v1/workspaces".to_string(),
            Kind::Endpoint => format!("/v1/workspaces/{}/endpoints", seg(ws)),
            Kind::Model => format!("/v1/workspaces/{}/models", seg(ws)),
            Kind::ServiceInstance => format!("/v1/workspaces/{}/services/instances", seg(ws)),
        }
    }

    pub fn item(self, ws: &str, id: &str) -> String {
        format!("{}/{}", self.collection(ws), seg(id))
    }

    /// The list answer's items field.
    fn items_key(self) -> &'static str {
        match self {
            Kind::Workspace => "workspaces",
            Kind::Endpoint => "endpoints",
            Kind::Model => "models",
            Kind::ServiceInstance => "instances",
        }
    }

    /// The parts of an import id.
    pub fn import_format(self) -> &'static [&'static str] {
        match self {
            Kind::Workspace => &["WORKSPACE_ID"],
            Kind::Endpoint => &["WORKSPACE_ID", "ENDPOINT_ID"],
            Kind::Model => &["WORKSPACE_ID", "MODEL_ID"],
            Kind::ServiceInstance => &["WORKSPACE_ID", "INSTANCE_ID"],
        }
    }

    /// The workspace and the object's id an import id names.
    pub fn parse_import_id(self, id: &str) -> Result<(&str, &str), ProviderError> {
        let parts = split_import_id(self.type_name(), id, self.import_format())?;
        match parts.as_slice() {
            [id] => Ok(("", id)),
            [ws, id] => Ok((ws, id)),
            _ => Err(ProviderError::new(
                ErrorKind::Invalid,
                format!(
                    "`{id}` is not an import id of {}: expected {}",
                    self.type_name(),
                    self.import_format().join("/")
                ),
            )),
        }
    }

    /// `a model`, for messages.
    fn a_name(self) -> &'static str {
        match self {
            Kind::Workspace => "a workspace",
            Kind::Endpoint => "an endpoint",
            Kind::Model => "a model",
            Kind::ServiceInstance => "a service instance",
        }
    }

    fn has_single_get(self) -> bool {
        matches!(self, Kind::Endpoint | Kind::ServiceInstance)
    }

    /// The status a create or update waits for; `None` for "any settled status".
    fn ready_status(self) -> Option<&'static str> {
        match self {
            Kind::Endpoint | Kind::ServiceInstance => Some("RUNNING"),
            _ => None,
        }
    }

    /// The fields an update (PUT) may carry.
    fn updatable(self) -> &'static [&'static str] {
        match self {
            Kind::Workspace => &["name", "description", "metastore_id"],
            Kind::Endpoint => &["name", "description", "reserved_resource"],
            Kind::Model => &["name", "description", "version"],
            Kind::ServiceInstance => &["name", "description", "config"],
        }
    }
}

/// How long an object may stay invisible right after its create answered.
const MISSING_POLLS_ALLOWED: u32 = 5;

/// A configured Fabric provider.
pub struct FabricProvider {
    client: FabricClient,
    schemas: BTreeMap<String, Schema>,
}

impl std::fmt::Debug for FabricProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FabricProvider")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl FabricProvider {
    pub fn new(client: FabricClient) -> Self {
        FabricProvider {
            client,
            schemas: schema::resources(),
        }
    }

    fn schema(&self, kind: Kind) -> &Schema {
        // Every Kind has a schema: resources() lists them all (tested).
        &self.schemas[kind.type_name()]
    }

    /// Reads an object's API form; `None` when it does not exist.
    pub async fn fetch(
        &self,
        deadline: Deadline,
        kind: Kind,
        ws: &str,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        let found = if kind.has_single_get() {
            let response = self
                .client
                .send(
                    Method::GET,
                    kind.host(),
                    &kind.item(ws, id),
                    &[],
                    None,
                    deadline,
                )
                .await?;
            // A 404 for the object or for its workspace: either way the object is gone.
            if says_gone(&response) {
                return Ok(None);
            }
            if !response.is_success() {
                return Err(self.client.error(&response));
            }
            match response.json_required()? {
                // An object that does not say which it is may be anything (an error page
                // rendered as JSON, a proxy's answer): it is not taken for this one.
                Json::Object(o) => match text_field(&o, "id") {
                    Some(got) if got == id => Some(o),
                    Some(_) => {
                        return Err(response.error(
                            ErrorKind::Api,
                            None,
                            "the answer describes another object than the one asked for",
                        ))
                    }
                    None => {
                        return Err(response.error(
                            ErrorKind::Api,
                            None,
                            format!("the answer is not {}: it has no id", kind.a_name()),
                        ))
                    }
                },
                other => {
                    return Err(response.error(
                        ErrorKind::Api,
                        None,
                        format!("expected a JSON object, got {}", kind_of(&other)),
                    ))
                }
            }
        } else {
            self.list_find(deadline, kind, ws, &[("id", id)], |item| {
                text_field(item, "id").as_deref() == Some(id)
            })
            .await?
        };
        let Some(mut found) = found else {
            return Ok(None);
        };
        if str_field(&found, "status").is_some_and(|s| s.eq_ignore_ascii_case("DELETED")) {
            return Ok(None);
        }
        if kind == Kind::Model {
            self.add_model_version(deadline, ws, id, &mut found).await?;
        }
        Ok(Some(found))
    }

    /// Pages through a list until an item matches.
    async fn list_find(
        &self,
        deadline: Deadline,
        kind: Kind,
        ws: &str,
        filters: &[(&str, &str)],
        matches: impl Fn(&Object) -> bool,
    ) -> Result<Option<Object>, ProviderError> {
        Ok(self
            .list_matching(deadline, kind, ws, filters, matches, 1)
            .await?
            .pop())
    }

    /// Pages through a list (with the API's `filters`) and returns the items that match, up
    /// to `most` of them.
    ///
    /// A list whose workspace is gone (a 404 that [`says_gone`]) is empty: what lived in it
    /// is gone too. Every page must be a list answer that can be read ([`list_items`], each
    /// item with an id): an empty body or another shape is an error, never an empty list,
    /// because an empty list makes the plan believe objects were deleted.
    async fn list_matching(
        &self,
        deadline: Deadline,
        kind: Kind,
        ws: &str,
        filters: &[(&str, &str)],
        matches: impl Fn(&Object) -> bool,
        most: usize,
    ) -> Result<Vec<Object>, ProviderError> {
        const PAGE: usize = 100;
        const MAX_PAGES: usize = 100;
        let path = kind.collection(ws);
        let mut found = Vec::new();
        let mut offset = 0usize;
        for _ in 0..MAX_PAGES {
            let offset_text = offset.to_string();
            let limit_text = PAGE.to_string();
            let mut query: Vec<(&str, &str)> = filters.to_vec();
            query.push(("offset", &offset_text));
            query.push(("limit", &limit_text));
            let response = self
                .client
                .send(Method::GET, kind.host(), &path, &query, None, deadline)
                .await?;
            if kind != Kind::Workspace && says_gone(&response) {
                return Ok(found);
            }
            if !response.is_success() {
                return Err(self.client.error(&response));
            }
            let answer = response.json_required()?;
            let items = list_items(&answer, kind.items_key())
                .and_then(|items| {
                    if items.iter().all(|i| text_field(i, "id").is_some()) {
                        Ok(items)
                    } else {
                        Err(format!("an item of `{}` has no id", kind.items_key()))
                    }
                })
                .map_err(|why| {
                    response.error(
                        ErrorKind::Api,
                        None,
                        format!("the answer is not a list of {}: {why}", kind.items_key()),
                    )
                })?;
            offset += items.len();
            for item in items.iter().filter(|item| matches(item)) {
                found.push(item.clone());
                if found.len() >= most {
                    return Ok(found);
                }
            }
            let total = total_of(&answer).unwrap_or(0) as usize;
            if items.is_empty() || offset >= total {
                break;
            }
        }
        Ok(found)
    }

    /// Models list without their version: fetch it from `/versions` when missing.
    async fn add_model_version(
        &self,
        deadline: Deadline,
        ws: &str,
        id: &str,
        model: &mut Object,
    ) -> Result<(), ProviderError> {
        if model.get("version").is_some_and(Json::is_object) {
            if !model.contains_key("version_id") {
                if let Some(vid) = model
                    .get("version")
                    .and_then(Json::as_object)
                    .and_then(|v| text_field(v, "id"))
                {
                    model.insert("version_id".into(), Json::String(vid));
                }
            }
            return Ok(());
        }
        let path = format!("{}/versions", Kind::Model.item(ws, id));
        let response = self
            .client
            .send(Method::GET, Host::Main, &path, &[], None, deadline)
            .await?;
        // The model went away since it was listed: what was listed is all there is.
        if says_gone(&response) {
            return Ok(());
        }
        if !response.is_success() {
            return Err(self.client.error(&response));
        }
        let answer = response.json_required()?;
        let versions = list_items(&answer, "versions").map_err(|why| {
            response.error(
                ErrorKind::Api,
                None,
                format!("the answer is not a list of versions: {why}"),
            )
        })?;
        let current = text_field(model, "version_id")
            .or_else(|| text_field(model, "latest_version_id"))
            .or_else(|| text_field(model, "current_version_id"));
        let chosen = current
            .as_deref()
            .and_then(|cur| {
                versions
                    .iter()
                    .find(|v| text_field(v, "id").as_deref() == Some(cur))
            })
            .or_else(|| {
                // Newest by create_time when the cloud says, else the last listed.
                versions
                    .iter()
                    .max_by(|a, b| str_field(a, "create_time").cmp(&str_field(b, "create_time")))
            });
        if let Some(version) = chosen {
            if !model.contains_key("version_id") {
                if let Some(vid) = text_field(version, "id") {
                    model.insert("version_id".into(), Json::String(vid));
                }
            }
            model.insert("version".into(), Json::Object(version.clone()));
        }
        Ok(())
    }

    /// The attributes an API object describes, in the configuration's shape.
    fn to_attrs(&self, kind: Kind, api: &Object, prior: &Object) -> Object {
        let mut out = from_api(self.schema(kind), api, Naming::Same, Some(prior));
        if let Some(id) = text_field(api, "id").or_else(|| text_field(prior, "id")) {
            out.insert("id".into(), Json::String(id));
        }
        if kind != Kind::Workspace {
            if let Some(ws) = prior.get("workspace_id").filter(|v| v.is_string()) {
                out.insert("workspace_id".into(), ws.clone());
            }
        }
        out
    }

    /// The attributes of an object read with no prior state (an import, a data source).
    fn imported_attrs(&self, kind: Kind, api: &Object, ws: &str, id: &str) -> Object {
        let mut out = imported(self.schema(kind), api, Naming::Same);
        let id = text_field(api, "id").unwrap_or_else(|| id.to_string());
        out.insert("id".into(), Json::String(id));
        if kind != Kind::Workspace {
            out.insert("workspace_id".into(), Json::String(ws.to_string()));
        }
        out
    }

    fn what(kind: Kind, attrs: &Object, id: &str) -> String {
        match str_field(attrs, "name") {
            Some(name) => format!("{} \"{name}\" ({id})", kind.type_name()),
            None => format!("{} {id}", kind.type_name()),
        }
    }

    /// Polls until the object reaches `target` (or any settled status when `None`).
    async fn wait_ready(
        &self,
        ctx: &OpContext,
        deadline: Deadline,
        kind: Kind,
        ws: &str,
        id: &str,
        what: &str,
    ) -> Result<Object, ProviderError> {
        let target = kind.ready_status();
        let missing = AtomicU32::new(0);
        let missing = &missing;
        wait_for(
            ctx,
            deadline,
            what,
            target.unwrap_or("ready"),
            || async move {
                match self.fetch(deadline, kind, ws, id).await? {
                    None => {
                        if missing.fetch_add(1, Ordering::SeqCst) >= MISSING_POLLS_ALLOWED {
                            Ok(Observed::Failed {
                                status: "DELETED".into(),
                                code: None,
                                message: Some("it is gone".into()),
                            })
                        } else {
                            Ok(Observed::Pending {
                                status: "PENDING".into(),
                            })
                        }
                    }
                    Some(api) => Ok(observe(api, target)),
                }
            },
        )
        .await
    }

    async fn wait_gone(
        &self,
        ctx: &OpContext,
        deadline: Deadline,
        kind: Kind,
        ws: &str,
        id: &str,
        what: &str,
    ) -> Result<(), ProviderError> {
        wait_for(ctx, deadline, what, "deleted", || async move {
            Ok(match self.fetch(deadline, kind, ws, id).await? {
                None => Observed::Done {
                    status: Some("DELETED".into()),
                    value: (),
                },
                Some(api) => {
                    let status = str_field(&api, "status").unwrap_or("DELETING").to_string();
                    if is_failed(&status) {
                        Observed::Failed {
                            code: str_field(&api, "error_code").map(str::to_string),
                            message: str_field(&api, "error_msg").map(str::to_string),
                            status,
                        }
                    } else {
                        Observed::Pending { status }
                    }
                }
            })
        })
        .await
    }

    /// The id of an object named as `planned` names it, in its workspace.
    async fn find_api(
        &self,
        deadline: Deadline,
        kind: Kind,
        planned: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let ws = workspace_of(kind, planned)?;
        let Some(name) = str_field(planned, "name") else {
            return Ok(None);
        };
        self.list_find(deadline, kind, &ws, &[("name", name)], |item| {
            str_field(item, "name") == Some(name)
        })
        .await
    }

    fn create_body(&self, kind: Kind, planned: &Object) -> Json {
        Json::Object(to_api(
            self.schema(kind),
            planned,
            Naming::Same,
            &["workspace_id"],
        ))
    }

    fn update_body(&self, kind: Kind, prior: &Object, planned: &Object) -> Json {
        let mut body = to_api(self.schema(kind), planned, Naming::Same, &["workspace_id"]);
        body.retain(|k, _| kind.updatable().contains(&k.as_str()));
        // A description taken out of the configuration is cleared, not left as it was.
        if !body.contains_key("description")
            && prior
                .get("description")
                .is_some_and(|d| !shape::is_empty(d))
        {
            body.insert("description".into(), Json::String(String::new()));
        }
        // A model's version is a new version: send it only when it changed.
        if kind == Kind::Model && prior.get("version") == planned.get("version") {
            body.remove("version");
        }
        Json::Object(body)
    }
}

/// What one poll of an object says, waiting for `target`.
fn observe(api: Object, target: Option<&str>) -> Observed<Object> {
    let Some(status) = str_field(&api, "status").map(str::to_string) else {
        return Observed::Done {
            status: None,
            value: api,
        };
    };
    let reached = match target {
        Some(t) => status.eq_ignore_ascii_case(t),
        None => !is_transitional(&status) && !is_failed(&status),
    };
    if reached {
        Observed::Done {
            status: Some(status),
            value: api,
        }
    } else if is_transitional(&status) {
        Observed::Pending { status }
    } else {
        // A failed status, or one that will not turn into the target (FROZEN, STOPPED).
        Observed::Failed {
            code: str_field(&api, "error_code").map(str::to_string),
            message: str_field(&api, "error_msg").map(str::to_string),
            status,
        }
    }
}

fn is_failed(status: &str) -> bool {
    status.to_ascii_uppercase().ends_with("FAILED")
}

fn is_transitional(status: &str) -> bool {
    matches!(
        status.to_ascii_uppercase().as_str(),
        "CREATING" | "UPDATING" | "DELETING" | "PENDING" | "STARTING" | "STOPPING"
    )
}

/// The items of a list answer: the named field, else the one array in the object (some
/// gateways name it `items`); a bare array is read too. An object with no array at all is an
/// empty list only when its `total` says 0. Anything else is an error saying why: a list
/// that cannot be read must never pass for an empty one.
pub fn list_items(answer: &Json, key: &str) -> Result<Vec<Object>, String> {
    let items = match answer {
        Json::Array(items) => items,
        Json::Object(o) => match o.get(key) {
            Some(Json::Array(items)) => items,
            Some(other) => {
                return Err(format!(
                    "`{key}` is {} where a list was expected",
                    kind_of(other)
                ))
            }
            None => {
                let arrays: Vec<&Vec<Json>> = o.values().filter_map(Json::as_array).collect();
                match arrays.as_slice() {
                    [one] => *one,
                    [] if total_of(answer) == Some(0) => return Ok(Vec::new()),
                    [] => return Err(format!("it has no `{key}` list")),
                    _ => return Err(format!("it has no `{key}` list but several others")),
                }
            }
        },
        other => {
            return Err(format!(
                "it is {} where an object with a `{key}` list was expected",
                kind_of(other)
            ))
        }
    };
    items
        .iter()
        .map(|item| {
            item.as_object()
                .cloned()
                .ok_or_else(|| format!("an item of `{key}` is {}", kind_of(item)))
        })
        .collect()
}

/// A list answer's `total`, a number or a numeric string.
fn total_of(answer: &Json) -> Option<u64> {
    answer
        .get("total")
        .and_then(|t| t.as_u64().or_else(|| t.as_str()?.trim().parse().ok()))
}

fn kind_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "nothing",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

fn workspace_of(kind: Kind, attrs: &Object) -> Result<String, ProviderError> {
    if kind == Kind::Workspace {
        return Ok(String::new());
    }
    str_field(attrs, "workspace_id")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Invalid,
                format!("{} needs workspace_id", kind.type_name()),
            )
        })
}

fn id_of(kind: Kind, attrs: &Object) -> Result<String, ProviderError> {
    text_field(attrs, "id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Invalid,
                format!("{} has no id in its state", kind.type_name()),
            )
        })
}

#[async_trait::async_trait]
impl Provider for FabricProvider {
    async fn read(
        &self,
        ctx: &OpContext,
        type_name: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let kind = Kind::of(type_name)?;
        let ws = workspace_of(kind, prior)?;
        let id = id_of(kind, prior)?;
        Ok(self
            .fetch(Deadline::start(ctx), kind, &ws, &id)
            .await?
            .map(|api| self.to_attrs(kind, &api, prior)))
    }

    async fn create(
        &self,
        ctx: &OpContext,
        type_name: &str,
        planned: &Object,
    ) -> Result<Object, ProviderError> {
        let kind = Kind::of(type_name)?;
        let deadline = Deadline::start(ctx);
        let planned = complete(self.schema(kind), planned);
        let ws = workspace_of(kind, &planned)?;
        let body = self.create_body(kind, &planned);
        let path = kind.collection(&ws);
        let (planned_ref, body_ref, path_ref) = (&planned, &body, &path);
        let id = create_or_adopt(
            self.client.http().retry_policy(),
            || async move {
                let answer = self
                    .client
                    .call(
                        Method::POST,
                        kind.host(),
                        path_ref,
                        &[],
                        Some(body_ref),
                        deadline,
                    )
                    .await?;
                answer
                    .as_object()
                    .and_then(|o| text_field(o, "id"))
                    .ok_or_else(|| {
                        ProviderError::new(
                            ErrorKind::Api,
                            format!("POST {path_ref} answered without an id"),
                        )
                    })
            },
            || async move {
                Ok(self
                    .find_api(deadline, kind, planned_ref)
                    .await?
                    .and_then(|o| text_field(&o, "id")))
            },
        )
        .await?;
        let what = Self::what(kind, &planned, &id);
        let api = self
            .wait_ready(ctx, deadline, kind, &ws, &id, &what)
            .await?;
        Ok(self.to_attrs(kind, &api, &planned))
    }

    async fn update(
        &self,
        ctx: &OpContext,
        type_name: &str,
        prior: &Object,
        planned: &Object,
    ) -> Result<Object, ProviderError> {
        let kind = Kind::of(type_name)?;
        let deadline = Deadline::start(ctx);
        let planned = carry_computed(
            self.schema(kind),
            &complete(self.schema(kind), planned),
            prior,
        );
        let ws = workspace_of(kind, prior)?;
        let id = id_of(kind, prior)?;
        let body = self.update_body(kind, prior, &planned);
        self.client
            .call(
                Method::PUT,
                kind.host(),
                &kind.item(&ws, &id),
                &[],
                Some(&body),
                deadline,
            )
            .await?;
        let what = Self::what(kind, &planned, &id);
        let api = self
            .wait_ready(ctx, deadline, kind, &ws, &id, &what)
            .await?;
        let mut planned = planned;
        planned.insert("id".into(), Json::String(id));
        Ok(self.to_attrs(kind, &api, &planned))
    }

    async fn delete(
        &self,
        ctx: &OpContext,
        type_name: &str,
        prior: &Object,
    ) -> Result<(), ProviderError> {
        let kind = Kind::of(type_name)?;
        let deadline = Deadline::start(ctx);
        let ws = workspace_of(kind, prior)?;
        let id = id_of(kind, prior)?;
        let response = self
            .client
            .send(
                Method::DELETE,
                kind.host(),
                &kind.item(&ws, &id),
                &[],
                None,
                deadline,
            )
            .await?;
        // Already gone, or its workspace is.
        if says_gone(&response) {
            return Ok(());
        }
        if !response.is_success() {
            return Err(self.client.error(&response));
        }
        let what = Self::what(kind, prior, &id);
        self.wait_gone(ctx, deadline, kind, &ws, &id, &what).await
    }

    async fn find(
        &self,
        ctx: &OpContext,
        type_name: &str,
        planned: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let kind = Kind::of(type_name)?;
        let deadline = Deadline::start(ctx);
        let planned = complete(self.schema(kind), planned);
        let ws = workspace_of(kind, &planned)?;
        let Some(found) = self.find_api(deadline, kind, &planned).await? else {
            return Ok(None);
        };
        let Some(id) = text_field(&found, "id") else {
            return Ok(None);
        };
        Ok(self
            .fetch(deadline, kind, &ws, &id)
            .await?
            .map(|api| self.to_attrs(kind, &api, &planned)))
    }

    async fn import(
        &self,
        ctx: &OpContext,
        type_name: &str,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        let kind = Kind::of(type_name)?;
        let (ws, id) = kind.parse_import_id(id)?;
        Ok(self
            .fetch(Deadline::start(ctx), kind, ws, id)
            .await?
            .map(|api| self.imported_attrs(kind, &api, ws, id)))
    }

    async fn read_data(
        &self,
        ctx: &OpContext,
        type_name: &str,
        config: &Object,
    ) -> Result<Object, ProviderError> {
        let kind = Kind::of(type_name)?;
        let deadline = Deadline::start(ctx);
        let ws = workspace_of(kind, config)?;
        let name = str_field(config, "name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::Invalid,
                    format!("data source {type_name} needs name"),
                )
            })?;
        let searched = if kind == Kind::Workspace {
            format!("named \"{name}\"")
        } else {
            format!("named \"{name}\" in workspace {ws}")
        };
        let found = self
            .list_matching(
                deadline,
                kind,
                &ws,
                &[("name", name)],
                |item| str_field(item, "name") == Some(name),
                usize::MAX,
            )
            .await?;
        let ids: Vec<String> = found.iter().filter_map(|o| text_field(o, "id")).collect();
        let id = match ids.as_slice() {
            [] => return Err(none_found(type_name, &searched)),
            [id] => id,
            _ => return Err(several_found(type_name, &searched, &ids, "")),
        };
        // Read it whole, as an import does: a list item may lack some fields.
        match self.fetch(deadline, kind, &ws, id).await? {
            Some(api) => Ok(self.imported_attrs(kind, &api, &ws, id)),
            None => Err(none_found(type_name, &searched)),
        }
    }

    async fn invoke(
        &self,
        ctx: &OpContext,
        type_name: &str,
        state: &Object,
        message: &str,
        on_text: &(dyn for<'t> Fn(&'t str) + Send + Sync),
    ) -> Result<(), ProviderError> {
        let kind = Kind::of(type_name)?;
        if kind != Kind::ServiceInstance {
            return Err(ProviderError::new(
                ErrorKind::Invalid,
                format!(
                    "{type_name} cannot be invoked: only {} answers messages",
                    schema::SERVICE_INSTANCE
                ),
            ));
        }
        let ws = workspace_of(kind, state)?;
        let id = id_of(kind, state)?;
        let path = format!("{}/invocations", kind.item(&ws, &id));
        let body = chat::request_body(message, None);
        let opened = self
            .client
            .open(Method::POST, Host::Ep, &path, &body, Deadline::start(ctx))
            .await?;
        match opened {
            Opened::Stream(stream) => {
                chat::read_stream(stream, self.client.http().redactor(), on_text).await
            }
            Opened::Answer(response) => Err(self.client.error(&response)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses() {
        let obj = |s: &str| json!({"status": s}).as_object().cloned().unwrap();
        assert!(matches!(
            observe(obj("CREATING"), Some("RUNNING")),
            Observed::Pending { .. }
        ));
        assert!(matches!(
            observe(obj("RUNNING"), Some("RUNNING")),
            Observed::Done { .. }
        ));
        assert!(matches!(
            observe(obj("CREATE_FAILED"), Some("RUNNING")),
            Observed::Failed { .. }
        ));
        assert!(matches!(
            observe(obj("FROZEN"), Some("RUNNING")),
            Observed::Failed { .. }
        ));
        assert!(matches!(
            observe(obj("ACTIVE"), None),
            Observed::Done { .. }
        ));
        assert!(matches!(
            observe(obj("UPDATING"), None),
            Observed::Pending { .. }
        ));
        assert!(matches!(
            observe(Object::new(), Some("RUNNING")),
            Observed::Done { .. }
        ));
    }

    #[test]
    fn list_answers() {
        let a = json!({"total": 2, "endpoints": [{"id": "a"}, {"id": "b"}]});
        assert_eq!(list_items(&a, "endpoints").map(|i| i.len()), Ok(2));
        let a = json!({"total": 1, "items": [{"id": "a"}]});
        assert_eq!(list_items(&a, "endpoints").map(|i| i.len()), Ok(1));
        assert_eq!(list_items(&json!({"total": 0}), "x"), Ok(Vec::new()));
        assert_eq!(list_items(&json!({"total": "0"}), "x"), Ok(Vec::new()));
        assert_eq!(list_items(&json!([]), "x"), Ok(Vec::new()));
    }

    /// An answer that cannot be read as a list is an error, never an empty list: an empty
    /// list would make the plan re-create healthy objects.
    #[test]
    fn unreadable_lists_are_errors() {
        for answer in [
            Json::Null,
            json!({}),
            json!({"total": 3}),
            json!({"unexpected": "shape"}),
            json!({"models": {"id": "a"}}),
            json!({"models": [1, 2]}),
            json!({"a": [], "b": []}),
            json!("models"),
            json!(7),
        ] {
            assert!(list_items(&answer, "models").is_err(), "{answer}");
        }
    }

    #[test]
    fn only_an_api_404_says_gone() {
        let r = |status: u16, body: &str| {
            inferform_provider::HttpResponse::new(status, Vec::new(), body.into(), "GET /x")
        };
        let gone = r#"{"error_code": "dataartsfabric.00040404", "error_msg": "workspace w does not exist"}"#;
        assert!(says_gone(&r(404, gone)));
        assert!(says_gone(&r(404, "{}")));
        assert!(!says_gone(&r(200, gone)));
        assert!(!says_gone(&r(
            404,
            r#"{"error_code": "APIG.0101", "error_msg": "The API does not exist"}"#
        )));
        assert!(!says_gone(&r(404, "")));
        assert!(!says_gone(&r(404, "<html>Not Found</html>")));
        assert!(!says_gone(&r(404, "[]")));
    }

    #[test]
    fn paths() {
        assert_eq!(Kind::Workspace.item("", "w1"), "/v1/workspaces/w1");
        assert_eq!(
            Kind::ServiceInstance.item("w1", "i1"),
            "/v1/workspaces/w1/services/instances/i1"
        );
        assert_eq!(
            Kind::Endpoint.collection("w 1"),
            "/v1/workspaces/w%201/endpoints"
        );
    }
}
