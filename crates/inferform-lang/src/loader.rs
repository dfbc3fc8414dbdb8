//! Files → [`Config`]: parses every `*.hcl` file of a directory (except `*.vars.hcl`) with
//! hcl-edit, keeping spans, and sorts the top-level blocks into the configuration model.
//! Every problem becomes a [`Diagnostic`]; loading goes on past errors so a run reports them
//! all together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, BlockLabel, Body as HclBody};
use hcl_edit::Span;
use inferform_types::{Diagnostic, Diagnostics, InstanceKey, ModulePath, ResourceAddr, SourceSpan};

use crate::config::*;
use crate::types::parse_type;

/// Reads and loads every configuration file in `dir`, and the modules its `module` blocks
/// call, recursively. `display_dir` is how file names are shown to the user (for example the
/// `-C` argument).
pub fn load_dir(dir: &Path, display_dir: &str) -> (Config, Diagnostics) {
    let (mut config, mut diags) = load_files(dir, display_dir, true);
    let calls = call_list(&config.calls);
    let mut stack: Vec<PathBuf> = std::fs::canonicalize(dir).into_iter().collect();
    load_children(
        &mut config,
        &ModulePath::root(),
        calls,
        dir,
        "",
        display_dir,
        &mut stack,
        &mut diags,
    );
    map_module_providers(&mut config);
    config.reindex();
    // A directory called from two places is loaded twice; its mistakes are reported once.
    let mut seen = std::collections::BTreeSet::new();
    diags
        .0
        .retain(|d| seen.insert((d.code.clone(), d.message.clone(), d.location())));
    (config, diags)
}

/// How deep module calls may nest.
const MAX_MODULE_DEPTH: usize = 16;

fn call_list(calls: &BTreeMap<String, ModuleCall>) -> Vec<(String, String, SourceSpan)> {
    calls
        .values()
        .map(|c| (c.name.clone(), c.source.clone(), c.source_span.clone()))
        .collect()
}

/// `a/b` joined with `../c` → `a/c`, lexically; `.` is the empty path.
fn join_relative(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// Loads the modules that `calls` name (relative to `dir`) into `config`, and theirs in turn.
/// `rel` is `dir` relative to the root module; `shown` is how the user sees `dir`.
#[allow(clippy::too_many_arguments)]
fn load_children(
    config: &mut Config,
    parent: &ModulePath,
    calls: Vec<(String, String, SourceSpan)>,
    dir: &Path,
    rel: &str,
    shown: &str,
    stack: &mut Vec<PathBuf>,
    diags: &mut Diagnostics,
) {
    for (name, source, span) in calls {
        let path = parent.child(&name, InstanceKey::None);
        let child_dir = dir.join(&source);
        let child_shown = join_relative(shown, &source);
        let child_rel = join_relative(rel, &source);
        let canonical = match std::fs::canonicalize(&child_dir) {
            Ok(c) if c.is_dir() => c,
            _ => {
                diags.push(
                    Diagnostic::error(
                        "inferform::config::module_not_found",
                        format!(
                            "module `{name}`: no directory `{}`",
                            if child_shown.is_empty() { "." } else { &child_shown }
                        ),
                    )
                    .with_span(span)
                    .with_help("`source` is a path relative to this file's directory, such as \"./modules/serving\""),
                );
                continue;
            }
        };
        if stack.contains(&canonical) {
            diags.push(
                Diagnostic::error(
                    "inferform::config::module_recursion",
                    format!(
                        "module `{name}` calls a module that is already being loaded ({source})"
                    ),
                )
                .with_span(span)
                .with_help("a module cannot call itself, directly or through other modules"),
            );
            continue;
        }
        if path.0.len() > MAX_MODULE_DEPTH {
            diags.push(
                Diagnostic::error(
                    "inferform::config::module_depth",
                    format!("modules nest more than {MAX_MODULE_DEPTH} deep at `{name}`"),
                )
                .with_span(span)
                .with_help("flatten the module structure"),
            );
            continue;
        }
        let (child, more) = load_files(&child_dir, &child_shown, false);
        diags.extend(more);
        let grandchildren = call_list(&child.calls);
        absorb(config, &path, child, child_rel.clone(), diags);
        stack.push(canonical);
        load_children(
            config,
            &path,
            grandchildren,
            &child_dir,
            &child_rel,
            &child_shown,
            stack,
            diags,
        );
        stack.pop();
    }
}

/// Moves a loaded child module into the root configuration under `path`.
fn absorb(
    config: &mut Config,
    path: &ModulePath,
    child: Config,
    dir: String,
    diags: &mut Diagnostics,
) {
    for p in &child.providers {
        diags.push(
            Diagnostic::error(
                "inferform::config::provider_in_module",
                format!("provider `{}` is configured inside module `{path}`", p.key()),
            )
            .with_span(p.span.clone())
            .with_help("configure providers in the root module; pass an aliased one to the module with `providers = { fabric = fabric.west }`"),
        );
    }
    for span in child
        .moved
        .iter()
        .map(|m| &m.span)
        .chain(child.imports.iter().map(|i| &i.span))
    {
        diags.push(
            Diagnostic::error(
                "inferform::config::block_in_module",
                format!("`moved` and `import` blocks belong in the root module, not in `{path}`"),
            )
            .with_span(span.clone())
            .with_help(
                "write it in the root module with the full address, such as module.NAME.TYPE.NAME",
            ),
        );
    }
    if let Some(backend) = &child.backend {
        diags.push(
            Diagnostic::warning(
                "inferform::config::backend_in_module",
                format!("backend configuration ignored in module `{path}`"),
            )
            .with_span(backend.span.clone())
            .with_help(
                "a backend applies to the whole configuration, so only the root module's counts; this block has no effect (a warning, not an error, so that a root module can be called as a child, in tests for example)",
            ),
        );
    }
    for mut r in child.resources {
        r.addr.module = path.clone();
        for (a, _) in &mut r.depends_on {
            a.module = path.clone();
        }
        config.resources.push(r);
    }
    config.sources.extend(child.sources);
    config.modules.insert(
        path.clone(),
        ModuleBody {
            dir: if dir.is_empty() { ".".into() } else { dir },
            variables: child.variables,
            locals: child.locals,
            outputs: child.outputs,
            calls: child.calls,
        },
    );
}

/// Resources in modules use the provider configuration the calls pass down with `providers`:
/// each call on the way up maps the name the module uses to one of its caller's.
fn map_module_providers(config: &mut Config) {
    let mut mapped = Vec::new();
    for (i, r) in config.resources.iter().enumerate() {
        if r.addr.module.is_root() {
            continue;
        }
        let mut key = Config::provider_key(r);
        let mut path = r.addr.module.clone();
        let mut changed = false;
        while let Some((parent, _)) = path.split_last() {
            if let Some(call) = config.call(&path) {
                if let Some((to, _)) = call.providers.get(&key) {
                    key = to.clone();
                    changed = true;
                }
            }
            path = parent;
        }
        if changed {
            let span = r
                .provider
                .as_ref()
                .map_or(r.span.clone(), |(_, s)| s.clone());
            mapped.push((i, key, span));
        }
    }
    for (i, key, span) in mapped {
        config.resources[i].provider = Some((key, span));
    }
}

/// Reads and loads the configuration files of one directory, without its modules. `root` says
/// whether it is the root module (see [`Loader::root`]).
fn load_files(dir: &Path, display_dir: &str, root: bool) -> (Config, Diagnostics) {
    let mut diags = Diagnostics::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            diags.push(
                Diagnostic::error(
                    "inferform::config::unreadable_dir",
                    format!(
                        "cannot read the configuration directory {}: {err}",
                        dir.display()
                    ),
                )
                .with_help("pass the directory that holds your .hcl files with -C DIR"),
            );
            return (Config::default(), diags);
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".hcl") && !n.ends_with(".vars.hcl"))
        .collect();
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let shown = display_name(display_dir, &name);
        match std::fs::read_to_string(dir.join(&name)) {
            Ok(text) => files.push((shown, text)),
            Err(err) => diags.push(Diagnostic::error(
                "inferform::config::unreadable_file",
                format!("cannot read {shown}: {err}"),
            )),
        }
    }
    if files.is_empty() && !diags.has_errors() {
        diags.push(
            Diagnostic::error(
                "inferform::config::no_files",
                format!("no configuration files (*.hcl) in {}", dir.display()),
            )
            .with_help(
                "run inferform in the directory that holds your configuration, or pass -C DIR",
            ),
        );
    }
    let (config, more) = load_module_sources(files, root);
    diags.extend(more);
    (config, diags)
}

