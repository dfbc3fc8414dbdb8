//! The configuration corpus at the library level, and the promise that no input makes the
//! loader panic.
//!
//! `tests/corpus/{invalid,valid}/` hold one configuration per directory; the binary's suite
//! (`tests/diagnostics.rs` at the repository root) snapshots what a user sees for each. Here
//! the same directories go through [`load_dir`] (which also loads the modules a fixture calls
//! from its subdirectories), validation, variable resolution and the evaluation of every local
//! and output, with a small schema set of this test's own, and every diagnostic must carry a
//! location and a help line.
//!
//! Then proptest feeds the same pipeline arbitrary bytes, mutated corpus files and random
//! soups of HCL tokens. The cargo-fuzz target in `fuzz/` drives the same pipeline
//! ([`check_no_panic`] is mirrored there) for longer runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use inferform_lang::eval::{eval, Scope};
use inferform_lang::validate::{validate, Schemas};
use inferform_lang::{load_dir, load_sources, vars, Config};
use inferform_types::{Attribute, Block, Diagnostic, Diagnostics, Schema, Type, Value};
use proptest::prelude::*;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// A fixture's top-level files, `(name, text)`, var files and others included.
fn fixture_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("fixture")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "hcl"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).expect("read fixture"))
        })
        .collect();
    files.sort();
    files
}

/// The text of every `.hcl` file under `dir`, its modules' included.
fn all_hcl_texts(dir: &Path, out: &mut Vec<String>) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            all_hcl_texts(&p, out);
        } else if p.extension().is_some_and(|e| e == "hcl") {
            out.push(std::fs::read_to_string(&p).expect("read fixture"));
        }
    }
}

/// A fixture's var files (`*.vars.hcl`), `(name, text)`.
fn var_files(dir: &Path) -> Vec<(String, String)> {
    fixture_files(dir)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".vars.hcl"))
        .collect()
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(corpus().join(kind))
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// A small stand-in for the providers' schemas: a flat resource and one with nested blocks.
struct TestSchemas {
    resources: BTreeMap<String, Schema>,
    data: BTreeMap<String, Schema>,
    providers: BTreeSet<String>,
}

fn test_schemas() -> TestSchemas {
    let data = Schema::new()
        .attr("id", Attribute::computed(Type::String))
        .attr("input", Attribute::optional(Type::Any))
        .attr("output", Attribute::computed(Type::Any))
        .attr(
            "triggers_replace",
            Attribute::optional(Type::Any).force_new(),
        );
    let endpoint = Schema::new()
        .attr("id", Attribute::computed(Type::String))
        .attr("name", Attribute::required(Type::String))
        .attr("labels", Attribute::optional(Type::map(Type::String)))
        .block(
            "reserved_resource",
            Block::single(
                Schema::new().block(
                    "mu",
                    Block::single(
                        Schema::new()
                            .attr("spec_code", Attribute::required(Type::String))
                            .attr("min", Attribute::optional(Type::Number)),
                    ),
                ),
            ),
        )
        .block(
            "source",
            Block::list(Schema::new().attr("id", Attribute::required(Type::String))),
        );
    let resources = BTreeMap::from([
        ("inferform_data".to_string(), data),
        ("fabric_endpoint".to_string(), endpoint.clone()),
    ]);
    TestSchemas {
        data: BTreeMap::from([("fabric_endpoint".to_string(), endpoint)]),
        resources,
        providers: ["inferform", "fabric"].map(String::from).into(),
    }
}

/// Loads, validates, resolves variables and evaluates every local and output, returning
/// every diagnostic. Panics only if the library does.
fn check_no_panic(files: Vec<(String, String)>, schemas: &TestSchemas) -> Vec<Diagnostic> {
    let (config_files, var_files): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|(name, _)| !name.ends_with(".vars.hcl"));
    let (config, diags) = load_sources(config_files);
    check_loaded(&config, diags, var_files, schemas)
}

/// [`check_no_panic`] for a fixture directory, read from disk with the modules it calls.
fn check_fixture(dir: &Path, schemas: &TestSchemas) -> Vec<Diagnostic> {
    let (config, diags) = load_dir(dir, "");
    check_loaded(&config, diags, var_files(dir), schemas)
}

