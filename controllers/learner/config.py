"""The learner's settings: one typed dataclass, a docstring under every field."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

_DEVICE = re.compile(r"cpu|auto|cuda(:\d+)?")


@dataclass
class LearnerConfig:
    """Hyper-parameters of the language-conditioned SAC learner."""

    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer sizes of the actor and of each critic."""
    n_critics: int = 2
    """Critics in the ensemble (2 = the twin critics of SAC); targets use their minimum."""
    batch_size: int = 256
    """Transitions per gradient update."""
    gamma: float = 0.95
    """Discount factor (episodes are ~50-150 control steps at 20 Hz)."""
    n_step: int = 1
    """Steps of relabelled reward summed before bootstrapping (1 = the one-step SAC target;
    more propagates reward faster along the stored episodes, uncorrected for off-policy
    data as in Rainbow and D4PG)."""
    tau: float = 0.005
    """Polyak factor of the target critics."""
    actor_lr: float = 3e-4
    """Adam learning rate of the actor."""
    critic_lr: float = 3e-4
    """Adam learning rate of the critics and the instruction encoder."""
    alpha_lr: float = 3e-4
    """Adam learning rate of the entropy temperature."""
    init_alpha: float = 0.1
    """Initial entropy temperature."""
    target_entropy: float | None = None
    """Entropy target; ``None`` means ``-action_dim``."""
    bc_weight: float = 0.0
    """Weight of the behaviour-cloning term on skill-chain transitions whose episode achieved
    the sampled task (0 = pure RL)."""
    bc_normalize: bool = False
    """Divide the actor's reinforcement term by the batch's mean |Q| (not differentiated), as
    TD3+BC (Fujimoto & Gu 2021) does, so that behaviour cloning keeps its share of the
    actor's objective as the Q-values grow (to ~17 on stacking) instead of fading."""
    demo_fraction: float = 0.0
    """Share of each batch drawn from skill-chain transitions whose episode achieved an
    active task, each paired with such a task (drawn by the training weights) instead of an
    independent one: symmetric sampling of prior and online data as in RLPD (Ball et al.
    2023: half and half). With uniform sampling a goal's successful demonstrations are a
    few percent of its batch rows once many tasks share the replay. 0 = uniform."""
    success_weight: float = 0.0
    """Share of the reward paid by success alone: ``w * success + (1 - w) * progress``
    (``progress`` is the task's shaped reward, 1 exactly where it succeeds). The shaping pays
    a red block resting on the blue one 2 cm off centre (the ``on`` tolerance is 1.5 cm)
    0.92 of a stack's 1.0 a step, and most of the stacking policy's failures at 300k env
    steps were that near miss; w = 0.5 pays it 0.46. 0 = the shaped progress alone."""
    critic_layer_norm: bool = False
    """Layer normalisation (no learned scale) after every hidden layer of the critics, as in
    RLPD: keeps Q-values from extrapolating far outside the data's range."""
    actor_average: float = 0.0
    """Polyak factor of a running average of the actor's weights, which then gives every
    deterministic action (evaluation, a learned skill executed in a chain); collection
    still samples from the trained actor. 0 = off. Stacking's policy swung between 40 % and
    96 % from one evaluation to the next, 1,200 updates apart (benchmarks/README.md)."""
    conditioning: Literal["concat", "film", "objects"] = "objects"
    """How the instruction embedding enters the networks: concatenated to the input;
    concatenated and also modulating every hidden layer (FiLM); or concatenated to an
    object-centric view of the observation: the gripper, the slots of the objects the task
    names in order, and the mean slot of the other objects (``objects``)."""
    object_heads: int = 2
    """Named-object slots in the ``objects`` view (the first objects a task names)."""
    text_dim: int = 64
    """Width of the instruction encoder (token embeddings and its output)."""
    text_buckets: int = 4096
    """Hashed feature buckets of the tokenizer (unseen words never fail; they share buckets)."""
    max_tokens: int = 48
    """Instructions are cut to this many words."""
    buffer_capacity: int = 1_000_000
    """Replay capacity in transitions (438 bytes each for three blocks)."""
    buffer_chunk: int = 65_536
    """Transitions per file when the replay is saved (only changed chunks are rewritten)."""
    obs_clip: float = 10.0
    """Normalised observations are clipped to this many standard deviations."""
    obs_std_floor: float = 0.03
    """Smallest standard deviation an observation feature is divided by. Features that
    barely vary in the data so far (a resting block's height: 0.001 m) otherwise blow up
    the first time they move: at the old floor of 1e-3 a block lifted 1 cm already read
    +10, the clip, and lift by pure RL stayed at 0 % on two seeds of four (README).
    Checkpoints saved without this field load with 1e-3, the floor they were trained with."""
    episode_steps: int = 100
    """Control steps per collected and evaluated episode."""
    num_envs: int = 8
    """Arena copies stepped together during collection and evaluation."""
    random_steps: int = 2_000
    """Env steps of uniform random actions before the policy acts (per learner)."""
    relabel_chunk: int = 16
    """Updates whose batches are sampled and relabelled together (amortises the cost)."""
    precision: Literal["float32", "bfloat16"] = "float32"
    """Matrix products in float32, or in bfloat16 under autocast (weights and losses stay
    float32). On the 2-core AMX CPUs here bfloat16 gave 1.1-1.3x the updates per second at
    256 wide on one thread and nothing at 64-128 wide or on two threads (README)."""
    device: str = "cpu"
    """Torch device: ``cpu``, ``cuda``, ``cuda:1`` or ``auto`` (cuda when available)."""
    seed: int = 0
    """Seed of every random number generator the learner owns."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes stored with checkpoints (never read by the learner)."""

    def __post_init__(self) -> None:
        problems = []
        if not self.hidden or min(self.hidden) < 1:
            problems.append(f"hidden must be positive sizes, got {self.hidden}")
        if self.n_critics < 1:
            problems.append(f"n_critics must be >= 1, got {self.n_critics}")
        if not 0.0 < self.gamma < 1.0:
            problems.append(f"gamma must be in (0, 1), got {self.gamma}")
        if self.n_step < 1:
            problems.append(f"n_step must be >= 1, got {self.n_step}")
        if not 0.0 < self.tau <= 1.0:
            problems.append(f"tau must be in (0, 1], got {self.tau}")
        if self.bc_weight < 0:
            problems.append(f"bc_weight must be >= 0, got {self.bc_weight}")
        if not 0.0 <= self.demo_fraction <= 1.0:
            problems.append(f"demo_fraction must be in [0, 1], got {self.demo_fraction}")
        if not 0.0 <= self.success_weight <= 1.0:
            problems.append(f"success_weight must be in [0, 1], got {self.success_weight}")
        if not 0.0 <= self.actor_average <= 1.0:
            problems.append(f"actor_average must be in [0, 1], got {self.actor_average}")
        if self.conditioning not in ("concat", "film", "objects"):
            problems.append(
                f"conditioning must be 'concat', 'film' or 'objects', got {self.conditioning!r}"
            )
        if self.precision not in ("float32", "bfloat16"):
            problems.append(f"precision must be 'float32' or 'bfloat16', got {self.precision!r}")
        if not _DEVICE.fullmatch(self.device):
            problems.append(
                f"device must be 'cpu', 'cuda', 'cuda:N' (N a GPU index) or 'auto', "
                f"got {self.device!r}"
            )
        if not self.obs_std_floor > 0:
            problems.append(f"obs_std_floor must be > 0, got {self.obs_std_floor}")
        if self.object_heads < 1:
            problems.append(f"object_heads must be >= 1, got {self.object_heads}")
        if self.batch_size < 1 or self.buffer_capacity < self.batch_size:
            problems.append(
                f"need 1 <= batch_size <= buffer_capacity, got {self.batch_size}, "
                f"{self.buffer_capacity}"
            )
        if problems:
            raise ValueError("invalid LearnerConfig: " + "; ".join(problems))
        self.hidden = tuple(self.hidden)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
