"""Catalog API: screenings, their seat maps and booked maps."""
from __future__ import annotations

from aiohttp import web

from server import keys
from server.api import catalog_schemas as s
from server.api.catalog_support import admin_write, path_id
from server.api.http import endpoint, json_response
from server.cache import cached
from server.domain.catalog import screenings

TAG = "catalog"


@endpoint("Screenings by cinema, movie and dates", tag=TAG, query=s.SCREENING_QUERY, response=s.SCREENING_LIST,
          description="Soonest first; from defaults to now, status to scheduled.")
@cached
async def list_screenings(request: web.Request) -> web.Response:
    """GET /api/screenings."""
    app = request.app
    return json_response(await screenings.list_screenings(app[keys.DB], request[keys.QUERY], app[keys.CLOCK].now(),
                                                          app[keys.SETTINGS].catalog.default_time_zone))


@endpoint("One screening with its prices and capacity", tag=TAG, response=s.SCREENING)
@cached
async def get_screening(request: web.Request) -> web.Response:
    """GET /api/screenings/{id}."""
    return json_response(await screenings.get_screening(request.app[keys.DB], path_id(request)))


@endpoint("A screening's seat map with prices", tag=TAG, response=s.SCREENING_SEATS)
@cached
async def screening_seats(request: web.Request) -> web.Response:
    """GET /api/screenings/{id}/seats."""
    return json_response(await screenings.screening_seats(request.app[keys.DB], path_id(request)))


@endpoint("A screening's booked map (live tickets, from PostgreSQL)", tag=TAG, response=s.BOOKED,
          description="Never cached. Held seats are live state: see the screening's WebSocket room.")
async def booked(request: web.Request) -> web.Response:
    """GET /api/screenings/{id}/booked."""
    return json_response(await screenings.booked(request.app[keys.DB], path_id(request)))


@endpoint("Schedule a screening", tag=TAG, role="admin", body=s.SCREENING_BODY, response=s.SCREENING,
          status=201, errors=(409,), description="409 screening_overlap when it overlaps another in the "
          "auditorium; 400 missing_price when a seat kind of the auditorium has no price.")
async def create_screening(request: web.Request) -> web.Response:
    """POST /api/screenings."""
    default_rule = request.app[keys.SETTINGS].holds.orphan_rule
    return json_response(await admin_write(request, screenings.create_screening, request[keys.BODY],
                                           default_orphan_rule=default_rule), 201)


@endpoint("Change or move a screening", tag=TAG, role="admin", body=s.SCREENING_PATCH, response=s.SCREENING,
          errors=(409,), description="Moving (time, auditorium, movie) is refused once tickets are sold.")
async def update_screening(request: web.Request) -> web.Response:
    """PATCH /api/screenings/{id}."""
    screening_id = path_id(request)
    updated = await admin_write(request, screenings.update_screening, screening_id, request[keys.BODY])
    # Prices, times and the orphan rule live in Redis too: reload them and resync open seat maps.
    await request.app[keys.HOLDS].refresh(screening_id)
    return json_response(updated)


@endpoint("Delete a screening nobody ordered for", tag=TAG, role="admin", status=204, errors=(409,))
async def delete_screening(request: web.Request) -> web.Response:
    """DELETE /api/screenings/{id}."""
    await admin_write(request, screenings.delete_screening, path_id(request))
    return web.Response(status=204)


@endpoint("Cancel a screening", tag=TAG, role="admin", response=s.SCREENING)
async def cancel_screening(request: web.Request) -> web.Response:
    """POST /api/screenings/{id}/cancel."""
    screening_id = path_id(request)
    await admin_write(request, screenings.cancel_screening, screening_id)
    # Redis learns the status first, so no new hold is granted while the refunds run.
    await request.app[keys.HOLDS].refresh(screening_id)
    # After the commit: every paid order is refunded (seats freed live), open payments closed.
    from server.checkout.orders import refund_screening

    await refund_screening(request.app, screening_id, request[keys.USER].user_id)
    return json_response(await screenings.get_screening(request.app[keys.DB], screening_id))