/// Validates a loaded configuration, resolves its variables and evaluates every local and
/// output, the modules' included, returning every diagnostic.
fn check_loaded(
    config: &Config,
    mut diags: Diagnostics,
    var_files: Vec<(String, String)>,
    schemas: &TestSchemas,
) -> Vec<Diagnostic> {
    diags.extend(validate(
        config,
        &Schemas {
            resources: &schemas.resources,
            data_sources: &schemas.data,
            providers: &schemas.providers,
        },
    ));
    let sources: Vec<vars::VarSource> = var_files
        .into_iter()
        .map(|(name, text)| {
            vars::VarSource::File(inferform_lang::Source {
                name: name.into(),
                text: text.into(),
            })
        })
        .collect();
    let (values, more) = vars::resolve(config, &sources);
    diags.extend(more);
    // The backend's arguments, worked out ahead of everything else as `init` does, unless
    // they or the locals they may read call file() or templatefile().
    let backend_reads_files = config
        .backend
        .iter()
        .flat_map(|b| b.body.attributes.iter().map(|a| &a.expr))
        .chain(config.locals.values().map(|l| &l.expr))
        .any(|e| {
            inferform_lang::refs::function_calls(e)
                .iter()
                .any(|(name, _)| name == "file" || name == "templatefile")
        });
    if !backend_reads_files {
        diags.extend(inferform_lang::eval_backend(config, &values).1);
    }
    // The encryption block the same way (its own arguments sit in nested blocks).
    fn body_reads_files(body: &inferform_lang::config::Body) -> bool {
        body.attributes.iter().any(|a| {
            inferform_lang::refs::function_calls(&a.expr)
                .iter()
                .any(|(name, _)| name == "file" || name == "templatefile")
        }) || body.blocks.iter().any(|b| body_reads_files(&b.body))
    }
    let encryption_reads_files = backend_reads_files
        || config
            .encryption
            .as_ref()
            .is_some_and(|e| body_reads_files(&e.body));
    if !encryption_reads_files {
        diags.extend(inferform_lang::encryption::eval_encryption(config, &values).1);
    }
    // Every reference but the root's var.* is unknown here, as it is before apply.
    let mut root: BTreeMap<String, Value> = BTreeMap::new();
    for name in ["local", "data", "path", "count", "each", "self", "module"] {
        root.insert(name.to_string(), Value::Unknown);
    }
    for r in &config.resources {
        root.insert(r.addr.type_name.clone(), Value::Unknown);
    }
    let mut in_module = root.clone();
    in_module.insert("var".to_string(), Value::Unknown);
    root.insert("var".to_string(), Value::Object(values));
    let scope = Scope::new(&root);
    let module_scope = Scope::new(&in_module);
    let root_exprs = config
        .locals
        .values()
        .map(|l| &l.expr)
        .chain(config.outputs.values().map(|o| &o.value))
        .map(|e| (e, &scope));
    let module_exprs = config.modules.values().flat_map(|m| {
        m.locals
            .values()
            .map(|l| &l.expr)
            .chain(m.outputs.values().map(|o| &o.value))
            .map(|e| (e, &module_scope))
    });
    for (expr, scope) in root_exprs.chain(module_exprs) {
        // file() and templatefile() read whatever path they are given; a fuzzer must not.
        let reads_files = inferform_lang::refs::function_calls(expr)
            .iter()
            .any(|(name, _)| name == "file" || name == "templatefile");
        if !reads_files {
            let _ = eval(expr, scope);
        }
    }
    diags.0
}

/// A diagnostic from the library must say where and what to do: `file:line:column` and help.
fn assert_located(context: &str, diags: &[Diagnostic]) {
    for d in diags {
        assert!(
            d.location().is_some(),
            "{context}: {} ({}) has no location",
            d.message,
            d.code
        );
        assert!(
            d.help.as_deref().is_some_and(|h| !h.is_empty()),
            "{context}: {} ({}) has no help",
            d.message,
            d.code
        );
    }
}

#[test]
fn every_invalid_fixture_loads_without_panic_and_locates_its_diagnostics() {
    let schemas = test_schemas();
    let all = fixtures("invalid");
    assert!(all.len() >= 45, "{} invalid fixtures", all.len());
    for dir in all {
        let diags = check_fixture(&dir, &schemas);
        assert_located(&dir.display().to_string(), &diags);
    }
}

#[test]
fn every_valid_fixture_loads_and_validates_cleanly() {
    let schemas = test_schemas();
    for dir in fixtures("valid") {
        // Var files (`*.vars.hcl`) are not configuration; load_dir leaves them out.
        let (config, diags) = load_dir(&dir, "");
        assert!(
            !diags.has_errors(),
            "{}: {:?}",
            dir.display(),
            diags.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
        // Resource types outside the test schemas are expected; nothing else is.
        let checked = validate(
            &config,
            &Schemas {
                resources: &schemas.resources,
                data_sources: &schemas.data,
                providers: &schemas.providers,
            },
        );
        let unexpected: Vec<&Diagnostic> = checked
            .iter()
            .filter(|d| {
                !matches!(
                    d.code.as_str(),
                    "inferform::config::unknown_resource_type"
                        | "inferform::config::unknown_provider"
                )
            })
            .collect();
        assert!(
            unexpected.is_empty(),
            "{}: {:?}",
            dir.display(),
            unexpected.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
    }
}

/// The text of every corpus file, to mutate.
fn seeds() -> &'static [String] {
    static SEEDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut out = Vec::new();
        for kind in ["valid", "invalid"] {
            for dir in fixtures(kind) {
                all_hcl_texts(&dir, &mut out);
            }
        }
        out
    })
}

