//! inferform-alaya
