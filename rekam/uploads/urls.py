from django.urls import path

from . import views

urlpatterns = [
    path("impor/", views.index, name="uploads"),
    path("impor/<int:pk>/", views.detail, name="upload"),
    path("impor/<int:pk>/status.json", views.status, name="upload_status"),
    path("impor/<int:pk>/<str:which>.csv", views.report, name="upload_report"),
]
