//! `onedrive-upload`: upload large files from the browser straight to OneDrive (WebAssembly).
