//! Pure logic of an upload to a Microsoft Graph upload session, shared by the wasm crate,
//! the server and the emulator: OneDrive's naming and item-id rules, `Content-Range`
//! arithmetic, chunk planning, the sans-IO retry engine, QuickXorHash, and (with the `serde`
//! feature, which the wasm build leaves off) Graph's wire types. No I/O, no clocks, no
//! randomness of its own.
//!
//! `no_std` (with `alloc`) unless tested or built with `serde`, so that the wasm bundle links no
//! std (see the root crate's `std` feature).

#![cfg_attr(not(any(test, feature = "serde")), no_std)]

extern crate alloc;

pub mod chunk;
pub mod dev_client;
pub mod engine;
pub mod error;
pub mod names;
#[cfg(feature = "serde")]
pub mod protocol;
pub mod quickxor;
pub mod range;
pub mod text;
pub mod time;

pub use chunk::{ChunkPlan, ChunkSize};
pub use error::CoreError;
pub use names::{validate_item_id, validate_name, NameRule};
#[cfg(feature = "serde")]
pub use protocol::{DriveItem, GraphError, UploadSession};
pub use quickxor::QuickXorHash;
pub use range::{ContentRange, ExpectedRange};
