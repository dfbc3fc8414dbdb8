//! Capacity and cost through the real binary: `plan --prices`, `INFERFORM_PRICES`, `show` of a
//! saved plan as text, Markdown and JSON, and bad price files.

mod support;

use support::Work;

const PRICES: &str = r#"currency = "CNY"

mu_per_hour = {
  "mu.llama3.8b" = 12.5
}

gpu_per_hour = {
  "nvidia.com/gpu-l40s" = 9.8
}
"#;

#[test]
fn a_plan_shows_capacity_and_cost_in_all_three_places() {
    let work = Work::quickstart();
    work.write("prices.hcl.txt", PRICES);
    let out = work.run(&[
        "plan",
        "--local-cloud",
        "--prices",
        "prices.hcl.txt",
        "--out",
        "p.plan",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    // The quickstart reserves 0..1 MU of mu.llama3.8b and, per replica, one head and one
    // worker of one L40S each, 0..3 replicas: 6 GPUs at max scale.
    assert!(
        out.stdout
            .contains("Fabric MU mu.llama3.8b         0             0 → 1 (+1)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Alaya GPU nvidia.com/gpu-l40s  0             0 → 6 (+6)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("+71.30/h"), "{}", out.stdout);
    assert!(out.stdout.contains("+52049.00/month"), "{}", out.stdout);
    let plan_line = out.stdout.find("Plan: 5 to add").expect("the Plan line");
    assert!(plan_line < out.stdout.find("Capacity reserved").expect("capacity"));

    // Without prices: capacity, and no cost.
    let plain = work.run(&["show", "p.plan"]);
    assert_eq!(plain.code, 0, "{plain:?}");
    assert!(
        plain.stdout.contains("Capacity reserved"),
        "{}",
        plain.stdout
    );
    assert!(!plain.stdout.contains("Cost change"), "{}", plain.stdout);

    // INFERFORM_PRICES, for show --markdown and --json.
    let prices = work.path().join("prices.hcl.txt");
    let md = work
        .command(&["show", "--markdown", "p.plan"])
        .env("INFERFORM_PRICES", &prices)
        .output()
        .expect("run");
    let md = String::from_utf8_lossy(&md.stdout);
    let summary = md.find("**Plan:**").expect("summary");
    let capacity = md.find("**Capacity reserved**").expect("capacity");
    let cost = md.find("**Cost change** (CNY)").expect("cost");
    let details = md.find("### Resource changes").expect("details");
    assert!(
        summary < capacity && capacity < cost && cost < details,
        "{md}"
    );
    let json = work
        .command(&["show", "--json", "p.plan"])
        .env("INFERFORM_PRICES", &prices)
        .output()
        .expect("run");
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let cap = &doc["inferform_capacity"];
    assert_eq!(cap["cost"]["currency"], "CNY");
    assert_eq!(cap["cost"]["per_hour"]["max"], serde_json::json!(71.3));
    assert_eq!(cap["cost"]["complete"], true);
    let gpu = cap["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["resource"] == "alaya_gpu")
        .expect("a GPU row");
    assert_eq!(gpu["after"]["max"], 6);
}

#[test]
fn a_bad_price_file_is_refused_with_its_file_and_line() {
    let work = Work::quickstart();
    work.write(
        "prices.hcl.txt",
        "currency = \"CNY\"\nmu_per_hour = {\n  \"mu.llama3.8b\" = \"cheap\"\n}\n",
    );
    let out = work.run(&["plan", "--local-cloud", "--prices", "prices.hcl.txt"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("inferform::prices::invalid"), "{out:?}");
    assert!(out.stderr.contains("prices.hcl.txt:3:"), "{out:?}");
    assert!(out.stderr.contains("must be a number"), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");

    let missing = work.run(&["plan", "--local-cloud", "--prices", "nope.hcl"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing.stderr.contains("inferform::prices::read"),
        "{missing:?}"
    );
    assert!(missing.stderr.contains("nope.hcl"), "{missing:?}");
}

#[test]
fn an_unknown_spec_has_no_price_and_the_total_says_so() {
    let work = Work::quickstart();
    work.write(
        "prices.hcl.txt",
        "currency = \"EUR\"\nmu_per_hour = {\n  \"mu.other\" = 1\n}\n",
    );
    let out = work.run(&["plan", "--local-cloud", "--prices", "prices.hcl.txt"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("Fabric MU mu.llama3.8b         no price      no price"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("the totals leave out the changes marked \"no price\""),
        "{}",
        out.stdout
    );
}
