//! driveItems and permissions as Graph answers them, built from the store with core's wire types.

use crate::error::EmulatorError;
use crate::state::AppState;
use crate::store::items::{self, ItemRow};
use crate::store::tokens::LinkRow;
use onedrive_upload_core::dev_client::DEV_CLIENT_ID;
use onedrive_upload_core::protocol::{
    DriveItem, FileFacet, FolderFacet, Hashes, Identity, ItemReference, Permission, SharingLink,
};
use onedrive_upload_core::time::format_millis;
use rusqlite::Connection;
use serde_json::Map;

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

/// The driveItem of `item` (call on the blocking pool: it walks the parents).
pub fn drive_item(conn: &Connection, state: &AppState, base: &str, item: &ItemRow) -> Result<DriveItem, EmulatorError> {
    let mut parent = ItemReference {
        drive_id: Some(state.drive_id().to_owned()),
        drive_type: Some("business".to_owned()),
        ..Default::default()
    };
    if let Some(parent_id) = &item.parent_id {
        parent.id = Some(parent_id.clone());
        parent.path = Some(format!("/drive/root:{}", items::path_of(conn, parent_id)?));
    }
    let mut rendered = DriveItem {
        id: Some(item.id.clone()),
        name: item.name.clone(),
        e_tag: Some(super::conditions::etag(item)),
        c_tag: Some(super::conditions::ctag(item)),
        created_date_time: Some(format_millis(item.created_ms)),
        last_modified_date_time: Some(format_millis(item.modified_ms)),
        parent_reference: Some(parent),
        ..Default::default()
    };
    if item.is_folder {
        let size: i64 = conn
            .prepare_cached(
                "WITH RECURSIVE t(id) AS (SELECT ?1 UNION ALL SELECT i.id FROM items i JOIN t ON i.parent_id = t.id)
                 SELECT COALESCE(SUM(items.size), 0) FROM items JOIN t ON items.id = t.id WHERE items.is_folder = 0",
            )?
            .query_row([&item.id], |r| r.get(0))?;
        rendered.size = u64::try_from(size).unwrap_or_default();
        rendered.folder = Some(FolderFacet { child_count: items::child_count(conn, &item.id)? });
        if item.parent_id.is_none() {
            rendered.root = Some(Map::new());
        }
    } else {
        rendered.size = item.size;
        rendered.file = Some(FileFacet {
            mime_type: Some(mime_type(&item.name).to_owned()),
            hashes: Hashes {
                quick_xor_hash: Some(item.quick_xor_hash.clone().unwrap_or_default()),
                ..Default::default()
            },
        });
        rendered.download_url = Some(state.download_url(base, &item.id));
    }
    Ok(rendered)
}

/// Renders an item off the async threads.
pub async fn drive_item_async(state: &AppState, base: &str, item: ItemRow) -> Result<DriveItem, EmulatorError> {
    let (st, base) = (state.clone(), base.to_owned());
    state.db().call(move |c| drive_item(c, &st, &base, &item)).await
}

/// A sharing-link permission.
pub fn permission(state: &AppState, base: &str, link: &LinkRow) -> Permission {
    let roles = if link.link_type == "edit" { "write" } else { "read" };
    Permission {
        id: link.id.clone(),
        roles: vec![roles.to_owned()],
        share_id: Some(format!("s!{}", link.token)),
        has_password: false,
        link: Some(SharingLink {
            link_type: link.link_type.clone(),
            scope: Some(link.scope.clone()),
            web_url: format!("{base}/share/{}", link.token),
            prevents_download: false,
            application: Some(Identity {
                id: DEV_CLIENT_ID.to_owned(),
                display_name: Some(state.config().app_name.clone()),
            }),
        }),
    }
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
