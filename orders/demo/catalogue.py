"""The demo parts catalogue and installed base: part categories, machine models, downtime costs.

Part numbers and serial numbers depend only on their position, so a second seeding finds them again.
"""

import random
from decimal import Decimal

from orders.models import Account, Asset, Criticality, Part

# Machine models per industry as (model, family); parts name the family they fit.
MODELS = {
    "mining": [("Haul truck HT-240", "HT-240"), ("Hydraulic shovel HS-6060", "HS-6060"),
               ("Underground loader UL-17", "UL-17"), ("Blasthole drill RD-45", "RD-45")],
    "construction": [("Excavator EX-300", "EX-300"), ("Wheel loader WL-180", "WL-180"),
                     ("Articulated dump truck AD-30", "AD-30"), ("Mobile crane MC-90", "MC-90")],
    "agriculture": [("Combine harvester CH-770", "CH-770"), ("Tractor T-9R", "T-9R"),
                    ("Forage harvester FH-850", "FH-850"), ("Self-propelled sprayer SP-40", "SP-40")],
    "medical": [("MRI scanner Vista 3T", "Vista 3T"), ("CT scanner Helix 128", "Helix 128"),
                ("Mobile C-arm MV-9", "MV-9"), ("Ultrasound system Sonara X7", "Sonara X7")],
    "aviation": [("Regional jet RJ-900", "RJ-900"), ("Turboprop TP-72", "TP-72"),
                 ("Auxiliary power unit GTCP-131", "GTCP-131"), ("Ground power unit GPU-90", "GPU-90")],
}  # fmt: skip
# What an hour of standstill costs, in EUR: an aircraft on ground is the extreme.
DOWNTIME_EUR_PER_HOUR = {
    "mining": (4000, 30000),
    "construction": (250, 1500),
    "agriculture": (150, 1200),
    "medical": (1500, 8000),
    "aviation": (8000, 60000),
}
# Currency an account is billed in, and its rough rate against the euro.
CURRENCY = {
    "SE": ("SEK", 11.5), "GB": ("GBP", 0.85), "ZA": ("ZAR", 20), "US": ("USD", 1.08), "CL": ("USD", 1.08),
    "CA": ("CAD", 1.47), "MX": ("MXN", 18.5), "AU": ("AUD", 1.65), "SG": ("SGD", 1.45), "JP": ("JPY", 160),
    "IN": ("INR", 90), "VN": ("USD", 1.08),
}  # fmt: skip
SITE_NAMES = {
    "mining": ["Pit 3", "North decline", "Crusher plant", "Haul road workshop"],
    "construction": ["Bypass project lot 2", "Harbour extension", "Tunnel portal east", "Yard"],
    "agriculture": ["Home farm", "East fields", "Grain terminal", "Machinery shed"],
    "medical": ["Radiology, level 1", "Imaging centre", "Emergency department", "Cardiology"],
    "aviation": ["Hangar 2", "Line maintenance, apron B", "Engine shop", "Stand 14"],
}

