//! The price file (`--prices FILE`, or `INFERFORM_PRICES`): the user's own prices per hour, in
//! one currency, by Fabric `spec_code` and by Alaya `gpu_type`, from which a plan shows what a
//! capacity change costs. inferform builds in no price and guesses none: prices differ by
//! contract, region and date, and a wrong number in a review is worse than none.
//!
//! ```hcl
//! currency = "CNY"
//!
//! mu_per_hour = {
//!   "mu.llama3.8b" = 12.5
//! }
//!
//! gpu_per_hour = {
//!   "nvidia.com/gpu-l40s" = 9.8
//! }
//! ```
//!
//! Every mistake is an error naming the file and line: a price file is read by a person
//! deciding on money, so nothing in it is silently skipped.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::Structure;
use hcl_edit::Span;
use inferform_render::Prices;
use inferform_types::{Diagnostic, Number, SourceSpan};

/// The attributes a price file may hold.
const NAMES: &[&str] = &["currency", "mu_per_hour", "gpu_per_hour"];

/// The price file a command was given, if any.
pub fn load(path: Option<&Path>) -> Result<Option<Prices>, Diagnostic> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::error(
            "inferform::prices::read",
            format!("cannot read the price file {}: {e}", path.display()),
        )
        .with_help("pass a readable file to --prices (or INFERFORM_PRICES), or leave it out")
    })?;
    parse(&path.display().to_string(), &text).map(Some)
}

/// Reads a price file's text; `file` names it in messages.
pub fn parse(file: &str, text: &str) -> Result<Prices, Diagnostic> {
    let file: Arc<str> = Arc::from(file);
    let source: Arc<str> = Arc::from(text);
    let at = |range: Option<Range<usize>>| {
        SourceSpan::new(file.clone(), source.clone(), range.unwrap_or(0..0))
    };
    let err = |message: String, range: Option<Range<usize>>, help: &str| {
        Diagnostic::error("inferform::prices::invalid", message)
            .with_span(at(range))
            .with_help(help.to_string())
    };
    let body = hcl_edit::parser::parse_body(text).map_err(|e| {
        let offset = e.location().offset();
        err(
            format!("the price file {file} is not valid HCL: {}", e.message()),
            Some(offset..offset),
            "a price file holds `currency`, `mu_per_hour = { ... }` and `gpu_per_hour = { ... }`",
        )
    })?;
    let mut prices = Prices::default();
    let mut currency = None;
    for structure in body.iter() {
        let attr = match structure {
            Structure::Attribute(a) => a,
            Structure::Block(b) => {
                return Err(err(
                    format!("the price file {file} holds no blocks"),
                    b.ident.span(),
                    "write prices as `mu_per_hour = { \"SPEC_CODE\" = PRICE }`",
                ))
            }
        };
        let name = attr.key.as_str();
        match name {
            "currency" => match &attr.value {
                Expression::String(s) if !s.trim().is_empty() => {
                    currency = Some(s.trim().to_string())
                }
                _ => {
                    return Err(err(
                        "`currency` must be a non-empty string".into(),
                        attr.value.span(),
                        "for example `currency = \"CNY\"`",
                    ))
                }
            },
            "mu_per_hour" | "gpu_per_hour" => {
                let Expression::Object(object) = &attr.value else {
                    return Err(err(
                        format!("`{name}` must be an object of prices"),
                        attr.value.span(),
                        "for example `mu_per_hour = { \"mu.llama3.8b\" = 12.5 }`",
                    ));
                };
                let table = if name == "mu_per_hour" {
                    &mut prices.mu
                } else {
                    &mut prices.gpu
                };
                for (key, value) in object.iter() {
                    let spec = match key {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(Expression::String(s)) => s.to_string(),
                        ObjectKey::Expression(e) => {
                            return Err(err(
                                format!("a key of `{name}` must be a spec code or GPU type"),
                                e.span(),
                                "quote it: `\"mu.llama3.8b\" = 12.5`",
                            ))
                        }
                    };
                    let price = match value.expr() {
                        Expression::Number(n) => Number::parse(&n.value().to_string()),
                        _ => None,
                    };
                    let Some(price) = price.filter(|p| !p.is_negative()) else {
                        return Err(err(
                            format!("the price of `{spec}` must be a number, zero or more"),
                            value.expr().span(),
                            "a price per hour of one unit, in the file's currency: `12.5`",
                        ));
                    };
                    // (hcl-edit keeps the last of two equal keys, as HCL's object syntax does.)
                    table.insert(spec, price);
                }
            }
            other => {
                return Err(err(
                    format!("a price file has no `{other}`"),
                    attr.key.span(),
                    &format!("the attributes are {}", NAMES.join(", ")),
                ))
            }
        }
    }
    prices.currency = currency.ok_or_else(|| {
        err(
            format!("the price file {file} names no currency"),
            None,
            "add `currency = \"CNY\"` (or the currency its prices are in)",
        )
    })?;
    Ok(prices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prices_by_spec_and_gpu_type() {
        let p = parse(
            "prices.hcl",
            "currency = \"CNY\"\nmu_per_hour = {\n  \"mu.llama3.8b\" = 12.5\n}\ngpu_per_hour = {\n  \"nvidia.com/gpu-l40s\" = 9.8\n  a100 = 0\n}\n",
        )
        .expect("parses");
        assert_eq!(p.currency, "CNY");
        assert_eq!(p.mu["mu.llama3.8b"].to_string(), "12.5");
        assert_eq!(p.gpu["nvidia.com/gpu-l40s"].to_string(), "9.8");
        assert_eq!(p.gpu["a100"].to_string(), "0");
    }

    #[test]
    fn every_mistake_names_its_line() {
        let cases = [
            (
                "currency = \"CNY\"\nmu_per_hour = {\n  \"x\" = \"cheap\"\n}\n",
                3,
                "must be a number",
            ),
            (
                "currency = \"CNY\"\nmu_per_hour = {\n  \"x\" = -1\n}\n",
                3,
                "must be a number",
            ),
            ("currency = \"CNY\"\nprice = 1\n", 2, "has no `price`"),
            ("mu_per_hour = {}\n", 1, "names no currency"),
            (
                "currency = \"CNY\"\nmu_per_hour = {\n  x = \n}\n",
                3,
                "not valid HCL",
            ),
            ("currency = 3\n", 1, "non-empty string"),
            ("currency = \"CNY\"\nspec \"x\" {}\n", 2, "no blocks"),
        ];
        for (text, line, message) in cases {
            let d = parse("prices.hcl", text).expect_err(text);
            assert!(d.message.contains(message), "{text}: {}", d.message);
            assert_eq!(d.code, "inferform::prices::invalid");
            let span = d.span.as_ref().expect("a span");
            assert_eq!(span.line_col().0, line, "{text}: {}", d.message);
            assert_eq!(&*span.file, "prices.hcl");
            assert!(d.help.is_some());
        }
    }
}
