//! Messages and headers built without `core::fmt`, for the code the wasm bundle links.
//!
//! wasm-size: one `format!` in the bundle links `core::fmt`'s machinery (`fmt::write`, padding,
//! integer `Display`, char counting); building the few strings the upload needs from pieces keeps
//! all of it out. Native code may format as it likes.

use alloc::string::String;

/// `parts` joined into one string.
pub fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// `n` in decimal, on the stack: `&dec(n)` is a `&str`.
pub fn dec(n: u64) -> Dec {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = n;
    // From the right; 20 digits hold any u64 (no index to check, nothing to panic).
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        at -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Dec { buf, at: at as u8 }
}

/// A decimal number written by [`dec`]; derefs to its digits.
#[derive(Clone, Copy)]
pub struct Dec {
    buf: [u8; 20],
    at: u8,
}

impl core::ops::Deref for Dec {
    type Target = str;
    fn deref(&self) -> &str {
        // Only ASCII digits were written from `at` on.
        core::str::from_utf8(self.buf.get(usize::from(self.at)..).unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_table() {
        for n in [0, 1, 9, 10, 99, 100, 327_680, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
            assert_eq!(&*dec(n), n.to_string(), "{n}");
        }
    }

    #[test]
    fn cat_joins() {
        assert_eq!(cat(&[]), "");
        assert_eq!(cat(&["HTTP ", &dec(503), ": ", "busy"]), "HTTP 503: busy");
    }
}
