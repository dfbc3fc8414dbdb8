//! The `encryption` block of `inferform { }`, in OpenTofu's shape, evaluated into an
//! [`EncryptionSpec`]:
//!
//! ```hcl
//! encryption {
//!   key_provider "pbkdf2" "main" { passphrase = var.state_passphrase }
//!   method "aes_gcm" "main" { keys = key_provider.pbkdf2.main }
//!   state {
//!     method   = method.aes_gcm.main
//!     enforced = true
//!   }
//!   plan { method = method.aes_gcm.main }
//! }
//! ```
//!
//! Like the backend, encryption is worked out before any state is opened, so its arguments may
//! read input variables and the root module's locals and nothing else. Unlike the backend's,
//! they may be sensitive: a passphrase should come from a sensitive variable or the
//! environment. The whole block may also come from `INFERFORM_ENCRYPTION` ([`from_env`]), as
//! HCL (the block's body) or JSON, so that keys need never sit in the repository; diagnostics
//! about that text carry no snippet, since it may hold a passphrase.

use std::collections::{BTreeMap, BTreeSet};

use inferform_types::encryption::{
    EncryptionSpec, KeyProviderKind, KeyProviderSpec, MethodKind, MethodSpec, Pbkdf2Hash, Secret,
    TargetSpec,
};
use inferform_types::{Diagnostic, Diagnostics, SourceSpan, Value};

use crate::config::{AttrNode, BlockNode, Body, Config, Expr};
use crate::eval::{eval, Scope};
use crate::refs::{references, Subject};
use crate::suggest::did_you_mean;

/// The shortest passphrase `pbkdf2` takes, as OpenTofu has it.
pub const MIN_PASSPHRASE: usize = 16;
/// The fewest PBKDF2 iterations accepted, as OpenTofu has it.
pub const MIN_ITERATIONS: u32 = 200_000;
/// The default, OWASP's recommendation for PBKDF2-HMAC-SHA512 as OpenTofu uses it.
pub const DEFAULT_ITERATIONS: u32 = 600_000;

const KEY_PROVIDERS: &[&str] = &["pbkdf2", "external"];
const METHODS: &[&str] = &["aes_gcm", "unencrypted"];
const BLOCKS: &[&str] = &[
    "key_provider",
    "method",
    "state",
    "plan",
    "remote_state_data_sources",
];

/// What a reference to a key provider or method evaluates to: a marker the evaluation below
/// recognises, which no user string can be mistaken for (it starts with a NUL).
const MARK_PROVIDER: &str = "\0key_provider.";
const MARK_METHOD: &str = "\0method.";

/// The environment variable that may hold the whole block.
pub const ENV: &str = "INFERFORM_ENCRYPTION";

/// The configuration's encryption, evaluated with the root module's variable values (`vars`,
/// as [`crate::vars::resolve`] gives them). `None` when there is no `encryption` block.
pub fn eval_encryption(
    config: &Config,
    vars: &BTreeMap<String, Value>,
) -> (Option<EncryptionSpec>, Diagnostics) {
    match &config.encryption {
        None => (None, Diagnostics::new()),
        Some(block) => {
            let (spec, diags) = Evaluator::new(config, vars).run(&block.body);
            (Some(spec), diags)
        }
    }
}

