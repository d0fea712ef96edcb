//! OneDrive's rules for item names and item ids: the one place they are written down.
//!
//! The server checks names and ids before calling Graph, and the emulator refuses what
//! OneDrive refuses, with these same functions. Each rule is one [`NameRule`]; stricter,
//! site-specific rules (user ids, feature folders) are layered on top by the server.

use crate::error::CoreError;
use core::fmt;

/// Longest name accepted, in UTF-8 bytes. OneDrive allows 255 characters; counting bytes is
/// stricter, so every name accepted here is also accepted by OneDrive.
pub const MAX_NAME_BYTES: usize = 255;

/// Characters OneDrive refuses anywhere in a name (OneDrive and SharePoint in Microsoft 365).
pub const FORBIDDEN_CHARS: &[char] = &['"', '*', ':', '<', '>', '?', '/', '\\', '|'];

/// Names OneDrive refuses whole (compared without case).
pub const RESERVED_NAMES: &[&str] = &[".lock", "desktop.ini"];

/// Windows device names OneDrive refuses as a name or as the part before the first dot
/// (compared without case, trailing spaces of that part ignored, as Windows does).
pub const RESERVED_STEMS: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT0",
    "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// A string OneDrive refuses anywhere in a name (compared without case).
pub const RESERVED_INFIX: &str = "_vti_";

/// The prefix of Office lock files, refused at the start of a name.
pub const LOCK_FILE_PREFIX: &str = "~$";

/// Longest item id accepted, in bytes (real ids are 16-60 characters).
pub const MAX_ITEM_ID_BYTES: usize = 200;

/// Unicode format characters (general category Cf) and the line and paragraph separators
/// (Zl, Zp): invisible, or they reorder what is shown (`evil\u{202E}txt.exe` reads `evilexe.txt`).
/// Inclusive ranges; the whole of Cf as of Unicode 15.1.
pub const FORMAT_CHARS: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),   // soft hyphen
    ('\u{0600}', '\u{0605}'),   // Arabic number signs
    ('\u{061C}', '\u{061C}'),   // Arabic letter mark
    ('\u{06DD}', '\u{06DD}'),   // Arabic end of ayah
    ('\u{070F}', '\u{070F}'),   // Syriac abbreviation mark
    ('\u{0890}', '\u{0891}'),   // Arabic pound / piastre mark above
    ('\u{08E2}', '\u{08E2}'),   // Arabic disputed end of ayah
    ('\u{180E}', '\u{180E}'),   // Mongolian vowel separator
    ('\u{200B}', '\u{200F}'),   // zero-width space, ZWNJ, ZWJ, LRM, RLM
    ('\u{2028}', '\u{2029}'),   // line and paragraph separators (Zl, Zp)
    ('\u{202A}', '\u{202E}'),   // bidi embeddings and overrides
    ('\u{2060}', '\u{2064}'),   // word joiner, invisible operators
    ('\u{2066}', '\u{206F}'),   // bidi isolates, deprecated format characters
    ('\u{FEFF}', '\u{FEFF}'),   // byte order mark, zero-width no-break space
    ('\u{FFF9}', '\u{FFFB}'),   // interlinear annotation
    ('\u{110BD}', '\u{110BD}'), // Kaithi number sign
    ('\u{110CD}', '\u{110CD}'), // Kaithi number sign above
    ('\u{13430}', '\u{1343F}'), // Egyptian hieroglyph format controls
    ('\u{1BCA0}', '\u{1BCA3}'), // shorthand format controls
    ('\u{1D173}', '\u{1D17A}'), // musical symbol format controls
    ('\u{E0001}', '\u{E0001}'), // language tag
    ('\u{E0020}', '\u{E007F}'), // tag characters
];

