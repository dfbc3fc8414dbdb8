//! `inferform state list|show|mv|rm|pull|push`.

use std::collections::BTreeMap;
use std::path::Path;

use inferform_state::{ResourceState, State};
use inferform_types::{Diagnostic, ResourceInstanceAddr, Schema};

use crate::ui::Ui;
use crate::workspace::{self, LockedState};
use crate::{LockFlags, StateCommand};

/// Resource type → schema.
type Schemas = BTreeMap<String, Schema>;

fn open(
    dir: &Path,
    lock: &LockFlags,
    operation: &str,
    ui: &Ui,
) -> Result<(LockedState, State), u8> {
    workspace::read_state(dir, lock, operation, ui).map_err(|d| {
        ui.diagnostics([&d]);
        1u8
    })
}

/// The state as it was at `serial`, when one is asked for.
fn at_serial(l: &LockedState, state: State, serial: Option<u64>, ui: &Ui) -> Result<State, u8> {
    let Some(n) = serial else {
        return Ok(state);
    };
    match l.store.state_at(n) {
        Ok(Some(old)) => Ok(old),
        Ok(None) => Err(error(
            ui,
            "inferform::state::no_serial",
            format!(
                "the history of workspace \"{}\" has no state at serial {n}",
                l.workspace
            ),
            "run `inferform state history` to see the serials that can be read back",
        )),
        Err(e) => {
            ui.diagnostics([&crate::backend::state_diag("inferform::state::history", &e)]);
            Err(1)
        }
    }
}

/// `state push --serial N`: the state as history recorded it at N, exactly (sensitive values
/// and all, which a pulled file lacks), with the create intents of now kept, since they name
/// objects an interrupted run may have made since.
fn roll_back(l: &LockedState, now: &State, serial: u64, ui: &Ui) -> u8 {
    let Ok(mut old) = at_serial(l, now.clone(), Some(serial), ui) else {
        return 1;
    };
    if old.lineage != now.lineage {
        return error(
            ui,
            "inferform::state::lineage",
            format!("the state at serial {serial} has another lineage ({}) than the state now ({})", old.lineage, now.lineage),
            "history belongs to one lineage: pull that state and push it with --force if you mean it",
        );
    }
    old.intents.extend(now.intents.clone());
    if let Err(e) = l.store.replace(&old) {
        return error(
            ui,
            "inferform::state::write",
            format!("cannot write the state: {e}"),
            "the state is unchanged",
        );
    }
    l.record(&format!("state push --serial {serial}"), None, ui);
    ui.line(&format!(
        "Rolled the state back to serial {serial}: {} resource instance(s). Run `inferform plan` to see how the cloud differs from it.",
        old.resources.len()
    ));
    0
}

/// The format `state pull` writes; `state push` reads it and the one before. 2: records may
/// hold deposed objects, which an inferform that reads only 1 would drop.
const DOCUMENT_VERSION: u64 = 2;

/// Checks a document for `state push` before anything is written: its format version is the one
/// this inferform writes, and every record sits at a resource instance address that parses and
/// names itself (an address that does not parse can never be planned, moved or removed again).
fn check_pushed(text: &str, state: &State) -> Result<(), String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    match doc.get("version") {
        Some(v)
            if v.as_u64()
                .is_some_and(|v| (1..=DOCUMENT_VERSION).contains(&v)) => {}
        Some(v) => {
            return Err(format!(
            "its format version is {}, and this inferform reads versions 1 to {DOCUMENT_VERSION}",
            bounded(&v.to_string())
        ))
        }
        None => {
            return Err(format!(
                "it has no \"version\" (a state document says \"version\": {DOCUMENT_VERSION})"
            ))
        }
    }
    let records = state
        .resources
        .iter()
        .map(|(k, r)| (k, &r.addr, &r.type_name))
        .chain(
            state
                .intents
                .iter()
                .map(|(k, i)| (k, &i.addr, &i.type_name)),
        );
    for (key, addr, type_name) in records {
        let parsed = key.parse::<ResourceInstanceAddr>().map_err(|e| {
            format!(
                "{} is not a resource instance address ({})",
                bounded(&format!("{key:?}")),
                e.reason
            )
        })?;
        if addr != key {
            return Err(format!(
                "the record at {} says its address is {}",
                bounded(key),
                bounded(&format!("{addr:?}"))
            ));
        }
        if &parsed.resource.type_name != type_name {
            return Err(format!(
                "the record at {} has the type {}",
                bounded(key),
                bounded(&format!("{type_name:?}"))
            ));
        }
    }
    Ok(())
}

