//! `format` and `formatlist`: Go's verbs, as Terraform reads them.

use inferform_types::Value;

use super::args::{err, number, string, FuncError};

/// `format` with the common verbs: `%s`, `%d`, `%f`, `%v`, `%q`, `%%`.
pub(super) fn format(fmt: &str, args: &[Value]) -> Result<String, FuncError> {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
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
        let arg = next.next().ok_or_else(|| {
            err(
                "not enough arguments for the format",
                "pass one argument per verb",
            )
        })?;
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
        let text = match verb {
            's' | 'v' => match arg {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            },
            'q' => serde_json::Value::String(string(arg, "a %q argument")?).to_string(),
            'd' => format!("{}", number(arg, "a %d argument")?.trunc() as i64),
            'f' => format!(
                "{:.*}",
                precision.unwrap_or(6),
                number(arg, "a %f argument")?
            ),
            other => {
                return Err(err(
                    format!("unsupported format verb %{other}"),
                    "use %s, %d, %f, %v, %q or %%",
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
    Ok(out)
}
