//! Browser tests: invalid options reject with `invalid-option` naming the option; session functions that fail give `session-failed`.

#[path = "support.rs"]
mod support;

use js_sys::{Function, Object, JSON};
use onedrive_upload::upload_file;
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn rejects(file: JsValue, options: JsValue, option: &str) {
    let err = wait(upload_file(file, options)).await.unwrap_err();
    assert_eq!(code_of(&err), "invalid-option", "{option}");
    let message = prop(&err, "message").as_string().unwrap();
    assert!(message.contains(&format!("`{option}`")), "{option}: {message}");
}

#[wasm_bindgen_test]
async fn invalid_options_are_named() {
    let file: JsValue = TestFile::new(&unique("options"), 10, 1).file.into();
    for (json, option) in [
        (r#"{"chunkSize":1000}"#, "chunkSize"),
        (r#"{"chunkSize":63242240}"#, "chunkSize"),
        (r#"{"chunkSize":0}"#, "chunkSize"),
        (r#"{"chunkSize":"big"}"#, "chunkSize"),
        (r#"{"chunksize":327680}"#, "chunksize"),
        (r#"{"retry":{"maxAttempts":0}}"#, "retry.maxAttempts"),
        (r#"{"retry":{"baseDelayMs":100,"maxDelayMs":10}}"#, "retry.maxDelayMs"),
        (r#"{"retry":{"tries":3}}"#, "retry.tries"),
        (r#"{"retry":5}"#, "retry"),
        (r#"{"retry":{"clientErrorRetries":-1}}"#, "retry"),
        (r#"{"stallTimeoutMs":0}"#, "stallTimeoutMs"),
        (r#"{"stallTimeoutMs":1.5}"#, "stallTimeoutMs"),
        (r#"{"resume":"yes"}"#, "resume"),
        (r#"{"verify":1}"#, "verify"),
        (r#"{"session":42}"#, "session"),
        (r#"{"session":""}"#, "session"),
        (r#"{"headers":{"X":1}}"#, "headers"),
        (r#"{"signal":5}"#, "signal"),
        (r#"{"onProgress":"x"}"#, "onProgress"),
    ] {
        rejects(file.clone(), JSON::parse(json).unwrap(), option).await;
    }
    rejects(file.clone(), JsValue::from(5), "options").await;
    rejects(JsValue::from("not a file"), JsValue::UNDEFINED, "file").await;
}

#[wasm_bindgen_test]
async fn a_failing_session_function_is_session_failed() {
    let make =
        Function::new_no_args("return async () => { const e = new Error('quota reached'); e.status = 507; throw e; }");
    let o = Object::new();
    set(&o, "session", &make.call0(&JsValue::UNDEFINED).unwrap());
    let file: JsValue = TestFile::new(&unique("nosession"), 10, 1).file.into();
    let err = wait(upload_file(file, o.into())).await.unwrap_err();
    assert_eq!(code_of(&err), "session-failed");
    assert_eq!(prop(&err, "status").as_f64(), Some(507.0));
    assert_eq!(prop(&err, "message").as_string().as_deref(), Some("quota reached"));
}
