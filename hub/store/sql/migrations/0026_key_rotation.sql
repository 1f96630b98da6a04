-- `cuiban keys rotate` (hub/privacy/rotate.py): one row per rotation to a key, and how
-- far it got in each sealed column, written with each batch so a killed rotation
-- resumes where its last batch ended.
CREATE TABLE key_rotations (
    id           bigserial   PRIMARY KEY,
    key_id       text        NOT NULL,      -- the key every value is re-sealed under
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    superseded   boolean     NOT NULL DEFAULT false   -- a rotation to a newer key took over
);

CREATE TABLE key_rotation_progress (
    rotation_id  bigint  NOT NULL REFERENCES key_rotations (id) ON DELETE CASCADE,
    table_name   text    NOT NULL,
    column_name  text    NOT NULL,
    last_key     text[],                    -- the primary key reached, as text
    resealed     bigint  NOT NULL DEFAULT 0,
    done         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (rotation_id, table_name, column_name)
);
