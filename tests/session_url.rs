//! Browser tests: the session as an endpoint URL (POST with credentials and the given headers), and its failures.

#[path = "support.rs"]
mod support;

use onedrive_upload::upload_file;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn the_endpoint_url_with_an_authorization_header() {
    let t = token("url").await;
    let emu = emulator().await;
    for size in [0, 327_681] {
        let tf = TestFile::new(&unique("url"), size, 5);
        let item = wait(upload_file(tf.file.clone().into(), url_options(&t, r#"{"chunkSize":327680}"#).into())).await;
        let item = item.unwrap_or_else(|e| panic!("{size} bytes: {:?}", prop(&e, "message")));
        assert_stored(&emu, &item, &tf).await;
    }
}

#[wasm_bindgen_test]
async fn a_refused_session_request_is_session_failed_with_the_servers_message() {
    let tf = TestFile::new(&unique("refused"), 10, 1);
    let err = wait(upload_file(tf.file.clone().into(), url_options("not-a-jwt", "{}").into())).await.unwrap_err();
    assert_eq!(code_of(&err), "session-failed");
    assert_eq!(prop(&err, "status").as_f64(), Some(401.0));
    let message = prop(&err, "message").as_string().unwrap();
    assert!(!message.contains("HTTP 401") && !message.is_empty(), "the server's own message: {message}");
}
