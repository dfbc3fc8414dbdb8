//! Loading and validating a large configuration: 10,000 resources of three types with
//! references between them, variables, locals and outputs, in one file.
//!
//! ```sh
//! cargo bench -p inferform-lang --bench load
//! ```
//!
//! The goal is under 300 ms for load + validate in a release build. The configuration is
//! generated once; each iteration parses, builds the model and validates it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use inferform_lang::load_sources;
use inferform_lang::validate::{validate, Schemas};
use inferform_types::{Attribute, Block, Schema, Type};

const RESOURCES: usize = 10_000;
const ITERATIONS: usize = 10;

/// Schemas shaped like the real ones: a flat type, one with nested blocks, and the built-in.
fn schemas() -> BTreeMap<String, Schema> {
    let s = || Type::String;
    let workspace = Schema::new()
        .attr("id", Attribute::computed(s()))
        .attr("name", Attribute::required(s()))
        .attr("description", Attribute::optional(s()))
        .attr("status", Attribute::computed(s()));
    let mu = Schema::new()
        .attr("spec_code", Attribute::required(s()))
        .attr("min", Attribute::optional_computed(Type::Number))
        .attr("max", Attribute::optional_computed(Type::Number));
    let endpoint = Schema::new()
        .attr("id", Attribute::computed(s()))
        .attr("workspace_id", Attribute::required(s()).force_new())
        .attr("name", Attribute::required(s()))
        .attr("type", Attribute::required(s()).force_new())
        .attr("labels", Attribute::optional(Type::map(s())))
        .block(
            "reserved_resource",
            Block::single(Schema::new().block("mu", Block::single(mu))),
        );
    let data = Schema::new()
        .attr("id", Attribute::computed(s()))
        .attr("input", Attribute::optional(Type::Any))
        .attr("output", Attribute::computed(Type::Any))
        .attr(
            "triggers_replace",
            Attribute::optional(Type::Any).force_new(),
        );
    BTreeMap::from([
        ("fabric_workspace".to_string(), workspace),
        ("fabric_endpoint".to_string(), endpoint),
        ("inferform_data".to_string(), data),
    ])
}

/// The configuration: every third resource a workspace, then an endpoint in it, then a data
/// resource reading the endpoint; every 50th data resource has `count`.
fn generate() -> String {
    let mut out = String::with_capacity(RESOURCES * 300);
    out.push_str(
        "variable \"env\" {\n  type    = string\n  default = \"dev\"\n  validation {\n    condition     = length(var.env) > 0\n    error_message = \"env must be set.\"\n  }\n}\n\n\
         variable \"replicas\" {\n  type    = number\n  default = 2\n}\n\n\
         variable \"labels\" {\n  type    = map(string)\n  default = { team = \"inference\" }\n}\n\n\
         locals {\n  prefix = \"llm-${var.env}\"\n",
    );
    for i in (0..RESOURCES).step_by(99) {
        let _ = writeln!(out, "  ws_{i} = fabric_workspace.w{i}.id");
    }
    out.push_str("}\n\n");
    for i in 0..RESOURCES {
        let _ = match i % 3 {
            0 => write!(
                out,
                "resource \"fabric_workspace\" \"w{i}\" {{\n  name        = \"${{local.prefix}}-w{i}\"\n  description = \"workspace {i} for ${{var.env}}\"\n}}\n\n"
            ),
            1 => write!(
                out,
                "resource \"fabric_endpoint\" \"e{i}\" {{\n  workspace_id = fabric_workspace.w{w}.id\n  name         = format(\"ep-%05d\", {i})\n  type         = \"inference\"\n  labels       = var.labels\n  reserved_resource {{\n    mu {{\n      spec_code = \"mu.llama3.8b\"\n      min       = 0\n      max       = var.replicas\n    }}\n  }}\n}}\n\n",
                w = i - 1
            ),
            _ if i % 50 == 2 => write!(
                out,
                "resource \"inferform_data\" \"d{i}\" {{\n  count      = var.replicas\n  depends_on = [fabric_workspace.w{w}]\n  input      = \"${{fabric_endpoint.e{e}.id}}-${{count.index}}\"\n}}\n\n",
                w = i - 2,
                e = i - 1
            ),
            _ => write!(
                out,
                "resource \"inferform_data\" \"d{i}\" {{\n  depends_on       = [fabric_workspace.w{w}]\n  input            = {{ endpoint = fabric_endpoint.e{e}.id, n = {i}, names = [for k, v in var.labels : \"${{k}}=${{v}}\"] }}\n  triggers_replace = [local.prefix]\n  lifecycle {{\n    ignore_changes = [input]\n  }}\n  timeouts {{\n    create = \"10m\"\n  }}\n}}\n\n",
                w = i - 2,
                e = i - 1
            ),
        };
    }
    for i in (0..RESOURCES).step_by(99) {
        let _ = writeln!(
            out,
            "output \"w{i}\" {{\n  value = {{ id = local.ws_{i}, name = fabric_workspace.w{i}.name }}\n}}\n"
        );
    }
    out
}

fn main() {
    let text = generate();
    let resources = schemas();
    let data_sources = BTreeMap::new();
    let providers: BTreeSet<String> = ["fabric", "inferform"].map(String::from).into();
    let schemas = Schemas {
        resources: &resources,
        data_sources: &data_sources,
        providers: &providers,
    };
    let mut load_times = Vec::new();
    let mut total_times = Vec::new();
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        let (config, diags) = load_sources(vec![("main.hcl".to_string(), text.clone())]);
        let loaded = start.elapsed();
        let checked = validate(&config, &schemas);
        let total = start.elapsed();
        assert!(
            !diags.has_errors() && !checked.has_errors(),
            "the generated configuration is invalid: {:?}",
            diags
                .iter()
                .chain(checked.iter())
                .next()
                .map(|d| &d.message)
        );
        assert!(config.resources.len() == RESOURCES);
        load_times.push(loaded);
        total_times.push(total);
        std::hint::black_box(config);
    }
    let stats = |mut v: Vec<Duration>| {
        v.sort();
        (v[0], v[v.len() / 2])
    };
    let (load_min, load_median) = stats(load_times);
    let (min, median) = stats(total_times);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "load + validate, {RESOURCES} resources ({} KiB of HCL), {ITERATIONS} runs:",
        text.len() / 1024
    );
    println!(
        "  load:            min {:7.1} ms, median {:7.1} ms",
        ms(load_min),
        ms(load_median)
    );
    println!(
        "  load + validate: min {:7.1} ms, median {:7.1} ms   (goal: under 300 ms)",
        ms(min),
        ms(median)
    );
}
