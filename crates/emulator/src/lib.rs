//! onedrive-emulator library.
