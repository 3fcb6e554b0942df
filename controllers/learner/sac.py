"""Soft actor-critic with an instruction encoder: the networks and one ``update(batch)``.

One update = one gradient step on the critics (and encoder), the actor and the entropy
temperature. All three losses are summed and back-propagated once (the actor loss sees
the critics through detached weights and the critics' inputs detached), which gives the
same gradients as three separate passes at a fraction of the overhead.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from controllers.layout import GRIPPER_DIM, OBJECT_DIM
from controllers.learner.config import LearnerConfig
from controllers.learner.networks import Actor, Critic, select_objects
from controllers.learner.text import InstructionEncoder


class Batch(NamedTuple):
    """One training batch; ``task`` indexes the rows of the token table given to update."""

    obs: torch.Tensor  # (B, obs_dim) raw observations
    action: torch.Tensor  # (B, act_dim)
    next_obs: torch.Tensor  # (B, obs_dim) the observation bootstrapped from
    reward: torch.Tensor  # (B,) relabelled for the paired task (discounted n-step sum)
    discount: torch.Tensor  # (B,) gamma ** (steps summed in reward)
    task: torch.Tensor  # (B,) int64 row of the token table
    bc_mask: torch.Tensor  # (B,) 1.0 where behaviour cloning applies


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
        self.encoder = InstructionEncoder(cfg.text_buckets, cfg.text_dim, cfg.max_tokens)
        in_dim = obs_dim
        if cfg.conditioning == "objects":
            in_dim = GRIPPER_DIM + (cfg.object_heads + 1) * OBJECT_DIM
        self.actor = Actor(in_dim, act_dim, cfg.text_dim, cfg.hidden, film)
        self.critic = Critic(in_dim, act_dim, cfg.text_dim, cfg.hidden, cfg.n_critics, film)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
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
                    "params": [*self.critic.parameters(), *self.encoder.parameters()],
                    "lr": cfg.critic_lr,
                },
                {"params": list(self.actor.parameters()), "lr": cfg.actor_lr},
                {"params": [self.log_alpha], "lr": cfg.alpha_lr},
            ],
            fused=True,  # one kernel for all parameters (CPU and CUDA)
        )
        self._online: list[torch.Tensor] = list(self.critic.parameters())
        self._target: list[torch.Tensor] = list(self.critic_target.parameters())

    def set_normalizer(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Observation statistics used by every forward pass (kept with the weights)."""
        with torch.no_grad():
            self.obs_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.obs_std.copy_(torch.as_tensor(std, dtype=torch.float32))

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        clip = self.cfg.obs_clip
        return ((obs - self.obs_mean) / self.obs_std).clamp(-clip, clip)

    def _inputs(self, obs: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Normalised observations, or with ``objects`` conditioning the object-centric view:
        the gripper, the named objects' slots in order (``w``), the mean of the others."""
        if self.cfg.conditioning != "objects":
            return obs
        slots = obs[:, GRIPPER_DIM:].reshape(obs.shape[0], -1, OBJECT_DIM)
        return torch.cat([obs[:, :GRIPPER_DIM], select_objects(slots, w)], dim=-1)

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, tokens: torch.Tensor, objects: torch.Tensor, deterministic: bool
    ) -> torch.Tensor:
        """Actions for observations ``(B, D)`` under instructions ``tokens (B, L)`` naming
        ``objects (B, H)`` (scene indices, -1 for none; see ``tasks.object_indices``)."""
        with self._autocast():
            emb = self.encoder(tokens)
            x = self._inputs(self.normalize(obs), objects)
            return self.actor.act(x, emb, deterministic, self.gen)

    def _autocast(self) -> torch.autocast:
        """Matrix products in bfloat16 when ``precision="bfloat16"`` (weights, optimiser
        state, losses and the critics' scalar heads stay float32)."""
        return torch.autocast(
            self.obs_mean.device.type,
            dtype=torch.bfloat16,
            enabled=self.cfg.precision == "bfloat16",
        )

    def update(
        self, b: Batch, tokens: torch.Tensor, objects: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """One gradient step. ``tokens`` and ``objects`` describe the tasks ``b.task`` indexes."""
        with self._autocast():
            losses, metrics = self._losses(b, tokens, objects)
        self.optimizer.zero_grad(set_to_none=True)
        losses.backward()
        self.optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(self._target, self._online, self.cfg.tau)
        return metrics

    def _losses(
        self, b: Batch, tokens: torch.Tensor, objects: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The summed critic, actor and temperature losses, and the metrics to report."""
        emb = self.encoder(tokens)[b.task]
        w = objects[b.task]
        obs = self._inputs(self.normalize(b.obs), w)
        next_obs = self._inputs(self.normalize(b.next_obs), w)
        alpha = self.log_alpha.exp().detach()
        e = emb.detach()
        with torch.no_grad():
            next_a, next_logp, _ = self.actor.sample(next_obs, e, self.gen)
            target_q = self.critic_target(next_obs, next_a, e).min(0).values
            # Relabelled tasks never end an episode: always bootstrap (time limits included).
            y = b.reward + b.discount * (target_q - alpha * next_logp)
        q = self.critic(obs, b.action, emb)
        critic_loss = 0.5 * ((q - y) ** 2).mean(1).sum()

        a, logp, det = self.actor.sample(obs, e, self.gen)
        q_pi = self.critic(obs, a, e, frozen=True).min(0).values
        actor_loss = (alpha * logp - q_pi).mean()
        bc_loss = torch.zeros((), device=obs.device)
        if self.cfg.bc_weight > 0:
            target = b.action.clamp(-0.999, 0.999)
            per = ((det - target) ** 2).sum(-1) * b.bc_mask
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
