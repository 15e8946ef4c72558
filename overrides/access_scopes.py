"""Where a sensitive power acts, as an access review stores it: coded entries (a region, site or
account by model and id, every region, superuser, nothing) written out in the reader's language
when shown, never stored as text in the language of whoever started the review."""

from django.apps import apps
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SCOPE_WORDS = {
    "every_region": gettext_lazy("every region"),
    "every_site": gettext_lazy("every site"),
    "every_account": gettext_lazy("every account"),
    "superuser": gettext_lazy("everything (superuser)"),
    "nothing": gettext_lazy("no orders (no region, site or account granted)"),
}


def access_scope_text(entry: dict) -> str:
    code, params = entry.get("code", ""), entry.get("params", {})
    if code in SCOPE_WORDS:
        return str(SCOPE_WORDS[code])
    kind = _model_name(params.get("model", ""))
    if code == "deleted":
        return _("%(kind)s #%(id)s (deleted)") % {"kind": kind, "id": params.get("id", "?")}
    if code == "object":
        return _("%(kind)s %(name)s") % {"kind": kind, "name": params.get("name", "")}
    return code


def access_scopes_text(entries: list[dict]) -> str:
    return ", ".join(sorted(access_scope_text(entry) for entry in entries))


def _model_name(label: str) -> str:
    try:
        return str(apps.get_model(label)._meta.verbose_name)
    except (LookupError, ValueError):
        return label