fn display_name(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}

/// Loads configuration from in-memory files: `(name, text)` pairs.
pub fn load_sources(files: Vec<(String, String)>) -> (Config, Diagnostics) {
    load_module_sources(files, true)
}

/// [`load_sources`] for the root module (`root`) or a child one.
fn load_module_sources(files: Vec<(String, String)>, root: bool) -> (Config, Diagnostics) {
    let mut loader = Loader {
        config: Config::default(),
        diags: Diagnostics::new(),
        root,
        backend_seen: None,
    };
    for (name, text) in files {
        let source = Source {
            name: name.into(),
            text: text.into(),
        };
        loader.config.sources.push(source.clone());
        match hcl_edit::parser::parse_body(&source.text) {
            Ok(mut body) => loader.file(&source, &mut body),
            Err(err) => loader.diags.push(parse_error(&source, &err)),
        }
    }
    loader.check_duplicates();
    loader.config.reindex();
    (loader.config, loader.diags)
}

/// Turns a parser error into a diagnostic pointing at the offending character.
pub fn parse_error(source: &Source, err: &hcl_edit::parser::Error) -> Diagnostic {
    let offset = line_col_offset(&source.text, err.location().line(), err.location().column());
    // hcl-edit reports a string left open as whatever it expected where the string's line
    // began ("invalid block body"), which sends people looking for a brace. A quoted string
    // that runs into the end of its line (or of the file) at or before the error's line is the
    // real mistake: name it, and point at its opening quote.
    let line_end = source.text[offset.min(source.text.len())..]
        .find('\n')
        .map_or(source.text.len(), |i| offset + i);
    if let Some(start) = unterminated_string(&source.text).filter(|s| *s <= line_end) {
        return Diagnostic::error(
            "inferform::syntax::unterminated_string",
            "syntax error: unterminated string: the string that starts here has no closing `\"` on its line",
        )
        .with_span(source.span(start..start + 1))
        .with_label("this string is never closed")
        .with_help(
            "close the string with `\"` before the end of the line; for text over several lines, use a heredoc (<<EOT ... EOT)",
        );
    }
    // At the end of the file, hcl-edit reports a block or object left open as the token it
    // expected there; the mistake is where that block began.
    let rest_is_blank = source.text[offset.min(source.text.len())..]
        .trim()
        .is_empty();
    if let Some(open) = unclosed_brace(&source.text).filter(|_| rest_is_blank) {
        let line_start = source.text[..open].rfind('\n').map_or(0, |i| i + 1);
        let header = source.text[line_start..=open].trim_start();
        return Diagnostic::error(
            "inferform::syntax::unclosed_brace",
            "syntax error: no closing brace for this block before the end of the file",
        )
        .with_span(source.span(line_start + (open + 1 - line_start - header.len())..open + 1))
        .with_label("this `{` is never closed")
        .with_help("add the `}` that ends it, where its body ends");
    }
    let end = next_char_end(&source.text, offset);
    let message = first_line(err.message());
    // hcl-edit reports an argument set twice in one block as a syntax error.
    let help = if message.contains("redefined attribute") {
        "an argument may be set only once in a block: remove one of the two"
    } else {
        "check the HCL syntax near this point: a missing quote, brace or `=`?"
    };
    Diagnostic::error("inferform::syntax", format!("syntax error: {message}"))
        .with_span(source.span(offset..end))
        .with_label("here")
        .with_help(help)
}

/// The byte offset of the opening quote of the first quoted string that reaches the end of its
/// line (or of the file) unclosed, outside comments and heredocs. Only a string written at the
/// top level of an expression counts: one opened inside an interpolation (`"a-${var.x"`) is
/// more likely an interpolation left open, which hcl-edit already names. A scan over bytes with
/// an explicit stack, so that no input, however long or deeply nested, costs more than one pass
/// and a little memory.
/// What a scan of a file's text found that the parser reports badly.
#[derive(Debug, PartialEq, Eq)]
enum Scanned {
    /// A quoted string that reaches the end of its line, opened at this offset.
    UnterminatedString(usize),
    /// A `{` (at this offset) still open at the end of the file.
    UnclosedBrace(usize),
    Fine,
}

/// The byte offset of the opening quote of the first quoted string that reaches the end of
/// its line unclosed: see [`scan`].
pub fn unterminated_string(text: &str) -> Option<usize> {
    match scan(text) {
        Scanned::UnterminatedString(at) => Some(at),
        _ => None,
    }
}

/// The byte offset of the `{` that opened a block or object never closed before the end of
/// the file, outside strings, comments and heredocs: see [`scan`].
pub fn unclosed_brace(text: &str) -> Option<usize> {
    match scan(text) {
        Scanned::UnclosedBrace(at) => Some(at),
        _ => None,
    }
}

