//! Sizes: amounts of bytes written as Kubernetes quantities (`10Gi`, `500Mi`, `1G`, `100k`,
//! `1.5Gi`, `129e6`, plain `4096`). The parser lives here so the checker can refuse a bad
//! literal in `size("…")` before the run (E0213) and the interpreter reads text at run time
//! with exactly the same rules.
//!
//! A size is a whole number of bytes in an `i64`: a fraction of a byte (`1.5`, `500m`) is
//! rounded up, as Kubernetes rounds a quantity's value. Text is never negative (no capacity or
//! request is); subtraction may make a negative size, which prints with a `-`.

/// Binary suffixes, largest first.
const BINARY: &[(&str, u32)] = &[
    ("Ei", 60),
    ("Pi", 50),
    ("Ti", 40),
    ("Gi", 30),
    ("Mi", 20),
    ("Ki", 10),
];

/// Decimal suffixes and their power of ten, largest first (`m` is milli, as in Kubernetes).
const DECIMAL: &[(&str, i32)] = &[
    ("E", 18),
    ("P", 15),
    ("T", 12),
    ("G", 9),
    ("M", 6),
    ("k", 3),
    ("m", -3),
];

/// Why a text is not a size, phrased to follow "`TEXT` is not a size: ".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SizeError {
    Empty,
    Negative,
    /// The number part is missing or malformed.
    NotANumber,
    /// A suffix Kubernetes does not know (`10GB`, `10gi`).
    UnknownSuffix(String),
    TooLarge,
}

impl std::fmt::Display for SizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SizeError::Empty => f.write_str("it is empty"),
            SizeError::Negative => f.write_str("a size cannot be negative"),
            SizeError::NotANumber => f.write_str("it does not start with a number"),
            SizeError::UnknownSuffix(suffix) => write!(
                f,
                "`{suffix}` is not a unit: use Ki Mi Gi Ti Pi Ei (powers of 1024), k M G T P E (powers of 1000) or none (bytes)"
            ),
            SizeError::TooLarge => f.write_str("it is larger than the largest size (8Ei)"),
        }
    }
}

impl std::error::Error for SizeError {}

/// The number of bytes a Kubernetes quantity stands for.
pub fn parse_size(text: &str) -> Result<i64, SizeError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SizeError::Empty);
    }
    let unsigned = match text.strip_prefix('-') {
        Some(_) => return Err(SizeError::Negative),
        None => text.strip_prefix('+').unwrap_or(text),
    };
    let number_end = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(number_end);
    let number = parse_decimal(number).ok_or(SizeError::NotANumber)?;
    let bytes = match suffix {
        "" => number,
        _ => {
            if let Some((_, shift)) = BINARY.iter().find(|(s, _)| *s == suffix) {
                number * 2f64.powi(*shift as i32)
            } else if let Some((_, power)) = DECIMAL.iter().find(|(s, _)| *s == suffix) {
                number * 10f64.powi(*power)
            } else if let Some(exponent) = suffix
                .strip_prefix(['e', 'E'])
                .and_then(|e| e.parse::<i32>().ok())
            {
                number * 10f64.powi(exponent)
            } else {
                return Err(SizeError::UnknownSuffix(suffix.to_string()));
            }
        }
    };
    let rounded = (bytes - 1e-9).ceil().max(0.0);
    if !rounded.is_finite() || rounded >= i64::MAX as f64 {
        return Err(SizeError::TooLarge);
    }
    // Exact for whole binary and decimal quantities: use integer arithmetic when we can, so
    // `8Ei - 1` style values and large byte counts do not pick up float error.
    Ok(exact_bytes(unsigned, suffix).unwrap_or(rounded as i64))
}

/// `digits` in `[0-9]+(\.[0-9]*)?` or `\.[0-9]+`.
fn parse_decimal(digits: &str) -> Option<f64> {
    let valid = !digits.is_empty()
        && digits != "."
        && digits.matches('.').count() <= 1
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.');
    if valid {
        digits.parse().ok()
    } else {
        None
    }
}

