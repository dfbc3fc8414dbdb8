//! The configuration side of the JSON plan, as Terraform 1.11 writes it: `configuration`
//! (`provider_config`, and the root module's `outputs`, `resources`, `module_calls` and
//! `variables`, each child module nested in its call) and `relevant_attributes`.
//!
//! An expression is written as Terraform writes it: `constant_value` when it reads nothing and
//! calls no function (its value, worked out with nothing in scope), `references` when it reads
//! something (each reference from the longest form down to the object it names:
//! `fabric_endpoint.e[0].id`, `fabric_endpoint.e[0]`, `fabric_endpoint.e`), and `{}` for
//! anything else. A constant that would be sensitive (an attribute a schema calls sensitive,
//! the default of a sensitive variable, the value of a sensitive output, an input of a
//! sensitive module variable) is never written: Terraform's redaction rules say a secret
//! written in the configuration is a secret still.

use std::collections::BTreeMap;

use inferform_lang::config::{AttrNode, Body, ModuleCall, Output, Variable};
use inferform_lang::refs::{function_calls, references, Reference, Subject};
use inferform_lang::{Config, Expr, Resource, Scope};
use inferform_types::{ModulePath, Nesting, ResourceAddr, ResourceMode, Schema, SourceSpan};
use serde_json::{json, Map, Value as Json};

/// The schemas the configuration's blocks are read with: which attributes are sensitive,
/// and how nested blocks nest.
#[derive(Clone, Copy)]
pub struct ConfigSchemas<'a> {
    /// Resource type → schema.
    pub resources: &'a BTreeMap<String, Schema>,
    /// Data source type → schema.
    pub data_sources: &'a BTreeMap<String, Schema>,
    /// Provider name → the schema of its `provider` block.
    pub providers: &'a BTreeMap<String, Schema>,
}

/// Terraform's `configuration`: `provider_config` and `root_module`.
pub(crate) fn configuration(config: &Config, schemas: ConfigSchemas) -> Json {
    let mut providers: BTreeMap<String, Json> = BTreeMap::new();
    for p in &config.providers {
        let mut entry = Map::new();
        entry.insert("name".into(), json!(p.name));
        entry.insert("full_name".into(), json!(p.name));
        if let Some(alias) = &p.alias {
            entry.insert("alias".into(), json!(alias));
        }
        let exprs = expressions(&p.body, schemas.providers.get(&p.name));
        if !exprs.is_empty() {
            entry.insert("expressions".into(), Json::Object(exprs));
        }
        providers.insert(p.key(), Json::Object(entry));
    }
    // A provider resources use without a block of its own is there too, as Terraform lists
    // an implied provider.
    for r in &config.resources {
        let name = r.addr.provider_name().to_string();
        if !config.providers.iter().any(|p| p.name == name) {
            providers
                .entry(name.clone())
                .or_insert_with(|| json!({"name": name, "full_name": name}));
        }
    }
    json!({
        "provider_config": providers,
        "root_module": module(config, &ModulePath::root(), schemas),
    })
}

/// One module of the configuration: `outputs`, `resources`, `module_calls`, `variables`, each
/// when there are any, in Terraform's order.
fn module(config: &Config, path: &ModulePath, schemas: ConfigSchemas) -> Json {
    let mut out = Map::new();
    let Some(view) = config.module(path) else {
        return Json::Object(out);
    };
    if !view.outputs.is_empty() {
        let outputs = view
            .outputs
            .iter()
            .map(|(name, o)| (name.clone(), output(o)))
            .collect();
        out.insert("outputs".into(), Json::Object(outputs));
    }
    // Sorted by address, as Terraform lists them.
    let mut in_module: Vec<&Resource> = config
        .resources
        .iter()
        .filter(|r| &r.addr.module == path)
        .collect();
    in_module.sort_by_key(|r| r.addr.to_string());
    let resources: Vec<Json> = in_module
        .into_iter()
        .map(|r| resource(r, schemas))
        .collect();
    if !resources.is_empty() {
        out.insert("resources".into(), Json::Array(resources));
    }
    if !view.calls.is_empty() {
        let calls = view
            .calls
            .iter()
            .map(|(name, call)| {
                let child = path.child(name.clone(), inferform_types::InstanceKey::None);
                (name.clone(), module_call(config, call, &child, schemas))
            })
            .collect();
        out.insert("module_calls".into(), Json::Object(calls));
    }
    if !view.variables.is_empty() {
        let vars = view
            .variables
            .iter()
            .map(|(name, v)| (name.clone(), variable(v)))
            .collect();
        out.insert("variables".into(), Json::Object(vars));
    }
    Json::Object(out)
}