HEAVY = ("mining", "construction", "agriculture")
MEDICAL, AVIATION = ("medical",), ("aviation",)
# category: part-number prefix, share of the catalogue, descriptions per group of industries
CATEGORIES = {
    "hydraulics": ("HYD", 14, {
        HEAVY: ["Main control valve", "Pressure relief valve", "Hydraulic hose assembly 1/2in x 1200 mm",
                "Boom cylinder", "Swing motor", "Pilot valve", "Accumulator 4 l"],
        AVIATION: ["Landing gear actuator", "Hydraulic pump, engine-driven", "Priority valve"],
    }),
    "seals": ("SEA", 14, {
        HEAVY: ["Cylinder seal kit", "O-ring kit, Viton", "Shaft seal 85x110x12", "Head gasket set",
                "Seal kit, swivel joint"],
        MEDICAL: ["Helium vessel O-ring kit", "Coolant circuit gasket set"],
        AVIATION: ["Actuator seal kit", "Fuel pump mechanical seal", "Door seal, cargo"],
    }),
    "electronics": ("ELE", 12, {
        HEAVY: ["Engine control unit", "Display module 7in", "CAN bus gateway", "Wiring harness, cab"],
        MEDICAL: ["Power supply unit 24 V", "Operator console PC", "Patient monitor interface"],
        AVIATION: ["Avionics power supply", "Flight data acquisition unit", "Cabin pressure controller"],
    }),
    "control boards": ("CTB", 9, {
        ("construction",): ["Main control board", "I/O board"],
        MEDICAL: ["Gradient amplifier board", "Generator control board", "Table motor drive board"],
        AVIATION: ["Power distribution board", "APU control board"],
    }),
    "filters": ("FIL", 12, {
        HEAVY: ["Engine air filter, primary", "Hydraulic return filter 10 micron", "Fuel filter, water separator",
                "Cabin air filter", "Transmission filter"],
        MEDICAL: ["Chiller water filter", "Cooling fan filter mat"],
        AVIATION: ["Hydraulic pressure filter element", "APU oil filter"],
    }),
    "bearings": ("BRG", 9, {
        HEAVY: ["Slewing ring bearing", "Tapered roller bearing 32218", "Wheel bearing kit", "Main bearing set"],
        MEDICAL: ["Gantry bearing", "Table drive bearing"],
        AVIATION: ["Main wheel bearing", "Starter-generator bearing"],
    }),
    "pumps": ("PMP", 8, {
        HEAVY: ["Hydraulic piston pump", "Fuel injection pump", "Coolant pump", "Gear pump, fan drive"],
        MEDICAL: ["Helium compressor", "Chiller circulation pump"],
        AVIATION: ["Fuel boost pump", "APU oil pump"],
    }),
    "sensors": ("SEN", 8, {
        HEAVY: ["Pressure sensor 0-400 bar", "Speed sensor", "Temperature sensor PT100", "Proximity switch"],
        MEDICAL: ["Position encoder", "Helium level probe"],
        AVIATION: ["Fuel quantity probe", "Exhaust gas temperature probe"],
    }),
    "drivetrain": ("DRV", 6, {
        HEAVY: ["Final drive planetary set", "Transmission clutch pack", "Drive shaft U-joint", "Differential lock"],
    }),
    "wear parts": ("WEA", 5, {HEAVY: ["Bucket tooth", "Cutting edge", "Track shoe", "Knife section", "Chain link"]}),
    "imaging": ("IMG", 3, {MEDICAL: ["X-ray tube assembly", "RF coil, knee", "CT detector module", "Cold head"]}),
}  # fmt: skip


def part_rows(rng: random.Random, count: int) -> tuple[list[Part], dict[str, str]]:
    """`count` parts and, per part number, the industry whose machines it fits.

    Criticality is dealt from a shuffled deck so the catalogue is 15 % A, 35 % B, 50 % C.
    """
    shares = {category: share for category, (_prefix, share, _names) in CATEGORIES.items()}
    quotas = {category: count * share // sum(shares.values()) for category, share in shares.items()}
    # Largest categories take what rounding down left over, so the quotas add up to `count`.
    for category in sorted(shares, key=shares.__getitem__, reverse=True)[: count - sum(quotas.values())]:
        quotas[category] += 1
    deck = [Criticality.A] * round(count * 0.15) + [Criticality.B] * round(count * 0.35)
    deck += [Criticality.C] * (count - len(deck))
    rng.shuffle(deck)
    rows: list[Part] = []
    industry_by_number: dict[str, str] = {}
    for category, (prefix, _share, names_by_group) in CATEGORIES.items():
        slots = [(industry, names) for group, names in names_by_group.items() for industry in group]
        for index in range(quotas[category]):
            industry, names = slots[index % len(slots)]
            _model, family = MODELS[industry][index // len(slots) % len(MODELS[industry])]
            number = f"{prefix}-{10001 + index}"
            rows.append(
                Part(
                    number=number,
                    description=f"{rng.choice(names)}, {family}",
                    category=category,
                    criticality=deck[len(rows)],
                )
            )
            industry_by_number[number] = industry
    return rows, industry_by_number


def asset_rows(rng: random.Random, customers: list[Account], industry: dict[int, str], count: int = 80) -> list[Asset]:
    """`count` machines spread round robin over the customer accounts."""
    rows = []
    for index in range(count):
        account = customers[index % len(customers)]
        kind = industry[account.pk]
        model, family = MODELS[kind][index // len(customers) % len(MODELS[kind])]
        currency, rate = CURRENCY.get(account.country, ("EUR", 1))
        low, high = DOWNTIME_EUR_PER_HOUR[kind]
        rows.append(
            Asset(
                serial_number=f"{family.replace(' ', '').replace('-', '')}-{account.number[1:]}-{index:03d}",
                model_name=model,
                account=account,
                location=f"{rng.choice(SITE_NAMES[kind])}, {account.name}",
                downtime_cost_per_hour=Decimal(round(rng.uniform(low, high) * rate, -1)).quantize(Decimal("0.01")),
                currency=currency,
            )
        )
    return rows
