"""Staff pages: sent messages, template previews and letter batches.

Who sees what is decided by ``rekam.accounts.access``: a message is located in its recipient's
regency/city, so an office sees only the messages to people of its jurisdiction.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rekam.accounts import access
from rekam.accounts.access import Action
from rekam.regions.models import Level, Region

from . import texts
from .channels.file import PREFIX, message_text, outbox_dir
from .models import Channel, LetterBatch, Message, State
from .services import NotificationRefused, letter_batch_create, letter_batch_mark_printed

PAGE_SIZE = 50


def _language() -> str:
    return get_language() or "id"


def messages_for(user: Any) -> QuerySet[Message]:
    return access.messages_for(user)


def _waiting_letters(user: Any) -> QuerySet[Message]:
    return messages_for(user).filter(
        state=State.QUEUED,
        channel=Channel.LETTER,
        next_attempt_at__isnull=True,
        letter_batch__isnull=True,
    )


# A message to send that has waited this long means the outbox worker is not running.
STUCK_AFTER_MINUTES = 10


def _stuck(rows: QuerySet[Message]) -> QuerySet[Message]:
    """Messages due for sending for more than :data:`STUCK_AFTER_MINUTES` (letters wait for
    printing and are not counted)."""
    before = timezone.now() - timedelta(minutes=STUCK_AFTER_MINUTES)
    return (
        rows.filter(state=State.QUEUED)
        .exclude(channel=Channel.LETTER)
        .filter(
            Q(next_attempt_at__lt=before) | Q(next_attempt_at__isnull=True, created_at__lt=before)
        )
    )


@login_required
def message_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.VIEW_RESIDENT)
    rows = messages_for(request.user)
    state = request.GET.get("state", "")
    channel = request.GET.get("channel", "")
    template = request.GET.get("template", "")
    query = request.GET.get("q", "").strip()
    # A choice of regency/city only for those who see more than one (the province).
    regencies = (
        []
        if access.single_regency(request.user)
        else list(
            access.regions_for(request.user, Action.VIEW_RESIDENT)
            .filter(level=Level.REGENCY)
            .order_by("code")
        )
    )
    regency = request.GET.get("regency", "")
    if regency and any(r.code == regency for r in regencies):
        rows = rows.filter(regency_id=regency)
    else:
        regency = ""
    counts = dict(rows.values_list("state").annotate(n=Count("id")).order_by())
    stuck = _stuck(rows).count()
    if state in State.values:
        rows = rows.filter(state=state)
    if channel in Channel.values:
        rows = rows.filter(channel=channel)
    if template:
        rows = rows.filter(template=template)
    if query:
        rows = rows.filter(
            Q(recipient_name__icontains=query) | Q(phone__contains=query) | Q(email__iexact=query)
        )
    page = Paginator(rows.select_related("resident", "regency"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/message_list.html",
        {
            "nav": "messages",
            "page": page,
            "states": [(value, label, counts.get(value, 0)) for value, label in State.choices],
            "channels": Channel.choices,
            "families": [(f.name, f.title(_language())) for f in texts.families()],
            "regencies": regencies,
            "stuck": stuck,
            "stuck_minutes": STUCK_AFTER_MINUTES,
            # Only an office's admin can see to the sending worker; others are told whom to ask.
            "may_fix_sending": access.can(request.user, Action.MANAGE_OFFICE),
            "filters": {
                "state": state,
                "channel": channel,
                "template": template,
                "q": query,
                "regency": regency,
            },
        },
    )


def _file_content(message: Message) -> str:
    """The demo file a message was written to, if it was (only inside the outbox folder)."""
    if not message.provider_message_id.startswith(PREFIX):
        return ""
    base = outbox_dir().resolve()
    path = (base / message.provider_message_id[len(PREFIX) :]).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return ""
    return path.read_text(encoding="utf-8")


@login_required
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, Action.VIEW_RESIDENT)
    message = get_object_or_404(
        messages_for(request.user).select_related("resident", "contact", "village", "letter_batch"),
        pk=pk,
    )
    try:
        renderings = [(Channel(c).label, message_text(c, message)) for c in message.channels]
    except (texts.UnknownTemplate, ValueError):
        renderings = []
    return render(
        request,
        "notifications/message_detail.html",
        {
            "nav": "messages",
            "message": message,
            "attempts": message.attempt_log.all(),
            "renderings": renderings,
            "file_content": _file_content(message),
            "fallback": [Channel(c).label if c in Channel.values else c for c in message.channels],
        },
    )


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.VIEW_RESIDENT)
    return render(
        request,
        "notifications/template_list.html",
        {"nav": "messages", "families": texts.families()},
    )


@login_required
def template_preview(request: HttpRequest, name: str) -> HttpResponse:
    access.require(request.user, Action.VIEW_RESIDENT)
    try:
        fam = texts.family(name)
    except texts.UnknownTemplate:
        raise Http404(_("No such message type.")) from None
    language = request.GET.get("lang", "id")
    if language not in texts.LANGUAGES:
        language = "id"
    sample = fam.sample
    parts = [
        ("WhatsApp", texts.render(fam, "whatsapp", language, sample)),
        ("SMS", texts.render(fam, "sms", language, sample)),
        (_("E-mail subject"), texts.render(fam, "email_subject", language, sample)),
        (_("E-mail body"), texts.render(fam, "email_body", language, sample)),
        (_("Letter"), texts.render(fam, "letter", language, sample)),
    ]
    return render(
        request,
        "notifications/template_preview.html",
        {
            "nav": "messages",
            "family": fam,
            "title": fam.title(language),
            "language": language,
            "languages": texts.LANGUAGES,
            "parts": parts,
            "sms_length": len(parts[1][1]),
            "whatsapp_name": texts.whatsapp_template_name(fam),
            "whatsapp_parameters": list(
                zip(
                    fam.whatsapp_parameters,
                    texts.whatsapp_parameters(fam, language, sample),
                    strict=True,
                )
            ),
            "sample": sorted(sample.items()),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def letters(request: HttpRequest) -> HttpResponse:
    user = request.user
    access.require(user, Action.VIEW_RESIDENT)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "create":
                village = get_object_or_404(
                    Region, code=request.POST.get("village", ""), level=Level.VILLAGE
                )
                batch = letter_batch_create(village=village, acting_user=user)
                flash.success(
                    request,
                    _("Batch #%(id)s with %(n)s letters is ready to print.")
                    % {"id": batch.pk, "n": batch.letters},
                )
            elif request.POST.get("action") == "printed":
                batch = get_object_or_404(
                    LetterBatch.objects.filter(access.scope_filter(user, "regency")),
                    pk=request.POST.get("batch") or 0,
                )
                sent = letter_batch_mark_printed(batch=batch, acting_user=user)
                flash.success(
                    request,
                    _("Batch #%(id)s marked printed: %(n)s letters count as sent.")
                    % {"id": batch.pk, "n": sent},
                )
        except (NotificationRefused, PermissionDenied) as exc:
            flash.error(request, getattr(exc, "message", None) or str(exc))
        return redirect("notifications:letters")
    waiting = (
        _waiting_letters(user)
        .values("village", "village__name", "village__parent__name")
        .annotate(letters=Count("id"))
        .order_by("village")
    )
    batches = (
        LetterBatch.objects.filter(access.scope_filter(user, "regency"))
        .select_related("village", "village__parent")
        .order_by("-created_at", "-id")[:100]
    )
    return render(
        request,
        "notifications/letters.html",
        {
            "nav": "messages",
            "waiting": waiting,
            "batches": batches,
            "can_print": access.can(user, Action.EDIT_RESIDENT),
        },
    )


@login_required
def letter_batch_pdf(request: HttpRequest, pk: int) -> FileResponse:
    access.require(request.user, Action.VIEW_RESIDENT)
    batch = get_object_or_404(
        LetterBatch.objects.filter(access.scope_filter(request.user, "regency")), pk=pk
    )
    path = Path(batch.pdf_path)
    if not batch.pdf_path or not path.is_file():
        raise Http404(_("The PDF of this batch is missing."))
    return FileResponse(path.open("rb"), content_type="application/pdf", filename=path.name)
