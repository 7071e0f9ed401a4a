-- Houseful schema: catalog, accounts, sales. Money is integer minor units (e.g. pence).

CREATE EXTENSION IF NOT EXISTS citext;

-- Accounts ------------------------------------------------------------------

CREATE TABLE app_user (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         citext NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254 AND position('@' in email) > 1),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    phone         text CHECK (phone IS NULL OR phone ~ '^\+?[0-9 ()-]{6,20}$'),
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'staff', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX app_user_role_idx ON app_user (role);

CREATE TABLE user_action (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint REFERENCES app_user (id) ON DELETE SET NULL,
    action      text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip          text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_action_user_idx ON user_action (user_id, created_at DESC);
CREATE INDEX user_action_time_idx ON user_action (created_at DESC);

-- Catalog -------------------------------------------------------------------

CREATE TABLE cinema (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    city       text NOT NULL CHECK (length(city) BETWEEN 1 AND 100),
    address    text NOT NULL DEFAULT '',
    latitude   double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude  double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    rating     numeric(2, 1) CHECK (rating IS NULL OR rating BETWEEN 0 AND 5),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city, name)
);
CREATE INDEX cinema_city_idx ON cinema (lower(city));

CREATE TABLE auditorium (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cinema_id  bigint NOT NULL REFERENCES cinema (id) ON DELETE RESTRICT,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    category   text NOT NULL DEFAULT 'standard' CHECK (category IN ('standard', 'premium', 'imax', '3d', 'dolby')),
    -- The spot seats are ranked from for "best seats" (in seat coordinates); NULL = centre, 2/3 back.
    best_x     double precision,
    best_y     double precision,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cinema_id, name)
);
CREATE INDEX auditorium_cinema_idx ON auditorium (cinema_id);

CREATE TABLE seat (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    auditorium_id bigint NOT NULL REFERENCES auditorium (id) ON DELETE CASCADE,
    row_label     text NOT NULL CHECK (length(row_label) BETWEEN 1 AND 8),
    number        integer NOT NULL CHECK (number BETWEEN 1 AND 999),
    x             double precision NOT NULL CHECK (x >= 0),
    y             double precision NOT NULL CHECK (y >= 0),
    kind          text NOT NULL DEFAULT 'standard' CHECK (kind IN ('standard', 'vip', 'wheelchair', 'companion')),
    blocked       boolean NOT NULL DEFAULT false,
    -- A companion seat belongs to one wheelchair place next to it.
    companion_of  bigint REFERENCES seat (id) ON DELETE SET NULL,
    UNIQUE (auditorium_id, row_label, number),
    -- Only companion seats point at a wheelchair place (the API requires that they do).
    CHECK (companion_of IS NULL OR kind = 'companion')
);
CREATE INDEX seat_auditorium_idx ON seat (auditorium_id);

CREATE TABLE genre (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name citext NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 60)
);

CREATE TABLE movie (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    director      text NOT NULL DEFAULT '',
    "cast"        text[] NOT NULL DEFAULT '{}',
    synopsis      text NOT NULL DEFAULT '',
    runtime_minutes integer NOT NULL CHECK (runtime_minutes BETWEEN 1 AND 1000),
    certificate   text NOT NULL DEFAULT '' CHECK (length(certificate) <= 10),
    score         numeric(3, 1) CHECK (score IS NULL OR score BETWEEN 0 AND 10),
    release_date  date,
    poster_url    text CHECK (poster_url IS NULL OR poster_url ~ '^(https?://|/)'),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX movie_title_idx ON movie (lower(title) text_pattern_ops);

CREATE TABLE movie_genre (
    movie_id bigint NOT NULL REFERENCES movie (id) ON DELETE CASCADE,
    genre_id bigint NOT NULL REFERENCES genre (id) ON DELETE CASCADE,
    PRIMARY KEY (movie_id, genre_id)
);
CREATE INDEX movie_genre_genre_idx ON movie_genre (genre_id);

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE screening (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    auditorium_id bigint NOT NULL REFERENCES auditorium (id) ON DELETE RESTRICT,
    movie_id      bigint NOT NULL REFERENCES movie (id) ON DELETE RESTRICT,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    -- {"standard": 1250, "vip": 1800, ...}: minor units per seat kind present in the auditorium.
    prices        jsonb NOT NULL CHECK (jsonb_typeof(prices) = 'object'),
    status        text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    orphan_rule   boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    -- No two live screenings overlap in one auditorium.
    EXCLUDE USING gist (auditorium_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
        WHERE (status = 'scheduled')
);
CREATE INDEX screening_starts_idx ON screening (starts_at);
CREATE INDEX screening_movie_idx ON screening (movie_id, starts_at);
CREATE INDEX screening_auditorium_idx ON screening (auditorium_id, starts_at);

-- Sales ---------------------------------------------------------------------

CREATE TABLE orders (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_key       text NOT NULL UNIQUE CHECK (order_key ~ '^[0-9A-HJKMNP-TV-Z]{8,12}$'),
    user_id         bigint NOT NULL REFERENCES app_user (id) ON DELETE RESTRICT,
    screening_id    bigint NOT NULL REFERENCES screening (id) ON DELETE RESTRICT,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN
                      ('pending', 'authorised', 'paid', 'failed', 'cancelled', 'refunded', 'expired')),
    amount          integer NOT NULL CHECK (amount >= 0),
    currency        text NOT NULL CHECK (length(currency) = 3),
    seat_ids        bigint[] NOT NULL CHECK (cardinality(seat_ids) BETWEEN 1 AND 100),
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    payment_ref     text,
    captured        boolean NOT NULL DEFAULT false,
    refunded        boolean NOT NULL DEFAULT false,
    failure_reason  text,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC);
CREATE INDEX orders_screening_idx ON orders (screening_id, status);
CREATE INDEX orders_stuck_idx ON orders (status, updated_at) WHERE status IN ('pending', 'authorised') OR (status = 'paid' AND NOT captured);

CREATE TABLE order_event (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status text,
    to_status   text NOT NULL,
    actor_id    bigint REFERENCES app_user (id) ON DELETE SET NULL,
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_event_order_idx ON order_event (order_id, created_at);

CREATE TABLE ticket (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id      bigint NOT NULL REFERENCES orders (id) ON DELETE RESTRICT,
    screening_id  bigint NOT NULL REFERENCES screening (id) ON DELETE RESTRICT,
    seat_id       bigint NOT NULL REFERENCES seat (id) ON DELETE RESTRICT,
    price         integer NOT NULL CHECK (price >= 0),
    status        text NOT NULL DEFAULT 'live' CHECK (status IN ('live', 'cancelled')),
    checked_in_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Invariant 1: a seat is sold at most once per screening, whatever Redis or a client does.
CREATE UNIQUE INDEX ticket_live_seat_uq ON ticket (screening_id, seat_id) WHERE status = 'live';
CREATE INDEX ticket_order_idx ON ticket (order_id);
CREATE INDEX ticket_screening_idx ON ticket (screening_id) WHERE status = 'live';
