//! Browser tests: cancel by AbortSignal, pause/resume, resume after a "reload" from localStorage.

#[path = "support.rs"]
mod support;

use gloo_timers::future::TimeoutFuture;
use onedrive_upload::{start_upload, upload_file, UploadHandle};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::AbortController;

wasm_bindgen_test_configure!(run_in_browser);

const CHUNKED: &str = r#"{"chunkSize":327680,"retry":{"baseDelayMs":10}}"#;

/// An onProgress callback that runs `f` once, at the first acknowledged bytes.
fn on_first_ack(f: impl FnOnce() + 'static) -> Closure<dyn FnMut(JsValue)> {
    let mut f = Some(f);
    Closure::new(move |p: JsValue| {
        if prop(&p, "bytesAcknowledged").as_f64().unwrap_or(0.0) > 0.0 {
            if let Some(f) = f.take() {
                f();
            }
        }
    })
}

/// Keys of ours in localStorage.
fn stored_keys() -> usize {
    let s = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    (0..s.length().unwrap()).filter_map(|i| s.key(i).unwrap()).filter(|k| k.starts_with("onedrive-upload:")).count()
}

async fn until(flag: &Cell<bool>) {
    while !flag.get() {
        TimeoutFuture::new(10).await;
    }
}

#[wasm_bindgen_test]
async fn abort_mid_upload_rejects_with_aborted_and_deletes_the_session() {
    let t = token("abort").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("abort"), 3 * 327_680, 21);
    let controller = AbortController::new().unwrap();
    let c = controller.clone();
    let cb = on_first_ack(move || c.abort());
    let o = options(&t, CHUNKED);
    set(&o, "signal", &controller.signal());
    set(&o, "onProgress", cb.as_ref());
    let keys = stored_keys();
    let err = wait(upload_file(tf.file.clone().into(), o.into())).await.unwrap_err();
    assert_eq!(code_of(&err), "aborted");
    let rows = sessions(&emu, &tf.file.name()).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, "cancelled", "the session was DELETEd");
    assert!(rows[0].put_requests < 3);
    assert_eq!(stored_keys(), keys, "the stored session is forgotten");
}

#[wasm_bindgen_test]
async fn an_already_aborted_signal_rejects_without_a_session() {
    let t = token("preabort").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("preabort"), 1000, 2);
    let controller = AbortController::new().unwrap();
    controller.abort();
    let o = options(&t, "{}");
    set(&o, "signal", &controller.signal());
    let err = wait(upload_file(tf.file.clone().into(), o.into())).await.unwrap_err();
    assert_eq!(code_of(&err), "aborted");
    assert!(sessions(&emu, &tf.file.name()).await.is_empty());
}

/// Starts an upload that pauses itself at the first acknowledged bytes; returns the handle slot and the flag.
fn start_paused(tf: &TestFile, json: &str, t: &str) -> (Rc<RefCell<Option<UploadHandle>>>, Rc<Cell<bool>>) {
    let slot: Rc<RefCell<Option<UploadHandle>>> = Rc::default();
    let paused = Rc::new(Cell::new(false));
    let (s, p) = (slot.clone(), paused.clone());
    let cb = on_first_ack(move || {
        s.borrow().as_ref().unwrap().pause();
        p.set(true);
    });
    let o = options(t, json);
    set(&o, "onProgress", cb.as_ref());
    cb.forget(); // lives as long as the paused upload
    *slot.borrow_mut() = Some(start_upload(tf.file.clone().into(), o.into()));
    (slot, paused)
}

#[wasm_bindgen_test]
async fn pause_stops_sending_and_resume_continues_the_same_session() {
    let t = token("pause").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("pause"), 3 * 327_680, 22);
    let (slot, paused) = start_paused(&tf, CHUNKED, &t);
    until(&paused).await;
    let before = sessions(&emu, &tf.file.name()).await[0].put_requests;
    TimeoutFuture::new(300).await;
    assert_eq!(sessions(&emu, &tf.file.name()).await[0].put_requests, before, "nothing is sent while paused");
    let handle = slot.borrow_mut().take().unwrap();
    handle.resume();
    let item = wait(handle.promise()).await.unwrap();
    assert_stored(&emu, &item, &tf).await;
    let rows = sessions(&emu, &tf.file.name()).await;
    assert_eq!(rows.len(), 1, "the same session");
    assert_eq!(rows[0].bytes_received, tf.size as u64, "no byte sent twice");
}

