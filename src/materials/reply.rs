//! How materials look on the wire: a map per material in RESP3, a flat
//! field/value array in RESP2 (as HGETALL answers), in a fixed field order.

use bytes::{Bytes, BytesMut};

use super::model::Material;
use crate::protocol::encode::ReplyWriter;
use crate::protocol::Proto;

/// Fields of a material reply, in order (`score` is added last by
/// `WITHSCORES`).
pub use super::model::FIELDS;

/// Write one material (and its score) as a map.
pub fn material(w: &mut ReplyWriter, m: &Material, score: Option<f32>) {
    w.map(FIELDS.len() + usize::from(score.is_some()));
    let text = [
        ("id", m.id.as_str()),
        ("name", &m.name),
        ("description", &m.description),
        ("category", &m.category),
        ("unit", &m.unit),
    ];
    for (k, v) in text {
        w.key(k);
        w.bulk(v.as_bytes());
    }
    w.key("price");
    w.double(m.price);
    for (k, v) in [("supplier", &m.supplier), ("sku", &m.sku)] {
        w.key(k);
        w.bulk(v.as_bytes());
    }
    w.key("attributes");
    w.bulk(
        serde_json::Value::Object(m.attributes.clone())
            .to_string()
            .as_bytes(),
    );
    w.key("created_at");
    w.bulk(m.created_at.to_rfc3339().as_bytes());
    w.key("updated_at");
    w.bulk(m.updated_at.to_rfc3339().as_bytes());
    if let Some(s) = score {
        w.key("score");
        w.double(f64::from(s));
    }
}

/// One `MGET.MATERIAL` element: the material, or null for an id that
/// does not exist.
pub fn material_bytes(proto: Proto, m: Option<&Material>) -> Bytes {
    let mut out = BytesMut::with_capacity(256);
    let mut w = ReplyWriter::new(&mut out, proto);
    match m {
        Some(m) => material(&mut w, m, None),
        None => w.null(),
    }
    out.freeze()
}

/// A search result: materials best first, with scores when asked.
pub fn search(proto: Proto, hits: &[(Material, f32)], with_scores: bool) -> Bytes {
    let mut out = BytesMut::with_capacity(256 * hits.len() + 8);
    let mut w = ReplyWriter::new(&mut out, proto);
    w.array(hits.len());
    for (m, score) in hits {
        material(&mut w, m, with_scores.then_some(*score));
    }
    out.freeze()
}
