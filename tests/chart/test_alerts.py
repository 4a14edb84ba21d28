"""The chart's alerts (files/alerts.yaml, rendered as a PrometheusRule): sound, and about
metrics floatip exports.

Proves: with ``prometheusRule.enabled`` both Helm majors render one PrometheusRule with the
chart's labels and the extra ones asked for; every rule has a name, a severity (critical,
warning, info), a summary and a description; every expression parses as PromQL (a broken one
is refused, so the check can fail) and every metric it names is one the operator or the agent
registers (a misspelt one is caught); ``poolUsageWarning`` reaches its expression and a value
outside (0, 1] is refused by the chart's schema.
"""

from __future__ import annotations

from typing import Any

import prometheus_client
import promql_parser
import pytest

from floatip_agent import metrics as agent_metrics
from floatip_operator import metrics as operator_metrics
from tests.chart.test_chart import CHART, HELMS, by_kind, helm, render

ENABLED = ["--set", "prometheusRule.enabled=true"]
SEVERITIES = {"critical", "warning", "info"}


def exported() -> set[str]:
    """Every series name the operator's metrics and the agent's registry can expose."""
    families = [
        family
        for metric in vars(operator_metrics).values()
        if isinstance(metric, prometheus_client.metrics.MetricWrapperBase)
        for family in metric.describe()
    ]
    families += agent_metrics.Metrics().registry.collect()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    names: set[str] = set()
    for family in families:
        names.add(family.name)
        names.update(family.name + s for s in suffixes.get(family.type, ()))
    return names


def metrics_named(expr: str) -> list[str]:
    found: list[str] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            found.append(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def rules(*args: str, which: str = "helm4") -> list[dict[str, Any]]:
    [rule] = by_kind(render(which, *ENABLED, *args), "PrometheusRule")
    [group] = rule["spec"]["groups"]
    assert group["name"] == "floatip"
    return list(group["rules"])


@pytest.mark.parametrize("which", sorted(HELMS))
def test_every_alert_is_complete_and_about_floatips_metrics(which: str) -> None:
    found = rules(which=which)
    names = exported()
    assert len({r["alert"] for r in found}) == len(found) >= 9
    for rule in found:
        assert rule["alert"].startswith("Floatip"), rule
        assert rule["labels"]["severity"] in SEVERITIES, rule
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule
        used = metrics_named(rule["expr"])
        assert used, rule
        assert set(used) <= names, (rule["alert"], set(used) - names)


def test_the_checks_can_fail() -> None:
    with pytest.raises(ValueError, match="unclosed"):
        promql_parser.parse("sum(floatip_operator_leader")
    assert "floatip_operator_pool_addresse" not in exported()
    assert metrics_named("floatip_operator_pool_addresse > 0") == ["floatip_operator_pool_addresse"]


def test_the_rule_carries_the_labels_and_the_pool_threshold_asked_for() -> None:
    args = ["--set", "prometheusRule.labels.release=kube-prometheus-stack"]
    args += ["--set-json", "prometheusRule.poolUsageWarning=0.75"]
    [rule] = by_kind(render("helm4", *ENABLED, *args), "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["metadata"]["labels"]["app.kubernetes.io/name"] == "floatip"
    [nearly] = [r for r in rules(*args) if r["alert"] == "FloatipPoolNearlyExhausted"]
    assert nearly["expr"].rstrip().endswith("> 0.75")
    [default] = [r for r in rules() if r["alert"] == "FloatipPoolNearlyExhausted"]
    assert default["expr"].rstrip().endswith("> 0.9")


@pytest.mark.parametrize("bad", ["0", "1.5", "-0.1"])
def test_the_schema_refuses_a_pool_threshold_outside_0_to_1(bad: str) -> None:
    result = helm(
        "helm4", "template", "vip", str(CHART), *ENABLED,
        "--set-json", f"prometheusRule.poolUsageWarning={bad}", check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "poolUsageWarning" in result.stderr + result.stdout
