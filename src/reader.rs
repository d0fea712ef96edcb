//! The engine's [`Reader`] over the browser's own parsers: answer bodies through `JSON.parse`,
//! timestamps through `Date.parse` (a conversion at the edge; the engine decides what they mean).

use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Array, Number, Object, Reflect, JSON};
use onedrive_upload_core::engine::{Json, Reader};
use onedrive_upload_core::text::dec;
use wasm_bindgen::{JsCast, JsValue};

// wasm-size: the browser's parsers instead of the core's JSON reader and `parse_millis` (and
// `format_millis` for the stored expiry): -2,056 B gzipped wasm, +49 B js (46,952 -> 44,896 B, 6,216 -> 6,265 B).
/// Reads JSON and timestamps with `JSON.parse` and `Date.parse`.
pub struct BrowserReader;

impl Reader for BrowserReader {
    fn json(&self, text: &str) -> Option<Json> {
        json_of(&JSON::parse(text).ok()?, 0)
    }

    fn millis(&self, text: &str) -> Option<i64> {
        millis(text)
    }
}

/// `Date.parse(text)` as Unix ms, `None` when it is not a date.
pub fn millis(text: &str) -> Option<i64> {
    let ms = js_sys::Date::parse(text);
    (!ms.is_nan()).then_some(ms as i64)
}

/// Unix ms as `Date.prototype.toISOString` writes it (`YYYY-MM-DDTHH:MM:SS.fffZ`, as Graph does).
pub fn iso(ms: i64) -> String {
    js_sys::Date::new(&JsValue::from(ms as f64)).to_iso_string().into()
}

/// Deepest nesting converted (the core's reader refuses deeper documents too).
const MAX_DEPTH: u32 = 64;

/// A value `JSON.parse` made, as the engine's [`Json`]: a number is its digits when it is a
/// non-negative safe integer, else an empty text (what the engine reads as "not a size").
pub fn json_of(v: &JsValue, depth: u32) -> Option<Json> {
    if depth > MAX_DEPTH {
        return None;
    }
    if let Some(s) = v.as_string() {
        return Some(Json::Str(s));
    }
    if let Some(b) = v.as_bool() {
        return Some(Json::Bool(b));
    }
    if let Some(n) = v.as_f64() {
        let digits = if n >= 0.0 && Number::is_safe_integer(v) { String::from(&*dec(n as u64)) } else { String::new() };
        return Some(Json::Num(digits));
    }
    if v.is_null() {
        return Some(Json::Null);
    }
    // wasm-size: loops, not `collect::<Option<Vec<_>>>()` (an iterator adapter instance each; with
    // `strings` in session.rs): -700 B gzipped wasm (43,636 -> 42,936 B).
    if Array::is_array(v) {
        let mut items = Vec::new();
        for x in v.unchecked_ref::<Array>().iter() {
            items.push(json_of(&x, depth + 1)?);
        }
        return Some(Json::Arr(items));
    }
    if !v.is_object() {
        return None;
    }
    let mut members = Vec::new();
    for k in Object::keys(v.unchecked_ref::<Object>()).iter() {
        let value = json_of(&Reflect::get(v, &k).ok()?, depth + 1)?;
        members.push((k.as_string()?, value));
    }
    Some(Json::Obj(members))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn reads_what_the_engine_reads() {
        let r = BrowserReader;
        let doc = r.json(r#"{"a":[1,-2,1.5,true,null],"s":"x","n":9007199254740991}"#).unwrap();
        let num = |t: &str| Json::Num(t.into());
        assert_eq!(
            doc,
            Json::Obj(vec![
                ("a".into(), Json::Arr(vec![num("1"), num(""), num(""), Json::Bool(true), Json::Null])),
                ("s".into(), Json::Str("x".into())),
                ("n".into(), num("9007199254740991")),
            ])
        );
        assert_eq!(r.json("{not json"), None);
        assert_eq!(r.json(&format!("{}{}", "[".repeat(100), "]".repeat(100))), None, "too deep");
        assert_eq!(r.millis("2015-01-29T09:21:55.523Z"), Some(1_422_523_315_523));
        assert_eq!(r.millis("2015-01-29T10:21:55.523+01:00"), Some(1_422_523_315_523));
        assert_eq!(r.millis("bogus"), None);
        assert_eq!(iso(1_422_523_315_523), "2015-01-29T09:21:55.523Z");
    }
}
