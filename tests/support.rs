//! Shared helpers of the browser test suites (server, emulator control API, generated files); no tests of its own.
#![allow(dead_code)]

use js_sys::{Array, Function, Object, Reflect, Uint8Array, JSON};
use onedrive_upload_core::QuickXorHash;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, FilePropertyBag, RequestInit, Response};

/// The server under test (`ODU_TEST_SERVER` at compile time, set by scripts/test.sh).
pub fn server() -> &'static str {
    match option_env!("ODU_TEST_SERVER") {
        Some(url) => url,
        None => panic!("build the tests with ODU_TEST_SERVER=http://127.0.0.1:PORT (scripts/test.sh does)"),
    }
}

/// A fetch: (status, body text).
pub async fn fetch(method: &str, url: &str, body: Option<&str>, auth: Option<&str>) -> (u16, String) {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Object::new();
    if let Some(b) = body {
        init.set_body(&JsValue::from_str(b));
        // text/plain: a simple request, no CORS preflight (the emulator reads the JSON regardless).
        let kind = if url.contains("/_emulator/") { "text/plain" } else { "application/json" };
        Reflect::set(&headers, &"Content-Type".into(), &kind.into()).unwrap();
    }
    if let Some(t) = auth {
        Reflect::set(&headers, &"Authorization".into(), &format!("Bearer {t}").into()).unwrap();
    }
    init.set_headers(&headers);
    let window = web_sys::window().unwrap();
    let response: Response =
        JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.expect("fetch").unchecked_into();
    let text = JsFuture::from(response.text().unwrap()).await.unwrap().as_string().unwrap_or_default();
    (response.status(), text)
}

/// GET returning parsed JSON (panics unless 2xx).
pub async fn get_json(url: &str) -> JsValue {
    let (status, text) = fetch("GET", url, None, None).await;
    assert!((200..300).contains(&status), "GET {url} -> {status}: {text}");
    JSON::parse(&text).unwrap()
}

/// A dev token for `user`.
pub async fn token(user: &str) -> String {
    let v = get_json(&format!("{}/dev/token?user={user}", server())).await;
    Reflect::get(&v, &"token".into()).unwrap().as_string().unwrap()
}

/// The embedded emulator's base URL.
pub async fn emulator() -> String {
    let v = get_json(&format!("{}/dev/info", server())).await;
    Reflect::get(&v, &"emulator".into()).unwrap().as_string().expect("the server runs an embedded emulator")
}

/// Scripts a fault (`spec` is the JSON of POST /_emulator/faults).
pub async fn fault(emulator: &str, spec: &str) {
    let (status, text) = fetch("POST", &format!("{emulator}/_emulator/faults"), Some(spec), None).await;
    assert_eq!(status, 201, "fault {spec}: {text}");
}

/// One row of GET /_emulator/sessions.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRow {
    /// active / completed / cancelled / expired.
    pub state: String,
    /// All PUT body bytes read.
    pub bytes_received: u64,
    /// PUT requests.
    pub put_requests: u64,
}

/// The emulator's sessions created for `name`.
pub async fn sessions(emulator: &str, name: &str) -> Vec<SessionRow> {
    let v = get_json(&format!("{emulator}/_emulator/sessions?name={}", js_sys::encode_uri_component(name))).await;
    serde_wasm_bindgen::from_value(v).unwrap()
}

/// The bytes the emulator stored for item `id`.
pub async fn content(emulator: &str, id: &str) -> Vec<u8> {
    let window = web_sys::window().unwrap();
    let url = format!("{emulator}/_emulator/items/{id}/content");
    let response: Response = JsFuture::from(window.fetch_with_str(&url)).await.unwrap().unchecked_into();
    assert_eq!(response.status(), 200, "GET {url}");
    let buffer = JsFuture::from(response.array_buffer().unwrap()).await.unwrap();
    Uint8Array::new(&buffer).to_vec()
}

/// A unique file name for a test.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}.bin", (js_sys::Math::random() * 1e12) as u64)
}

/// Period of the generated content (a prime, so no chunk boundary lines up with it).
const PERIOD: usize = 1_048_573;

/// A generated file: its `File` and the repeating block its bytes come from.
pub struct TestFile {
    /// The File.
    pub file: File,
    /// Its size.
    pub size: usize,
    block: Vec<u8>,
}

impl TestFile {
    /// `size` pseudo-random bytes (seeded) named `name`.
    pub fn new(name: &str, size: usize, seed: u32) -> TestFile {
        let block = onedrive_upload_testkit::pattern(size.min(PERIOD), seed);
        let parts = Array::new();
        let view = Uint8Array::from(&block[..]);
        let mut left = size;
        while left > 0 {
            let n = left.min(block.len());
            let part: JsValue = if n == block.len() { view.clone().into() } else { view.subarray(0, n as u32).into() };
            parts.push(&part);
            left -= n;
        }
        let bag = FilePropertyBag::new();
        bag.set_type("application/octet-stream");
        bag.set_last_modified(1_700_000_000_000.0 + f64::from(seed));
        let file = File::new_with_u8_array_sequence_and_options(&parts, name, &bag).unwrap();
        TestFile { file, size, block }
    }

    /// True when `bytes` equals the file's content.
    pub fn same_as(&self, bytes: &[u8]) -> bool {
        bytes.len() == self.size && bytes.chunks(PERIOD).all(|c| c == &self.block[..c.len()])
    }

    /// QuickXorHash of the content.
    pub fn hash(&self) -> String {
        let mut h = QuickXorHash::new();
        let mut left = self.size;
        while left > 0 {
            let n = left.min(self.block.len());
            h.update(&self.block[..n]);
            left -= n;
        }
        h.finalize()
    }
}

