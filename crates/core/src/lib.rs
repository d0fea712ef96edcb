//! Pure logic of an upload to a Microsoft Graph upload session, shared by the wasm crate,
//! the server and the emulator: protocol types, `Content-Range` arithmetic, chunk planning,
//! the sans-IO retry engine and QuickXorHash. No I/O, no clocks, no randomness of its own.

pub mod chunk;
pub mod engine;
pub mod error;
pub mod protocol;
pub mod quickxor;
pub mod range;
pub mod time;

pub use chunk::{ChunkPlan, ChunkSize};
pub use error::CoreError;
pub use protocol::{DriveItem, GraphError, UploadSession};
pub use quickxor::QuickXorHash;
pub use range::{ContentRange, ExpectedRange};
