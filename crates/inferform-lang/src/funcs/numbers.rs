//! Numeric functions beyond the basic ones: `parseint`, `pow`, `log`, `signum`, `sum`.

use inferform_types::{Number, Value};

use super::args::{arity, err, exact, list, number, string, FuncError};

/// The digits `parseint` reads, in order of value (bases 2 to 62, as Terraform).
const DIGITS: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

pub(super) fn dispatch(name: &str, a: &[Value]) -> Option<Result<Value, FuncError>> {
    Some(match name {
        "parseint" => parseint(a),
        "pow" => arity(name, a, 2)
            .and_then(|_| finite(number(&a[0], "the base")?.powf(number(&a[1], "the exponent")?))),
        "log" => arity(name, a, 2).and_then(|_| {
            let (x, base) = (number(&a[0], "the number")?, number(&a[1], "the base")?);
            finite(x.ln() / base.ln())
        }),
        "signum" => arity(name, a, 1).and_then(|_| {
            let x = number(&a[0], "the argument")?;
            if x.fract() != 0.0 {
                return Err(err(
                    format!("the argument must be a whole number, got {x}"),
                    "signum takes whole numbers",
                ));
            }
            Ok(Value::number(if x > 0.0 {
                1
            } else if x < 0.0 {
                -1
            } else {
                0
            }))
        }),
        "sum" => arity(name, a, 1).and_then(|_| {
            let items = list(&a[0], "the argument")?;
            if items.is_empty() {
                return Err(err(
                    "cannot sum an empty list",
                    "pass a list of at least one number",
                ));
            }
            items
                .iter()
                .try_fold(
                    Number::from(0),
                    |acc, v| Ok(acc + exact(v, "each element")?),
                )
                .map(Value::Number)
        }),
        _ => return None,
    })
}

/// A result that is a number: infinity and NaN are errors, as Terraform's are.
fn finite(x: f64) -> Result<Value, FuncError> {
    if x.is_finite() {
        Ok(Value::number(x))
    } else {
        Err(err(
            "the result is not a finite number",
            "check the arguments: a logarithm of 0, or a root of a negative number",
        ))
    }
}

fn parseint(a: &[Value]) -> Result<Value, FuncError> {
    arity("parseint", a, 2)?;
    let text = string(&a[0], "the number")?;
    let base = number(&a[1], "the base")?;
    if base.fract() != 0.0 || !(2.0..=62.0).contains(&base) {
        return Err(err(
            format!("the base must be a whole number from 2 to 62, got {base}"),
            "pass a base such as 2, 10 or 16",
        ));
    }
    let base = base as u32;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let bad = || {
        err(
            format!("cannot parse {text:?} as a base {base} integer"),
            "check the digits are valid in that base",
        )
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut value = Number::from(0);
    for c in digits.chars() {
        // Up to base 36 letters are digits in either case; above, upper case is 36 to 61.
        let c = if base <= 36 {
            c.to_ascii_lowercase()
        } else {
            c
        };
        let d = DIGITS
            .find(c)
            .filter(|&d| (d as u32) < base)
            .ok_or_else(bad)?;
        value = value * Number::from(base as i64) + Number::from(d);
    }
    Ok(Value::Number(if negative { -value } else { value }))
}
