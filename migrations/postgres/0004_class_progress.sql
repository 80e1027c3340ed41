-- The same as ../0004_class_progress.sql, in PostgreSQL's types.
CREATE TABLE class_progress (
    user_id             BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    submitted_at        BIGINT  NOT NULL,
    report              TEXT    NOT NULL
);
