"""Cursor pagination for feeds that change while clients page through them. A cursor or a page
size the API did not hand out is a 400 naming the parameter, never a 500 from the query."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from orders.api.filters import storable_instant


class OrderCursorPagination(CursorPagination):
    ordering = ("-updated_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = _("Invalid cursor: use the next or previous link of a page as it is.")
    invalid_page_size_message = _("A whole number from 1 to %(maximum)d.")

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound as error:
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from error
        if cursor is not None and cursor.position is not None:
            # The position is the updated_at of the page's edge, as encode_cursor wrote it.
            try:
                parsed = parse_datetime(cursor.position)
            except ValueError:
                parsed = None
            try:
                if parsed is None or parsed.tzinfo is None:
                    raise DjangoValidationError(self.invalid_cursor_message)
                # str() in UTC, as DRF wrote it: it compares positions as text to page through ties.
                cursor = cursor._replace(position=str(storable_instant(parsed)))
            except DjangoValidationError as error:
                raise ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from error
        return cursor

    def get_page_size(self, request):
        given = request.query_params.get(self.page_size_query_param)
        if given is None:
            return self.page_size
        if not (given.isascii() and given.isdigit() and len(given) <= 4 and 1 <= int(given) <= self.max_page_size):
            message = self.invalid_page_size_message % {"maximum": self.max_page_size}
            raise ValidationError({self.page_size_query_param: [message]})
        return int(given)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters
