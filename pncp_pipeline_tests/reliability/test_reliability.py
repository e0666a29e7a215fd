"""The reliability scenarios at test size: each fails if the pipeline loses, doubles or stalls anything."""

from __future__ import annotations

from pathlib import Path

from pncp_pipeline_tests.reliability import scenarios
from pncp_pipeline_tests.reliability.scenarios import SMALL, Figures


def assert_exact(f: Figures) -> None:
    assert f.extra["complete"] if "complete" in f.extra else True, f
    assert f.final_status == f"{f.tasks} COMPLETE", f
    assert f.pages_lost == 0 and f.duplicate_pages == 0, f


def test_transport_faults_are_retried_and_never_land(tmp_path: Path) -> None:
    f = scenarios.transport_faults(tmp_path, SMALL)
    assert f.faults > 0
    assert_exact(f)
    assert f.redundant_requests == 0


def test_429_bursts_leave_partial_never_failed_and_a_later_run_finishes(tmp_path: Path) -> None:
    f = scenarios.bursts_429(tmp_path, SMALL)
    assert f.extra["partial_after_burst"] > 0 and f.extra["failed_after_burst"] == 0
    assert_exact(f)


def test_drift_is_detected_and_refetched_from_one_snapshot(tmp_path: Path) -> None:
    for records in (7, -7):
        f = scenarios.drift(tmp_path, SMALL, records)
        assert f.extra["tasks_drifted"] > 0, f
        assert f.extra["mismatched"] == 0, f  # records landed equal the new totals, not a mix
        assert_exact(f)


def test_unstable_ordering_is_reported_as_distinct_below_declared(tmp_path: Path) -> None:
    f = scenarios.unstable_order(tmp_path, SMALL)
    assert f.extra["tasks_with_repeats"] > 0 and f.extra["records_repeated"] == f.faults
    assert_exact(f)


def test_kill_9_in_every_phase_ends_like_a_clean_run(tmp_path: Path) -> None:
    f = scenarios.chaos(tmp_path, SMALL)
    print(f"\nchaos: kill points tried {f.faults} {f.extra['kills_by_phase']}, pages lost {f.pages_lost}, "
          f"duplicate data pages {f.duplicate_pages}, redundant requests {f.redundant_requests}")
    assert f.faults >= 20 and set(f.extra["kills_by_phase"]) == set(scenarios.PHASES)
    assert f.extra["same_as_clean_run"] and f.extra["stuck"] == 0 and f.extra["exit_code"] == 0
    assert f.redundant_requests == 0
    assert_exact(f)
