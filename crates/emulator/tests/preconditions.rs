//! `If-Match` / `If-None-Match` on PATCH, DELETE and createUploadSession over loopback: 412
//! `resourceModified` (inner `entityTagDoesNotMatch`) as Graph documents, 400 for an unquoted tag.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn send(emu: &Emu, method: Method, path: &str, header: (&str, &str), body: Option<Value>) -> (u16, Value) {
    let mut request = emu.http.request(method, emu.graph(path)).bearer_auth(&emu.token).header(header.0, header.1);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn upload(emu: &Emu, path: &str, data: &[u8]) -> Value {
    let r = emu
        .http
        .put(emu.graph(&format!("{path}:/content")))
        .bearer_auth(&emu.token)
        .body(data.to_vec())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    r.json().await.unwrap()
}

fn is_412(got: &(u16, Value)) -> bool {
    got.0 == 412 && error_code(&got.1) == ("resourceModified", Some("entityTagDoesNotMatch"))
}

#[tokio::test]
async fn stale_if_match_and_matching_if_none_match_are_412() {
    let emu = start().await;
    let first = upload(&emu, "root:/c/a.txt", b"one").await;
    let stale = first["eTag"].as_str().unwrap().to_owned();
    let current = upload(&emu, "root:/c/a.txt", b"two").await;
    let etag = current["eTag"].as_str().unwrap().to_owned();
    let ctag = current["cTag"].as_str().unwrap().to_owned();
    assert_ne!(stale, etag);
    let id = current["id"].as_str().unwrap().to_owned();
    let item = format!("items/{id}");

    let rename = Some(json!({"name": "b.txt"}));
    assert!(is_412(&send(&emu, Method::PATCH, &item, ("If-Match", &stale), rename.clone()).await));
    assert!(is_412(&send(&emu, Method::PATCH, &item, ("If-None-Match", &etag), rename.clone()).await));
    assert!(is_412(&send(&emu, Method::DELETE, &item, ("If-Match", &stale), None).await));
    assert!(is_412(&send(&emu, Method::DELETE, &item, ("If-None-Match", "*"), None).await));
    let session = "root:/c/a.txt:/createUploadSession";
    assert!(is_412(&send(&emu, Method::POST, session, ("If-Match", &stale), Some(json!({}))).await));
    assert!(is_412(&send(&emu, Method::POST, session, ("If-None-Match", &ctag), Some(json!({}))).await));
    assert!(is_412(&send(&emu, Method::POST, session, ("If-None-Match", "*"), Some(json!({}))).await));
    assert!(is_412(
        &send(&emu, Method::POST, &format!("{item}/createUploadSession"), ("If-Match", &stale), Some(json!({}))).await
    ));
    // A new name: If-None-Match: * passes, If-Match fails (nothing to match).
    assert_eq!(
        send(&emu, Method::POST, "root:/c/new.txt:/createUploadSession", ("If-None-Match", "*"), Some(json!({})))
            .await
            .0,
        200
    );
    assert!(is_412(
        &send(&emu, Method::POST, "root:/c/new2.txt:/createUploadSession", ("If-Match", &etag), Some(json!({}))).await
    ));
    let (status, body) = send(&emu, Method::PATCH, &item, ("If-Match", "no-quotes"), rename.clone()).await;
    assert_eq!((status, error_code(&body)), (400, ("invalidRequest", Some("malformedEntityTag"))));

    // Nothing was changed by the refusals; the current tags pass.
    assert_eq!(send(&emu, Method::POST, session, ("If-Match", &ctag), Some(json!({}))).await.0, 200);
    let (status, renamed) = send(&emu, Method::PATCH, &item, ("If-Match", &etag), rename).await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("b.txt")));
    assert!(is_412(&send(&emu, Method::DELETE, &item, ("If-Match", &etag), None).await), "a rename changes the eTag");
    let now = renamed["eTag"].as_str().unwrap();
    assert_eq!(send(&emu, Method::DELETE, &item, ("If-Match", now), None).await.0, 204);
    emu.shutdown().await;
}
