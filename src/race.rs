//! `select` and `join` of two futures, for the driver and the XHR watchdog.
//!
//! wasm-size: futures-util's `select` panics through `Option::expect` when polled after it
//! finished, and that message is the last thing that linked `core::fmt`'s string padding and
//! char counting into the bundle; these are `poll_fn`s that stay pending instead (nothing polls
//! a finished future here, so the difference is never seen).

use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::Poll;

/// Which of two futures finished first.
pub enum Either<A, B> {
    /// The first, with the second (still running).
    Left(A),
    /// The second, with the first (still running).
    Right(B),
}

/// Waits for the first of `a` and `b` (`a` is polled first) and hands back the other.
pub fn select<A, B>(a: A, b: B) -> impl Future<Output = Either<(A::Output, B), (B::Output, A)>>
where
    A: Future + Unpin,
    B: Future + Unpin,
{
    let mut pair = Some((a, b));
    poll_fn(move |cx| {
        let won = match pair.as_mut() {
            Some((a, b)) => match Pin::new(a).poll(cx) {
                Poll::Ready(x) => Either::Left(x),
                Poll::Pending => match Pin::new(b).poll(cx) {
                    Poll::Ready(y) => Either::Right(y),
                    Poll::Pending => return Poll::Pending,
                },
            },
            None => return Poll::Pending,
        };
        match (won, pair.take()) {
            (Either::Left(x), Some((_, b))) => Poll::Ready(Either::Left((x, b))),
            (Either::Right(y), Some((a, _))) => Poll::Ready(Either::Right((y, a))),
            _ => Poll::Pending,
        }
    })
}

/// Waits for both `a` and `b`.
pub fn join<A, B>(a: A, b: B) -> impl Future<Output = (A::Output, B::Output)>
where
    A: Future + Unpin,
    B: Future + Unpin,
{
    let (mut a, mut b) = (Some(a), Some(b));
    let (mut got_a, mut got_b) = (None, None);
    poll_fn(move |cx| {
        if let Some(Poll::Ready(x)) = a.as_mut().map(|f| Pin::new(f).poll(cx)) {
            got_a = Some(x);
            a = None;
        }
        if let Some(Poll::Ready(y)) = b.as_mut().map(|f| Pin::new(f).poll(cx)) {
            got_b = Some(y);
            b = None;
        }
        match (got_a.take(), got_b.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (got_a, got_b) = (x, y);
                Poll::Pending
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::future::ready;
    use core::task::{Context, Waker};

    fn now<F: Future>(f: F) -> Poll<F::Output> {
        let mut f = core::pin::pin!(f);
        f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn select_prefers_the_first_and_hands_back_the_other() {
        let pending = core::future::pending::<u8>();
        assert!(matches!(now(select(ready(1), ready(2))), Poll::Ready(Either::Left((1, _)))));
        assert!(matches!(now(select(pending, ready(2))), Poll::Ready(Either::Right((2, _)))));
        assert!(now(select(core::future::pending::<u8>(), core::future::pending::<u8>())).is_pending());
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn join_waits_for_both() {
        assert!(matches!(now(join(ready(1), ready("b"))), Poll::Ready((1, "b"))));
        assert!(now(join(ready(1), core::future::pending::<u8>())).is_pending());
    }
}
