"""Cursor pagination for feeds that change while clients page through them."""

from rest_framework.pagination import CursorPagination


class OrderCursorPagination(CursorPagination):
    ordering = ("-updated_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
