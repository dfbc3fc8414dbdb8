//! The configured `alaya` provider and `alaya_expert_deployment`'s operations.
//!
//! Create waits for `running`. Update changes `scale` online through `/scale`; any other change
//! goes through the offline update: cancel, wait for `stopped`, PUT the whole body, wait for
//! `running`. Delete waits until the service is gone. Statuses are read with the misspellings
//! some pages use (`staring`, `stoping`, `stoped`) mapped to the right words.
//!
//! Import ids are the `serviceId`. The data source looks a deployment up by `name` (and
//! `vks_id`, `namespace` when given) with the list's filters and `model=expert`. Invoking
//! POSTs `{service_url}/v1/chat/completions` with the deployment's `apiKey` (and never the
//! account's credential), the `model` its first served name, and streams the answer. Every
//! call of an operation is bounded by its [`OpContext::timeout`].

use std::sync::atomic::{AtomicU32, Ordering};

use inferform_provider::chat;
use inferform_provider::http::{Method, Url};
use inferform_provider::lookup::{none_found, several_found, split_import_id};
use inferform_provider::shape::{
    carry_computed, complete, from_api, imported, str_field, text_field, to_api, Naming,
};
use inferform_provider::wait::{create_or_adopt, wait_for, Deadline, Observed};
use inferform_provider::{ErrorKind, Object, OpContext, Opened, Provider, ProviderError};
use inferform_types::Schema;
use serde_json::Value as Json;

use crate::client::{encode, AlayaClient, Answer};

/// An expert deployment is imported by its `serviceId` alone: its other fields come from the
/// cloud.
pub const IMPORT_ID_FORMAT: &[&str] = &["SERVICE_ID"];
use crate::schema;

/// How many polls an offline update may show `stopped` before the service starts again.
const STOPPED_POLLS_ALLOWED: u32 = 20;

/// A configured Alaya provider.
pub struct AlayaProvider {
    client: AlayaClient,
    schema: Schema,
}

impl std::fmt::Debug for AlayaProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlayaProvider")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// `staring` → `starting`, `stoping` → `stopping`, `stoped` → `stopped`; lowercase.
pub fn normalize_status(status: &str) -> String {
    let s = status.trim().to_ascii_lowercase();
    match s.as_str() {
        "staring" => "starting".into(),
        "stoping" => "stopping".into(),
        "stoped" => "stopped".into(),
        _ => s,
    }
}

fn is_transitional(status: &str) -> bool {
    matches!(
        status,
        "starting"
            | "stopping"
            | "pending"
            | "creating"
            | "deploying"
            | "updating"
            | "deleting"
            | "scaling"
    )
}

/// What a poll waiting for `target` makes of a status. `stopped_ok` lets a `stopped` count as
/// still changing (during an offline update, before the restart).
fn observe(api: Object, target: &str, stopped_ok: bool) -> Observed<Object> {
    let status = match str_field(&api, "status") {
        Some(s) => normalize_status(s),
        None => {
            return Observed::Done {
                status: None,
                value: api,
            }
        }
    };
    if status == target {
        Observed::Done {
            status: Some(status),
            value: api,
        }
    } else if is_transitional(&status)
        || (stopped_ok && status == "stopped")
        // A cancel takes a moment to begin.
        || (target == "stopped" && status == "running")
    {
        Observed::Pending { status }
    } else {
        let message = ["errorMsg", "error_msg", "message", "reason", "msg"]
            .iter()
            .find_map(|k| str_field(&api, k))
            .map(str::to_string);
        Observed::Failed {
            status,
            code: text_field(&api, "errorCode"),
            message,
        }
    }
}

/// An answer that succeeded but does not have the shape the call promises.
fn shape_error(path: &str, message: &str) -> ProviderError {
    let mut e = ProviderError::new(ErrorKind::Api, message.to_string());
    e.call = Some(format!("GET {}{path}", crate::client::API_PREFIX));
    e
}

