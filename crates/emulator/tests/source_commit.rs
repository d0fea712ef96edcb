//! The explicit commit `PUT {item path}` with `@microsoft.graph.sourceUrl`: after a name clash at
//! the last fragment (the session is kept, as Graph documents) and for deferred sessions.

mod common;

use common::*;
use serde_json::{json, Value};

async fn commit(emu: &Emu, path: &str, body: Value) -> (u16, Value) {
    let r = emu.http.put(emu.graph(path)).bearer_auth(&emu.token).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_clash_at_the_last_fragment_is_recovered_by_an_explicit_commit() {
    let emu = start().await;
    let fail = json!({"item": {"@microsoft.graph.conflictBehavior": "fail"}});
    let url = emu.session("root:/docs/late.bin:", fail).await;
    let data = pattern(700_000, 3);
    assert_eq!(put(&emu.http, &url, &data[..327_680], 0, 700_000).await.status(), 202);
    let other = emu.session("root:/docs/late.bin:", json!({})).await;
    upload_all(&emu.http, &other, b"first", 5).await;
    let r = put(&emu.http, &url, &data[327_680..], 327_680, 700_000).await;
    assert_eq!(r.status(), 409);

    // Bytes missing, unknown sessions, bad bodies.
    let half = emu.session("root:/docs/half.bin:", json!({})).await;
    assert_eq!(put(&emu.http, &half, &data[..327_680], 0, 700_000).await.status(), 202);
    let (status, body) = commit(&emu, "root:/docs/half.bin", json!({"@microsoft.graph.sourceUrl": half})).await;
    assert_eq!((status, error_code(&body)), (400, ("invalidRequest", Some("uploadSessionIncomplete"))));
    let gone = format!("{}/upload/nope", emu.base);
    let (status, body) = commit(&emu, "root:/docs/x.bin", json!({"@microsoft.graph.sourceUrl": gone})).await;
    assert_eq!((status, error_code(&body)), (404, ("itemNotFound", Some("uploadSessionNotFound"))));
    assert_eq!(commit(&emu, "root:/docs/x.bin", json!({"name": "x.bin"})).await.0, 400);

    // With fail the clash stays a 409 (and the session stays); rename puts it next to the winner.
    let (status, _) = commit(&emu, "root:/docs/late.bin", json!({"@microsoft.graph.sourceUrl": url})).await;
    assert_eq!(status, 409);
    let body =
        json!({"name": "late.bin", "@microsoft.graph.conflictBehavior": "rename", "@microsoft.graph.sourceUrl": url});
    let (status, item) = commit(&emu, "root:/docs/late.bin", body).await;
    assert_eq!(status, 201, "{item}");
    assert_eq!((item["name"].as_str(), item["size"].as_u64()), (Some("late 1.bin"), Some(700_000)));
    assert_eq!(item["file"]["hashes"]["quickXorHash"], onedrive_upload_core::QuickXorHash::hash(&data));
    // Committed: the session is gone.
    assert_eq!(emu.http.get(&url).send().await.unwrap().status(), 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_deferred_session_is_committed_into_a_folder_or_over_a_file() {
    let emu = start().await;
    let url = emu.session("root:/in/d.bin:", json!({"deferCommit": true})).await;
    let r = put(&emu.http, &url, b"deferred", 0, 8).await;
    assert_eq!(r.status(), 202);
    // The path names an existing folder: the body's name names the file.
    emu.post_json("root/children", json!({"name": "dest", "folder": {}})).await;
    let body = json!({"name": "renamed.bin", "@microsoft.graph.sourceUrl": url});
    let (status, item) = commit(&emu, "root:/dest", body).await;
    assert_eq!(status, 201, "{item}");
    assert_eq!(item["name"], "renamed.bin");
    assert_eq!(item["parentReference"]["path"], "/drive/root:/dest");

    // Over an existing file with replace: 200, the same item.
    let url = emu.session("root:/in/e.bin:", json!({"deferCommit": true})).await;
    assert_eq!(put(&emu.http, &url, b"newer", 0, 5).await.status(), 202);
    let body = json!({"@microsoft.graph.conflictBehavior": "replace", "@microsoft.graph.sourceUrl": url});
    let stale = json!({"@microsoft.graph.conflictBehavior": "replace", "@microsoft.graph.sourceUrl": url});
    let r = emu
        .http
        .put(emu.graph("root:/dest/renamed.bin"))
        .bearer_auth(&emu.token)
        .header("If-Match", "\"{X},1\"")
        .json(&stale)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    let (status, replaced) = commit(&emu, "root:/dest/renamed.bin", body).await;
    assert_eq!((status, replaced["id"].clone(), replaced["size"].as_u64()), (200, item["id"].clone(), Some(5)));
    emu.shutdown().await;
}
