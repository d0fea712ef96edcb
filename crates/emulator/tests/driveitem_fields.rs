//! driveItem fields as Graph renders them: `parentReference.path` and `webUrl` percent-encoded,
//! `createdBy`, `lastModifiedBy`, `fileSystemInfo` (from createUploadSession's `item`), and
//! `$select`; the `item`'s conflict behaviour honoured.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn paths_identities_file_system_info_and_select() {
    let emu = start().await;
    let fs = json!({"createdDateTime": "2020-01-02T03:04:05Z", "lastModifiedDateTime": "2021-06-07T08:09:10.5Z"});
    let body = json!({"item": {"@microsoft.graph.conflictBehavior": "rename", "name": "my file #1.docx", "fileSystemInfo": fs}});
    let url = emu.session("root:/My%20Documents/a%23b/my%20file%20%231.docx:", body.clone()).await;
    let item = upload_all(&emu.http, &url, b"hello", 5).await;
    assert_eq!(item["parentReference"]["path"], "/drive/root:/My%20Documents/a%23b");
    assert!(
        item["webUrl"].as_str().unwrap().ends_with("/drive/root:/My%20Documents/a%23b/my%20file%20%231.docx"),
        "{item}"
    );
    assert_eq!(item["fileSystemInfo"]["createdDateTime"], "2020-01-02T03:04:05.000Z");
    assert_eq!(item["fileSystemInfo"]["lastModifiedDateTime"], "2021-06-07T08:09:10.500Z");
    assert_ne!(item["createdDateTime"], item["fileSystemInfo"]["createdDateTime"]);
    for who in ["createdBy", "lastModifiedBy"] {
        assert_eq!(item[who]["user"]["displayName"], "Emulator User", "{who}");
        assert_eq!(item[who]["application"]["displayName"], "onedrive-upload", "{who}");
    }
    // The parentReference.path a client gets back works as a path again.
    let again: Value = emu
        .get(&format!("root:{}", &item["parentReference"]["path"].as_str().unwrap()["/drive/root:".len()..]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["name"], "a#b");

    // The item's conflict behaviour: rename.
    let url = emu.session("root:/My%20Documents/a%23b/my%20file%20%231.docx:", body).await;
    let renamed = upload_all(&emu.http, &url, b"again", 5).await;
    assert_eq!(renamed["name"], "my file #1 1.docx");
    // Without fileSystemInfo it is the server's times.
    let plain = upload_all(&emu.http, &emu.session("root:/plain.txt:", json!({})).await, b"x", 1).await;
    assert_eq!(plain["fileSystemInfo"]["createdDateTime"], plain["createdDateTime"]);
    let bad = json!({"item": {"fileSystemInfo": {"createdDateTime": "yesterday"}}});
    assert_eq!(emu.post_json("root:/bad.txt:/createUploadSession", bad).await.status(), 400);

    // $select on an item and on children.
    let id = item["id"].as_str().unwrap();
    let r: Value = emu.get(&format!("items/{id}?$select=id,name,FileSystemInfo")).await.json().await.unwrap();
    let keys: Vec<_> = r.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 3, "{r}");
    assert_eq!((r["id"].as_str(), r["name"].as_str()), (Some(id), Some("my file #1.docx")));
    assert!(r["fileSystemInfo"].is_object());
    let r: Value = emu.get("root:/My%20Documents/a%23b:/children?%24select=name").await.json().await.unwrap();
    assert_eq!(r["value"], json!([{"name": "my file #1 1.docx"}, {"name": "my file #1.docx"}]));
    emu.shutdown().await;
}
