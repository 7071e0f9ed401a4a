"""Error messages for people: the one place where a technical message becomes a sentence.

The validator (fastjsonschema) and the domain speak in fragments: "count must be bigger than or
equal to 1", "no screening 7". People read sentences: "Count must be at least 1." Programs keep
reading the stable `code` and `field` beside the message, which never change here. Every error
shape the edges build (HTTP `error_body` and `DomainError.to_dict`, the WebSocket `error_frame`)
passes its message through `for_people`, so the wording is decided once.
"""
from __future__ import annotations

import functools
import re
from typing import Callable

# Field names as people call them; any other name is shown with spaces for underscores.
LABELS = {
    "starts_at": "Start time", "ends_at": "End time", "runtime_minutes": "Runtime", "lat": "Latitude",
    "lon": "Longitude", "cinema_id": "Cinema", "movie_id": "Film", "auditorium_id": "Auditorium",
    "seat_ids": "Seats", "genre_ids": "Genres", "q": "Search", "time_zone": "Time zone",
    "poster_url": "Poster URL", "release_date": "Release date", "current_password": "Current password",
    "refresh_token": "Refresh token", "order_key": "Order key", "id": "Id", "type": "Type",
}
Rewrite = Callable[[re.Match[str]], str]


def _one_of(match: re.Match[str]) -> str:
    options = [o.strip(" '\"") for o in match.group(1).split(",") if o.strip(" '\"")]
    return "must be one of: " + ", ".join(options)


# fastjsonschema's phrasings (after "<subject> ") -> ours. Anchored at the end of the message.
RULES: tuple[tuple[re.Pattern[str], str | Rewrite], ...] = tuple((re.compile(p + "$"), r) for p, r in (
    (r"must be bigger than or equal to (\S+)", "must be at least {0}"),
    (r"must be smaller than or equal to (\S+)", "must be at most {0}"),
    (r"must be bigger than (\S+)", "must be more than {0}"),
    (r"must be smaller than (\S+)", "must be less than {0}"),
    (r"must be longer than or equal to 1 characters", "must not be empty"),
    (r"must be longer than or equal to (\d+) characters", "must be at least {0} characters long"),
    (r"must be shorter than or equal to (\d+) characters", "must be at most {0} characters long"),
    (r"must match pattern .*", "contains characters that are not allowed"),
    (r"must be one of \[(.*)\]", _one_of),
    (r"must be integer(?: or null)?", "must be a whole number"),
    (r"must be number(?: or null)?", "must be a number"),
    (r"must be string(?: or null)?", "must be text"),
    (r"must be boolean", "must be true or false"),
    (r"must be array", "must be a list"),
    (r"must be object", "must be a JSON object"),
    (r"must be date-time", "must be a date and time such as 2030-05-01T19:30:00Z"),
    (r"must be date", "must be a date such as 2030-05-01"),
    (r"must be email", "must be an email address"),
    (r"must be (?:valid by one of|valid exactly by one of) .*", "is not valid"),
    (r"must contain at least 1 items", "must not be empty"),
    (r"must contain at least (\d+) items", "needs at least {0} items"),
    (r"must contain less than or equal to (\d+) items", "may have at most {0} items"),
    (r"must contain unique items", "must not repeat an item"),
    (r"must contain at least \d+ properties", "needs at least one field"),
    (r"must contain \[.*\] properties", "is required"),
    (r"must not contain \{.*\} properties", "is not a field this accepts"),
))
_SUBJECT_RULE = re.compile(r"^(?P<subject>\S+) (?P<rule>must .*)$")


def label(field: str) -> str:
    """A field path as people call it: "prices.vip" -> "Vip price", "starts_at" -> "Start time"."""
    parts = [p for p in field.split(".") if p and not p.isdigit()]
    if not parts:
        return "This value"
    if len(parts) == 2 and parts[0] == "prices":
        return f"{'VIP' if parts[1] == 'vip' else parts[1].capitalize()} price"
    last = parts[-1]
    return LABELS.get(last, last.replace("_", " ").capitalize())


def _schema_sentence(message: str, field: str | None) -> str | None:
    """A validator message rewritten, or None when it is not one."""
    found = _SUBJECT_RULE.match(message)
    if not found:
        return None
    for pattern, rewrite in RULES:
        rule = pattern.match(found["rule"])
        if rule is None:
            continue
        text = rewrite(rule) if callable(rewrite) else rewrite.format(*rule.groups())
        if pattern.pattern.startswith("must not contain"):
            subject = f'"{field}"' if field else found["subject"]
        else:
            subject = label(field) if field else found["subject"]
        return f"{subject} {text}"
    return None


@functools.lru_cache(maxsize=4_096)  # a rush refuses thousands of holds with the same few messages
def for_people(message: str, field: str | None = None) -> str:
    """The message as a sentence: validator phrasing rewritten, a capital first, a full stop last."""
    text = (_schema_sentence(message.strip(), field) or message).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."
