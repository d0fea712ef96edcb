//! `request-id` on every answer (Graph, upload URL, download, identity platform, preflight),
//! `client-request-id` echoed, and the same ids in error bodies.

mod common;

use common::*;
use serde_json::{json, Value};

fn ids(r: &reqwest::Response) -> (String, String) {
    let get = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (get("request-id"), get("client-request-id"))
}

#[tokio::test]
async fn every_answer_has_a_request_id_and_echoes_the_clients() {
    let emu = start().await;
    let r = emu
        .http
        .get(emu.graph("root"))
        .bearer_auth(&emu.token)
        .header("client-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    let (rid, crid) = ids(&r);
    assert_eq!((rid.len(), crid.as_str()), (36, "abc-123"));
    // Without one, client-request-id is our request-id; each answer has its own.
    let r = emu.http.get(emu.graph("root")).bearer_auth(&emu.token).send().await.unwrap();
    let (rid2, crid2) = ids(&r);
    assert_eq!(rid2, crid2);
    assert_ne!(rid, rid2);

    // Error bodies carry the same ids.
    let r = emu
        .http
        .get(emu.graph("root:/nothing-here"))
        .bearer_auth(&emu.token)
        .header("client-request-id", "mine")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (rid, _) = ids(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["innerError"]["request-id"], rid.as_str());
    assert_eq!(body["error"]["innerError"]["client-request-id"], "mine");
    let r = emu.http.get(emu.graph("root")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(ids(&r).0.len(), 36);

    // Upload URL, download URL, token endpoint, CORS preflight.
    let url = emu.session("root:/r.bin:", json!({})).await;
    let r = put(&emu.http, &url, b"abc", 0, 3).await;
    assert_eq!(r.status(), 201);
    assert_eq!(ids(&r).0.len(), 36);
    let item: Value = r.json().await.unwrap();
    let r = emu
        .http
        .get(item["@microsoft.graph.downloadUrl"].as_str().unwrap())
        .header("client-request-id", "dl")
        .send()
        .await
        .unwrap();
    assert_eq!(ids(&r).1, "dl");
    let r = emu
        .http
        .post(format!("{}/common/oauth2/v2.0/token", emu.base))
        .form(&[("grant_type", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(ids(&r).0.len(), 36);
    let r = emu
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://site.example")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(ids(&r).0.len(), 36);
    emu.shutdown().await;
}
