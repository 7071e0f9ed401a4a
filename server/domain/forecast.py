"""Sell-out forecast: each upcoming screening's final occupancy, and whether and when it turns houseful.

The model is a linear regression (scikit-learn Ridge) with four features a manager can read:
  sold      - the share of seats sold so far;
  similar   - the final occupancy of similar past screenings;
  similar_now - the share those screenings had sold at the same time before their show;
  pickup    - similar - similar_now: what they sold from this point on.
"Similar" is the closest level with enough history: same film, weekday, hour and screen; then
same film, weekday and hour; same film; same screen, weekday and hour; then every screening.
A screening's history curve is its tickets sold at fixed lead times (LEADS days before the show).
Training rows are past screenings seen at each lead, compared with the others (leave-one-out), so
the model learns how much of the "pickup" really comes. The coefficients are stored (migration
010) and refitted by the hourly job; requests only apply them. Pure maths here: no database.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

LEADS = (14.0, 7.0, 3.0, 2.0, 1.0, 0.5, 0.25, 0.0)  # days before the show, far to near
FEATURES = ("sold", "similar", "similar_now", "pickup")
LEVELS = (("film, weekday, hour and screen", ("movie_id", "weekday", "hour", "auditorium_id")),
          ("film, weekday and hour", ("movie_id", "weekday", "hour")),
          ("film", ("movie_id",)),
          ("screen, weekday and hour", ("auditorium_id", "weekday", "hour")),
          ("every screening", ()))
MIN_SIMILAR = 2  # a level needs this many past screenings to speak for a screening
HOUSEFUL = 0.97  # the share of seats sold from which a screening counts as houseful (sold out)
# Flagged as a likely sell-out from this predicted share: a linear model pulls extremes towards the
# mean, so waiting for a prediction of 97 % misses most sell-outs (bench/RESULTS.md).
LIKELY = 0.85
RIDGE_ALPHA = 1e-3


@dataclass(frozen=True)
class Curve:
    """A screening's sales: its keys, capacity, and tickets sold by each of LEADS (the last: final)."""

    screening_id: int
    movie_id: int
    auditorium_id: int
    weekday: int
    hour: int
    capacity: int
    sold_at: tuple[int, ...]  # aligned with LEADS

    @property
    def shares(self) -> np.ndarray:
        """Sold at each lead as a share of capacity."""
        return np.array(self.sold_at, dtype=float) / max(self.capacity, 1)


def share_at(shares: np.ndarray, lead: float) -> float:
    """A curve's share sold `lead` days before the show (interpolated; flat beyond the first lead)."""
    return float(np.interp(-lead, [-x for x in LEADS], shares))


@dataclass
class History:
    """Past screenings' curves grouped at every similarity level (sums, so one can be left out)."""

    sums: dict[tuple[Any, ...], np.ndarray] = field(default_factory=lambda: defaultdict(lambda: np.zeros(len(LEADS))))
    counts: dict[tuple[Any, ...], int] = field(default_factory=lambda: defaultdict(int))

    @classmethod
    def of(cls, curves: Iterable[Curve]) -> History:
        """The history of `curves`."""
        history = cls()
        for curve in curves:
            for key in cls.keys(curve):
                history.sums[key] += curve.shares
                history.counts[key] += 1
        return history

    @staticmethod
    def keys(item: Any) -> list[tuple[Any, ...]]:
        """The group key of `item` (a Curve or a dict with the key fields) at every level."""
        get = item.get if isinstance(item, dict) else lambda name: getattr(item, name)
        return [(level, *(get(name) for name in names)) for level, (_, names) in enumerate(LEVELS)]

    def similar(self, item: Any, leave_out: Curve | None = None) -> tuple[int, int, np.ndarray]:
        """(level, how many, mean share curve) of the closest level with MIN_SIMILAR screenings."""
        for key in self.keys(item):
            n = self.counts.get(key, 0) - (leave_out is not None)
            if n >= MIN_SIMILAR or (key[0] == len(LEVELS) - 1 and n > 0):
                total = self.sums[key] - (leave_out.shares if leave_out is not None else 0)
                return key[0], n, total / n
        return len(LEVELS) - 1, 0, np.zeros(len(LEADS))


