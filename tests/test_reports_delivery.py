"""Monthly delivery: on the 1st at each cinema's local time, last month's report of every cinema
and of the chain is archived once (however many workers run the job) and emailed, PDF attached,
to admins and that cinema's managers; the archive lists and serves it."""
from __future__ import annotations

import asyncio
import datetime as dt
import io
from typing import Any

import asyncpg
import pypdf
import pytest

from server import keys
from server.messaging.monthly_reports import deliver_monthly_reports
from tests.support.mail import SmtpSink, parts

UTC = dt.timezone.utc
# The first instant of a new month in London, while New York is still in the old one: BST in
# summer (23:55 UTC on 31 July = 00:55 on 1 August), GMT in winter (00:05 UTC on 1 January).
BOUNDARIES = {"aug-bst-2355utc": (dt.datetime(2027, 7, 31, 23, 55, tzinfo=UTC), "2027-07"),
              "jan-gmt-0005utc": (dt.datetime(2027, 1, 1, 0, 5, tzinfo=UTC), "2026-12")}


def go_to(clock: Any, instant: dt.datetime) -> None:
    clock.advance((instant - clock.now()).total_seconds())


async def run_twice(app: Any, clock: Any) -> list[int]:
    """The job as two workers run it at the same moment: the archive ids made by either."""
    args = (app[keys.DB], app[keys.QUERIES], app[keys.SETTINGS], clock.now())
    first, second = await asyncio.gather(deliver_monthly_reports(*args), deliver_monthly_reports(*args))
    return first + second


async def archive(pg: asyncpg.Connection) -> list[tuple[Any, str]]:
    rows = await pg.fetch("SELECT cinema_id, to_char(month, 'YYYY-MM') AS m FROM report_archive ORDER BY id")
    return [(r["cinema_id"], r["m"]) for r in rows]


@pytest.mark.parametrize("boundary", list(BOUNDARIES), ids=list(BOUNDARIES))
async def test_the_report_is_made_once_per_month_per_cinema_in_its_own_zone(
    client: Any, pg: asyncpg.Connection, clock: Any, make_screening: Any, make_user: Any, boundary: str
) -> None:
    instant, ended = BOUNDARIES[boundary]
    before = (dt.date.fromisoformat(ended + "-01") - dt.timedelta(days=1)).strftime("%Y-%m")
    london = (await make_screening(time_zone="Europe/London"))["cinema_id"]
    new_york = (await make_screening(time_zone="America/New_York"))["cinema_id"]
    admin, manager, other = await make_user("admin"), await make_user("staff"), await make_user("staff")
    resp = await client.put(f"/api/cinemas/{london}/managers/{manager['id']}", headers=admin["headers"])
    assert resp.status == 204
    go_to(clock, instant - dt.timedelta(days=1))
    # The first run makes the month before's reports (a catch-up), once each, even from two workers.
    assert len(await run_twice(client.app, clock)) == 3
    assert sorted(await archive(pg), key=str) == sorted([(None, before), (london, before), (new_york, before)], key=str)
    assert await run_twice(client.app, clock) == []
    go_to(clock, instant)  # London (and the chain, on London's clock) start a new month; New York not yet
    assert len(await run_twice(client.app, clock)) == 2
    assert (london, ended) in await archive(pg) and (new_york, ended) not in await archive(pg)
    go_to(clock, instant + dt.timedelta(hours=5, minutes=1))  # past midnight in New York
    assert len(await run_twice(client.app, clock)) == 1 and (new_york, ended) in await archive(pg)
    assert await run_twice(client.app, clock) == []
    # Admins get every report, the manager only London's, other staff none.
    got = await pg.fetch("SELECT user_id, count(*) AS n FROM message WHERE kind = 'monthly_report'"
                         " AND channel = 'email' GROUP BY user_id")
    assert {r["user_id"]: r["n"] for r in got} == {admin["id"]: 6, manager["id"]: 2}
    assert other["id"] not in {r["user_id"] for r in got}


async def test_the_report_is_emailed_with_its_pdf_and_kept_in_the_archive(
    mail_client: Any, smtp: SmtpSink, pg: asyncpg.Connection, clock: Any, make_screening: Any, make_user: Any
) -> None:
    cinema = (await make_screening())["cinema_id"]
    await pg.execute("UPDATE cinema SET name = 'Rex' WHERE id = $1", cinema)
    admin = await make_user("admin")
    go_to(clock, dt.datetime(2027, 3, 1, 9, tzinfo=UTC))
    app = mail_client.app
    made = await deliver_monthly_reports(app[keys.DB], app[keys.QUERIES], app[keys.SETTINGS], clock.now())
    assert len(made) == 2  # the chain and Rex, February 2027
    messages = await smtp.wait_for(2)
    subjects = sorted(m["Subject"] for m in messages)
    assert subjects == ["Monthly report: All cinemas - February 2027", "Monthly report: Rex - February 2027"]
    rex = next(m for m in messages if "Rex" in m["Subject"])
    [(name, kind, pdf)] = parts(rex)["attachments"]
    assert kind == "application/pdf" and name.endswith(".pdf")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Rex - February 2027" in text
    admin = await make_user("admin")  # a token on the moved clock
    listing = (await (await mail_client.get("/api/reports/archive", headers=admin["headers"])).json())["reports"]
    assert {(r["cinema"], r["month"], r["emailed_to"]) for r in listing} == {(None, "2027-02", 1), ("Rex", "2027-02", 1)}
    stored = await mail_client.get(f"/api/reports/archive/{made[1]}", headers=admin["headers"])
    assert stored.status == 200 and stored.content_type == "application/pdf" and (await stored.read()) == pdf
    page = await mail_client.get(f"/api/reports/archive/{made[1]}", params={"format": "html"}, headers=admin["headers"])
    assert "Rex - February 2027" in await page.text()
    assert (await mail_client.get("/api/reports/archive/999999", headers=admin["headers"])).status == 404


async def test_only_staff_manage_a_cinema(client: Any, make_screening: Any, make_user: Any) -> None:
    cinema = (await make_screening())["cinema_id"]
    admin, customer = await make_user("admin"), await make_user("customer")
    resp = await client.put(f"/api/cinemas/{cinema}/managers/{customer['id']}", headers=admin["headers"])
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "user_id"
    assert (await client.put(f"/api/cinemas/999999/managers/{admin['id']}", headers=admin["headers"])).status == 404
    assert (await client.put(f"/api/cinemas/{cinema}/managers/{admin['id']}", headers=admin["headers"])).status == 204
    assert (await client.put(f"/api/cinemas/{cinema}/managers/{admin['id']}", headers=admin["headers"])).status == 204
    listed = await (await client.get(f"/api/cinemas/{cinema}/managers", headers=admin["headers"])).json()
    assert [m["id"] for m in listed["managers"]] == [admin["id"]]
    assert (await client.delete(f"/api/cinemas/{cinema}/managers/{admin['id']}", headers=admin["headers"])).status == 204
    assert (await client.delete(f"/api/cinemas/{cinema}/managers/{admin['id']}", headers=admin["headers"])).status == 404
    staff = await make_user("staff")
    assert (await client.put(f"/api/cinemas/{cinema}/managers/{staff['id']}", headers=staff["headers"])).status == 403