/// At most 200 characters of a value quoted from a pushed file.
fn bounded(text: &str) -> String {
    if text.chars().count() <= 200 {
        return text.to_string();
    }
    let kept: String = text.chars().take(200).collect();
    format!("{kept}…")
}

fn error(ui: &Ui, code: &str, message: String, help: &str) -> u8 {
    ui.diagnostics([&Diagnostic::error(code, message).with_help(help)]);
    1
}

pub fn run(dir: &Path, cmd: &StateCommand, ui: &Ui) -> u8 {
    let schemas = workspace::schemas(&workspace::factories());
    match cmd {
        StateCommand::List { addrs, lock } => list(dir, addrs, lock, ui),
        StateCommand::Show { addr, serial, lock } => show(dir, addr, *serial, lock, &schemas, ui),
        StateCommand::Mv { from, to, lock } => mv(dir, from, to, lock, ui),
        StateCommand::Rm { addrs, lock } => rm(dir, addrs, lock, ui),
        StateCommand::Pull { serial, lock } => pull(dir, *serial, lock, &schemas, ui),
        StateCommand::History { json, lock } => history(dir, *json, lock, ui),
        StateCommand::Push {
            file,
            serial,
            force,
            lock,
        } => push(dir, file.as_deref(), *serial, *force, lock, ui),
    }
}

/// `state list [ADDR...]`: the addresses in state, or those under the ones given.
fn list(dir: &Path, addrs: &[String], lock: &LockFlags, ui: &Ui) -> u8 {
    let Ok((_l, state)) = open(dir, lock, "OperationTypeStateList", ui) else {
        return 1;
    };
    for addr in state.resources.keys() {
        if addrs.is_empty()
            || addrs.iter().any(|a| {
                addr == a
                    || addr.starts_with(&format!("{a}["))
                    || addr.starts_with(&format!("{a}."))
            })
        {
            ui.line(addr);
        }
    }
    0
}

/// `state show ADDR [--serial N]`: one instance as a resource block.
fn show(
    dir: &Path,
    addr: &str,
    serial: Option<u64>,
    lock: &LockFlags,
    schemas: &Schemas,
    ui: &Ui,
) -> u8 {
    let Ok((l, state)) = open(dir, lock, "OperationTypeStateShow", ui) else {
        return 1;
    };
    let Ok(state) = at_serial(&l, state, serial, ui) else {
        return 1;
    };
    match state.resources.get(addr) {
        Some(r) => {
            ui.out(&inferform_render::resource_block(
                r,
                schemas.get(&r.type_name),
            ));
            0
        }
        None => error(
            ui,
            "inferform::state::no_instance",
            format!("no instance {addr} in state"),
            "run `inferform state list` to see the addresses",
        ),
    }
}

/// `state mv FROM TO`: the object recorded at FROM is recorded at TO instead.
fn mv(dir: &Path, from: &str, to: &str, lock: &LockFlags, ui: &Ui) -> u8 {
    let Ok((l, state)) = open(dir, lock, "OperationTypeStateMv", ui) else {
        return 1;
    };
    let (Ok(f), Ok(t)) = (
        from.parse::<ResourceInstanceAddr>(),
        to.parse::<ResourceInstanceAddr>(),
    ) else {
        return error(
            ui,
            "inferform::state::address",
            format!("`{from}` and `{to}` must be resource instance addresses"),
            "write TYPE.NAME, TYPE.NAME[0] or TYPE.NAME[\"key\"]",
        );
    };
    if f.resource.type_name != t.resource.type_name {
        return error(
            ui,
            "inferform::state::mv_type",
            format!("cannot move {from} to {to}: the resource type differs"),
            "a move keeps the resource type",
        );
    }
    let Some(r) = state.resources.get(from) else {
        return error(
            ui,
            "inferform::state::no_instance",
            format!("no instance {from} in state"),
            "run `inferform state list` to see the addresses",
        );
    };
    if state.resources.contains_key(to) {
        return error(
            ui,
            "inferform::state::exists",
            format!("{to} is already in state"),
            "remove it first with `inferform state rm`, or choose another address",
        );
    }
    let moved = ResourceState {
        addr: to.to_string(),
        ..r.clone()
    };
    if let Err(e) = l
        .store
        .put_resource(&moved)
        .and_then(|_| l.store.remove_resource(from))
    {
        return error(
            ui,
            "inferform::state::write",
            format!("cannot write the state: {e}"),
            "the state is unchanged or holds both addresses; check with `inferform state list`",
        );
    }
    l.record("state mv", None, ui);
    ui.line(&format!(
        "Move \"{from}\" to \"{to}\"\nSuccessfully moved 1 object(s)."
    ));
    0
}