fn output(o: &Output) -> Json {
    let mut entry = Map::new();
    if o.sensitive {
        entry.insert("sensitive".into(), json!(true));
    }
    entry.insert("expression".into(), expression(&o.value, o.sensitive));
    if let Some(d) = &o.description {
        entry.insert("description".into(), json!(d));
    }
    Json::Object(entry)
}

/// A variable: its `default` (left out when sensitive), `description`, `sensitive`.
fn variable(v: &Variable) -> Json {
    let mut entry = Map::new();
    if let Some(default) = v.default.as_ref().filter(|_| !v.sensitive) {
        if let Some(value) = constant(default) {
            entry.insert("default".into(), value);
        }
    }
    if let Some(d) = &v.description {
        entry.insert("description".into(), json!(d));
    }
    if v.sensitive {
        entry.insert("sensitive".into(), json!(true));
    }
    Json::Object(entry)
}

fn resource(r: &Resource, schemas: ConfigSchemas) -> Json {
    let (mode, schema) = match r.addr.mode {
        ResourceMode::Managed => ("managed", schemas.resources.get(&r.addr.type_name)),
        ResourceMode::Data => ("data", schemas.data_sources.get(&r.addr.type_name)),
    };
    let mut address = r.addr.clone();
    address.module = ModulePath::root();
    let mut entry = Map::new();
    entry.insert("address".into(), json!(address.to_string()));
    entry.insert("mode".into(), json!(mode));
    entry.insert("type".into(), json!(r.addr.type_name));
    entry.insert("name".into(), json!(r.addr.name));
    let provider = match &r.provider {
        Some((key, _)) => key.clone(),
        None => r.addr.provider_name().to_string(),
    };
    entry.insert("provider_config_key".into(), json!(provider));
    // Left out when empty, as Terraform leaves it out.
    let exprs = expressions(&r.body, schema);
    if !exprs.is_empty() {
        entry.insert("expressions".into(), Json::Object(exprs));
    }
    entry.insert("schema_version".into(), json!(0));
    meta_expressions(&r.count, &r.for_each, &mut entry);
    depends_on(&r.depends_on, &r.depends_on_modules, &mut entry);
    Json::Object(entry)
}

/// `depends_on`, resources and modules as written, when there is any.
fn depends_on(
    resources: &[(ResourceAddr, SourceSpan)],
    modules: &[(String, SourceSpan)],
    entry: &mut Map<String, Json>,
) {
    let all: Vec<String> = resources
        .iter()
        .map(|(a, _)| a.to_string())
        .chain(modules.iter().map(|(m, _)| m.clone()))
        .collect();
    if !all.is_empty() {
        entry.insert("depends_on".into(), json!(all));
    }
}

/// `count_expression` and `for_each_expression`, each when it is set and Terraform would
/// write something for it.
fn meta_expressions(count: &Option<Expr>, for_each: &Option<Expr>, entry: &mut Map<String, Json>) {
    for (key, expr) in [
        ("count_expression", count),
        ("for_each_expression", for_each),
    ] {
        if let Some(e) = expr {
            let written = expression(e, false);
            if written.as_object().is_some_and(|m| !m.is_empty()) {
                entry.insert(key.into(), written);
            }
        }
    }
}

fn module_call(
    config: &Config,
    call: &ModuleCall,
    path: &ModulePath,
    schemas: ConfigSchemas,
) -> Json {
    let child = config.module(path);
    let sensitive_input = |name: &str| {
        child
            .and_then(|m| m.variables.get(name))
            .is_some_and(|v| v.sensitive)
    };
    let mut entry = Map::new();
    entry.insert("source".into(), json!(call.source));
    let inputs: Map<String, Json> = call
        .inputs
        .iter()
        .map(|a: &AttrNode| {
            (
                a.name.clone(),
                expression(&a.expr, sensitive_input(&a.name)),
            )
        })
        .collect();
    if !inputs.is_empty() {
        entry.insert("expressions".into(), Json::Object(inputs));
    }
    meta_expressions(&call.count, &call.for_each, &mut entry);
    entry.insert("module".into(), module(config, path, schemas));
    depends_on(&call.depends_on, &call.depends_on_modules, &mut entry);
    Json::Object(entry)
}

