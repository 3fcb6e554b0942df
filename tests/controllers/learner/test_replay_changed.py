"""Saving one replay into two folders alternately keeps both complete."""

from __future__ import annotations

import numpy as np

from controllers.learner import ReplayBuffer, Source


def add(buf: ReplayBuffer, n: int, value: float) -> None:
    obs = np.full((n, 3), value, dtype=np.float32)
    buf.add(obs, np.zeros((n, 2)), obs, np.zeros(n, bool), Source.POLICY)


def test_mark_changed_since_makes_a_second_folder_complete(tmp_path):
    buf = ReplayBuffer(capacity=40, obs_dim=3, act_dim=2, chunk=8)
    add(buf, 10, 1.0)
    buf.save(tmp_path / "a")
    add(buf, 10, 2.0)
    buf.mark_changed_since(0)  # folder b has never been saved
    buf.save(tmp_path / "b")
    add(buf, 25, 3.0)  # wraps around the ring
    buf.mark_changed_since(20)  # folder a was last saved at 10... and b at 20
    buf.mark_changed_since(10)
    buf.save(tmp_path / "a")
    loaded = ReplayBuffer.load(tmp_path / "a")
    assert loaded.added == buf.added == 45
    np.testing.assert_array_equal(loaded.obs, buf.obs)
    b = ReplayBuffer.load(tmp_path / "b")
    assert b.added == 20 and b.obs[15, 0] == 2.0
