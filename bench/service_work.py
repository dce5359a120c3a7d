"""What the serve processes report about their own work in `bench.bench_service`: the
dispatchers' counters (from each process's /metrics) and the rate their CPU alone allows."""

from __future__ import annotations

import httpx

DISPATCH_METRICS = {
    'frontdoor_outbox_claims{found="items"}': "claims with items",
    'frontdoor_outbox_claims{found="nothing"}': "claims that found nothing",
    "frontdoor_outbox_record_transactions": "record transactions",
    "frontdoor_outbox_delivered": "delivered",
}


def dispatch_counts(urls: list[str]) -> dict[str, float]:
    """The dispatchers' counters, summed over the serve processes (their /metrics)."""
    totals = dict.fromkeys(DISPATCH_METRICS.values(), 0.0)
    for url in urls:
        for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
            name, _, value = line.rpartition(" ")
            if name in DISPATCH_METRICS:
                totals[DISPATCH_METRICS[name]] += float(value)
    return totals


def per_delivered(dispatch: dict[str, float], *counters: str) -> str:
    """``counters`` summed per item delivered; with several, the last one's share too."""
    delivered = dispatch.get("delivered", 0.0)
    if not delivered:
        return "–"
    total = sum(dispatch[c] for c in counters) / delivered
    if len(counters) == 1:
        return f"{total:.2f}"
    return f"{total:.2f} ({dispatch[counters[-1]] / delivered:.2f})"


def cpu_bound_rate(answered: int, cpu_s: dict[str, float], rasa_rps: float) -> str:
    """What the serve processes' CPU alone allows: each process's CPU per typed message
    answered by all of them, so with a core each the busiest one sets the pace."""
    busiest = max((seconds for name, seconds in cpu_s.items() if "serve" in name), default=0.0)
    if not answered or not busiest:
        return "–"
    rate = answered / busiest
    return f"{rate:.0f} ({rate / rasa_rps:.2f})" if rasa_rps else f"{rate:.0f}"
