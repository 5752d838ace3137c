"""The kubelet's metric text read exactly: the runtime's own container (not the pod cgroup
or the pause container), the newest series after a restart, rates from the kubelet's own
stamps, and rows in the results layout's columns."""

from datetime import UTC, datetime

from conftest import REPO
from tierbench.load.kubernetes.metrics import (
    container_readings,
    cpu_cores_between,
    sample_figures,
)

DATA = REPO / "tests" / "data" / "kubelet"

# As /metrics/cadvisor writes it (one series per cgroup, stamped in milliseconds): the pod's
# own cgroup, its pause container, the runtime before and after a restart, another
# namespace, and k6's pod.
CADVISOR = (DATA / "cadvisor.txt").read_text()
# As /metrics/resource writes it: CPU and working set only.
RESOURCE = (DATA / "resource.txt").read_text()


def test_cadvisor_readings_are_the_runtime_containers_newest_series():
    readings = container_readings(CADVISOR, "bench", {"tb-ts-xs", "tb-ts-xs-k6-x7k2p"})
    assert set(readings) == {("tb-ts-xs", "runtime"), ("tb-ts-xs-k6-x7k2p", "k6")}
    runtime = readings[("tb-ts-xs", "runtime")]
    assert runtime.at == datetime(2025, 11, 28, 10, 0, tzinfo=UTC)
    assert runtime.cpu_s == 2.5  # the restarted container's series, not the old one
    assert (runtime.periods, runtime.throttled_periods, runtime.throttled_s) == (1000, 250, 3.25)
    assert runtime.working_set_bytes == 134217728
    assert runtime.max_usage_bytes == 268435456
    assert runtime.oom_events == 1


def test_resource_metrics_have_no_throttling():
    reading = container_readings(RESOURCE, "bench", {"tb-ts-xs"})[("tb-ts-xs", "runtime")]
    assert reading.cpu_s == 12.25 and reading.periods is None
    figures = sample_figures(None, reading, 0.25, 268435456)
    assert figures["nr_periods_total"] is None and figures["memory_pct_of_limit"] == 3.90625


def test_rates_use_the_kubelets_own_stamps():
    before = container_readings(RESOURCE, "bench", {"tb-ts-xs"})[("tb-ts-xs", "runtime")]
    later = RESOURCE.replace("12.25", "14.75").replace("1764324001500", "1764324011500")
    after = container_readings(later, "bench", {"tb-ts-xs"})[("tb-ts-xs", "runtime")]
    assert cpu_cores_between(before, after) == 0.25  # 2.5 s of CPU over 10 s
    figures = sample_figures(before, after, 0.25, 268435456)
    assert figures["cpu_cores"] == 0.25 and figures["cpu_pct_of_limit"] == 100.0


def test_a_restart_between_readings_gives_no_interval_figures():
    after = container_readings(RESOURCE, "bench", {"tb-ts-xs"})[("tb-ts-xs", "runtime")]
    earlier = RESOURCE.replace("12.25", "30").replace("1764324001500", "1764323991500")
    before = container_readings(earlier, "bench", {"tb-ts-xs"})[("tb-ts-xs", "runtime")]
    assert cpu_cores_between(before, after) is None
    assert sample_figures(before, after, 0.25, 268435456)["cpu_cores"] is None
