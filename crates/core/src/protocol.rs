//! Microsoft Graph wire types used by the project, spelled exactly as Graph spells them.
//! Unknown fields are ignored, and kept in `extra` where a caller may need them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Answer of createUploadSession, and of `GET {uploadUrl}` / a 202 to a PUT (no `uploadUrl` there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UploadSession {
    /// Graph's metadata URL (createUploadSession answers carry it).
    #[serde(rename = "@odata.context", default, skip_serializing_if = "Option::is_none")]
    pub odata_context: Option<String>,
    /// The pre-authenticated URL to PUT fragments to (absent in status answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
    /// When the session expires, RFC 3339 with 0-7 fractional digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date_time: Option<String>,
    /// Ranges the server still needs (`"a-"`, `"a-b"`); empty when complete.
    #[serde(default)]
    pub next_expected_ranges: Vec<String>,
}

/// The `item` of a createUploadSession request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct UploadSessionItem {
    /// `fail`, `replace` or `rename`.
    #[serde(rename = "@microsoft.graph.conflictBehavior", default, skip_serializing_if = "Option::is_none")]
    pub conflict_behavior: Option<ConflictBehavior>,
    /// File name (informational; the path in the URL names the item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Expected size, checked against the quota.
    #[serde(rename = "fileSize", default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// Body of `POST .../createUploadSession`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateUploadSessionRequest {
    /// Item properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<UploadSessionItem>,
    /// When true the last PUT does not commit; a `POST {uploadUrl}` does.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub defer_commit: bool,
}

/// What happens when the target name already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConflictBehavior {
    /// 409 `nameAlreadyExists`.
    Fail,
    /// Overwrite the existing file.
    Replace,
    /// Pick `name 1.ext`, `name 2.ext`, ...
    Rename,
}

/// `file.hashes` of a driveItem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Hashes {
    /// Base64 QuickXorHash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_xor_hash: Option<String>,
    /// Other hashes Graph may send.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `file` facet of a driveItem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FileFacet {
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Content hashes.
    #[serde(default)]
    pub hashes: Hashes,
}

/// `folder` facet of a driveItem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FolderFacet {
    /// Number of children.
    #[serde(default)]
    pub child_count: u64,
}

/// `parentReference` of a driveItem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ItemReference {
    /// Drive id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drive_id: Option<String>,
    /// `personal`, `business` or `documentLibrary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drive_type: Option<String>,
    /// Parent item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Parent path, e.g. `/drive/root:/Apps/app/temp/user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The driveItem fields the project uses; anything else is kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DriveItem {
    /// Item id (absent in some commit answers: then GET the item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Present for files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileFacet>,
    /// Present for folders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<FolderFacet>,
    /// Where the item lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_reference: Option<ItemReference>,
    /// Present (empty) on the drive's root folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<Map<String, Value>>,
    /// ETag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    /// CTag (changes with the content only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_tag: Option<String>,
    /// Created time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_time: Option<String>,
    /// Modified time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_date_time: Option<String>,
    /// Web URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    /// Short-lived pre-authenticated download URL.
    #[serde(rename = "@microsoft.graph.downloadUrl", default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// Every other field, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DriveItem {
    /// The item's QuickXorHash, if Graph reported one.
    pub fn quick_xor_hash(&self) -> Option<&str> {
        self.file.as_ref()?.hashes.quick_xor_hash.as_deref()
    }
}

/// A collection answer, e.g. `GET .../children`: `{"value":[...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Collection<T> {
    /// The items.
    pub value: Vec<T>,
}

/// The application that created a sharing link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// Its id (the OAuth client id).
    #[serde(default)]
    pub id: String,
    /// Its display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// The `link` of a sharing permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SharingLink {
    /// `view`, `edit` or `embed`.
    #[serde(rename = "type", default)]
    pub link_type: String,
    /// `anonymous`, `organization` or `users`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The link itself.
    #[serde(default)]
    pub web_url: String,
    /// Whether the link forbids downloads.
    #[serde(default)]
    pub prevents_download: bool,
    /// The application that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<Identity>,
}

/// Answer of `POST /items/{id}/createLink`: a permission carrying a sharing link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// Permission id.
    #[serde(default)]
    pub id: String,
    /// `read`, `write`...
    #[serde(default)]
    pub roles: Vec<String>,
    /// Share id (`s!...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_id: Option<String>,
    /// Whether a password protects the link.
    #[serde(default)]
    pub has_password: bool,
    /// The sharing link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<SharingLink>,
}

/// Body of `POST /items/{id}/createLink`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateLinkRequest {
    /// `view`, `edit` or `embed`.
    #[serde(rename = "type")]
    pub link_type: String,
    /// `anonymous`, `organization` or `users`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// An inner error: Graph spells the key `innerError`, OneDrive's docs `innererror`; both nest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct InnerError {
    /// More specific code, e.g. `fragmentOverlap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Request id.
    #[serde(rename = "request-id", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Deeper inner error.
    #[serde(rename = "innerError", alias = "innererror", default, skip_serializing_if = "Option::is_none")]
    pub inner_error: Option<Box<InnerError>>,
}

/// The `error` object of a Graph error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GraphErrorDetail {
    /// Top-level code, e.g. `invalidRange`, `itemNotFound`.
    #[serde(default)]
    pub code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Nested detail.
    #[serde(rename = "innerError", alias = "innererror", default, skip_serializing_if = "Option::is_none")]
    pub inner_error: Option<Box<InnerError>>,
}

/// A Graph error body: `{"error":{"code","message","innerError":{...}}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GraphError {
    /// The error.
    pub error: GraphErrorDetail,
}

impl GraphError {
    /// A body with a code, message and optional inner code.
    pub fn new(code: &str, message: &str, inner: Option<&str>) -> Self {
        GraphError {
            error: GraphErrorDetail {
                code: code.to_owned(),
                message: message.to_owned(),
                inner_error: inner.map(|c| Box::new(InnerError { code: Some(c.to_owned()), ..Default::default() })),
            },
        }
    }

    /// Parses a body; `None` if it is not a Graph error.
    pub fn parse(body: &str) -> Option<Self> {
        serde_json::from_str(body).ok()
    }

    /// Every code from the outermost to the innermost.
    pub fn codes(&self) -> Vec<&str> {
        let mut out = vec![self.error.code.as_str()];
        let mut inner = self.error.inner_error.as_deref();
        while let Some(i) = inner {
            if let Some(c) = &i.code {
                out.push(c);
            }
            inner = i.inner_error.as_deref();
        }
        out
    }
}

/// The error body of our own server: `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerError {
    /// The error.
    pub error: ServerErrorDetail,
}

/// The `error` object of [`ServerError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerErrorDetail {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable message, safe to show.
    pub message: String,
}

impl ServerError {
    /// A body with a code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ServerError { error: ServerErrorDetail { code: code.into(), message: message.into() } }
    }
}

/// Request body of the server's `POST /api/cloud/file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFileRequest {
    /// File name, validated by the server.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
