-- The materials catalogue (Postgres). One row per material; the vector
-- store holds the embeddings and refers to rows by `id`.
--
-- `id` uses the "C" collation so ordering (and therefore `page`, which
-- walks the table by `id > $1 ORDER BY id`) is byte order, the same as
-- SQLite's and Rust's, whatever the database's default collation is.
-- The CHECK constraints repeat the model's validation as a last line of
-- defence against rows written around it.
CREATE TABLE materials (
    id          TEXT COLLATE "C" PRIMARY KEY CHECK (id <> ''),
    name        TEXT             NOT NULL CHECK (name <> ''),
    description TEXT             NOT NULL DEFAULT '',
    category    TEXT             NOT NULL DEFAULT '',
    unit        TEXT             NOT NULL DEFAULT '',
    price       DOUBLE PRECISION NOT NULL CHECK (price >= 0 AND price <> 'NaN'::float8),
    supplier    TEXT             NOT NULL DEFAULT '',
    sku         TEXT             NOT NULL DEFAULT '',
    attributes  JSONB            NOT NULL DEFAULT '{}'::jsonb
                                 CHECK (jsonb_typeof(attributes) = 'object'),
    created_at  TIMESTAMPTZ      NOT NULL,
    updated_at  TIMESTAMPTZ      NOT NULL
);

-- The primary key serves get_many (= ANY), page (id > $1 ORDER BY id) and
-- delete. These serve filters and operators' queries.
CREATE INDEX materials_category_idx   ON materials (category);
CREATE INDEX materials_supplier_idx   ON materials (supplier);
CREATE INDEX materials_price_idx      ON materials (price);
CREATE INDEX materials_updated_at_idx ON materials (updated_at);
