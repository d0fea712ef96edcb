//! Sessions remembered in localStorage under a file fingerprint, for resume after a reload (bounded, errors swallowed).

use crate::error::{call, get, set, size_of};
use crate::reader::millis;
use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Reflect, JSON};
use onedrive_upload_core::quickxor::QuickXorHash;
use onedrive_upload_core::text::{cat, dec};
use wasm_bindgen::prelude::*;
use web_sys::{File, Storage};

const PREFIX: &str = "onedrive-upload:v1:";
/// Most sessions remembered at once; the oldest go first.
const MAX_ENTRIES: usize = 32;
/// Lifetime assumed for a session whose expiry is unknown (OneDrive Personal's ~24 h).
const UNKNOWN_EXPIRY_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// A remembered session.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The upload URL (a bearer credential: stays in this origin's storage only).
    pub upload_url: String,
    /// Its expiry as the server gave it.
    pub expiration_date_time: Option<String>,
    /// The session's `statusUrl`, if it had one (asked when the stored session turns out gone).
    pub status_url: Option<String>,
    /// The chunk size the upload used.
    pub chunk_size: u64,
    /// When it was stored (Unix ms).
    pub saved_at: f64,
}

impl Saved {
    /// Expiry as Unix ms (stored time + a day when unknown).
    pub fn expires_at_ms(&self) -> f64 {
        match self.expiration_date_time.as_deref().and_then(millis) {
            Some(ms) => ms as f64,
            None => self.saved_at + UNKNOWN_EXPIRY_MS,
        }
    }
}

/// The storage slot of one file.
pub struct Slot {
    storage: Option<Storage>,
    key: String,
}

/// `localStorage`, when this global has one and it is usable (reading it may throw: then none).
fn local_storage() -> Option<Storage> {
    // wasm-size: `js_sys::global()`, which the futures executor links anyway; a `globalThis` binding
    // of our own is one more import (+33 B gzipped wasm, +19 B js).
    let v = Reflect::get(&js_sys::global(), &"localStorage".into()).ok()?;
    if v.is_undefined() || v.is_null() {
        return None;
    }
    Some(v.unchecked_into())
}

impl Slot {
    /// The slot of `file` for this session endpoint; `enabled: false` gives a slot that stores nothing.
    pub fn open(file: &File, endpoint: &str, enabled: bool) -> Slot {
        let storage = if enabled { local_storage() } else { None };
        let (size, modified) = (size_of(file) as u64, get(file, "lastModified").as_f64().unwrap_or(0.0) as i64);
        let (name, kind) =
            (get(file, "name").as_string().unwrap_or_default(), get(file, "type").as_string().unwrap_or_default());
        let sign = if modified < 0 { "-" } else { "" };
        let fingerprint =
            cat(&[&name, "\0", &dec(size), "\0", sign, &dec(modified.unsigned_abs()), "\0", &kind, "\0", endpoint]);
        Slot { storage, key: cat(&[PREFIX, &QuickXorHash::hash(fingerprint.as_bytes())]) }
    }

    /// The remembered session, unless absent, unreadable or expired (then it is removed).
    pub fn load(&self, now: f64) -> Option<Saved> {
        let s = self.storage.as_ref()?;
        let saved = read(s, &self.key);
        match saved {
            Some(saved) if saved.expires_at_ms() > now => Some(saved),
            _ => {
                self.remove();
                None
            }
        }
    }

    /// Remembers `saved`, first dropping expired entries and the oldest beyond the bound.
    pub fn save(&self, saved: &Saved) {
        let Some(s) = &self.storage else { return };
        purge(s, &self.key, saved.saved_at);
        let value = js_sys::Object::new();
        set(&value, "uploadUrl", &saved.upload_url.as_str().into());
        if let Some(e) = &saved.expiration_date_time {
            set(&value, "expirationDateTime", &e.as_str().into());
        }
        if let Some(u) = &saved.status_url {
            set(&value, "statusUrl", &u.as_str().into());
        }
        set(&value, "chunkSize", &(saved.chunk_size as f64).into());
        set(&value, "savedAt", &saved.saved_at.into());
        if let Ok(text) = JSON::stringify(&value) {
            let _ = Reflect::set(s, &self.key.as_str().into(), &text);
        }
    }

    /// Forgets the session.
    pub fn remove(&self) {
        if let Some(s) = &self.storage {
            let _ = call(s, "removeItem", &self.key.as_str().into(), &JsValue::UNDEFINED);
        }
    }
}

