"""The log scan's memory does not grow with the size of the logs (winsim side, fresh processes)."""

import logscan_bench
import pytest

pytestmark = pytest.mark.integration


def test_peak_memory_is_flat_from_5_to_60_mb():
    small, large = logscan_bench.measure(5), logscan_bench.measure(60)
    assert small["findings"] == small["planted"] > 0 and large["findings"] == large["planted"] > 0
    assert large["lines"] > 10 * small["lines"]
    assert large["peak_rss_mb"] - small["peak_rss_mb"] < 5, (small, large)