/// Encryption from the text of `INFERFORM_ENCRYPTION`: the body of an `encryption` block in
/// HCL, or the same as JSON (`{"key_provider": {"pbkdf2": {"main": {...}}}, "state": {...}}`,
/// references written as `"${key_provider.pbkdf2.main}"`). It may read the configuration's
/// variables and locals. Diagnostics carry no snippet of the text.
pub fn from_env(
    text: &str,
    config: &Config,
    vars: &BTreeMap<String, Value>,
) -> (Option<EncryptionSpec>, Diagnostics) {
    let trimmed = text.trim();
    let hcl = if trimmed.starts_with('{') {
        match serde_json::from_str::<serde_json::Value>(trimmed) {
            Ok(serde_json::Value::Object(map)) => json_body(&map, 1),
            _ => {
                let mut diags = Diagnostics::new();
                diags.push(
                    Diagnostic::error(
                        "inferform::config::encryption_env",
                        format!("{ENV} starts with `{{` but is not a JSON object"),
                    )
                    .with_help(format!(
                        "{ENV} holds the body of an encryption block, in HCL or as a JSON object"
                    )),
                );
                return (None, diags);
            }
        }
    } else {
        let body = trimmed
            .strip_prefix("encryption")
            .map(str::trim_start)
            .and_then(|t| t.strip_prefix('{'))
            .and_then(|t| t.trim_end().strip_suffix('}'));
        body.unwrap_or(trimmed).to_string()
    };
    let wrapped = format!("inferform {{\nencryption {{\n{hcl}\n}}\n}}\n");
    let (parsed, load_diags) = crate::load_sources(vec![(ENV.to_string(), wrapped)]);
    let mut diags = Diagnostics::new();
    let strip = |d: &Diagnostic| {
        let mut d = d.clone();
        d.span = None;
        d.label = None;
        d.message = format!("{ENV}: {}", d.message);
        d
    };
    for d in load_diags.iter() {
        diags.push(strip(d));
    }
    let Some(block) = parsed.encryption.as_ref() else {
        return (None, diags);
    };
    if diags.has_errors() {
        return (None, diags);
    }
    let (spec, eval_diags) = Evaluator::new(config, vars).run(&block.body);
    for d in eval_diags.iter() {
        diags.push(strip(d));
    }
    (Some(spec), diags)
}

/// JSON in OpenTofu's form as HCL text: objects under `key_provider`/`method` are two-label
/// blocks, `state`/`plan`/`fallback`/`remote_state_data_sources`/`default` plain blocks,
/// anything else an attribute. A string that is wholly `${...}` is the expression inside.
fn json_body(map: &serde_json::Map<String, serde_json::Value>, depth: usize) -> String {
    let mut out = String::new();
    for (key, value) in map {
        match (key.as_str(), value) {
            ("key_provider" | "method", serde_json::Value::Object(types)) if depth == 1 => {
                for (ty, named) in types {
                    if let serde_json::Value::Object(named) = named {
                        for (name, body) in named {
                            if let serde_json::Value::Object(body) = body {
                                out.push_str(&format!(
                                    "{key} {} {} {{\n{}}}\n",
                                    hcl_string(ty),
                                    hcl_string(name),
                                    json_body(body, depth + 1)
                                ));
                            }
                        }
                    }
                }
            }
            (
                "state" | "plan" | "fallback" | "remote_state_data_sources" | "default",
                serde_json::Value::Object(body),
            ) => {
                out.push_str(&format!("{key} {{\n{}}}\n", json_body(body, depth + 1)));
            }
            _ => out.push_str(&format!("{key} = {}\n", json_expr(value))),
        }
    }
    out
}

fn hcl_string(s: &str) -> String {
    serde_json::Value::String(s.to_string())
        .to_string()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

fn json_expr(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => {
            match s.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
                Some(inner) if !inner.contains("${") => inner.to_string(),
                _ => hcl_string(s),
            }
        }
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(json_expr).collect::<Vec<_>>().join(", ")
        ),
        serde_json::Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", hcl_string(k), json_expr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

struct Evaluator<'c> {
    config: &'c Config,
    vars: &'c BTreeMap<String, Value>,
    diags: Diagnostics,
    providers: BTreeMap<String, KeyProviderSpec>,
    methods: BTreeMap<String, MethodSpec>,
    /// `TYPE.NAME` of every key provider and method block, for references and suggestions.
    declared_providers: Vec<String>,
    declared_methods: Vec<String>,
}

impl<'c> Evaluator<'c> {
    fn new(config: &'c Config, vars: &'c BTreeMap<String, Value>) -> Self {
        Evaluator {
            config,
            vars,
            diags: Diagnostics::new(),
            providers: BTreeMap::new(),
            methods: BTreeMap::new(),
            declared_providers: Vec::new(),
            declared_methods: Vec::new(),
        }
    }

    fn error(&mut self, code: &str, message: String, at: &SourceSpan, help: String) {
        self.diags.push(
            Diagnostic::error(format!("inferform::config::{code}"), message)
                .with_span(at.clone())
                .with_help(help),
        );
    }

    /// An error about a secret argument: it names the file and line but shows no snippet,
    /// since the snippet would print the secret (into a CI log, say).
    fn secret_error(&mut self, code: &str, message: String, attr: &AttrNode, help: &str) {
        let (line, _) = attr.name_span.line_col();
        self.diags.push(
            Diagnostic::error(
                format!("inferform::config::{code}"),
                format!("{message} ({}:{line})", attr.name_span.file),
            )
            .with_help(help),
        );
    }

