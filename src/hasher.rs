//! QuickXorHash of the local file, read with `Blob.slice().arrayBuffer()` in bounded pieces into one reused buffer.

use js_sys::Uint8Array;
use onedrive_upload_core::quickxor::QuickXorHash;
use std::cell::{Cell, RefCell};
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

/// Bytes read and hashed per step: memory stays flat whatever the file size.
const PIECE: u64 = 2 * 1024 * 1024;

/// A hash cursor over `[0, total)` that only moves forward, in file order.
pub struct Hasher {
    file: Blob,
    cursor: Cell<u64>,
    state: RefCell<QuickXorHash>,
    buf: RefCell<Vec<u8>>,
    error: RefCell<Option<String>>,
}

impl Hasher {
    /// A hasher at byte 0 of `file`.
    pub fn new(file: Blob) -> Hasher {
        Hasher { file, cursor: Cell::new(0), state: RefCell::new(QuickXorHash::new()), buf: RefCell::new(Vec::new()), error: RefCell::new(None) }
    }

    /// Hashes up to `end` (exclusive). Safe to drop mid-way: the cursor only advances after a
    /// piece is hashed. A read error stops hashing and is reported by [`Hasher::finish`].
    pub async fn advance_to(&self, end: u64) {
        while self.cursor.get() < end && self.error.borrow().is_none() {
            let start = self.cursor.get();
            let stop = end.min(start + PIECE);
            let read = self.file.slice_with_f64_and_f64(start as f64, stop as f64).map(|b| JsFuture::from(b.array_buffer()));
            let bytes = match read {
                Ok(future) => future.await,
                Err(e) => Err(e),
            };
            match bytes {
                Ok(buffer) if self.cursor.get() == start => {
                    let array = Uint8Array::new(&buffer);
                    let n = array.length() as usize;
                    if n as u64 != stop - start {
                        *self.error.borrow_mut() = Some("the file changed while it was uploading".into());
                        return;
                    }
                    let mut buf = self.buf.borrow_mut();
                    buf.resize(n, 0);
                    array.copy_to(&mut buf[..n]);
                    self.state.borrow_mut().update(&buf[..n]);
                    self.cursor.set(stop);
                }
                Ok(_) => {}
                Err(e) => {
                    *self.error.borrow_mut() = Some(format!("cannot read the file: {}", crate::error::message_of(&e)));
                    return;
                }
            }
        }
    }

    /// The hash of `[0, total)` (hashing what is left), or why it could not be computed.
    pub async fn finish(&self, total: u64) -> Result<String, String> {
        self.advance_to(total).await;
        if let Some(e) = self.error.borrow().clone() {
            return Err(e);
        }
        Ok(self.state.borrow().finalize())
    }
}
