-- Release night (docs/waiting-room.md): a screening's on-sale time and its waiting-room policy.

-- NULL: on sale now. Before this instant every hold is refused (WebSocket error not_on_sale).
ALTER TABLE screening ADD COLUMN sales_open_at timestamptz;

-- The waiting room of a screening. No row = off. mode: off (straight to the seat map), always
-- (everyone goes through the line) or auto (the line admits at once while nobody waits and the
-- active shoppers are under max_active). NULL rate / max_active: derived from the capacity.
CREATE TABLE waiting_room (
    screening_id     bigint PRIMARY KEY REFERENCES screening (id) ON DELETE CASCADE,
    mode             text NOT NULL DEFAULT 'off' CHECK (mode IN ('off', 'always', 'auto')),
    admit_per_second integer CHECK (admit_per_second BETWEEN 1 AND 10000),
    max_active       integer CHECK (max_active BETWEEN 1 AND 100000),
    paused           boolean NOT NULL DEFAULT false,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
