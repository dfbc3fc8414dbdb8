//! Which keys seal the state, saved plans and remote states a command reads: the
//! configuration's `encryption` block, or `INFERFORM_ENCRYPTION` (which wins, so that CI can
//! hold the keys and the repository none), evaluated with the configuration's variables.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use inferform_lang::encryption::{eval_encryption, from_env, ENV};
use inferform_lang::Config;
use inferform_state::encryption::{CryptoError, EncryptionSpec, RecordId, Sealer};
use inferform_types::{Diagnostic, Diagnostics, Value};

/// The encryption in force for a configuration and its variable values.
pub fn evaluate(
    config: &Config,
    vars: &BTreeMap<String, Value>,
) -> (Option<EncryptionSpec>, Diagnostics) {
    match std::env::var(ENV) {
        Ok(text) if !text.trim().is_empty() => from_env(&text, config, vars),
        _ => eval_encryption(config, vars),
    }
}

/// The encryption in force for a command that does not load the configuration for itself
/// (`state`, `output`, `show`, `workspace`): the configuration in `dir` is loaded for its
/// `encryption` block, with the variables the environment and the auto-loaded files give; a
/// variable without a value is an error only if the block reads it.
pub fn for_dir(dir: &Path) -> Result<Option<EncryptionSpec>, Diagnostic> {
    let env_set = std::env::var(ENV).is_ok_and(|t| !t.trim().is_empty());
    let (config, _) = inferform_lang::load_dir(dir, &crate::inputs::display_dir(dir));
    if config.encryption.is_none() && !env_set {
        return Ok(None);
    }
    let (sources, _) = crate::inputs::var_sources(dir, &[]);
    let (vars, _) = inferform_lang::vars::resolve(&config, &sources);
    let (spec, diags) = evaluate(&config, &vars);
    let first_error = diags.iter().find(|d| d.is_error()).cloned();
    match first_error {
        Some(d) => Err(d),
        None => Ok(spec),
    }
}

/// The sealer of the state target.
pub fn state_sealer(spec: Option<&EncryptionSpec>) -> Arc<Sealer> {
    Arc::new(Sealer::new("state", spec.and_then(|s| s.state.clone())))
}

/// The sealer of saved plans.
pub fn plan_sealer(spec: Option<&EncryptionSpec>) -> Sealer {
    Sealer::new("plan", spec.and_then(|s| s.plan.clone()))
}

/// The sealer `inferform_remote_state` reads other states with: the
/// `remote_state_data_sources { default { ... } }` target, as in OpenTofu (without one, a
/// remote state must be clear).
pub fn remote_state_sealer(spec: Option<&EncryptionSpec>) -> Arc<Sealer> {
    Arc::new(Sealer::remote_state(
        spec.and_then(|s| s.remote_state.clone()),
    ))
}

/// What a saved plan is bound to: its kind alone. Its lineage and serial are inside, checked
/// by `apply`; the file may move between machines and directories.
const PLAN: RecordId<'static> = RecordId {
    kind: "plan",
    workspace: "",
    lineage: "",
    slot: "plan",
};

/// A saved plan's bytes as written: sealed under the `plan` target, with a fresh salt of its
/// own, or clear when the target does not encrypt.
pub fn seal_plan(sealer: &Sealer, text: &str) -> Result<Vec<u8>, CryptoError> {
    let seed = uuid::Uuid::new_v4();
    sealer.seal(seed.as_bytes(), &PLAN, text.as_bytes())
}

/// A saved plan's text from its bytes (`path` names it in messages).
pub fn open_plan(sealer: &Sealer, path: &Path, bytes: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let name = || path.display().to_string();
    sealer.open(&PLAN, &name, bytes).map(|u| u.plain.to_vec())
}

/// An encryption error as a diagnostic, with what to do.
pub fn crypto_diag(code: &str, e: &CryptoError) -> Diagnostic {
    Diagnostic::error(code, e.to_string()).with_help(e.help())
}
