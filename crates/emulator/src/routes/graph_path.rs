//! Parsing Graph drive paths: `me/drive/{root|special/approot|items/{id}}[:/{path}[:]][/{action}|:/{action}]`.
//! Path segments are percent-decoded one by one and validated as names, item ids with core's rule.

use crate::error::EmulatorError;
use onedrive_upload_core::names::{validate_item_id, validate_name};
use percent_encoding::percent_decode_str;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `root`.
    Root,
    /// `special/approot` (the app folder `/Apps/{app}`).
    AppRoot,
    /// `items/{id}`.
    Item(String),
}

/// A parsed drive path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphPath {
    /// The starting item.
    pub base: Base,
    /// Names below the base (from `:/a/b:`), validated.
    pub segments: Vec<String>,
    /// The action (`children`, `content`, `createUploadSession`, `createLink`), lower-cased.
    pub action: Option<String>,
}

fn bad_segment(what: &str) -> EmulatorError {
    EmulatorError::graph(
        axum::http::StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Resource not found for the segment '{what}'."),
    )
}

/// Splits a raw (percent-encoded) path such as `Apps/x/a%20b.bin` into validated names.
pub fn split_path(raw: &str) -> Result<Vec<String>, EmulatorError> {
    let raw = raw.trim_matches('/');
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    raw.split('/')
        .map(|segment| {
            let name = percent_decode_str(segment)
                .decode_utf8()
                .map_err(|_| EmulatorError::invalid_request("The path is not valid UTF-8."))?
                .into_owned();
            validate_name(&name)?;
            Ok(name)
        })
        .collect()
}

/// Parses what follows `/v1.0/` in a raw (still percent-encoded) request path.
pub fn parse(rest: &str) -> Result<GraphPath, EmulatorError> {
    let drive = rest.strip_prefix("me/drive/").or_else(|| rest.strip_prefix("drive/"));
    let Some(drive) = drive else {
        return Err(bad_segment(rest.split('/').next().unwrap_or_default()));
    };
    let (base, tail) = if let Some(t) = drive.strip_prefix("root") {
        (Base::Root, t)
    } else if let Some(t) = drive.strip_prefix("special/approot") {
        (Base::AppRoot, t)
    } else if let Some(t) = drive.strip_prefix("items/") {
        let end = t.find([':', '/']).unwrap_or(t.len());
        let id = percent_decode_str(&t[..end]).decode_utf8().map_err(|_| bad_segment("items"))?;
        validate_item_id(&id)?;
        (Base::Item(id.into_owned()), &t[end..])
    } else {
        return Err(bad_segment(drive.split('/').next().unwrap_or_default()));
    };
    let (segments, after) = match tail.strip_prefix(':') {
        Some(t) => {
            let end = t.find(':').unwrap_or(t.len());
            let path = &t[..end];
            if !path.is_empty() && !path.starts_with('/') {
                return Err(bad_segment(path));
            }
            if path.contains("//") {
                return Err(EmulatorError::invalid_request("The path contains an empty segment."));
            }
            (split_path(path)?, t.get(end + 1..).unwrap_or(""))
        }
        None => (Vec::new(), tail),
    };
    let action = match after {
        "" => None,
        a => {
            let a = a.strip_prefix('/').ok_or_else(|| bad_segment(a))?;
            if a.is_empty() || a.contains(['/', ':']) {
                return Err(bad_segment(a));
            }
            Some(a.to_ascii_lowercase())
        }
    };
    if tail.starts_with(|c: char| c != ':' && c != '/') {
        return Err(bad_segment(drive));
    }
    Ok(GraphPath { base, segments, action })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(base: Base, segs: &[&str], action: Option<&str>) -> GraphPath {
        GraphPath { base, segments: segs.iter().map(|s| s.to_string()).collect(), action: action.map(str::to_owned) }
    }

    #[test]
    fn table() {
        let id = || Base::Item("01AB".into());
        let ok: &[(&str, GraphPath)] = &[
            ("me/drive/root", p(Base::Root, &[], None)),
            ("me/drive/root/children", p(Base::Root, &[], Some("children"))),
            (
                "me/drive/root:/a/b%20c.bin:/createUploadSession",
                p(Base::Root, &["a", "b c.bin"], Some("createuploadsession")),
            ),
            ("me/drive/root:/a/b.bin", p(Base::Root, &["a", "b.bin"], None)),
            ("me/drive/root:/a/b.bin:", p(Base::Root, &["a", "b.bin"], None)),
            (
                "me/drive/special/approot:/temp/u/x.bin:/content",
                p(Base::AppRoot, &["temp", "u", "x.bin"], Some("content")),
            ),
            ("me/drive/special/approot", p(Base::AppRoot, &[], None)),
            ("me/drive/items/01AB", p(id(), &[], None)),
            ("me/drive/items/01AB/createLink", p(id(), &[], Some("createlink"))),
            ("me/drive/items/01AB:/n.bin:/createUploadSession", p(id(), &["n.bin"], Some("createuploadsession"))),
            ("drive/items/01AB/content", p(id(), &[], Some("content"))),
        ];
        for (raw, want) in ok {
            assert_eq!(&parse(raw).unwrap(), want, "{raw}");
        }
        let long = format!("me/drive/items/{}", "A".repeat(201));
        for raw in [
            "me/drives",
            "me/drive/rootx",
            "me/drive/special/documents",
            "me/drive/items/",
            "me/drive/items/a%2Fb",
            "me/drive/items/a~b",
            "me/drive/items/a%7Eb",
            "me/drive/items/..",
            "me/drive/items/%2E%2E/children",
            &long,
            "me/drive/root:/evil%E2%80%AEtxt.exe:/content",
            "me/drive/root:/a%E2%80%8Bb",
            "me/drive/root:/%EF%BB%BFbom:",
            "me/drive/root:/a%E2%80%A8b",
            "me/drive/root:/con%20.txt",
            "me/drive/root:/a/..:/content",
            "me/drive/root:/a/%2E%2E/b",
            "me/drive/root:/a//b:",
            "me/drive/root:/a:/b/c",
            "me/drive/root/children/x",
            "users/x/drive/root",
            "me/drive/root:a:",
        ] {
            assert!(parse(raw).is_err(), "{raw} accepted");
        }
    }

    #[test]
    fn splits_and_decodes_paths() {
        assert_eq!(split_path("Apps/x/a%20b%23.bin").unwrap(), vec!["Apps", "x", "a b#.bin"]);
        assert_eq!(split_path("/").unwrap(), Vec::<String>::new());
        assert!(split_path("a/..%2Fetc").is_err());
        assert!(split_path("a/%2E%2E/b").is_err());
        assert!(split_path("a//b").is_err());
        assert!(split_path("a/%FF").is_err());
        assert!(split_path("a/b%3Ac").is_err());
    }
}
