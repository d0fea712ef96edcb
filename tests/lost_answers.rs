//! Browser tests: answers lost after the emulator processed the request (last fragment, middle
//! fragment, status GET), a session endpoint answering 503 with Retry-After after a session
//! loss, and a reload right after the last fragment. Exactly one item, one session when none
//! was lost, the original name, nothing uploaded twice.
//!
//! Chromium itself sends a request again once when a reused keep-alive connection closes
//! before any answer, so a dropped PUT may reach the emulator twice (the repeat gets 404 or
//! 416): PUT counts allow that one repeat.

#[path = "support.rs"]
mod support;

use onedrive_upload::upload_file;
use std::cell::Cell;
use std::rc::Rc;
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Pass-through faults for the first `n` PUTs, so the next fault hits PUT number `n + 1`.
fn skip_puts(n: u32) -> String {
    format!(r#"{{"name":"{{name}}","delayMs":0,"count":{n}}}"#)
}

#[wasm_bindgen_test]
async fn lost_answer_on_the_last_fragment_finishes_with_one_item_under_its_name() {
    let t = token("lostlast").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("lostlast"), 2 * 327_680 + 1000, 31);
    let name = tf.file.name();
    fault(&emu, &skip_puts(2).replace("{name}", &name)).await;
    fault(&emu, &format!(r#"{{"name":"{name}","dropAnswer":true}}"#)).await;
    // The session endpoint URL (statusUrl resolved against it) and a progress callback.
    let o = url_options(&t, FAST);
    let (acked, sent) = (Rc::new(Cell::new(0.0)), Rc::new(Cell::new(0.0)));
    let (a, s) = (acked.clone(), sent.clone());
    let cb = Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| {
        a.set(prop(&p, "bytesAcknowledged").as_f64().unwrap());
        s.set(prop(&p, "bytesSent").as_f64().unwrap());
    });
    set(&o, "onProgress", cb.as_ref());
    let item = wait(upload_file(tf.file.clone().into(), o.into())).await.expect("the committed item is recovered");
    assert_stored(&emu, &item, &tf).await;
    assert_eq!(prop(&item, "name").as_string(), Some(name.clone()), "the original name");
    let rows = sessions(&emu, &name).await;
    assert_eq!(rows.len(), 1, "one session: nothing uploaded again");
    assert_eq!(rows[0].state, "completed");
    assert!((3..=4).contains(&rows[0].put_requests), "{} PUTs", rows[0].put_requests);
    assert_eq!((acked.get(), sent.get()), (tf.size as f64, tf.size as f64), "progress ends at 100%");
}

#[wasm_bindgen_test]
async fn lost_answer_on_a_middle_fragment_realigns_in_the_same_session() {
    let f = with_faults("lostmid", &[&skip_puts(1), r#"{"name":"{name}","dropAnswer":true}"#], None).await;
    let puts = f.stored().await;
    assert!(puts.len() == 1 && (3..=4).contains(&puts[0]), "one session: {puts:?}");
}

#[wasm_bindgen_test]
async fn lost_answer_on_the_status_get_is_asked_again() {
    let f = with_faults(
        "lostget",
        &[r#"{"name":"{name}","status":416}"#, r#"{"name":"{name}","method":"GET","dropAnswer":true}"#],
        None,
    )
    .await;
    let puts = f.stored().await;
    assert!(puts.len() == 1 && (4..=5).contains(&puts[0]), "one session, the 416'd PUT and three fragments: {puts:?}");
}

#[wasm_bindgen_test]
async fn a_session_endpoint_503_with_retry_after_after_a_session_loss_is_waited_out() {
    let t = token("session503").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("session503"), 2 * 327_680 + 1000, 51);
    let name = tf.file.name();
    fault(&emu, &skip_puts(1).replace("{name}", &name)).await;
    fault(&emu, &format!(r#"{{"name":"{name}","status":404}}"#)).await;
    fault(&emu, &format!(r#"{{"name":"{name}","method":"SESSION","status":503,"retryAfter":"1"}}"#)).await;
    let started = js_sys::Date::now();
    // The session endpoint URL: its 503 and Retry-After reach the library as they are.
    let item = wait(upload_file(tf.file.clone().into(), url_options(&t, FAST).into())).await.expect("uploaded");
    assert!(js_sys::Date::now() - started >= 1000.0, "Retry-After: 1 was honoured");
    assert_stored(&emu, &item, &tf).await;
    let rows = sessions(&emu, &name).await;
    assert_eq!(rows.len(), 2, "the lost session and the one obtained after the 503");
    assert_eq!(prop(&item, "name").as_string(), Some(name));
}

#[wasm_bindgen_test]
async fn a_reload_right_after_the_last_fragment_recovers_the_committed_item() {
    let t = token("reloadlast").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("reloadlast"), 2 * 327_680 + 1000, 41);
    let name = tf.file.name();
    fault(&emu, &skip_puts(2).replace("{name}", &name)).await;
    fault(&emu, &format!(r#"{{"name":"{name}","dropAnswer":true}}"#)).await;
    // The first page stops right after the last fragment (no attempt left), keeping its record.
    let first = r#"{"chunkSize":327680,"retry":{"baseDelayMs":10,"maxAttempts":1}}"#;
    let err = wait(upload_file(tf.file.clone().into(), options(&t, first).into())).await.unwrap_err();
    assert_eq!(code_of(&err), "retries-exhausted");
    // The reloaded page: the stored session is gone (committed), its statusUrl has the item.
    let item = wait(upload_file(tf.file.clone().into(), options(&t, FAST).into())).await.expect("recovered");
    assert_stored(&emu, &item, &tf).await;
    assert_eq!(prop(&item, "name").as_string(), Some(name.clone()));
    let rows = sessions(&emu, &name).await;
    assert_eq!(rows.len(), 1, "no new session after the reload");
    assert!((3..=4).contains(&rows[0].put_requests), "{} PUTs", rows[0].put_requests);
}
