//! HCL → [`Config`]: parses configuration files with hcl-edit (keeping spans for diagnostics),
//! sorts blocks into the configuration model, evaluates expressions with unknown and sensitive
//! marks ([`eval`]), provides the built-in functions, and decodes bodies against schemas.
//!
//! It reads configuration files (and the files `file()` names) but does no other I/O, never
//! prints, and never stops at the first mistake: loading returns the config and every
//! [`Diagnostic`](inferform_types::Diagnostic).

pub mod backend;
pub mod config;
pub mod decode;
pub mod encryption;
pub mod eval;
pub mod fmt;
pub mod funcs;
pub mod loader;
pub mod refs;
pub mod suggest;
pub mod types;
pub mod validate;
pub mod vars;

pub use backend::eval_backend;
pub use config::{Backend, Config, Expr, Resource, Source};
pub use eval::{eval, Scope};
pub use loader::{load_dir, load_sources};
