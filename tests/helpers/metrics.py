"""Reading the app's /metrics (Prometheus text) in tests."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(session: aiohttp.ClientSession, base_url: str) -> tuple[Samples, str]:
    async with session.get(base_url + "/metrics") as response:
        text = await response.text()
        assert response.status == 200, f"/metrics answered {response.status}: {text[:300]!r}"
        assert response.headers["Content-Type"].startswith("text/plain")
    return parse(text), text


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)
