//! HTTP handlers: the file API, health, and the dev-only routes.

pub mod dev;
pub mod files;
pub mod health;
