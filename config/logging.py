"""Log records as operators read them: one line each (an exception's traceback included, its
line breaks written as " ⏎ "), no traceback for an ordinary refusal (403), no line per task that
simply succeeded."""

import logging

# Celery's INFO records of routine work: "Task … received", "Task … succeeded in 0.01s".
ROUTINE_LOGGERS = ("celery.app.trace", "celery.worker.strategy")
# Request and access logs, which name paths (and so status link tokens) and some of which servers
# give handlers of their own: here they write through the console handler, tokens redacted.
ACCESS_LOGGERS = ("django.server", "django.channels.server", "uvicorn.access", "uvicorn.error")


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r\n", "\n").replace("\n", " ⏎ ")


class RefusalWithoutTraceback(logging.Filter):
    """Django logs a refused request ("Forbidden (Permission denied)") with the PermissionDenied
    traceback: a refusal is the system working, so the line says what was refused and no more."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True


def logging_config(level: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "refusals": {"()": RefusalWithoutTraceback},
            "redact_tokens": {"()": "portal.logs.TokenRedactingFilter"},
        },
        "formatters": {
            "one_line": {"()": OneLineFormatter, "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "one_line",
                "filters": ["refusals", "redact_tokens"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own configuration gives "django" a console handler too, and its records then
            # reach the root's as well: every line twice. Here they go to the root's handler only.
            "django": {"handlers": [], "level": level, "propagate": True},
            # "Not Found: /s/<token>/": redacted before it reaches any handler.
            "django.request": {"filters": ["redact_tokens"]},
            **{
                name: {"handlers": ["console"], "filters": ["redact_tokens"], "level": level, "propagate": False}
                for name in ACCESS_LOGGERS
            },
            **{name: {"level": "WARNING"} for name in ROUTINE_LOGGERS},
        },
    }
