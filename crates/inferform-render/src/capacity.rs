//! The inference capacity a plan reserves, before → after, and what it costs when prices are
//! given.
//!
//! A reviewer's first question about an inference change is "how many GPUs (or model units)
//! does this add or remove, and what will it cost". The plan knows every reservation's fields,
//! so this module sums them:
//!
//! - DataArts Fabric: each `fabric_endpoint` reserves `reserved_resource.mu.{min,max}` model
//!   units of its `spec_code` (service instances draw on their endpoint's reservation, so they
//!   add nothing).
//! - Alaya NeW: each `alaya_expert_deployment` runs, per replica, one head pod and `workers`
//!   worker pods (`worker_config.workers`, else `worker_config.resource.workers`, else one when
//!   the block is there), each with its `resource.gpu.count` GPUs of `gpu_type`, `cpu` cores and
//!   `mem` GiB; at min scale `scale.min` replicas, at max scale `scale.max`.
//!
//! "Before" sums the prior state of every instance the plan knows, "after" its planned values.
//! An object the plan only removes from state (`Action::Forget`) keeps running in its cloud,
//! so it counts on both sides: forgetting changes neither capacity nor cost.
//! A value known only after apply is counted as zero and the instance is listed, so a sum is
//! never silently wrong. Prices ([`Prices`]) are the user's own: none is built in or guessed.

use std::collections::{BTreeMap, BTreeSet};

use inferform_engine::{Action, Plan};
use inferform_types::{Number, ResourceMode, Value};
use serde_json::{json, Value as Json};

/// Hours in a month, as cloud price lists count them (365 × 24 / 12).
pub const HOURS_PER_MONTH: i64 = 730;

/// A quantity at min scale and at max scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: Number,
    pub max: Number,
}

impl Range {
    fn zero() -> Range {
        Range {
            min: Number::from(0i64),
            max: Number::from(0i64),
        }
    }

    fn add(&mut self, min: Number, max: Number) {
        self.min = self.min + min;
        self.max = self.max + max;
    }
}

/// What a row counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    /// Fabric model units of one `spec_code`.
    FabricMu,
    /// Alaya GPUs of one `gpu_type`.
    AlayaGpu,
    /// Alaya CPU cores.
    AlayaCpu,
    /// Alaya memory, in GiB.
    AlayaMemory,
}

impl Resource {
    /// The stable name in `show --json`.
    pub fn key(self) -> &'static str {
        match self {
            Resource::FabricMu => "fabric_mu",
            Resource::AlayaGpu => "alaya_gpu",
            Resource::AlayaCpu => "alaya_cpu",
            Resource::AlayaMemory => "alaya_memory_gib",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Resource::FabricMu => "Fabric MU",
            Resource::AlayaGpu => "Alaya GPU",
            Resource::AlayaCpu => "Alaya CPU",
            Resource::AlayaMemory => "Alaya memory (GiB)",
        }
    }

    /// Whether a price file prices it (by its spec code or GPU type).
    fn priced(self) -> bool {
        matches!(self, Resource::FabricMu | Resource::AlayaGpu)
    }
}

/// One line of the summary: a resource (and its spec code or GPU type), before and after.
#[derive(Clone, Debug, PartialEq)]
pub struct CapacityRow {
    pub resource: Resource,
    /// The `spec_code` or `gpu_type`; empty for CPU and memory.
    pub spec: String,
    pub before: Range,
    pub after: Range,
}

impl CapacityRow {
    pub fn delta(&self) -> Range {
        Range {
            min: self.after.min - self.before.min,
            max: self.after.max - self.before.max,
        }
    }
}

/// The capacity a plan reserves, before and after it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capacity {
    pub rows: Vec<CapacityRow>,
    /// Instances with a reservation known only after apply, counted as far as known.
    pub unknown: Vec<String>,
}

/// Prices per hour, in one currency, by `spec_code` and by `gpu_type`: the user's own, from a
/// price file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prices {
    pub currency: String,
    /// Price of one model unit an hour, by spec code.
    pub mu: BTreeMap<String, Number>,
    /// Price of one GPU an hour, by GPU type.
    pub gpu: BTreeMap<String, Number>,
}

