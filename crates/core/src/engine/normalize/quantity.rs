//! Resource quantities (`500m`, `0.5`, `1Gi`, `1e3`), parsed to an exact count of
//! nano-units so that equal amounts compare equal however they are written.
//!
//! Kubernetes keeps quantities at nano precision and rounds anything finer up (away from
//! zero); so does this type. Arithmetic is on `i128`, which holds every quantity up to
//! about 1.7e29 exactly; larger amounts are rejected rather than rounded.

use std::fmt;
use std::str::FromStr;

/// Nano-units per unit.
const NANO: i128 = 1_000_000_000;

/// How a quantity was written, which decides how its canonical form is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Decimal suffixes (`m`, `k`, `M`...) or none.
    DecimalSi,
    /// Binary suffixes (`Ki`, `Mi`, `Gi`...).
    BinarySi,
    /// A decimal exponent (`1e3`).
    DecimalExponent,
}

/// An exact resource quantity.
#[derive(Clone, Copy, Debug)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("a quantity must not be empty")]
    Empty,
    #[error("{0:?} has no number")]
    NoNumber(String),
    #[error("{0:?} has an unknown suffix")]
    UnknownSuffix(String),
    #[error("{0:?} is too large to compare exactly")]
    OutOfRange(String),
}

impl Quantity {
    /// The amount in nano-units (`1` is `1_000_000_000`).
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// A quantity written as a JSON number (`cpu: 0.5`, `memory: 1073741824`), read as
    /// the decimal it is written as.
    pub fn from_number(number: &serde_json::Number) -> Option<Self> {
        if let Some(whole) = number.as_i64() {
            return Some(Self { nanos: i128::from(whole).checked_mul(NANO)?, format: Format::DecimalSi });
        }
        if let Some(whole) = number.as_u64() {
            return Some(Self { nanos: i128::from(whole).checked_mul(NANO)?, format: Format::DecimalSi });
        }
        // A float's shortest round-trip spelling is the decimal that was written.
        let mut buffer = [0_u8; 40];
        let mut cursor = std::io::Cursor::new(&mut buffer[..]);
        std::io::Write::write_fmt(&mut cursor, format_args!("{number}")).ok()?;
        let written = usize::try_from(cursor.position()).ok()?;
        std::str::from_utf8(&buffer[..written]).ok()?.parse().ok()
    }

    /// How the quantity was written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The canonical form Kubernetes writes: the largest suffix (of the format the
    /// quantity was written in) that keeps the number whole, `0` for zero. Binary
    /// quantities that are not whole multiples of 1024, or are below 1024, are written in
    /// decimal, as Kubernetes does.
    pub fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        if self.format == Format::BinarySi
            && self.nanos % NANO == 0
            && let Some(binary) = binary_form(self.nanos / NANO)
        {
            return binary;
        }
        let (mantissa, exponent) = decimal_parts(self.nanos);
        match (self.format, exponent) {
            (_, 0) => mantissa.to_string(),
            (Format::DecimalExponent, _) => format!("{mantissa}e{exponent}"),
            _ => format!("{mantissa}{}", decimal_suffix(exponent)),
        }
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(QuantityError::Empty);
        }
        let (negative, unsigned) = match text.as_bytes()[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let number_len = unsigned.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let (number, suffix) = unsigned.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(QuantityError::NoNumber(text.to_string()));
        }
        let out_of_range = || QuantityError::OutOfRange(text.to_string());
        let mantissa = digits_value(whole, fraction).ok_or_else(out_of_range)?;
        let (multiplier, format) =
            parse_suffix(suffix).ok_or_else(|| QuantityError::UnknownSuffix(text.to_string()))?;
        let fraction_digits = i32::try_from(fraction.len()).map_err(|_| out_of_range())?;
        let magnitude = match multiplier {
            Multiplier::PowerOfTen(exponent) => scale(mantissa, 1, exponent + 9 - fraction_digits),
            Multiplier::PowerOf1024(power) => {
                let factor = 1024_i128.checked_pow(power).ok_or_else(out_of_range)?;
                scale(mantissa, factor, 9 - fraction_digits)
            }
        }
        .ok_or_else(out_of_range)?;
        Ok(Self { nanos: if negative { -magnitude } else { magnitude }, format })
    }
}

/// What a suffix multiplies by.
enum Multiplier {
    PowerOfTen(i32),
    PowerOf1024(u32),
}

fn parse_suffix(suffix: &str) -> Option<(Multiplier, Format)> {
    let decimal = |exponent| Some((Multiplier::PowerOfTen(exponent), Format::DecimalSi));
    let binary = |power| Some((Multiplier::PowerOf1024(power), Format::BinarySi));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 4 {
                return None;
            }
            Some((Multiplier::PowerOfTen(exponent.parse().ok()?), Format::DecimalExponent))
        }
    }
}

/// The integer written by the digits `whole` and `fraction` (without the point).
fn digits_value(whole: &str, fraction: &str) -> Option<i128> {
    whole
        .bytes()
        .chain(fraction.bytes())
        .try_fold(0_i128, |value, digit| value.checked_mul(10)?.checked_add(i128::from(digit - b'0')))
}

