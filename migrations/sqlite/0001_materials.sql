-- The materials catalogue (SQLite). One row per material; the vector store
-- holds the embeddings and refers to rows by `id`.
--
-- Storage as sqlx-sqlite maps the Rust types:
--   price       REAL (f64);
--   attributes  TEXT holding a JSON object (sqlx `Json<_>`);
--   created_at, updated_at  TEXT, RFC 3339 in UTC with a `+00:00` offset
--               and 0/3/6 fractional digits (sqlx encodes DateTime<Utc> so),
--               which sorts chronologically as text.
-- `id` compares with SQLite's BINARY collation, i.e. byte order, as in
-- Postgres (where it is declared COLLATE "C") and in Rust.
-- The CHECK constraints repeat the model's validation as a last line of
-- defence against rows written around it.
CREATE TABLE materials (
    id          TEXT NOT NULL PRIMARY KEY CHECK (id <> ''),
    name        TEXT NOT NULL CHECK (name <> ''),
    description TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    unit        TEXT NOT NULL DEFAULT '',
    price       REAL NOT NULL CHECK (price >= 0),
    supplier    TEXT NOT NULL DEFAULT '',
    sku         TEXT NOT NULL DEFAULT '',
    attributes  TEXT NOT NULL DEFAULT '{}'
                CHECK (json_valid(attributes) AND json_type(attributes) = 'object'),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- The primary key serves get_many (IN (...)), page (id > ? ORDER BY id)
-- and delete. These serve filters and operators' queries.
CREATE INDEX materials_category_idx   ON materials (category);
CREATE INDEX materials_supplier_idx   ON materials (supplier);
CREATE INDEX materials_price_idx      ON materials (price);
CREATE INDEX materials_updated_at_idx ON materials (updated_at);
