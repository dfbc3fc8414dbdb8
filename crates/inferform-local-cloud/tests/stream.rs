//! Streamed invocations arrive as a real stream: one server-sent event at a time, paced.

mod common;

use std::time::{Duration, Instant};

use common::{json, seeds, start, test_config, Client};
use inferform_local_cloud::Config;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Sends a streamed invocation and gives each piece of the body with when it arrived.
async fn pieces(c: &Client, url: &str, key: &str) -> (Vec<(Duration, String)>, Duration) {
    let started = Instant::now();
    let mut resp = c
        .http
        .post(format!("{url}/v1/chat/completions"))
        .header("apiKey", key)
        .json(&json!({"messages": [{"role": "user", "content": "one two three four five"}]}))
        .send()
        .await
        .expect("invoke");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.expect("a chunk") {
        out.push((
            started.elapsed(),
            String::from_utf8_lossy(&chunk).into_owned(),
        ));
    }
    (out, started.elapsed())
}

async fn running_deployment(c: &Client) -> (String, String) {
    let id = c
        .alaya(
            Method::POST,
            "/deployment/expert",
            Some(&json(seeds::ALAYA_EXPERT)),
        )
        .await
        .str("/data/serviceId")
        .to_owned();
    let got = c.wait_alaya(&id, "running").await;
    (
        got.str("/data/serviceUrl").to_owned(),
        got.str("/data/apiKey").to_owned(),
    )
}

#[tokio::test]
async fn events_are_paced_and_the_pace_is_configurable() {
    let mut config = test_config(30);
    config.timings.stream_chunk_ms = 40;
    let (cloud, c) = start(config).await;
    let (url, key) = running_deployment(&c).await;
    let (got, total) = pieces(&c, &url, &key).await;
    let text: String = got.iter().map(|(_, s)| s.as_str()).collect();
    // role + 7 words + finish + [DONE]: 10 events, 9 pauses of 40 ms.
    assert_eq!(text.matches("data: ").count(), 10, "{text}");
    assert!(total >= Duration::from_millis(9 * 40), "{total:?}");
    assert!(got.len() >= 5, "the events arrive apart: {got:?}");
    let first = got.first().map(|(t, _)| *t).unwrap_or_default();
    let last = got.last().map(|(t, _)| *t).unwrap_or_default();
    assert!(last - first >= Duration::from_millis(200), "{got:?}");

    // At run time, through /_local/timings: 0 sends everything at once.
    let r = c
        .local(
            Method::POST,
            "/_local/timings",
            Some(&json!({"all_ms": 30, "stream_chunk_ms": 0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (_, total) = pieces(&c, &url, &key).await;
    assert!(total < Duration::from_millis(300), "{total:?}");
    cloud.shutdown().await;
}

#[tokio::test]
async fn the_default_pace_is_a_few_milliseconds() {
    assert_eq!(Config::default().timings.stream_chunk_ms, 5);
    let (cloud, c) = start(test_config(30)).await;
    let (url, key) = running_deployment(&c).await;
    let (got, total) = pieces(&c, &url, &key).await;
    assert!(total >= Duration::from_millis(9 * 5), "{total:?}");
    assert!(got.len() > 1, "more than one piece: {got:?}");
    cloud.shutdown().await;
}
