from django.urls import path

from . import views

urlpatterns = [
    path("suket/", views.suket_list, name="suket_list"),
    path("suket/stok/", views.stock_page, name="suket_stock"),
    path("suket/cetak/", views.print_list_page, name="suket_print_list"),
    path("suket/penduduk/<str:nik>/", views.decision_page, name="suket_decision"),
    path("suket/<int:pk>/pdf/", views.suket_download, name="suket_download"),
    path("suket/<int:pk>/kirim/", views.suket_send, name="suket_send"),
    path("suket/<int:pk>/cabut/", views.suket_revoke_page, name="suket_revoke"),
    path("verifikasi", views.verify_page, name="suket_verify"),
    path("verifikasi/kunci.json", views.keys_json, name="suket_keys"),
    path("verifikasi/cabut.json", views.revocations_json, name="suket_revocations"),
    path("verifikasi/periksa", views.verify_json, name="suket_verify_json"),
    path("verifikasi-sw.js", views.service_worker, name="suket_sw"),
]
