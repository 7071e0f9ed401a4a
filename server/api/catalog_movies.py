"""Catalog API: genres and movies."""
from __future__ import annotations

from aiohttp import web

from server import keys
from server.api import catalog_schemas as s
from server.api.caching import cached
from server.api.catalog_support import admin_write, db_and_sql, path_id
from server.api.http import endpoint, json_response
from server.api.listing import movie_screenings, with_availability
from server.domain.catalog import movies

TAG = "catalog"


@endpoint("Movies: title search, genre, showing between dates", tag=TAG, query=s.MOVIE_QUERY,
          response=s.MOVIE_LIST)
@cached
async def list_movies(request: web.Request) -> web.Response:
    """GET /api/movies."""
    zone = request.app[keys.SETTINGS].catalog.default_time_zone
    return json_response(await movies.search_movies(*db_and_sql(request), request[keys.QUERY], zone))


@endpoint("One movie with its genres and upcoming screenings by cinema", tag=TAG, response=s.MOVIE_PAGE,
          description="Each screening carries live `availability` and `houseful`.")
@with_availability(movie_screenings)
@cached
async def get_movie(request: web.Request) -> web.Response:
    """GET /api/movies/{id}."""
    return json_response(await movies.movie_page(*db_and_sql(request), path_id(request), request.app[keys.CLOCK].now()))


@endpoint("Add a movie", tag=TAG, role="admin", body=s.MOVIE_BODY, response=s.MOVIE, status=201, errors=(404,),
          description="404 when a genre_ids entry is no genre.")
async def create_movie(request: web.Request) -> web.Response:
    """POST /api/movies."""
    return json_response(await admin_write(request, movies.create_movie, request[keys.BODY]), 201)


@endpoint("Change a movie", tag=TAG, role="admin", body=s.MOVIE_PATCH, response=s.MOVIE)
async def update_movie(request: web.Request) -> web.Response:
    """PATCH /api/movies/{id}."""
    return json_response(await admin_write(request, movies.update_movie, path_id(request), request[keys.BODY]))


@endpoint("Delete a movie that has no screenings", tag=TAG, role="admin", status=204, errors=(409,))
async def delete_movie(request: web.Request) -> web.Response:
    """DELETE /api/movies/{id}."""
    await admin_write(request, movies.delete_movie, path_id(request))
    return web.Response(status=204)


@endpoint("Every genre", tag=TAG, response=s.GENRE_LIST)
@cached
async def list_genres(request: web.Request) -> web.Response:
    """GET /api/genres."""
    return json_response(await movies.list_genres(*db_and_sql(request)))


@endpoint("One genre", tag=TAG, response=s.GENRE)
@cached
async def get_genre(request: web.Request) -> web.Response:
    """GET /api/genres/{id}."""
    return json_response(await movies.get_genre(*db_and_sql(request), path_id(request)))


@endpoint("Add a genre", tag=TAG, role="admin", body=s.GENRE_BODY, response=s.GENRE, status=201, errors=(409,))
async def create_genre(request: web.Request) -> web.Response:
    """POST /api/genres."""
    return json_response(await admin_write(request, movies.create_genre, request[keys.BODY]["name"]), 201)


@endpoint("Rename a genre", tag=TAG, role="admin", body=s.GENRE_BODY, response=s.GENRE, errors=(409,))
async def update_genre(request: web.Request) -> web.Response:
    """PATCH /api/genres/{id}."""
    return json_response(await admin_write(request, movies.rename_genre, path_id(request),
                                           request[keys.BODY]["name"]))


@endpoint("Delete a genre (its movies lose the tag)", tag=TAG, role="admin", status=204)
async def delete_genre(request: web.Request) -> web.Response:
    """DELETE /api/genres/{id}."""
    await admin_write(request, movies.delete_genre, path_id(request))
    return web.Response(status=204)
