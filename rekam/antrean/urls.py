from django.urls import path

from . import views

urlpatterns = [
    # Public: online numbers, a number's status, the board.
    path("", views.start, name="antrean_start"),
    path("jadwal/", views.schedule, name="antrean_schedule"),
    path("ambil/", views.take, name="antrean_take"),
    path("keluar/", views.leave, name="antrean_leave"),
    path("batal/", views.cancel_typed, name="antrean_cancel_typed"),
    path("nomor/<str:code>/", views.status_page, name="antrean_status"),
    path("nomor/<str:code>/status.json", views.status_json, name="antrean_status_json"),
    path("nomor/<str:code>/qr.png", views.ticket_qr, name="antrean_qr"),
    path("nomor/<str:code>/batal/", views.cancel, name="antrean_cancel"),
    path("papan/<str:code>/", views.board, name="antrean_board"),
    path("papan/<str:code>/data.json", views.board_json, name="antrean_board_json"),
    # Staff.
    path("tempat/", views.points, name="antrean_points"),
    path("gerbang/<str:code>/", views.gate, name="antrean_gate"),
    path("tiket/<str:code>/", views.ticket_slip, name="antrean_slip"),
    path("loket/<str:code>/<int:number>/", views.counter, name="antrean_counter"),
    path("angka/<str:code>/", views.figures, name="antrean_figures"),
]
