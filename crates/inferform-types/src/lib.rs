//! The shared vocabulary of inferform: resource addresses, [`Value`] (with the unknown and
//! sensitive marks that plans need), resource and provider [`schema`]s, and [`Diagnostic`]s.
//!
//! This crate does no I/O and knows nothing of HCL, HTTP or storage: every other crate speaks
//! these types, so they stay small, plain and well tested.

pub mod addr;
pub mod diag;
pub mod encryption;
pub mod number;
pub mod schema;
pub mod value;

pub use addr::{
    InstanceKey, ModulePath, ModuleStep, ResourceAddr, ResourceInstanceAddr, ResourceMode,
};
pub use diag::{Diagnostic, Diagnostics, Severity, SourceSpan};
pub use number::Number;
pub use schema::{Attribute, Block, Nesting, Schema, Type};
pub use value::Value;
