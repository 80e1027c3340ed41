-- Each learner's latest progress report in classroom mode, so that the class view survives a
-- restart of the room's server. One row per learner: a new submission replaces the old one.
-- The report is the JSON `progress --submit` sent, already checked by the server.
CREATE TABLE class_progress (
    user_id             INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    submitted_at        INTEGER NOT NULL,
    report              TEXT    NOT NULL
);