/// The GET answer flattened: the deployment's settings may sit under `expert`.
pub fn flatten(data: &Json) -> Object {
    let mut flat = data.as_object().cloned().unwrap_or_default();
    if let Some(expert) = flat.get("expert").and_then(Json::as_object).cloned() {
        for (k, v) in expert {
            let slot = flat.entry(k).or_insert(Json::Null);
            if slot.is_null() {
                *slot = v;
            }
        }
    }
    flat
}

impl AlayaProvider {
    pub fn new(client: AlayaClient) -> Self {
        AlayaProvider {
            client,
            schema: schema::expert_deployment(),
        }
    }

    fn check_type(type_name: &str) -> Result<(), ProviderError> {
        if type_name == schema::EXPERT_DEPLOYMENT {
            Ok(())
        } else {
            Err(ProviderError::new(
                ErrorKind::Invalid,
                format!("the alaya provider has no resource type `{type_name}`"),
            ))
        }
    }

    /// The deployment's API form, flattened; `None` when it does not exist.
    pub async fn fetch(
        &self,
        deadline: Deadline,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        let path = format!("/deployment/{}", encode(id));
        match self
            .client
            .call(Method::GET, &path, &[], None, deadline)
            .await?
        {
            Answer::NotFound => Ok(None),
            Answer::Data(data) => {
                // A success that does not describe this deployment (no data, another shape,
                // another id) cannot be understood: it is an error, never "deleted" and
                // never a deployment whose every field was emptied.
                let described = data
                    .as_object()
                    .and_then(|o| text_field(o, "serviceId").or_else(|| text_field(o, "id")));
                match described {
                    Some(got) if got == id => {}
                    Some(_) => {
                        return Err(shape_error(
                            &path,
                            "the answer describes another deployment than the one asked for",
                        ))
                    }
                    None => {
                        return Err(shape_error(
                            &path,
                            "the answer's data is not a deployment: it has no serviceId",
                        ))
                    }
                }
                let flat = flatten(&data);
                if str_field(&flat, "status")
                    .is_some_and(|s| matches!(normalize_status(s).as_str(), "deleted" | "removed"))
                {
                    return Ok(None);
                }
                Ok(Some(flat))
            }
        }
    }

    fn to_attrs(&self, api: &Object, prior: &Object) -> Object {
        let mut out = from_api(&self.schema, api, Naming::Camel, Some(prior));
        if let Some(id) = text_field(api, "serviceId")
            .or_else(|| text_field(api, "id"))
            .or_else(|| text_field(prior, "id"))
        {
            out.insert("id".into(), Json::String(id));
        }
        if let Some(status) = str_field(api, "status") {
            out.insert("status".into(), Json::String(normalize_status(status)));
        }
        out
    }

    /// The attributes of a deployment read with no prior state (an import, a data source).
    fn imported_attrs(&self, api: &Object, id: &str) -> Object {
        let mut out = imported(&self.schema, api, Naming::Camel);
        let id = text_field(api, "serviceId")
            .or_else(|| text_field(api, "id"))
            .unwrap_or_else(|| id.to_string());
        out.insert("id".into(), Json::String(id));
        if let Some(status) = str_field(api, "status") {
            out.insert("status".into(), Json::String(normalize_status(status)));
        }
        out
    }

    fn body(&self, planned: &Object) -> Json {
        let mut body = to_api(&self.schema, planned, Naming::Camel, &[]);
        // The API requires extensions; none is an empty object.
        body.entry("extensions")
            .or_insert_with(|| Json::Object(Object::new()));
        Json::Object(body)
    }

