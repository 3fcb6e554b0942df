"""``experimenter run`` refuses a learner option it cannot honour before it records anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from daemon_helpers import SMALL, start


@pytest.mark.parametrize(
    ("device", "says"),
    [
        ("tpu", "device must be 'cpu', 'cuda', 'cuda:N' (N a GPU index) or 'auto', got 'tpu'"),
        ("cuda:99", "cuda:99"),
    ],
)
def test_a_device_this_machine_lacks_exits_2_and_records_no_experiment(
    tmp_path: Path, device: str, says: str
) -> None:
    if device.startswith("cuda") and torch.cuda.device_count() > 99:
        pytest.skip("this machine has a GPU cuda:99")
    proc = start(tmp_path, "--experiment", "gpu", "--device", device, *SMALL)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2, out
    assert says in out
    assert "experiment 1" not in out
    assert not (tmp_path / "experimenter.db").exists()  # nothing was created
