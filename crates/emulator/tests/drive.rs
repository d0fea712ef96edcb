//! Graph drive routes: sessions by parent id / root path / app folder, conflict behaviours,
//! items by id and path, folders, move/rename, delete, simple upload, hostile input.

mod common;

use common::*;
use onedrive_upload_core::QuickXorHash;
use serde_json::{json, Value};

async fn upload(emu: &Emu, target: &str, body: Value, data: &[u8]) -> Value {
    let url = emu.session(target, body).await;
    upload_all(&emu.http, &url, data, 1 << 20).await
}

#[tokio::test]
async fn session_targets_and_conflict_behaviours() {
    let emu = start().await;
    let a = upload(&emu, "special/approot:/temp/u/a.bin:", json!({}), b"one").await;
    let folder: Value = emu.get("special/approot:/temp/u").await.json().await.unwrap();
    assert_eq!(folder["folder"]["childCount"], 1);
    let by_parent = upload(&emu, &format!("items/{}:/b.bin:", folder["id"].as_str().unwrap()), json!({}), b"two").await;
    assert_eq!(by_parent["parentReference"]["id"], folder["id"]);
    let rooted = upload(&emu, "root:/Apps/onedrive-upload/temp/u/c.bin:", json!({}), b"three").await;
    assert_eq!(rooted["parentReference"]["id"], folder["id"]);

    // Omitted behaviour replaces (as the servers do): same id, new content.
    let replaced = upload(&emu, "special/approot:/temp/u/a.bin:", json!({}), b"ONE!").await;
    assert_eq!((replaced["id"].clone(), replaced["size"].clone()), (a["id"].clone(), json!(4)));
    let rename = json!({"item": {"@microsoft.graph.conflictBehavior": "rename"}});
    assert_eq!(upload(&emu, "special/approot:/temp/u/a.bin:", rename.clone(), b"r1").await["name"], "a 1.bin");
    assert_eq!(upload(&emu, "special/approot:/temp/u/a.bin:", rename, b"r2").await["name"], "a 2.bin");
    let fail = emu
        .post_json(
            "special/approot:/temp/u/a.bin:/createUploadSession",
            json!({"item": {"@microsoft.graph.conflictBehavior": "fail"}}),
        )
        .await;
    assert_eq!(fail.status(), 409);
    assert_eq!(error_code(&fail.json().await.unwrap()).0, "nameAlreadyExists");

    // fail is checked again at commit: a file that appeared meanwhile wins.
    let late = emu
        .session("special/approot:/temp/u/late.bin:", json!({"item": {"@microsoft.graph.conflictBehavior": "fail"}}))
        .await;
    upload(&emu, "special/approot:/temp/u/late.bin:", json!({}), b"first").await;
    let r = put(&emu.http, &late, b"second", 0, 6).await;
    assert_eq!(r.status(), 409);
    let winner: Value = emu.get("special/approot:/temp/u/late.bin").await.json().await.unwrap();
    assert_eq!(winner["size"], 5);
    // The session and its bytes are kept for an explicit commit (tests/source_commit.rs).
    assert_eq!(std::fs::read_dir(emu.dir.path().join("sessions")).unwrap().count(), 1);
    let status: Value = emu.http.get(&late).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["nextExpectedRanges"], json!([]));

    let quota = emu.post_json("root:/q.bin:/createUploadSession", json!({"item": {"fileSize": 1u64 << 50}})).await;
    assert_eq!(quota.status(), 507);
    emu.shutdown().await;
}

#[tokio::test]
async fn documented_default_fail_is_a_setting() {
    let emu = start_with(|c| c.default_conflict_behavior_fail = true).await;
    upload(&emu, "root:/d.bin:", json!({}), b"x").await;
    assert_eq!(emu.post_json("root:/d.bin:/createUploadSession", json!({})).await.status(), 409);
    emu.shutdown().await;
}

