//! The material record and its validation.
//!
//! A material arrives as JSON (from `MSET.MATERIAL` or `respite import`)
//! and is checked field by field, so a bad record is refused with an error
//! that names the field instead of being half-written. Timestamps are the
//! store's business: a client never sets them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest id accepted (bytes).
pub const MAX_ID_LEN: usize = 128;
/// Longest text field accepted (bytes).
pub const MAX_TEXT_LEN: usize = 8192;

/// One catalogue entry: the relational store's row, and what replies carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Material {
    /// Client-chosen identifier (1–128 bytes of `[A-Za-z0-9_.:-]`).
    pub id: String,
    /// Display name, Russian or English.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Category, matched exactly by `MSEARCH … CATEGORY`.
    pub category: String,
    /// Unit of sale (m², kg, pcs …).
    pub unit: String,
    /// Price per unit, ≥ 0.
    pub price: f64,
    /// Supplier, matched exactly by `MSEARCH … SUPPLIER`.
    pub supplier: String,
    /// Stock-keeping unit.
    pub sku: String,
    /// Anything else, as a JSON object (`MSEARCH … FILTER attributes.x v`).
    pub attributes: Map<String, Value>,
    /// When the record was first written.
    pub created_at: DateTime<Utc>,
    /// When the record was last written.
    pub updated_at: DateTime<Utc>,
}

/// Why a record was refused: the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("field '{field}': {reason}")]
pub struct FieldError {
    /// The offending field (or `record` for the whole value).
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

fn field_err(field: &'static str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field,
        reason: reason.into(),
    }
}

/// A material's fields, in the order replies and exports list them. A
/// client may send exactly these (timestamps are accepted and ignored);
/// anything else is refused, so a typo in a field name is not dropped
/// silently.
pub const FIELDS: [&str; 11] = [
    "id",
    "name",
    "description",
    "category",
    "unit",
    "price",
    "supplier",
    "sku",
    "attributes",
    "created_at",
    "updated_at",
];

impl Material {
    /// Validate a client's JSON object. `now` stamps both timestamps (the
    /// relational store keeps the first `created_at` of an id on update).
    pub fn from_json(value: &Value, now: DateTime<Utc>) -> Result<Material, FieldError> {
        let Value::Object(obj) = value else {
            return Err(field_err("record", "must be a JSON object"));
        };
        if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(FieldError {
                field: "record",
                reason: format!("unknown field '{unknown}'"),
            });
        }
        Ok(Material {
            id: parse_id(obj.get("id"))?,
            name: required_text(obj, "name")?,
            description: optional_text(obj, "description")?,
            category: optional_text(obj, "category")?,
            unit: optional_text(obj, "unit")?,
            price: parse_price(obj.get("price"))?,
            supplier: optional_text(obj, "supplier")?,
            sku: optional_text(obj, "sku")?,
            attributes: match obj.get("attributes") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(_) => return Err(field_err("attributes", "must be a JSON object")),
            },
            created_at: now,
            updated_at: now,
        })
    }

    /// Parse a JSON text (one `MSET.MATERIAL` argument or import line).
    pub fn from_json_text(text: &[u8], now: DateTime<Utc>) -> Result<Material, FieldError> {
        let value: Value = serde_json::from_slice(text)
            .map_err(|e| field_err("record", format!("malformed JSON: {e}")))?;
        Material::from_json(&value, now)
    }

    /// The JSON form stored in the L2 cache and used for export.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The text the embedders see: name first (it matters most), then
    /// category and description.
    pub fn embedding_text(&self) -> String {
        format!("{} {} {}", self.name, self.category, self.description)
    }
}

/// Whether `id` is a valid material id.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

fn parse_id(v: Option<&Value>) -> Result<String, FieldError> {
    let id = match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        None | Some(Value::Null) => return Err(field_err("id", "is required")),
        Some(_) => {
            return Err(field_err(
                "id",
                "must be a string or a non-negative integer",
            ))
        }
    };
    if !valid_id(&id) {
        return Err(field_err(
            "id",
            format!("must be 1-{MAX_ID_LEN} characters of A-Z a-z 0-9 _ . : -"),
        ));
    }
    Ok(id)
}

fn text(obj: &Map<String, Value>, field: &'static str) -> Result<Option<String>, FieldError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_TEXT_LEN => Err(field_err(
            field,
            format!("longer than {MAX_TEXT_LEN} bytes"),
        )),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(field_err(field, "must be a string")),
    }
}

fn required_text(obj: &Map<String, Value>, field: &'static str) -> Result<String, FieldError> {
    match text(obj, field)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(field_err(field, "is required and must not be empty")),
    }
}

fn optional_text(obj: &Map<String, Value>, field: &'static str) -> Result<String, FieldError> {
    Ok(text(obj, field)?.unwrap_or_default())
}

fn parse_price(v: Option<&Value>) -> Result<f64, FieldError> {
    let price = match v {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        None | Some(Value::Null) => return Err(field_err("price", "is required")),
        Some(_) => return Err(field_err("price", "must be a number")),
    };
    match price {
        Some(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err(field_err("price", "must be a finite number >= 0")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_a_full_record() {
        let now = Utc::now();
        let m = Material::from_json(
            &json!({"id": 7, "name": " Цемент М500 ", "price": "420.5",
                    "attributes": {"weight_kg": 50}}),
            now,
        )
        .unwrap();
        assert_eq!(m.id, "7");
        assert_eq!(m.name, "Цемент М500");
        assert_eq!(m.price, 420.5);
        assert_eq!(m.attributes["weight_kg"], 50);
    }

    #[test]
    fn names_the_bad_field() {
        let now = Utc::now();
        let cases = [
            (json!({"name": "x", "price": 1}), "id"),
            (json!({"id": "a b", "name": "x", "price": 1}), "id"),
            (json!({"id": "a", "price": 1}), "name"),
            (json!({"id": "a", "name": "x", "price": -1}), "price"),
            (json!({"id": "a", "name": "x", "price": [1]}), "price"),
            (
                json!({"id": "a", "name": "x", "price": 1, "unit": 5}),
                "unit",
            ),
            (
                json!({"id": "a", "name": "x", "price": 1, "attributes": 5}),
                "attributes",
            ),
            (
                json!({"id": "a", "name": "x", "price": 1, "colour": 5}),
                "record",
            ),
            (json!([1]), "record"),
        ];
        for (value, field) in cases {
            let err = Material::from_json(&value, now).unwrap_err();
            assert_eq!(err.field, field, "{value}");
        }
        let err = Material::from_json_text(b"{not json", now).unwrap_err();
        assert!(err.reason.contains("malformed JSON"));
    }
}
