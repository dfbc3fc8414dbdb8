//! Differential test of the built-in functions against Terraform: every expression in
//! `tests/functions/expressions.txt` must give the value Terraform 1.11 gave (stored in
//! `tests/functions/terraform.json` by `answers.sh`), or fail where Terraform failed.

use std::collections::BTreeMap;

use inferform_lang::config::{Expr, Source};
use inferform_lang::eval::{eval, Scope};
use serde_json::Value as Json;

/// Numbers compared by value (`1` and `1.0` are one), whole ones digit by digit so that a
/// lost digit shows.
fn normal(j: &Json) -> Json {
    match j {
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Json::String(i.to_string()),
            (_, Some(u), _) => Json::String(u.to_string()),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e30 => {
                Json::String(format!("{f:.0}"))
            }
            (_, _, f) => serde_json::json!(f),
        },
        Json::Array(items) => Json::Array(items.iter().map(normal).collect()),
        Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), normal(v))).collect()),
        other => other.clone(),
    }
}

fn evaluate(text: &str) -> Result<Json, String> {
    evaluate_in(text, &BTreeMap::new())
}

fn evaluate_in(
    text: &str,
    root: &BTreeMap<String, inferform_types::Value>,
) -> Result<Json, String> {
    let parsed = hcl_edit::parser::parse_expr(text).map_err(|e| e.to_string())?;
    let expr = Expr {
        expr: parsed,
        source: Source {
            name: "expr.hcl".into(),
            text: text.into(),
        },
    };
    let value = eval(&expr, &Scope::new(root)).map_err(|d| d.message)?;
    value
        .deep_unmarked()
        .to_json()
        .ok_or_else(|| "the value is not wholly known".to_string())
}

#[test]
fn functions_give_terraforms_answers() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/functions");
    let answers: Json = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/terraform.json")).expect("answers"),
    )
    .expect("answers JSON");
    let expressions = std::fs::read_to_string(format!("{dir}/expressions.txt")).expect("list");
    let mut misses = Vec::new();
    let mut checked = 0;
    for expr in expressions
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let want = &answers["answers"][expr];
        assert!(
            !want.is_null(),
            "no stored answer for {expr}: run answers.sh"
        );
        checked += 1;
        match (evaluate(expr), want.get("json")) {
            (Ok(got), Some(json)) if normal(&got) == normal(json) => {}
            (Err(_), None) => {}
            (got, _) => misses.push(format!(
                "{expr}\n    terraform: {want}\n    inferform: {got:?}"
            )),
        }
    }
    assert!(checked > 100, "only {checked} expressions");
    assert!(
        misses.is_empty(),
        "{} of {checked} differ from Terraform:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

/// The impure functions, which no stored answer can check: their shape.
#[test]
fn impure_functions_have_terraforms_shape() {
    let uuid = evaluate("uuid()").unwrap();
    let uuid = uuid.as_str().unwrap();
    assert_eq!(uuid.len(), 36, "{uuid}");
    assert_eq!(&uuid[14..15], "4", "a version 4 UUID: {uuid}");
    let now = evaluate("timestamp()").unwrap();
    let now = now.as_str().unwrap();
    assert!(now.ends_with('Z') && now.len() == 20, "{now}");
    assert_eq!(
        evaluate(&format!("timecmp(\"{now}\", \"{now}\")")).unwrap(),
        0
    );
}

/// `base64gzip` gives gzip data whose bytes depend on the compressor (Terraform's differ):
/// what must hold is that it decompresses to the text.
#[test]
fn base64gzip_round_trips() {
    use base64::Engine as _;
    use std::io::Read as _;
    let got = evaluate("base64gzip(\"hello, inference\")").unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(got.as_str().unwrap())
        .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "hello, inference");
}

/// `templatefile` and `templatestring` always give text, as Terraform's do.
#[test]
fn templates_give_text() {
    let templates = |t: &str| {
        BTreeMap::from([(
            "local".to_string(),
            inferform_types::Value::object([("t", inferform_types::Value::string(t))]),
        )])
    };
    let render = |t: &str, vars: &str| {
        evaluate_in(&format!("templatestring(local.t, {vars})"), &templates(t))
    };
    assert_eq!(render("${n}", "{n = 3}").unwrap(), serde_json::json!("3"));
    assert_eq!(
        render("%{ for x in xs }${x},%{ endfor }", "{xs = [1, 2]}").unwrap(),
        serde_json::json!("1,2,")
    );
    assert!(render("${l}", "{l = [1]}").is_err());
}

/// `bcrypt` salts every hash afresh, so no stored answer can check it: each hash must verify
/// against its password, and two hashes of one password must differ.
#[test]
fn bcrypt_hashes_verify_and_are_salted() {
    let one = evaluate(r#"bcrypt("correct horse", 4)"#).unwrap();
    let two = evaluate(r#"bcrypt("correct horse", 4)"#).unwrap();
    let (one, two) = (one.as_str().unwrap(), two.as_str().unwrap());
    assert_ne!(one, two);
    assert!(one.starts_with("$2a$04$"), "{one}");
    assert!(bcrypt::verify("correct horse", one).unwrap());
    assert!(!bcrypt::verify("wrong horse", one).unwrap());
}
