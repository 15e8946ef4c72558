"""Rendering a message: the template for its event, channel and locale (following the fallback
chain fr-CA → fr → en, then the shipped wording), with a report of the variables it names that
the context does not have."""

import re
from dataclasses import dataclass, field

from django.template import Context, Engine
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe

from notifications.context import language_of
from notifications.models import MessageTemplate
from notifications.models.templates import normalise_locale
from notifications.sms_length import SmsLength, sms_length, sms_shorten
from notifications.template_safety import MAX_OUTPUT, template_problems
from notifications.wording import default_wording

MARK = "\x1f"
_MISSING = re.compile(f"{MARK}([^{MARK}]*){MARK}")


def _engine(*, autoescape: bool) -> Engine:
    return Engine(builtins=["django.templatetags.i18n"], string_if_invalid=f"{MARK}%s{MARK}", autoescape=autoescape)


TEXT_ENGINE = _engine(autoescape=False)
HTML_ENGINE = _engine(autoescape=True)


@dataclass
class Rendered:
    subject: str
    text: str
    html: str
    template: MessageTemplate | None
    version: str  # "default" (the shipped wording, in which language) or "#id v3 (fr-ca)"
    missing: list[str] = field(default_factory=list)
    sms: SmsLength | None = None
    cut: bool = False  # an SMS shortened to fit its segments
    error: str = ""


def locale_chain(locale: str) -> list[str]:
    """fr-ca → [fr-ca, fr, en]."""
    chain = [normalise_locale(locale or "en")]
    if "-" in chain[0]:
        chain.append(chain[0].split("-", 1)[0])
    if "en" not in chain:
        chain.append("en")
    return chain


def template_find(*, kind: str, channel: str, locale: str) -> MessageTemplate | None:
    chain = locale_chain(locale)
    found = {
        template.locale: template
        for template in MessageTemplate.objects.filter(
            event_kind=kind, channel=channel, locale__in=chain, is_active=True
        )
    }
    return next((found[code] for code in chain if code in found), None)


def message_render(
    *, kind: str, channel: str, locale: str, context: dict, template: MessageTemplate | None = None, lookup: bool = True
) -> Rendered:
    """Subject, text and HTML of a message. `template` given (a preview): that one; else the
    database's for the locale chain (unless `lookup` is off), else the shipped wording."""
    template_channel = "sms" if channel == "sms" else "email"
    if template is None and lookup:
        template = template_find(kind=kind, channel=template_channel, locale=locale)
    language = language_of(locale)
    with translation.override(language):
        if template is not None:
            subject_source, text_source, html_source = template.subject, template.body_text, template.body_html
            version = f"#{template.pk} v{template.version} ({template.locale})"
        else:
            subject_source, text_source = default_wording(kind, template_channel)
            html_source = ""
            version = f"default ({language})"
        missing: list[str] = []
        try:
            # One line: a line break in a subject (an ERP text with CR) is a header injection.
            subject = " ".join(_render(TEXT_ENGINE, subject_source, context, missing).split())
            text = _render(TEXT_ENGINE, text_source, context, missing).strip()
            html = ""
            if template_channel == "email":
                if html_source:
                    html = _render(HTML_ENGINE, html_source, context, missing)
                else:
                    # The items of a digest or summary are the layout's table: not a second time as text.
                    items_text = context.get("items_text", "") if context.get("items") else ""
                    body = text.replace(items_text, "").strip() if items_text else text
                    html = render_to_string(
                        "notifications/email.html",
                        # The text escaped (an ERP's "<b>" stays text), its paragraphs marked up.
                        {**context, "body_html": mark_safe(linebreaks(body, autoescape=True)), "subject": subject},
                    )
                if context.get("items") and context["items_text"] not in text:
                    text += "\n\n" + context["items_text"]
                link = context.get("status_link", "")
                if link and link not in text and not context.get("items"):
                    text += "\n\n" + translation.gettext("Follow your order: %(link)s") % {"link": link}
        except Exception as error:  # noqa: BLE001  (a template an admin broke: reported, never a crash)
            return Rendered("", "", "", template, version, missing, error=f"{type(error).__name__}: {error}")
    rendered = Rendered(subject, text, html, template, version, sorted(set(missing)))
    if template_channel == "sms":
        rendered.text, rendered.cut = sms_shorten(
            text, link=context.get("status_link", ""), shrinkable=str(context.get("part_description") or "")
        )
        rendered.sms = sms_length(rendered.text)
    return rendered


class TemplateRefused(Exception):
    pass


def _render(engine: Engine, source: str, context: dict, missing: list[str]) -> str:
    problems = template_problems(engine, source)
    if problems:
        raise TemplateRefused(" ".join(problems))
    output = engine.from_string(source).render(Context(context, autoescape=engine.autoescape))
    if len(output) > MAX_OUTPUT:
        raise TemplateRefused(
            translation.gettext("The message is longer than %(count)d characters.") % {"count": MAX_OUTPUT}
        )
    missing.extend(_MISSING.findall(output))
    return _MISSING.sub("", output)
