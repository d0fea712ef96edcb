//! The drive tree in SQLite: items (files and folders), lookups by id, name and path,
//! folder creation, conflict-free names, moves and recursive deletion.

use crate::error::EmulatorError;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// One row of the `items` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    /// Item id.
    pub id: String,
    /// Parent folder id; `None` for the root.
    pub parent_id: Option<String>,
    /// Name (empty for the root).
    pub name: String,
    /// Folder or file.
    pub is_folder: bool,
    /// Size in bytes (files).
    pub size: u64,
    /// Base64 QuickXorHash (files).
    pub quick_xor_hash: Option<String>,
    /// File name of the content under `blobs/` (files).
    pub blob: Option<String>,
    /// Creation time, Unix ms.
    pub created_ms: i64,
    /// Last modification time, Unix ms.
    pub modified_ms: i64,
    /// Content version, bumped on every change (feeds the eTag).
    pub version: i64,
    /// The client's `fileSystemInfo` times, Unix ms (`None`: the server's times).
    pub fs: FileSystemTimes,
}

/// `fileSystemInfo` as a client gave it (createUploadSession's `item.fileSystemInfo`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSystemTimes {
    /// `createdDateTime`, Unix ms.
    pub created_ms: Option<i64>,
    /// `lastModifiedDateTime`, Unix ms.
    pub modified_ms: Option<i64>,
}