    async fn wait_status(
        &self,
        ctx: &OpContext,
        deadline: Deadline,
        id: &str,
        what: &str,
        target: &'static str,
        stopped_ok: bool,
    ) -> Result<Object, ProviderError> {
        let polls = AtomicU32::new(0);
        let polls = &polls;
        wait_for(ctx, deadline, what, target, || async move {
            let n = polls.fetch_add(1, Ordering::SeqCst);
            match self.fetch(deadline, id).await? {
                // Just created, and not listed yet: give it a few polls.
                None if n < 5 => Ok(Observed::Pending {
                    status: "pending".into(),
                }),
                None => Ok(Observed::Failed {
                    status: "deleted".into(),
                    code: None,
                    message: Some("it is gone".into()),
                }),
                Some(api) => Ok(observe(
                    api,
                    target,
                    stopped_ok && n < STOPPED_POLLS_ALLOWED,
                )),
            }
        })
        .await
    }

    async fn wait_gone(
        &self,
        ctx: &OpContext,
        deadline: Deadline,
        id: &str,
        what: &str,
    ) -> Result<(), ProviderError> {
        wait_for(ctx, deadline, what, "deleted", || async move {
            Ok(match self.fetch(deadline, id).await? {
                None => Observed::Done {
                    status: Some("deleted".into()),
                    value: (),
                },
                Some(api) => {
                    let status = str_field(&api, "status")
                        .map(normalize_status)
                        .unwrap_or_else(|| "deleting".into());
                    if status == "failed" {
                        match observe(api, "deleted", false) {
                            Observed::Failed {
                                status,
                                code,
                                message,
                            } => Observed::Failed {
                                status,
                                code,
                                message,
                            },
                            _ => Observed::Pending { status },
                        }
                    } else {
                        Observed::Pending { status }
                    }
                }
            })
        })
        .await
    }

    /// The list row of the deployment `planned` names (vksId, namespace, name).
    async fn find_row(
        &self,
        deadline: Deadline,
        planned: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let (Some(vks), Some(ns), Some(name)) = (
            str_field(planned, "vks_id"),
            str_field(planned, "namespace"),
            str_field(planned, "name"),
        ) else {
            return Ok(None);
        };
        Ok(self
            .list_rows(deadline, name, Some(vks), Some(ns), 1)
            .await?
            .pop())
    }

