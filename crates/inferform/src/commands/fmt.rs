//! `inferform fmt`: rewrites configuration files in the canonical style, as `terraform fmt`
//! does. The formatting itself is [`inferform_lang::fmt`]; this command finds the files,
//! writes them or shows what would change, and chooses the exit code.

use std::path::{Path, PathBuf};

use inferform_lang::fmt::{format_source, FormatError};
use inferform_lang::Source;
use inferform_types::Diagnostic;

use crate::ui::Ui;
use crate::workspace::display_dir;
use crate::FmtArgs;

/// `--check` found files that are not formatted: Terraform's exit code for it.
const NOT_FORMATTED: u8 = 3;

/// A file to format: where it is, and how the user sees its name.
struct Target {
    path: PathBuf,
    shown: String,
}

/// Exit codes: 0 all formatted (or rewritten), 1 an error (a file that does not parse, cannot
/// be read or written), 3 with `--check` when a file would change.
pub fn run(dir: &Path, args: &FmtArgs, ui: &Ui) -> u8 {
    let mut diags = Vec::new();
    let targets = targets(dir, args, &mut diags);
    let mut unformatted = 0;
    for target in targets {
        let text = match std::fs::read_to_string(&target.path) {
            Ok(text) => text,
            Err(e) => {
                diags.push(io_error(format!("cannot read {}: {e}", target.shown)));
                continue;
            }
        };
        let formatted = match format_source(&text) {
            Ok(formatted) => formatted,
            Err(FormatError::Syntax(err)) => {
                let source = Source {
                    name: target.shown.as_str().into(),
                    text: text.as_str().into(),
                };
                diags.push(inferform_lang::loader::parse_error(&source, &err));
                continue;
            }
            Err(err @ FormatError::Internal { .. }) => {
                diags.push(
                    Diagnostic::error(
                        "inferform::fmt::internal",
                        format!("{}: {err}", target.shown),
                    )
                    .with_help("this is a bug in inferform fmt; please report it with the file"),
                );
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        unformatted += 1;
        ui.line(&target.shown);
        if !args.check {
            if let Err(e) = std::fs::write(&target.path, &formatted) {
                diags.push(io_error(format!("cannot write {}: {e}", target.shown)));
            }
        }
        if args.diff {
            ui.out(&inferform_render::file_diff(
                &text,
                &formatted,
                &target.shown,
            ));
        }
    }
    if ui.diagnostics(diags.iter()) {
        1
    } else if args.check && unformatted > 0 {
        NOT_FORMATTED
    } else {
        0
    }
}

fn io_error(message: String) -> Diagnostic {
    Diagnostic::error("inferform::fmt::io", message)
        .with_help("check that the file exists and that you may read and write it")
}

/// The files to format, in order: the PATHs given (files as they are, directories for their
/// `*.hcl` files), or the working directory's `*.hcl` files.
fn targets(dir: &Path, args: &FmtArgs, diags: &mut Vec<Diagnostic>) -> Vec<Target> {
    let mut out = Vec::new();
    let base = display_dir(dir);
    if args.paths.is_empty() {
        collect_dir(dir, &base, args.recursive, &mut out, diags);
        return out;
    }
    for given in &args.paths {
        let path = dir.join(given);
        let shown = tidy(&Path::new(&base).join(given));
        match std::fs::metadata(&path) {
            Err(_) => diags.push(
                Diagnostic::error(
                    "inferform::fmt::no_such_path",
                    format!("there is no file or directory at {shown}"),
                )
                .with_help("pass .hcl files or directories that hold them"),
            ),
            Ok(meta) if meta.is_dir() => {
                collect_dir(&path, &shown, args.recursive, &mut out, diags)
            }
            Ok(_) if is_hcl(&shown) => out.push(Target { path, shown }),
            Ok(_) => diags.push(
                Diagnostic::error(
                    "inferform::fmt::not_hcl",
                    format!("{shown} is not an .hcl file"),
                )
                .with_help(
                    "inferform fmt formats configuration (*.hcl) and variable (*.vars.hcl) files",
                ),
            ),
        }
    }
    out
}

/// The `*.hcl` files of `dir` in name order, and with `recursive` those of its subdirectories
/// where they come in that order. Hidden entries (`.inferform/`, `.git/`, editor files) and
/// editor backups are skipped, as Terraform skips them; symbolic links to directories are not
/// followed, so a link cycle cannot trap the walk.
fn collect_dir(
    dir: &Path,
    shown: &str,
    recursive: bool,
    out: &mut Vec<Target>,
    diags: &mut Vec<Diagnostic>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let name = if shown.is_empty() { "." } else { shown };
            diags.push(io_error(format!("cannot read the directory {name}: {e}")));
            return;
        }
    };
    let mut entries: Vec<std::fs::DirEntry> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().to_string();
        if is_ignored(&name) {
            continue;
        }
        let path = entry.path();
        let entry_shown = tidy(&Path::new(shown).join(&name));
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if recursive {
                collect_dir(&path, &entry_shown, recursive, out, diags);
            }
        } else if is_hcl(&name) && path.is_file() {
            out.push(Target {
                path,
                shown: entry_shown,
            });
        }
    }
}

fn is_hcl(name: &str) -> bool {
    name.ends_with(".hcl")
}

/// Names Terraform's loader ignores: hidden files and directories, and editor leftovers.
fn is_ignored(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || (name.starts_with('#') && name.ends_with('#'))
}

/// A path as the user reads it: without a leading `./`.
fn tidy(path: &Path) -> String {
    let text = path.display().to_string();
    match text.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => text,
    }
}
