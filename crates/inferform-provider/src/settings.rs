//! Reading a `provider` block's attributes, with defaults from the environment.

use serde_json::Value as Json;

use crate::{ConfigureError, Object, ProviderEnv};

/// A string attribute of the block, else the first environment variable set; empty strings
/// count as unset.
pub fn string(config: &Object, name: &str, env: &ProviderEnv, vars: &[&str]) -> Option<String> {
    match config.get(name) {
        Some(Json::String(s)) if !s.is_empty() => return Some(s.clone()),
        Some(Json::Number(n)) => return Some(n.to_string()),
        _ => {}
    }
    vars.iter().find_map(|v| env.get(v)).map(str::to_string)
}

/// A positive number attribute of the block (a numeric string is accepted).
pub fn positive_number(
    provider: &str,
    config: &Object,
    name: &str,
) -> Result<Option<f64>, ConfigureError> {
    let value = match config.get(name) {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::Number(n)) => n.as_f64(),
        Some(Json::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match value {
        Some(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
        _ => Err(ConfigureError {
            attribute: Some(name.to_string()),
            message: format!("provider \"{provider}\": {name} must be a number above zero"),
            help: Some(format!("set {name} to a positive number, such as 10")),
        }),
    }
}

/// A base URL attribute: absolute, `http` or `https`.
pub fn base_url(provider: &str, name: &str, value: &str) -> Result<reqwest::Url, ConfigureError> {
    let invalid = |why: String| ConfigureError {
        attribute: Some(name.to_string()),
        message: format!("provider \"{provider}\": {name} `{value}` {why}"),
        help: Some(format!(
            "set {name} to a full URL with its scheme, such as http://127.0.0.1:8787"
        )),
    };
    let url = reqwest::Url::parse(value).map_err(|e| invalid(format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("is not an http or https URL".to_string()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_beats_environment() {
        let config = json!({"region": "a", "empty": ""})
            .as_object()
            .cloned()
            .unwrap();
        let mut env = ProviderEnv::default();
        env.vars.insert("R".into(), "b".into());
        assert_eq!(
            string(&config, "region", &env, &["R"]).as_deref(),
            Some("a")
        );
        assert_eq!(string(&config, "empty", &env, &["R"]).as_deref(), Some("b"));
        assert_eq!(string(&config, "none", &env, &[]), None);
    }

    #[test]
    fn numbers_and_urls() {
        let config = json!({"a": 5, "b": "0.5", "c": 0, "d": "x"})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(positive_number("p", &config, "a").unwrap(), Some(5.0));
        assert_eq!(positive_number("p", &config, "b").unwrap(), Some(0.5));
        assert_eq!(positive_number("p", &config, "z").unwrap(), None);
        assert!(positive_number("p", &config, "c").is_err());
        assert_eq!(
            positive_number("p", &config, "d")
                .unwrap_err()
                .attribute
                .as_deref(),
            Some("d")
        );
        assert!(base_url("p", "endpoint", "http://127.0.0.1:1").is_ok());
        assert!(base_url("p", "endpoint", "127.0.0.1:1").is_err());
        assert!(base_url("p", "endpoint", "ftp://x").is_err());
    }
}
