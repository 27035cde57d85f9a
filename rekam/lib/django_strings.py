"""Django's own strings that its Indonesian catalogue lacks.

Listed here so that ``makemessages`` puts them in the project's catalogue, which Django reads
before its own (``LOCALE_PATHS``); nothing imports this module.
"""

from django.utils.translation import gettext_noop

MISSING_FROM_DJANGO = (
    # The empty choice of every select built from a model field with choices.
    gettext_noop("- Select an option -"),
)
