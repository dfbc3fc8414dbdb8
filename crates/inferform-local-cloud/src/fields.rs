//! Reading request bodies and queries with errors that name the offending field.

use serde_json::{Map, Value};

use crate::reply::{ApiError, Cloud, Result};
use crate::sign::query_pairs;

/// Parses a JSON object body.
pub(crate) fn object(cloud: Cloud, bytes: &[u8]) -> Result<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(cloud, "the request body is required"));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request(
            cloud,
            "the request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(
            cloud,
            format!("the request body is not valid JSON: {e}"),
        )),
    }
}

/// Reads fields of one JSON object, naming them by `prefix.field` in errors.
pub(crate) struct Fields<'a> {
    pub cloud: Cloud,
    pub map: &'a Map<String, Value>,
    pub prefix: String,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(cloud: Cloud, map: &'a Map<String, Value>) -> Self {
        Fields {
            cloud,
            map,
            prefix: String::new(),
        }
    }

    pub(crate) fn path(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.prefix)
        }
    }

    fn bad(&self, msg: String) -> ApiError {
        ApiError::bad_request(self.cloud, msg)
    }

    /// The value, treating JSON `null` as absent.
    pub(crate) fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    pub(crate) fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// A required, non-empty string.
    pub(crate) fn req_str(&self, field: &str) -> Result<String> {
        match self.opt_str(field)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(self.bad(format!("{} must not be empty", self.path(field)))),
            None => Err(self.bad(format!("{} is required", self.path(field)))),
        }
    }

    /// An optional string (may be empty).
    pub(crate) fn opt_str(&self, field: &str) -> Result<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(format!("{} must be a string", self.path(field)))),
        }
    }

    /// A required string of at most `max` characters, at least one.
    pub(crate) fn name(&self, field: &str, max: usize) -> Result<String> {
        let s = self.req_str(field)?;
        if s.chars().count() > max {
            return Err(self.bad(format!(
                "{} must be 1 to {max} characters long",
                self.path(field)
            )));
        }
        Ok(s)
    }

    /// An optional name of 1 to `max` characters.
    pub(crate) fn opt_name(&self, field: &str, max: usize) -> Result<Option<String>> {
        if self.has(field) {
            self.name(field, max).map(Some)
        } else {
            Ok(None)
        }
    }

    /// An optional non-negative integer.
    pub(crate) fn opt_uint(&self, field: &str) -> Result<Option<u64>> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                self.bad(format!(
                    "{} must be a non-negative integer",
                    self.path(field)
                ))
            }),
        }
    }

    /// An optional nested object, as fields of its own.
    pub(crate) fn opt_obj(&self, field: &str) -> Result<Option<Fields<'a>>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Fields {
                cloud: self.cloud,
                map: m,
                prefix: self.path(field),
            })),
            Some(_) => Err(self.bad(format!("{} must be an object", self.path(field)))),
        }
    }

    /// A required nested object.
    pub(crate) fn req_obj(&self, field: &str) -> Result<Fields<'a>> {
        self.opt_obj(field)?
            .ok_or_else(|| self.bad(format!("{} is required", self.path(field))))
    }

    /// A required list of non-empty strings, with at least one element.
    pub(crate) fn req_str_list(&self, field: &str) -> Result<Vec<String>> {
        let Some(v) = self.get(field) else {
            return Err(self.bad(format!("{} is required", self.path(field))));
        };
        let list = v
            .as_array()
            .ok_or_else(|| self.bad(format!("{} must be a list of strings", self.path(field))))?;
        if list.is_empty() {
            return Err(self.bad(format!("{} must not be empty", self.path(field))));
        }
        list.iter()
            .map(|item| match item.as_str() {
                Some(s) if !s.is_empty() => Ok(s.to_owned()),
                _ => Err(self.bad(format!("{} must hold non-empty strings", self.path(field)))),
            })
            .collect()
    }

    /// An optional list of strings (elements may be empty, as in the seed's `args: [""]`).
    pub(crate) fn opt_str_list(&self, field: &str) -> Result<()> {
        match self.get(field) {
            None => Ok(()),
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(()),
            Some(_) => Err(self.bad(format!("{} must be a list of strings", self.path(field)))),
        }
    }

    /// An optional object whose values are all strings (`env`, `labels`).
    pub(crate) fn opt_str_map(&self, field: &str) -> Result<()> {
        match self.get(field) {
            None => Ok(()),
            Some(Value::Object(m)) if m.values().all(Value::is_string) => Ok(()),
            Some(_) => Err(self.bad(format!("{} must be an object of strings", self.path(field)))),
        }
    }
}

/// Decoded query parameters, first value per name.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Query {
        Query(raw.map(query_pairs).unwrap_or_default())
    }

    /// A parameter given with a non-empty value.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// An integer parameter within `min..=max`, or `default` when absent.
    pub(crate) fn int(
        &self,
        cloud: Cloud,
        name: &str,
        min: u64,
        max: u64,
        default: u64,
    ) -> Result<u64> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_request(
                    cloud,
                    format!("query parameter {name} must be an integer from {min} to {max}"),
                )),
            },
        }
    }
}
