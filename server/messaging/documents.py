"""What an order confirmation carries: QR images, the printable PDF tickets and a calendar entry.

The PDF is drawn by WeasyPrint from an HTML template (one page per ticket); it is CPU work of a
few hundred milliseconds, so it runs in one worker thread, never on the event loop that serves
pages and sockets. The calendar entry is in the cinema's own time zone (with its VTIMEZONE), so a
calendar shows the show at the time printed on the ticket wherever the phone happens to be.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import io
from typing import Any, Sequence

import icalendar
import segno

from server import zones

# WeasyPrint is not known to be safe to call from several threads at once: one thread draws all.
_DRAWER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")


def qr_png(code: str) -> bytes:
    """A ticket code as a PNG (email clients show inline PNGs; many refuse SVG)."""
    out = io.BytesIO()
    segno.make(code, error="m").save(out, kind="png", scale=6, border=2, dark="#000", light="#fff")
    return out.getvalue()


async def qr_pngs(codes: Sequence[str]) -> list[bytes]:
    """Ticket codes as PNGs, drawn in a worker thread: segno draws in Python, a few ms a code, and
    a paid order's email must not hold the event loop that answers a rush's holds meanwhile."""
    return await asyncio.to_thread(lambda: [qr_png(code) for code in codes])


def _draw_pdf(html: str) -> bytes:
    import weasyprint  # imported here: it loads Pango, which only the job worker needs

    return weasyprint.HTML(string=html).write_pdf()


async def pdf_from_html(html: str) -> bytes:
    """Render an HTML document (inline CSS, data: images) to PDF bytes, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_DRAWER, _draw_pdf, html)


def calendar_entry(*, uid: str, title: str, starts_at: dt.datetime, ends_at: dt.datetime, zone: str,
                   location: str, description: str, url: str, now: dt.datetime) -> bytes:
    """An iCalendar (.ics) file with one event at the cinema's local time."""
    tz = zones.zone(zone)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Houseful//Tickets//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(dt.timezone.utc))
    event.add("dtstart", starts_at.astimezone(tz))
    event.add("dtend", ends_at.astimezone(tz))
    event.add("summary", title)
    event.add("location", location)
    event.add("description", description)
    event.add("url", url)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def local_times(starts_at: dt.datetime, ends_at: dt.datetime, zone: str) -> dict[str, Any]:
    """How a screening's times read at its cinema: weekday, date, start and end, and the zone's name."""
    tz = zones.zone(zone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    return {"date": f"{start:%A} {start.day} {start:%B %Y}", "start": f"{start:%H:%M}", "end": f"{end:%H:%M}",
            "zone": start.tzname() or zone, "day": start.date()}
