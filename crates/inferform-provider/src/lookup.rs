//! What imports and data sources share between the clouds: import ids, data source schemas
//! built from resource schemas, and the errors of a look-up that finds nothing or too much.

use inferform_types::{Attribute, Schema};

use crate::{ErrorKind, ProviderError};

/// How a data source's look-up argument is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The configuration must set it.
    Required,
    /// The configuration may set it to narrow the search; otherwise it is read back.
    Optional,
}

/// The schema of the data source named like `resource`'s type: the look-up arguments keep
/// their type and description and become required or optional (and computed, when optional);
/// every other attribute, in nested blocks too, is computed, and no block is required.
/// Sensitive attributes stay sensitive; nothing forces a replacement.
pub fn data_source_schema(resource: &Schema, lookups: &[(&str, Lookup)]) -> Schema {
    let mut schema = all_computed(resource);
    let names: Vec<&str> = lookups.iter().map(|(name, _)| *name).collect();
    let names = match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [first @ .., last] => format!("{} and {last}", first.join(", ")),
    };
    schema.description = format!(
        "Looks up an existing one by {names}. {}",
        resource.description
    );
    for (name, lookup) in lookups {
        if let Some(attr) = schema.attributes.get_mut(*name) {
            attr.computed = *lookup == Lookup::Optional;
            attr.optional = *lookup == Lookup::Optional;
            attr.required = *lookup == Lookup::Required;
        }
    }
    schema
}

fn all_computed(schema: &Schema) -> Schema {
    let mut out = schema.clone();
    for attr in out.attributes.values_mut() {
        *attr = Attribute {
            required: false,
            optional: false,
            computed: true,
            force_new: false,
            ..attr.clone()
        };
    }
    for block in out.blocks.values_mut() {
        block.required = false;
        block.schema = all_computed(&block.schema);
    }
    out
}

/// Splits an import id into its `/`-separated parts, one per name in `format`
/// (`["WORKSPACE_ID", "ENDPOINT_ID"]`); none may be empty. Anything else is an
/// [`ErrorKind::Invalid`] error that shows the expected format.
pub fn split_import_id<'a>(
    type_name: &str,
    id: &'a str,
    format: &[&str],
) -> Result<Vec<&'a str>, ProviderError> {
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() == format.len() && parts.iter().all(|p| !p.trim().is_empty()) {
        return Ok(parts);
    }
    Err(ProviderError::new(
        ErrorKind::Invalid,
        format!(
            "`{id}` is not an import id of {type_name}: expected {}",
            format.join("/")
        ),
    ))
}

/// The error of a look-up that matched nothing: `searched` says what was looked for and where
/// (`named "chat" in workspace e935d0ef`).
pub fn none_found(type_name: &str, searched: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Invalid,
        format!("no {type_name} {searched} was found"),
    )
}

/// The error of a look-up that matched more than one object: `found` describes each.
pub fn several_found(
    type_name: &str,
    searched: &str,
    found: &[String],
    help: &str,
) -> ProviderError {
    let mut message = format!(
        "{} objects of type {type_name} {searched} were found ({})",
        found.len(),
        found.join(", ")
    );
    if !help.is_empty() {
        message.push_str(&format!("; {help}"));
    }
    ProviderError::new(ErrorKind::Invalid, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferform_types::{Block, Type};

    #[test]
    fn data_source_schemas_come_from_resources() {
        let resource = Schema::new()
            .attr("id", Attribute::computed(Type::String))
            .attr("name", Attribute::required(Type::String).force_new())
            .attr("zone", Attribute::required(Type::String))
            .attr("note", Attribute::optional(Type::String))
            .attr("key", Attribute::computed(Type::String).sensitive())
            .block(
                "spec",
                Block::single(
                    Schema::new().attr("size", Attribute::required(Type::Number).sensitive()),
                )
                .required(),
            );
        let ds = data_source_schema(
            &resource,
            &[("name", Lookup::Required), ("zone", Lookup::Optional)],
        );
        assert_eq!(
            ds.description,
            "Looks up an existing one by name and zone. "
        );
        let name = &ds.attributes["name"];
        assert!(name.required && !name.optional && !name.computed && !name.force_new);
        let zone = &ds.attributes["zone"];
        assert!(!zone.required && zone.optional && zone.computed);
        for other in ["id", "note", "key"] {
            let a = &ds.attributes[other];
            assert!(a.computed && !a.settable(), "{other}");
        }
        assert!(ds.is_sensitive(&["key"]));
        assert!(ds.is_sensitive(&["spec", "size"]));
        let spec = &ds.blocks["spec"];
        assert!(!spec.required);
        assert!(spec.schema.attributes["size"].computed);
        assert!(!spec.schema.attributes["size"].settable());
    }

    #[test]
    fn import_ids() {
        let fmt = ["WORKSPACE_ID", "ENDPOINT_ID"];
        assert_eq!(
            split_import_id("fabric_endpoint", "w1/e1", &fmt).unwrap(),
            ["w1", "e1"]
        );
        for bad in ["e1", "w1/", "/e1", "w1/e1/x", ""] {
            let err = split_import_id("fabric_endpoint", bad, &fmt).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Invalid);
            assert_eq!(
                err.message,
                format!(
                    "`{bad}` is not an import id of fabric_endpoint: expected \
                     WORKSPACE_ID/ENDPOINT_ID"
                )
            );
        }
        assert_eq!(
            split_import_id("fabric_workspace", "w1", &["WORKSPACE_ID"]).unwrap(),
            ["w1"]
        );
        assert!(split_import_id("fabric_workspace", "w1/x", &["WORKSPACE_ID"]).is_err());
    }

    #[test]
    fn look_up_errors_say_what_and_where() {
        let e = none_found("fabric_endpoint", "named \"chat\" in workspace w1");
        assert_eq!(
            e.to_string(),
            "no fabric_endpoint named \"chat\" in workspace w1 was found"
        );
        let e = several_found(
            "alaya_expert_deployment",
            "named \"m\"",
            &["svc-1 (v1/default)".into(), "svc-2 (v2/default)".into()],
            "set vks_id and namespace to choose one",
        );
        assert_eq!(
            e.to_string(),
            "2 objects of type alaya_expert_deployment named \"m\" were found \
             (svc-1 (v1/default), svc-2 (v2/default)); set vks_id and namespace to choose one"
        );
    }
}