/// `mantissa * factor * 10^exponent`, rounded up (away from zero) to a whole number.
fn scale(mantissa: i128, factor: i128, exponent: i32) -> Option<i128> {
    let product = mantissa.checked_mul(factor)?;
    if exponent >= 0 {
        return product.checked_mul(10_i128.checked_pow(exponent.unsigned_abs())?);
    }
    let Some(divisor) = 10_i128.checked_pow(exponent.unsigned_abs()) else {
        // Smaller than one nano-unit: rounds up to one, unless it is zero.
        return Some(i128::from(product != 0));
    };
    let quotient = product / divisor;
    Some(if product % divisor == 0 { quotient } else { quotient + 1 })
}

/// Splits nano-units into a mantissa and the largest exponent (a multiple of 3, between
/// -9 and 18) that keeps the mantissa whole.
fn decimal_parts(nanos: i128) -> (i128, i32) {
    let mut mantissa = nanos;
    let mut exponent = -9;
    while exponent < 18 && mantissa % 1000 == 0 {
        mantissa /= 1000;
        exponent += 3;
    }
    (mantissa, exponent)
}

fn decimal_suffix(exponent: i32) -> &'static str {
    match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        _ => "E",
    }
}

/// `units` with the largest binary suffix that divides it, when it is at least 1024 in
/// magnitude.
fn binary_form(units: i128) -> Option<String> {
    if units.abs() < 1024 {
        return None;
    }
    let mut mantissa = units;
    let mut power = 0;
    while power < 6 && mantissa % 1024 == 0 {
        mantissa /= 1024;
        power += 1;
    }
    let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
    Some(format!("{mantissa}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        text.parse().unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    #[test]
    fn equal_amounts_written_differently_are_equal() {
        assert_eq!(q("500m"), q("0.5"));
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("1e3"), q("1k"));
        assert_eq!(q("1E3"), q("1000"));
        assert_eq!(q("1.5Gi"), q("1536Mi"));
        assert_eq!(q("0.1"), q("100m"));
        assert_eq!(q("+2"), q("2000m"));
        assert_eq!(q("-1"), q("-1000m"));
        assert_eq!(q("1e-3"), q("1m"));
        assert_eq!(q(".5"), q("500m"));
        assert_ne!(q("1G"), q("1Gi"));
        assert_ne!(q("100m"), q("101m"));
    }

    #[test]
    fn json_numbers_are_read_as_written() {
        let number = |text: &str| Quantity::from_number(&serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(number("0.1"), q("100m"));
        assert_eq!(number("0.25"), q("250m"));
        assert_eq!(number("2"), q("2"));
        assert_eq!(number("1e3"), q("1k"));
        assert_eq!(number("1073741824"), q("1Gi"));
        assert_eq!(number("-3"), q("-3"));
    }

    #[test]
    fn no_floating_point_rounding() {
        // 0.1 + 0.2 style errors cannot happen: these are exact.
        assert_eq!(q("0.3").nanos(), 300_000_000);
        assert_eq!(q("0.1Ki").nanos(), 102_400_000_000);
        assert_eq!(q("8Ei").nanos(), 8 * 1024_i128.pow(6) * NANO);
        assert_eq!(q("123456789012345678").nanos(), 123_456_789_012_345_678 * NANO);
    }

    #[test]
    fn finer_than_nano_rounds_up_like_kubernetes() {
        assert_eq!(q("0.1n").nanos(), 1);
        assert_eq!(q("1.5n").nanos(), 2);
        assert_eq!(q("-1.5n").nanos(), -2);
        assert_eq!(q("1e-30").nanos(), 1);
        assert_eq!(q("0e-30").nanos(), 0);
    }

    #[test]
    fn canonical_forms_follow_kubernetes() {
        for (written, canonical) in [
            ("0.5", "500m"),
            ("1000", "1k"),
            ("1500", "1500"),
            ("1.5k", "1500"),
            ("1500000", "1500k"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Ki", "512"),
            ("1.5Ki", "1536"),
            ("1073741824", "1073741824"),
            ("1e3", "1e3"),
            ("1500e0", "1500"),
            ("0.5e0", "500e-3"),
            ("0", "0"),
            ("0Gi", "0"),
            ("-500m", "-500m"),
            ("1n", "1n"),
            ("2000E", "2000E"),
        ] {
            assert_eq!(q(written).canonical(), canonical, "{written}");
        }
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        for written in ["0.5", "1.5Gi", "0.5Ki", "1e3", "1500e0", "0.5e0", "7", "3.25M", "-2Ki", "100u"] {
            let once = q(written).canonical();
            assert_eq!(q(&once).canonical(), once, "{written}");
            assert_eq!(q(&once), q(written));
        }
    }

    #[test]
    fn rejects_what_is_not_a_quantity() {
        assert_eq!("".parse::<Quantity>(), Err(QuantityError::Empty));
        assert!(matches!("Gi".parse::<Quantity>(), Err(QuantityError::NoNumber(_))));
        assert!(matches!(".".parse::<Quantity>(), Err(QuantityError::NoNumber(_))));
        assert!(matches!("1.2.3".parse::<Quantity>(), Err(QuantityError::NoNumber(_))));
        assert!(matches!("1Xi".parse::<Quantity>(), Err(QuantityError::UnknownSuffix(_))));
        assert!(matches!("1e".parse::<Quantity>(), Err(QuantityError::UnknownSuffix(_))));
        assert!(matches!("1 ".parse::<Quantity>(), Err(QuantityError::UnknownSuffix(_))));
        assert!(matches!("1e99".parse::<Quantity>(), Err(QuantityError::OutOfRange(_))));
        assert!(matches!("9".repeat(50).parse::<Quantity>(), Err(QuantityError::OutOfRange(_))));
    }
}
