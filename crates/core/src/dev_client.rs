//! The development OAuth client every emulator knows and the server uses against its embedded
//! emulator: public, well-known values that only a local emulator accepts.

/// The development client's id.
pub const DEV_CLIENT_ID: &str = "onedrive-upload-dev";
/// The development client's secret.
pub const DEV_CLIENT_SECRET: &str = "dev-secret";
