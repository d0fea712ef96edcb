//! Browser test: verify without BYOB stream readers (as in browsers that lack them), through the `Blob.slice().arrayBuffer()` fallback.

#[path = "support.rs"]
mod support;

use js_sys::{global, Reflect};
use onedrive_upload::upload_file;
use support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn without_byob_readers_the_hash_is_read_by_slices_and_still_right() {
    let t = token("nobyob").await;
    let emu = emulator().await;
    // Several 2 MiB pieces and a short last one. This test file is its own page: removing the
    // constructor here touches no other test.
    let tf = TestFile::new(&unique("nobyob"), 5 * 1024 * 1024 + 11, 31);
    let key = JsValue::from_str("ReadableStreamBYOBReader");
    let saved = Reflect::get(&global(), &key).unwrap();
    assert!(Reflect::delete_property(&global(), &key).unwrap());
    let result = wait(upload_file(tf.file.clone().into(), options(&t, r#"{"chunkSize":327680}"#).into())).await;
    Reflect::set(&global(), &key, &saved).unwrap();
    let item = result.unwrap_or_else(|e| panic!("upload failed: {:?} {:?}", prop(&e, "code"), prop(&e, "message")));
    assert_stored(&emu, &item, &tf).await;
}
