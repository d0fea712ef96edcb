//! Persistent state: SQLite metadata ([`db`], [`items`], [`sessions`], [`tokens`]) and file bytes on disk ([`blobs`]).

pub mod blobs;
pub mod db;
pub mod items;
pub mod sessions;
pub mod tokens;
mod worker;

pub use db::{Atomic, Db};
