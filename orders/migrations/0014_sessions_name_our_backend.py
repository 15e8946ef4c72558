"""Sessions signed in with Django's ModelBackend name config.auth.ModelBackend from now on (the
same backend, reading the person with one plain query): rewritten here, so that no session in
use ends with the release."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

OLD = "django.contrib.auth.backends.ModelBackend"
NEW = "config.auth.ModelBackend"
BACKEND_SESSION_KEY = "_auth_user_backend"


def _rename(apps, schema_editor, *, before: str, after: str) -> None:
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    Session = apps.get_model("sessions", "Session")
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        data = store.decode(session.session_data)
        if data.get(BACKEND_SESSION_KEY) == before:
            data[BACKEND_SESSION_KEY] = after
            session.session_data = store.encode(data)
            session.save(update_fields=["session_data"])


def forwards(apps, schema_editor) -> None:
    _rename(apps, schema_editor, before=OLD, after=NEW)


def backwards(apps, schema_editor) -> None:
    _rename(apps, schema_editor, before=NEW, after=OLD)


class Migration(migrations.Migration):
    # Each session saved on its own: no long transaction holding the rows of sessions in use.
    atomic = False

    dependencies = [
        ("orders", "0013_search_key_indexes"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
