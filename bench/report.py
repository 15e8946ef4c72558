"""The benchmark's output: a table, a one-line summary and bench/results.json."""

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def best_trial(results: dict) -> dict | None:
    complete = [trial for trial in results["applied"] if trial["complete"]]
    return max(complete, key=lambda trial: trial["per_second"], default=None)


def table(results: dict) -> str:
    webhook, raw = results["webhook"], results["raw"]
    rows = [
        ("measure", "setting", "count", "seconds", "per second"),
        (
            "1. webhook accepted",
            f"{webhook['server']} x{webhook['processes']}, {webhook['client_threads']} client threads",
            str(webhook["accepted"]),
            f"{webhook['seconds']:.1f}",
            f"{webhook['per_second']:.0f}",
        ),
    ]
    for trial in results["applied"]:
        rows.append(
            (
                "2. applied end to end",
                f"{trial['workers']} worker(s) x2, INBOUND_BATCH_SIZE={trial['batch_size']}"
                + ("" if trial["complete"] else " (incomplete)"),
                f"{trial['processed']} ({trial['applied_events']} applied)",
                f"{trial['seconds']:.1f}",
                f"{trial['per_second']:.0f}",
            )
        )
    rows.append(
        (
            "3. raw ceiling",
            "psycopg loop, 1 transaction per event",
            str(raw["events"]),
            f"{raw['seconds']:.1f}",
            f"{raw['per_second']:.0f}",
        )
    )
    for trial in results["applied"]:
        rows.append(
            ("4. ratio applied/raw", f"INBOUND_BATCH_SIZE={trial['batch_size']}", "", "", f"{trial['ratio']:.2f}")
        )
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def summary(results: dict) -> str:
    best, raw = best_trial(results), results["raw"]["per_second"]
    if best is None:
        return "No applied-throughput trial finished: see the table."
    verdict = "at or above" if best["per_second"] >= raw else "below"
    return (
        f"Webhook accepts {results['webhook']['per_second']:.0f}/s; workers apply {best['per_second']:.0f}/s "
        f"at best (INBOUND_BATCH_SIZE={best['batch_size']}), {best['ratio']:.2f}x the raw ceiling of "
        f"{raw:.0f}/s ({verdict} it)."
    )


def write(results: dict) -> Path:
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return RESULTS
