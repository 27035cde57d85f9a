from django.urls import path

from . import views, webhooks

app_name = "notifications"

urlpatterns = [
    path("pesan/", views.message_list, name="messages"),
    path("pesan/<int:pk>/", views.message_detail, name="message"),
    path("pesan/templat/", views.template_list, name="templates"),
    path("pesan/templat/<str:name>/", views.template_preview, name="template"),
    path("pesan/surat/", views.letters, name="letters"),
    path("pesan/surat/<int:pk>/pdf/", views.letter_batch_pdf, name="letter_pdf"),
    path("webhooks/whatsapp/", webhooks.whatsapp_webhook, name="whatsapp_webhook"),
]