#[wasm_bindgen_test]
async fn a_second_upload_after_a_reload_sends_only_the_missing_bytes() {
    let t = token("reload").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("reload"), 3 * 327_680 + 77, 23);
    let keys = stored_keys();
    let (_first, paused) = start_paused(&tf, CHUNKED, &t);
    until(&paused).await;
    assert_eq!(stored_keys(), keys + 1, "the session is remembered");
    // "Reload": the first upload is abandoned as it is; a new call with the same file.
    let item = wait(upload_file(tf.file.clone().into(), options(&t, CHUNKED).into())).await.unwrap();
    assert_stored(&emu, &item, &tf).await;
    let rows = sessions(&emu, &tf.file.name()).await;
    assert_eq!(rows.len(), 1, "the stored session was reused");
    assert_eq!(rows[0].bytes_received, tf.size as u64, "only the missing bytes were sent again");
    assert_eq!(stored_keys(), keys, "removed on success");
}

#[wasm_bindgen_test]
async fn resume_false_stores_nothing() {
    let t = token("noresume").await;
    let tf = TestFile::new(&unique("noresume"), 2 * 327_680, 24);
    let keys = stored_keys();
    let (slot, paused) = start_paused(&tf, r#"{"chunkSize":327680,"resume":false}"#, &t);
    until(&paused).await;
    assert_eq!(stored_keys(), keys);
    let handle = slot.borrow_mut().take().unwrap();
    handle.cancel();
    assert_eq!(code_of(&wait(handle.promise()).await.unwrap_err()), "aborted");
}

#[wasm_bindgen_test]
async fn abort_cuts_a_retry_after_wait_short() {
    let t = token("abortwait").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("abortwait"), 2 * 327_680, 25);
    fault(&emu, &format!(r#"{{"name":"{}","status":429,"retryAfter":"30"}}"#, tf.file.name())).await;
    let controller = AbortController::new().unwrap();
    let o = options(&t, CHUNKED);
    set(&o, "signal", &controller.signal());
    let promise = upload_file(tf.file.clone().into(), o.into());
    // Retry-After is honoured: the upload is still waiting its 30 s when the abort comes.
    TimeoutFuture::new(300).await;
    controller.abort();
    let err = wait(promise).await.expect_err("still waiting out Retry-After: 30");
    assert_eq!(code_of(&err), "aborted");
    let rows = sessions(&emu, &tf.file.name()).await;
    assert_eq!(rows[0].state, "cancelled");
    assert_eq!(rows[0].put_requests, 1, "the throttled PUT only");
}

#[wasm_bindgen_test]
async fn pausing_again_and_again_mid_read_keeps_the_verify_hash_right() {
    // Every progress event pauses, which drops the PUT and the hash read in flight with it; the
    // loop below resumes. The dropped reads must be picked up again, never issued twice or lost:
    // a hash off by one piece would reject the upload with `integrity`.
    let t = token("pauses").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("pauses"), 5 * 1024 * 1024 + 7, 24);
    let slot: Rc<RefCell<Option<UploadHandle>>> = Rc::default();
    let pauses = Rc::new(Cell::new(0u32));
    let (s, n) = (slot.clone(), pauses.clone());
    let cb = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        if let Some(h) = s.borrow().as_ref() {
            h.pause();
            n.set(n.get() + 1);
        }
    });
    let o = options(&t, CHUNKED);
    set(&o, "onProgress", cb.as_ref());
    let handle = start_upload(tf.file.clone().into(), o.into());
    let promise = handle.promise();
    *slot.borrow_mut() = Some(handle);
    let done = Rc::new(RefCell::new(None));
    let d = done.clone();
    wasm_bindgen_futures::spawn_local(async move { *d.borrow_mut() = Some(wait(promise).await) });
    while done.borrow().is_none() {
        TimeoutFuture::new(2).await;
        if let Some(h) = slot.borrow().as_ref() {
            h.resume();
        }
    }
    let result = done.borrow_mut().take().unwrap();
    let item = result.unwrap_or_else(|e| panic!("upload failed: {:?} {:?}", prop(&e, "code"), prop(&e, "message")));
    assert!(pauses.get() >= 16, "paused {} times", pauses.get());
    assert_stored(&emu, &item, &tf).await;
}