    /// The list rows of expert deployments named `name` (in `vks` and `ns`, when given), up to
    /// `most` of them. The list's filters narrow the search; each row is checked again, since
    /// a filter may match more loosely than equality.
    async fn list_rows(
        &self,
        deadline: Deadline,
        name: &str,
        vks: Option<&str>,
        ns: Option<&str>,
        most: usize,
    ) -> Result<Vec<Object>, ProviderError> {
        const SIZE: usize = 100;
        let size = SIZE.to_string();
        let mut found = Vec::new();
        for page in 1..=100usize {
            let page_text = page.to_string();
            let mut query = Vec::new();
            if let Some(vks) = vks {
                query.push(("vksId", vks));
            }
            if let Some(ns) = ns {
                query.push(("namespace", ns));
            }
            query.extend([
                ("name", name),
                ("model", "expert"),
                ("page", page_text.as_str()),
                ("size", size.as_str()),
            ]);
            let data = match self
                .client
                .call(Method::GET, "/deployment/list", &query, None, deadline)
                .await?
            {
                Answer::Data(d) => d,
                Answer::NotFound => break,
            };
            // Rows that cannot be read are an error, never an empty page: an empty page
            // would make adoption create a duplicate and a data source report nothing.
            let rows: Vec<Object> = match data.get("rows").or_else(|| data.get("list")) {
                Some(Json::Array(rows)) => rows
                    .iter()
                    .map(|r| r.as_object().cloned())
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        shape_error("/deployment/list", "a row of the list is not an object")
                    })?,
                // No rows at all, and a count that says none: an empty page.
                None if data
                    .get("count")
                    .and_then(|c| c.as_u64().or_else(|| c.as_str()?.trim().parse().ok()))
                    == Some(0) =>
                {
                    Vec::new()
                }
                _ => {
                    return Err(shape_error(
                        "/deployment/list",
                        "the answer's data has no `rows` list",
                    ))
                }
            };
            for row in &rows {
                let matches = str_field(row, "name") == Some(name)
                    && vks.is_none_or(|vks| str_field(row, "vksId").is_none_or(|v| v == vks))
                    && ns.is_none_or(|ns| str_field(row, "namespace").is_none_or(|v| v == ns));
                if matches {
                    found.push(row.clone());
                    if found.len() >= most {
                        return Ok(found);
                    }
                }
            }
            let count = data
                .get("count")
                .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()))
                .unwrap_or(0) as usize;
            if rows.is_empty() || page * SIZE >= count {
                break;
            }
        }
        Ok(found)
    }

    /// Where `invoke` sends a message and with what: the chat URL, the key, and the model.
    async fn service_of(
        &self,
        deadline: Deadline,
        state: &Object,
    ) -> Result<(Url, String, String), ProviderError> {
        let known = |attrs: &Object| {
            let url = str_field(attrs, "service_url").filter(|u| !u.is_empty())?;
            let key = str_field(attrs, "api_key").filter(|k| !k.is_empty())?;
            let model = attrs
                .get("served_name")
                .and_then(Json::as_array)
                .and_then(|names| names.first())
                .and_then(Json::as_str)?;
            Some((url.to_string(), key.to_string(), model.to_string()))
        };
        let (url, key, model) = match known(state) {
            Some(found) => found,
            // The state lacks them (an older state, say): ask the cloud.
            None => {
                let id = id_of(state)?;
                let api = self.fetch(deadline, &id).await?.ok_or_else(|| {
                    ProviderError::new(
                        ErrorKind::Invalid,
                        format!("{} {id} does not exist", schema::EXPERT_DEPLOYMENT),
                    )
                })?;
                known(&self.to_attrs(&api, state)).ok_or_else(|| {
                    ProviderError::new(
                        ErrorKind::Invalid,
                        format!(
                            "{} {id} has no service_url, api_key or served_name yet; \
                             is it running?",
                            schema::EXPERT_DEPLOYMENT
                        ),
                    )
                })?
            }
        };
        let chat_url = format!("{}/v1/chat/completions", url.trim_end_matches('/'));
        let chat_url = Url::parse(&chat_url).map_err(|e| {
            ProviderError::new(
                ErrorKind::Invalid,
                format!("the service_url `{url}` is not a URL: {e}"),
            )
        })?;
        Ok((chat_url, key, model))
    }

    fn what(planned: &Object, id: &str) -> String {
        match str_field(planned, "name") {
            Some(name) => format!("{} \"{name}\" ({id})", schema::EXPERT_DEPLOYMENT),
            None => format!("{} {id}", schema::EXPERT_DEPLOYMENT),
        }
    }
}

fn id_of(attrs: &Object) -> Result<String, ProviderError> {
    text_field(attrs, "id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Invalid,
                format!("{} has no id in its state", schema::EXPERT_DEPLOYMENT),
            )
        })
}

#[async_trait::async_trait]
impl Provider for AlayaProvider {
    async fn read(
        &self,
        ctx: &OpContext,
        type_name: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        Self::check_type(type_name)?;
        let id = id_of(prior)?;
        Ok(self
            .fetch(Deadline::start(ctx), &id)
            .await?
            .map(|api| self.to_attrs(&api, prior)))
    }

