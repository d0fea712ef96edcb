//! driveItem and permission JSON, spelled as Graph spells them.

use crate::error::EmulatorError;
use crate::state::AppState;
use crate::store::items::{self, ItemRow};
use crate::store::tokens::LinkRow;
use onedrive_upload_core::time::format_millis;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

/// A MIME type from a file name's extension.
pub fn mime_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "md" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "js" => "text/javascript",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        _ => "application/octet-stream",
    }
}

/// The driveItem JSON of `item` (call on the blocking pool: it walks the parents).
pub fn drive_item(conn: &Connection, state: &AppState, base: &str, item: &ItemRow) -> Result<Value, EmulatorError> {
    let mut v = Map::new();
    v.insert("id".into(), json!(item.id));
    v.insert("name".into(), json!(item.name));
    v.insert("eTag".into(), json!(format!("\"{{{}}},{}\"", item.id, item.version)));
    v.insert("cTag".into(), json!(format!("\"c:{{{}}},{}\"", item.id, item.version)));
    v.insert("createdDateTime".into(), json!(format_millis(item.created_ms)));
    v.insert("lastModifiedDateTime".into(), json!(format_millis(item.modified_ms)));
    let mut parent = json!({ "driveId": state.drive_id(), "driveType": "business" });
    if let Some(parent_id) = &item.parent_id {
        parent["id"] = json!(parent_id);
        parent["path"] = json!(format!("/drive/root:{}", items::path_of(conn, parent_id)?));
    }
    v.insert("parentReference".into(), parent);
    if item.is_folder {
        let size: i64 = conn
            .prepare_cached(
                "WITH RECURSIVE t(id) AS (SELECT ?1 UNION ALL SELECT i.id FROM items i JOIN t ON i.parent_id = t.id)
                 SELECT COALESCE(SUM(items.size), 0) FROM items JOIN t ON items.id = t.id WHERE items.is_folder = 0",
            )?
            .query_row([&item.id], |r| r.get(0))?;
        v.insert("size".into(), json!(size));
        v.insert("folder".into(), json!({ "childCount": items::child_count(conn, &item.id)? }));
        if item.parent_id.is_none() {
            v.insert("root".into(), json!({}));
        }
    } else {
        v.insert("size".into(), json!(item.size));
        v.insert(
            "file".into(),
            json!({ "mimeType": mime_type(&item.name), "hashes": { "quickXorHash": item.quick_xor_hash.clone().unwrap_or_default() } }),
        );
        v.insert("@microsoft.graph.downloadUrl".into(), json!(state.download_url(base, &item.id)));
    }
    Ok(Value::Object(v))
}

/// Renders an item off the async threads.
pub async fn drive_item_async(state: &AppState, base: &str, item: ItemRow) -> Result<Value, EmulatorError> {
    let (st, base) = (state.clone(), base.to_owned());
    state.db().call(move |c| drive_item(c, &st, &base, &item)).await
}

/// A sharing-link permission.
pub fn permission(state: &AppState, base: &str, link: &LinkRow) -> Value {
    let roles = if link.link_type == "edit" { "write" } else { "read" };
    json!({
        "id": link.id,
        "roles": [roles],
        "shareId": format!("s!{}", link.token),
        "hasPassword": false,
        "link": {
            "type": link.link_type,
            "scope": link.scope,
            "webUrl": format!("{base}/share/{}", link.token),
            "preventsDownload": false,
            "application": { "id": crate::config::DEV_CLIENT_ID, "displayName": state.config().app_name },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types() {
        assert_eq!(mime_type("a.JPG"), "image/jpeg");
        assert_eq!(mime_type("a"), "application/octet-stream");
        assert_eq!(mime_type("a.tar.gz"), "application/octet-stream");
    }
}
