//! `docs/resources/<type>.md` and `docs/data-sources/<type>.md` are generated from the same
//! schemas as `schemas/*.json`: arguments, attributes, what forces replacement, timeouts, the
//! import id, and the example from `docs/examples/{resource,data}.<type>.hcl`, the one part a
//! person writes.
//!
//! This test regenerates the pages in memory and fails when the files on disk differ, and
//! validates every example in every page through the binary's `validate`. After changing a
//! schema or an example:
//!
//! ```sh
//! INFERFORM_UPDATE_DOCS=1 cargo test -p inferform --test docs
//! ```

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use inferform_provider::ProviderFactory;
use inferform_render::{docs_index, resource_doc, DocKind, DocPage, IndexEntry};

/// Write the files, or only compare them (uv's generator habit, as `tests/schemas.rs`).
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Check,
    Write,
}

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// Every provider inferform knows, as the binary lists them.
fn factories() -> Vec<Arc<dyn ProviderFactory>> {
    vec![
        Arc::new(inferform_engine::builtin::BuiltinFactory::default()),
        inferform_fabric::factory(),
        inferform_alaya::factory(),
    ]
}

/// The folder of each kind's pages, and the prefix of its example files.
fn place(kind: DocKind) -> (&'static str, &'static str) {
    match kind {
        DocKind::Resource => ("resources", "resource"),
        DocKind::DataSource => ("data-sources", "data"),
    }
}

/// Every generated page by its path under `docs/`, or the problems that stop one being made
/// (an example missing).
fn generate() -> (BTreeMap<String, String>, Vec<String>) {
    let mut files = BTreeMap::new();
    let mut problems = Vec::new();
    let mut index = Vec::new();
    for factory in factories() {
        let kinds = [
            (DocKind::Resource, factory.resource_schemas()),
            (DocKind::DataSource, factory.data_source_schemas()),
        ];
        for (kind, schemas) in kinds {
            let (folder, prefix) = place(kind);
            for (ty, schema) in schemas {
                let example_path = docs_dir().join(format!("examples/{prefix}.{ty}.hcl"));
                let Ok(example) = std::fs::read_to_string(&example_path) else {
                    problems.push(format!(
                        "docs/examples/{prefix}.{ty}.hcl is missing: write an example of {ty}"
                    ));
                    continue;
                };
                let import_id = match kind {
                    DocKind::Resource => factory.import_id_format(&ty),
                    DocKind::DataSource => Vec::new(),
                };
                let page = resource_doc(&DocPage {
                    kind,
                    type_name: &ty,
                    provider: factory.name(),
                    schema: &schema,
                    import_id: &import_id,
                    example: &example,
                });
                files.insert(format!("{folder}/{ty}.md"), page);
                index.push((format!("{folder}/{ty}.md"), kind, ty, schema.description));
            }
        }
    }
    let entries: Vec<IndexEntry> = index
        .iter()
        .map(|(path, kind, ty, description)| IndexEntry {
            path,
            kind: *kind,
            type_name: ty,
            description,
        })
        .collect();
    files.insert("README.md".into(), docs_index(&entries));
    (files, problems)
}

/// Compares (or writes) the generated pages against `docs/`; returns what differs.
fn sync(mode: Mode) -> Vec<String> {
    let dir = docs_dir();
    let (files, mut problems) = generate();
    for (name, text) in &files {
        let path = dir.join(name);
        let on_disk = std::fs::read_to_string(&path).ok();
        if on_disk.as_deref() == Some(text.as_str()) {
            continue;
        }
        match mode {
            Mode::Write => {
                std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir docs");
                std::fs::write(&path, text).expect("write a page");
            }
            Mode::Check if on_disk.is_none() => problems.push(format!("docs/{name} is missing")),
            Mode::Check => problems.push(format!("docs/{name} differs from the schema")),
        }
    }
    for kind in [DocKind::Resource, DocKind::DataSource] {
        let (folder, _) = place(kind);
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else {
            continue;
        };
        for entry in entries {
            let name = format!(
                "{folder}/{}",
                entry.expect("entry").file_name().to_string_lossy()
            );
            if !name.ends_with(".md") || files.contains_key(&name) {
                continue;
            }
            match mode {
                Mode::Write => std::fs::remove_file(dir.join(&name)).expect("remove a stale page"),
                Mode::Check => problems.push(format!("docs/{name} describes no type the code has")),
            }
        }
    }
    problems
}

#[test]
fn reference_pages_match_the_schemas() {
    let update = std::env::var_os("INFERFORM_UPDATE_DOCS").is_some_and(|v| v == "1");
    let problems = sync(if update { Mode::Write } else { Mode::Check });
    assert!(
        problems.is_empty(),
        "docs/ is out of date:\n  {}\nregenerate with: INFERFORM_UPDATE_DOCS=1 cargo test -p inferform --test docs",
        problems.join("\n  ")
    );
}

/// The ```hcl blocks of a Markdown page.
fn hcl_blocks(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        match (&mut current, line) {
            (None, "```hcl") => current = Some(String::new()),
            (Some(block), "```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

/// Every example in every page on disk is a configuration the binary accepts, formatted as
/// `inferform fmt` writes it. (The first ```hcl block of a page is its example; the others,
/// `timeouts` and `import` snippets, are parts of a resource block, not configurations.)
#[test]
fn every_example_in_the_docs_validates() {
    let mut checked = 0;
    for kind in [DocKind::Resource, DocKind::DataSource] {
        let (folder, _) = place(kind);
        let mut pages: Vec<_> = std::fs::read_dir(docs_dir().join(folder))
            .expect("the docs folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        pages.sort();
        for page in pages {
            let text = std::fs::read_to_string(&page).expect("read a page");
            let example = hcl_blocks(&text)
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("{} has no example", page.display()));
            let work = support::Work::new(&[("main.hcl", &example)]);
            let out = work.run(&["validate"]);
            assert_eq!(
                out.code,
                0,
                "the example in {} does not validate:\n{out:?}",
                page.display()
            );
            let fmt = work.run(&["fmt", "--check"]);
            assert_eq!(
                fmt.code,
                0,
                "the example in {} is not formatted:\n{fmt:?}",
                page.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} examples found");
}

#[test]
fn a_page_says_what_forces_replacement_and_how_to_import() {
    let (files, problems) = generate();
    assert!(problems.is_empty(), "{problems:?}");
    let endpoint = &files["resources/fabric_endpoint.md"];
    assert!(
        endpoint.contains("- `type` (string, required, **forces replacement**)"),
        "{endpoint}"
    );
    assert!(
        endpoint.contains("inferform import fabric_endpoint.NAME WORKSPACE_ID/ENDPOINT_ID"),
        "{endpoint}"
    );
    assert!(
        endpoint.contains("### `reserved_resource.mu`"),
        "{endpoint}"
    );
    let alaya = &files["resources/alaya_expert_deployment.md"];
    assert!(alaya.contains("SERVICE_ID"), "{alaya}");
    assert!(alaya.contains("- `api_key` (string, sensitive)"), "{alaya}");
    let data = &files["resources/inferform_data.md"];
    assert!(
        data.contains("`inferform_data` cannot be imported."),
        "{data}"
    );
    let lookup = &files["data-sources/fabric_endpoint.md"];
    assert!(!lookup.contains("## Import"), "{lookup}");
}