    async fn create(
        &self,
        ctx: &OpContext,
        type_name: &str,
        planned: &Object,
    ) -> Result<Object, ProviderError> {
        Self::check_type(type_name)?;
        let deadline = Deadline::start(ctx);
        let planned = complete(&self.schema, planned);
        let body = self.body(&planned);
        let (planned_ref, body_ref) = (&planned, &body);
        let id = create_or_adopt(
            self.client.http().retry_policy(),
            || async move {
                let data = self
                    .client
                    .data(
                        Method::POST,
                        "/deployment/expert",
                        &[],
                        Some(body_ref),
                        deadline,
                    )
                    .await?;
                data.as_object()
                    .and_then(|d| text_field(d, "serviceId").or_else(|| text_field(d, "id")))
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| {
                        ProviderError::new(
                            ErrorKind::Api,
                            "POST /api/serverless-infer/v1/deployment/expert answered without a serviceId",
                        )
                    })
            },
            || async move {
                Ok(self.find_row(deadline, planned_ref).await?.and_then(|row| {
                    text_field(&row, "serviceId").or_else(|| text_field(&row, "id"))
                }))
            },
        )
        .await?;
        let what = Self::what(&planned, &id);
        let api = self
            .wait_status(ctx, deadline, &id, &what, "running", false)
            .await?;
        Ok(self.to_attrs(&api, &planned))
    }

    async fn update(
        &self,
        ctx: &OpContext,
        type_name: &str,
        prior: &Object,
        planned: &Object,
    ) -> Result<Object, ProviderError> {
        Self::check_type(type_name)?;
        let deadline = Deadline::start(ctx);
        let planned = carry_computed(&self.schema, &complete(&self.schema, planned), prior);
        let id = id_of(prior)?;
        let what = Self::what(&planned, &id);
        let mut before = to_api(&self.schema, prior, Naming::Camel, &[]);
        let mut after = to_api(&self.schema, &planned, Naming::Camel, &[]);
        let scale_changed = before.remove("scale") != after.remove("scale");
        let offline = before != after;
        let api = if offline {
            self.client
                .data(
                    Method::POST,
                    &format!("/deployment/{}/cancel", encode(&id)),
                    &[],
                    None,
                    deadline,
                )
                .await?;
            self.wait_status(ctx, deadline, &id, &what, "stopped", false)
                .await?;
            self.client
                .data(
                    Method::PUT,
                    &format!("/deployment/expert/{}", encode(&id)),
                    &[],
                    Some(&self.body(&planned)),
                    deadline,
                )
                .await?;
            self.wait_status(ctx, deadline, &id, &what, "running", true)
                .await?
        } else {
            if scale_changed {
                let scale = to_api(&self.schema, &planned, Naming::Camel, &[])
                    .remove("scale")
                    .unwrap_or(Json::Null);
                let body = serde_json::json!({ "scale": scale });
                self.client
                    .data(
                        Method::PUT,
                        &format!("/deployment/{}/scale", encode(&id)),
                        &[],
                        Some(&body),
                        deadline,
                    )
                    .await?;
            }
            self.wait_status(ctx, deadline, &id, &what, "running", false)
                .await?
        };
        let mut planned = planned;
        planned.insert("id".into(), Json::String(id));
        Ok(self.to_attrs(&api, &planned))
    }

    async fn delete(
        &self,
        ctx: &OpContext,
        type_name: &str,
        prior: &Object,
    ) -> Result<(), ProviderError> {
        Self::check_type(type_name)?;
        let deadline = Deadline::start(ctx);
        let id = id_of(prior)?;
        let path = format!("/deployment/{}", encode(&id));
        if let Answer::NotFound = self
            .client
            .call(Method::DELETE, &path, &[], None, deadline)
            .await?
        {
            return Ok(());
        }
        let what = Self::what(prior, &id);
        self.wait_gone(ctx, deadline, &id, &what).await
    }

    async fn find(
        &self,
        ctx: &OpContext,
        type_name: &str,
        planned: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        Self::check_type(type_name)?;
        let deadline = Deadline::start(ctx);
        let planned = complete(&self.schema, planned);
        let Some(row) = self.find_row(deadline, &planned).await? else {
            return Ok(None);
        };
        let Some(id) = text_field(&row, "serviceId").or_else(|| text_field(&row, "id")) else {
            return Ok(None);
        };
        Ok(self
            .fetch(deadline, &id)
            .await?
            .map(|api| self.to_attrs(&api, &planned)))
    }

    async fn import(
        &self,
        ctx: &OpContext,
        type_name: &str,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        Self::check_type(type_name)?;
        split_import_id(type_name, id, IMPORT_ID_FORMAT)?;
        Ok(self
            .fetch(Deadline::start(ctx), id)
            .await?
            .map(|api| self.imported_attrs(&api, id)))
    }

    async fn read_data(
        &self,
        ctx: &OpContext,
        type_name: &str,
        config: &Object,
    ) -> Result<Object, ProviderError> {
        Self::check_type(type_name)?;
        let deadline = Deadline::start(ctx);
        let arg = |name: &str| str_field(config, name).filter(|v| !v.is_empty());
        let name = arg("name").ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Invalid,
                format!("data source {type_name} needs name"),
            )
        })?;
        let (vks, ns) = (arg("vks_id"), arg("namespace"));
        let searched = match (vks, ns) {
            (Some(vks), Some(ns)) => {
                format!("named \"{name}\" in VKS cluster {vks}, namespace {ns}")
            }
            (Some(vks), None) => format!("named \"{name}\" in VKS cluster {vks}"),
            (None, Some(ns)) => format!("named \"{name}\" in namespace {ns}"),
            (None, None) => format!("named \"{name}\""),
        };
        let rows = self.list_rows(deadline, name, vks, ns, usize::MAX).await?;
        let id_of_row =
            |row: &Object| text_field(row, "serviceId").or_else(|| text_field(row, "id"));
        let id = match rows.as_slice() {
            [] => return Err(none_found(type_name, &searched)),
            [row] => id_of_row(row).ok_or_else(|| none_found(type_name, &searched))?,
            _ => {
                let found: Vec<String> = rows
                    .iter()
                    .map(|row| {
                        format!(
                            "{} ({}/{})",
                            id_of_row(row).unwrap_or_else(|| "?".into()),
                            str_field(row, "vksId").unwrap_or("?"),
                            str_field(row, "namespace").unwrap_or("?")
                        )
                    })
                    .collect();
                return Err(several_found(
                    type_name,
                    &searched,
                    &found,
                    "set vks_id and namespace to choose one",
                ));
            }
        };
        match self.fetch(deadline, &id).await? {
            Some(api) => Ok(self.imported_attrs(&api, &id)),
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
        Self::check_type(type_name)?;
        let deadline = Deadline::start(ctx);
        let (url, key, model) = self.service_of(deadline, state).await?;
        let body = chat::request_body(message, Some(&model));
        let (opened, http) = self.client.open_service(url, &key, &body, deadline).await?;
        match opened {
            Opened::Stream(stream) => chat::read_stream(stream, http.redactor(), on_text).await,
            Opened::Answer(response) => Err(chat::answer_error(&response, http.redactor())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn misspelled_statuses() {
        assert_eq!(normalize_status("staring"), "starting");
        assert_eq!(normalize_status("stoping"), "stopping");
        assert_eq!(normalize_status("stoped"), "stopped");
        assert_eq!(normalize_status("Running"), "running");
        let o = |s: &str| json!({"status": s}).as_object().cloned().unwrap();
        assert!(matches!(
            observe(o("staring"), "running", false),
            Observed::Pending { .. }
        ));
        assert!(matches!(
            observe(o("stoped"), "stopped", false),
            Observed::Done { .. }
        ));
        assert!(matches!(
            observe(o("stoped"), "running", true),
            Observed::Pending { .. }
        ));
        assert!(matches!(
            observe(o("stopped"), "running", false),
            Observed::Failed { .. }
        ));
        match observe(
            json!({"status": "failed", "message": "image pull"})
                .as_object()
                .cloned()
                .unwrap(),
            "running",
            false,
        ) {
            Observed::Failed { message, .. } => assert_eq!(message.as_deref(), Some("image pull")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn settings_under_expert_are_found() {
        let flat = flatten(&json!({
            "serviceId": "s1", "status": "running", "vksId": "v",
            "expert": {"headConfig": {"image": "i"}, "vksId": "other"}
        }));
        assert_eq!(flat["headConfig"], json!({"image": "i"}));
        assert_eq!(flat["vksId"], json!("v"));
    }
}
