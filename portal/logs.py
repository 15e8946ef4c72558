"""Status link tokens never reach a log: request and access logs name the path with the token
replaced. Attached to the console handler and to the request loggers of Django, Daphne and
uvicorn in settings.LOGGING."""

import logging
import re

# /s/<token>/... (pages, live feed, renewal, confirmation) and /ws/s/<token>/ (websocket).
TOKEN_IN_PATH = re.compile(r"(/s/)[A-Za-z0-9_-]{16,}")
REDACTED = r"\1[redacted]"


def redact_tokens(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


class TokenRedactingFilter(logging.Filter):
    """Rewrites the record's message with tokens replaced; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        # A traceback may quote a path or a token in an exception's message: formatted here (as
        # any formatter would, which then reuses exc_text) and redacted.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_tokens(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_tokens(record.stack_info)
        # A request object on the record (django.request) carries the path too.
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path") and TOKEN_IN_PATH.search(request.path or ""):
            record.request = None
        return True
