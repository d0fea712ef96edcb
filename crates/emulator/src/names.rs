//! OneDrive's rules for item names, and splitting percent-encoded Graph paths into names.

use crate::error::EmulatorError;
use percent_encoding::percent_decode_str;

/// Longest name, in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 255;

const FORBIDDEN: &[char] = &['/', '\\', '*', '<', '>', '?', ':', '|', '"'];
const RESERVED: &[&str] = &[
    ".lock",
    "desktop.ini",
    "con",
    "prn",
    "aux",
    "nul",
    "com0",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt0",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
];

/// Checks one item name; the error is a Graph 400 `invalidRequest` saying why.
pub fn validate(name: &str) -> Result<(), EmulatorError> {
    let bad = |why: &str| {
        Err(EmulatorError::invalid_request(format!("The name is not valid: {why}.")).with_inner("invalidName"))
    };
    if name.is_empty() || name.trim().is_empty() {
        return bad("it is empty");
    }
    if name == "." || name == ".." {
        return bad("it is a relative path segment");
    }
    if name.len() > MAX_NAME_BYTES {
        return bad("it is longer than 255 bytes");
    }
    if name.chars().any(|c| c.is_control()) {
        return bad("it contains control characters");
    }
    if name.contains(FORBIDDEN) {
        return bad("it contains one of / \\ * < > ? : | \"");
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return bad("it ends with a dot or a space");
    }
    if name.starts_with(' ') {
        return bad("it starts with a space");
    }
    if name.starts_with("~$") {
        return bad("it starts with ~$");
    }
    let lower = name.to_lowercase();
    let base = lower.split('.').next().unwrap_or_default();
    if RESERVED.contains(&lower.as_str())
        || (RESERVED.contains(&base) && !base.starts_with('.'))
        || lower.contains("_vti_")
    {
        return bad("it is reserved");
    }
    Ok(())
}

/// Splits a raw (percent-encoded) path such as `Apps/x/a%20b.bin` into validated names.
pub fn split_path(raw: &str) -> Result<Vec<String>, EmulatorError> {
    let raw = raw.trim_matches('/');
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    raw.split('/')
        .map(|segment| {
            let name = percent_decode_str(segment)
                .decode_utf8()
                .map_err(|_| EmulatorError::invalid_request("The path is not valid UTF-8."))?
                .into_owned();
            validate(&name)?;
            Ok(name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in ["a.bin", "photo 1.jpg", "été.txt", "#hash%.txt", ".bashrc", "a..b", "x".repeat(255).as_str()] {
            assert!(validate(ok).is_ok(), "{ok:?} refused");
        }
    }

    #[test]
    fn refuses_hostile_names() {
        let long = "é".repeat(128);
        for bad in [
            "",
            " ",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a*b",
            "a<b",
            "a>b",
            "a?b",
            "a:b",
            "a|b",
            "a\"b",
            "a\u{0}b",
            "a\nb",
            "a\u{7f}",
            "trail.",
            "trail ",
            " lead",
            "~$lock.docx",
            "CON",
            "nul.txt",
            "desktop.ini",
            ".lock",
            "x_vti_y",
            long.as_str(),
        ] {
            assert!(validate(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn splits_and_decodes_paths() {
        assert_eq!(split_path("Apps/x/a%20b%23.bin").unwrap(), vec!["Apps", "x", "a b#.bin"]);
        assert_eq!(split_path("/").unwrap(), Vec::<String>::new());
        assert!(split_path("a/..%2Fetc").is_err());
        assert!(split_path("a/%2E%2E/b").is_err());
        assert!(split_path("a//b").is_err());
        assert!(split_path("a/%FF").is_err());
        assert!(split_path("a/b%3Ac").is_err());
    }
}
