"""How many SMS segments a text takes: GSM-7 when every character is in its alphabet (160 per
single message, 153 per part), else UCS-2 (70, 67). Extension characters count twice. One
typographic quote turns a whole message into UCS-2 and halves its room, so SMS text is made
GSM-safe first (as Twilio's smart encoding would), and what must be cut is the part description,
never the status, the ETA or the link."""

import unicodedata
from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
MAX_SEGMENTS = 2
ELLIPSIS = "..."
# Typography outside GSM-7 with its plain equivalent.
GSM_SUBSTITUTES = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "«": '"',
        "»": '"',
        "‹": "'",
        "›": "'",
        "‘": "'",
        "’": "'",
        "‚": "'",
        "′": "'",
        "″": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "−": "-",
        "…": ELLIPSIS,
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u200b": "",
        "•": "-",
        "\t": " ",
    }
)


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int

    @property
    def within_limit(self) -> bool:
        return self.segments <= MAX_SEGMENTS


def sms_length(text: str) -> SmsLength:
    if all(char in GSM_BASIC or char in GSM_EXTENSION for char in text):
        units = sum(2 if char in GSM_EXTENSION else 1 for char in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // part)
    return SmsLength(encoding=encoding, units=units, segments=segments)


def _gsm(char: str) -> bool:
    return char in GSM_BASIC or char in GSM_EXTENSION


def gsm_safe(text: str) -> str:
    """`text` with typographic quotes, dashes and spaces made plain, and letters outside GSM-7
    written without their accent when that brings them in (ç → c, í → i); other scripts stay."""
    text = text.translate(GSM_SUBSTITUTES)
    if all(_gsm(char) for char in text):
        return text
    plain = []
    for char in text:
        if not _gsm(char):
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            if base and all(_gsm(c) for c in base):
                char = base
        plain.append(char)
    return "".join(plain)


def sms_fit(text: str, *, keep_end: str = "") -> str:
    """`text` cut (with an ellipsis) so that it and `keep_end` (a link) fit MAX_SEGMENTS."""
    if sms_length(text + keep_end).within_limit:
        return text + keep_end
    cut = text
    while cut and not sms_length(cut + ELLIPSIS + keep_end).within_limit:
        cut = cut[: max(len(cut) - 10, 0)]
    return cut.rstrip() + ELLIPSIS + keep_end


def sms_shorten(text: str, *, link: str = "", shrinkable: str = "", shortest: int = 12) -> tuple[str, bool]:
    """`text` (GSM-safe) within MAX_SEGMENTS, and whether it was cut. `shrinkable` (the part
    description) gives way first, down to `shortest` characters; only then is the end cut,
    keeping `link`."""
    text = gsm_safe(text)
    if sms_length(text).within_limit:
        return text, False
    shrinkable = gsm_safe(shrinkable).strip()
    if len(shrinkable) > shortest and shrinkable in text:

        def shrunk(keep: int) -> str:
            return text.replace(shrinkable, shrinkable[:keep].rstrip() + ELLIPSIS, 1)

        if sms_length(shrunk(shortest)).within_limit:
            low, high = shortest, len(shrinkable) - 1  # the longest prefix that fits
            while low < high:
                middle = (low + high + 1) // 2
                if sms_length(shrunk(middle)).within_limit:
                    low = middle
                else:
                    high = middle - 1
            return shrunk(low), True
    if link and text.endswith(link):
        head = text[: -len(link)]
        # A space stays before the link: glued to the ellipsis ("re...https://") phones may not see it.
        gap = " " if head != head.rstrip() else ""
        return sms_fit(head.rstrip(), keep_end=gap + link), True
    return sms_fit(text), True
