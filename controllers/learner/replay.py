"""Task-agnostic replay: every transition is stored once and relabelled for any task later.

Per transition: observation, action, next observation, a time-limit flag, where the
data came from, the stride to the episode's next transition (the batch width it was
added with; 0 after the episode's last step), which n-step returns follow, and the steps
left in the episode, which find its last observation (did the episode achieve a task?). No reward is
stored: rewards are recomputed from the next observation by the compiled task spec when a
batch is sampled (``controllers.learner.tasks``).

Saved as fixed-size chunk files (``chunk_000012.npz``) plus a small ``meta.json``; each is
written to a temporary file, fsynced and renamed, and only chunks that changed since the
last save are rewritten, so saving a large buffer often is cheap and a crash mid-save
leaves the previous files intact.
"""

from __future__ import annotations

import json
from enum import IntEnum
from pathlib import Path

import numpy as np

from controllers.learner.files import atomic_write


class Source(IntEnum):
    """Who collected a transition."""

    POLICY = 0
    CHAIN = 1  # a scripted or composite skill chain (demonstration-like data)
    RANDOM = 2  # the policy's uniformly random warm-up (``LearnerConfig.random_steps``)
    OTHER = 3

    @classmethod
    def of_round(cls, *, chained: bool, random_phase: bool) -> Source:
        """Who collected a round: a chain, the random warm-up, or the policy (stored with its
        transitions, so that an exported dataset tells the warm-up from the policy)."""
        if chained:
            return cls.CHAIN
        return cls.RANDOM if random_phase else cls.POLICY


