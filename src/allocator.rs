//! The wasm heap allocator: `lol_alloc`'s free-list allocator (about 1 KB of code instead of dlmalloc's 8 KB).
//!
//! The upload allocates little and briefly (request strings, answer bodies, one reused hashing
//! buffer), so a free list sorted by address, which coalesces neighbours on free, is enough;
//! the test below checks that freed memory is reused (a long upload must not grow the heap).

// wasm-size: std's dlmalloc instead costs 3,286 B more gzipped wasm (59,171 -> 62,457 B).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

#[cfg(test)]
mod tests {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn heap_bytes() -> u32 {
        wasm_bindgen::memory()
            .unchecked_into::<js_sys::WebAssembly::Memory>()
            .buffer()
            .unchecked_into::<js_sys::ArrayBuffer>()
            .byte_length()
    }

    /// Like an upload's life: buffers of changing sizes up to a few MiB, small strings that
    /// outlive them, all freed again. Without reuse this would need gigabytes.
    #[wasm_bindgen_test]
    fn freed_memory_is_reused() {
        let before = heap_bytes();
        let mut kept: Vec<String> = Vec::new();
        for i in 0..2000usize {
            let big = vec![i as u8; 1 + (i * 7919) % (3 << 20)];
            kept.push("x".repeat(i % 300));
            if kept.len() > 16 {
                kept.remove(0);
            }
            assert_eq!(big[big.len() - 1], i as u8);
        }
        drop(kept);
        let grown = heap_bytes() - before;
        assert!(grown < 32 << 20, "the heap grew by {grown} bytes");
    }
}
