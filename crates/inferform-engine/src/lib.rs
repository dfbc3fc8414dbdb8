//! inferform-engine
