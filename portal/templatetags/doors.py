"""`{% doors as doors %}`: which pages the signed-in person has (portal.doors)."""

from django import template

from portal.doors import doors_for

register = template.Library()


@register.simple_tag(takes_context=True)
def doors(context):
    return doors_for(context["request"].user)
