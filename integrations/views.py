"""The inbound webhook: verify, store, acknowledge; processing happens in a worker."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.models import SourceSystem, Transport
from integrations.services.inbox import inbound_message_receive
from integrations.signatures import SignatureError, signature_verify

ACCEPTED = inline_serializer(
    "InboundAccepted",
    {
        "id": serializers.UUIDField(
            help_text="The receipt: opaque and stable; a duplicate is answered with its original's receipt."
        ),
        "duplicate": serializers.BooleanField(),
    },
)
ERROR = inline_serializer("InboundError", {"error": serializers.CharField()})
logger = logging.getLogger(__name__)
# A source code that is not a slug names no route: the API's JSON 404 ({"detail": ...}) answers.
NOT_FOUND = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    "minProperties": 1,
}


class RawBodyParser(BaseParser):
    """Any content type: the body is read raw from request.body."""

    media_type = "*/*"


class InboundWebhookView(APIView):
    authentication_classes: list = []  # the signature is the authentication
    permission_classes = [AllowAny]
    parser_classes = [RawBodyParser]

    @extend_schema(
        summary="Push a message from a source system",
        description=(
            "The body is in the source's message format (canonical JSON, SAP IDoc XML, X12 214, depot CSV, "
            "scanner JSON). Sign it: `X-Signature: t=<unix seconds>,v2=<hex HMAC-SHA256 of "
            "\"<t>.<source code>.<raw body>\">` with the source's secret; 5 minutes' tolerance. The old "
            '`v1` (HMAC of "<t>.<raw body>") is accepted before the date INBOUND_SIGNATURE_V1_UNTIL. 202 once stored '
            "(processing follows), 200 for a duplicate (with the original's receipt). The answer's `id` is "
            "an opaque receipt (a UUID), the same for every copy of the message."
        ),
        request={"*/*": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter("X-Signature", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(
                "source_code",
                {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$"},
                OpenApiParameter.PATH,
                description="The source's code, as registered (create_source)",
            ),
        ],
        responses={
            202: ACCEPTED,
            200: ACCEPTED,
            401: OpenApiResponse(ERROR, description="Bad or missing signature"),
            404: OpenApiResponse(NOT_FOUND, description="Unknown or inactive source"),
            413: OpenApiResponse(ERROR, description="Body over the size limit"),
            503: OpenApiResponse(ERROR, description="The inbox cannot store messages now (database down)"),
        },
    )
    def post(self, request, source_code: str):
        source = SourceSystem.objects.filter(code=source_code, active=True).first()
        if source is None:
            return _error(status.HTTP_404_NOT_FOUND, f"unknown source {source_code!r}")
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.INBOUND_MAX_BYTES:
            return _too_big()
        try:
            body = request.body
        except RequestDataTooBig:
            return _too_big()
        if len(body) > settings.INBOUND_MAX_BYTES:
            return _too_big()
        try:
            scheme = signature_verify(
                header=request.headers.get("X-Signature", ""),
                source_code=source.code,
                body=body,
                secrets=source.valid_secrets(),
                tolerance=settings.INBOUND_SIGNATURE_TOLERANCE_SECONDS,
                accept_v1=_v1_accepted(),
            )
        except SignatureError as error:
            return _error(status.HTTP_401_UNAUTHORIZED, str(error))
        if scheme == "v1":
            # so the operator knows which sources still have to move to v2 before the deadline
            logger.warning("source %s signs with v1, refused from %s", source.code, settings.INBOUND_SIGNATURE_V1_UNTIL)
        raw, failure = _as_text(body)
        message, created = inbound_message_receive(
            source=source,
            raw=raw,
            transport=Transport.WEBHOOK,
            content_type=request.content_type or "",
            failure=failure,
            raw_bytes=body if failure else None,
        )
        return Response(
            {"id": str(message.receipt), "duplicate": not created},
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )


def _v1_accepted() -> bool:
    until = settings.INBOUND_SIGNATURE_V1_UNTIL
    return until is not None and timezone.now().date() < until


def _as_text(body: bytes) -> tuple[str, str]:
    """The body as text to store, and why it cannot be processed when it is not clean UTF-8."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        shown = body.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
        if body.startswith((b"\xff\xfe", b"\xfe\xff")):
            return shown, "body is not UTF-8: it starts with a UTF-16 byte-order mark; send it encoded as UTF-8"
        return shown, f"body is not UTF-8: {error}"
    if "\x00" in text:
        return text.replace("\x00", "\\x00"), "body contains NUL characters"
    if not text.strip():
        return text, "body is empty"
    return text, ""


def _error(code: int, message: str) -> Response:
    return Response({"error": message}, status=code)


def _too_big() -> Response:
    return _error(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body is larger than {settings.INBOUND_MAX_BYTES} bytes")
