//! A timer as a future: `setTimeout` resolving a promise; dropping it clears the timer.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

// wasm-size: this instead of gloo-timers' `TimeoutFuture` (a futures-channel oneshot and a
// closure per timer): -477 B gzipped wasm, -6 B js (44,896 -> 44,419 B).
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Resolves after `ms` milliseconds (at most `i32::MAX`); dropping it first clears the timer.
pub struct Sleep {
    id: JsValue,
    fired: JsFuture,
}

/// A [`Sleep`] of `ms` milliseconds, started now.
pub fn sleep(ms: u64) -> Sleep {
    let mut id = JsValue::UNDEFINED;
    let ms = ms.min(i32::MAX as u64) as i32;
    let promise = Promise::new(&mut |resolve: Function, _reject: Function| id = set_timeout(&resolve, ms));
    Sleep { id, fired: JsFuture::from(promise) }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.fired).poll(cx).map(|_| ())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}