    fn run(mut self, body: &Body) -> (EncryptionSpec, Diagnostics) {
        for attr in &body.attributes {
            self.error(
                "encryption_argument",
                format!("the encryption block takes no argument `{}`", attr.name),
                &attr.name_span,
                "it holds key_provider, method, state, plan and remote_state_data_sources blocks"
                    .into(),
            );
        }
        for block in &body.blocks {
            if let [ty, name] = block.labels.as_slice() {
                match block.kind.as_str() {
                    "key_provider" => self.declared_providers.push(format!("{ty}.{name}")),
                    "method" => self.declared_methods.push(format!("{ty}.{name}")),
                    _ => {}
                }
            }
        }
        // Every expression in the block, for the locals it needs.
        let mut exprs: Vec<&Expr> = Vec::new();
        collect_exprs(body, &mut exprs);
        self.check_references(&exprs);
        if self.diags.has_errors() {
            return (EncryptionSpec::default(), self.diags);
        }
        let Some(mut root) =
            crate::backend::settings_root(self.config, self.vars, &exprs, &mut self.diags)
        else {
            return (EncryptionSpec::default(), self.diags);
        };
        // References to key providers and methods evaluate to markers.
        let mut kp: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        let mut me: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        for block in &body.blocks {
            if let [ty, name] = block.labels.as_slice() {
                let (map, mark) = match block.kind.as_str() {
                    "key_provider" => (&mut kp, MARK_PROVIDER),
                    "method" => (&mut me, MARK_METHOD),
                    _ => continue,
                };
                map.entry(ty.clone())
                    .or_default()
                    .insert(name.clone(), Value::string(format!("{mark}{ty}.{name}")));
            }
        }
        let obj = |m: BTreeMap<String, BTreeMap<String, Value>>| {
            Value::Object(m.into_iter().map(|(k, v)| (k, Value::Object(v))).collect())
        };
        root.insert("key_provider".into(), obj(kp));
        root.insert("method".into(), obj(me));

        let mut spec = EncryptionSpec::default();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for pass in ["key_provider", "method", "target"] {
            for block in &body.blocks {
                let kind = block.kind.as_str();
                let is_target = matches!(kind, "state" | "plan" | "remote_state_data_sources");
                match (pass, kind) {
                    ("key_provider", "key_provider") => self.key_provider(block, &root, &mut seen),
                    ("method", "method") => self.method(block, &root, &mut seen),
                    ("target", _) if is_target => {
                        if !seen.insert(kind.to_string()) {
                            self.error(
                                "encryption_duplicate",
                                format!("`{kind}` is configured twice"),
                                &block.kind_span,
                                "keep one".into(),
                            );
                            continue;
                        }
                        match kind {
                            "state" => spec.state = self.target(kind, &block.body, &root),
                            "plan" => spec.plan = self.target(kind, &block.body, &root),
                            _ => spec.remote_state = self.remote_state(&block.body, &root),
                        }
                    }
                    ("target", other) if !BLOCKS.contains(&other) => {
                        let help = match did_you_mean(other, BLOCKS.iter().copied()) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("the encryption block holds: {}", BLOCKS.join(", ")),
                        };
                        self.error(
                            "encryption_block",
                            format!("unknown block `{other}` in the encryption block"),
                            &block.kind_span,
                            help,
                        );
                    }
                    _ => {}
                }
            }
        }
        (spec, self.diags)
    }

    /// Only variables, locals, key providers and methods; and the providers and methods named
    /// must exist.
    fn check_references(&mut self, exprs: &[&Expr]) {
        for expr in exprs {
            for r in references(expr) {
                let text = r.span.text[r.span.range.clone()].to_string();
                match &r.subject {
                    Subject::Variable(name) if !self.config.variables.contains_key(name) => {
                        let help = match did_you_mean(name, self.config.variables.keys().map(String::as_str)) {
                            Some(s) => format!("did you mean `var.{s}`?"),
                            None => format!("declare it with `variable \"{name}\" {{ type = string, sensitive = true }}`"),
                        };
                        self.error("undeclared_variable", format!("reference to undeclared variable `{name}`"), &r.span, help);
                    }
                    Subject::Local(name) if !self.config.locals.contains_key(name) => {
                        self.error("undeclared_local", format!("reference to undeclared local value `{name}`"), &r.span, format!("define it in a `locals {{ {name} = ... }}` block"));
                    }
                    Subject::Variable(_) | Subject::Local(_) => {}
                    Subject::Resource(addr) if addr.type_name == "key_provider" && addr.module.is_root() => {
                        let name = r.attrs.first().cloned().unwrap_or_default();
                        self.check_named("key_provider", &addr.name, &name, &r.span);
                    }
                    Subject::Other(root) if root == "method" => {
                        let ty = r.attrs.first().cloned().unwrap_or_default();
                        let name = r.attrs.get(1).cloned().unwrap_or_default();
                        self.check_named("method", &ty, &name, &r.span);
                    }
                    _ => self.error(
                        "encryption_reference",
                        "encryption arguments may use input variables, locals, key providers and methods only".into(),
                        &r.span,
                        format!("encryption is set up before anything else is evaluated, so it cannot read `{text}`"),
                    ),
                }
            }
        }
    }

    fn check_named(
        &mut self,
        kind: &str,
        ty: &str,
        name: &str,
        span: &inferform_types::SourceSpan,
    ) {
        let declared = if kind == "method" {
            self.declared_methods.clone()
        } else {
            self.declared_providers.clone()
        };
        let wanted = format!("{ty}.{name}");
        if declared.contains(&wanted) {
            return;
        }
        let help = match did_you_mean(&wanted, declared.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{kind}.{s}`?"),
            None if declared.is_empty() => {
                format!("declare it with a `{kind} \"{ty}\" \"{name}\" {{ ... }}` block")
            }
            None => format!(
                "the {kind}s are: {}",
                declared
                    .iter()
                    .map(|d| format!("{kind}.{d}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.error(
            if kind == "method" {
                "unknown_encryption_method"
            } else {
                "unknown_key_provider"
            },
            format!("there is no {kind} `{kind}.{wanted}`"),
            span,
            help,
        );
    }

    /// Evaluates an argument: known, and not null (`None` with a diagnostic otherwise).
    fn value(
        &mut self,
        attr: &AttrNode,
        root: &BTreeMap<String, Value>,
        what: &str,
    ) -> Option<Value> {
        let value = match eval(&attr.expr, &Scope::new(root)) {
            Ok(v) => v,
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        };
        if !value.is_wholly_known() {
            self.error(
                "encryption_unknown",
                format!("the value of {what}'s `{}` is not known until apply", attr.name),
                &attr.expr.span(),
                "encryption is set up before the plan: build the value from variables, locals and literals".into(),
            );
            return None;
        }
        if value.is_null() {
            return None;
        }
        Some(value.deep_unmarked())
    }

    /// The arguments of a block, checked against the names it takes.
    fn arguments<'b>(
        &mut self,
        body: &'b Body,
        takes: &[&str],
        what: &str,
    ) -> BTreeMap<&'b str, &'b AttrNode> {
        let mut out = BTreeMap::new();
        for attr in &body.attributes {
            if takes.contains(&attr.name.as_str()) {
                out.insert(attr.name.as_str(), attr);
                continue;
            }
            let help = match did_you_mean(&attr.name, takes.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if takes.is_empty() => format!("{what} takes no arguments"),
                None => format!("{what} takes: {}", takes.join(", ")),
            };
            self.error(
                "unknown_attribute",
                format!("unknown argument `{}` in {what}", attr.name),
                &attr.name_span,
                help,
            );
        }
        for block in &body.blocks {
            if what.starts_with("target") && block.kind == "fallback" {
                continue;
            }
            self.error(
                "unexpected_block",
                format!("unexpected block `{}` in {what}", block.kind),
                &block.kind_span,
                format!("{what} takes arguments only"),
            );
        }
        out
    }

    fn number(
        &mut self,
        attr: Option<&&AttrNode>,
        root: &BTreeMap<String, Value>,
        what: &str,
        default: u64,
        ok: impl Fn(u64) -> bool,
        rule: &str,
    ) -> u64 {
        let Some(attr) = attr else { return default };
        let value = self.value(attr, root, what);
        let whole = match &value {
            Some(Value::Number(n)) => n.to_i64().and_then(|i| u64::try_from(i).ok()),
            _ => None,
        };
        match (value, whole) {
            (_, Some(n)) if ok(n) => n,
            (Some(_), _) => {
                self.error(
                    "encryption_value",
                    format!("`{}` in {what} must be {rule}", attr.name),
                    &attr.expr.span(),
                    format!(
                        "set `{}` to {rule}, or leave it out for the default ({default})",
                        attr.name
                    ),
                );
                default
            }
            (None, _) => default,
        }
    }

    /// The type and name labels of a `key_provider` or `method` block, and its `TYPE.NAME`
    /// id, once it is known to be declared only once; `None` after reporting why not.
    fn labelled<'b>(
        &mut self,
        block: &'b BlockNode,
        seen: &mut BTreeSet<String>,
        example: &str,
    ) -> Option<(&'b String, &'b String, String)> {
        let kind = block.kind.as_str();
        let [ty, name] = block.labels.as_slice() else {
            self.error(
                "block_labels",
                format!("a {kind} block takes two labels: its type and its name"),
                &block.kind_span,
                example.into(),
            );
            return None;
        };
        let id = format!("{ty}.{name}");
        if !seen.insert(format!("{kind}.{id}")) {
            self.error(
                "encryption_duplicate",
                format!("{kind} `{id}` is declared twice"),
                &block.kind_span,
                format!("give each {} a name of its own", kind.replace('_', " ")),
            );
            return None;
        }
        Some((ty, name, id))
    }

    fn key_provider(
        &mut self,
        block: &BlockNode,
        root: &BTreeMap<String, Value>,
        seen: &mut BTreeSet<String>,
    ) {
        let Some((ty, name, id)) = self.labelled(
            block,
            seen,
            "write `key_provider \"pbkdf2\" \"main\" { passphrase = var.passphrase }`",
        ) else {
            return;
        };
        let what = format!("key_provider \"{ty}\" \"{name}\"");
        let kind = match ty.as_str() {
            "pbkdf2" => {
                let args = self.arguments(
                    &block.body,
                    &[
                        "passphrase",
                        "key_length",
                        "iterations",
                        "salt_length",
                        "hash_function",
                    ],
                    &what,
                );
                let Some(pass_attr) = args.get("passphrase") else {
                    self.error("missing_argument", format!("{what} needs a `passphrase`"), &block.kind_span, "set `passphrase = var.NAME` with a sensitive variable, or give the whole block in INFERFORM_ENCRYPTION".into());
                    return;
                };
                let passphrase = match self.value(pass_attr, root, &what) {
                    // A reference to a key provider or method is no passphrase.
                    Some(Value::String(p)) if !p.starts_with('\0') => p,
                    Some(_) => {
                        self.secret_error(
                            "encryption_value",
                            format!("`passphrase` in {what} must be a string"),
                            pass_attr,
                            "set it to a string of at least 16 characters",
                        );
                        return;
                    }
                    None => return,
                };
                if passphrase.chars().count() < MIN_PASSPHRASE {
                    // The message says how long it is, never what it is.
                    self.secret_error(
                        "encryption_passphrase_short",
                        format!("the passphrase of {what} is too short: {} characters, and it needs at least {MIN_PASSPHRASE}", passphrase.chars().count()),
                        pass_attr,
                        "a short passphrase can be guessed: use at least 16 characters, better a long random one (`openssl rand -base64 32`)",
                    );
                    return;
                }
                let key_length = self.number(
                    args.get("key_length"),
                    root,
                    &what,
                    32,
                    |n| [16, 24, 32].contains(&n),
                    "16, 24 or 32 (bytes)",
                );
                let iterations = self.number(
                    args.get("iterations"),
                    root,
                    &what,
                    u64::from(DEFAULT_ITERATIONS),
                    |n| (u64::from(MIN_ITERATIONS)..=10_000_000).contains(&n),
                    "between 200000 and 10000000",
                );
                let salt_length = self.number(
                    args.get("salt_length"),
                    root,
                    &what,
                    32,
                    |n| (16..=64).contains(&n),
                    "between 16 and 64 (bytes)",
                );
                let hash_function = match args.get("hash_function") {
                    None => Pbkdf2Hash::Sha512,
                    Some(attr) => match self.value(attr, root, &what) {
                        Some(Value::String(h)) if Pbkdf2Hash::parse(&h).is_some() => {
                            Pbkdf2Hash::parse(&h).unwrap_or(Pbkdf2Hash::Sha512)
                        }
                        Some(other) => {
                            let shown = other.as_str().unwrap_or("that");
                            let help = match other
                                .as_str()
                                .and_then(|h| did_you_mean(h, ["sha256", "sha512"]))
                            {
                                Some(s) => format!("did you mean \"{s}\"?"),
                                None => "use \"sha256\" or \"sha512\"".into(),
                            };
                            self.error(
                                "encryption_value",
                                format!("unknown hash_function \"{shown}\" in {what}"),
                                &attr.expr.span(),
                                help,
                            );
                            Pbkdf2Hash::Sha512
                        }
                        None => Pbkdf2Hash::Sha512,
                    },
                };
                KeyProviderKind::Pbkdf2 {
                    passphrase: Secret::new(passphrase),
                    key_length: key_length as usize,
                    iterations: iterations as u32,
                    salt_length: salt_length as usize,
                    hash_function,
                }
            }
            "external" => {
                let args = self.arguments(&block.body, &["command"], &what);
                let Some(attr) = args.get("command") else {
                    self.error("missing_argument", format!("{what} needs a `command`"), &block.kind_span, "set `command = [\"/path/to/program\", \"arg\"]`: a program that prints a key as JSON".into());
                    return;
                };
                let command: Option<Vec<String>> = match self.value(attr, root, &what) {
                    Some(Value::List(items)) => items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string))
                        .collect(),
                    _ => None,
                };
                match command {
                    Some(c) if !c.is_empty() => KeyProviderKind::External { command: c },
                    _ => {
                        self.error(
                            "encryption_value",
                            format!("`command` in {what} must be a non-empty list of strings"),
                            &attr.expr.span(),
                            "write `command = [\"/path/to/program\", \"arg\"]`".into(),
                        );
                        return;
                    }
                }
            }
            other => {
                let help = match did_you_mean(other, KEY_PROVIDERS.iter().copied()) {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => format!("the key provider types are: {}", KEY_PROVIDERS.join(", ")),
                };
                self.error(
                    "unknown_key_provider_type",
                    format!("there is no key provider type \"{other}\""),
                    &block.kind_span,
                    help,
                );
                return;
            }
        };
        self.providers.insert(
            id,
            KeyProviderSpec {
                name: name.clone(),
                kind,
            },
        );
    }

    fn method(
        &mut self,
        block: &BlockNode,
        root: &BTreeMap<String, Value>,
        seen: &mut BTreeSet<String>,
    ) {
        let Some((ty, name, id)) = self.labelled(
            block,
            seen,
            "write `method \"aes_gcm\" \"main\" { keys = key_provider.pbkdf2.main }`",
        ) else {
            return;
        };
        let what = format!("method \"{ty}\" \"{name}\"");
        let kind = match ty.as_str() {
            "aes_gcm" => {
                let args = self.arguments(&block.body, &["keys"], &what);
                let Some(attr) = args.get("keys") else {
                    self.error(
                        "missing_argument",
                        format!("{what} needs `keys`"),
                        &block.kind_span,
                        "set `keys = key_provider.pbkdf2.NAME`".into(),
                    );
                    return;
                };
                let reference = match self.value(attr, root, &what) {
                    Some(Value::String(s)) => s.strip_prefix(MARK_PROVIDER).map(str::to_string),
                    _ => None,
                };
                let Some(keys) = reference.and_then(|r| self.providers.get(&r).cloned()) else {
                    // A reference to an unknown provider was reported with the references; a
                    // provider with errors of its own was reported where it is declared.
                    if !self.diags.has_errors() {
                        self.error(
                            "encryption_value",
                            format!("`keys` in {what} must name a key provider"),
                            &attr.expr.span(),
                            "write `keys = key_provider.TYPE.NAME`".into(),
                        );
                    }
                    return;
                };
                MethodKind::AesGcm { keys }
            }
            "unencrypted" => {
                self.arguments(&block.body, &[], &what);
                MethodKind::Unencrypted
            }
            other => {
                let help = match did_you_mean(other, METHODS.iter().copied()) {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => format!("the method types are: {}", METHODS.join(", ")),
                };
                self.error(
                    "unknown_encryption_method_type",
                    format!("there is no encryption method type \"{other}\""),
                    &block.kind_span,
                    help,
                );
                return;
            }
        };
        self.methods.insert(
            id,
            MethodSpec {
                name: name.clone(),
                kind,
            },
        );
    }

    /// The method an argument names.
    fn method_ref(
        &mut self,
        attr: &AttrNode,
        root: &BTreeMap<String, Value>,
        what: &str,
    ) -> Option<MethodSpec> {
        let reference = match self.value(attr, root, what) {
            Some(Value::String(s)) => s.strip_prefix(MARK_METHOD).map(str::to_string),
            _ => None,
        };
        match reference {
            Some(r) => self.methods.get(&r).cloned(),
            None => {
                self.error(
                    "encryption_value",
                    format!("`method` in {what} must name a method"),
                    &attr.expr.span(),
                    "write `method = method.aes_gcm.NAME`".into(),
                );
                None
            }
        }
    }

    fn target(
        &mut self,
        kind: &str,
        body: &Body,
        root: &BTreeMap<String, Value>,
    ) -> Option<TargetSpec> {
        let what = format!("target `{kind}`");
        let args = self.arguments(body, &["method", "enforced"], &what);
        let Some(attr) = args.get("method") else {
            self.error(
                "missing_argument",
                format!("the `{kind}` block needs a `method`"),
                &body.span,
                "set `method = method.aes_gcm.NAME`".into(),
            );
            return None;
        };
        let method = self.method_ref(attr, root, &what)?;
        let enforced = match args.get("enforced") {
            None => false,
            Some(attr) => match self.value(attr, root, &what) {
                Some(Value::Bool(b)) => b,
                Some(_) => {
                    self.error(
                        "encryption_value",
                        format!("`enforced` in {what} must be true or false"),
                        &attr.expr.span(),
                        "write `enforced = true`".into(),
                    );
                    false
                }
                None => false,
            },
        };
        let mut fallback = None;
        let mut fallbacks = body.blocks.iter().filter(|b| b.kind == "fallback");
        if let Some(block) = fallbacks.next() {
            let fwhat = format!("the fallback of `{kind}`");
            let fargs = self.arguments(&block.body, &["method"], &fwhat);
            match fargs.get("method") {
                Some(attr) => fallback = self.method_ref(attr, root, &fwhat),
                None => self.error(
                    "missing_argument",
                    format!("{fwhat} needs a `method`"),
                    &block.kind_span,
                    "write `fallback { method = method.aes_gcm.OLD }`".into(),
                ),
            }
        }
        if let Some(extra) = fallbacks.next() {
            self.error(
                "encryption_duplicate",
                format!("the `{kind}` block has more than one fallback"),
                &extra.kind_span,
                "a target reads with its method and at most one fallback".into(),
            );
        }
        if enforced && method.is_unencrypted() {
            self.error(
                "encryption_enforced",
                format!("the `{kind}` target is enforced, but its method `method.{}` writes in clear", method.id()),
                &attr.expr.span(),
                "with `enforced = true` the method must encrypt: name an aes_gcm method (an `unencrypted` one may be the fallback while migrating)".into(),
            );
            return None;
        }
        Some(TargetSpec {
            method,
            fallback,
            enforced,
        })
    }

    /// `remote_state_data_sources { default { method = ... } }`.
    fn remote_state(&mut self, body: &Body, root: &BTreeMap<String, Value>) -> Option<TargetSpec> {
        let mut out = None;
        for attr in &body.attributes {
            self.error(
                "unknown_attribute",
                format!(
                    "unknown argument `{}` in remote_state_data_sources",
                    attr.name
                ),
                &attr.name_span,
                "it holds a `default { method = ... }` block".into(),
            );
        }
        for block in &body.blocks {
            if block.kind == "default" {
                out = self.target("remote_state_data_sources.default", &block.body, root);
            } else {
                self.error("unexpected_block", format!("unexpected block `{}` in remote_state_data_sources", block.kind), &block.kind_span, "it holds a `default { method = ... }` block (remote states named one by one are not supported)".into());
            }
        }
        out
    }
}

fn collect_exprs<'b>(body: &'b Body, out: &mut Vec<&'b Expr>) {
    for attr in &body.attributes {
        out.push(&attr.expr);
    }
    for block in &body.blocks {
        collect_exprs(&block.body, out);
    }
}

#[cfg(test)]
mod tests;