/// HCL's tokens and the words a configuration uses, for random soups.
const TOKENS: &[&str] = &[
    "resource",
    "data",
    "variable",
    "locals",
    "output",
    "provider",
    "moved",
    "import",
    "lifecycle",
    "timeouts",
    "validation",
    "module",
    "terraform",
    "inferform",
    "backend",
    "\"pg\"",
    "conn_str",
    "inferform.workspace",
    "count",
    "for_each",
    "depends_on",
    "each",
    "count.index",
    "var",
    "local",
    "self",
    "path",
    "inferform_data",
    "fabric_endpoint",
    "\"inferform_data\"",
    "\"fabric_endpoint\"",
    "\"a\"",
    "\"b\"",
    "input",
    "output",
    "name",
    "value",
    "default",
    "type",
    "string",
    "number",
    "list(string)",
    "map(any)",
    "object({a=number})",
    "tuple([string])",
    "alias",
    "from",
    "to",
    "id",
    "condition",
    "error_message",
    "create",
    "\"10m\"",
    "\"1h30m\"",
    "true",
    "false",
    "null",
    "0",
    "1",
    "-1",
    "1.5",
    "1e308",
    "99999999999999999999",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "=",
    "==",
    "!=",
    "<",
    ">=",
    "&&",
    "||",
    "!",
    "+",
    "-",
    "*",
    "/",
    "%",
    "?",
    ":",
    ".",
    ",",
    "...",
    "=>",
    "[*]",
    ".*",
    "for",
    "in",
    "if",
    "\"${",
    "}\"",
    "\"%{ for x in [1] }",
    "%{ endfor }\"",
    "\"%{ if true ~}",
    "%{~ endif }\"",
    "\"",
    "<<EOT\n",
    "<<-EOT\n",
    "\nEOT\n",
    "# comment",
    "// comment",
    "/* c */",
    "\n",
    "\n",
    " ",
    "upper(",
    "length(",
    "format(\"%05d\",",
    "range(",
    "substr(",
    "try(",
    "can(",
    "jsondecode(",
    "element(",
    "nosuch(",
    "merge(",
    "zipmap(",
    "flatten(",
    "a.b.c",
    "x[0]",
    "m[\"k\"]",
    "é",
    "\u{0}",
    "\t",
];

fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(TOKENS), 0..80)
        .prop_map(|tokens| tokens.join(" "))
}

/// One edit of a seed: cut a range, repeat a range, or put a token somewhere.
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Duplicate(usize, usize),
    Insert(usize, &'static str),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Edit::Delete(at, len)),
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Edit::Duplicate(at, len)),
        (any::<usize>(), proptest::sample::select(TOKENS)).prop_map(|(at, t)| Edit::Insert(at, t)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply_edit(text: &mut Vec<u8>, e: &Edit) {
    let len = text.len();
    let pos = |at: usize| if len == 0 { 0 } else { at % (len + 1) };
    match *e {
        Edit::Delete(at, n) => {
            let start = pos(at);
            let end = (start + n).min(len);
            text.drain(start..end);
        }
        Edit::Duplicate(at, n) => {
            let start = pos(at);
            let end = (start + n).min(len);
            let piece: Vec<u8> = text[start..end].to_vec();
            text.splice(end..end, piece);
        }
        Edit::Insert(at, token) => {
            let at = pos(at);
            text.splice(at..at, token.bytes());
        }
        Edit::Truncate(at) => text.truncate(pos(at)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let diags = check_no_panic(vec![("main.hcl".into(), text)], &test_schemas());
        assert_located("arbitrary bytes", &diags);
    }

    #[test]
    fn token_soups_never_panic(soup in token_soup(), vars in token_soup()) {
        let files = vec![("main.hcl".into(), soup), ("soup.auto.vars.hcl".into(), vars)];
        let diags = check_no_panic(files, &test_schemas());
        assert_located("token soup", &diags);
    }

    #[test]
    fn mutated_corpus_files_never_panic(
        seed in any::<proptest::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let seeds = seeds();
        let mut text = seeds[seed.index(seeds.len())].clone().into_bytes();
        for e in &edits {
            apply_edit(&mut text, e);
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        let diags = check_no_panic(vec![("main.hcl".into(), text)], &test_schemas());
        assert_located("mutated corpus file", &diags);
    }
}
