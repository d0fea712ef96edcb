//! Validation of file names (OneDrive's rules), feature-folder names and user ids (safe as folder names).

use sha2::{Digest, Sha256};

/// Characters OneDrive refuses anywhere in a name.
const FORBIDDEN: &[char] = &['/', '\\', '*', '<', '>', '?', ':', '|', '"'];

/// Windows device names OneDrive refuses as a name or as the part before the first dot.
const RESERVED_STEMS: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT0",
    "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Longest name accepted, in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// Checks a file name against OneDrive's rules; the error says which rule failed.
pub fn validate_filename(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the file name is empty".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!("the file name is longer than {MAX_NAME_BYTES} bytes"));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c)) {
        return Err(format!("the file name may not contain {c:?}"));
    }
    if name.chars().any(char::is_control) {
        return Err("the file name may not contain control characters".into());
    }
    if name.contains("..") {
        return Err("the file name may not contain \"..\"".into());
    }
    if name.ends_with('.') || name.ends_with(' ') || name.starts_with(' ') {
        return Err("the file name may not start with a space or end with a dot or a space".into());
    }
    if name.starts_with("~$") {
        return Err("the file name may not start with \"~$\"".into());
    }
    let lower = name.to_ascii_lowercase();
    if lower.contains("_vti_") || lower == ".lock" || lower == "desktop.ini" {
        return Err(format!("{name:?} is a name reserved by OneDrive"));
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    if RESERVED_STEMS.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Err(format!("{stem:?} is a name reserved by Windows and OneDrive"));
    }
    Ok(())
}

/// Checks a configured feature-folder name: a valid file name made of ASCII letters,
/// digits, `-`, `_` and `.` only (and not `temp`, which holds the users' uploads).
pub fn validate_folder(name: &str) -> Result<(), String> {
    validate_filename(name)?;
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return Err(format!("folder {name:?} may only use ASCII letters, digits, '-', '_' and '.'"));
    }
    if name.eq_ignore_ascii_case("temp") {
        return Err("\"temp\" is where uploads land; it cannot be a feature folder".into());
    }
    Ok(())
}

/// A validated user id (the JWT `sub`), and the folder name it maps to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// Validates a user id: 1-128 bytes of ASCII letters, digits and `. _ @ + -`, starting
    /// with a letter or digit and not ending with a dot, never `..`.
    pub fn parse(sub: &str) -> Result<UserId, String> {
        let ok_len = (1..=128).contains(&sub.len());
        let ok_chars = sub.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'+' | b'-'));
        let ok_ends = sub.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric()) && !sub.ends_with('.');
        if ok_len && ok_chars && ok_ends && !sub.contains("..") && validate_filename(sub).is_ok() {
            Ok(UserId(sub.to_owned()))
        } else {
            Err("the user id is not usable as a folder name".into())
        }
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of the user's folder under `temp/`. OneDrive compares names without case, so
    /// ids with capitals get a suffix derived from the exact id (`~` never occurs in an id):
    /// `alice` -> `alice`, `Alice` -> `alice~3bc51062973c458d`. Distinct ids never share a folder.
    pub fn folder(&self) -> String {
        if self.0.bytes().any(|b| b.is_ascii_uppercase()) {
            let digest = Sha256::digest(self.0.as_bytes());
            format!("{}~{}", self.0.to_ascii_lowercase(), hex::encode(&digest[..8]))
        } else {
            self.0.clone()
        }
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for name in ["a.bin", "photo 1.jpg", "résumé.pdf", "#hash%.txt", "x", "名前.txt", "a.b.c", "CONSOLE.txt", "~x"]
        {
            assert_eq!(validate_filename(name), Ok(()), "{name}");
        }
        assert!(validate_filename(&"é".repeat(127)).is_ok());
    }

    #[test]
    fn hostile_names_fail() {
        let long = "a".repeat(256);
        let long_utf8 = "é".repeat(128);
        for name in [
            "",
            "..",
            ".",
            "../x",
            "a/b",
            "a\\b",
            "a*b",
            "a<b",
            "a>b",
            "a?b",
            "a:b",
            "a|b",
            "a\"b",
            "a\0b",
            "a\nb",
            "a\u{7f}b",
            "x.",
            "x ",
            " x",
            "~$lock.docx",
            "CON",
            "con.txt",
            "Lpt1.log",
            "NUL",
            "a.._b",
            "_vti_x",
            ".lock",
            "desktop.ini",
            &long,
            &long_utf8,
        ] {
            assert!(validate_filename(name).is_err(), "{name:?} should be refused");
        }
    }

    #[test]
    fn folders_are_plain_ascii() {
        assert!(validate_folder("salon-photos").is_ok());
        assert!(validate_folder("documents").is_ok());
        for bad in ["temp", "TEMP", "a b", "é", "", "..", "a/b", "con"] {
            assert!(validate_folder(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn user_ids() {
        for good in ["alice", "bob.smith@example.com", "00000000-0000-0000-0000-000000000000", "AbC_d-9", "a+b"] {
            assert!(UserId::parse(good).is_ok(), "{good}");
        }
        let long = "a".repeat(129);
        for bad in ["", ".hidden", "..", "a..b", "a/b", "a\\b", "a b", "x.", "a~b", "é", "-x", "con", &long] {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn folders_never_collide_across_case() {
        let lower = UserId::parse("alice").unwrap();
        let upper = UserId::parse("Alice").unwrap();
        let upper2 = UserId::parse("ALICE").unwrap();
        assert_eq!(lower.folder(), "alice");
        assert!(upper.folder().starts_with("alice~"));
        assert_ne!(upper.folder().to_lowercase(), lower.folder());
        assert_ne!(upper.folder(), upper2.folder());
        assert!(validate_filename(&upper.folder()).is_ok());
    }
}
