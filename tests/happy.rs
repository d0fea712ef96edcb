//! Browser tests: happy-path uploads of every size class, progress, and concurrent uploads, checked against what the emulator stored.

#[path = "support.rs"]
mod support;

use futures_util::future::join_all;
use js_sys::Object;
use onedrive_upload::upload_file;
use std::cell::RefCell;
use std::rc::Rc;
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Uploads a generated file of `size` bytes with `opts`, and checks the stored bytes and hash.
async fn roundtrip(size: usize, opts: Object) {
    let emu = emulator().await;
    let tf = TestFile::new(&unique(&format!("happy-{size}")), size, size as u32 + 7);
    let item =
        wait(upload_file(tf.file.clone().into(), opts.into())).await.unwrap_or_else(|e| panic!("{size} bytes: {e:?}"));
    assert_eq!(prop(&item, "name").as_string(), Some(tf.file.name()));
    assert_stored(&emu, &item, &tf).await;
}

#[wasm_bindgen_test]
async fn small_sizes() {
    let t = token("happy-small").await;
    for size in [1, 327_679, 327_680, 327_681] {
        roundtrip(size, options(&t, r#"{"chunkSize":327680}"#)).await;
    }
}

#[wasm_bindgen_test]
async fn zero_bytes_resolve_with_the_driveitem_of_the_session_answer() {
    let t = token("happy-zero").await;
    let emu = emulator().await;
    let tf = TestFile::new(&unique("zero"), 0, 1);
    let item = wait(upload_file(tf.file.clone().into(), options(&t, "{}").into())).await.unwrap();
    assert_stored(&emu, &item, &tf).await;
    assert_eq!(item_hash(&item), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
}

#[wasm_bindgen_test]
async fn ten_mib_plus_one_with_a_session_function_and_default_chunks() {
    let t = token("happy-fn").await;
    let o = Object::new();
    set(&o, "session", &session_function(&t));
    roundtrip(10 * 1024 * 1024 + 1, o).await;
}

#[wasm_bindgen_test]
async fn progress_is_monotonic_and_ends_at_exactly_100_percent() {
    let t = token("happy-progress").await;
    let size = 3 * 327_680 + 5;
    let tf = TestFile::new(&unique("progress"), size, 3);
    let events: Rc<RefCell<Vec<(f64, f64, f64)>>> = Rc::default();
    let sink = events.clone();
    let cb = Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| {
        let n = |k: &str| prop(&p, k).as_f64().unwrap();
        sink.borrow_mut().push((n("bytesSent"), n("bytesAcknowledged"), n("totalBytes")));
        assert!(n("bytesPerSecond") >= 0.0);
    });
    let o = options(&t, r#"{"chunkSize":327680}"#);
    set(&o, "onProgress", cb.as_ref());
    wait(upload_file(tf.file.clone().into(), o.into())).await.unwrap();
    let events = events.borrow();
    assert!(events.len() >= 4, "{} progress events", events.len());
    let mut last_ack = 0.0;
    for &(sent, ack, total) in events.iter() {
        assert_eq!(total, size as f64);
        assert!(ack >= last_ack, "acknowledged went back: {ack} < {last_ack}");
        assert!(sent >= ack && sent <= total);
        last_ack = ack;
    }
    assert_eq!(*events.last().unwrap(), (size as f64, size as f64, size as f64));
}

#[wasm_bindgen_test]
async fn concurrent_uploads_do_not_interfere() {
    let t = token("happy-concurrent").await;
    let emu = emulator().await;
    let files: Vec<TestFile> =
        (0..3).map(|i| TestFile::new(&unique(&format!("concurrent{i}")), 700_000 + i * 1000, 11 + i as u32)).collect();
    let uploads =
        files.iter().map(|tf| wait(upload_file(tf.file.clone().into(), options(&t, r#"{"chunkSize":327680}"#).into())));
    let items = join_all(uploads).await;
    for (tf, item) in files.iter().zip(items) {
        assert_stored(&emu, &item.unwrap(), tf).await;
    }
}
