//! Where a configuration's inputs come from: its directory (as messages show it, and the
//! working data beside it) and its variables' sources. Beneath both the workspace and the
//! backend, which each need them.

use std::path::{Path, PathBuf};

use inferform_lang::vars::VarSource;
use inferform_types::{Diagnostic, Diagnostics, Value};

/// How `dir` is shown in messages: as the user wrote it.
pub fn display_dir(dir: &Path) -> String {
    let s = dir.display().to_string();
    if s == "." {
        String::new()
    } else {
        s
    }
}

/// Where this configuration's working data lives.
pub fn data_dir(dir: &Path) -> PathBuf {
    dir.join(".inferform")
}

/// A `--var` or `--var-file`, in command-line order, or a value a saved plan recorded.
#[derive(Clone, Debug)]
pub enum CliVar {
    Assign(String),
    File(PathBuf),
    Saved(String, Value),
}

/// The variable sources in precedence order: environment, auto files, then the command line.
pub fn var_sources(dir: &Path, cli: &[CliVar]) -> (Vec<VarSource>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut sources = Vec::new();
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter_map(|(k, v)| k.strip_prefix("INFERFORM_VAR_").map(|n| (n.to_string(), v)))
        .collect();
    env.sort();
    for (name, value) in env {
        sources.push(VarSource::Raw {
            origin: format!("INFERFORM_VAR_{name}"),
            name,
            value,
        });
    }
    let mut auto: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n == "inferform.vars.hcl" || n.ends_with(".auto.vars.hcl"))
                .collect()
        })
        .unwrap_or_default();
    // inferform.vars.hcl first, then the auto files in name order.
    auto.sort_by_key(|n| (n != "inferform.vars.hcl", n.clone()));
    let shown = display_dir(dir);
    for name in auto {
        let path = dir.join(&name);
        let label = if shown.is_empty() {
            name.clone()
        } else {
            format!("{shown}/{name}")
        };
        read_var_file(&path, label, &mut sources, &mut diags);
    }
    for v in cli {
        match v {
            CliVar::Assign(text) => match text.split_once('=') {
                Some((name, value)) => sources.push(VarSource::Raw {
                    name: name.trim().to_string(),
                    value: value.to_string(),
                    origin: format!("--var {name}"),
                }),
                None => diags.push(
                    Diagnostic::error(
                        "inferform::vars::bad_flag",
                        format!("--var {text:?} has no `=`"),
                    )
                    .with_help("write --var name=value"),
                ),
            },
            CliVar::File(path) => {
                read_var_file(path, path.display().to_string(), &mut sources, &mut diags)
            }
            CliVar::Saved(name, value) => sources.push(VarSource::Value {
                name: name.clone(),
                value: value.clone(),
                origin: "the saved plan".into(),
            }),
        }
    }
    (sources, diags)
}

fn read_var_file(
    path: &Path,
    label: String,
    sources: &mut Vec<VarSource>,
    diags: &mut Diagnostics,
) {
    match std::fs::read_to_string(path) {
        Ok(text) => sources.push(VarSource::File(inferform_lang::Source {
            name: label.into(),
            text: text.into(),
        })),
        Err(e) => diags.push(
            Diagnostic::error(
                "inferform::vars::unreadable",
                format!("cannot read the var file {label}: {e}"),
            )
            .with_help("check the path given to --var-file"),
        ),
    }
}
