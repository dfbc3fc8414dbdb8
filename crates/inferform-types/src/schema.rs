//! Resource and provider schemas: the one source of truth for attribute types,
//! required/optional/computed, which attributes force replacement and which are sensitive.
//!
//! Nested blocks with [`Nesting::Single`] hold an object (`reserved_resource { mu { ... } }` is
//! `{"reserved_resource": {"mu": {...}}}`); [`Nesting::List`] blocks hold a list of objects.

use std::collections::BTreeMap;

use serde::Serialize;

/// The type constraint of an attribute.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    /// `tuple([string, number])`: a fixed number of elements, each of its own type.
    Tuple(Vec<Type>),
    Any,
    /// An object attribute written `optional(type)` or `optional(type, default)` in a type
    /// constraint: it may be left out, and then takes its default (converted to `of`), or
    /// null. Only variable types have them; schemas say optional with [`Attribute`].
    Optional {
        of: Box<Type>,
        default: Option<serde_json::Value>,
    },
}

impl Type {
    pub fn list(of: Type) -> Type {
        Type::List(Box::new(of))
    }

    pub fn map(of: Type) -> Type {
        Type::Map(Box::new(of))
    }

    /// The type as a Terraform user writes it: `list(string)`.
    pub fn display(&self) -> String {
        match self {
            Type::String => "string".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::List(t) => format!("list({})", t.display()),
            Type::Set(t) => format!("set({})", t.display()),
            Type::Map(t) => format!("map({})", t.display()),
            Type::Object(fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(k, t)| format!("{k} = {}", t.display()))
                    .collect();
                format!("object({{{}}})", inner.join(", "))
            }
            Type::Tuple(items) => format!(
                "tuple([{}])",
                items
                    .iter()
                    .map(Type::display)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Type::Any => "any".into(),
            Type::Optional { of, default: None } => format!("optional({})", of.display()),
            Type::Optional {
                of,
                default: Some(d),
            } => format!("optional({}, {d})", of.display()),
        }
    }
}

/// One attribute of a resource, block or provider.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attribute {
    #[serde(rename = "type")]
    pub ty: Type,
    pub description: String,
    /// The configuration must set it.
    pub required: bool,
    /// The configuration may set it.
    pub optional: bool,
    /// The provider sets it (alone, or when the configuration leaves it out).
    pub computed: bool,
    /// Never shown in plans, output or logs.
    pub sensitive: bool,
    /// A change to it replaces the object instead of updating it in place.
    pub force_new: bool,
}

impl Attribute {
    fn new(ty: Type, required: bool, optional: bool, computed: bool) -> Self {
        Attribute {
            ty,
            description: String::new(),
            required,
            optional,
            computed,
            sensitive: false,
            force_new: false,
        }
    }

    pub fn required(ty: Type) -> Self {
        Self::new(ty, true, false, false)
    }

    pub fn optional(ty: Type) -> Self {
        Self::new(ty, false, true, false)
    }

    /// Set by the provider only.
    pub fn computed(ty: Type) -> Self {
        Self::new(ty, false, false, true)
    }

    /// Set by the configuration, or by the provider when the configuration leaves it out.
    pub fn optional_computed(ty: Type) -> Self {
        Self::new(ty, false, true, true)
    }

    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// True when the configuration may write this attribute.
    pub fn settable(&self) -> bool {
        self.required || self.optional
    }
}

/// How a nested block repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Nesting {
    /// At most one block; its value is an object (or null when absent).
    Single,
    /// Any number of blocks; its value is a list of objects.
    List,
}

/// A nested block type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Block {
    pub nesting: Nesting,
    pub required: bool,
    pub description: String,
    pub schema: Schema,
}

impl Block {
    pub fn single(schema: Schema) -> Self {
        Block {
            nesting: Nesting::Single,
            required: false,
            description: String::new(),
            schema,
        }
    }

    pub fn list(schema: Schema) -> Self {
        Block {
            nesting: Nesting::List,
            required: false,
            description: String::new(),
            schema,
        }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
}

/// The schema of a resource type, a nested block or a provider block.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Schema {
    pub description: String,
    pub attributes: BTreeMap<String, Attribute>,
    pub blocks: BTreeMap<String, Block>,
}

impl Schema {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    pub fn attr(mut self, name: &str, attribute: Attribute) -> Self {
        self.attributes.insert(name.to_string(), attribute);
        self
    }

    pub fn block(mut self, name: &str, block: Block) -> Self {
        self.blocks.insert(name.to_string(), block);
        self
    }

    /// Every attribute and block name, for did-you-mean suggestions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.attributes
            .keys()
            .chain(self.blocks.keys())
            .map(String::as_str)
    }

    /// True when the attribute at `path` (block names then an attribute name) forces replacement.
    pub fn forces_replacement(&self, path: &[&str]) -> bool {
        match path {
            [] => false,
            [name] => self.attributes.get(*name).is_some_and(|a| a.force_new),
            [block, rest @ ..] => self
                .blocks
                .get(*block)
                .is_some_and(|b| b.schema.forces_replacement(rest)),
        }
    }

    /// True when the attribute at `path` is sensitive.
    pub fn is_sensitive(&self, path: &[&str]) -> bool {
        match path {
            [] => false,
            [name] => self.attributes.get(*name).is_some_and(|a| a.sensitive),
            [block, rest @ ..] => self
                .blocks
                .get(*block)
                .is_some_and(|b| b.schema.is_sensitive(rest)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_force_new_is_found() {
        let schema = Schema::new()
            .attr("name", Attribute::required(Type::String))
            .block(
                "source",
                Block::single(
                    Schema::new().attr("id", Attribute::required(Type::String).force_new()),
                ),
            );
        assert!(schema.forces_replacement(&["source", "id"]));
        assert!(!schema.forces_replacement(&["name"]));
        assert!(!schema.forces_replacement(&["source", "nope"]));
    }

    #[test]
    fn type_display() {
        assert_eq!(
            Type::map(Type::list(Type::String)).display(),
            "map(list(string))"
        );
    }
}