impl Prices {
    fn of(&self, row: &CapacityRow) -> Option<Number> {
        match row.resource {
            Resource::FabricMu => self.mu.get(&row.spec).copied(),
            Resource::AlayaGpu => self.gpu.get(&row.spec).copied(),
            _ => None,
        }
    }
}

/// Sums per resource and spec, for one side of the plan.
#[derive(Default)]
struct Sums {
    by: BTreeMap<(Resource, String), Range>,
}

impl Sums {
    fn add(&mut self, resource: Resource, spec: &str, min: Number, max: Number) {
        self.by
            .entry((resource, spec.to_string()))
            .or_insert_with(Range::zero)
            .add(min, max);
    }
}

/// A number at `path`, `None` when absent or null; `Err(())` when unknown until apply.
fn number_at(v: &Value, path: &[&str]) -> Result<Option<Number>, ()> {
    match at(v, path) {
        Some(Value::Number(n)) => Ok(Some(*n)),
        Some(Value::Unknown) => Err(()),
        _ => Ok(None),
    }
}

fn string_at(v: &Value, path: &[&str]) -> Result<Option<String>, ()> {
    match at(v, path) {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Unknown) => Err(()),
        _ => Ok(None),
    }
}

/// The value at `path`; an unknown object makes everything under it unknown.
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = match cur {
            Value::Sensitive(inner) => inner.as_ref(),
            other => other,
        };
        cur = match cur {
            Value::Object(m) => m.get(*key)?,
            // A single block held as a one-element list.
            Value::List(items) if items.len() == 1 => match &items[0] {
                Value::Object(m) => m.get(*key)?,
                _ => return None,
            },
            Value::Unknown => return Some(cur),
            _ => return None,
        };
    }
    match cur {
        Value::Sensitive(inner) => Some(inner.as_ref()),
        other => Some(other),
    }
}

/// Adds one instance's reservation; `Err(())` when part of it is unknown until apply (what is
/// known is still added).
fn add_instance(type_name: &str, v: &Value, sums: &mut Sums) -> Result<(), ()> {
    let zero = Number::from(0i64);
    let unknown = std::cell::Cell::new(false);
    let note = |r: Result<Option<Number>, ()>| -> Number {
        match r {
            Ok(n) => n.unwrap_or(zero),
            Err(()) => {
                unknown.set(true);
                zero
            }
        }
    };
    match type_name {
        "fabric_endpoint" => {
            let mu = ["reserved_resource", "mu"];
            let spec = string_at(v, &[mu[0], mu[1], "spec_code"]);
            let min = note(number_at(v, &[mu[0], mu[1], "min"]));
            let max = note(number_at(v, &[mu[0], mu[1], "max"]));
            match spec {
                Ok(Some(spec)) => sums.add(Resource::FabricMu, &spec, min, max),
                Ok(None) => {}
                Err(()) => unknown.set(true),
            }
        }
        "alaya_expert_deployment" => {
            let replicas_min = note(number_at(v, &["scale", "min"]));
            let replicas_max = note(number_at(v, &["scale", "max"]));
            let head = ["head_config", "resource"];
            let worker = ["worker_config", "resource"];
            let has_workers = matches!(at(v, &["worker_config"]), Some(w) if !w.is_null());
            let workers = if has_workers {
                match note(number_at(v, &["worker_config", "workers"])) {
                    n if n != zero => n,
                    _ => match note(number_at(v, &["worker_config", "resource", "workers"])) {
                        n if n != zero => n,
                        _ => Number::from(1i64),
                    },
                }
            } else {
                zero
            };
            let mut per_replica =
                |resource: Resource, spec: &str, head_n: Number, worker_n: Number| {
                    let one = head_n + workers * worker_n;
                    sums.add(resource, spec, one * replicas_min, one * replicas_max);
                };
            let head_cpu = note(number_at(v, &[head[0], head[1], "cpu"]));
            let worker_cpu = note(number_at(v, &[worker[0], worker[1], "cpu"]));
            per_replica(Resource::AlayaCpu, "", head_cpu, worker_cpu);
            let head_mem = note(number_at(v, &[head[0], head[1], "mem"]));
            let worker_mem = note(number_at(v, &[worker[0], worker[1], "mem"]));
            per_replica(Resource::AlayaMemory, "", head_mem, worker_mem);
            // GPUs, by type: the head's and the workers' may differ.
            let mut gpus: BTreeMap<String, (Number, Number)> = BTreeMap::new();
            for (pod, is_head) in [(head, true), (worker, false)] {
                let count = note(number_at(v, &[pod[0], pod[1], "gpu", "count"]));
                if count == zero {
                    continue;
                }
                let ty = match string_at(v, &[pod[0], pod[1], "gpu", "gpu_type"]) {
                    Ok(Some(t)) => t,
                    Ok(None) => "(no gpu_type)".to_string(),
                    Err(()) => {
                        unknown.set(true);
                        "(known after apply)".to_string()
                    }
                };
                let entry = gpus.entry(ty).or_insert((zero, zero));
                if is_head {
                    entry.0 = entry.0 + count;
                } else {
                    entry.1 = entry.1 + count;
                }
            }
            for (ty, (h, w)) in gpus {
                per_replica(Resource::AlayaGpu, &ty, h, w);
            }
        }
        _ => {}
    }
    if unknown.get() {
        Err(())
    } else {
        Ok(())
    }
}

