"""Filters of the order list; each has an index behind it. Every bad value is a 400 naming it."""

from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from orders.models import Order, Priority
from orders.status import LineStatus


def storable_instant(value: datetime) -> datetime:
    """The instant in UTC, or a ValidationError when no database column can hold it.

    PostgreSQL refuses offsets past ±15:59 (`-21:00`), and an instant at the edge of the year
    range (0001-01-01T00:00+01:00, 9999-12-31T23:00-05:00) falls outside it once in UTC:
    queried in UTC, any offset Python reads is fine; only what overflows is refused."""
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValidationError(_("This time is outside the range of dates that can be stored."), code="range") from error


class StorableDateTimeField(forms.DateTimeField):
    """ISO 8601 with a time zone (or UTC when it has none), normalised to UTC."""

    def to_python(self, value):
        result = super().to_python(value)
        return None if result is None else storable_instant(result)


class StorableDateTimeFilter(django_filters.Filter):
    field_class = StorableDateTimeField


BOOLEAN_WORDS = {"true", "false", "True", "False", "1", "0"}


class OrderFilterForm(forms.Form):
    """A parameter that is given must be valid: an empty date, status, priority or flag is a 400
    too, not a silently dropped filter (the text filters may be empty: they match nothing)."""

    NOT_EMPTY = ("updated_since", "is_test", "priority", "status")

    def clean(self):
        cleaned = super().clean()
        for name in self.NOT_EMPTY:
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data.get(name)]
            if name in self.data and any(value in ("", None) for value in values):
                self.add_error(name, _("Give a value, or leave the parameter out."))
        if self.data.get("is_test") and self.data.get("is_test") not in BOOLEAN_WORDS:
            self.add_error("is_test", _("Either true or false."))
        return cleaned


class OrderFilter(django_filters.FilterSet):
    number = django_filters.CharFilter(field_name="number", lookup_expr="iexact")
    account = django_filters.CharFilter(field_name="account__number", label="Account number")
    status = django_filters.MultipleChoiceFilter(choices=LineStatus.choices)
    region = django_filters.CharFilter(field_name="region__code", label="Region code")
    site = django_filters.CharFilter(method="filter_site", label="Fulfilling site code of any line")
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    is_test = django_filters.BooleanFilter()
    updated_since = StorableDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        label="Changed at or after (ISO 8601; without an offset, UTC)",
    )

    class Meta:
        model = Order
        form = OrderFilterForm
        fields = ["number", "account", "status", "region", "site", "priority", "is_test", "updated_since"]

    def filter_site(self, queryset, name, value):
        return queryset.filter(lines__site__code=value).distinct()
