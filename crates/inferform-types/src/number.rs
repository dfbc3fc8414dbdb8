//! [`Number`]: numbers as Terraform computes them, exact in decimal.
//!
//! Terraform's numbers are arbitrary-precision decimals: `0.1 + 0.2` is `0.3`, and a 20-digit
//! integer keeps every digit. A 64-bit float gets both wrong, and an infrastructure tool that
//! computes a different port, size or count from the same file is worse than one that
//! refuses it. A number is therefore an exact decimal of up to 28 significant digits (no
//! allocation, so a configuration of 10,000 resources loads as fast as before), and falls
//! back to a float only beyond that range or for results that are not decimal anyway
//! (`log`, a fractional power).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;

#[derive(Clone, Copy, Debug)]
pub enum Number {
    Exact(Decimal),
    Float(f64),
}

impl Number {
    /// From a float: its shortest decimal form (`0.1`, not the binary value nearest it).
    pub fn from_f64(f: f64) -> Number {
        if !f.is_finite() {
            return Number::Float(f);
        }
        // The shortest text that reads back as `f`, then exact if it fits.
        let text = format!("{f}");
        match Decimal::from_str_exact(&text).or_else(|_| Decimal::from_scientific(&text)) {
            Ok(d) => Number::Exact(d),
            Err(_) => Number::Float(f),
        }
    }

    /// Reads a number as written (`42`, `-0.5`, `1e20`): exact when it fits. Surrounding
    /// spaces make it no number, as in Terraform.
    pub fn parse(text: &str) -> Option<Number> {
        let t = text;
        if t.is_empty() {
            return None;
        }
        if let Ok(d) = Decimal::from_str_exact(t) {
            return Some(Number::Exact(d));
        }
        if let Ok(d) = Decimal::from_scientific(t) {
            if d.to_string().len() < 40 {
                return Some(Number::Exact(d));
            }
        }
        t.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Number::from_f64)
    }

    /// The nearest float. A whole number converts directly; others through their decimal
    /// text, which rounds correctly (a direct conversion can be one unit off: 1/3 would read
    /// 0.33333333333333337).
    pub fn to_f64(self) -> f64 {
        match self {
            Number::Exact(d) if d.scale() == 0 => d
                .to_i64()
                .map_or_else(|| d.to_string().parse().unwrap_or(f64::NAN), |i| i as f64),
            Number::Exact(d) => d.to_string().parse().unwrap_or(f64::NAN),
            Number::Float(f) => f,
        }
    }

    /// The number as an `i64`, when it is whole and fits.
    pub fn to_i64(self) -> Option<i64> {
        match self {
            Number::Exact(d) if d.fract().is_zero() => d.to_i64(),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(f as i64),
            _ => None,
        }
    }

    pub fn is_whole(self) -> bool {
        match self {
            Number::Exact(d) => d.fract().is_zero(),
            Number::Float(f) => f.fract() == 0.0,
        }
    }

    pub fn is_negative(self) -> bool {
        match self {
            Number::Exact(d) => d.is_sign_negative() && !d.is_zero(),
            Number::Float(f) => f < 0.0,
        }
    }

    pub fn abs(self) -> Number {
        match self {
            Number::Exact(d) => Number::Exact(d.abs()),
            Number::Float(f) => Number::Float(f.abs()),
        }
    }

    pub fn floor(self) -> Number {
        match self {
            Number::Exact(d) => Number::Exact(d.floor()),
            Number::Float(f) => Number::Float(f.floor()),
        }
    }

    pub fn ceil(self) -> Number {
        match self {
            Number::Exact(d) => Number::Exact(d.ceil()),
            Number::Float(f) => Number::Float(f.ceil()),
        }
    }

    /// Exact when both are exact and the result fits; a float otherwise.
    fn combine(
        self,
        other: Number,
        exact: impl Fn(Decimal, Decimal) -> Option<Decimal>,
        float: impl Fn(f64, f64) -> f64,
    ) -> Number {
        if let (Number::Exact(a), Number::Exact(b)) = (self, other) {
            if let Some(d) = exact(a, b) {
                return Number::Exact(d);
            }
        }
        Number::Float(float(self.to_f64(), other.to_f64()))
    }
}