/// The capacity `plan` reserves before and after it, or `None` when no change touches a
/// reservation (nothing to say).
pub fn plan_capacity(plan: &Plan) -> Option<Capacity> {
    let counted = |t: &str| t == "fabric_endpoint" || t == "alaya_expert_deployment";
    let touches = plan.changes.iter().any(|c| {
        c.addr.resource.mode == ResourceMode::Managed
            && counted(&c.addr.resource.type_name)
            && !matches!(c.action, Action::NoOp | Action::Read | Action::Forget)
    });
    if !touches {
        return None;
    }
    let mut before = Sums::default();
    let mut after = Sums::default();
    let mut unknown = BTreeSet::new();
    for c in &plan.changes {
        if c.addr.resource.mode != ResourceMode::Managed || !counted(&c.addr.resource.type_name) {
            continue;
        }
        let ty = &c.addr.resource.type_name;
        if let Some(b) = &c.before {
            if add_instance(ty, b, &mut before).is_err() {
                unknown.insert(c.addr.to_string());
            }
        }
        let after_value = match c.action {
            Action::Forget => c.before.as_ref(),
            _ => c.after.as_ref(),
        };
        if let Some(a) = after_value {
            if add_instance(ty, a, &mut after).is_err() {
                unknown.insert(c.addr.to_string());
            }
        }
    }
    let keys: BTreeSet<(Resource, String)> =
        before.by.keys().chain(after.by.keys()).cloned().collect();
    let rows = keys
        .into_iter()
        .map(|key| CapacityRow {
            before: before.by.get(&key).copied().unwrap_or_else(Range::zero),
            after: after.by.get(&key).copied().unwrap_or_else(Range::zero),
            resource: key.0,
            spec: key.1,
        })
        // CPU and memory rows of deployments that ask for none say nothing.
        .filter(|r| r.resource.priced() || r.before != Range::zero() || r.after != Range::zero())
        .collect();
    Some(Capacity {
        rows,
        unknown: unknown.into_iter().collect(),
    })
}

fn signed(n: Number) -> String {
    if n.is_negative() {
        format!("{n}")
    } else {
        format!("+{n}")
    }
}

/// `0 → 4 (+4)`, or `4` when unchanged.
fn before_after(before: Number, after: Number) -> String {
    if before == after {
        format!("{after}")
    } else {
        format!("{before} → {after} ({})", signed(after - before))
    }
}

