"""The monthly report: figures in the cinema's local month, the PDF carries the API's figures,
charts are valid SVG with one bar or point per item."""
from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import asyncpg
import pypdf

from server.domain import charts
from server.messaging.content import money
from tests.test_reports import sales  # noqa: F401 (fixture)

SVG = "{http://www.w3.org/2000/svg}"


async def monthly(client: Any, headers: dict[str, str], **params: Any) -> Any:
    resp = await client.get("/api/reports/monthly", params=params, headers=headers)
    assert resp.status == 200, await resp.text()
    return resp


async def test_monthly_figures_of_a_cinema_and_the_chain(
    client: Any, pg: asyncpg.Connection, sales: dict[str, Any]
) -> None:
    headers = sales["staff"]["headers"]
    one = await (await monthly(client, headers, cinema_id=sales["s1"]["cinema_id"], month="2031-03")).json()
    s = one["summary"]
    # s1 (2 live tickets 2500, A3 refunded 1000, A1 checked in) and s3 (1 ticket 1200), both in March.
    assert (s["screenings"], s["tickets"], s["net"], s["refund_amount"], s["gross"]) == (2, 3, 3700, 1000, 4700)
    assert (s["capacity"], s["occupancy"], s["houseful"]) == (18, 16.7, 0)
    assert one["title"].endswith("March 2031") and len(one["by_day"]) == 31
    assert [(g["label"], g["sold"]) for g in one["by_film"]] == [("Alpha", 2), ("Beta", 1)]
    assert [g["label"] for g in one["by_weekday"]] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert one["top"][0]["screening_id"] == sales["s1"]["screening_id"]
    chain = await (await monthly(client, headers, month="2031-03")).json()
    assert (chain["summary"]["screenings"], chain["summary"]["tickets"]) == (4, 7)
    assert chain["summary"]["houseful"] == 0 and chain["cinema"] is None
    empty = await (await monthly(client, headers, month="2031-04")).json()
    assert empty["summary"]["tickets"] == 0 and empty["top"] == []


async def test_a_sold_out_show_is_houseful_and_unchecked_tickets_of_past_shows_are_no_shows(
    client: Any, pg: asyncpg.Connection, sales: dict[str, Any], clock: Any, make_user: Any
) -> None:
    # Block every seat of s2 but the three sold: it is sold out.
    await pg.execute("UPDATE seat SET blocked = true WHERE auditorium_id = $1 AND id <> ALL($2::bigint[])",
                     sales["s2"]["auditorium_id"], [sales["s2"]["seats"][k] for k in ("A1", "A2", "A3")])
    clock.advance((dt.datetime(2031, 3, 12, 12, tzinfo=dt.timezone.utc) - clock.now()).total_seconds())
    staff = await make_user("staff")  # a token of the new time
    body = await (await monthly(client, staff["headers"], month="2031-03")).json()
    s = body["summary"]
    assert s["houseful"] == 1
    # s1, s2, s3 have started by the 12th: 6 tickets, one checked in.
    assert (s["started_tickets"], s["checked_in"], s["no_shows"]) == (6, 1, 5)


async def test_the_pdf_holds_the_same_figures_as_the_api(client: Any, sales: dict[str, Any]) -> None:
    headers = sales["staff"]["headers"]
    params = {"cinema_id": sales["s2"]["cinema_id"], "month": "2031-03"}
    api = await (await monthly(client, headers, **params)).json()
    resp = await monthly(client, headers, format="pdf", **params)
    assert resp.content_type == "application/pdf"
    pdf = pypdf.PdfReader(io.BytesIO(await resp.read()))
    text = " ".join(page.extract_text() for page in pdf.pages)
    text = re.sub(r"\s+", " ", text)
    s = api["summary"]
    for figure in (money(s["net"]), money(s["gross"]), money(s["refund_amount"]), f"{s['occupancy']}%",
                   api["title"]):
        assert figure in text, figure
    assert f"{s['tickets']} tickets sold" in text
    assert len(pdf.pages) >= 2  # the one-page summary, then the details


async def test_the_html_page_escapes_names_and_draws_its_charts(
    client: Any, pg: asyncpg.Connection, sales: dict[str, Any]
) -> None:
    await pg.execute("UPDATE movie SET title = '<b>Alpha</b> & co' WHERE id = $1", sales["s1"]["movie_id"])
    resp = await monthly(client, sales["staff"]["headers"], month="2031-03", format="html")
    page = await resp.text()
    assert "&lt;b&gt;Alpha&lt;/b&gt; &amp; co" in page and "<b>Alpha</b>" not in page
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 6
    daily = ET.fromstring(svgs[0])
    assert len(daily.findall(f"{SVG}circle")) == 31  # a point per day of March


def test_charts_are_valid_svg_with_a_bar_or_point_per_item() -> None:
    items = [("A <&> B", 3.0), ("C", 0.0), ("D", 7.5)]
    for chart in (charts.bars("t", items), charts.columns("t", items)):
        root = ET.fromstring(str(chart))
        assert root.tag == f"{SVG}svg"
        assert len([r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]) == 3
        assert "A <&> B" in [t.text for t in root.iter(f"{SVG}text")]
    line = ET.fromstring(str(charts.line("t", [(str(i), i * 2.0) for i in range(30)])))
    assert len(line.findall(f"{SVG}circle")) == 30 and line.find(f"{SVG}polyline") is not None


async def test_monthly_report_input_and_roles(client: Any, make_user: Any) -> None:
    staff, customer = await make_user("staff"), await make_user("customer")
    for params, field in (({"month": "2031-13"}, "month"), ({"month": "March"}, "month"),
                          ({"format": "docx"}, "format")):
        resp = await client.get("/api/reports/monthly", params=params, headers=staff["headers"])
        assert resp.status == 400 and (await resp.json())["error"]["field"] == field
    resp = await client.get("/api/reports/monthly", params={"cinema_id": 999999}, headers=staff["headers"])
    assert resp.status == 404
    assert (await client.get("/api/reports/monthly", headers=customer["headers"])).status == 403
