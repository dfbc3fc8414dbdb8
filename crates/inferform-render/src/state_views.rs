//! What the state commands show: an instance as a resource block (`state show`, `show`), the
//! state's history as a table or JSON lines, and the document `state pull` writes.

use std::collections::BTreeMap;

use inferform_engine::diff::marked;
use inferform_state::{HistoryEntry, ResourceState, State};
use inferform_types::{ResourceInstanceAddr, Schema, Value};
use serde_json::Value as Json;

use crate::format_value;

/// One instance as `state show` prints it: a resource block with every attribute; sensitive
/// ones as `(sensitive value)`.
pub fn resource_block(r: &ResourceState, schema: Option<&Schema>) -> String {
    let addr: Option<ResourceInstanceAddr> = r.addr.parse().ok();
    let name = addr
        .as_ref()
        .map(|a| a.resource.name.clone())
        .unwrap_or_default();
    let value = marked(r.value(), schema);
    let mut out = format!(
        "# {}:{}\nresource \"{}\" \"{}\" {{\n",
        r.addr,
        if r.tainted { " (tainted)" } else { "" },
        r.type_name,
        name
    );
    if let Value::Object(map) = &value {
        let width = map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, _)| k.len())
            .max()
            .unwrap_or(0);
        for (k, v) in map {
            if v.is_null() {
                continue;
            }
            out.push_str(&format!("    {k:width$} = {}\n", format_value(v, 4)));
        }
    }
    out.push_str("}\n");
    out
}

/// `state history --json`: one JSON object per entry, one per line.
pub fn history_json_lines(entries: &[HistoryEntry]) -> String {
    entries
        .iter()
        .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
        .collect()
}

/// `state history`: a table of serial, time, who, command, resources and plan fingerprint.
pub fn history_table(entries: &[HistoryEntry]) -> String {
    if entries.is_empty() {
        return "No changes have been recorded in this workspace's history.\n".into();
    }
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                e.serial.to_string(),
                e.at.clone(),
                e.who.clone(),
                e.command.clone(),
                e.resources.to_string(),
                e.fingerprint.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let head = [
        "SERIAL",
        "WHEN",
        "WHO",
        "COMMAND",
        "RESOURCES",
        "PLAN FINGERPRINT",
    ];
    let mut width = head.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:w$}  ", w = width[i]));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(head);
    for row in &rows {
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    out
}

/// `state pull`: the state as a document of format `version`, without create intents and
/// without a secret (values sensitive by schema or by the configuration, sensitive outputs).
pub fn state_document(state: &State, schemas: &BTreeMap<String, Schema>, version: u64) -> Json {
    let mut doc = state.clone();
    doc.intents.clear();
    for r in doc.resources.values_mut() {
        let schema = schemas.get(&r.type_name);
        r.attributes = marked(r.value(), schema).to_json_redacted();
        // Deposed objects too: an old object holds the same secrets.
        for d in r.deposed.values_mut() {
            d.attributes = marked(d.value(), schema).to_json_redacted();
        }
    }
    for o in doc.outputs.values_mut() {
        if o.sensitive {
            o.value = Json::Null;
        }
    }
    let mut json = serde_json::to_value(&doc).unwrap_or_default();
    if let Json::Object(m) = &mut json {
        m.insert("version".into(), version.into());
        m.remove("intents");
    }
    json
}
