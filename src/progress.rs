//! Progress reports for `onProgress`: bytes sent and acknowledged (never backwards), speed over a short window, ETA.

use crate::error::set;
use alloc::collections::VecDeque;
use js_sys::{Function, Object};
use wasm_bindgen::prelude::*;

/// Speed is measured over about this many ms.
const WINDOW_MS: f64 = 3000.0;

/// Reports progress of one upload to its callback.
pub struct Progress {
    callback: Option<Function>,
    total: u64,
    samples: VecDeque<(f64, u64)>,
    acknowledged: u64,
    speed: f64,
}

impl Progress {
    /// A reporter for a `total`-byte upload (no-op without a callback).
    pub fn new(callback: Option<Function>, total: u64) -> Progress {
        Progress { callback, total, samples: VecDeque::new(), acknowledged: 0, speed: 0.0 }
    }

    /// Reports `sent` bytes of which `acknowledged` are confirmed, at time `now` (ms).
    pub fn report(&mut self, sent: u64, acknowledged: u64, now: f64) {
        if self.callback.is_none() {
            return;
        }
        self.acknowledged = self.acknowledged.max(acknowledged).min(self.total);
        let sent = sent.max(self.acknowledged).min(self.total);
        if self.samples.back().is_some_and(|&(_, s)| s > sent) {
            self.samples.clear(); // a retry went back: measure afresh
        }
        self.samples.push_back((now, sent));
        while self.samples.len() > 2 && self.samples.front().is_some_and(|&(t, _)| now - t > WINDOW_MS) {
            self.samples.pop_front();
        }
        if let (Some(&(t0, s0)), Some(&(t1, s1))) = (self.samples.front(), self.samples.back()) {
            if t1 - t0 >= 100.0 {
                self.speed = (s1 - s0) as f64 * 1000.0 / (t1 - t0);
            }
        }
        let eta = if self.speed > 0.0 { JsValue::from((self.total - sent) as f64 / self.speed) } else { JsValue::NULL };
        self.emit(sent, eta);
    }

    /// The last report: everything sent and acknowledged.
    pub fn complete(&mut self) {
        self.acknowledged = self.total;
        self.emit(self.total, JsValue::from(0.0));
    }

    fn emit(&self, sent: u64, eta: JsValue) {
        let Some(f) = &self.callback else { return };
        let p = Object::new();
        set(&p, "bytesSent", &(sent as f64).into());
        set(&p, "bytesAcknowledged", &(self.acknowledged as f64).into());
        set(&p, "totalBytes", &(self.total as f64).into());
        set(&p, "bytesPerSecond", &self.speed.into());
        set(&p, "etaSeconds", &eta);
        // A throwing callback never breaks the upload. (`call2`, as everywhere: one import.)
        let _ = f.call2(&JsValue::UNDEFINED, &p, &JsValue::UNDEFINED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::rc::Rc;
    use core::cell::RefCell;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn recorder() -> (Function, Rc<RefCell<Vec<JsValue>>>) {
        let seen: Rc<RefCell<Vec<JsValue>>> = Rc::default();
        let s = seen.clone();
        let f = Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| s.borrow_mut().push(p));
        (f.into_js_value().unchecked_into(), seen)
    }

    fn num(p: &JsValue, k: &str) -> JsValue {
        js_sys::Reflect::get(p, &k.into()).unwrap()
    }

    #[wasm_bindgen_test]
    fn speed_eta_and_never_backwards() {
        let (f, seen) = recorder();
        let mut p = Progress::new(Some(f), 10_000);
        p.report(0, 0, 1000.0);
        assert!(num(&seen.borrow()[0], "etaSeconds").is_null(), "unknown speed: no ETA");
        p.report(2000, 1000, 2000.0);
        let last = seen.borrow().last().unwrap().clone();
        assert_eq!(num(&last, "bytesPerSecond").as_f64(), Some(2000.0));
        assert_eq!(num(&last, "etaSeconds").as_f64(), Some(4.0));
        p.report(500, 500, 2100.0); // a retry went back; acknowledged stays
        let last = seen.borrow().last().unwrap().clone();
        assert_eq!(num(&last, "bytesAcknowledged").as_f64(), Some(1000.0));
        assert_eq!(num(&last, "bytesSent").as_f64(), Some(1000.0), "sent is never below acknowledged");
        p.complete();
        let last = seen.borrow().last().unwrap().clone();
        assert_eq!(num(&last, "bytesSent").as_f64(), Some(10_000.0));
        assert_eq!(num(&last, "bytesAcknowledged").as_f64(), Some(10_000.0));
        assert_eq!(num(&last, "totalBytes").as_f64(), Some(10_000.0));
        assert_eq!(num(&last, "etaSeconds").as_f64(), Some(0.0));
    }
}