#[tokio::test]
async fn items_folders_move_rename_delete() {
    let emu = start().await;
    let file = upload(&emu, "special/approot:/temp/u/m.bin:", json!({}), b"move me").await;
    let id = file["id"].as_str().unwrap();
    let by_id: Value = emu.get(&format!("items/{id}")).await.json().await.unwrap();
    assert_eq!(by_id["file"]["hashes"]["quickXorHash"], QuickXorHash::hash(b"move me"));
    assert!(by_id["@microsoft.graph.downloadUrl"].as_str().unwrap().starts_with(&format!("{}/download/", emu.base)));
    assert_eq!(emu.get("special/approot:/temp/u/nope.bin").await.status(), 404);

    let app: Value = emu.get("special/approot").await.json().await.unwrap();
    let app_id = app["id"].as_str().unwrap();
    let created = emu.post_json(&format!("items/{app_id}/children"), json!({"name": "photos", "folder": {}})).await;
    assert_eq!(created.status(), 201);
    let photos: Value = created.json().await.unwrap();
    let clash = emu.post_json(&format!("items/{app_id}/children"), json!({"name": "Photos", "folder": {}})).await;
    assert_eq!(clash.status(), 409);
    let renamed = emu
        .post_json(
            &format!("items/{app_id}/children"),
            json!({"name": "photos", "folder": {}, "@microsoft.graph.conflictBehavior": "rename"}),
        )
        .await;
    assert_eq!(renamed.json::<Value>().await.unwrap()["name"], "photos 1");

    let patch =
        |body: Value| emu.http.patch(emu.graph(&format!("items/{id}"))).bearer_auth(&emu.token).json(&body).send();
    let moved = patch(json!({"parentReference": {"id": photos["id"]}, "name": "moved.bin"})).await.unwrap();
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["parentReference"]["path"], "/drive/root:/Apps/onedrive-upload/photos");
    assert_eq!(moved["name"], "moved.bin");
    upload(&emu, "special/approot:/photos/other.bin:", json!({}), b"o").await;
    assert_eq!(patch(json!({"name": "other.bin"})).await.unwrap().status(), 409);
    assert_eq!(patch(json!({"name": "bad/name"})).await.unwrap().status(), 400);
    let into_self = emu
        .http
        .patch(emu.graph(&format!("items/{}", photos["id"].as_str().unwrap())))
        .bearer_auth(&emu.token)
        .json(&json!({"parentReference": {"id": photos["id"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(into_self.status(), 400);
    let listed: Value = emu.get("special/approot:/photos:/children").await.json().await.unwrap();
    let names: Vec<&str> = listed["value"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["moved.bin", "other.bin"]);

    let del = emu.http.delete(emu.graph(&format!("items/{id}"))).bearer_auth(&emu.token).send().await.unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(emu.get(&format!("items/{id}")).await.status(), 404);
    let root: Value = emu.get("root").await.json().await.unwrap();
    let del_root = emu
        .http
        .delete(emu.graph(&format!("items/{}", root["id"].as_str().unwrap())))
        .bearer_auth(&emu.token)
        .send()
        .await
        .unwrap();
    assert_eq!(del_root.status(), 403);
    emu.shutdown().await;
}

#[tokio::test]
async fn simple_upload_of_empty_and_small_files() {
    let emu = start().await;
    let put_content =
        |path: &str, body: Vec<u8>| emu.http.put(emu.graph(path)).bearer_auth(&emu.token).body(body).send();
    let r = put_content("special/approot:/temp/u/empty.txt:/content", vec![]).await.unwrap();
    assert_eq!(r.status(), 201);
    let empty: Value = r.json().await.unwrap();
    assert_eq!(empty["size"], 0);
    assert_eq!(empty["file"]["hashes"]["quickXorHash"], "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let r = put_content("special/approot:/temp/u/empty.txt:/content", b"hello world".to_vec()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["file"]["hashes"]["quickXorHash"], "aCgDG9jwBhDc4Q1yawMZAAAAAAA=");
    let r = put_content("special/approot:/temp/u/empty.txt:/content?@microsoft.graph.conflictBehavior=fail", vec![])
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = put_content("special/approot:/temp/u/empty.txt:/content?@microsoft.graph.conflictBehavior=rename", vec![])
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "empty 1.txt");
    emu.shutdown().await;
}

#[tokio::test]
async fn hostile_names_bad_json_and_unknown_routes_are_graph_errors() {
    let emu = start().await;
    let long = "a".repeat(256);
    for name in [
        "..",
        "a%2Fb",
        "a%5Cb",
        "a%3Ab",
        "a%2Ab",
        "a%3Fb",
        "a%7Cb",
        "a%22b",
        "a%3Cb",
        "tab%09x",
        "nul%00x",
        "dot.",
        "space%20",
        &long,
        "CON",
        "~%24x.docx",
    ] {
        let r = emu.post_json(&format!("special/approot:/temp/u/{name}:/createUploadSession"), json!({})).await;
        assert!(r.status() == 400, "{name}: {}", r.status());
        let v: Value = r.json().await.unwrap();
        assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "{v}");
    }
    let app: Value = emu.get("special/approot").await.json().await.unwrap();
    let children = format!("items/{}/children", app["id"].as_str().unwrap());
    for name in ["..", "a/b", "bad\u{1}", "x.", &long] {
        assert_eq!(emu.post_json(&children, json!({"name": name, "folder": {}})).await.status(), 400, "{name:?}");
    }
    let r = emu
        .http
        .post(emu.graph(&children))
        .bearer_auth(&emu.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(&r.json().await.unwrap()).0, "invalidRequest");
    let r = emu
        .http
        .post(emu.graph("root:/x.bin:/createUploadSession"))
        .bearer_auth(&emu.token)
        .body("[1,2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    for path in ["me/drive/bogus", "me/drive/root/bogus", "me/drive/items/x/y/z", "users"] {
        let r = emu.http.get(format!("{}/v1.0/{path}", emu.base)).bearer_auth(&emu.token).send().await.unwrap();
        assert!(r.status().is_client_error(), "{path}");
        assert!(r.json::<Value>().await.unwrap()["error"]["code"].is_string(), "{path}");
    }
    let r = emu.http.get(format!("{}/nowhere", emu.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["error"]["code"].is_string());
    // Nothing half-made is visible: no folder on the way was created, no child was added.
    assert_eq!(emu.get("special/approot:/temp").await.status(), 404);
    let listed: Value = emu.get(&children).await.json().await.unwrap();
    assert_eq!(listed["value"].as_array().map(Vec::len), Some(0));
    emu.shutdown().await;
}

#[tokio::test]
async fn invisible_characters_device_stems_and_malformed_ids_are_400() {
    let emu = start().await;
    // Bidi override, LRM, isolate, zero-width space/joiner, word joiner, BOM, line and paragraph
    // separators (percent-encoded UTF-8), and a device name whose stem ends in spaces.
    for name in [
        "evil%E2%80%AEtxt.exe",
        "a%E2%80%8Eb",
        "a%E2%81%A6b",
        "zero%E2%80%8Bwidth",
        "a%E2%80%8Db",
        "a%E2%81%A0b",
        "%EF%BB%BFbom.txt",
        "a%E2%80%A8b",
        "a%E2%80%A9b",
        "con%20.txt",
    ] {
        let r = emu.post_json(&format!("special/approot:/temp/u/{name}:/createUploadSession"), json!({})).await;
        assert_eq!(r.status(), 400, "{name}");
        assert_eq!(error_code(&r.json().await.unwrap()), ("invalidRequest", Some("invalidName")), "{name}");
    }
    let app: Value = emu.get("special/approot").await.json().await.unwrap();
    let children = format!("items/{}/children", app["id"].as_str().unwrap());
    for name in ["evil\u{202E}txt.exe", "a\u{200B}b", "\u{FEFF}x", "a\u{2028}b"] {
        let r = emu.post_json(&children, json!({"name": name, "folder": {}})).await;
        assert_eq!(r.status(), 400, "{name:?}");
    }
    // Ids no drive issues: 400 invalidRequest on every item route, never a 5xx.
    let long = "A".repeat(201);
    for id in ["a~b", "a%7Eb", ".x", "-x", &long] {
        for suffix in ["", "/children", "/content", "/createLink"] {
            let r = emu.get(&format!("items/{id}{suffix}")).await;
            assert_eq!(r.status(), 400, "{id}{suffix}");
            assert_eq!(error_code(&r.json().await.unwrap()).0, "invalidRequest", "{id}{suffix}");
        }
    }
    let moved = emu
        .http
        .patch(emu.graph(&format!("items/{}", app["id"].as_str().unwrap())))
        .bearer_auth(&emu.token)
        .json(&json!({"parentReference": {"id": "a~b"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 400);
    // A well-formed id that does not exist is still 404.
    assert_eq!(emu.get(&format!("items/{}", "A".repeat(200))).await.status(), 404);
    emu.shutdown().await;
}