/// A price rounded to cents for showing (the JSON keeps every digit).
fn money(n: Number) -> String {
    let cents = (n.to_f64() * 100.0).round() / 100.0;
    let text = format!("{:.2}", cents.abs());
    if cents < 0.0 {
        format!("-{text}")
    } else {
        format!("+{text}")
    }
}

/// One row's cost line, or `None` for rows prices do not apply to.
struct CostRow {
    label: String,
    /// Per hour at min and max scale; `None` when the spec has no price.
    per_hour: Option<Range>,
    /// The capacity changes but has no price: totals leave it out and must say so.
    unpriced_change: bool,
}

fn cost_rows(cap: &Capacity, prices: &Prices) -> Vec<CostRow> {
    cap.rows
        .iter()
        .filter(|r| r.resource.priced())
        .map(|r| {
            let d = r.delta();
            let price = prices.of(r);
            CostRow {
                label: format!("{} {}", r.resource.label(), r.spec),
                per_hour: price.map(|p| Range {
                    min: d.min * p,
                    max: d.max * p,
                }),
                unpriced_change: price.is_none() && d != Range::zero(),
            }
        })
        .collect()
}

fn total(rows: &[CostRow]) -> Range {
    let mut t = Range::zero();
    for r in rows {
        if let Some(p) = r.per_hour {
            t.add(p.min, p.max);
        }
    }
    t
}

/// Whether the totals leave out a change that has no price.
fn partial(rows: &[CostRow]) -> bool {
    rows.iter().any(|r| r.unpriced_change)
}

/// What a partial total says about itself.
const PARTIAL_NOTE: &str =
    "the totals leave out the changes marked \"no price\": add their prices to the file";

fn month(n: Number) -> Number {
    n * Number::from(HOURS_PER_MONTH)
}

/// The terminal's capacity section (and cost, with prices), after the `Plan:` line.
pub fn render_capacity(cap: &Capacity, prices: Option<&Prices>) -> String {
    let mut lines: Vec<[String; 3]> =
        vec![[String::new(), "at min scale".into(), "at max scale".into()]];
    for r in &cap.rows {
        lines.push([
            format!("{} {}", r.resource.label(), r.spec)
                .trim()
                .to_string(),
            before_after(r.before.min, r.after.min),
            before_after(r.before.max, r.after.max),
        ]);
    }
    let mut out = String::from("\nCapacity reserved, before → after:\n");
    out.push_str(&table(&lines));
    for a in &cap.unknown {
        out.push_str(&format!(
            "  ({a}: part of its reservation is known only after apply, counted as 0)\n"
        ));
    }
    if let Some(prices) = prices {
        let rows = cost_rows(cap, prices);
        let mut lines: Vec<[String; 3]> = vec![[
            format!("Cost change ({})", prices.currency),
            "at min scale".into(),
            "at max scale".into(),
        ]];
        for r in &rows {
            lines.push(match r.per_hour {
                Some(p) => [
                    r.label.clone(),
                    format!("{}/h", money(p.min)),
                    format!("{}/h", money(p.max)),
                ],
                None => [r.label.clone(), "no price".into(), "no price".into()],
            });
        }
        let t = total(&rows);
        lines.push([
            "Total per hour".into(),
            format!("{}/h", money(t.min)),
            format!("{}/h", money(t.max)),
        ]);
        lines.push([
            format!("Total per month ({HOURS_PER_MONTH} h)"),
            format!("{}/month", money(month(t.min))),
            format!("{}/month", money(month(t.max))),
        ]);
        out.push('\n');
        out.push_str(&table(&lines));
        if partial(&rows) {
            out.push_str(&format!("  ({PARTIAL_NOTE})\n"));
        }
    }
    out
}

/// Left-aligned columns, two spaces apart, indented by two.
fn table(lines: &[[String; 3]]) -> String {
    let width = |i: usize| {
        lines
            .iter()
            .map(|l| l[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1) = (width(0), width(1));
    let mut out = String::new();
    for l in lines {
        let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w - s.chars().count()));
        out.push_str(format!("  {}  {}  {}", pad(&l[0], w0), pad(&l[1], w1), l[2]).trim_end());
        out.push('\n');
    }
    out
}