// wasm-size: entries are read, written and listed as the named properties of `localStorage`
// (`Reflect.get`/`Reflect.set`/`Object.keys`, imported anyway) instead of `getItem`, `setItem`,
// `key` and `length`: -459 B gzipped wasm, -103 B js (44,419 -> 43,960 B, 6,259 -> 6,156 B).
fn read(s: &Storage, key: &str) -> Option<Saved> {
    let text = Reflect::get(s, &key.into()).ok()?.as_string()?;
    let v = JSON::parse(&text).ok()?;
    let get = |k: &str| Reflect::get(&v, &k.into()).ok();
    Some(Saved {
        upload_url: get("uploadUrl")?.as_string()?,
        expiration_date_time: get("expirationDateTime").and_then(|e| e.as_string()),
        status_url: get("statusUrl").and_then(|e| e.as_string()),
        chunk_size: get("chunkSize")?.as_f64()? as u64,
        saved_at: get("savedAt")?.as_f64()?,
    })
}

/// Removes unreadable and expired entries of ours, then the oldest while more than `MAX_ENTRIES - 1` remain.
fn purge(s: &Storage, keep: &str, now: f64) {
    let keys = js_sys::Object::keys(s);
    let mut live = Vec::new();
    for k in keys.iter().filter_map(|k| k.as_string()).filter(|k| k.starts_with(PREFIX) && k != keep) {
        match read(s, &k) {
            Some(saved) if saved.expires_at_ms() > now => live.push((saved.saved_at, k)),
            _ => {
                let _ = call(s, "removeItem", &k.as_str().into(), &JsValue::UNDEFINED);
            }
        }
    }
    // wasm-size: oldest first, found by a fold, one at a time (a handful of entries); `sort_by` here
    // costs 2,304 B of gzipped wasm (59,171 -> 61,475 B).
    while live.len() >= MAX_ENTRIES {
        let oldest = (1..live.len()).fold(0, |m, i| if live[i].0 < live[m].0 { i } else { m });
        let (_, k) = live.swap_remove(oldest);
        let _ = call(s, "removeItem", &k.as_str().into(), &JsValue::UNDEFINED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn file(name: &str) -> File {
        let bag = web_sys::FilePropertyBag::new();
        bag.set_last_modified(1_700_000_000_000.0);
        File::new_with_str_sequence_and_options(&js_sys::Array::of1(&"abc".into()), name, &bag).unwrap()
    }

    fn ours(s: &Storage) -> usize {
        (0..s.length().unwrap()).filter_map(|i| s.key(i).unwrap()).filter(|k| k.starts_with(PREFIX)).count()
    }

    fn saved(at: f64, expiry: Option<&str>) -> Saved {
        Saved {
            upload_url: "http://x/upload/1".into(),
            expiration_date_time: expiry.map(Into::into),
            status_url: Some("http://x/api/cloud/file/u1/status".into()),
            chunk_size: 327_680,
            saved_at: at,
        }
    }

    #[wasm_bindgen_test]
    fn stores_loads_removes_and_stays_bounded() {
        let s = local_storage().unwrap();
        s.clear().unwrap();
        let now = js_sys::Date::now();
        let a = Slot::open(&file("a.bin"), "/api/cloud/file", true);
        a.save(&saved(now, Some("2999-01-01T00:00:00Z")));
        let back = a.load(now).unwrap();
        assert_eq!((back.upload_url.as_str(), back.chunk_size), ("http://x/upload/1", 327_680));
        assert_eq!(back.status_url.as_deref(), Some("http://x/api/cloud/file/u1/status"));
        assert!(
            Slot::open(&file("a.bin"), "/other", true).load(now).is_none(),
            "the endpoint is part of the fingerprint"
        );
        a.remove();
        assert!(a.load(now).is_none());
        for i in 0..(MAX_ENTRIES + 8) {
            Slot::open(&file(&format!("f{i}.bin")), "/e", true).save(&saved(now + i as f64, None));
        }
        assert_eq!(ours(&s), MAX_ENTRIES);
        assert!(Slot::open(&file("f0.bin"), "/e", true).load(now).is_none(), "the oldest went first");
        assert!(Slot::open(&file(&format!("f{}.bin", MAX_ENTRIES + 7)), "/e", true).load(now).is_some());
        s.clear().unwrap();
    }

    #[wasm_bindgen_test]
    fn expired_and_unreadable_entries_are_dropped() {
        let s = local_storage().unwrap();
        s.clear().unwrap();
        let now = js_sys::Date::now();
        let old = Slot::open(&file("old.bin"), "/e", true);
        old.save(&saved(now, Some("2001-01-01T00:00:00Z")));
        assert!(old.load(now).is_none());
        assert_eq!(ours(&s), 0, "an expired entry is removed when read");
        old.save(&saved(now - 2.0 * UNKNOWN_EXPIRY_MS, None));
        s.set_item(&format!("{PREFIX}junk"), "{not json").unwrap();
        Slot::open(&file("new.bin"), "/e", true).save(&saved(now, None));
        assert_eq!(ours(&s), 1, "expired and unreadable entries are purged on save");
        let off = Slot::open(&file("off.bin"), "/e", false);
        off.save(&saved(now, None));
        assert!(off.load(now).is_none(), "resume: false stores nothing");
        s.clear().unwrap();
    }
}
