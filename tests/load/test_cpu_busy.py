"""The busy share of the host's CPUs, from two readings of /proc/stat recorded here."""

from __future__ import annotations

import shutil

import pytest

from conftest import DATA
from tierbench.load.cpu_busy import CpuBusy, cpu_ticks

PROC = DATA / "proc"


def test_ticks_sum_the_cpus_asked_for_and_count_idle_and_iowait_as_idle():
    # cpu0: user 94316, system 9688, idle 89741, iowait 176, softirq 2754, steal 40.
    busy, total = cpu_ticks([0], PROC / "before")
    assert total == 94316 + 9688 + 89741 + 176 + 2754 + 40
    assert busy == total - 89741 - 176
    both = cpu_ticks([0, 1], PROC / "before")
    assert both[1] == total + cpu_ticks([1], PROC / "before")[1]
    assert cpu_ticks((), PROC / "before") == both  # every CPU when none is named


def test_a_cpu_the_host_lacks_reads_as_unknown():
    assert cpu_ticks([0, 7], PROC / "before") is None
    assert cpu_ticks([0], PROC / "nowhere") is None


def test_the_share_between_two_readings(tmp_path):
    proc = tmp_path / "proc"
    shutil.copytree(PROC / "before", proc)
    load, runtime = CpuBusy([1], proc), CpuBusy([0], proc)
    shutil.copy(PROC / "after" / "stat", proc / "stat")
    # cpu1 over the second: 101 ticks, 25 idle; cpu0: 101 ticks, 44 idle + 1 iowait.
    assert load.share() == pytest.approx(76 / 101)
    assert runtime.share() == pytest.approx(56 / 101)
    assert load.share() is None  # no tick since: no share
