"""``floatip bench imports``: what the agent's imports cost in resident memory and time.

Each figure comes from a fresh interpreter (``sys.executable``), the median of ``--runs``:

- ``interpreter_mib``: VmRSS of a bare interpreter;
- ``agent``: ``import floatip_agent.main`` over it (``rss_mib``, ``import_ms``) and how many
  modules that loads;
- ``modules``: each library the agent imports or once imported (``LIBRARIES``): imported alone
  over a bare interpreter (``rss_mib``, ``import_ms``; the libraries share the standard
  library, so these overlap and do not add up), whether ``floatip_agent.main`` imports it
  (``in_agent``), and ``adds_mib``: what it adds over the agent's other libraries (for one
  the agent imports: all of them less all but it; for one it does not: all of them and it,
  less all of them), which is what leaving it out saves.

Nothing is asserted; the README's "Import cost" table is made from it. It needs no root.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

import click

#: The libraries the agent imports today, and those it once imported (scapy, aiohttp,
#: kubernetes), by the module an import of it starts from.
LIBRARIES = {
    "asyncio + ssl": ["asyncio", "ssl"],
    "click": ["click"],
    "structlog": ["structlog"],
    "prometheus_client": ["prometheus_client"],
    "pydantic + floatip.api.model": ["floatip.api.model"],
    "pyroute2": ["pyroute2"],
    "h11": ["h11"],
    "orjson": ["orjson"],
    "PyYAML": ["yaml"],
    "scapy (scapy.layers.l2, .inet6)": ["scapy.layers.l2", "scapy.layers.inet6"],
    "aiohttp (with aiohttp.web)": ["aiohttp", "aiohttp.web"],
    "kubernetes": ["kubernetes"],
}

PROBE = """
import importlib, json, sys, time
def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
before = rss()
started = time.perf_counter()
for name in sys.argv[1:]:
    importlib.import_module(name)
took = time.perf_counter() - started
print(json.dumps({"base": before, "rss": rss() - before, "ms": 1000 * took,
                  "modules": sorted(sys.modules)}))
"""


def _probe(modules: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *modules], capture_output=True, text=True, check=True
    )
    answer: dict[str, Any] = json.loads(out.stdout)
    return answer


def _median(modules: list[str], runs: int) -> dict[str, Any]:
    probes = [_probe(modules) for _ in range(runs)]
    return {
        "base": statistics.median(p["base"] for p in probes),
        "rss_mib": round(statistics.median(p["rss"] for p in probes), 1),
        "import_ms": round(statistics.median(p["ms"] for p in probes)),
        "modules": probes[0]["modules"],
    }


def measure(runs: int) -> dict[str, Any]:
    agent = _median(["floatip_agent.main"], runs)
    tops = {name.split(".")[0] for name in agent["modules"]}
    figures: dict[str, Any] = {
        "interpreter_mib": round(agent["base"], 1),
        "agent": {"rss_mib": agent["rss_mib"], "import_ms": agent["import_ms"],
                  "modules": len(agent["modules"])},
        "modules": {},
    }  # fmt: skip
    rows: dict[str, dict[str, Any]] = {}
    for label, modules in LIBRARIES.items():
        try:
            alone = _median(modules, runs)
        except subprocess.CalledProcessError:
            continue  # not installed here
        in_agent = any(m.split(".")[0] in tops for m in modules)
        rows[label] = {"modules": modules, "alone": alone, "in_agent": in_agent}
    used = [m for row in rows.values() if row["in_agent"] for m in row["modules"]]
    together = _median(used, runs)["rss_mib"]
    for label, row in rows.items():
        if row["in_agent"]:
            others = [m for m in used if m not in row["modules"]]
            adds = together - _median(others, runs)["rss_mib"]
        else:
            adds = _median(used + row["modules"], runs)["rss_mib"] - together
        figures["modules"][label] = {
            "rss_mib": row["alone"]["rss_mib"],
            "import_ms": row["alone"]["import_ms"],
            "adds_mib": round(adds, 1),
            "in_agent": row["in_agent"],
        }
    return figures


@click.command("imports")
@click.option("--runs", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--json", "json_only", is_flag=True, help="Print only the JSON line.")
def imports_command(runs: int, json_only: bool) -> None:
    """The agent's import cost: RSS and time of each library, and of the agent's imports."""
    figures = measure(runs)
    if not json_only:
        click.echo(f"interpreter: {figures['interpreter_mib']} MiB")
        agent = figures["agent"]
        click.echo(
            f"import floatip_agent.main: +{agent['rss_mib']} MiB, {agent['import_ms']} ms, "
            f"{agent['modules']} modules"
        )
        for label, row in figures["modules"].items():
            where = "in the agent" if row["in_agent"] else "not in the agent"
            click.echo(
                f"  {label}: alone +{row['rss_mib']} MiB, {row['import_ms']} ms; "
                f"adds {row['adds_mib']} MiB to the agent's other libraries ({where})"
            )
    click.echo(json.dumps(figures))


if __name__ == "__main__":
    imports_command()
