//! Helpers shared by the workspace's tests, examples and benchmarks, written once: the
//! deterministic byte generator, and (feature `native`) a child process that announces
//! `listening on URL` and the OAuth sign-in against the emulator's identity platform.

mod bytes;
#[cfg(feature = "native")]
pub mod oauth;
#[cfg(feature = "native")]
mod process;

pub use bytes::{fill, pattern};
#[cfg(feature = "native")]
pub use process::ListeningChild;
