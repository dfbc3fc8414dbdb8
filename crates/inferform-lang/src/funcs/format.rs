//! `format` and `formatlist`: Go's verbs, as Terraform reads them.

use inferform_types::Value;

use super::args::{err, number, string, FuncError};

/// `format` with Go's verbs as Terraform takes them: `%s %v %q %t %d %x %X %o %b %f %e %E
/// %%`, widths, precisions and `%[n]` argument indexes.
pub(super) fn format(fmt: &str, args: &[Value]) -> Result<String, FuncError> {
    let mut out = String::new();
    let mut next = 0usize;
    // The furthest argument a verb took: any after it is a mistake, as Terraform says.
    let mut used = 0usize;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // `%[2]s` takes the argument it names (counting from 1), and the next verb the one
        // after it, as Go does.
        if chars.peek() == Some(&'[') {
            chars.next();
            let mut n = String::new();
            for c in chars.by_ref() {
                if c == ']' {
                    break;
                }
                n.push(c);
            }
            let i: usize = n.parse().ok().filter(|i| *i >= 1).ok_or_else(|| {
                err(
                    format!("invalid argument index [{n}] in the format"),
                    "write %[1]s for the first argument",
                )
            })?;
            next = i - 1;
        }
        let mut spec = String::new();
        // `#`: the alternate form, `0x` before hex digits and `0` before octal ones.
        let mut alternate = false;
        while chars.peek() == Some(&'#') {
            alternate = true;
            chars.next();
        }
        while let Some(&p) = chars.peek() {
            if p.is_ascii_digit() || p == '.' || p == '-' {
                spec.push(p);
                chars.next();
            } else {
                break;
            }
        }
        let verb = chars.next().ok_or_else(|| {
            err(
                "the format ends with a lone %",
                "write %% for a percent sign",
            )
        })?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args.get(next).ok_or_else(|| {
            err(
                "not enough arguments for the format",
                "pass one argument per verb",
            )
        })?;
        next += 1;
        used = used.max(next);
        // `%-8s` pads on the right, `%08d` with zeros, `%.2f` sets the precision.
        let left = spec.starts_with('-');
        let digits = spec.trim_start_matches('-');
        let zero = digits.starts_with('0');
        let (width, precision) = match digits.split_once('.') {
            Some((w, p)) => (w, Some(p)),
            None => (digits, None),
        };
        let parse = |n: &str| -> Result<usize, FuncError> {
            match n.parse::<usize>() {
                Ok(n) if n <= 1024 => Ok(n),
                _ if n.is_empty() => Ok(0),
                _ => Err(err(
                    format!("the width or precision {n:?} is too large"),
                    "use at most 1024",
                )),
            }
        };
        let width = parse(width)?;
        let precision = precision.map(parse).transpose()?;
        let integer = |what: &str| -> Result<i128, FuncError> {
            let n = number(arg, what)?;
            if n.fract() != 0.0 {
                return Err(err(
                    format!("{what} must be a whole number, got {n}"),
                    "use %f for fractional numbers, or floor() first",
                ));
            }
            Ok(n as i128)
        };
        let text = match verb {
            // Collections as JSON, as Terraform writes them with %v.
            's' | 'v' => match arg {
                Value::String(s) => s.clone(),
                Value::List(_) | Value::Set(_) | Value::Object(_) => {
                    arg.to_json().map(|j| j.to_string()).unwrap_or_default()
                }
                v => v.to_string(),
            },
            'q' => serde_json::Value::String(string(arg, "a %q argument")?).to_string(),
            't' => match arg {
                Value::Bool(b) => b.to_string(),
                other => string(other, "a %t argument")?,
            },
            'd' => integer("a %d argument")?.to_string(),
            'x' | 'X' if matches!(arg, Value::String(_)) => {
                let hex = hex::encode(string(arg, "a %x argument")?);
                if verb == 'X' {
                    hex.to_uppercase()
                } else {
                    hex
                }
            }
            'x' => signed(integer("a %x argument")?, |n| {
                format!("{}{n:x}", if alternate { "0x" } else { "" })
            }),
            'X' => signed(integer("a %X argument")?, |n| {
                format!("{}{n:X}", if alternate { "0X" } else { "" })
            }),
            'o' => signed(integer("a %o argument")?, |n| {
                format!("{}{n:o}", if alternate { "0" } else { "" })
            }),
            'b' => signed(integer("a %b argument")?, |n| format!("{n:b}")),
            'f' => format!(
                "{:.*}",
                precision.unwrap_or(6),
                number(arg, "a %f argument")?
            ),
            'e' | 'E' => {
                let e = exponent(number(arg, "a %e argument")?, precision.unwrap_or(6));
                if verb == 'E' {
                    e.to_uppercase()
                } else {
                    e
                }
            }
            other => {
                return Err(err(
                    format!("unsupported format verb %{other}"),
                    "use %s, %v, %q, %t, %d, %x, %X, %o, %b, %f, %e, %E or %%",
                ))
            }
        };
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.extend(std::iter::repeat_n(' ', pad));
        } else if zero && matches!(verb, 'd' | 'f') {
            // Zeros go after the sign: %05d of -42 is -0042.
            let (sign, digits) = match text.strip_prefix('-') {
                Some(rest) => ("-", rest),
                None => ("", text.as_str()),
            };
            out.push_str(sign);
            out.extend(std::iter::repeat_n('0', pad));
            out.push_str(digits);
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&text);
        }
    }
    if args.len() > used {
        return Err(err(
            format!(
                "too many arguments: the format uses {used} of the {} given",
                args.len()
            ),
            "remove the extra arguments, or add a verb such as %s for each",
        ));
    }
    Ok(out)
}

/// An integer in a base, its sign in front as Go writes it (`-ff`).
fn signed(n: i128, digits: impl Fn(u128) -> String) -> String {
    if n < 0 {
        format!("-{}", digits(n.unsigned_abs()))
    } else {
        digits(n as u128)
    }
}

/// `%e` as Go writes it: `1.234500e+03`, the exponent signed and at least two digits.
fn exponent(x: f64, precision: usize) -> String {
    let text = format!("{x:.precision$e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}
