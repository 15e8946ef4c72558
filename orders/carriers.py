"""Carriers' names by SCAC code, so that pages name a carrier ("DHL Freight (DHLF)") instead of
showing a bare code. Their tracking pages are settings.CARRIER_TRACKING_URLS."""

# Only names we are sure of: a code missing here is shown alone rather than under a wrong name.
CARRIER_NAMES = {
    "DHLC": "DHL Express",
    "DHLF": "DHL Freight",
    "FDEG": "FedEx Ground",
    "FDEN": "FedEx Express",
    "FDXE": "FedEx Express",
    "UPSN": "UPS",
    "USPS": "United States Postal Service",
}


def carrier_display(code: str) -> str:
    """ "DHL Freight (DHLF)" where the code's name is known, else the code as recorded ("" for none)."""
    name = CARRIER_NAMES.get((code or "").strip().upper())
    return f"{name} ({code})" if name else code or ""
