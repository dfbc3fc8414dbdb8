//! Any bytes, as a configuration file: loading, validation, variable resolution and the
//! evaluation of every local and output must return diagnostics, never panic. The same
//! pipeline as `tests/corpus.rs`'s proptests, for long runs:
//!
//! ```sh
//! cd crates/inferform-lang
//! cargo +nightly fuzz run load -- -max_total_time=300 -dict=fuzz/hcl.dict
//! ```
//!
//! README.md (Development, Fuzzing) says how to seed it with the corpus.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use inferform_lang::eval::{eval, Scope};
use inferform_lang::validate::{validate, Schemas};
use inferform_lang::{load_sources, vars, Source};
use inferform_types::{Attribute, Block, Schema, Type, Value};
use libfuzzer_sys::fuzz_target;

fn schemas() -> BTreeMap<String, Schema> {
    let data = Schema::new()
        .attr("id", Attribute::computed(Type::String))
        .attr("input", Attribute::optional(Type::Any))
        .attr("output", Attribute::computed(Type::Any));
    let endpoint = Schema::new()
        .attr("name", Attribute::required(Type::String))
        .attr("labels", Attribute::optional(Type::map(Type::String)))
        .block(
            "reserved_resource",
            Block::single(Schema::new().attr("min", Attribute::optional(Type::Number))),
        );
    BTreeMap::from([
        ("inferform_data".to_string(), data),
        ("fabric_endpoint".to_string(), endpoint),
    ])
}

fuzz_target!(|bytes: &[u8]| {
    // The first half is configuration, the second an auto-loaded var file.
    let (config_bytes, var_bytes) = bytes.split_at(bytes.len() / 2);
    let text = String::from_utf8_lossy(config_bytes).into_owned();
    let var_text = String::from_utf8_lossy(var_bytes).into_owned();
    let (config, _) = load_sources(vec![("main.hcl".into(), text)]);
    let resources = schemas();
    let providers: BTreeSet<String> = ["inferform", "fabric"].map(String::from).into();
    let _ = validate(
        &config,
        &Schemas {
            resources: &resources,
            data_sources: &resources,
            providers: &providers,
        },
    );
    let source = Source {
        name: "fuzz.auto.vars.hcl".into(),
        text: var_text.into(),
    };
    let (values, _) = vars::resolve(&config, &[vars::VarSource::File(source)]);
    let reads_files = |e: &inferform_lang::Expr| {
        inferform_lang::refs::function_calls(e)
            .iter()
            .any(|(name, _)| name == "file" || name == "templatefile")
    };
    // The backend's arguments and the locals they may read, as `init` evaluates them.
    let backend_reads_files = config
        .backend
        .iter()
        .flat_map(|b| b.body.attributes.iter().map(|a| &a.expr))
        .chain(config.locals.values().map(|l| &l.expr))
        .any(reads_files);
    if !backend_reads_files {
        let _ = inferform_lang::eval_backend(&config, &values);
        // The encryption block, unless it reads files too.
        fn body_reads_files(body: &inferform_lang::config::Body) -> bool {
            body.attributes.iter().any(|a| {
                inferform_lang::refs::function_calls(&a.expr)
                    .iter()
                    .any(|(name, _)| name == "file" || name == "templatefile")
            }) || body.blocks.iter().any(|b| body_reads_files(&b.body))
        }
        if !config
            .encryption
            .as_ref()
            .is_some_and(|e| body_reads_files(&e.body))
        {
            let _ = inferform_lang::encryption::eval_encryption(&config, &values);
        }
    }
    let mut root: BTreeMap<String, Value> = BTreeMap::new();
    for name in ["local", "data", "path", "count", "each", "self", "module"] {
        root.insert(name.to_string(), Value::Unknown);
    }
    root.insert("var".to_string(), Value::Object(values));
    let scope = Scope::new(&root);
    for expr in config
        .locals
        .values()
        .map(|l| &l.expr)
        .chain(config.outputs.values().map(|o| &o.value))
    {
        // file() and templatefile() would read whatever path the input names.
        let reads_files = inferform_lang::refs::function_calls(expr)
            .iter()
            .any(|(name, _)| name == "file" || name == "templatefile");
        if !reads_files {
            let _ = eval(expr, &scope);
        }
    }
});
