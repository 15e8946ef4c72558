"""OpenAPI schema of API v1: every operation documents the errors it can answer, in the shape
DRF gives them, unless the operation declares its own (the inbound webhook does)."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

DETAIL = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})
FIELD_ERRORS = {
    "type": "object",
    "description": "Each bad parameter by name, with what is wrong with it.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "minProperties": 1,
}
ERRORS = {
    400: OpenApiResponse(FIELD_ERRORS, description="A parameter is not valid; the answer names it."),
    401: OpenApiResponse(DETAIL, description="Not signed in (session or HTTP Basic)."),
    403: OpenApiResponse(DETAIL, description="Signed in without the permission this needs."),
    404: OpenApiResponse(DETAIL, description="No such object, or not in your scope."),
}


class ErrorDocumentingAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if any(str(code).startswith("4") for code in responses):
            return responses  # the operation names its own errors
        for code, response in ERRORS.items():
            responses[str(code)] = self._get_response_for_code(response, str(code), direction=direction)
        return responses
