"""How many SMS segments a text takes: GSM-7 when every character is in its alphabet (160 per
single message, 153 per part), else UCS-2 (70, 67). Extension characters count twice."""

from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
MAX_SEGMENTS = 2


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


def sms_fit(text: str, *, keep_end: str = "") -> str:
    """`text` cut (with an ellipsis) so that it and `keep_end` (a link) fit MAX_SEGMENTS."""
    if sms_length(text + keep_end).within_limit:
        return text + keep_end
    cut = text
    while cut and not sms_length(cut + "…" + keep_end).within_limit:
        cut = cut[: max(len(cut) - 10, 0)]
    return cut.rstrip() + "…" + keep_end