def features(sold: float, lead: float, mean: np.ndarray) -> list[float]:
    """The model's inputs for a screening `sold` (share) at `lead` days with similar curve `mean`."""
    final, now = float(mean[-1]), share_at(mean, lead)
    return [sold, final, now, final - now]


@dataclass(frozen=True)
class Model:
    """A fitted linear model: final share = intercept + coef . features."""

    coef: tuple[float, ...]
    intercept: float
    rows: int

    def final_share(self, x: Sequence[float]) -> float:
        """The predicted final share of seats sold (not clipped)."""
        return self.intercept + float(np.dot(self.coef, x))

    def to_json(self) -> dict[str, Any]:
        """For the forecast_model table and the API."""
        return {"features": list(FEATURES), "coef": list(self.coef), "intercept": self.intercept, "rows": self.rows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        """Back from to_json."""
        return cls(tuple(data["coef"]), float(data["intercept"]), int(data["rows"]))


NAIVE = Model((0.0, 1.0, 0.0, 0.0), 0.0, 0)  # "it will end like similar screenings did"


def fit(curves: Sequence[Curve]) -> Model:
    """Fit the model on past screenings' curves (NAIVE when there are too few)."""
    from sklearn.linear_model import Ridge  # imported here: only fitting needs it

    history = History.of(curves)
    x, y = [], []
    for curve in curves:
        _, n, mean = history.similar(curve, leave_out=curve)
        if n == 0:
            continue
        shares = curve.shares
        for i, lead in enumerate(LEADS[:-1]):
            x.append(features(float(shares[i]), lead, mean))
            y.append(float(shares[-1]))
    if len(x) < 2 * len(FEATURES):
        return NAIVE
    ridge = Ridge(alpha=RIDGE_ALPHA).fit(np.array(x), np.array(y))
    return Model(tuple(float(c) for c in ridge.coef_), float(ridge.intercept_), len(x))


def _sellout_lead(sold: float, final: float, lead: float, mean: np.ndarray) -> float | None:
    """Days before the show at which the screening turns houseful (HOUSEFUL of its seats sold), the
    sales from now on following the shape of the similar screenings' curve."""
    if final < HOUSEFUL or sold >= HOUSEFUL:
        return lead if sold >= HOUSEFUL else None
    start, end = share_at(mean, lead), float(mean[-1])
    for later in [x for x in LEADS if x < lead]:
        progress = (share_at(mean, later) - start) / (end - start) if end > start else 1.0
        if sold + (final - sold) * progress >= HOUSEFUL - 1e-9:
            return later
    return 0.0


def predict(model: Model, history: History, screening: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """One upcoming screening's forecast: predicted final occupancy, sell-out flag and time, and why."""
    capacity = max(int(screening["capacity"]), 1)
    sold = screening["sold"] / capacity
    lead = max((screening["starts_at"] - now).total_seconds() / 86400, 0.0)
    level, n, mean = history.similar(screening)
    x = features(sold, lead, mean)
    # Demand beyond capacity (raw > 1) is kept for the timing: the more of it, the sooner it sells out.
    raw = max(model.final_share(x), sold)
    final = min(raw, 1.0)
    when = _sellout_lead(sold, raw, lead, mean)
    return {
        "screening_id": screening["screening_id"], "capacity": screening["capacity"], "sold": screening["sold"],
        "predicted_occupancy": round(100 * final, 1), "predicted_sold": round(final * screening["capacity"]),
        "likely_houseful": final >= LIKELY,
        "houseful_by": (screening["starts_at"] - dt.timedelta(days=when)).isoformat() if when is not None else None,
        "similar": {"screenings": n, "alike_by": LEVELS[level][0], "final_occupancy": round(100 * float(mean[-1]), 1)},
    }