class ReplayBuffer:
    """Ring buffer of transitions in preallocated numpy arrays."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, chunk: int = 65_536) -> None:
        if capacity < 1 or chunk < 1:
            raise ValueError(f"capacity and chunk must be >= 1, got {capacity}, {chunk}")
        self.capacity, self.obs_dim, self.act_dim, self.chunk = capacity, obs_dim, act_dim, chunk
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.action = np.zeros((capacity, act_dim), dtype=np.float32)
        self.timeout = np.zeros(capacity, dtype=bool)
        self.source = np.zeros(capacity, dtype=np.uint8)
        self.stride = np.zeros(capacity, dtype=np.uint16)
        self.to_go = np.zeros(capacity, dtype=np.uint16)
        self.size = 0
        self.pos = 0
        self.added = 0  # total ever added (also the version for incremental saves)
        self._dirty: set[int] = set()

    @property
    def bytes_per_transition(self) -> int:
        return (
            self.obs.itemsize * self.obs_dim * 2
            + self.action.itemsize * self.act_dim
            + self.timeout.itemsize
            + self.source.itemsize
            + self.stride.itemsize
            + self.to_go.itemsize
        )

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        next_obs: np.ndarray,
        timeout: np.ndarray,
        source: Source | np.ndarray,
        stride: int | np.ndarray = 0,
        to_go: int | np.ndarray = 0,
    ) -> None:
        """Append a batch of ``n`` transitions (arrays with a leading ``n`` axis).

        ``stride``: how many transitions after this one its episode continues (``n`` when
        the batch is one step of ``n`` arenas and the next step is added next); 0 (no
        successor) where ``timeout`` is set or unknown. ``to_go``: steps of the episode
        after this one (0 for its last step or when unknown).
        """
        obs = np.asarray(obs, dtype=np.float32)
        n = len(obs)
        if obs.shape != (n, self.obs_dim) or np.shape(next_obs) != (n, self.obs_dim):
            raise ValueError(
                f"obs and next_obs must have shape (n, {self.obs_dim}), got {obs.shape} and "
                f"{np.shape(next_obs)}"
            )
        if np.shape(action) != (n, self.act_dim):
            raise ValueError(
                f"action must have shape ({n}, {self.act_dim}), got {np.shape(action)}"
            )
        if not (np.isfinite(obs).all() and np.isfinite(next_obs).all()):
            raise ValueError("observations contain NaN or inf; refusing to store them")
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx] = obs
        self.next_obs[idx] = next_obs
        self.action[idx] = action
        self.timeout[idx] = timeout
        self.source[idx] = source
        self.stride[idx] = np.where(np.asarray(timeout, dtype=bool), 0, stride)
        self.to_go[idx] = np.where(self.stride[idx] == 0, 0, to_go)
        self._dirty.update(np.unique(idx // self.chunk).tolist())
        self.pos = int((self.pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)
        self.added += n

    def sample_indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.size == 0:
            raise ValueError("the replay buffer is empty; collect data before updating")
        return rng.integers(0, self.size, size=n)

    def successors(self, idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Follow each transition ``idx`` up to ``n - 1`` steps along its episode.

        Returns ``(rows, alive)``, both ``(n, len(idx))``: ``rows[j]`` is the transition
        ``j`` steps after ``idx`` (repeated once the episode has ended) and ``alive[j]``
        whether that step exists. A successor is always newer than its predecessor, so it
        has not been overwritten while the predecessor is still stored.
        """
        rows = np.empty((n, len(idx)), dtype=np.int64)
        alive = np.ones((n, len(idx)), dtype=bool)
        rows[0] = idx
        for j in range(1, n):
            step = self.stride[rows[j - 1]].astype(np.int64) * alive[j - 1]
            alive[j] = step > 0
            rows[j] = (rows[j - 1] + step) % self.capacity
        return rows, alive

    def episode_last(self, idx: np.ndarray) -> np.ndarray:
        """The stored last transition of each transition's episode (itself when unknown)."""
        step = self.stride[idx].astype(np.int64) * self.to_go[idx]
        return (idx + step) % self.capacity

    def mark_changed_since(self, added: int) -> None:
        """Mark for the next ``save`` every chunk written since ``added`` transitions had been
        added, e.g. to save into a second folder last saved at that count."""
        if not 0 <= added <= self.added:
            raise ValueError(f"added must be in [0, {self.added}], got {added}")
        n = self.added - added
        if n >= self.capacity:
            self._dirty.update(range(-(-self.capacity // self.chunk)))
        elif n > 0:
            idx = (self.pos - n + np.arange(n)) % self.capacity
            self._dirty.update(np.unique(idx // self.chunk).tolist())

    # --- persistence -------------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        n_chunks = -(-self.size // self.chunk)
        for c in sorted(self._dirty):
            if c >= n_chunks:
                continue
            s = slice(c * self.chunk, min((c + 1) * self.chunk, self.size))

            def write(f: object, s: slice = s) -> None:
                np.savez(
                    f,  # type: ignore[arg-type]
                    obs=self.obs[s],
                    next_obs=self.next_obs[s],
                    action=self.action[s],
                    timeout=self.timeout[s],
                    source=self.source[s],
                    stride=self.stride[s],
                    to_go=self.to_go[s],
                )

            atomic_write(d / f"chunk_{c:06d}.npz", write)
        meta = {
            "capacity": self.capacity,
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "chunk": self.chunk,
            "size": self.size,
            "pos": self.pos,
            "added": self.added,
        }
        # meta.json is written last: it names only chunks that are already on disk.
        atomic_write(d / "meta.json", lambda f: f.write(json.dumps(meta).encode()))
        self._dirty.clear()

    @classmethod
    def load(cls, directory: str | Path) -> ReplayBuffer:
        d = Path(directory)
        try:
            meta = json.loads((d / "meta.json").read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"no replay buffer in {d} (meta.json missing)") from None
        buf = cls(meta["capacity"], meta["obs_dim"], meta["act_dim"], meta["chunk"])
        for c in range(-(-meta["size"] // meta["chunk"])):
            path = d / f"chunk_{c:06d}.npz"
            with np.load(path) as z:
                start = c * buf.chunk
                end = start + len(z["obs"])
                for name in ("obs", "next_obs", "action", "timeout", "source", "stride", "to_go"):
                    if name in z:  # replays saved before these existed: one-step, no ends
                        getattr(buf, name)[start:end] = z[name]
        buf.size, buf.pos, buf.added = meta["size"], meta["pos"], meta["added"]
        return buf
