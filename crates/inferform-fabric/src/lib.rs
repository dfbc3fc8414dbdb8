//! inferform-fabric
