//! Browser test: a 64 MiB file generated in the browser, uploaded with the defaults and compared byte for byte.

#[path = "support.rs"]
mod support;

use onedrive_upload::upload_file;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn sixty_four_mib() {
    let t = token("large").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("large"), 64 * 1024 * 1024, 64);
    let item = wait(upload_file(tf.file.clone().into(), options(&t, "{}").into())).await.unwrap();
    assert_stored(&emu, &item, &tf).await;
    let rows = sessions(&emu, &tf.file.name()).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].bytes_received, tf.size as u64, "every byte sent exactly once");
    assert_eq!(rows[0].put_requests, 7, "64 MiB in 10 MiB chunks");
}