/// An options object from JSON, plus a session function (fetch with `token`, no cookies) and the
/// Authorization header for `token` (the library sends `headers` with its `statusUrl` requests).
pub fn options(token: &str, json: &str) -> Object {
    let o: Object = JSON::parse(json).unwrap().unchecked_into();
    Reflect::set(&o, &"session".into(), &session_function(token)).unwrap();
    if Reflect::get(&o, &"headers".into()).unwrap().is_undefined() {
        let headers = Object::new();
        Reflect::set(&headers, &"Authorization".into(), &format!("Bearer {token}").into()).unwrap();
        Reflect::set(&o, &"headers".into(), &headers).unwrap();
    }
    o
}

/// An options object from JSON, plus the session endpoint URL and the Authorization header for `token`.
pub fn url_options(token: &str, json: &str) -> Object {
    let o: Object = JSON::parse(json).unwrap().unchecked_into();
    Reflect::set(&o, &"session".into(), &format!("{}/api/cloud/file", server()).into()).unwrap();
    let headers = Object::new();
    Reflect::set(&headers, &"Authorization".into(), &format!("Bearer {token}").into()).unwrap();
    Reflect::set(&o, &"headers".into(), &headers).unwrap();
    o
}

/// Sets `key` on `o`.
pub fn set(o: &Object, key: &str, value: &JsValue) {
    Reflect::set(o, &key.into(), value).unwrap();
}

/// A session function `(file) => Promise<session>` that POSTs to the server with `token` (and makes
/// the server's origin-relative `statusUrl` absolute, as a page on another origin must).
pub fn session_function(token: &str) -> Function {
    let make = Function::new_with_args(
        "url, token",
        "return async (file) => { const r = await fetch(url, { method: 'POST', headers: { Authorization: 'Bearer ' + token, \
         'Content-Type': 'application/json' }, body: JSON.stringify({ filename: file.name, size: file.size }) }); \
         if (!r.ok) { const e = new Error(await r.text()); e.status = r.status; throw e; } \
         const s = await r.json(); if (s.statusUrl) s.statusUrl = new URL(s.statusUrl, url).href; return s; }",
    );
    make.call2(&JsValue::UNDEFINED, &format!("{}/api/cloud/file", server()).into(), &token.into())
        .unwrap()
        .unchecked_into()
}

/// A string property of an object.
pub fn prop(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap()
}

/// `item.file.hashes.quickXorHash`.
pub fn item_hash(item: &JsValue) -> String {
    prop(&prop(&prop(item, "file"), "hashes"), "quickXorHash").as_string().unwrap()
}

/// Checks that `item` is `tf` committed: size, hash, and the stored bytes.
pub async fn assert_stored(emulator: &str, item: &JsValue, tf: &TestFile) {
    assert_eq!(prop(item, "size").as_f64(), Some(tf.size as f64));
    let id = prop(item, "id").as_string().unwrap();
    assert_eq!(item_hash(item), tf.hash(), "quickXorHash");
    let stored = content(emulator, &id).await;
    assert!(tf.same_as(&stored), "stored bytes differ ({} bytes stored, {} sent)", stored.len(), tf.size);
    assert_eq!(QuickXorHash::hash(&stored), tf.hash());
}

/// The `code` of a rejected upload (after checking it is an UploadError).
pub fn code_of(err: &JsValue) -> String {
    assert!(err.is_instance_of::<js_sys::Error>(), "rejects with a real Error");
    assert_eq!(prop(err, "name").as_string().as_deref(), Some("UploadError"));
    prop(err, "code").as_string().unwrap()
}

/// Awaits an upload promise.
pub async fn wait(p: js_sys::Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

/// Short backoff settings for fault tests.
pub const FAST: &str = r#"{"chunkSize":327680,"retry":{"baseDelayMs":10,"maxDelayMs":2000},"stallTimeoutMs":5000}"#;

/// What a fault test saw.
pub struct Faulted {
    /// The upload's outcome.
    pub result: Result<JsValue, JsValue>,
    /// The file sent.
    pub file: TestFile,
    /// The emulator's sessions for it afterwards.
    pub sessions: Vec<SessionRow>,
    /// The emulator's base URL.
    pub emulator: String,
}

/// Uploads a 3-chunk file (327,680-byte chunks) after scripting `faults` (JSON with `{name}`
/// standing for the file's name), with the options `json` (default [`FAST`]).
pub async fn with_faults(prefix: &str, faults: &[&str], json: Option<&str>) -> Faulted {
    let t = token(prefix).await;
    let emu = emulator().await;
    let file = TestFile::new(&unique(prefix), 2 * 327_680 + 1000, prefix.len() as u32);
    for f in faults {
        fault(&emu, &f.replace("{name}", &file.file.name())).await;
    }
    let result =
        wait(onedrive_upload::upload_file(file.file.clone().into(), options(&t, json.unwrap_or(FAST)).into())).await;
    let sessions = sessions(&emu, &file.file.name()).await;
    Faulted { result, file, sessions, emulator: emu }
}

impl Faulted {
    /// Asserts success with the bytes stored; returns the PUT requests of each session.
    pub async fn stored(&self) -> Vec<u64> {
        let item = self
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("upload failed: {:?} {:?}", prop(e, "code"), prop(e, "message")));
        assert_stored(&self.emulator, item, &self.file).await;
        self.sessions.iter().map(|s| s.put_requests).collect()
    }
}