/// The byte count in integers when the number is whole and the unit not fractional.
fn exact_bytes(unsigned: &str, suffix: &str) -> Option<i64> {
    let whole: i64 = unsigned[..unsigned.len() - suffix.len()].parse().ok()?;
    let factor: i64 = if suffix.is_empty() {
        1
    } else if let Some((_, shift)) = BINARY.iter().find(|(s, _)| *s == suffix) {
        1i64.checked_shl(*shift)?
    } else if let Some((_, power)) = DECIMAL.iter().find(|(s, _)| *s == suffix) {
        10i64.checked_pow(u32::try_from(*power).ok()?)?
    } else {
        return None;
    };
    whole.checked_mul(factor)
}

/// A size as people read it: the largest unit that divides it exactly (`10Gi`, `500M`),
/// else two decimals of the largest binary unit below it (`10.37Gi`), else bytes (`512`).
/// Every form reads back with [`parse_size`] (the rounded one to about a percent).
pub fn format_size(bytes: i64) -> String {
    let sign = if bytes < 0 { "-" } else { "" };
    let magnitude = bytes.unsigned_abs();
    if magnitude == 0 {
        return "0".into();
    }
    for (suffix, shift) in BINARY {
        let unit = 1u64 << shift;
        if magnitude.is_multiple_of(unit) {
            return format!("{sign}{}{suffix}", magnitude / unit);
        }
    }
    for (suffix, power) in DECIMAL.iter().filter(|(_, p)| *p > 0) {
        let unit = 10u64.pow(*power as u32);
        if magnitude.is_multiple_of(unit) {
            return format!("{sign}{}{suffix}", magnitude / unit);
        }
    }
    for (suffix, shift) in BINARY {
        let unit = 1u64 << shift;
        if magnitude >= unit {
            let scaled = magnitude as f64 / unit as f64;
            let text = format!("{scaled:.2}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            return format!("{sign}{text}{suffix}");
        }
    }
    format!("{sign}{magnitude}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_quantities_parse_to_bytes() {
        for (text, bytes) in [
            ("10Gi", 10 * (1 << 30)),
            ("500Mi", 500 * (1 << 20)),
            ("1G", 1_000_000_000),
            ("100k", 100_000),
            ("4096", 4096),
            ("1.5Gi", 3 * (1 << 29)),
            ("129e6", 129_000_000),
            ("129E6", 129_000_000),
            (" 2Ki ", 2048),
            ("+1Ki", 1024),
            ("0", 0),
            ("1500m", 2),
            ("7Ei", 7 << 60),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn what_is_not_a_size_says_why() {
        assert_eq!(parse_size(""), Err(SizeError::Empty));
        assert_eq!(parse_size("-1Gi"), Err(SizeError::Negative));
        assert_eq!(parse_size("Gi"), Err(SizeError::NotANumber));
        assert_eq!(parse_size("1.2.3Gi"), Err(SizeError::NotANumber));
        assert_eq!(parse_size("."), Err(SizeError::NotANumber));
        assert_eq!(
            parse_size("10GB"),
            Err(SizeError::UnknownSuffix("GB".into()))
        );
        assert_eq!(
            parse_size("10gi"),
            Err(SizeError::UnknownSuffix("gi".into()))
        );
        assert_eq!(parse_size("9Ei"), Err(SizeError::TooLarge));
        assert_eq!(parse_size("1e400"), Err(SizeError::TooLarge));
        assert!(SizeError::UnknownSuffix("GB".into())
            .to_string()
            .contains("Ki Mi Gi"));
    }

    #[test]
    fn sizes_print_in_the_largest_exact_unit_and_read_back() {
        for (bytes, text) in [
            (10i64 << 30, "10Gi"),
            (500 << 20, "500Mi"),
            (1_000_000_000, "1G"),
            (512, "512"),
            (0, "0"),
            (-(2 << 30), "-2Gi"),
            (11_134_000_000, "11134M"),
            (11_134_123_456, "10.37Gi"),
        ] {
            assert_eq!(format_size(bytes), text, "{bytes}");
            if bytes >= 0 {
                let back = parse_size(text).unwrap();
                assert!((back - bytes).abs() <= bytes / 100, "{text}: {back}");
            }
        }
    }
}
