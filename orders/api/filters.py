"""Filters of the order list; each has an index behind it."""

import django_filters

from orders.models import Order, Priority
from orders.status import LineStatus


class OrderFilter(django_filters.FilterSet):
    number = django_filters.CharFilter(field_name="number", lookup_expr="iexact")
    account = django_filters.CharFilter(field_name="account__number", label="Account number")
    status = django_filters.MultipleChoiceFilter(choices=LineStatus.choices)
    region = django_filters.CharFilter(field_name="region__code", label="Region code")
    site = django_filters.CharFilter(method="filter_site", label="Fulfilling site code of any line")
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    is_test = django_filters.BooleanFilter()
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Order
        fields = ["number", "account", "status", "region", "site", "priority", "is_test", "updated_since"]

    def filter_site(self, queryset, name, value):
        return queryset.filter(lines__site__code=value).distinct()
