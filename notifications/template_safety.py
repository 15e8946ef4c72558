"""What a message template edited in the admin may not do: dump the server's state
({% debug %}), pull in other templates, loop inside a loop (a few nested loops over a string
render megabytes in seconds), or grow past a size no message needs. Checked when a template is
saved and again when it renders."""

import re

from django.template import Engine, TemplateSyntaxError
from django.template.defaulttags import ForNode
from django.utils.translation import gettext as _

FORBIDDEN_TAGS = frozenset({"debug", "include", "extends", "ssi"})
MAX_OUTPUT = 20_000
_TAG = re.compile(r"\{%-?\s*(\w+)")


def template_problems(engine: Engine, source: str) -> list[str]:
    """Why `source` may not be used as a message template (empty: it may)."""
    forbidden = sorted({name for name in _TAG.findall(source) if name in FORBIDDEN_TAGS})
    if forbidden:
        return [_("The {%% %(tag)s %%} tag is not allowed in a message.") % {"tag": name} for name in forbidden]
    try:
        nodelist = engine.from_string(source).nodelist
    except TemplateSyntaxError as error:
        return [str(error)]
    if any(loop.nodelist_loop.get_nodes_by_type(ForNode) for loop in nodelist.get_nodes_by_type(ForNode)):
        return [_("A {% for %} loop inside another is not allowed in a message.")]
    return []