/// The columns [`from_row`] reads, in order (a macro so that statements are `concat!`ed
/// constants, parsed once and then served from the connection's statement cache).
macro_rules! columns {
    () => {
        "id, parent_id, name, is_folder, size, quick_xor_hash, blob, created_ms, modified_ms, version, fs_created_ms, fs_modified_ms"
    };
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<ItemRow> {
    Ok(ItemRow {
        id: r.get(0)?,
        parent_id: r.get(1)?,
        name: r.get(2)?,
        is_folder: r.get(3)?,
        size: r.get::<_, i64>(4)? as u64,
        quick_xor_hash: r.get(5)?,
        blob: r.get(6)?,
        created_ms: r.get(7)?,
        modified_ms: r.get(8)?,
        version: r.get(9)?,
        fs: FileSystemTimes { created_ms: r.get(10)?, modified_ms: r.get(11)? },
    })
}

impl ItemRow {
    /// A new folder row.
    pub fn folder(parent_id: &str, name: &str, now: i64) -> Self {
        ItemRow {
            id: crate::util::new_item_id(),
            parent_id: Some(parent_id.to_owned()),
            name: name.to_owned(),
            is_folder: true,
            size: 0,
            quick_xor_hash: None,
            blob: None,
            created_ms: now,
            modified_ms: now,
            version: 1,
            fs: FileSystemTimes::default(),
        }
    }
}

/// The item with this id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<ItemRow>, EmulatorError> {
    Ok(conn
        .prepare_cached(concat!("SELECT ", columns!(), " FROM items WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// The child of `parent` named `name` (case-insensitive, as OneDrive).
pub fn child(conn: &Connection, parent: &str, name: &str) -> Result<Option<ItemRow>, EmulatorError> {
    Ok(conn
        .prepare_cached(concat!(
            "SELECT ",
            columns!(),
            " FROM items WHERE parent_id = ?1 AND name = ?2 COLLATE NOCASE"
        ))?
        .query_row([parent, name], from_row)
        .optional()?)
}

/// The children of `parent`, by name.
pub fn children(conn: &Connection, parent: &str) -> Result<Vec<ItemRow>, EmulatorError> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        columns!(),
        " FROM items WHERE parent_id = ?1 ORDER BY name COLLATE NOCASE"
    ))?;
    let rows = stmt.query_map([parent], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Number of children of `parent`.
pub fn child_count(conn: &Connection, parent: &str) -> Result<u64, EmulatorError> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM items WHERE parent_id = ?1")?
        .query_row([parent], |r| r.get::<_, i64>(0))? as u64)
}

/// Inserts a row.
pub fn insert(conn: &Connection, item: &ItemRow) -> Result<(), EmulatorError> {
    conn.prepare_cached(concat!(
        "INSERT INTO items (",
        columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?
    .execute(params![
        item.id,
        item.parent_id,
        item.name,
        item.is_folder,
        item.size as i64,
        item.quick_xor_hash,
        item.blob,
        item.created_ms,
        item.modified_ms,
        item.version,
        item.fs.created_ms,
        item.fs.modified_ms
    ])?;
    Ok(())
}

/// Replaces a file's content metadata; returns the row as stored.
pub fn replace_content(
    conn: &Connection,
    id: &str,
    size: u64,
    hash: &str,
    blob: &str,
    now: i64,
    fs: FileSystemTimes,
) -> Result<(), EmulatorError> {
    conn.prepare_cached("UPDATE items SET size = ?2, quick_xor_hash = ?3, blob = ?4, modified_ms = ?5, version = version + 1, fs_created_ms = ?6, fs_modified_ms = ?7 WHERE id = ?1")?
        .execute(params![id, size as i64, hash, blob, now, fs.created_ms, fs.modified_ms])?;
    Ok(())
}

/// Moves and/or renames an item.
pub fn relocate(conn: &Connection, id: &str, parent: &str, name: &str, now: i64) -> Result<(), EmulatorError> {
    conn.prepare_cached(
        "UPDATE items SET parent_id = ?2, name = ?3, modified_ms = ?4, version = version + 1 WHERE id = ?1",
    )?
    .execute(params![id, parent, name, now])?;
    Ok(())
}

/// The path of an item from the root: `""` for the root, `/Apps/x/file.bin` otherwise.
pub fn path_of(conn: &Connection, id: &str) -> Result<String, EmulatorError> {
    let mut names = Vec::new();
    let mut cursor = get(conn, id)?;
    while let Some(item) = cursor {
        let Some(parent) = item.parent_id else { break };
        names.push(item.name);
        if names.len() > 1000 {
            return Err(EmulatorError::invalid_request("The item tree is too deep."));
        }
        cursor = get(conn, &parent)?;
    }
    names.reverse();
    Ok(names.iter().map(|n| format!("/{n}")).collect())
}

/// Whether `id` is `ancestor` or lies below it.
pub fn is_within(conn: &Connection, id: &str, ancestor: &str) -> Result<bool, EmulatorError> {
    let mut cursor = Some(id.to_owned());
    while let Some(current) = cursor {
        if current == ancestor {
            return Ok(true);
        }
        cursor = get(conn, &current)?.and_then(|i| i.parent_id);
    }
    Ok(false)
}

/// Follows `segments` (already validated names) from `start`; `None` if any is missing.
pub fn resolve(conn: &Connection, start: &str, segments: &[String]) -> Result<Option<ItemRow>, EmulatorError> {
    let mut current = match get(conn, start)? {
        Some(item) => item,
        None => return Ok(None),
    };
    for name in segments {
        if !current.is_folder {
            return Ok(None);
        }
        match child(conn, &current.id, name)? {
            Some(next) => current = next,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// Follows `segments` from `start`, creating missing folders; 409 if a file stands in the way.
pub fn ensure_folders(conn: &Connection, start: &str, segments: &[String], now: i64) -> Result<ItemRow, EmulatorError> {
    let start = get(conn, start)?.ok_or_else(EmulatorError::item_not_found)?;
    descend_creating(conn, start, segments, now, &mut String::new())
}

/// Like [`ensure_folders`] from an already loaded `start` row, appending `/{name}` of every
/// folder passed (as stored, so with its own case) to `path`: callers that know the path
/// of `start` get the target's path without walking back up the tree.
pub fn descend_creating(
    conn: &Connection,
    start: ItemRow,
    segments: &[String],
    now: i64,
    path: &mut String,
) -> Result<ItemRow, EmulatorError> {
    let mut current = start;
    if !current.is_folder {
        return Err(EmulatorError::name_exists());
    }
    for name in segments {
        current = match child(conn, &current.id, name)? {
            Some(next) if next.is_folder => next,
            Some(_) => return Err(EmulatorError::name_exists()),
            None => {
                let folder = ItemRow::folder(&current.id, name, now);
                insert(conn, &folder)?;
                folder
            }
        };
        path.push('/');
        path.push_str(&current.name);
    }
    Ok(current)
}

/// A name not yet used in `parent`: `name`, else `stem 1.ext`, `stem 2.ext`, ...
pub fn free_name(conn: &Connection, parent: &str, name: &str) -> Result<String, EmulatorError> {
    if child(conn, parent, name)?.is_none() {
        return Ok(name.to_owned());
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    for n in 1u64.. {
        let candidate = format!("{stem} {n}{ext}");
        if child(conn, parent, &candidate)?.is_none() {
            return Ok(candidate);
        }
    }
    unreachable!("u64 names exhausted")
}

/// Deletes an item and everything below it; returns the blob names to remove from disk.
pub fn delete_tree(conn: &Connection, id: &str) -> Result<Vec<String>, EmulatorError> {
    let mut blobs = Vec::new();
    let mut stack = vec![id.to_owned()];
    let mut order = Vec::new();
    while let Some(current) = stack.pop() {
        for c in children(conn, &current)? {
            stack.push(c.id);
        }
        order.push(current);
    }
    for current in order.iter().rev() {
        if let Some(item) = get(conn, current)? {
            blobs.extend(item.blob);
        }
        conn.prepare_cached("DELETE FROM items WHERE id = ?1")?.execute([current])?;
        conn.prepare_cached("DELETE FROM links WHERE item_id = ?1")?.execute([current])?;
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, crate::store::Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::Db::open(&dir.path().join("t.sqlite3")).unwrap();
        (dir, db)
    }

    #[test]
    fn tree_paths_names_and_deletion() {
        let (_dir, db) = db();
        db.call_sync(|c| {
            let root = ItemRow { parent_id: None, name: String::new(), ..ItemRow::folder("", "", 0) };
            insert(c, &root)?;
            let seg = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
            let temp = ensure_folders(c, &root.id, &seg(&["Apps", "app", "temp"]), 1)?;
            assert_eq!(path_of(c, &temp.id)?, "/Apps/app/temp");
            assert_eq!(ensure_folders(c, &root.id, &seg(&["apps", "APP"]), 2)?.name, "app");
            let mut path = String::from("/x");
            assert_eq!(descend_creating(c, root.clone(), &seg(&["apps", "APP", "Temp"]), 2, &mut path)?.id, temp.id);
            assert_eq!(path, "/x/Apps/app/temp");
            let file = ItemRow { is_folder: false, blob: Some("b1".into()), ..ItemRow::folder(&temp.id, "a.bin", 3) };
            insert(c, &file)?;
            assert_eq!(free_name(c, &temp.id, "A.BIN")?, "A 1.BIN");
            insert(c, &ItemRow { is_folder: false, ..ItemRow::folder(&temp.id, "a 1.bin", 3) })?;
            assert_eq!(free_name(c, &temp.id, "a.bin")?, "a 2.bin");
            assert_eq!(free_name(c, &temp.id, "noext")?, "noext");
            assert!(ensure_folders(c, &temp.id, &seg(&["a.bin", "x"]), 4).is_err());
            assert_eq!(resolve(c, &root.id, &seg(&["Apps", "app", "temp", "a.bin"]))?.unwrap().id, file.id);
            assert!(resolve(c, &root.id, &seg(&["Apps", "nope"]))?.is_none());
            assert!(is_within(c, &file.id, &root.id)?);
            assert!(!is_within(c, &root.id, &file.id)?);
            let apps = resolve(c, &root.id, &seg(&["Apps"]))?.unwrap();
            assert_eq!(delete_tree(c, &apps.id)?, vec!["b1".to_string()]);
            assert_eq!(child_count(c, &root.id)?, 0);
            Ok(())
        })
        .unwrap();
    }
}