fn scan(text: &str) -> Scanned {
    enum Mode {
        /// Inside a quoted template that opened at this offset.
        Template(usize),
        /// Inside `${ }` or `%{ }`, with this many braces open within it.
        Interp(usize),
    }
    let b = text.as_bytes();
    let mut stack: Vec<Mode> = Vec::new();
    // Braces opened in code, outside any string.
    let mut braces: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match stack.last_mut() {
            Some(Mode::Template(start)) => {
                let start = *start;
                match c {
                    b'\\' => i += 1,
                    b'"' => {
                        stack.pop();
                    }
                    b'$' | b'%' if b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&b'{') => {
                        i += 2
                    }
                    b'$' | b'%' if b.get(i + 1) == Some(&b'{') => {
                        stack.push(Mode::Interp(0));
                        i += 1;
                    }
                    b'\n' if stack.len() == 1 => return Scanned::UnterminatedString(start),
                    b'\n' => return Scanned::Fine,
                    _ => {}
                }
                i += 1;
                continue;
            }
            Some(Mode::Interp(depth)) => match c {
                b'{' => *depth += 1,
                b'}' if *depth == 0 => {
                    stack.pop();
                    i += 1;
                    continue;
                }
                b'}' => *depth -= 1,
                _ => {}
            },
            None => {}
        }
        // Code: at the top level or inside an interpolation.
        match c {
            b'"' => stack.push(Mode::Template(i)),
            b'{' if stack.is_empty() => braces.push(i),
            b'}' if stack.is_empty() => {
                braces.pop();
            }
            b'#' => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'/') => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(e) => i = i + 2 + e + 1,
                None => return Scanned::Fine,
            },
            b'<' if b.get(i + 1) == Some(&b'<') => {
                let after = i + 2 + usize::from(b.get(i + 2) == Some(&b'-'));
                let name_len = b[after..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                if name_len > 0 && b.get(after + name_len) == Some(&b'\n') {
                    // A heredoc: skip to the line that closes it, or give up if none does.
                    let name = &text[after..after + name_len];
                    let mut at = after + name_len + 1;
                    loop {
                        let end = text[at..].find('\n').map_or(text.len(), |e| at + e);
                        if text[at..end].trim() == name {
                            i = end;
                            break;
                        }
                        if end >= text.len() {
                            return Scanned::Fine;
                        }
                        at = end + 1;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    match (stack.first(), braces.last()) {
        (Some(Mode::Template(start)), _) if stack.len() == 1 => Scanned::UnterminatedString(*start),
        (None, Some(open)) => Scanned::UnclosedBrace(*open),
        _ => Scanned::Fine,
    }
}

/// The offset of the newline ending the line that holds `i` (or the end of the text).
fn skip_line(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|c| *c == b'\n')
        .map_or(b.len(), |e| i + e)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

fn line_col_offset(text: &str, line: usize, col: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            if let Some((idx, _)) = l.char_indices().nth(col.saturating_sub(1)) {
                return offset + idx;
            }
            // Past the line's last character: its end, a character boundary even when the
            // last character takes several bytes.
            return (offset + l.len()).min(text.len());
        }
        offset += l.len();
    }
    text.len()
}

fn next_char_end(text: &str, offset: usize) -> usize {
    text.get(offset.min(text.len())..)
        .unwrap_or("")
        .chars()
        .next()
        .map_or(offset, |c| offset + c.len_utf8())
}

struct Loader {
    config: Config,
    diags: Diagnostics,
    /// Loading the root module. A child module's backend block is ignored, as Terraform
    /// ignores it: kept unchecked only so that the warning saying so can point at it.
    root: bool,
    /// The header of the first backend block, even one of an unknown type, so a second is
    /// reported against it.
    backend_seen: Option<SourceSpan>,
}

fn span_of<S: Span>(source: &Source, node: &S) -> SourceSpan {
    source.span(node.span().unwrap_or(0..0))
}

/// The header of a block: from its identifier to the end of its last label.
fn header_span(source: &Source, block: &Block) -> SourceSpan {
    let start = block.ident.span().map_or(0, |r| r.start);
    let end = block
        .labels
        .last()
        .and_then(|l| l.span())
        .or_else(|| block.ident.span())
        .map_or(start, |r| r.end);
    source.span(start..end)
}

fn label_text(label: &BlockLabel) -> String {
    match label {
        BlockLabel::Ident(i) => i.as_str().to_string(),
        BlockLabel::String(s) => s.as_str().to_string(),
    }
}

impl Loader {
    fn error(
        &mut self,
        code: &str,
        message: impl Into<String>,
        span: SourceSpan,
        help: impl Into<String>,
    ) {
        self.diags.push(
            Diagnostic::error(code, message)
                .with_span(span)
                .with_help(help),
        );
    }

    /// Sorts a file's blocks into the configuration. The parsed body is taken apart as it goes:
    /// expressions move into the model instead of being copied.
    fn file(&mut self, source: &Source, body: &mut HclBody) {
        for mut structure in body.iter_mut() {
            if let Some(block) = structure.as_block_mut() {
                self.top_block(source, block);
            } else if let Some(attr) = structure.as_attribute() {
                self.error(
                    "inferform::config::unexpected_attribute",
                    format!(
                        "unexpected attribute `{}` at the top level",
                        attr.key.as_str()
                    ),
                    span_of(source, &attr.key),
                    "top-level attributes are not allowed: put values in a `locals { ... }` block",
                );
            }
        }
    }

    fn labels(&mut self, source: &Source, block: &Block, want: &[&str]) -> Option<Vec<String>> {
        if block.labels.len() == want.len() {
            return Some(block.labels.iter().map(label_text).collect());
        }
        let kind = block.ident.as_str();
        let usage = format!(
            "{kind} {}",
            want.iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" ")
        );
        self.error(
            "inferform::config::block_labels",
            format!(
                "{} `{kind}` block takes {} label(s), found {}",
                if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                },
                want.len(),
                block.labels.len()
            ),
            header_span(source, block),
            format!("write it as `{} {{ ... }}`", usage.trim_end()),
        );
        None
    }

    fn top_block(&mut self, source: &Source, block: &mut Block) {
        let kind = block.ident.as_str();
        match kind {
            "resource" | "data" => self.resource(source, block, kind == "data"),
            "provider" => {
                let Some(labels) = self.labels(source, block, &["NAME"]) else {
                    return;
                };
                let body = self.body(source, block);
                let alias = self.literal_string(body.attribute("alias"));
                self.config.providers.push(ProviderConfig {
                    name: labels[0].clone(),
                    alias,
                    body: Body {
                        attributes: body
                            .attributes
                            .into_iter()
                            .filter(|a| a.name != "alias")
                            .collect(),
                        ..body
                    },
                    span: header_span(source, block),
                });
            }
            "variable" => self.variable(source, block),
            "locals" => {
                if !block.labels.is_empty() {
                    self.labels(source, block, &[]);
                }
                let body = self.body(source, block);
                for block in &body.blocks {
                    self.error(
                        "inferform::config::unexpected_block",
                        format!("unexpected block `{}` in locals", block.kind),
                        block.kind_span.clone(),
                        "a locals block holds only `name = expression` lines",
                    );
                }
                for attr in body.attributes {
                    if let Some(prev) = self.config.locals.get(&attr.name) {
                        let (line, _) = prev.span.line_col();
                        self.error(
                            "inferform::config::duplicate_local",
                            format!("local value `{}` is defined twice", attr.name),
                            attr.name_span.clone(),
                            format!(
                                "the first definition is at {}:{line}; remove or rename one",
                                prev.span.file
                            ),
                        );
                        continue;
                    }
                    self.config.locals.insert(
                        attr.name.clone(),
                        Local {
                            name: attr.name.clone(),
                            span: attr.name_span.clone(),
                            expr: attr.expr,
                        },
                    );
                }
            }
            "output" => {
                let Some(labels) = self.labels(source, block, &["NAME"]) else {
                    return;
                };
                let body = self.body(source, block);
                let span = header_span(source, block);
                self.only_attributes(&body, &["value", "sensitive", "description"], "output");
                let Some(value) = body.attribute("value") else {
                    self.error(
                        "inferform::config::missing_argument",
                        format!("output `{}` has no `value`", labels[0]),
                        span,
                        "add `value = <expression>` to the output block",
                    );
                    return;
                };
                let output = Output {
                    name: labels[0].clone(),
                    value: value.expr.clone(),
                    sensitive: self
                        .literal_bool(body.attribute("sensitive"))
                        .unwrap_or(false),
                    description: self.literal_string(body.attribute("description")),
                    span,
                };
                if self.config.outputs.contains_key(&output.name) {
                    self.error(
                        "inferform::config::duplicate_output",
                        format!("output `{}` is defined twice", output.name),
                        output.span.clone(),
                        "output names must be unique; remove or rename one",
                    );
                } else {
                    self.config.outputs.insert(output.name.clone(), output);
                }
            }
            "terraform" | "inferform" => self.settings(source, block),
            "moved" => self.moved(source, block),
            "import" => self.import(source, block),
            "module" => self.module_call(source, block),
            "check" => self.check(source, block),
            "removed" => self.removed(source, block),
            other => {
                let known = [
                    "resource",
                    "data",
                    "module",
                    "provider",
                    "variable",
                    "locals",
                    "output",
                    "terraform",
                    "moved",
                    "import",
                    "check",
                    "removed",
                ];
                let help = match crate::suggest::did_you_mean(other, known.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the top-level blocks are: {}", known.join(", ")),
                };
                self.error(
                    "inferform::config::unknown_block",
                    format!("unknown block type `{other}`"),
                    span_of(source, &block.ident),
                    help,
                );
            }
        }
    }

    /// The settings block, `inferform { ... }` or `terraform { ... }`. Its `backend` block is
    /// kept; `required_version`, `required_providers` and the rest carry nothing inferform needs
    /// and are accepted as they are, so that files brought from Terraform load.
    fn settings(&mut self, source: &Source, block: &mut Block) {
        if !block.labels.is_empty() {
            self.labels(source, block, &[]);
            return;
        }
        for mut structure in block.body.iter_mut() {
            if let Some(inner) = structure.as_block_mut() {
                match inner.ident.as_str() {
                    "backend" => self.backend(source, inner),
                    "encryption" => self.encryption(source, inner),
                    // Never fall back silently to local state for a configuration that
                    // expected its state elsewhere.
                    "cloud" => self.error(
                        "inferform::config::unsupported_block",
                        "`cloud` blocks are not supported by inferform",
                        header_span(source, inner),
                        "keep shared state in PostgreSQL with `backend \"pg\" { ... }` (see \"Working as a team\" in the README)",
                    ),
                    _ => {}
                }
            }
        }
    }

    /// The `encryption { ... }` block: kept unevaluated, one per configuration, ignored (as
    /// the backend is) in a child module.
    fn encryption(&mut self, source: &Source, block: &mut Block) {
        if self.labels(source, block, &[]).is_none() {
            return;
        }
        let span = header_span(source, block);
        let body = self.body(source, block);
        if !self.root {
            return;
        }
        if let Some(first) = &self.config.encryption {
            let (line, _) = first.span.line_col();
            let help = format!(
                "the first encryption block is at {}:{line}: keep one",
                first.span.file
            );
            self.error(
                "inferform::config::duplicate_encryption",
                "encryption is configured twice",
                span,
                help,
            );
            return;
        }
        self.config.encryption = Some(crate::config::EncryptionBlock { body, span });
    }

    /// A `backend "TYPE" { ... }` block: a known type, only its arguments, and one per
    /// configuration. Its body stays unevaluated until variable values are known.
    fn backend(&mut self, source: &Source, block: &mut Block) {
        let Some(labels) = self.labels(source, block, &["TYPE"]) else {
            return;
        };
        let span = header_span(source, block);
        let kind_span = block
            .labels
            .first()
            .map_or_else(|| span.clone(), |l| span_of(source, l));
        let body = self.body(source, block);
        if !self.root {
            self.config.backend.get_or_insert(Backend {
                kind: labels[0].clone(),
                kind_span,
                body,
                span,
            });
            return;
        }
        if let Some(first) = &self.backend_seen {
            let (line, _) = first.line_col();
            let help = format!(
                "the first backend block is at {}:{line}; a configuration keeps its state in one backend, so remove one",
                first.file
            );
            self.error(
                "inferform::config::duplicate_backend",
                "the backend is configured twice",
                span,
                help,
            );
            return;
        }
        self.backend_seen = Some(span.clone());
        let kind = labels[0].clone();
        let Some(args) = crate::backend::arguments(&kind) else {
            let help = match crate::suggest::did_you_mean(&kind, crate::backend::kinds()) {
                Some(s) => format!("did you mean \"{s}\"?"),
                None => format!(
                    "the backend types are: {}",
                    crate::backend::kinds().collect::<Vec<_>>().join(", ")
                ),
            };
            self.error(
                "inferform::config::unknown_backend",
                format!("there is no backend type named \"{kind}\""),
                kind_span,
                help,
            );
            return;
        };
        let names: Vec<&str> = args.iter().map(|(n, _)| *n).collect();
        let takes = if names.is_empty() {
            format!("the {kind} backend takes no arguments")
        } else {
            format!("the {kind} backend takes: {}", names.join(", "))
        };
        for attr in &body.attributes {
            if names.contains(&attr.name.as_str()) {
                continue;
            }
            let help = match crate::suggest::did_you_mean(&attr.name, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => takes.clone(),
            };
            self.error(
                "inferform::config::unknown_attribute",
                format!("unknown argument `{}` in backend \"{kind}\"", attr.name),
                attr.name_span.clone(),
                help,
            );
        }
        for inner in &body.blocks {
            self.error(
                "inferform::config::unexpected_block",
                format!("unexpected block `{}` in backend \"{kind}\"", inner.kind),
                inner.kind_span.clone(),
                takes.clone(),
            );
        }
        self.config.backend = Some(Backend {
            kind,
            kind_span,
            body,
            span,
        });
    }

    fn only_attributes(&mut self, body: &Body, allowed: &[&str], what: &str) {
        self.only(body, allowed, &[], what);
    }

    /// Reports every argument of `body` not in `attributes` (with did-you-mean) and every
    /// nested block not in `blocks`.
    fn only(&mut self, body: &Body, attributes: &[&str], blocks: &[&str], what: &str) {
        let takes = format!(
            "a {what} block takes: {}",
            attributes
                .iter()
                .chain(blocks)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        );
        for attr in &body.attributes {
            if !attributes.contains(&attr.name.as_str()) {
                let help =
                    match crate::suggest::did_you_mean(&attr.name, attributes.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => takes.clone(),
                    };
                self.error(
                    "inferform::config::unknown_attribute",
                    format!("unknown argument `{}` in {what} block", attr.name),
                    attr.name_span.clone(),
                    help,
                );
            }
        }
        for block in body
            .blocks
            .iter()
            .filter(|b| !blocks.contains(&b.kind.as_str()))
        {
            self.error(
                "inferform::config::unexpected_block",
                format!("unexpected block `{}` in {what} block", block.kind),
                block.kind_span.clone(),
                takes.clone(),
            );
        }
    }

    fn literal_string(&mut self, attr: Option<&AttrNode>) -> Option<String> {
        let attr = attr?;
        match &attr.expr.expr {
            Expression::String(s) => Some(s.as_str().to_string()),
            _ => {
                self.error(
                    "inferform::config::not_literal",
                    format!("`{}` must be a literal string", attr.name),
                    attr.expr.span(),
                    "write a quoted string here; references and functions are not allowed",
                );
                None
            }
        }
    }

    fn literal_bool(&mut self, attr: Option<&AttrNode>) -> Option<bool> {
        let attr = attr?;
        match &attr.expr.expr {
            Expression::Bool(b) => Some(*b.value()),
            _ => {
                self.error(
                    "inferform::config::not_literal",
                    format!("`{}` must be true or false", attr.name),
                    attr.expr.span(),
                    "write `true` or `false` here",
                );
                None
            }
        }
    }

    fn body(&mut self, source: &Source, block: &mut Block) -> Body {
        let span = span_of(source, block);
        self.convert_body(source, &mut block.body, span)
    }

    fn convert_body(&mut self, source: &Source, body: &mut HclBody, span: SourceSpan) -> Body {
        let mut out = Body {
            attributes: Vec::new(),
            blocks: Vec::new(),
            span,
        };
        for mut structure in body.iter_mut() {
            if let Some(block) = structure.as_block_mut() {
                let inner = self.body(source, block);
                out.blocks.push(BlockNode {
                    kind: block.ident.as_str().to_string(),
                    labels: block.labels.iter().map(label_text).collect(),
                    kind_span: span_of(source, &block.ident),
                    body: inner,
                });
                continue;
            }
            let Some(mut attr) = structure.as_attribute_mut() else {
                continue;
            };
            let name = attr.key.as_str().to_string();
            let name_span = span_of(source, &attr.key);
            if let Some(prev) = out.attributes.iter().find(|a| a.name == name) {
                let (line, _) = prev.name_span.line_col();
                self.error(
                    "inferform::config::duplicate_attribute",
                    format!("argument `{name}` is set twice"),
                    name_span,
                    format!("it was first set on line {line}; remove one"),
                );
                continue;
            }
            // Moved, not copied: the parsed body is dropped after loading.
            let expr = std::mem::replace(attr.value_mut(), Expression::null());
            out.attributes.push(AttrNode {
                name,
                name_span,
                expr: Expr {
                    expr,
                    source: source.clone(),
                },
            });
        }
        out
    }

    fn variable(&mut self, source: &Source, block: &mut Block) {
        let Some(labels) = self.labels(source, block, &["NAME"]) else {
            return;
        };
        let name = labels[0].clone();
        let span = header_span(source, block);
        let body = self.body(source, block);
        self.only_attributes(
            &Body {
                blocks: body
                    .blocks
                    .iter()
                    .filter(|b| b.kind != "validation")
                    .cloned()
                    .collect(),
                ..body.clone()
            },
            &["type", "default", "description", "sensitive", "nullable"],
            "variable",
        );
        let ty = body.attribute("type").and_then(|attr| match parse_type(&attr.expr.expr) {
            Ok(t) => Some(t),
            Err(msg) => {
                self.error(
                    "inferform::config::bad_type",
                    format!("invalid type constraint: {msg}"),
                    attr.expr.span(),
                    "use string, number, bool, any, list(T), set(T), map(T), object({...}) or tuple([...])",
                );
                None
            }
        });
        if self.config.variables.contains_key(&name) {
            self.error(
                "inferform::config::duplicate_variable",
                format!("variable `{name}` is declared twice"),
                span,
                "variable names must be unique; remove or rename one",
            );
            return;
        }
        let variable = Variable {
            name: name.clone(),
            ty,
            default: body.attribute("default").map(|a| a.expr.clone()),
            description: self.literal_string(body.attribute("description")),
            sensitive: self
                .literal_bool(body.attribute("sensitive"))
                .unwrap_or(false),
            nullable: self
                .literal_bool(body.attribute("nullable"))
                .unwrap_or(true),
            validations: self.conditions(&body, "validation"),
            span,
        };
        self.config.variables.insert(name, variable);
    }

    /// The `kind` blocks of `body` (`precondition`, `postcondition`, `assert`), each with
    /// `condition` and `error_message`.
    fn conditions(&mut self, body: &Body, kind: &str) -> Vec<Condition> {
        let mut out = Vec::new();
        for block in body.blocks.iter().filter(|b| b.kind == kind) {
            self.only_attributes(&block.body, &["condition", "error_message"], kind);
            match (
                block.body.attribute("condition"),
                block.body.attribute("error_message"),
            ) {
                (Some(c), Some(m)) => out.push(Condition {
                    condition: c.expr.clone(),
                    error_message: m.expr.clone(),
                    span: block.kind_span.clone(),
                }),
                _ => self.error(
                    // The code variables' validations have always had stays theirs.
                    if kind == "validation" {
                        "inferform::config::validation"
                    } else {
                        "inferform::config::condition"
                    },
                    format!("a {kind} block needs `condition` and `error_message`"),
                    block.kind_span.clone(),
                    format!(
                        "write {kind} {{ condition = length(var.x) > 0, error_message = \"...\" }}"
                    ),
                ),
            }
        }
        out
    }

    /// `check "NAME" { data ... { ... } assert { ... } }`.
    fn check(&mut self, source: &Source, block: &mut Block) {
        let Some(labels) = self.labels(source, block, &["NAME"]) else {
            return;
        };
        let span = header_span(source, block);
        if !self.root {
            self.error(
                "inferform::config::unsupported_block",
                "`check` blocks are supported in the root module only",
                span,
                "move the check block to the root module",
            );
            return;
        }
        // Its data sources join the configuration's, scoped to this check. They are read
        // first: reading a body takes its expressions.
        for mut structure in block.body.iter_mut() {
            let Some(inner) = structure
                .as_block_mut()
                .filter(|b| b.ident.as_str() == "data")
            else {
                continue;
            };
            let before = self.config.resources.len();
            self.resource(source, inner, true);
            if let Some(r) = self
                .config
                .resources
                .get_mut(before..)
                .and_then(|r| r.first_mut())
            {
                r.check = Some(labels[0].clone());
                if let Some(meta) = r.count.as_ref().or(r.for_each.as_ref()) {
                    let meta_span = meta.span();
                    self.error(
                        "inferform::config::scoped_data_meta",
                        "`count` and `for_each` cannot be set on a data block inside a check block",
                        meta_span,
                        "read one object here, or move the data block out of the check block",
                    );
                }
            }
        }
        let body = self.body(source, block);
        self.only(&body, &[], &["assert", "data"], "check");
        let asserts = self.conditions(&body, "assert");
        if asserts.is_empty() {
            self.error(
                "inferform::config::condition",
                "a check block needs at least one assert block",
                span.clone(),
                "add assert { condition = ..., error_message = \"...\" }",
            );
        }
        let name = labels[0].clone();
        if self.config.checks.iter().any(|c| c.name == name) {
            self.error(
                "inferform::config::duplicate_check",
                format!("check `{name}` is defined twice"),
                span,
                "check names must be unique; remove or rename one",
            );
            return;
        }
        self.config.checks.push(Check {
            name,
            asserts,
            span,
        });
    }

    /// `removed { from = TYPE.NAME, lifecycle { destroy = false } }`.
    fn removed(&mut self, source: &Source, block: &mut Block) {
        if !block.labels.is_empty() {
            self.labels(source, block, &[]);
            return;
        }
        let span = header_span(source, block);
        let body = self.body(source, block);
        if !self.root {
            self.error(
                "inferform::config::unsupported_block",
                "`removed` blocks are supported in the root module only",
                span,
                "move the removed block to the root module",
            );
            return;
        }
        let Some(from) = self.instance_ref(&body, "from", "removed", &span) else {
            return;
        };
        if from.key != inferform_types::InstanceKey::None {
            self.error(
                "inferform::config::bad_address",
                "`from` in a removed block names a whole resource, not one instance",
                body.attribute("from")
                    .map_or(span.clone(), |a| a.expr.span()),
                "write from = TYPE.NAME",
            );
            return;
        }
        self.only(&body, &["from"], &["lifecycle"], "removed");
        let mut destroy = true;
        for b in body.blocks.iter().filter(|b| b.kind == "lifecycle") {
            self.only_attributes(&b.body, &["destroy"], "lifecycle");
            destroy = self
                .literal_bool(b.body.attribute("destroy"))
                .unwrap_or(true);
        }
        self.config.removed.push(Removed {
            from: from.resource,
            destroy,
            span,
        });
    }

    fn resource(&mut self, source: &Source, block: &mut Block, data: bool) {
        let Some(labels) = self.labels(source, block, &["TYPE", "NAME"]) else {
            return;
        };
        let span = header_span(source, block);
        let addr = if data {
            ResourceAddr::data(&labels[0], &labels[1])
        } else {
            ResourceAddr::new(&labels[0], &labels[1])
        };
        let body = self.body(source, block);
        let mut resource = Resource {
            addr,
            body: Body {
                attributes: Vec::new(),
                blocks: Vec::new(),
                span: body.span.clone(),
            },
            count: None,
            for_each: None,
            depends_on: Vec::new(),
            depends_on_modules: Vec::new(),
            provider: None,
            lifecycle: Lifecycle::default(),
            timeouts: BTreeMap::new(),
            check: None,
            span,
        };
        for attr in body.attributes {
            match attr.name.as_str() {
                "count" => resource.count = Some(attr.expr),
                "for_each" => resource.for_each = Some(attr.expr),
                "depends_on" => {
                    (resource.depends_on, resource.depends_on_modules) = self.depends_on(&attr)
                }
                "provider" => {
                    let text = attr.expr.source.text[attr.expr.span().range]
                        .trim()
                        .to_string();
                    let valid = text.split('.').count() <= 2
                        && !text.is_empty()
                        && text.split('.').all(|p| {
                            p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                                && p.chars()
                                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                        });
                    if valid {
                        resource.provider = Some((text, attr.expr.span()));
                    } else {
                        self.error(
                            "inferform::config::bad_provider_ref",
                            "`provider` must name a provider configuration, as NAME or NAME.ALIAS",
                            attr.expr.span(),
                            "write provider = fabric.west, without quotes",
                        );
                    }
                }
                _ => resource.body.attributes.push(attr),
            }
        }
        if let (Some(_), Some(fe)) = (&resource.count, &resource.for_each) {
            self.error(
                "inferform::config::count_and_for_each",
                "`count` and `for_each` cannot both be set",
                fe.span(),
                "use one of them to make several instances",
            );
        }
        for block in body.blocks {
            match block.kind.as_str() {
                "lifecycle" if !data => resource.lifecycle = self.lifecycle(&block.body),
                "timeouts" if !data => resource.timeouts = self.timeouts(&block.body),
                _ => resource.body.blocks.push(block),
            }
        }
        if let Some(prev) = self
            .config
            .resource_index
            .get(&resource.addr)
            .map(|&i| &self.config.resources[i])
        {
            let (line, _) = prev.span.line_col();
            let message = format!("{} is declared twice", resource.addr);
            let help = format!(
                "the first declaration is at {}:{line}; resource names must be unique per type",
                prev.span.file
            );
            self.error(
                "inferform::config::duplicate_resource",
                message,
                resource.span.clone(),
                help,
            );
            return;
        }
        self.config
            .resource_index
            .insert(resource.addr.clone(), self.config.resources.len());
        self.config.resources.push(resource);
    }

    /// An instance address written as a reference: `fabric_endpoint.chat`, `a.b[0]`, `a.b["k"]`.
    fn instance_ref(
        &mut self,
        body: &Body,
        name: &str,
        block: &str,
        span: &SourceSpan,
    ) -> Option<inferform_types::ResourceInstanceAddr> {
        let Some(attr) = body.attribute(name) else {
            self.error(
                "inferform::config::missing_argument",
                format!("a `{block}` block needs `{name}`"),
                span.clone(),
                format!("add `{name} = TYPE.NAME`"),
            );
            return None;
        };
        let text = attr.expr.source.text[attr.expr.span().range]
            .trim()
            .to_string();
        match text.parse::<inferform_types::ResourceInstanceAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.error(
                    "inferform::config::bad_address",
                    format!("`{name}` must be a resource address such as fabric_endpoint.chat"),
                    attr.expr.span(),
                    "write the address without quotes: TYPE.NAME, TYPE.NAME[0] or TYPE.NAME[\"key\"]",
                );
                None
            }
        }
    }

    fn moved(&mut self, source: &Source, block: &mut Block) {
        if !block.labels.is_empty() {
            self.labels(source, block, &[]);
            return;
        }
        let span = header_span(source, block);
        let body = self.body(source, block);
        self.only_attributes(&body, &["from", "to"], "moved");
        let (Some(from), Some(to)) = (
            self.instance_ref(&body, "from", "moved", &span),
            self.instance_ref(&body, "to", "moved", &span),
        ) else {
            return;
        };
        if from.resource.type_name != to.resource.type_name {
            self.error(
                "inferform::config::moved_type",
                format!("cannot move {from} to {to}: a move keeps the resource type"),
                span,
                "to change the type, remove the old resource and import the object into the new one",
            );
            return;
        }
        self.config.moved.push(Moved { from, to, span });
    }

    fn import(&mut self, source: &Source, block: &mut Block) {
        if !block.labels.is_empty() {
            self.labels(source, block, &[]);
            return;
        }
        let span = header_span(source, block);
        let body = self.body(source, block);
        self.only_attributes(&body, &["to", "id"], "import");
        let Some(to) = self.instance_ref(&body, "to", "import", &span) else {
            return;
        };
        let Some(id) = body.attribute("id") else {
            self.error(
                "inferform::config::missing_argument",
                "an `import` block needs `id`",
                span,
                "add `id = \"...\"`: the object's id in its cloud",
            );
            return;
        };
        self.config.imports.push(Import {
            to,
            id: id.expr.clone(),
            span,
        });
    }

    /// `depends_on`: the resources it names, and the module calls (`module.NAME`).
    #[allow(clippy::type_complexity)]
    fn depends_on(
        &mut self,
        attr: &AttrNode,
    ) -> (Vec<(ResourceAddr, SourceSpan)>, Vec<(String, SourceSpan)>) {
        let Expression::Array(items) = &attr.expr.expr else {
            self.error(
                "inferform::config::bad_depends_on",
                "`depends_on` must be a list of resource references",
                attr.expr.span(),
                "write depends_on = [fabric_workspace.main]",
            );
            return (Vec::new(), Vec::new());
        };
        let mut out = Vec::new();
        let mut modules = Vec::new();
        for item in items.iter() {
            let span = attr.expr.span_of(item);
            match crate::refs::static_resource_ref(item) {
                Some(addr) if addr.mode == inferform_types::ResourceMode::Managed
                    && addr.type_name == "module" =>
                {
                    modules.push((addr.name, span))
                }
                Some(addr) => out.push((addr, span)),
                None => self.error(
                    "inferform::config::bad_depends_on",
                    "each `depends_on` entry must name a resource, as TYPE.NAME, or a module, as module.NAME",
                    span,
                    "write depends_on = [fabric_workspace.main]",
                ),
            }
        }
        (out, modules)
    }

    fn module_call(&mut self, source: &Source, block: &mut Block) {
        let Some(labels) = self.labels(source, block, &["NAME"]) else {
            return;
        };
        let span = header_span(source, block);
        let body = self.body(source, block);
        for b in &body.blocks {
            self.error(
                "inferform::config::unexpected_block",
                format!("unexpected block `{}` in a module block", b.kind),
                b.kind_span.clone(),
                "a module block takes arguments: `source`, the module's input variables, and count, for_each, depends_on, providers",
            );
        }
        let name = labels[0].clone();
        let mut call = ModuleCall {
            name: name.clone(),
            source: String::new(),
            source_span: span.clone(),
            inputs: Vec::new(),
            count: None,
            for_each: None,
            depends_on: Vec::new(),
            depends_on_modules: Vec::new(),
            providers: BTreeMap::new(),
            span: span.clone(),
        };
        let mut has_source = false;
        for attr in body.attributes {
            match attr.name.as_str() {
                "source" => {
                    has_source = true;
                    call.source_span = attr.expr.span();
                    let Some(text) = self.literal_string(Some(&attr)) else {
                        continue;
                    };
                    if text.starts_with("./") || text.starts_with("../") {
                        call.source = text;
                    } else {
                        self.error(
                            "inferform::config::module_source",
                            format!("module source `{text}` is not a local path"),
                            attr.expr.span(),
                            "inferform loads modules from directories: write a path that starts with ./ or ../, such as \"./modules/serving\"",
                        );
                    }
                }
                "version" => self.error(
                    "inferform::config::module_version",
                    "`version` applies to registry modules; inferform loads local paths only",
                    attr.name_span.clone(),
                    "remove `version`",
                ),
                "count" => call.count = Some(attr.expr),
                "for_each" => call.for_each = Some(attr.expr),
                "depends_on" => (call.depends_on, call.depends_on_modules) = self.depends_on(&attr),
                "providers" => call.providers = self.module_providers(&attr),
                _ => call.inputs.push(attr),
            }
        }
        if !has_source {
            self.error(
                "inferform::config::missing_argument",
                format!("module `{name}` has no `source`"),
                span.clone(),
                "add `source = \"./modules/NAME\"`: the directory of the module",
            );
        }
        if let (Some(_), Some(fe)) = (&call.count, &call.for_each) {
            self.error(
                "inferform::config::count_and_for_each",
                "`count` and `for_each` cannot both be set",
                fe.span(),
                "use one of them to make several instances",
            );
        }
        if let Some(prev) = self.config.calls.get(&name) {
            let (line, _) = prev.span.line_col();
            let help = format!(
                "the first is at {}:{line}; module names must be unique in a module",
                prev.span.file
            );
            self.error(
                "inferform::config::duplicate_module",
                format!("module `{name}` is declared twice"),
                span,
                help,
            );
            return;
        }
        if !has_source || call.source.is_empty() {
            return;
        }
        self.config.calls.insert(name, call);
    }

    /// `providers = { fabric = fabric.west }`.
    fn module_providers(&mut self, attr: &AttrNode) -> BTreeMap<String, (String, SourceSpan)> {
        let mut out = BTreeMap::new();
        let bad = |this: &mut Self, span: SourceSpan| {
            this.error(
                "inferform::config::bad_module_providers",
                "`providers` maps the module's provider names to provider configurations",
                span,
                "write providers = { fabric = fabric.west }",
            )
        };
        let Expression::Object(obj) = &attr.expr.expr else {
            bad(self, attr.expr.span());
            return out;
        };
        for (k, v) in obj.iter() {
            let key_text = match k {
                hcl_edit::expr::ObjectKey::Ident(i) => Some(i.as_str().to_string()),
                hcl_edit::expr::ObjectKey::Expression(e) => crate::refs::static_resource_ref(e)
                    .map(|a| format!("{}.{}", a.type_name, a.name))
                    .or_else(|| match e {
                        Expression::Variable(v) => Some(v.as_str().to_string()),
                        _ => None,
                    }),
            };
            let value_span = attr.expr.span_of(v.expr());
            let value_text = match v.expr() {
                Expression::Variable(v) => Some(v.as_str().to_string()),
                e => crate::refs::static_resource_ref(e)
                    .filter(|a| a.mode == inferform_types::ResourceMode::Managed)
                    .map(|a| format!("{}.{}", a.type_name, a.name)),
            };
            match (key_text, value_text) {
                (Some(k), Some(v)) => {
                    out.insert(k, (v, value_span));
                }
                _ => bad(self, value_span),
            }
        }
        out
    }

    fn lifecycle(&mut self, body: &Body) -> Lifecycle {
        self.only(
            body,
            &[
                "create_before_destroy",
                "prevent_destroy",
                "ignore_changes",
                "replace_triggered_by",
            ],
            &["precondition", "postcondition"],
            "lifecycle",
        );
        let mut lifecycle = Lifecycle {
            create_before_destroy: self
                .literal_bool(body.attribute("create_before_destroy"))
                .unwrap_or(false),
            prevent_destroy: self
                .literal_bool(body.attribute("prevent_destroy"))
                .unwrap_or(false),
            ignore_changes: Vec::new(),
            replace_triggered_by: Vec::new(),
            preconditions: self.conditions(body, "precondition"),
            postconditions: self.conditions(body, "postcondition"),
        };
        if let Some(attr) = body.attribute("replace_triggered_by") {
            match &attr.expr.expr {
                Expression::Array(items) => {
                    for item in items.iter() {
                        if matches!(item, Expression::Traversal(_)) {
                            lifecycle.replace_triggered_by.push(Expr {
                                expr: item.clone(),
                                source: attr.expr.source.clone(),
                            });
                        } else {
                            self.error(
                                "inferform::config::bad_replace_triggered_by",
                                "each `replace_triggered_by` entry must refer to a resource or one of its attributes",
                                attr.expr.span_of(item),
                                "write replace_triggered_by = [fabric_model.llama] or [fabric_model.llama.version_id]",
                            );
                        }
                    }
                }
                _ => self.error(
                    "inferform::config::bad_replace_triggered_by",
                    "`replace_triggered_by` must be a list of references",
                    attr.expr.span(),
                    "write replace_triggered_by = [fabric_model.llama]",
                ),
            }
        }
        if let Some(attr) = body.attribute("ignore_changes") {
            match &attr.expr.expr {
                Expression::Array(items) => {
                    for item in items.iter() {
                        match crate::refs::attribute_path(item) {
                            Some(path) => lifecycle.ignore_changes.push(path),
                            None => self.error(
                                "inferform::config::bad_ignore_changes",
                                "each `ignore_changes` entry must be an attribute name",
                                attr.expr.span_of(item),
                                "write ignore_changes = [description]",
                            ),
                        }
                    }
                }
                Expression::Variable(v) if v.as_str() == "all" => {
                    lifecycle.ignore_changes.push("*".into())
                }
                _ => self.error(
                    "inferform::config::bad_ignore_changes",
                    "`ignore_changes` must be a list of attribute names, or `all`",
                    attr.expr.span(),
                    "write ignore_changes = [description]",
                ),
            }
        }
        lifecycle
    }

    fn timeouts(&mut self, body: &Body) -> BTreeMap<String, u64> {
        self.only_attributes(body, &["create", "update", "delete"], "timeouts");
        let mut out = BTreeMap::new();
        for attr in &body.attributes {
            let Some(text) = self.literal_string(Some(attr)) else {
                continue;
            };
            match parse_duration(&text) {
                Some(secs) => {
                    out.insert(attr.name.clone(), secs);
                }
                None => self.error(
                    "inferform::config::bad_duration",
                    format!("`{text}` is not a duration"),
                    attr.expr.span(),
                    "write a duration such as \"30s\", \"10m\" or \"1h30m\"",
                ),
            }
        }
        out
    }

    fn check_duplicates(&mut self) {
        let mut seen: BTreeMap<(String, Option<String>), SourceSpan> = BTreeMap::new();
        let mut dups = Vec::new();
        for p in &self.config.providers {
            let key = (p.name.clone(), p.alias.clone());
            if let Some(prev) = seen.get(&key) {
                dups.push((p.clone(), prev.clone()));
            } else {
                seen.insert(key, p.span.clone());
            }
        }
        for (p, prev) in dups {
            let (line, _) = prev.line_col();
            self.error(
                "inferform::config::duplicate_provider",
                format!("provider `{}` is configured twice", p.name),
                p.span,
                format!(
                    "the first configuration is at {}:{line}; give one an `alias`",
                    prev.file
                ),
            );
        }
    }
}

