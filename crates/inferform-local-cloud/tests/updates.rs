//! Updates: workspace PUT, endpoint and instance PUT (asynchronous), model versions, paging.

mod common;

use common::{start, test_config, Client};
use reqwest::{Method, StatusCode};
use serde_json::json;

const WS: &str = "/v1/workspaces";

struct Setup {
    ws: String,
    ep: String,
    model: String,
    inst: String,
}

async fn setup(c: &Client) -> Setup {
    let ws = c
        .fabric(Method::POST, WS, &[], Some(&json!({"name": "u"})))
        .await
        .str("/id")
        .to_owned();
    let ep = c
        .fabric(
            Method::POST,
            &format!("{WS}/{ws}/endpoints"),
            &[],
            Some(&json!({"name": "e", "type": "inference",
            "reserved_resource": {"mu": {"spec_code": "mu.s", "min": 0, "max": 4}}})),
        )
        .await
        .str("/id")
        .to_owned();
    let model = c
        .fabric(Method::POST, &format!("{WS}/{ws}/models"), &[], Some(&json!({"name": "m", "type": "LLM_MODEL",
            "version": {"name": "v1", "config": {"llm_model_config": {"base_model_type": "llama3-8b", "model_path": "obs://a"}}}})))
        .await
        .str("/id")
        .to_owned();
    let inst = c
        .fabric(Method::POST, &format!("{WS}/{ws}/services/instances"), &[], Some(&json!({"name": "i", "endpoint_id": ep,
            "source": {"id": model}, "config": {"model_instance_config": {"resource": {"spec_code": "mu.s", "min": 1, "max": 2}}}})))
        .await
        .str("/id")
        .to_owned();
    c.wait_fabric(&format!("{WS}/{ws}/endpoints/{ep}"), "RUNNING")
        .await;
    c.wait_fabric(&format!("{WS}/{ws}/services/instances/{inst}"), "RUNNING")
        .await;
    Setup {
        ws,
        ep,
        model,
        inst,
    }
}

