//! `onedrive-upload`: upload large files from the browser straight to OneDrive (WebAssembly); the JS API.
//!
//! A thin layer over `onedrive-upload-core`'s sans-IO engine: options are parsed once
//! ([`options`]), the engine's actions are performed with XMLHttpRequest and timers
//! ([`driver`]), and the result is the committed driveItem or an `UploadError`: failures stay
//! typed ([`error::UploadFailure`]) until [`into_error`] makes the JS error, here, once.

#![cfg_attr(all(target_arch = "wasm32", not(feature = "std")), no_std)]

extern crate alloc;

mod allocator; // wasm-size: lol_alloc instead of dlmalloc (figures in allocator.rs)
mod control;
mod driver;
mod error;
mod hasher;
mod options;
mod progress;
mod race;
mod reader;
mod session;
mod storage;
mod timer;
mod xhr;

/// wasm-size: the shipped bundle links no std, so a panic (a bug: nothing here panics on any
/// input) is a trap with no message, not std's hook formatting one; `WebAssembly.RuntimeError:
/// unreachable` reaches JS, and the tests (feature `std`) keep std's messages.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use alloc::rc::Rc;
use control::Control;
use error::{set, UploadFailure};
use js_sys::{Error, Promise};
use onedrive_upload_core::engine::{Failure, FailureCode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::File;

#[wasm_bindgen(typescript_custom_section)]
const TS_ITEM: &'static str = r#"
/** The committed file, as OneDrive describes it (other driveItem fields are kept as sent). */
export interface DriveItem {
  id: string;
  name: string;
  size: number;
  file: { mimeType?: string; hashes: { quickXorHash: string; [hash: string]: string | undefined } };
  parentReference?: { driveId?: string; id?: string; path?: string };
  eTag?: string;
  createdDateTime?: string;
  lastModifiedDateTime?: string;
  webUrl?: string;
  [field: string]: unknown;
}
"#;

/// A running upload: its promise, and pause / resume / cancel.
#[wasm_bindgen]
pub struct UploadHandle {
    promise: Promise,
    control: Rc<Control>,
}

#[wasm_bindgen]
impl UploadHandle {
    /// Resolves with the driveItem, or rejects with an `UploadError`.
    #[wasm_bindgen(getter, unchecked_return_type = "Promise<DriveItem>")]
    pub fn promise(&self) -> Promise {
        self.promise.clone()
    }

    /// Stops sending (the in-flight request is aborted) but keeps the session.
    pub fn pause(&self) {
        self.control.pause();
    }

    /// Continues a paused upload from the server's `nextExpectedRanges`.
    pub fn resume(&self) {
        self.control.resume();
    }

    /// Cancels: aborts the request, DELETEs the session; the promise rejects with `aborted`.
    pub fn cancel(&self) {
        self.control.cancel();
    }
}

/// Uploads `file` through an upload session; resolves with the committed driveItem.
#[wasm_bindgen(js_name = uploadFile, unchecked_return_type = "Promise<DriveItem>")]
pub fn upload_file(
    #[wasm_bindgen(unchecked_param_type = "File")] file: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "UploadOptions")] options: JsValue,
) -> Promise {
    start_upload(file, options).promise
}

/// Starts uploading `file`; the handle has the promise and pause / resume / cancel.
#[wasm_bindgen(js_name = startUpload)]
pub fn start_upload(
    #[wasm_bindgen(unchecked_param_type = "File")] file: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "UploadOptions")] options: JsValue,
) -> UploadHandle {
    let control = Control::new();
    let parsed = options::Options::parse(&options);
    let file = file.dyn_into::<File>().map_err(|_| UploadFailure::invalid_option("file", "must be a File"));
    let c = control.clone();
    let promise = future_to_promise(async move {
        let run = async move { driver::run(file?, parsed?, c).await };
        run.await.map_err(into_error)
    });
    UploadHandle { promise, control }
}

/// The JS `UploadError` of a failure: an `Error` named `UploadError` with `code`, `status` when
/// there was one, and for `integrity` with hashes, `localHash` and `serverHash`.
fn into_error(failure: UploadFailure) -> JsValue {
    let (f, hashes) = match failure {
        UploadFailure::Failed(f) => (f, None),
        UploadFailure::Integrity { message, local, server } => {
            (Failure { code: FailureCode::Integrity, status: None, message }, Some((local, server)))
        }
    };
    let v: JsValue = Error::new(&f.message).into();
    set(&v, "name", &"UploadError".into()); // wasm-size: see hasher.rs (`done`)
    set(&v, "code", &f.code.as_str().into());
    if let Some(s) = f.status {
        set(&v, "status", &s.into());
    }
    if let Some((local, server)) = hashes {
        set(&v, "localHash", &local.into());
        if let Some(s) = server {
            set(&v, "serverHash", &s.into());
        }
    }
    v
}
