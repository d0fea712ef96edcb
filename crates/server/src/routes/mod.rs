//! HTTP handlers: the file API, the uploads' `statusUrl`, health, and the dev-only routes.

pub mod dev;
pub mod files;
pub mod health;
pub mod uploads;
