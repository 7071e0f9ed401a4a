"""Every URL of the service, in one place."""
from __future__ import annotations

from aiohttp import web

from server import pages
from server.api import accounts, dashboard as dashboard_api, health, mailbox as mailbox_api, notifications, openapi
from server.api import metrics
from server.api import orders as orders_api
from server.api import catalog_cinemas as cc, catalog_movies as cm, catalog_screenings as cs
from server.api import forecast as forecast_api, report_archive, reports as reports_api, resets, sandbox_pay
from server.api import tickets as tickets_api, users, waitlist
from server.api import waiting_room as waiting_room_api
from server.web_setup import STATIC_DIR
from server.ws import handlers as ws

# Ids in paths are at most 18 digits, so an absurd id is a 404 rather than an overflow.
ID = r"{id:\d{1,18}}"


def setup_routes(app: web.Application) -> None:
    """Register every route; handlers live in server/api, server/ws and server/pages.py."""
    r = app.router
    r.add_get("/api/health", health.health)
    r.add_get("/metrics", metrics.metrics)
    r.add_get("/api/openapi.json", openapi.openapi_document)
    r.add_get("/api/docs", pages.api_docs)
    # --- accounts (server/api/accounts.py) ---
    r.add_post("/api/auth/register", accounts.register)
    r.add_post("/api/auth/login", accounts.login)
    r.add_post("/api/auth/refresh", accounts.refresh)
    r.add_post("/api/auth/logout", accounts.logout)
    r.add_post("/api/auth/reset", resets.ask)
    r.add_post("/api/auth/reset/complete", resets.complete)
    r.add_get("/api/me", accounts.me)
    r.add_patch("/api/me", accounts.update_me)
    r.add_get("/api/me/notifications", notifications.get_settings)
    r.add_patch("/api/me/notifications", notifications.put_settings)
    r.add_post("/api/me/push-subscriptions", notifications.subscribe)
    r.add_delete("/api/me/push-subscriptions", notifications.unsubscribe)
    r.add_get("/api/users", users.list_users)
    r.add_get("/api/users/" + ID, users.get_user)
    r.add_patch("/api/users/" + ID, users.change_role)
    # --- catalog (server/api/catalog*.py) ---
    r.add_get("/api/cinemas", cc.list_cinemas)
    r.add_post("/api/cinemas", cc.create_cinema)
    r.add_get("/api/cinemas/" + ID, cc.get_cinema)
    r.add_patch("/api/cinemas/" + ID, cc.update_cinema)
    r.add_delete("/api/cinemas/" + ID, cc.delete_cinema)
    r.add_get("/api/cinemas/" + ID + "/movies", cc.cinema_movies)
    r.add_post("/api/auditoriums", cc.create_auditorium)
    r.add_get("/api/auditoriums/" + ID, cc.get_auditorium)
    r.add_patch("/api/auditoriums/" + ID, cc.update_auditorium)
    r.add_delete("/api/auditoriums/" + ID, cc.delete_auditorium)
    r.add_get("/api/auditoriums/" + ID + "/seats", cc.get_seats)
    r.add_put("/api/auditoriums/" + ID + "/seats", cc.replace_seats)
    r.add_get("/api/genres", cm.list_genres)
    r.add_post("/api/genres", cm.create_genre)
    r.add_get("/api/genres/" + ID, cm.get_genre)
    r.add_patch("/api/genres/" + ID, cm.update_genre)
    r.add_delete("/api/genres/" + ID, cm.delete_genre)
    r.add_get("/api/movies", cm.list_movies)
    r.add_post("/api/movies", cm.create_movie)
    r.add_get("/api/movies/" + ID, cm.get_movie)
    r.add_patch("/api/movies/" + ID, cm.update_movie)
    r.add_delete("/api/movies/" + ID, cm.delete_movie)
    r.add_get("/api/screenings", cs.list_screenings)
    r.add_post("/api/screenings", cs.create_screening)
    r.add_get("/api/screenings/" + ID, cs.get_screening)
    r.add_patch("/api/screenings/" + ID, cs.update_screening)
    r.add_delete("/api/screenings/" + ID, cs.delete_screening)
    r.add_post("/api/screenings/" + ID + "/cancel", cs.cancel_screening)
    r.add_get("/api/screenings/" + ID + "/seats", cs.screening_seats)
    r.add_get("/api/screenings/" + ID + "/booked", cs.booked)
    r.add_get("/api/screenings/" + ID + "/waitlist", waitlist.status)
    r.add_post("/api/screenings/" + ID + "/waitlist", waitlist.join)
    r.add_delete("/api/screenings/" + ID + "/waitlist", waitlist.leave)
    # --- live seats (server/ws/handlers.py) ---
    r.add_get("/ws/screenings/" + ID, ws.screening_room)
    r.add_get("/ws/screenings/" + ID + "/line", ws.line_socket)
    # --- the waiting room (server/api/waiting_room.py) ---
    r.add_get("/api/screenings/" + ID + "/waiting-room", waiting_room_api.status)
    r.add_put("/api/screenings/" + ID + "/waiting-room", waiting_room_api.change)
    # --- dashboard (server/api/dashboard.py, server/ws/handlers.py) ---
    r.add_get("/api/dashboard/occupancy", dashboard_api.occupancy)
    r.add_get("/ws/dashboard", ws.dashboard_socket)
    # --- reports (server/api/reports.py) ---
    r.add_get("/api/reports/sales", reports_api.sales)
    r.add_get("/api/reports/screenings/" + ID, reports_api.screening)
    r.add_get("/api/reports/monthly", reports_api.monthly)
    r.add_get("/api/forecast", forecast_api.forecast)
    r.add_get("/api/reports/archive", report_archive.archive_list)
    r.add_get("/api/reports/archive/" + ID, report_archive.archive_get)
    r.add_get("/api/cinemas/" + ID + "/managers", report_archive.managers)
    r.add_put("/api/cinemas/" + ID + "/managers/{user_id:\\d{1,18}}", report_archive.manager_add)
    r.add_delete("/api/cinemas/" + ID + "/managers/{user_id:\\d{1,18}}", report_archive.manager_remove)
    r.add_get("/api/exports/orders.csv", reports_api.export_orders)
    r.add_get("/api/exports/tickets.csv", reports_api.export_tickets)
    r.add_get("/api/exports/screenings.csv", reports_api.export_screenings)
    r.add_get("/api/exports/cinemas.csv", reports_api.export_cinemas)
    r.add_get("/api/exports/movies.csv", reports_api.export_movies)
    # --- the demo mailbox (server/api/mailbox.py) ---
    mail_key = r"{key:[A-Za-z0-9._-]{1,200}}"
    r.add_get("/api/mailbox", mailbox_api.list_messages)
    r.add_get("/api/mailbox/" + mail_key, mailbox_api.get_message)
    r.add_get("/api/mailbox/" + mail_key + "/html", mailbox_api.message_html)
    r.add_get("/api/mailbox/" + mail_key + r"/attachments/{index:\d{1,3}}", mailbox_api.message_attachment)
    # --- checkout (server/api/orders.py, tickets.py, sandbox_pay.py) ---
    order_key = r"{key:[0-9A-Za-z-]{8,14}}"
    r.add_post("/api/orders", orders_api.create_order)
    r.add_get("/api/orders", orders_api.my_orders)
    r.add_get("/api/orders/" + order_key, orders_api.get_order)
    r.add_post("/api/orders/" + order_key + "/cancel", orders_api.cancel_order)
    r.add_post("/api/orders/" + order_key + "/refund", orders_api.refund_order)
    r.add_post("/api/payments/webhook", orders_api.payment_webhook)
    r.add_get("/api/tickets/" + ID + "/qr.svg", tickets_api.ticket_qr)
    r.add_post("/api/checkin", tickets_api.check_in)
    r.add_get(r"/pay/sandbox/{payment_id:sbx_[0-9a-f]{32}}", sandbox_pay.payment_page)
    r.add_post(r"/pay/sandbox/{payment_id:sbx_[0-9a-f]{32}}", sandbox_pay.submit_payment)
    # --- pages (server/pages.py) ---
    r.add_static("/static/", STATIC_DIR, name="static")
    r.add_get("/manifest.webmanifest", pages.manifest)
    r.add_get("/sw.js", pages.service_worker)
    r.add_get("/favicon.ico", pages.favicon)
    r.add_get("/", pages.home)
    page_id = r"{%s:\d{1,18}}"
    r.add_get("/movies/" + page_id % "movie_id", pages.movie)
    r.add_get("/cinemas/" + page_id % "cinema_id", pages.cinema)
    r.add_get("/screenings/" + page_id % "screening_id", pages.screening)
    r.add_get("/screenings/" + page_id % "screening_id" + "/line", pages.line)
    r.add_get("/checkout/" + page_id % "screening_id", pages.checkout)
    r.add_get(r"/orders/{order_key:[0-9A-Za-z-]{8,14}}", pages.order)
    r.add_get("/tickets", pages.tickets)
    r.add_get("/settings/notifications", pages.notification_settings)
    r.add_get("/login", pages.login)
    r.add_get("/register", pages.register)
    r.add_get("/forgot-password", pages.forgot_password)
    r.add_get("/reset-password", pages.reset_password)
    r.add_get("/staff", pages.staff_dashboard)
    r.add_get("/staff/checkin", pages.staff_checkin)
    r.add_get("/staff/mailbox", pages.staff_mailbox)
    r.add_get("/admin", pages.admin)
    r.add_get("/admin/reports", pages.admin_reports)
    r.add_get("/admin/reports/monthly", pages.admin_monthly)
    r.add_get("/admin/reports/archive", pages.admin_archive)
    r.add_get("/admin/auditoriums/" + page_id % "auditorium_id", pages.admin_auditorium)
