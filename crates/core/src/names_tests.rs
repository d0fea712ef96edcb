//! One table-driven test per naming rule of `names.rs`.

use super::*;

/// Checks that each name of `refused` breaks `rule` first, and that each of `accepted` passes.
fn table(rule: fn(&str) -> NameRule, refused: &[&str], accepted: &[&str]) {
    for name in refused {
        assert_eq!(name_rule(name), Some(rule(name)), "{name:?}");
        assert_eq!(validate_name(name), Err(CoreError::Name(rule(name))), "{name:?}");
    }
    for name in accepted {
        assert_eq!(name_rule(name), None, "{name:?} refused");
        assert_eq!(validate_name(name), Ok(()), "{name:?}");
    }
}

#[test]
fn ordinary_names_pass() {
    table(
        |_| NameRule::Empty,
        &[],
        &["a.bin", "photo 1.jpg", "résumé.pdf", "#hash%.txt", "x", "名前.txt", "a.b.c", ".bashrc", "a..b", "~x", "~"],
    );
}

#[test]
fn rule_empty() {
    table(|_| NameRule::Empty, &[""], &["a"]);
}

#[test]
fn rule_too_long() {
    let (long, long_utf8) = ("a".repeat(256), "é".repeat(128));
    let (max, max_utf8) = ("a".repeat(255), "é".repeat(127));
    table(|_| NameRule::TooLong, &[&long, &long_utf8], &[&max, &max_utf8]);
}

#[test]
fn rule_dot_segment() {
    table(|_| NameRule::DotSegment, &[".", ".."], &[".a", "..a", "a..b"]);
}

#[test]
fn rule_forbidden_characters() {
    let refused = ["a\"b", "a*b", "a:b", "a<b", "a>b", "a?b", "a/b", "a\\b", "a|b", "../x"];
    let first = |n: &str| NameRule::Forbidden(n.chars().find(|c| FORBIDDEN_CHARS.contains(c)).unwrap());
    table(first, &refused, &["a#b", "a%b", "a&b", "a{b}", "a[b]", "a~b", "a;b", "a'b", "a+b=c", "a,b"]);
}

#[test]
fn rule_control_characters() {
    table(
        |_| NameRule::Control,
        &["a\0b", "a\u{1}b", "a\tb", "a\nb", "a\rb", "a\u{1b}[31m", "a\u{7f}b", "a\u{85}b", "a\u{9f}b"],
        &["a\u{a0}b", "a b"],
    );
}

#[test]
fn rule_format_characters() {
    let refused = [
        "evil\u{202E}txt.exe",
        "a\u{200E}b",
        "a\u{200F}b",
        "a\u{202A}b",
        "a\u{2066}b",
        "a\u{2069}b",
        "zero\u{200B}width",
        "a\u{200C}b",
        "a\u{200D}b",
        "a\u{2060}b",
        "\u{FEFF}bom.txt",
        "a\u{2028}b",
        "a\u{2029}b",
        "soft\u{00AD}hyphen",
        "a\u{061C}b",
        "a\u{180E}b",
        "a\u{FFF9}b",
        "a\u{E0001}b",
        "a\u{E007F}b",
        "a\u{1D173}b",
    ];
    let first = |n: &str| NameRule::Format(n.chars().find(|&c| is_format_char(c)).unwrap());
    table(first, &refused, &["a\u{2027}b", "a\u{202F}b", "a\u{2065}b", "a\u{FEFE}b", "a\u{E0080}b", "emoji 😀.png"]);
    assert_eq!(name_rule("evil\u{202E}txt.exe"), Some(NameRule::Format('\u{202E}')));
}

#[test]
fn rule_leading_space() {
    table(|_| NameRule::LeadingSpace, &[" x", "  ", "\u{3000}x", "\u{a0}x"], &["x y"]);
}

#[test]
fn rule_trailing_dot_or_space() {
    table(|_| NameRule::TrailingDotOrSpace, &["x.", "x ", "x..", "x\u{a0}", "x. "], &["x.y", "x y"]);
}

#[test]
fn rule_lock_file_prefix() {
    table(|_| NameRule::LockFile, &["~$lock.docx", "~$"], &["~lock", "$~x", "a~$b"]);
}

#[test]
fn rule_reserved_names() {
    table(
        |_| NameRule::Reserved,
        &[".lock", ".LOCK", "desktop.ini", "Desktop.INI", "_vti_", "x_vti_y", "a_VTI_b.txt"],
        &["a.lock", ".lock2", "desktop.ini.bak", "my desktop.ini", "_vti", "vti_x"],
    );
}

#[test]
fn rule_device_names() {
    table(
        |_| NameRule::DeviceName,
        &["CON", "con", "con.txt", "Lpt1.log", "NUL", "aux.tar.gz", "COM0", "com9.x", "lpt0", "con .txt", "PRN  .md"],
        &["CONSOLE.txt", "com10", "lpt", "xcon", "a.con", ".con", "con_1.txt", "nul1"],
    );
}

#[test]
fn item_ids() {
    let long = "A".repeat(MAX_ITEM_ID_BYTES + 1);
    let max = "A".repeat(MAX_ITEM_ID_BYTES);
    for good in
        ["01BYE5RZ6QN3ZWBTUFOFD3GSPGOHDJD36K", "D4648F06C91D9D3D!54927", "D4648F06C91D9D3D!sa1b-c_d", "a.b", &max]
    {
        assert_eq!(validate_item_id(good), Ok(()), "{good:?}");
    }
    for bad in ["", ".", "..", ".a", "!a", "-a", "a~b", "a/b", "a%2Fb", "a b", "a?b", "a:b", "a\\b", "é", "a\0", &long]
    {
        assert_eq!(validate_item_id(bad), Err(CoreError::ItemId), "{bad:?}");
    }
}

#[test]
fn every_rule_has_a_message() {
    let e = CoreError::Name(NameRule::Format('\u{202E}'));
    assert!(e.to_string().contains("character U+202E"), "{e}");
    assert!(CoreError::Name(NameRule::Format('\u{E0001}')).to_string().ends_with("U+E0001"));
    assert!(CoreError::Name(NameRule::TooLong).to_string().contains(&MAX_NAME_BYTES.to_string()));
    assert!(CoreError::Name(NameRule::LockFile).to_string().contains(LOCK_FILE_PREFIX));
    assert!(CoreError::Name(NameRule::Forbidden(':')).to_string().contains("':'"));
    assert_eq!(CoreError::ItemId.to_string(), "not a OneDrive item id");
}
