//! Filesystem path functions: `basename`, `dirname`, `abspath`, `pathexpand`, `fileexists`,
//! `fileset`.

use std::path::Path;

use inferform_types::Value;

use super::args::{arity, err, string, FuncError};

pub(super) fn dispatch(
    name: &str,
    a: &[Value],
    base_dir: Option<&Path>,
) -> Option<Result<Value, FuncError>> {
    let path = |a: &[Value]| -> Result<String, FuncError> {
        arity(name, a, 1)?;
        string(&a[0], "the path")
    };
    Some(match name {
        "basename" => path(a).map(|p| Value::String(basename(&p))),
        "dirname" => path(a).map(|p| Value::String(dirname(&p))),
        // As Terraform: relative to the directory inferform runs in.
        "abspath" => path(a).map(|p| {
            let full = if Path::new(&p).is_absolute() {
                Path::new(&p).to_path_buf()
            } else {
                std::env::current_dir().unwrap_or_default().join(&p)
            };
            Value::String(clean(&full.to_string_lossy()))
        }),
        "pathexpand" => path(a).map(|p| {
            let home = std::env::var("HOME").unwrap_or_default();
            Value::String(match p.strip_prefix('~') {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{home}{rest}"),
                _ => p,
            })
        }),
        "fileexists" => path(a).and_then(|p| {
            let full = match base_dir {
                Some(dir) if Path::new(&p).is_relative() => dir.join(&p),
                _ => Path::new(&p).to_path_buf(),
            };
            match std::fs::metadata(&full) {
                Ok(m) if m.is_dir() => Err(err(
                    format!("{p} is a directory, not a file"),
                    "fileexists checks for files",
                )),
                Ok(_) => Ok(Value::Bool(true)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Bool(false)),
                Err(e) => Err(err(
                    format!("cannot look at {p}: {}", super::args::io_reason(&e)),
                    "check the path and its permissions",
                )),
            }
        }),
        "fileset" => fileset(a, base_dir),
        _ => return None,
    })
}

/// The regular files under `path` whose names, relative to it with `/` between directories,
/// match a glob (`*` and `?` within a name, `**` across directories, `[ab]`, `{a,b}`), as a
/// set. Hidden files count, as in Terraform; a path that does not exist gives an empty set.
fn fileset(a: &[Value], base_dir: Option<&Path>) -> Result<Value, FuncError> {
    arity("fileset", a, 2)?;
    let path = string(&a[0], "the path")?;
    let pattern = string(&a[1], "the pattern")?;
    let matcher = globset::GlobBuilder::new(&pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| {
            use globset::ErrorKind as K;
            let what = match e.kind() {
                K::UnclosedClass => "a `[` opens a character class that is never closed",
                K::InvalidRange(..) => "a character class has a range that runs backwards",
                K::UnopenedAlternates => "a `}` closes alternatives that were never opened",
                K::UnclosedAlternates => "a `{` opens alternatives that are never closed",
                K::NestedAlternates => "alternatives `{a,b}` cannot be nested",
                K::DanglingEscape => "it ends with a `\\` that escapes nothing",
                _ => "it is not a glob",
            };
            err(
                format!("the pattern {pattern:?} is not valid: {what}"),
                "use *, ?, ** (any directories), [abc] and {a,b}",
            )
        })?
        .compile_matcher();
    let root = match base_dir {
        Some(dir) if Path::new(&path).is_relative() => dir.join(&path),
        _ => Path::new(&path).to_path_buf(),
    };
    let mut found = Vec::new();
    let mut dirs = vec![(root, String::new())];
    while let Some((dir, prefix)) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) if prefix.is_empty() && e.kind() == std::io::ErrorKind::NotADirectory => {
                continue
            }
            Err(e) => {
                return Err(err(
                    format!(
                        "cannot list {}: {}",
                        dir.display(),
                        super::args::io_reason(&e)
                    ),
                    "check the path and its permissions",
                ))
            }
        };
        for entry in entries.flatten() {
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            // Symbolic links to directories are not followed, so a loop cannot trap the walk.
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push((entry.path(), format!("{name}/"))),
                Ok(_) if entry.path().is_file() && matcher.is_match(&name) => {
                    found.push(Value::String(name));
                }
                _ => {}
            }
        }
    }
    Ok(Value::set(found))
}

/// Go's `filepath.Base`: the last element, trailing slashes dropped; `.` for an empty path.
fn basename(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `filepath.Dir`: everything but the last element, cleaned.
fn dirname(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    clean(dir)
}

/// Go's `filepath.Clean`: one slash between elements, no `.`, `..` resolved where it can be.
fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}
