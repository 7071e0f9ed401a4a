"""A simulated sales history: when each ticket of a screening is bought (deterministic per seed).

Used by the demo (`run.py demo-history`, loaded with fresh demo data) and by the forecast's
backtest (bench/forecast_backtest.py), so the forecast is judged on data nobody hand-picked.
The generator, per screening:
  demand  = capacity x film appeal x weekday factor x hour factor x noise (gamma, mean 1, cv ~0.35)
            where film appeal is drawn once per film (log-normal around 0.6, at most 1.8) and fades 1 % a day
            since the film's first show; Fri/Sat evenings pull most, weekday mornings least;
  tickets = Poisson(demand) would-be buyers, each arriving a lead time before the show drawn from
            an exponential (mean 1.5 days, +3 days for appealing films: they sell earlier), capped
            at 21 days; when buyers exceed capacity, the earliest `capacity` get seats (houseful).
Everything random comes from one random.Random(seed): the same seed gives the same history.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

WEEKDAY = (0.7, 0.65, 0.7, 0.85, 1.25, 1.45, 1.1)  # Monday..Sunday
MAX_LEAD_DAYS = 21.0
FADE_PER_DAY = 0.01


def hour_factor(hour: int) -> float:
    """Evenings pull most: 0.55 at 10:00 rising to 1.3 at 19-20:00, easing late at night."""
    if hour < 12:
        return 0.55
    if hour < 17:
        return 0.8
    return 1.3 if hour <= 20 else 1.0


@dataclass(frozen=True)
class SimShow:
    """One screening to simulate: its keys, capacity, start (UTC) and film's first show date."""

    movie: int
    auditorium: int
    capacity: int
    starts_at: dt.datetime
    weekday: int  # local, 1 = Monday
    hour: int  # local
    film_age_days: float


class SalesSimulator:
    """Draws film appeals once, then buying times for any number of screenings."""

    def __init__(self, seed: int, films: int) -> None:
        self.rng = random.Random(seed)
        self.appeal = [min(1.8, math.exp(self.rng.gauss(math.log(0.6), 0.45))) for _ in range(films)]

    def _poisson(self, mean: float) -> int:
        # Knuth for small means, a rounded normal beyond (plenty for seat counts).
        if mean > 40:
            return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def buying_times(self, show: SimShow) -> list[dt.datetime]:
        """When this screening's tickets are bought (oldest first), at most its capacity."""
        appeal = self.appeal[show.movie % len(self.appeal)] * (1 - FADE_PER_DAY) ** max(show.film_age_days, 0)
        noise = self.rng.gammavariate(8.0, 1 / 8.0)
        demand = show.capacity * appeal * WEEKDAY[show.weekday - 1] * hour_factor(show.hour) * noise
        mean_lead = 1.5 + 3.0 * min(appeal / 0.6, 2.0)
        leads = sorted((min(self.rng.expovariate(1 / mean_lead), MAX_LEAD_DAYS)
                        for _ in range(self._poisson(demand))), reverse=True)
        return [show.starts_at - dt.timedelta(days=lead) for lead in leads[:show.capacity]]
