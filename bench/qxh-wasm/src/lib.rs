//! Benchmark-only wasm exports: QuickXorHash (onedrive-upload-core) over a buffer in wasm memory
//! and over bytes copied in from a JS `Uint8Array`, timed by bench/www/bench.js.

use onedrive_upload_core::quickxor::QuickXorHash;
use wasm_bindgen::prelude::*;

/// A buffer of pseudo-random bytes that lives in wasm memory.
#[wasm_bindgen]
pub struct Buffer(Vec<u8>);

/// Allocates `len` pseudo-random bytes (xorshift64) in wasm memory.
#[wasm_bindgen]
pub fn make_buffer(len: usize) -> Buffer {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (len - v.len()).min(8);
        v.extend_from_slice(&x.to_le_bytes()[..n]);
    }
    Buffer(v)
}

#[wasm_bindgen]
impl Buffer {
    /// QuickXorHash (base64) of the whole buffer, no copy.
    pub fn hash(&self) -> String {
        QuickXorHash::hash(&self.0)
    }
}

/// QuickXorHash (base64) of bytes passed from JS (wasm-bindgen copies them into wasm memory).
#[wasm_bindgen]
pub fn hash_bytes(data: &[u8]) -> String {
    QuickXorHash::hash(data)
}

/// An incremental QuickXorHash for JS callers that feed the file piece by piece.
#[wasm_bindgen]
pub struct Hasher(QuickXorHash);

#[wasm_bindgen]
impl Hasher {
    /// A hasher at byte 0.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Hasher {
        Hasher(QuickXorHash::new())
    }

    /// Feeds the next bytes (wasm-bindgen copies them into wasm memory).
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The hash (base64) of everything fed so far.
    pub fn finalize(&self) -> String {
        self.0.finalize()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}