/// The pull-request report's capacity section (and cost, with prices): Markdown tables.
pub fn markdown_capacity(cap: &Capacity, prices: Option<&Prices>) -> String {
    let mut out = String::from(
        "**Capacity reserved**, before → after:\n\n| | at min scale | at max scale |\n|---|---:|---:|\n",
    );
    for r in &cap.rows {
        let label = if r.spec.is_empty() {
            r.resource.label().to_string()
        } else {
            format!("{} `{}`", r.resource.label(), r.spec.replace('`', "'"))
        };
        out.push_str(&format!(
            "| {label} | {} | {} |\n",
            before_after(r.before.min, r.after.min),
            before_after(r.before.max, r.after.max)
        ));
    }
    if !cap.unknown.is_empty() {
        out.push_str(&format!(
            "\nKnown only after apply, counted as 0: {}.\n",
            cap.unknown
                .iter()
                .map(|a| format!("`{}`", a.replace('`', "'")))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(prices) = prices {
        let rows = cost_rows(cap, prices);
        out.push_str(&format!(
            "\n**Cost change** ({}), from the price file:\n\n| | at min scale | at max scale |\n|---|---:|---:|\n",
            prices.currency
        ));
        for r in &rows {
            match r.per_hour {
                Some(p) => out.push_str(&format!(
                    "| {} | {}/h | {}/h |\n",
                    r.label,
                    money(p.min),
                    money(p.max)
                )),
                None => out.push_str(&format!("| {} | no price | no price |\n", r.label)),
            }
        }
        let t = total(&rows);
        out.push_str(&format!(
            "| **per hour** | **{}** | **{}** |\n| **per month** ({HOURS_PER_MONTH} h) | **{}** | **{}** |\n",
            money(t.min),
            money(t.max),
            money(month(t.min)),
            money(month(t.max))
        ));
        if partial(&rows) {
            out.push_str(&format!(
                "\n> [!WARNING]\n> Not the whole cost: {PARTIAL_NOTE}.\n"
            ));
        }
    }
    out.push('\n');
    out
}

fn num(n: Number) -> Json {
    inferform_types::value::number_to_json(n)
}

fn range(r: Range) -> Json {
    json!({"min": num(r.min), "max": num(r.max)})
}

/// `show --json`'s `inferform_capacity`, described in `schemas/plan.schema.json`.
pub fn capacity_json(cap: &Capacity, prices: Option<&Prices>) -> Json {
    let rows: Vec<Json> = cap
        .rows
        .iter()
        .map(|r| {
            let mut row = serde_json::Map::new();
            row.insert("resource".into(), json!(r.resource.key()));
            if !r.spec.is_empty() {
                row.insert("spec".into(), json!(r.spec));
            }
            row.insert("before".into(), range(r.before));
            row.insert("after".into(), range(r.after));
            row.insert("delta".into(), range(r.delta()));
            Json::Object(row)
        })
        .collect();
    let mut doc = json!({"rows": rows, "unknown": cap.unknown});
    if let Some(prices) = prices {
        let rows = cost_rows(cap, prices);
        let priced: Vec<Json> = cap
            .rows
            .iter()
            .filter(|r| r.resource.priced())
            .zip(&rows)
            .map(|(r, c)| {
                json!({
                    "resource": r.resource.key(),
                    "spec": r.spec,
                    "per_hour": c.per_hour.map(range),
                    "per_month": c.per_hour.map(|p| range(Range { min: month(p.min), max: month(p.max) })),
                })
            })
            .collect();
        let t = total(&rows);
        doc["cost"] = json!({
            "currency": prices.currency,
            "hours_per_month": HOURS_PER_MONTH,
            "complete": !partial(&rows),
            "rows": priced,
            "per_hour": range(t),
            "per_month": range(Range { min: month(t.min), max: month(t.max) }),
        });
    }
    doc
}
