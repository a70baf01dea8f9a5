//! The structural OpenAPI v3 schema generator for CRDs: schemars' OpenAPI 3 settings plus the
//! rewrites Kubernetes needs, as `kube`'s `CustomResource` derive applies them.
//!
//! Adapted from `kube-core`'s `schema` module (Apache-2.0), which cannot be used without
//! pulling in `k8s-openapi`; only the rewrites our types need are kept.

use schemars::transform::{Transform, transform_subschemas};
use serde_json::Value;

/// The generator: subschemas inlined (CRDs allow no `$ref`), no `$schema`, `nullable: true`
/// instead of `null` types, plain enums as one `enum` list, `Option<enum>` as a nullable enum.
pub(super) fn generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(schemars::transform::AddNullable::default())
        .with_transform(HoistEnumVariants)
        .with_transform(OptionalEnum)
        .with_transform(NoClosedObjects)
        .into_generator()
}

/// Turns `oneOf: [{enum: [a], type: t}, {enum: [b], type: t}, …]` (what schemars writes for a
/// unit-variant enum whose variants have docs) into `enum: [a, b, …], type: t`: Kubernetes'
/// structural schemas forbid types inside `oneOf`.
#[derive(Debug, Clone, Copy)]
struct HoistEnumVariants;

impl Transform for HoistEnumVariants {
    fn transform(&mut self, schema: &mut schemars::Schema) {
        transform_subschemas(self, schema);
        let Some(obj) = schema.as_object_mut() else {
            return;
        };
        let Some(one_of) = obj.get("oneOf").and_then(Value::as_array) else {
            return;
        };
        let mut values = obj
            .get("enum")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut instance_type = obj.get("type").cloned();
        let mut rest = Vec::new();
        let mut hoisted = false;
        for variant in one_of {
            let Some(variant_values) = variant.get("enum").and_then(Value::as_array) else {
                rest.push(variant.clone());
                continue;
            };
            if let Some(t) = variant.get("type") {
                match &instance_type {
                    None => instance_type = Some(t.clone()),
                    Some(have) if have == t => {}
                    // Variants of different types cannot share one `enum`: leave it alone.
                    Some(_) => return,
                }
            }
            values.extend(variant_values.iter().cloned());
            hoisted = true;
        }
        if !hoisted {
            return;
        }
        if rest.is_empty() {
            obj.remove("oneOf");
        } else {
            obj.insert("oneOf".into(), Value::Array(rest));
        }
        obj.insert("enum".into(), Value::Array(values));
        if let Some(t) = instance_type {
            obj.insert("type".into(), t);
        }
    }
}

/// Turns schemars' `anyOf: [T, {enum: [null], nullable: true}]` for an `Option<enum>` into
/// `T` with `nullable: true`, the shape a structural CRD schema needs.
#[derive(Debug, Clone, Copy)]
struct OptionalEnum;

impl Transform for OptionalEnum {
    fn transform(&mut self, schema: &mut schemars::Schema) {
        transform_subschemas(self, schema);
        let Some(obj) = schema.as_object_mut() else {
            return;
        };
        let Some([first, second]) = obj
            .get("anyOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        else {
            return;
        };
        let (Some(first), Some(second)) = (first.as_object(), second.as_object()) else {
            return;
        };
        if !first.contains_key("nullable")
            && second.get("enum") == Some(&serde_json::json!([null]))
            && second.get("nullable") == Some(&Value::Bool(true))
        {
            let mut first = first.clone();
            obj.remove("anyOf");
            obj.append(&mut first);
            obj.insert("nullable".into(), Value::Bool(true));
        }
    }
}

/// Drops the `additionalProperties: false` schemars writes for `deny_unknown_fields` structs:
/// Kubernetes forbids `additionalProperties` beside `properties` in a structural schema. The
/// API server still refuses unknown fields (structural schemas prune them, and `kubectl`'s
/// default strict field validation turns that into an error); `render` rejects them itself.
#[derive(Debug, Clone, Copy)]
struct NoClosedObjects;

impl Transform for NoClosedObjects {
    fn transform(&mut self, schema: &mut schemars::Schema) {
        transform_subschemas(self, schema);
        if let Some(obj) = schema.as_object_mut()
            && obj.contains_key("properties")
            && obj.get("additionalProperties") == Some(&Value::Bool(false))
        {
            obj.remove("additionalProperties");
        }
    }
}
