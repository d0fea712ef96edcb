//! The server's own naming rules, on top of OneDrive's (`onedrive_upload_core::names`): file
//! names never containing `..`, feature-folder names and user ids (safe as folder names).

use onedrive_upload_core::names::name_rule;
use sha2::{Digest, Sha256};

/// Checks a file name against OneDrive's rules (core), and refuses `..` anywhere in it, which
/// OneDrive allows, so that no name ever reads as a path step. The error says which rule failed.
pub fn validate_filename(name: &str) -> Result<(), String> {
    if let Some(rule) = name_rule(name) {
        return Err(format!("the file name {rule}"));
    }
    if name.contains("..") {
        return Err("the file name may not contain \"..\"".into());
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
    fn file_names_are_core_rules_plus_no_double_dot() {
        for name in ["a.bin", "photo 1.jpg", "résumé.pdf", "#hash%.txt", "名前.txt", "a.b.c", "CONSOLE.txt", "~x"] {
            assert_eq!(validate_filename(name), Ok(()), "{name}");
        }
        for (name, says) in [
            ("a.._b", "\"..\""),
            ("..", "relative path step"),
            ("a:b", "':'"),
            ("con .txt", "device name"),
            ("evil\u{202E}txt.exe", "U+202E"),
            ("a\u{200B}b", "U+200B"),
            ("\u{FEFF}x", "U+FEFF"),
            ("a\u{2028}b", "U+2028"),
        ] {
            let message = validate_filename(name).unwrap_err();
            assert!(message.starts_with("the file name ") && message.contains(says), "{name:?}: {message}");
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
