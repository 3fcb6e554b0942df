"""The learner's settings: one typed model, a docstring under every field.

The docstring says what a field is (it is the help of the flags that set it); a comment above
it says why it exists or has its default. ``LearnerConfig`` defaults are pure RL; ``experimenter
run`` changes six of them (``experimenter/commands_run.py``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)

_DEVICE = re.compile(r"cpu|auto|cuda(:\d+)?")


def _device(value: str) -> str:
    if not _DEVICE.fullmatch(value):
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'cuda:N' (N a GPU index) or 'auto', got {value!r}"
        )
    return value


def _sizes(value: tuple[int, ...]) -> tuple[int, ...]:
    if not value or min(value) < 1:
        raise ValueError(f"hidden must be positive sizes, got {value}")
    return value


class LearnerConfig(BaseModel):
    """Hyper-parameters of the language-conditioned SAC learner."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")

    hidden: Annotated[tuple[int, ...], AfterValidator(_sizes)] = (256, 256)
    """Hidden layer sizes of the actor and of each critic."""
    n_critics: int = Field(default=2, ge=1)
    """Critics in the ensemble (2: the twin critics of SAC); targets use their minimum."""
    batch_size: int = Field(default=256, ge=1)
    """Transitions per gradient update."""
    # Episodes are ~50-150 control steps at 20 Hz.
    gamma: float = Field(default=0.95, gt=0, lt=1)
    """Discount factor."""
    # More than 1 propagates reward faster along the stored episodes, uncorrected for
    # off-policy data as in Rainbow and D4PG.
    n_step: int = Field(default=1, ge=1)
    """Steps of relabelled reward summed before bootstrapping (1: the one-step SAC target)."""
    tau: float = Field(default=0.005, gt=0, le=1)
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
    """Entropy target; None means -action_dim."""
    bc_weight: float = Field(default=0.0, ge=0)
    """Behaviour cloning on chain transitions whose episode achieved the sampled task (0: pure
    RL)."""
    # As TD3+BC (Fujimoto & Gu 2021): without it behaviour cloning fades as the Q-values grow
    # (to ~17 on stacking).
    bc_normalize: bool = False
    """Divide the actor's Q term by the batch's mean |Q| (TD3+BC), so that behaviour cloning
    keeps its share of the actor's objective as Q-values grow."""
    # Symmetric sampling of prior and online data, as in RLPD (Ball et al. 2023: half and
    # half). With uniform sampling a goal's successful demonstrations are a few percent of its
    # batch rows once many tasks share the replay.
    demo_fraction: float = Field(default=0.0, ge=0, le=1)
    """Share of each batch drawn from chains that achieved an active task, each paired with
    such a task (0: uniform over the replay)."""
    # The shaping pays a red block resting on the blue one 2 cm off centre (the on tolerance is
    # 1.5 cm) 0.92 of a stack's 1.0 a step, and most of the stacking policy's failures at 300k
    # env steps were that near miss; 0.5 pays it 0.46.
    success_weight: float = Field(default=0.0, ge=0, le=1)
    """Share of the reward paid by success alone, the rest by the task's shaped progress (which
    pays near misses almost in full): w * success + (1 - w) * progress."""
    # As in RLPD: keeps Q-values from extrapolating far outside the data's range.
    critic_layer_norm: bool = False
    """Layer normalisation (no learned scale) after every hidden layer of the critics."""
    # Stacking's policy swung between 40 % and 96 % from one evaluation to the next, 1,200
    # updates apart (benchmarks/README.md). Collection still samples the trained actor.
    actor_average: float = Field(default=0.0, ge=0, le=1)
    """Polyak factor of an averaged copy of the actor, which acts whenever actions are
    deterministic (evaluation, executed skills); 0: off."""
    conditioning: Literal["concat", "film", "objects"] = "objects"
    """How the instruction enters the networks: objects (an object-centric view: the gripper,
    the objects the task names in order, the mean of the others), concat or film."""
    object_heads: int = Field(default=2, ge=1)
    """Named-object slots in the objects view (the first objects a task names)."""
    text_dim: int = 64
    """Width of the instruction encoder (token embeddings and its output)."""
    # Unseen words never fail: they share buckets.
    text_buckets: int = 4096
    """Hashed feature buckets of the tokenizer."""
    max_tokens: int = 48
    """Instructions are cut to this many words."""
    # 438 bytes a transition for three blocks.
    buffer_capacity: int = 1_000_000
    """Replay capacity in transitions."""
    buffer_chunk: int = 65_536
    """Transitions per file when the replay is saved (only changed chunks are rewritten)."""
    obs_clip: float = 10.0
    """Normalised observations are clipped to this many standard deviations."""
    # Features that barely vary in the data so far (a resting block's height: 0.001 m)
    # otherwise blow up the first time they move: at the old floor of 1e-3 a block lifted 1 cm
    # already read +10, the clip, and lift by pure RL stayed at 0 % on two seeds of four
    # (README). Checkpoints saved without this field load with 1e-3, the floor they were
    # trained with.
    obs_std_floor: float = Field(default=0.03, gt=0)
    """Smallest standard deviation an observation feature is divided by."""
    episode_steps: int = Field(default=100, ge=1)
    """Control steps per collected and evaluated episode."""
    num_envs: int = Field(default=8, ge=1)
    """Arena copies stepped together during collection and evaluation."""
    random_steps: int = Field(default=2_000, ge=0)
    """Env steps of uniform random actions before the policy acts."""
    relabel_chunk: int = 16
    """Updates whose batches are sampled and relabelled together (amortises the cost)."""
    # On the 2-core AMX CPUs here bfloat16 gave 1.1-1.3x the updates per second at 256 wide on
    # one thread and nothing at 64-128 wide or on two threads (README).
    precision: Literal["float32", "bfloat16"] = "float32"
    """Matrix products in float32, or in bfloat16 under autocast (weights and losses stay
    float32; on a CPU faster only at 256 wide on one thread)."""
    device: Annotated[str, AfterValidator(_device)] = "cpu"
    """Torch device: cpu, cuda, cuda:N or auto (cuda when available)."""
    seed: int = 0
    """Seed of every random number generator the learner owns."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Free-form notes stored with checkpoints (never read by the learner)."""

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem_in_one_line(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """One ``ValueError`` naming every bad field, what it must be and the value given."""
        try:
            config = handler(data)
        except ValidationError as e:
            problems = "; ".join(_problem(err) for err in e.errors())
            raise ValueError(f"invalid LearnerConfig: {problems}") from None
        if config.buffer_capacity < config.batch_size:
            raise ValueError(
                "invalid LearnerConfig: need batch_size <= buffer_capacity, got "
                f"{config.batch_size}, {config.buffer_capacity}"
            )
        return config

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}


def _problem(err: Any) -> str:
    """One of pydantic's errors as the learner states a problem: the field, what it must be,
    what it got."""
    name = ".".join(str(part) for part in err["loc"])
    kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    if kind in _BOUNDS:
        op, key = _BOUNDS[kind]
        return f"{name} must be {op} {ctx[key]:g}, got {got!r}"
    if kind == "literal_error":
        return f"{name} must be {ctx['expected']}, got {got!r}"
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "extra_forbidden":
        known = ", ".join(LearnerConfig.model_fields)
        return f"no LearnerConfig field {name!r} (the fields: {known})"
    return f"{name}: {err['msg']}, got {got!r}"