/// Parses a Go-style duration (`30s`, `10m`, `1h30m`) into whole seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut number = String::new();
    if text.is_empty() {
        return None;
    }
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
        } else {
            let n: u64 = number.parse().ok()?;
            number.clear();
            total += n * match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return None,
            };
        }
    }
    number.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_a_string_left_open_and_nothing_else() {
        assert_eq!(unclosed_brace("a {\n  b = 1\n\nc {\n}\n"), Some(2));
        assert_eq!(unclosed_brace("a {\n  b = \"}\" # }\n}\n"), None);
        assert_eq!(unclosed_brace("a = \"${ {x = 1} }\"\nb {\n"), Some(21));
        assert_eq!(unterminated_string("a = \"open\nb = 1\n"), Some(4));
        assert_eq!(unterminated_string("a = \"open"), Some(4));
        assert_eq!(unterminated_string("a = \"closed\" # \"\nb = 1\n"), None);
        assert_eq!(
            unterminated_string("// \"\n/* \"\n */ a = \"x\\\"y\"\n"),
            None
        );
        assert_eq!(unterminated_string("a = \"${b[\"k\"]}\"\n"), None);
        assert_eq!(unterminated_string("a = \"$${x\"\nb = \"\n"), Some(15));
        assert_eq!(
            unterminated_string("a = <<EOT\n\"\nEOT\nb = \"ok\"\n"),
            None
        );
        // Inside an interpolation: an interpolation left open, not a string.
        assert_eq!(unterminated_string("a = \"x-${var.y\"\n}\n"), None);
        // Deep nesting costs no stack.
        let deep = format!("a = \"{}\n", "${\"".repeat(100_000));
        assert_eq!(unterminated_string(&deep), None);
    }

    #[test]
    fn an_unterminated_string_is_named_at_its_quote() {
        let (_, diags) = load_sources(vec![(
            "main.hcl".into(),
            "locals {\n  x = \"abc\n}\n".into(),
        )]);
        let d = diags.iter().next().expect("a diagnostic");
        assert_eq!(d.code, "inferform::syntax::unterminated_string");
        assert_eq!(d.location().as_deref(), Some("main.hcl:2:7"));
    }

    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(30));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("5x"), None);
    }

    #[test]
    fn parse_error_after_a_multibyte_character_does_not_panic() {
        for text in ["resource é", "x = \"é", "é"] {
            let (_, diags) = load_sources(vec![("main.hcl".into(), text.into())]);
            assert!(diags.iter().all(|d| d.location().is_some()), "{text}");
        }
    }

    #[test]
    fn parse_error_points_at_line() {
        let (_, diags) = load_sources(vec![(
            "main.hcl".into(),
            "resource \"a\" \"b\" {\n  x = \n}\n".into(),
        )]);
        let d = diags.iter().next().unwrap();
        assert_eq!(d.code, "inferform::syntax");
        assert!(d.location().unwrap().starts_with("main.hcl:"));
    }
}
