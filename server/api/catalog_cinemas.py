"""Catalog API: cinemas and auditoriums with their seat maps."""
from __future__ import annotations

from aiohttp import web

from server import keys
from server.api import catalog_schemas as s
from server.api.caching import cached
from server.api.catalog_support import actor, admin_write, db_and_sql, path_id
from server.api.http import endpoint, json_response
from server.api.listing import cinema_screenings, with_availability
from server.domain.catalog import auditoriums, cinemas

TAG = "catalog"


@endpoint("Cinemas, by city or nearest to a point", tag=TAG, query=s.CINEMA_QUERY, response=s.CINEMA_LIST,
          description="With lat and lon, cinemas come nearest first with distance_km (great-circle).")
@cached
async def list_cinemas(request: web.Request) -> web.Response:
    """GET /api/cinemas."""
    return json_response(await cinemas.list_cinemas(*db_and_sql(request), request[keys.QUERY]))


@endpoint("One cinema with its auditoriums", tag=TAG, response=s.CINEMA_DETAIL)
@cached
async def get_cinema(request: web.Request) -> web.Response:
    """GET /api/cinemas/{id}."""
    return json_response(await cinemas.get_cinema(*db_and_sql(request), path_id(request)))


@endpoint("Movies showing at a cinema, with their screenings there", tag=TAG, query=s.RANGE_QUERY,
          response=s.CINEMA_MOVIES, description="Each screening carries live `availability` and `houseful`.")
@with_availability(cinema_screenings)
@cached
async def cinema_movies(request: web.Request) -> web.Response:
    """GET /api/cinemas/{id}/movies."""
    return json_response(await cinemas.cinema_movies(*db_and_sql(request), path_id(request), request[keys.QUERY],
                                                     request.app[keys.CLOCK].now()))


@endpoint("Add a cinema", tag=TAG, role="admin", body=s.CINEMA_BODY, response=s.CINEMA_DETAIL, status=201,
          errors=(409,))
async def create_cinema(request: web.Request) -> web.Response:
    """POST /api/cinemas."""
    default_zone = request.app[keys.SETTINGS].catalog.default_time_zone
    return json_response(await admin_write(request, cinemas.create_cinema, request[keys.BODY],
                                           default_time_zone=default_zone), 201)


@endpoint("Change a cinema", tag=TAG, role="admin", body=s.CINEMA_PATCH, response=s.CINEMA_DETAIL, errors=(409,))
async def update_cinema(request: web.Request) -> web.Response:
    """PATCH /api/cinemas/{id}."""
    return json_response(await admin_write(request, cinemas.update_cinema, path_id(request), request[keys.BODY]))


@endpoint("Delete a cinema without auditoriums", tag=TAG, role="admin", status=204, errors=(409,))
async def delete_cinema(request: web.Request) -> web.Response:
    """DELETE /api/cinemas/{id}."""
    await admin_write(request, cinemas.delete_cinema, path_id(request))
    return web.Response(status=204)


@endpoint("One auditorium", tag=TAG, response=s.AUDITORIUM)
@cached
async def get_auditorium(request: web.Request) -> web.Response:
    """GET /api/auditoriums/{id}."""
    return json_response(await auditoriums.get_auditorium(*db_and_sql(request), path_id(request)))


@endpoint("An auditorium's seat map", tag=TAG, response=s.SEAT_MAP)
@cached
async def get_seats(request: web.Request) -> web.Response:
    """GET /api/auditoriums/{id}/seats."""
    return json_response(await auditoriums.seat_map(*db_and_sql(request), path_id(request)))


@endpoint("Add an auditorium, optionally with its seat map", tag=TAG, role="admin", body=s.AUDITORIUM_BODY,
          response=s.AUDITORIUM, status=201, errors=(404, 409), description="404 when the cinema is unknown.")
async def create_auditorium(request: web.Request) -> web.Response:
    """POST /api/auditoriums."""
    return json_response(await admin_write(request, auditoriums.create_auditorium, request[keys.BODY]), 201)


@endpoint("Change an auditorium", tag=TAG, role="admin", body=s.AUDITORIUM_PATCH, response=s.AUDITORIUM,
          errors=(409,))
async def update_auditorium(request: web.Request) -> web.Response:
    """PATCH /api/auditoriums/{id}."""
    return json_response(await admin_write(request, auditoriums.update_auditorium, path_id(request),
                                           request[keys.BODY]))


@endpoint("Delete an auditorium that has no screenings", tag=TAG, role="admin", status=204, errors=(409,))
async def delete_auditorium(request: web.Request) -> web.Response:
    """DELETE /api/auditoriums/{id}."""
    await admin_write(request, auditoriums.delete_auditorium, path_id(request))
    return web.Response(status=204)


@endpoint("Replace an auditorium's seat map", tag=TAG, role="admin", body=s.SEATS_PUT, response=s.SEAT_MAP,
          errors=(409,), description="Refused (409 has_tickets) once tickets were sold in the auditorium.")
async def replace_seats(request: web.Request) -> web.Response:
    """PUT /api/auditoriums/{id}/seats."""
    catalog = request.app[keys.CATALOG]
    return json_response(await catalog.replace_seats(path_id(request), request[keys.BODY], **actor(request)))