#[tokio::test]
async fn workspace_and_endpoint_updates() {
    let (cloud, c) = start(test_config(100)).await;
    let s = setup(&c).await;

    let r = c
        .fabric(
            Method::PUT,
            &format!("{WS}/{}", s.ws),
            &[],
            Some(&json!({"name": "u2", "description": "d2"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.str("/name"), "u2");
    let r = c
        .fabric(
            Method::PUT,
            &format!("{WS}/{}", s.ws),
            &[],
            Some(&json!({"enterprise_project_id": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let ep_path = format!("{WS}/{}/endpoints/{}", s.ws, s.ep);
    // The endpoint's max may not fall under an instance's max.
    let r = c
        .fabric(
            Method::PUT,
            &ep_path,
            &[],
            Some(&json!({"reserved_resource": {"mu": {"spec_code": "mu.s", "min": 0, "max": 1}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = c.fabric(Method::PUT, &ep_path, &[], Some(&json!({"description": "new", "reserved_resource": {"mu": {"spec_code": "mu.s", "min": 0, "max": 8}}}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.str("/status"), "UPDATING");
    // A second update while one is under way is refused.
    let again = c
        .fabric(
            Method::PUT,
            &ep_path,
            &[],
            Some(&json!({"description": "newer"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.str("/error_code"), "dataartsfabric.00040003");
    let done = c.wait_fabric(&ep_path, "RUNNING").await;
    assert_eq!(done.str("/description"), "new");
    assert_eq!(done.body["reserved_resource"]["mu"]["max"], 8);
    let r = c
        .fabric(Method::PUT, &ep_path, &[], Some(&json!({"type": "ray"})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // The endpoint cannot go while an instance uses it.
    let r = c.fabric(Method::DELETE, &ep_path, &[], None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.str("/error_code"), "dataartsfabric.00040009");
    cloud.shutdown().await;
}

#[tokio::test]
async fn instance_updates_and_model_versions() {
    let (cloud, c) = start(test_config(100)).await;
    let s = setup(&c).await;
    let inst_path = format!("{WS}/{}/services/instances/{}", s.ws, s.inst);

    let r = c
        .fabric(Method::PUT, &inst_path, &[], Some(&json!({"max": 5})))
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "over the endpoint's max: {}",
        r.text
    );
    let r = c
        .fabric(Method::PUT, &inst_path, &[], Some(&json!({"max": 0})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "under min: {}", r.text);
    let r = c
        .fabric(
            Method::PUT,
            &inst_path,
            &[],
            Some(&json!({"endpoint_id": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .fabric(
            Method::PUT,
            &inst_path,
            &[],
            Some(&json!({"name": "i2", "description": "d",
            "config": {"model_instance_config": {"resource": {"max": 3}}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.str("/status"), "UPDATING");
    let done = c.wait_fabric(&inst_path, "RUNNING").await;
    assert_eq!(done.str("/name"), "i2");
    assert_eq!(
        done.body["config"]["model_instance_config"]["resource"]["max"],
        3
    );
    assert_eq!(
        done.body["config"]["model_instance_config"]["resource"]["min"],
        1
    );

    // A model PUT with a version adds one, asynchronously.
    let models = format!("{WS}/{}/models", s.ws);
    let before = c
        .fabric(Method::GET, &models, &[("id", &s.model)], None)
        .await;
    let v1 = before.str("/models/0/version_id").to_owned();
    let r = c
        .fabric(Method::PUT, &format!("{models}/{}", s.model), &[], Some(&json!({"description": "two",
            "version": {"name": "v2", "config": {"llm_model_config": {"base_model_type": "llama3-8b", "model_path": "obs://b"}}}})))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let v2 = r.str("/version_id").to_owned();
    assert_ne!(v1, v2);
    let during = c
        .fabric(Method::GET, &models, &[("id", &s.model)], None)
        .await;
    assert_eq!(during.str("/models/0/status"), "UPDATING");
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let after = c
        .fabric(Method::GET, &models, &[("id", &s.model)], None)
        .await;
    assert_eq!(after.str("/models/0/status"), "RUNNING");
    assert_eq!(after.str("/models/0/version_id"), v2);
    assert_eq!(
        after.str("/models/0/version/config/llm_model_config/model_path"),
        "obs://b"
    );
    assert_eq!(after.str("/models/0/description"), "two");
    let versions = c
        .fabric(
            Method::GET,
            &format!("{models}/{}/versions", s.model),
            &[],
            None,
        )
        .await;
    assert_eq!(versions.body["total"], 2);
    assert_eq!(versions.str("/versions/0/id"), v1);
    assert_eq!(versions.str("/versions/1/id"), v2);
    assert_eq!(versions.str("/versions/1/status"), "RUNNING");
    cloud.shutdown().await;
}

#[tokio::test]
async fn lists_page_with_offset_and_limit() {
    let (cloud, c) = start(test_config(50)).await;
    for i in 0..12 {
        let r = c
            .fabric(
                Method::POST,
                WS,
                &[],
                Some(&json!({"name": format!("w{i:02}")})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let first = c.fabric(Method::GET, WS, &[], None).await;
    assert_eq!(first.body["total"], 12);
    assert_eq!(
        first.body["workspaces"].as_array().map(Vec::len),
        Some(10),
        "limit defaults to 10"
    );
    let rest = c
        .fabric(Method::GET, WS, &[("offset", "10"), ("limit", "5")], None)
        .await;
    assert_eq!(rest.body["workspaces"].as_array().map(Vec::len), Some(2));
    let mut seen: Vec<String> = Vec::new();
    for off in (0..12).step_by(4) {
        let off = off.to_string();
        let p = c
            .fabric(Method::GET, WS, &[("offset", &off), ("limit", "4")], None)
            .await;
        for w in p.body["workspaces"].as_array().into_iter().flatten() {
            seen.push(w["name"].as_str().unwrap_or("").to_owned());
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 12, "pages neither skip nor repeat");

    for i in 0..3 {
        let mut body = common::json(common::seeds::ALAYA_EXPERT);
        body["name"] = json!(format!("d{i}"));
        c.alaya(Method::POST, "/deployment/expert", Some(&body))
            .await;
    }
    let p = c
        .alaya(Method::GET, "/deployment/list?page=2&size=2", None)
        .await;
    assert_eq!(p.body["data"]["count"], 3);
    assert_eq!(p.body["data"]["rows"].as_array().map(Vec::len), Some(1));
    let bad = c.alaya(Method::GET, "/deployment/list?page=0", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    cloud.shutdown().await;
}

#[tokio::test]
async fn sending_fixed_fields_back_unchanged_is_fine() {
    let (cloud, c) = start(test_config(50)).await;
    let s = setup(&c).await;
    let ep_path = format!("{WS}/{}/endpoints/{}", s.ws, s.ep);
    let r = c
        .fabric(
            Method::PUT,
            &ep_path,
            &[],
            Some(&json!({"type": "inference", "description": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let inst_path = format!("{WS}/{}/services/instances/{}", s.ws, s.inst);
    let same = json!({"endpoint_id": s.ep, "source": {"id": s.model}, "name": "i",
        "config": {"model_instance_config": {"resource": {"spec_code": "mu.s", "min": 1, "max": 2}}}});
    let r = c.fabric(Method::PUT, &inst_path, &[], Some(&same)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    c.wait_fabric(&inst_path, "RUNNING").await;
    let moved = json!({"config": {"model_instance_config": {"resource": {"min": 2, "max": 2}}}});
    let r = c.fabric(Method::PUT, &inst_path, &[], Some(&moved)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.str("/error_msg").contains("min cannot be changed"),
        "{}",
        r.text
    );
    let r = c
        .fabric(
            Method::PUT,
            &format!("{WS}/{}", s.ws),
            &[],
            Some(&json!({"enterprise_project_id": "0"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the default enterprise project, unchanged: {}",
        r.text
    );
    cloud.shutdown().await;
}
