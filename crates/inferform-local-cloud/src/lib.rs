//! inferform-local-cloud
