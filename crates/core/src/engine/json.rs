//! A tiny, strict, non-panicking JSON reader for the few answer fields the engine needs,
//! so the WebAssembly build links no serde_json (the serde protocol types stay for the services),
//! and the [`Reader`] seam through which the engine reads bodies and timestamps.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

// wasm-size: serde_json for these bodies (in the engine and the driver) cost 48,196 B of gzipped wasm
// (46de6f2, which replaced it: 123,452 -> 75,256 B).

/// How the engine reads answer bodies (JSON) and timestamps (RFC 3339). Every decision about
/// what was read stays in the engine; a reader only converts text. [`NativeReader`] is the core's
/// own (strict, the reference); the WebAssembly build hands the engine one over the browser's
/// `JSON.parse` and `Date.parse` (`Engine::with_reader`), so it links neither parser.
pub trait Reader {
    /// The JSON document `text`, or `None` if it is not JSON.
    fn json(&self, text: &str) -> Option<Json>;
    /// The timestamp `text` as Unix ms, or `None` if it is not one.
    fn millis(&self, text: &str) -> Option<i64>;
}

/// The core's own reader: [`Json::parse`] and [`crate::time::parse_millis`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeReader;

impl Reader for NativeReader {
    fn json(&self, text: &str) -> Option<Json> {
        Json::parse(text)
    }

    fn millis(&self, text: &str) -> Option<i64> {
        crate::time::parse_millis(text).ok()
    }
}

/// A parsed JSON value; numbers keep their text (a reader over another parser writes a
/// non-negative safe integer as its decimal digits, any other number as an empty text).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Num(String),
    /// A string, unescaped.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object's members in order.
    Obj(Vec<(String, Json)>),
}

/// Deepest nesting accepted (bounds the recursion).
const MAX_DEPTH: u32 = 64;

impl Json {
    /// Parses a whole document (surrounding whitespace allowed); `None` if it is not strict JSON.
    pub fn parse(text: &str) -> Option<Json> {
        let mut p = Parser { b: text.as_bytes(), i: 0 };
        let v = p.value(0)?;
        p.ws();
        (p.i == p.b.len()).then_some(v)
    }

    /// The first member `key` of an object; `None` for other values or a missing key.
    pub(super) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Member `key` as an optional string: `Ok(None)` when absent or `null`, `Err` for another type.
    pub(super) fn opt_str(&self, key: &str) -> Result<Option<&str>, ()> {
        match self.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s)),
            Some(_) => Err(()),
        }
    }

    /// A non-negative integer that fits in `u64`.
    pub(super) fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Num(n) => crate::range::parse_u64(n),
            _ => None,
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn word(&mut self, w: &[u8], v: Json) -> Option<Json> {
        let end = self.i.checked_add(w.len())?;
        (self.b.get(self.i..end)? == w).then(|| {
            self.i = end;
            v
        })
    }

    fn value(&mut self, depth: u32) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'n' => self.word(b"null", Json::Null),
            b't' => self.word(b"true", Json::Bool(true)),
            b'f' => self.word(b"false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        self.eat(b',').then_some(())?;
                    }
                }
                Some(Json::Arr(items))
            }
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        self.eat(b':').then_some(())?;
                        members.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        self.eat(b',').then_some(())?;
                    }
                }
                Some(Json::Obj(members))
            }
            _ => self.number(),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.digits() {
            0 => return None,
            n if n > 1 && self.b.get(self.i - n) == Some(&b'0') => return None,
            _ => {}
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            (self.digits() > 0).then_some(())?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            (self.digits() > 0).then_some(())?;
        }
        let text = core::str::from_utf8(self.b.get(start..self.i)?).ok()?;
        Some(Json::Num(text.to_owned()))
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut n = 0;
        for _ in 0..4 {
            n = n * 16 + char::from(self.next()?).to_digit(16)?;
        }
        Some(n)
    }

    /// A string starting at the opening quote.
    fn string(&mut self) -> Option<String> {
        (self.next()? == b'"').then_some(())?;
        let mut out = Vec::new();
        loop {
            match self.next()? {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let c = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = match hi {
                                0xD800..=0xDBFF => {
                                    (self.next()? == b'\\' && self.next()? == b'u').then_some(())?;
                                    let lo = self.hex4()?;
                                    (0xDC00..=0xDFFF).contains(&lo).then_some(())?;
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                }
                                _ => hi,
                            };
                            char::from_u32(code)?
                        }
                        _ => return None,
                    };
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                c if c < 0x20 => return None,
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    fn s(v: &str) -> Json {
        Json::Str(v.into())
    }

    #[test]
    fn reads_documents() {
        let v = Json::parse(r#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}, "n": 18446744073709551615} "#)
            .unwrap();
        assert_eq!(
            v.get("a"),
            Some(&Json::Arr(vec![
                Json::Num("1".into()),
                Json::Num("-2.5e3".into()),
                Json::Bool(true),
                Json::Bool(false),
                Json::Null
            ]))
        );
        assert_eq!(v.get("b").and_then(|b| b.get("c")), Some(&s("x\"\\/\u{8}\u{c}\n\r\té😀")));
        assert_eq!(v.get("n").and_then(Json::as_u64), Some(u64::MAX));
        assert_eq!(Json::parse("[]"), Some(Json::Arr(vec![])));
        assert_eq!(Json::parse("{}"), Some(Json::Obj(vec![])));
        assert_eq!(Json::parse(r#""é""#), Some(s("é")));
        assert_eq!(Json::parse("0"), Some(Json::Num("0".into())));
    }

    #[test]
    fn numbers_other_than_u64_are_not_sizes() {
        for n in ["-1", "1.0", "1e6", "18446744073709551616", "-0"] {
            assert_eq!(Json::parse(n).unwrap().as_u64(), None, "{n}");
        }
        assert_eq!(s("5").as_u64(), None);
    }

    #[test]
    fn optional_strings() {
        let v = Json::parse(r#"{"a":"x","b":null,"c":1}"#).unwrap();
        assert_eq!(v.opt_str("a"), Ok(Some("x")));
        assert_eq!(v.opt_str("b"), Ok(None));
        assert_eq!(v.opt_str("missing"), Ok(None));
        assert_eq!(v.opt_str("c"), Err(()));
        assert_eq!(Json::Null.get("a"), None);
    }

    #[test]
    fn refuses_what_is_not_strict_json() {
        let bad = [
            "",
            " ",
            "not json",
            "{",
            "}",
            "[1,]",
            "[1 2]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            "{} x",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "nul",
            "tru",
            r#""abc"#,
            "\"a\u{1}\"",
            r#""\x""#,
            r#""\u12""#,
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
            "NaN",
            "'a'",
        ];
        for b in bad {
            assert_eq!(Json::parse(b), None, "{b:?}");
        }
        assert_eq!(Json::parse(&"[".repeat(100_000)), None, "deep nesting is refused, not a stack overflow");
        assert!(Json::parse(&format!("{}{}", "[".repeat(60), "]".repeat(60))).is_some());
    }
}
