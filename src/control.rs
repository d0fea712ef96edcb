//! Pause, resume and cancel of one upload (its handle's methods and its AbortSignal), as futures the driver selects on.

use crate::error::{call, get};
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Keep going.
    Running,
    /// Stop sending, keep the session.
    Paused,
    /// Stop for good.
    Cancelled,
}

/// Shared between the handle (JS side) and the running upload.
#[derive(Default)]
pub struct Control {
    state: Cell<Option<State>>,
    wakers: RefCell<Vec<Waker>>,
}

impl Control {
    /// A running upload's control.
    pub fn new() -> Rc<Control> {
        Rc::new(Control::default())
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state.get().unwrap_or(State::Running)
    }

    fn set(&self, s: State) {
        if self.state() == State::Cancelled {
            return;
        }
        self.state.set(Some(s));
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// Pause (no effect once cancelled).
    pub fn pause(&self) {
        if self.state() == State::Running {
            self.set(State::Paused);
        }
    }

    /// Resume after a pause.
    pub fn resume(&self) {
        if self.state() == State::Paused {
            self.set(State::Running);
        }
    }

    /// Cancel.
    pub fn cancel(&self) {
        self.set(State::Cancelled);
    }

    /// Resolves when the state is no longer `Running` (at once if it already is not).
    pub fn interrupted(self: &Rc<Self>) -> Until {
        Until { control: self.clone(), done: |s| s != State::Running }
    }

    /// Resolves when the state is `Running` or `Cancelled` (the end of a pause).
    pub fn unpaused(self: &Rc<Self>) -> Until {
        Until { control: self.clone(), done: |s| s != State::Paused }
    }

    /// Resolves when the upload is cancelled.
    pub fn cancelled(self: &Rc<Self>) -> Until {
        Until { control: self.clone(), done: |s| s == State::Cancelled }
    }
}

/// Waits for a state change (see [`Control::interrupted`], [`Control::unpaused`], [`Control::cancelled`]).
pub struct Until {
    control: Rc<Control>,
    done: fn(State) -> bool,
}

impl Future for Until {
    type Output = State;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<State> {
        let s = self.control.state();
        if (self.done)(s) {
            return Poll::Ready(s);
        }
        let mut wakers = self.control.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Links an AbortSignal to a control: abort = cancel. Dropping it removes the listener.
pub struct SignalLink {
    signal: AbortSignal,
    listener: Closure<dyn FnMut()>,
}

impl SignalLink {
    /// Cancels `control` now if `signal` is already aborted, and whenever it aborts later.
    pub fn new(signal: AbortSignal, control: &Rc<Control>) -> SignalLink {
        // wasm-size: `aborted` and the listener through `get`/`call` (error.rs): see there.
        if get(&signal, "aborted").is_truthy() {
            control.cancel();
        }
        let c = control.clone();
        let listener = Closure::<dyn FnMut()>::new(move || c.cancel());
        let _ = call(&signal, "addEventListener", &"abort".into(), listener.as_ref());
        SignalLink { signal, listener }
    }
}

impl Drop for SignalLink {
    fn drop(&mut self) {
        let _ = call(&self.signal, "removeEventListener", &"abort".into(), self.listener.as_ref());
    }
}
