//! Spelling and parsing tests of Graph's wire types in `protocol.rs`.

use super::*;

#[test]
fn upload_session_parses_graph_answers() {
    let s: UploadSession = serde_json::from_str(
        r#"{"uploadUrl":"https://x/y?z","expirationDateTime":"2015-01-29T09:21:55.5230000Z","nextExpectedRanges":["0-"],"extra":1}"#,
    )
    .unwrap();
    assert_eq!(s.upload_url.as_deref(), Some("https://x/y?z"));
    assert_eq!(s.next_expected_ranges, vec!["0-"]);
    let status: UploadSession =
        serde_json::from_str(r#"{"expirationDateTime":"2015-01-29T09:21:55Z","nextExpectedRanges":["26-127","200-"]}"#)
            .unwrap();
    assert_eq!(status.upload_url, None);
    assert_eq!(status.next_expected_ranges.len(), 2);
    let empty: UploadSession = serde_json::from_str("{}").unwrap();
    assert!(empty.next_expected_ranges.is_empty());
}

#[test]
fn create_request_spelling() {
    let r = CreateUploadSessionRequest {
        item: Some(UploadSessionItem {
            conflict_behavior: Some(ConflictBehavior::Rename),
            name: Some("a.bin".into()),
            file_size: Some(5),
        }),
        defer_commit: false,
    };
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"item":{"@microsoft.graph.conflictBehavior":"rename","name":"a.bin","fileSize":5}}"#
    );
    let back: CreateUploadSessionRequest =
        serde_json::from_str(r#"{"item":{"@microsoft.graph.conflictBehavior":"fail"},"deferCommit":true}"#).unwrap();
    assert!(back.defer_commit);
    assert_eq!(back.item.unwrap().conflict_behavior, Some(ConflictBehavior::Fail));
    assert!(serde_json::from_str::<CreateUploadSessionRequest>(
        r#"{"item":{"@microsoft.graph.conflictBehavior":"bogus"}}"#
    )
    .is_err());
}

#[test]
fn drive_item_keeps_unknown_fields() {
    let body = r#"{"id":"01ABC","name":"a.bin","size":12,"file":{"mimeType":"application/octet-stream","hashes":{"quickXorHash":"AAAA","sha256Hash":"ff"}},
        "parentReference":{"driveId":"d","id":"p","path":"/drive/root:/Apps/x"},"@microsoft.graph.downloadUrl":"https://dl","cTag":"c","shared":{"scope":"x"}}"#;
    let item: DriveItem = serde_json::from_str(body).unwrap();
    assert_eq!(item.id.as_deref(), Some("01ABC"));
    assert_eq!(item.quick_xor_hash(), Some("AAAA"));
    assert_eq!(item.download_url.as_deref(), Some("https://dl"));
    assert_eq!(item.c_tag.as_deref(), Some("c"));
    assert_eq!(item.extra["shared"]["scope"], "x");
    assert_eq!(item.file.as_ref().unwrap().hashes.extra["sha256Hash"], "ff");
    let again: DriveItem = serde_json::from_str(&serde_json::to_string(&item).unwrap()).unwrap();
    assert_eq!(again, item);
    let no_id: DriveItem = serde_json::from_str(r#"{"name":"x","size":1}"#).unwrap();
    assert_eq!(no_id.id, None);
}

#[test]
fn graph_error_both_spellings_nested() {
    let a = GraphError::parse(r#"{"error":{"code":"invalidRange","message":"m","innerError":{"code":"fragmentOverlap","innerError":{"code":"deeper"}}}}"#).unwrap();
    assert_eq!(a.codes(), vec!["invalidRange", "fragmentOverlap", "deeper"]);
    let b = GraphError::parse(
        r#"{"error":{"code":"itemNotFound","message":"m","innererror":{"code":"x","request-id":"r","date":"d"}}}"#,
    )
    .unwrap();
    assert_eq!(b.codes(), vec!["itemNotFound", "x"]);
    assert_eq!(b.error.inner_error.unwrap().request_id.as_deref(), Some("r"));
    assert!(GraphError::parse("not json").is_none());
    assert!(GraphError::parse(r#"{"nope":1}"#).is_none());
    let made = GraphError::new("invalidRequest", "bad", Some("fragmentLengthMismatch"));
    assert_eq!(
        serde_json::to_string(&made).unwrap(),
        r#"{"error":{"code":"invalidRequest","message":"bad","innerError":{"code":"fragmentLengthMismatch"}}}"#
    );
}

#[test]
fn server_error_shape() {
    assert_eq!(
        serde_json::to_string(&ServerError::new("unauthenticated", "no token")).unwrap(),
        r#"{"error":{"code":"unauthenticated","message":"no token"}}"#
    );
}

#[test]
fn permission_and_collection_spelling() {
    let body = r#"{"id":"p1","roles":["read"],"shareId":"s!t","hasPassword":false,
        "link":{"type":"view","scope":"anonymous","webUrl":"https://1drv.ms/u/s!t","preventsDownload":false,
        "application":{"id":"app","displayName":"App"}}}"#;
    let p: Permission = serde_json::from_str(body).unwrap();
    let link = p.link.as_ref().unwrap();
    assert_eq!((link.link_type.as_str(), link.web_url.as_str()), ("view", "https://1drv.ms/u/s!t"));
    assert_eq!(link.application.as_ref().unwrap().display_name.as_deref(), Some("App"));
    let again: Permission = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(again, p);
    let request = CreateLinkRequest { link_type: "view".into(), scope: Some("anonymous".into()) };
    assert_eq!(serde_json::to_string(&request).unwrap(), r#"{"type":"view","scope":"anonymous"}"#);
    let list: Collection<DriveItem> = serde_json::from_str(r#"{"value":[{"name":"a","size":1,"root":{}}]}"#).unwrap();
    assert_eq!(list.value[0].root, Some(Map::new()));
    let session = UploadSession { odata_context: Some("ctx".into()), ..Default::default() };
    assert_eq!(serde_json::to_string(&session).unwrap(), r#"{"@odata.context":"ctx","nextExpectedRanges":[]}"#);
}
