-- One row that /readyz rewrites: an instance is ready only while it can write, and a read
-- alone does not prove that (a full disk still answers SELECT 1).
CREATE TABLE heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    beat_at INTEGER NOT NULL
);
