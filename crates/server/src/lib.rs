//! onedrive-server library.