/// A block body's expressions: attributes by name, nested blocks as an object (single
/// nesting) or a list of objects.
fn expressions(body: &Body, schema: Option<&Schema>) -> Map<String, Json> {
    // Sorted by name, as Terraform (Go's encoding of a map) writes them.
    let mut out: BTreeMap<String, Json> = BTreeMap::new();
    for a in &body.attributes {
        let sensitive = schema
            .and_then(|s| s.attributes.get(&a.name))
            .is_some_and(|attr| attr.sensitive);
        out.insert(a.name.clone(), expression(&a.expr, sensitive));
    }
    for b in &body.blocks {
        let block = schema.and_then(|s| s.blocks.get(&b.kind));
        let inner = Json::Object(expressions(&b.body, block.map(|bl| &bl.schema)));
        match block.map(|bl| bl.nesting) {
            Some(Nesting::Single) => {
                out.insert(b.kind.clone(), inner);
            }
            _ => {
                let list = out.entry(b.kind.clone()).or_insert_with(|| json!([]));
                if let Json::Array(items) = list {
                    items.push(inner);
                }
            }
        }
    }
    out.into_iter().collect()
}

/// One expression: `constant_value` (never when `sensitive`), or `references`, or `{}`.
fn expression(expr: &Expr, sensitive: bool) -> Json {
    let refs = references(expr);
    let mut out = Map::new();
    if refs.is_empty() {
        if let Some(value) = constant(expr).filter(|_| !sensitive) {
            out.insert("constant_value".into(), value);
        }
    } else {
        let names: Vec<String> = refs.iter().flat_map(|r| reference_forms(expr, r)).collect();
        if !names.is_empty() {
            out.insert("references".into(), json!(names));
        }
    }
    Json::Object(out)
}

/// The value of an expression that reads nothing and calls no function.
fn constant(expr: &Expr) -> Option<Json> {
    if !references(expr).is_empty() || !function_calls(expr).is_empty() {
        return None;
    }
    let value = inferform_lang::eval(expr, &Scope::default()).ok()?;
    value.is_wholly_known().then(|| value.to_json_redacted())
}

