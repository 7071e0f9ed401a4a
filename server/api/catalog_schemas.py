"""JSON Schemas of the catalog API: request bodies, query strings and responses (also the OpenAPI)."""
from __future__ import annotations

from typing import Any

from server.domain.catalog.seatmap import KINDS, MAX_SEATS

MAX_LIMIT = 200
MAX_ID = 10**18 - 1
NO_NUL = "^[^\\x00]*$"  # PostgreSQL text cannot hold NUL; refuse it at the edge.


def text(lo: int = 0, hi: int = 200) -> dict[str, Any]:
    """A string of lo..hi characters."""
    return {"type": "string", "minLength": lo, "maxLength": hi, "pattern": NO_NUL}


def obj(props: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """A closed object: unknown fields are refused."""
    out = {"type": "object", "properties": props, "additionalProperties": False, **extra}
    if required:
        out["required"] = list(required)
    return out


def patch(schema: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body: the same fields, none required, no defaults filled in, at least one given."""
    props = {k: {a: b for a, b in v.items() if a != "default"} for k, v in schema["properties"].items()}
    rest = {k: v for k, v in schema.items() if k not in ("required", "properties")}
    return {**rest, "properties": props, "minProperties": 1}


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50,
         "description": f"page size, at most {MAX_LIMIT}"}
OFFSET = {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0}
WHEN = {"type": "string", "maxLength": 40, "pattern": NO_NUL,
        "description": "ISO 8601 date-time, or a date (YYYY-MM-DD): a whole local day in the cinema's time "
                       "zone (catalog.default_time_zone when no one cinema is asked for)"}
INSTANT = {"type": "string", "format": "date-time", "maxLength": 40,
           "description": "ISO 8601 date-time with a UTC offset, e.g. 2030-05-01T19:30:00Z"}
PRICE = {"type": "integer", "minimum": 0, "maximum": 10_000_000, "description": "minor units (pence)"}

# Cinemas ---------------------------------------------------------------------

CINEMA_BODY = obj({
    "name": text(1, 200), "city": text(1, 100), "address": text(0, 500),
    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
    "longitude": {"type": "number", "minimum": -180, "maximum": 180},
    "rating": {"type": ["number", "null"], "minimum": 0, "maximum": 5},
    "time_zone": {**text(1, 64), "description": "IANA time zone, e.g. Europe/London (default: "
                                                "catalog.default_time_zone)"},
}, ("name", "city", "latitude", "longitude"))
CINEMA_PATCH = patch(CINEMA_BODY)
CINEMA_QUERY = obj({
    "city": text(1, 100),
    "lat": {"type": "number", "minimum": -90, "maximum": 90, "description": "with lon: nearest first"},
    "lon": {"type": "number", "minimum": -180, "maximum": 180},
    "limit": LIMIT, "offset": OFFSET,
})
CINEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "city": {"type": "string"},
    "address": {"type": "string"}, "latitude": {"type": "number"}, "longitude": {"type": "number"},
    "rating": {"type": ["number", "null"]},
    "time_zone": {"type": "string", "description": "IANA time zone: the cinema's local days and times"},
    "distance_km": {"type": "number", "description": "only when lat & lon were given"},
}}
AUDITORIUM_SUMMARY = {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "category": {"type": "string"},
    "seat_count": {"type": "integer"}, "capacity": {"type": "integer", "description": "seats not blocked"},
}}
CINEMA_DETAIL = {**CINEMA, "properties": {**CINEMA["properties"],
                                          "auditoriums": {"type": "array", "items": AUDITORIUM_SUMMARY}}}
CINEMA_LIST = {"type": "object", "properties": {
    "cinemas": {"type": "array", "items": CINEMA}, "limit": {"type": "integer"}, "offset": {"type": "integer"}}}
RANGE_QUERY = obj({"from": WHEN, "to": WHEN})

# Auditoriums and seat maps ---------------------------------------------------------

SEAT_IN = obj({
    "row": text(1, 8), "number": {"type": "integer", "minimum": 1, "maximum": 999},
    "x": {"type": "number", "minimum": 0, "maximum": 100_000},
    "y": {"type": "number", "minimum": 0, "maximum": 100_000},
    "kind": {"enum": list(KINDS), "default": "standard"},
    "blocked": {"type": "boolean", "default": False},
    "companion_of": {"type": ["object", "null"], "properties": {
        "row": text(1, 8), "number": {"type": "integer", "minimum": 1, "maximum": 999}},
        "required": ["row", "number"], "additionalProperties": False,
        "description": "the wheelchair place (same row, adjacent number) a companion seat belongs to"},
}, ("row", "number", "x", "y"))
LAYOUT_FIELDS: dict[str, Any] = {
    "seats": {"type": "array", "items": SEAT_IN, "description": f"the list form (at most {MAX_SEATS} seats)"},
    "rows": {"type": "array", "items": text(1, 8), "maxItems": 500,
             "description": "grid form: row labels, front first (default A, B, ...)"},
    "grid": {"type": "array", "items": {"type": "string", "maxLength": 500, "pattern": "^[SVWCX_]*$"},
             "maxItems": 500,
             "description": "grid form: one string per row; S standard, V vip, W wheelchair, "
                            "C companion (of the adjacent W), X blocked, _ aisle or gap"},
}
SEATS_PUT = {
    "type": ["array", "object"], "items": SEAT_IN, "properties": LAYOUT_FIELDS, "additionalProperties": False,
    "description": "a list of seats, {seats: [...]}, or the grid form {rows, grid}",
}
AUDITORIUM_BODY = obj({
    "cinema_id": ID, "name": text(1, 100),
    "category": {"enum": ["standard", "premium", "imax", "3d", "dolby"], "default": "standard"},
    "best_x": {"type": ["number", "null"], "minimum": 0, "maximum": 100_000},
    "best_y": {"type": ["number", "null"], "minimum": 0, "maximum": 100_000},
    **LAYOUT_FIELDS,
}, ("cinema_id", "name"))
AUDITORIUM_PATCH = patch(obj({k: v for k, v in AUDITORIUM_BODY["properties"].items()
                              if k in ("name", "category", "best_x", "best_y")}))
AUDITORIUM = {"type": "object", "properties": {
    **AUDITORIUM_SUMMARY["properties"], "cinema_id": {"type": "integer"}, "cinema_name": {"type": "string"},
    "best_x": {"type": ["number", "null"]}, "best_y": {"type": ["number", "null"]},
}}
SEAT_OUT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "row": {"type": "string"}, "number": {"type": "integer"},
    "x": {"type": "number"}, "y": {"type": "number"}, "kind": {"enum": list(KINDS)},
    "blocked": {"type": "boolean"},
    "companion_of": {"type": ["integer", "null"], "description": "seat id of the wheelchair place"},
}}
SEAT_MAP = {"type": "object", "properties": {
    "auditorium": AUDITORIUM, "seats": {"type": "array", "items": SEAT_OUT},
    "width": {"type": "number"}, "height": {"type": "number"}}}

# Genres and movies ------------------------------------------------------------------

GENRE_BODY = obj({"name": text(1, 60)}, ("name",))
GENRE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "movie_count": {"type": "integer"}}}
GENRE_LIST = {"type": "object", "properties": {"genres": {"type": "array", "items": GENRE}}}
MOVIE_BODY = obj({
    "title": text(1, 300), "director": text(0, 200),
    "cast": {"type": "array", "items": text(1, 200), "maxItems": 100},
    "synopsis": text(0, 5000),
    "runtime_minutes": {"type": "integer", "minimum": 1, "maximum": 1000},
    "certificate": text(0, 10),
    "score": {"type": ["number", "null"], "minimum": 0, "maximum": 10},
    "release_date": {"type": ["string", "null"], "format": "date"},
    "poster_url": {"type": ["string", "null"], "maxLength": 2000, "pattern": "^(https?://|/)[^\\x00\\s]*$"},
    "genre_ids": {"type": "array", "items": ID, "maxItems": 50},
}, ("title", "runtime_minutes"))
MOVIE_PATCH = patch(MOVIE_BODY)
MOVIE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "title": {"type": "string"}, "director": {"type": "string"},
    "cast": {"type": "array", "items": {"type": "string"}}, "synopsis": {"type": "string"},
    "runtime_minutes": {"type": "integer"}, "certificate": {"type": "string"},
    "score": {"type": ["number", "null"]}, "release_date": {"type": ["string", "null"], "format": "date"},
    "poster_url": {"type": ["string", "null"]},
    "genres": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}}}},
}}
MOVIE_QUERY = obj({
    "q": {**text(1, 100), "description": "case-insensitive title search"},
    "genre": {**text(1, 60), "description": "genre id or name"},
    "from": {**WHEN, "description": "showing between from/to: only movies with scheduled screenings then"},
    "to": WHEN, "limit": LIMIT, "offset": OFFSET,
})
MOVIE_LIST = {"type": "object", "properties": {
    "movies": {"type": "array", "items": MOVIE}, "total": {"type": "integer"},
    "limit": {"type": "integer"}, "offset": {"type": "integer"}}}
AVAILABILITY = {"type": "object", "description": "live: free seats now (held and sold seats are not free)",
                "properties": {
                    "free": {"type": "integer"}, "capacity": {"type": "integer"},
                    "level": {"enum": ["available", "almost_full", "houseful"],
                              "description": "almost_full: at most 10% of the seats free"}}}
HOUSEFUL = {"type": "boolean", "description": "every seat is sold or held"}
SHOWING = {"type": "object", "properties": {
    "id": {"type": "integer"}, "starts_at": {"type": "string", "format": "date-time"},
    "ends_at": {"type": "string", "format": "date-time"}, "auditorium_id": {"type": "integer"},
    "auditorium_name": {"type": "string"}, "prices": {"type": "object"},
    "availability": AVAILABILITY, "houseful": HOUSEFUL}}
MOVIE_PAGE = {**MOVIE, "properties": {**MOVIE["properties"], "cinemas": {"type": "array", "items": {
    "type": "object", "properties": {"cinema": CINEMA, "screenings": {"type": "array", "items": SHOWING}}}}}}
CINEMA_MOVIES = {"type": "object", "properties": {
    "cinema": CINEMA, "movies": {"type": "array", "items": {**MOVIE, "properties": {
        **MOVIE["properties"], "screenings": {"type": "array", "items": SHOWING}}}}}}

# Screenings ------------------------------------------------------------------------

PRICES = obj({kind: PRICE for kind in KINDS}, minProperties=1,
             description="price per seat kind; every kind present in the auditorium is required")
SCREENING_BODY = obj({
    "auditorium_id": ID, "movie_id": ID, "starts_at": INSTANT,
    "ends_at": {**INSTANT, "description": "default: starts_at + runtime + 20 minutes cleaning"},
    "prices": PRICES, "orphan_rule": {"type": "boolean", "description": "default: holds.orphan_rule setting"},
}, ("auditorium_id", "movie_id", "starts_at", "prices"))
SCREENING_PATCH = patch(SCREENING_BODY)
SCREENING_QUERY = obj({
    "cinema_id": ID, "movie_id": ID,
    "from": {**WHEN, "description": "earliest start (default now)"}, "to": WHEN,
    "status": {"enum": ["scheduled", "cancelled", "any"], "default": "scheduled"},
    "q": {**text(1, 100), "description": "words in the film's title, the cinema's or the auditorium's name"},
    "limit": LIMIT, "offset": OFFSET,
})
SCREENING = {"type": "object", "properties": {
    "id": {"type": "integer"}, "starts_at": {"type": "string", "format": "date-time"},
    "ends_at": {"type": "string", "format": "date-time"}, "prices": {"type": "object"},
    "status": {"enum": ["scheduled", "cancelled"]}, "orphan_rule": {"type": "boolean"},
    "capacity": {"type": "integer"},
    "movie": {"type": "object"}, "cinema": {"type": "object"}, "auditorium": {"type": "object"},
    "availability": {**AVAILABILITY, "description": "in lists only (scheduled screenings)"}, "houseful": HOUSEFUL,
}}
SCREENING_LIST = {"type": "object", "properties": {
    "screenings": {"type": "array", "items": SCREENING}, "total": {"type": "integer", "description": "every match"},
    "limit": {"type": "integer"},
    "offset": {"type": "integer"}}}
SCREENING_SEATS = {"type": "object", "properties": {
    **SEAT_MAP["properties"], "screening_id": {"type": "integer"}, "prices": {"type": "object"},
    "status": {"type": "string"}}}
BOOKED = {"type": "object", "properties": {
    "screening_id": {"type": "integer"}, "seat_ids": {"type": "array", "items": {"type": "integer"}},
    "counts": {"type": "object", "properties": {
        "booked": {"type": "integer"}, "capacity": {"type": "integer"}, "free": {"type": "integer"}}}}}
