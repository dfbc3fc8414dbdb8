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
        // Flags, in any order: `#` the alternate form (`0x` before hex digits, `0` before
        // octal ones, JSON for %v), `+` a sign always, ` ` a space for the sign, `-` padding
        // on the right, `0` padding with zeros.
        let (mut alternate, mut plus, mut space, mut left, mut zero) =
            (false, false, false, false, false);
        while let Some(&p) = chars.peek() {
            match p {
                '#' => alternate = true,
                '+' => plus = true,
                ' ' => space = true,
                '-' => left = true,
                '0' => zero = true,
                _ => break,
            }
            chars.next();
        }
        let mut spec = String::new();
        while let Some(&p) = chars.peek() {
            if p.is_ascii_digit() || p == '.' {
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
        // `%8s` sets the width, `%.2f` the precision.
        let (width, precision) = match spec.split_once('.') {
            Some((w, p)) => (w, Some(p)),
            None => (spec.as_str(), None),
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
        // A precision cuts text to that many characters.
        let cut = |s: String| match precision {
            Some(p) => s.chars().take(p).collect(),
            None => s,
        };
        let text = match verb {
            // `%#v` is the value as JSON, strings quoted.
            'v' if alternate => super::encoding::json_text(arg),
            // Collections as JSON, as Terraform writes them with %v.
            's' | 'v' => cut(match arg {
                Value::String(s) => s.clone(),
                Value::List(_) | Value::Set(_) | Value::Object(_) => {
                    super::encoding::json_text(arg)
                }
                v => v.to_string(),
            }),
            'q' => serde_json::Value::String(cut(string(arg, "a %q argument")?)).to_string(),
            't' => match arg {
                Value::Bool(b) => b.to_string(),
                other => string(other, "a %t argument")?,
            },
            'd' => integer("a %d argument")?.to_string(),
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
            'g' | 'G' => {
                let g = shortest(number(arg, "a %g argument")?);
                if verb == 'G' {
                    g.to_uppercase()
                } else {
                    g
                }
            }
            other => {
                return Err(err(
                    format!("unsupported format verb %{other}"),
                    "use %s, %v, %q, %t, %d, %x, %X, %o, %b, %f, %e, %E, %g, %G or %%",
                ))
            }
        };
        // `+` and ` ` give a non-negative number its sign, or a space for it.
        let text = match verb {
            'd' | 'f' | 'e' | 'E' | 'g' | 'G' if (plus || space) && !text.starts_with('-') => {
                format!("{}{text}", if plus { '+' } else { ' ' })
            }
            _ => text,
        };
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.extend(std::iter::repeat_n(' ', pad));
        } else if zero && matches!(verb, 'd' | 'f' | 'e' | 'E' | 'g' | 'G') {
            // Zeros go after the sign: %05d of -42 is -0042.
            let (sign, digits) = match text.chars().next() {
                Some(c @ ('-' | '+' | ' ')) => (c.to_string(), &text[1..]),
                _ => (String::new(), text.as_str()),
            };
            out.push_str(&sign);
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

/// `%g` as Go writes it with no precision: the shortest digits that give the number back, in
/// `%e` form when the exponent is below -4 or 6 and up (`1.234567e+06`), plain otherwise.
fn shortest(x: f64) -> String {
    let text = format!("{x:e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{x}")
}

/// `%e` as Go writes it: `1.234500e+03`, the exponent signed and at least two digits.
fn exponent(x: f64, precision: usize) -> String {
    let text = format!("{x:.precision$e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}
