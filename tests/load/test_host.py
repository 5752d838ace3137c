from tierbench.load.host import plan_cpus

DEFAULT_TIERS = [0.25, 0.5, 1.0, 2.0]


def test_small_tiers_on_two_cores_get_a_core_apart_from_the_load_generator():
    plan = plan_cpus(0.5, DEFAULT_TIERS, "auto", cpus=[0, 1])
    assert plan.enabled and not plan.contended
    assert plan.runtime_cpus == (0,)
    assert plan.load_generator_cpus == (1,)
    assert plan.support_cpus == (1,)


def test_a_tier_as_big_as_the_host_runs_contended_and_says_why():
    plan = plan_cpus(2.0, DEFAULT_TIERS, "auto", cpus=[0, 1])
    assert plan.contended and not plan.enabled
    assert plan.runtime_cpus == ()
    assert "contended" in plan.reason and "2 CPUs" in plan.reason


def test_large_host_keeps_every_default_tier_apart():
    cpus = list(range(8))
    plan = plan_cpus(2.0, DEFAULT_TIERS, "auto", cpus=cpus)
    assert plan.runtime_cpus == (0, 1)
    assert plan.load_generator_cpus == (2, 3, 4, 5, 6, 7)
    assert plan.support_cpus == (2, 3, 4, 5, 6, 7)


def test_pinning_off_still_reports_contention():
    plan = plan_cpus(2.0, DEFAULT_TIERS, "off", cpus=[0, 1])
    assert not plan.enabled and plan.contended
    assert not plan_cpus(0.25, DEFAULT_TIERS, "off", cpus=[0, 1]).contended