/// The rule a name breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_NAME_BYTES`].
    TooLong,
    /// `.` or `..`.
    DotSegment,
    /// One of [`FORBIDDEN_CHARS`].
    Forbidden(char),
    /// A control character (Unicode Cc: U+0000-U+001F, U+007F-U+009F).
    Control,
    /// One of [`FORMAT_CHARS`].
    Format(char),
    /// Starts with white space.
    LeadingSpace,
    /// Ends with a dot or white space.
    TrailingDotOrSpace,
    /// Starts with [`LOCK_FILE_PREFIX`].
    LockFile,
    /// One of [`RESERVED_NAMES`], or contains [`RESERVED_INFIX`].
    Reserved,
    /// Its stem is one of [`RESERVED_STEMS`].
    DeviceName,
}

impl fmt::Display for NameRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameRule::Empty => f.write_str("is empty"),
            NameRule::TooLong => write!(f, "is longer than {MAX_NAME_BYTES} bytes"),
            NameRule::DotSegment => f.write_str("is a relative path step (\".\" or \"..\")"),
            NameRule::Forbidden(c) => write!(f, "contains '{c}', which OneDrive does not allow"),
            NameRule::Control => f.write_str("contains a control character"),
            NameRule::Format(c) => {
                write!(f, "contains the invisible or direction-changing character U+{:04X}", u32::from(*c))
            }
            NameRule::LeadingSpace => f.write_str("starts with a space"),
            NameRule::TrailingDotOrSpace => f.write_str("ends with a dot or a space"),
            NameRule::LockFile => write!(f, "starts with \"{LOCK_FILE_PREFIX}\""),
            NameRule::Reserved => f.write_str("is a name reserved by OneDrive"),
            NameRule::DeviceName => f.write_str("is a device name reserved by Windows and OneDrive"),
        }
    }
}

/// Whether `c` is one of [`FORMAT_CHARS`].
pub fn is_format_char(c: char) -> bool {
    FORMAT_CHARS.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// The first rule `name` breaks, if any, checked in the order of [`NameRule`].
pub fn name_rule(name: &str) -> Option<NameRule> {
    if name.is_empty() {
        return Some(NameRule::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Some(NameRule::TooLong);
    }
    if name == "." || name == ".." {
        return Some(NameRule::DotSegment);
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN_CHARS.contains(c)) {
        return Some(NameRule::Forbidden(c));
    }
    if name.chars().any(char::is_control) {
        return Some(NameRule::Control);
    }
    if let Some(c) = name.chars().find(|&c| is_format_char(c)) {
        return Some(NameRule::Format(c));
    }
    if name.starts_with(char::is_whitespace) {
        return Some(NameRule::LeadingSpace);
    }
    if name.ends_with(|c: char| c == '.' || c.is_whitespace()) {
        return Some(NameRule::TrailingDotOrSpace);
    }
    if name.starts_with(LOCK_FILE_PREFIX) {
        return Some(NameRule::LockFile);
    }
    let lower = name.to_lowercase();
    if RESERVED_NAMES.contains(&lower.as_str()) || lower.contains(RESERVED_INFIX) {
        return Some(NameRule::Reserved);
    }
    let stem = name.split('.').next().unwrap_or_default().trim_end();
    if RESERVED_STEMS.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Some(NameRule::DeviceName);
    }
    None
}

/// Checks one item name (a file or folder name, not a path) against OneDrive's rules.
pub fn validate_name(name: &str) -> Result<(), CoreError> {
    name_rule(name).map_or(Ok(()), |rule| Err(CoreError::Name(rule)))
}

/// Checks an item id: 1 to [`MAX_ITEM_ID_BYTES`] bytes of ASCII letters, digits and `! - _ .`,
/// starting with a letter or a digit. This covers OneDrive for Business ids (`01` + 32
/// base32 characters), personal ids (`D4648F06C91D9D3D!54927`, `D4648F06C91D9D3D!s...`) and
/// the emulator's; it keeps out `/`, `~`, `%`, `..` and anything that reads as a path.
pub fn validate_item_id(id: &str) -> Result<(), CoreError> {
    let ok = (1..=MAX_ITEM_ID_BYTES).contains(&id.len())
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'!' | b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::ItemId)
    }
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