macro_rules! arithmetic {
    ($trait:ident, $method:ident, $exact:ident, $op:tt) => {
        impl std::ops::$trait for Number {
            type Output = Number;
            /// Exact when both are exact and the result fits; a float otherwise.
            fn $method(self, other: Number) -> Number {
                self.combine(other, |a, b| a.$exact(b), |a, b| a $op b)
            }
        }
    };
}

arithmetic!(Add, add, checked_add, +);
arithmetic!(Sub, sub, checked_sub, -);
arithmetic!(Mul, mul, checked_mul, *);
// Division: a quotient that does not end within 28 digits is rounded there, as Terraform
// rounds at its own (larger) precision; the caller refuses a zero divisor.
arithmetic!(Div, div, checked_div, /);
// The remainder has the sign of the dividend (`-7 % 3` is `-1`), as in Terraform.
arithmetic!(Rem, rem, checked_rem, %);

impl std::ops::Neg for Number {
    type Output = Number;
    fn neg(self) -> Number {
        match self {
            Number::Exact(d) => Number::Exact(-d),
            Number::Float(f) => Number::Float(-f),
        }
    }
}

impl From<f64> for Number {
    fn from(f: f64) -> Number {
        Number::from_f64(f)
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number::Exact(Decimal::from(i))
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Number {
        Number::Exact(Decimal::from(i))
    }
}

impl From<usize> for Number {
    fn from(i: usize) -> Number {
        Decimal::from_usize(i).map_or(Number::Float(i as f64), Number::Exact)
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.partial_cmp(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Exact(a), Number::Exact(b)) => Some(a.cmp(b)),
            _ => self.to_f64().partial_cmp(&other.to_f64()),
        }
    }
}

impl fmt::Display for Number {
    /// As Terraform prints numbers: `3`, `0.5`, whole numbers in all their digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Exact(d) => write!(f, "{}", d.normalize()),
            Number::Float(x) if x.fract() == 0.0 && x.abs() < 1e21 => write!(f, "{x:.0}"),
            Number::Float(x) if x.is_finite() => f.write_str(&plain(*x)),
            Number::Float(x) => write!(f, "{}", serde_json::Value::from(*x)),
        }
    }
}

/// A float in plain decimal digits, never with an exponent (`1e100` is a 1 and 100 zeros,
/// `1.5e-30` starts `0.000`), from its shortest digits: as Terraform prints numbers.
fn plain(x: f64) -> String {
    let text = format!("{:e}", x.abs());
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // Where the decimal point goes, counted from the start of the digits.
    let point = exp + 1;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, frac) = digits.split_at(point as usize);
        format!("{whole}.{frac}")
    };
    if x < 0.0 {
        format!("-{body}")
    } else {
        body
    }
}

impl FromStr for Number {
    type Err = ();
    fn from_str(s: &str) -> Result<Number, ()> {
        Number::parse(s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn floats_print_in_plain_digits() {
        assert_eq!(plain(1e100), format!("1{}", "0".repeat(100)));
        assert_eq!(plain(-1.5e30), format!("-15{}", "0".repeat(29)));
        assert_eq!(plain(1.5e-30), format!("0.{}15", "0".repeat(29)));
        assert_eq!(plain(12.5), "12.5");
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(n("0.1") + n("0.2"), n("0.3"));
        assert_eq!((n("0.1") * n("3")).to_string(), "0.3");
        assert_eq!(
            (n("12345678901234567890") + n("1")).to_string(),
            "12345678901234567891"
        );
        assert_eq!(n("1e20").to_string(), "100000000000000000000");
        assert_eq!((n("-7") % n("3")).to_string(), "-1");
        assert_eq!((n("5") / n("2")).to_string(), "2.5");
        assert_eq!(Number::from_f64(0.1).to_string(), "0.1");
        assert_eq!(n("1.50").to_string(), "1.5");
        assert_eq!((n("1") / n("3")).to_f64(), 1.0 / 3.0);
    }

    #[test]
    fn beyond_exact_range_numbers_are_floats() {
        let big = n("1e40");
        assert!(matches!(big, Number::Float(_)));
        assert_eq!((big * n("10")).to_f64(), 1e41);
    }
}
