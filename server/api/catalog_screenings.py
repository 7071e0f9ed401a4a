"""Catalog API: screenings, their seat maps and booked maps."""
from __future__ import annotations

from aiohttp import web

from server import keys
from server.api import catalog_schemas as s
from server.api.caching import cached
from server.api.catalog_support import actor, admin_write, db_and_sql, path_id
from server.api.http import endpoint, json_response
from server.api.listing import screenings_of, with_availability
from server.domain.catalog import screenings

TAG = "catalog"


@endpoint("Screenings by cinema, movie and dates", tag=TAG, query=s.SCREENING_QUERY, response=s.SCREENING_LIST,
          description="Soonest first; from defaults to now, status to scheduled. Each scheduled screening "
                      "carries live `availability` and `houseful`.")
@with_availability(screenings_of)
@cached
async def list_screenings(request: web.Request) -> web.Response:
    """GET /api/screenings."""
    app = request.app
    return json_response(await screenings.list_screenings(*db_and_sql(request), request[keys.QUERY],
                                                          app[keys.CLOCK].now(),
                                                          app[keys.SETTINGS].catalog.default_time_zone))


@endpoint("One screening with its prices and capacity", tag=TAG, response=s.SCREENING)
@cached
async def get_screening(request: web.Request) -> web.Response:
    """GET /api/screenings/{id}."""
    return json_response(await screenings.get_screening(*db_and_sql(request), path_id(request)))


@endpoint("A screening's seat map with prices", tag=TAG, response=s.SCREENING_SEATS)
@cached
async def screening_seats(request: web.Request) -> web.Response:
    """GET /api/screenings/{id}/seats."""
    return json_response(await screenings.screening_seats(*db_and_sql(request), path_id(request)))


@endpoint("A screening's booked map (live tickets, from PostgreSQL)", tag=TAG, response=s.BOOKED,
          description="Never cached. Held seats are live state: see the screening's WebSocket room.")
async def booked(request: web.Request) -> web.Response:
    """GET /api/screenings/{id}/booked."""
    return json_response(await screenings.booked(*db_and_sql(request), path_id(request)))


@endpoint("Schedule a screening", tag=TAG, role="admin", body=s.SCREENING_BODY, response=s.SCREENING,
          status=201, errors=(404, 409), description="404 when the auditorium or movie is unknown; "
          "409 screening_overlap when it overlaps another in the auditorium; 400 missing_price when a seat "
          "kind of the auditorium has no price.")
async def create_screening(request: web.Request) -> web.Response:
    """POST /api/screenings."""
    default_rule = request.app[keys.SETTINGS].holds.orphan_rule
    return json_response(await admin_write(request, screenings.create_screening, request[keys.BODY],
                                           default_orphan_rule=default_rule), 201)


@endpoint("Change or move a screening", tag=TAG, role="admin", body=s.SCREENING_PATCH, response=s.SCREENING,
          errors=(409,), description="Moving (time, auditorium, movie) is refused once tickets are sold.")
async def update_screening(request: web.Request) -> web.Response:
    """PATCH /api/screenings/{id}."""
    catalog = request.app[keys.CATALOG]
    return json_response(await catalog.update_screening(path_id(request), request[keys.BODY], **actor(request)))


@endpoint("Delete a screening nobody ordered for", tag=TAG, role="admin", status=204, errors=(409,))
async def delete_screening(request: web.Request) -> web.Response:
    """DELETE /api/screenings/{id}."""
    await admin_write(request, screenings.delete_screening, path_id(request))
    return web.Response(status=204)


@endpoint("Cancel a screening", tag=TAG, role="admin", response=s.SCREENING)
async def cancel_screening(request: web.Request) -> web.Response:
    """POST /api/screenings/{id}/cancel."""
    catalog = request.app[keys.CATALOG]
    return json_response(await catalog.cancel_screening(path_id(request), **actor(request)))
