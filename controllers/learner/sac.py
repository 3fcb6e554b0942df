"""Soft actor-critic with an instruction encoder: the networks and one ``update(batch)``.

One update = one gradient step on the critics (and encoder), the actor and the entropy
temperature. All three losses are summed and back-propagated once (the actor loss sees
the critics through detached weights and the critics' inputs detached), which gives the
same gradients as three separate passes at a fraction of the overhead.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from controllers.layout import GRIPPER_DIM, OBJECT_DIM
from controllers.learner.networks import Actor, Critic, select_objects
from controllers.learner.text import InstructionEncoder
from settings import LearnerConfig


class Batch(NamedTuple):
    """One training batch; ``task`` indexes the rows of the token table given to update.
    ``obs`` and ``next_obs`` are raw observations as sampled, network inputs once
    ``SAC.prepare``d (the only form ``SAC.update`` takes)."""

    obs: torch.Tensor  # (B, obs_dim) observations
    action: torch.Tensor  # (B, act_dim)
    next_obs: torch.Tensor  # (B, obs_dim) the observation bootstrapped from
    reward: torch.Tensor  # (B,) relabelled for the paired task (discounted n-step sum)
    discount: torch.Tensor  # (B,) gamma ** (steps summed in reward)
    task: torch.Tensor  # (B,) int64 row of the token table
    bc_mask: torch.Tensor  # (B,) 1.0 where behaviour cloning applies
    noise: torch.Tensor  # (B, 2, act_dim) standard normal: the policy's samples at next_obs, obs


class SAC(nn.Module):
    """Networks, target critics, temperature and their optimiser."""

    def __init__(
        self, obs_dim: int, act_dim: int, cfg: LearnerConfig, device: torch.device
    ) -> None:
        super().__init__()
        self.cfg = cfg
        # The policy's sampling noise comes from this generator only (saved with checkpoints).
        self.gen = torch.Generator(device=device)
        self.gen.manual_seed(cfg.seed)
        film = cfg.conditioning == "film"
        # The networks see the object-centric view of observations (``network_inputs``).
        self.object_view = cfg.conditioning == "objects"
        self.encoder = InstructionEncoder(cfg.text_buckets, cfg.text_dim, cfg.max_tokens)
        table = self.encoder.bag.weight
        in_dim = obs_dim
        if self.object_view:
            in_dim = GRIPPER_DIM + (cfg.object_heads + 1) * OBJECT_DIM
        self.actor = Actor(in_dim, act_dim, cfg.text_dim, cfg.hidden, film)
        self.critic = Critic(
            in_dim, act_dim, cfg.text_dim, cfg.hidden, cfg.n_critics, film, cfg.critic_layer_norm
        )
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        # The averaged actor exists only when enabled, so that checkpoints without it load.
        self.actor_avg: Actor | None = None
        if cfg.actor_average > 0:
            self.actor_avg = copy.deepcopy(self.actor).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(float(cfg.init_alpha)).log())
        self.target_entropy = (
            -float(act_dim) if cfg.target_entropy is None else float(cfg.target_entropy)
        )
        self.obs_mean: torch.Tensor
        self.obs_std: torch.Tensor
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))
        self.optimizer = torch.optim.Adam(
            [
                {
                    "params": [
                        *self.critic.parameters(),
                        *(p for p in self.encoder.parameters() if p is not table),
                    ],
                    "lr": cfg.critic_lr,
                },
                {"params": list(self.actor.parameters()), "lr": cfg.actor_lr},
                {"params": [self.log_alpha], "lr": cfg.alpha_lr},
            ],
            fused=True,  # one kernel for all parameters (CPU and CUDA)
        )
        # The hashed feature table gets sparse gradients (the few rows the batch's
        # instructions use): a dense one is a 1 MiB zero-fill and an Adam step over 262k
        # numbers per update, a tenth of an update at 64 wide.
        self.table_optimizer = torch.optim.SparseAdam([table], lr=cfg.critic_lr)
        self._online: list[torch.Tensor] = list(self.critic.parameters())
        self._target: list[torch.Tensor] = list(self.critic_target.parameters())
        self._actor: list[torch.Tensor] = list(self.actor.parameters())
        self._actor_avg: list[torch.Tensor] = (
            list(self.actor_avg.parameters()) if self.actor_avg is not None else []
        )

    def optimizer_state(self) -> dict[str, Any]:
        return {"dense": self.optimizer.state_dict(), "table": self.table_optimizer.state_dict()}

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        """Restore ``optimizer_state()``; also takes the single Adam state that checkpoints
        held before the feature table got its own sparse optimiser."""
        if "param_groups" in state:
            template = self.table_optimizer.state_dict()["param_groups"][0]
            state = _split_legacy_adam(state, len(self._online), template)
        self.optimizer.load_state_dict(state["dense"])
        self.table_optimizer.load_state_dict(state["table"])

    def set_normalizer(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Observation statistics used by every forward pass (kept with the weights)."""
        with torch.no_grad():
            self.obs_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.obs_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return normalize(obs, self.obs_mean, self.obs_std, self.cfg.obs_clip)

    def inputs(self, obs: torch.Tensor, objects: torch.Tensor) -> torch.Tensor:
        """Raw observations ``(B, D)`` -> the networks' inputs (``network_inputs``)."""
        return network_inputs(
            obs, objects, self.obs_mean, self.obs_std, self.cfg.obs_clip, self.object_view
        )

    def prepare(self, b: Batch, objects: torch.Tensor) -> Batch:
        """A sampled batch with its raw observations replaced by network inputs (``objects``
        describes the tasks ``b.task`` indexes). Done once for a chunk of updates; the
        normaliser must not change in between."""
        w = objects[b.task]
        return b._replace(obs=self.inputs(b.obs, w), next_obs=self.inputs(b.next_obs, w))

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, tokens: torch.Tensor, objects: torch.Tensor, deterministic: bool
    ) -> torch.Tensor:
        """Actions for observations ``(B, D)`` under instructions ``tokens (B, L)`` naming
        ``objects (B, H)`` (scene indices, -1 for none; see ``tasks.object_indices``)."""
        with self._autocast():
            actor = self.acting_actor(deterministic)
            return policy_actions(
                self.encoder, actor, self.inputs(obs, objects), tokens, deterministic, self.gen
            )

    def acting_actor(self, deterministic: bool) -> Actor:
        """The actor that acts: the averaged one for deterministic actions when enabled."""
        return self.actor_avg if deterministic and self.actor_avg is not None else self.actor

    def _autocast(self) -> torch.autocast:
        """Matrix products in bfloat16 when ``precision="bfloat16"`` (weights, optimiser
        state, losses and the critics' scalar heads stay float32)."""
        return torch.autocast(
            self.obs_mean.device.type,
            dtype=torch.bfloat16,
            enabled=self.cfg.precision == "bfloat16",
        )

    def update(self, b: Batch, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        """One gradient step on a ``prepare``d batch; ``tokens`` are the instructions of the
        tasks ``b.task`` indexes."""
        with self._autocast():
            losses, metrics = self._losses(b, tokens)
        self.optimizer.zero_grad(set_to_none=True)
        self.table_optimizer.zero_grad(set_to_none=True)
        losses.backward()
        self.optimizer.step()
        self.table_optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(self._target, self._online, self.cfg.tau)
            if self._actor_avg:
                torch._foreach_lerp_(self._actor_avg, self._actor, self.cfg.actor_average)
        return metrics

    def _losses(
        self, b: Batch, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The summed critic, actor and temperature losses, and the metrics to report."""
        emb = self.encoder(tokens)  # (T, e): one row per task present in the batch
        e = emb.detach()
        alpha = self.log_alpha.exp().detach()
        task = b.task
        actor_terms = self.actor.task_terms(e)
        with torch.no_grad():
            next_a, next_logp, _ = self.actor.sample(b.next_obs, task, actor_terms, b.noise[:, 0])
            target = self.critic_target
            target_q = (
                target(target.obs_term(b.next_obs), next_a, task, target.task_terms(e))
                .min(0)
                .values
            )
            # Relabelled tasks never end an episode: always bootstrap (time limits included).
            y = b.reward + b.discount * (target_q - alpha * next_logp)
        critic_terms = self.critic.task_terms(emb)
        obs_term = self.critic.obs_term(b.obs)
        q = self.critic(obs_term, b.action, task, critic_terms)
        critic_loss = 0.5 * ((q - y) ** 2).mean(1).sum()

        a, logp, det = self.actor.sample(b.obs, task, actor_terms, b.noise[:, 1])
        # The actor loss sees the critics through detached weights and terms: its gradient
        # reaches the action only.
        q_pi = self.critic(obs_term.detach(), a, task, critic_terms.detach(), frozen=True)
        q_min = q_pi.min(0).values
        actor_loss = (alpha * logp - q_min).mean()
        bc_loss = torch.zeros((), device=b.obs.device)
        if self.cfg.bc_weight > 0:
            if self.cfg.bc_normalize:
                actor_loss = actor_loss / q_min.detach().abs().mean().clamp(min=1e-3)
            target_a = b.action.clamp(-0.999, 0.999)
            per = ((det - target_a) ** 2).sum(-1) * b.bc_mask
            bc_loss = per.sum() / b.bc_mask.sum().clamp(min=1.0)
            actor_loss = actor_loss + self.cfg.bc_weight * bc_loss
        alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()

        return critic_loss + actor_loss + alpha_loss, {
            "critic_loss": critic_loss.detach(),
            "actor_loss": actor_loss.detach(),
            "bc_loss": bc_loss.detach(),
            "alpha": alpha,
            "q": q.detach().mean(),
            "entropy": -logp.detach().mean(),
        }


def normalize(
    obs: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, clip: float
) -> torch.Tensor:
    """Raw observations -> standardised by the observation statistics, clipped to +-clip."""
    return ((obs - mean) / std).clamp(-clip, clip)


def network_inputs(
    obs: torch.Tensor,
    objects: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    clip: float,
    object_view: bool,
) -> torch.Tensor:
    """Raw observations ``(B, D)`` -> the networks' inputs: normalised, and with
    ``object_view`` (``objects`` conditioning) the object-centric view: the gripper, the
    slots of the objects ``objects (B, H)`` names in order (scene indices, -1 for none; see
    ``tasks.object_indices``), the mean of the others.

    A function of the statistics rather than of ``SAC``, so that an exported policy
    (``export.ExportedPolicy``) runs this very code on its copy of them."""
    obs = normalize(obs, mean, std, clip)
    if not object_view:
        return obs
    slots = obs[:, GRIPPER_DIM:].reshape(obs.shape[0], -1, OBJECT_DIM)
    return torch.cat([obs[:, :GRIPPER_DIM], select_objects(slots, objects)], dim=-1)


def policy_actions(
    encoder: InstructionEncoder,
    actor: Actor,
    x: torch.Tensor,
    tokens: torch.Tensor,
    deterministic: bool,
    gen: torch.Generator | None,
) -> torch.Tensor:
    """Actions for network inputs ``x (B, in)``, each row under its own instruction
    ``tokens (B, L)`` (``gen`` draws the noise; deterministic actions need none).

    ``SAC.act``'s pass, shared with the exported policy, which holds copies of the encoder
    and actor but no ``SAC``."""
    terms = actor.task_terms(encoder(tokens))
    rows = torch.arange(x.shape[0], device=x.device)
    return actor.act(x, rows, terms, deterministic, gen)


def _split_legacy_adam(
    state: dict[str, Any], table: int, sparse_group: dict[str, Any]
) -> dict[str, Any]:
    """One Adam state over (critics, encoder incl. its feature table at index ``table``,
    actor, temperature) -> the dense Adam state without the table, and a SparseAdam state
    carrying the table's moments (Adam's are dense: the same numbers)."""
    groups = copy.deepcopy(state["param_groups"])
    moved = {i: i - (i > table) for g in groups for i in g["params"] if i != table}
    for g in groups:
        g["params"] = [moved[i] for i in g["params"] if i != table]
    dense_state = {moved[i]: s for i, s in state["state"].items() if i != table}
    table_state = {}
    if table in state["state"]:
        old = state["state"][table]
        table_state[0] = {
            "step": int(old["step"]),
            "exp_avg": old["exp_avg"],
            "exp_avg_sq": old["exp_avg_sq"],
        }
    sparse_group = {**sparse_group, "lr": groups[0]["lr"], "params": [0]}
    return {
        "dense": {"state": dense_state, "param_groups": groups},
        "table": {"state": table_state, "param_groups": [sparse_group]},
    }
