//! inferform-lang
