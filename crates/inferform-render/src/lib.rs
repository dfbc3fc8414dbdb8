//! inferform-render