/// `state rm ADDR...`: forgets instances; their objects stay in the cloud.
fn rm(dir: &Path, addrs: &[String], lock: &LockFlags, ui: &Ui) -> u8 {
    let Ok((l, state)) = open(dir, lock, "OperationTypeStateRm", ui) else {
        return 1;
    };
    let mut removed = 0;
    for a in addrs {
        let matching: Vec<&String> = state
            .resources
            .keys()
            .filter(|k| *k == a || k.starts_with(&format!("{a}[")))
            .collect();
        if matching.is_empty() {
            return error(
                ui,
                "inferform::state::no_instance",
                format!("no instance {a} in state"),
                "run `inferform state list` to see the addresses",
            );
        }
        for k in matching {
            if let Err(e) = l.store.remove_resource(k) {
                return error(
                    ui,
                    "inferform::state::write",
                    format!("cannot write the state: {e}"),
                    "nothing after this address was removed",
                );
            }
            ui.line(&format!("Removed {k}"));
            removed += 1;
        }
    }
    l.record("state rm", None, ui);
    ui.line(&format!(
        "Successfully removed {removed} resource instance(s)."
    ));
    0
}

/// `state pull [--serial N]`: the state as a document, without its secrets.
fn pull(dir: &Path, serial: Option<u64>, lock: &LockFlags, schemas: &Schemas, ui: &Ui) -> u8 {
    let Ok((l, state)) = open(dir, lock, "OperationTypeStatePull", ui) else {
        return 1;
    };
    let Ok(state) = at_serial(&l, state, serial, ui) else {
        return 1;
    };
    let json = inferform_render::state_document(&state, schemas, DOCUMENT_VERSION);
    ui.line(&serde_json::to_string_pretty(&json).unwrap_or_default());
    0
}

/// `state history [--json]`: every recorded change to the state.
fn history(dir: &Path, json: bool, lock: &LockFlags, ui: &Ui) -> u8 {
    let Ok((l, _)) = open(dir, lock, "OperationTypeStateHistory", ui) else {
        return 1;
    };
    match l.store.history() {
        Ok(entries) => {
            ui.out(&if json {
                inferform_render::history_json_lines(&entries)
            } else {
                inferform_render::history_table(&entries)
            });
            0
        }
        Err(e) => {
            ui.diagnostics([&crate::backend::state_diag("inferform::state::history", &e)]);
            1
        }
    }
}

/// `state push FILE` replaces the state with a pulled (and edited) document; `state push --serial N` rolls back to an earlier one.
fn push(
    dir: &Path,
    file: Option<&Path>,
    serial: Option<u64>,
    force: bool,
    lock: &LockFlags,
    ui: &Ui,
) -> u8 {
    let Ok((l, state)) = open(dir, lock, "OperationTypeStatePush", ui) else {
        return 1;
    };
    let Some(file) = file else {
        return roll_back(&l, &state, serial.unwrap_or_default(), ui);
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            return error(
                ui,
                "inferform::state::push",
                format!("cannot read {}: {e}", file.display()),
                "pass a file written by `inferform state pull`",
            )
        }
    };
    let new: State = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            return error(
                ui,
                "inferform::state::push",
                format!("{} is not a state document: {e}", file.display()),
                "pass a file written by `inferform state pull`",
            )
        }
    };
    if let Err(problem) = check_pushed(&text, &new) {
        return error(
            ui,
            "inferform::state::push",
            format!("cannot push {}: {problem}", file.display()),
            "nothing was changed; pass a file written by `inferform state pull`, edited only where you mean to",
        );
    }
    if !force
        && !state.lineage.is_empty()
        && new.lineage != state.lineage
        && !state.resources.is_empty()
    {
        return error(
            ui,
            "inferform::state::lineage",
            format!(
                "cannot push: the file's lineage {} differs from the state's {}",
                new.lineage, state.lineage
            ),
            "these are different histories; pass --force to replace the state anyway",
        );
    }
    if !force && new.serial < state.serial && new.lineage == state.lineage {
        return error(
            ui,
            "inferform::state::serial",
            format!(
                "cannot push: the file's serial {} is older than the state's {}",
                new.serial, state.serial
            ),
            "pull the state again, or pass --force to overwrite newer state",
        );
    }
    if let Err(e) = l.store.replace(&new) {
        return error(
            ui,
            "inferform::state::write",
            format!("cannot write the state: {e}"),
            "the old state is kept",
        );
    }
    l.record("state push", None, ui);
    ui.line(&format!(
        "Pushed {} resource instance(s) from {}.",
        new.resources.len(),
        file.display()
    ));
    0
}