/// The steps of a reference as written, from where it starts in the source: the root name,
/// then `.name` and `[key]` steps, up to the first thing that is neither (a splat, an index
/// by expression, an operator, the end of an interpolation).
fn steps(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    let ident_len = |s: &str| {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(s.len())
    };
    let n = ident_len(rest);
    if n == 0 {
        return out;
    }
    out.push(rest[..n].to_string());
    rest = &rest[n..];
    loop {
        if let Some(after) = rest.strip_prefix('.') {
            let n = ident_len(after);
            if n == 0 {
                break;
            }
            out.push(format!(".{}", &after[..n]));
            rest = &after[n..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else { break };
            let key = after[..end].trim();
            let literal = key.parse::<u64>().is_ok()
                || (key.len() >= 2
                    && key.starts_with('"')
                    && key.ends_with('"')
                    && !key[1..key.len() - 1].contains(['"', '$', '%']));
            if !literal {
                break;
            }
            out.push(format!("[{key}]"));
            rest = &after[end + 1..];
        } else {
            break;
        }
    }
    out
}

/// A reference as Terraform lists it: the whole traversal, then each shorter form down to
/// the object it names, and for a keyed resource or module instance the resource or call
/// without its key too.
fn reference_forms(expr: &Expr, r: &Reference) -> Vec<String> {
    let text = expr
        .source
        .text
        .get(r.span.range.start..)
        .unwrap_or_default();
    let steps = steps(text);
    // How many steps name the subject, and whether a key after them belongs to it.
    let (subject_len, keyed_subject) = match &r.subject {
        Subject::Variable(_)
        | Subject::Local(_)
        | Subject::Count
        | Subject::Each
        | Subject::Path
        | Subject::Meta { .. } => (2, false),
        Subject::Resource(a) if a.mode == ResourceMode::Data => (3, true),
        Subject::Resource(_) | Subject::Module(_) => (2, true),
        Subject::SelfRef | Subject::Other(_) => return Vec::new(),
    };
    if steps.len() < subject_len {
        return Vec::new();
    }
    let mut subject = subject_len;
    let keyed = keyed_subject && steps.get(subject).is_some_and(|s| s.starts_with('['));
    if keyed {
        subject += 1;
    }
    // A module's output is part of what a reference to a module names.
    let module_output = matches!(r.subject, Subject::Module(_))
        && steps.get(subject).is_some_and(|s| s.starts_with('.'));
    if module_output {
        subject += 1;
    }
    let mut forms: Vec<String> = (subject..=steps.len())
        .rev()
        .map(|n| steps[..n].concat())
        .collect();
    if module_output {
        forms.push(steps[..subject - 1].concat());
    }
    if keyed && !module_output {
        forms.push(steps[..subject_len].concat());
    }
    forms
}

/// Terraform's `relevant_attributes`: every attribute of a resource that an expression in
/// the configuration reads (`{"resource": "fabric_endpoint.chat", "attribute": ["id"]}`), in
/// the module instance path of the reader, once each, sorted.
pub(crate) fn relevant_attributes(config: &Config) -> Json {
    // Keyed by the resource and the attribute path as text, so each is listed once, sorted.
    let mut found: BTreeMap<(String, String), Json> = BTreeMap::new();
    let mut read = |module: &ModulePath, expr: &Expr| {
        for r in references(expr) {
            let Subject::Resource(addr) = &r.subject else {
                continue;
            };
            let text = expr
                .source
                .text
                .get(r.span.range.start..)
                .unwrap_or_default();
            let steps = steps(text);
            let mut at = if addr.mode == ResourceMode::Data {
                3
            } else {
                2
            };
            let mut resource = addr.clone();
            resource.module = module.clone();
            let mut name = resource.to_string();
            if let Some(key) = steps.get(at).filter(|s| s.starts_with('[')) {
                name.push_str(key);
                at += 1;
            }
            let attribute: Vec<Json> = steps
                .iter()
                .skip(at)
                .map(|s| match s.strip_prefix('.') {
                    Some(n) => json!(n),
                    None => {
                        let key = s.trim_start_matches('[').trim_end_matches(']');
                        match key.parse::<u64>() {
                            Ok(i) => json!(i),
                            Err(_) => json!(key.trim_matches('"')),
                        }
                    }
                })
                .collect();
            let path = Json::Array(attribute);
            found.insert((name, path.to_string()), path);
        }
    };
    for r in &config.resources {
        let m = &r.addr.module;
        visit_body(&r.body, &mut |e| read(m, e));
        for e in r.count.iter().chain(&r.for_each) {
            read(m, e);
        }
    }
    let root = ModulePath::root();
    for o in config.outputs.values() {
        read(&root, &o.value);
    }
    for l in config.locals.values() {
        read(&root, &l.expr);
    }
    for call in config.calls.values() {
        for a in &call.inputs {
            read(&root, &a.expr);
        }
    }
    for (path, body) in &config.modules {
        for o in body.outputs.values() {
            read(path, &o.value);
        }
        for l in body.locals.values() {
            read(path, &l.expr);
        }
        for call in body.calls.values() {
            for a in &call.inputs {
                read(path, &a.expr);
            }
        }
    }
    Json::Array(
        found
            .into_iter()
            .map(|((resource, _), attribute)| json!({"resource": resource, "attribute": attribute}))
            .collect(),
    )
}

/// Every expression of a body, nested blocks included.
fn visit_body(body: &Body, f: &mut dyn FnMut(&Expr)) {
    for a in &body.attributes {
        f(&a.expr);
    }
    for b in &body.blocks {
        visit_body(&b.body, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(text: &str) -> Vec<String> {
        let expr = Expr::parse("t.hcl", text).expect("parses");
        references(&expr)
            .iter()
            .flat_map(|r| reference_forms(&expr, r))
            .collect()
    }

    #[test]
    fn references_read_as_terraform_lists_them() {
        assert_eq!(
            forms("fabric_workspace.main.id"),
            ["fabric_workspace.main.id", "fabric_workspace.main"]
        );
        assert_eq!(
            forms("fabric_endpoint.e[0].urls[1]"),
            [
                "fabric_endpoint.e[0].urls[1]",
                "fabric_endpoint.e[0].urls",
                "fabric_endpoint.e[0]",
                "fabric_endpoint.e"
            ]
        );
        assert_eq!(forms("var.env"), ["var.env"]);
        assert_eq!(
            forms("\"${local.name}-${count.index}\""),
            ["local.name", "count.index"]
        );
        assert_eq!(
            forms("module.env[\"dev\"].id"),
            ["module.env[\"dev\"].id", "module.env[\"dev\"]"]
        );
        assert_eq!(forms("module.net.id"), ["module.net.id", "module.net"]);
        assert_eq!(
            forms("data.inferform_remote_state.net.outputs"),
            [
                "data.inferform_remote_state.net.outputs",
                "data.inferform_remote_state.net"
            ]
        );
        assert_eq!(forms("fabric_endpoint.e[*].id"), ["fabric_endpoint.e"]);
    }

    #[test]
    fn constants_are_values_and_functions_are_not() {
        let c = |t: &str| constant(&Expr::parse("t.hcl", t).expect("parses"));
        assert_eq!(
            c("[\"a\", 1, true, null]"),
            Some(json!(["a", 1, true, null]))
        );
        assert_eq!(c("{ a = 1 }"), Some(json!({"a": 1})));
        assert_eq!(c("upper(\"x\")"), None);
        assert_eq!(c("var.x"), None);
        let e = Expr::parse("t.hcl", "\"hunter2\"").expect("parses");
        assert_eq!(expression(&e, true), json!({}));
        assert_eq!(expression(&e, false), json!({"constant_value": "hunter2"}));
    }
}
