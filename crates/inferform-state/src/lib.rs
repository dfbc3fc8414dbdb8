//! inferform-state
