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
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

/// What Graph percent-encodes in a path segment of `parentReference.path` and `webUrl`
/// (`/drive/root:/Documents/my%20file.docx`): controls, space, `"#%<>?\^`{|}` and non-ASCII.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A drive path (`/a/b c`) with each segment percent-encoded as Graph writes it (`/a/b%20c`).
pub fn encode_path(path: &str) -> String {
    path.split('/').map(|segment| utf8_percent_encode(segment, SEGMENT).to_string()).collect::<Vec<_>>().join("/")
}

/// The properties a `$select` query option asks for (`None`: no `$select`, everything).
pub fn select_of(query: &str) -> Option<Vec<String>> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "$select" || k == "select")
        .map(|(_, v)| v.split(',').map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).collect())
}

/// Keeps only the selected top-level properties of a rendered item (names compared without
/// case, as Graph does; `@odata.*` annotations stay).
pub fn apply_select(item: &mut Value, select: &[String]) {
    if let Value::Object(map) = item {
        map.retain(|k, _| k.starts_with("@odata.") || select.iter().any(|f| f.eq_ignore_ascii_case(k)));
    }
}

/// The emulator's one user, as `createdBy` / `lastModifiedBy` name it (with the app that wrote).
fn identity_set(state: &AppState) -> Value {
    json!({
        "application": { "id": DEV_CLIENT_ID, "displayName": state.config().app_name },
        "user": { "id": EMULATOR_USER_ID, "displayName": "Emulator User" },
    })
}

/// The id of the emulator's one user.
pub const EMULATOR_USER_ID: &str = "0a0e0a0e-0000-4000-8000-00000000e1a7";

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
    let mut full_path = String::new();
    if let Some(parent_id) = &item.parent_id {
        let parent_path = items::path_of(conn, parent_id)?;
        parent.id = Some(parent_id.clone());
        parent.path = Some(format!("/drive/root:{}", encode_path(&parent_path)));
        full_path = format!("{parent_path}/{}", item.name);
    }
    let mut rendered = DriveItem {
        id: Some(item.id.clone()),
        name: item.name.clone(),
        e_tag: Some(super::conditions::etag(item)),
        c_tag: Some(super::conditions::ctag(item)),
        created_date_time: Some(format_millis(item.created_ms)),
        last_modified_date_time: Some(format_millis(item.modified_ms)),
        parent_reference: Some(parent),
        web_url: Some(format!("{base}/drive/root:{}", encode_path(&full_path))),
        ..Default::default()
    };
    let times = json!({
        "createdDateTime": format_millis(item.fs.created_ms.unwrap_or(item.created_ms)),
        "lastModifiedDateTime": format_millis(item.fs.modified_ms.unwrap_or(item.modified_ms)),
    });
    rendered.extra.insert("createdBy".to_owned(), identity_set(state));
    rendered.extra.insert("lastModifiedBy".to_owned(), identity_set(state));
    rendered.extra.insert("fileSystemInfo".to_owned(), times);
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
    fn paths_are_encoded_segment_by_segment() {
        assert_eq!(encode_path("/Documents/my file.docx"), "/Documents/my%20file.docx");
        assert_eq!(encode_path("/a#b/100%/é"), "/a%23b/100%25/%C3%A9");
        assert_eq!(encode_path("/keep-these_(1)+,;=@&$!'~.x"), "/keep-these_(1)+,;=@&$!'~.x");
        assert_eq!(encode_path(""), "");
    }

    #[test]
    fn select_keeps_the_named_properties() {
        assert_eq!(select_of("a=1"), None);
        let fields = select_of("%24select=id,NAME,%20size&x=1").unwrap();
        let mut item = json!({"id": "1", "name": "n", "size": 3, "file": {}, "@odata.context": "c"});
        apply_select(&mut item, &fields);
        assert_eq!(item, json!({"id": "1", "name": "n", "size": 3, "@odata.context": "c"}));
    }

    #[test]
    fn mime_types() {
        assert_eq!(mime_type("a.JPG"), "image/jpeg");
        assert_eq!(mime_type("a"), "application/octet-stream");
        assert_eq!(mime_type("a.tar.gz"), "application/octet-stream");
    }
}
