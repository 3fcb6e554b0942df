"""Actor and critic ensemble, both conditioned on an instruction embedding.

The critics of the ensemble are evaluated in one batched matrix product per layer
(weights of shape ``(n, in, out)``) instead of one small network each: same arithmetic,
a fraction of the Python and kernel-launch overhead.

Conditioning (``LearnerConfig.conditioning``):
- ``concat``: the embedding is concatenated to the network input;
- ``film``: concatenated, and every hidden layer is also scaled and shifted by
  ``(1 + gamma(e), beta(e))`` computed from the embedding (FiLM, Perez et al. 2018);
- ``objects``: concatenated to an object-centric view of the observation instead of the
  flat one: the gripper, the slots of the objects the task names in order, and the mean
  of the other objects' slots (``select_objects``).
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class EnsembleLinear(nn.Module):
    """``n`` independent linear layers applied as one batched product: (n, B, in) -> (n, B, out)."""

    def __init__(self, n: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n, 1, out_features))
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's default initialisation
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, frozen: bool = False) -> torch.Tensor:
        w, b = (self.weight.detach(), self.bias.detach()) if frozen else (self.weight, self.bias)
        if w.shape[-1] == 1:
            # A critic's scalar head: a batched matrix-vector product is ~5x slower on CPU
            # than this multiply-and-sum (measured at 256 wide: 142 vs 29 us).
            return (x * w.transpose(1, 2)).sum(-1, keepdim=True) + b
        return torch.baddbmm(b, x, w)


class Film(nn.Module):
    """Per-layer scale and shift from the embedding, for ``n`` members: (B, e) -> (n, B, h) x2."""

    def __init__(self, n: int, emb_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.hidden = hidden
        self.proj = EnsembleLinear(n, emb_dim, 2 * sum(hidden))
        nn.init.zeros_(self.proj.weight)  # start as the identity modulation
        nn.init.zeros_(self.proj.bias)

    def forward(
        self, emb: torch.Tensor, n: int, frozen: bool = False
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        out = self.proj(emb.unsqueeze(0).expand(n, -1, -1), frozen)
        parts, start = [], 0
        for h in self.hidden:
            gamma, beta = out[..., start : start + h], out[..., start + h : start + 2 * h]
            parts.append((gamma, beta))
            start += 2 * h
        return parts


class TaskTerms(NamedTuple):
    """What an instruction contributes to a network, computed once per task (``T`` rows)
    instead of once per sample: its share of the first layer's product plus that layer's
    bias, and the FiLM modulations."""

    bias: torch.Tensor  # (n, T, h1)
    mods: list[tuple[torch.Tensor, torch.Tensor]]  # per hidden layer (gamma, beta), (n, T, h)

    def detach(self) -> TaskTerms:
        return TaskTerms(self.bias.detach(), [(g.detach(), b.detach()) for g, b in self.mods])


def _rows(t: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
    """Per-task rows ``(n, T, h)`` -> per-sample rows ``(n, B, h)`` (broadcast when T = 1)."""
    return t if t.shape[1] == 1 else t.index_select(1, task)


class EnsembleMLP(nn.Module):
    """``n`` MLPs on ``[x, emb]``, with optional FiLM: -> (n, B, out).

    The first layer's product is split by input rows: the instruction's part is computed
    per task (``task_terms``) and gathered, the rest per sample (``first``), so a batch
    whose rows share few tasks does not multiply the same embedding 256 times, and callers
    can share a part between passes (the critics' observation part). Same parameters and
    the same function as one product on the concatenated input.
    """

    def __init__(
        self,
        n: int,
        in_dim: int,
        hidden: tuple[int, ...],
        out_dim: int,
        emb_dim: int,
        film: bool,
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        self.n, self.in_dim, self.layer_norm = n, in_dim, layer_norm
        dims = (in_dim + emb_dim, *hidden)
        self.layers = nn.ModuleList(EnsembleLinear(n, a, b) for a, b in itertools.pairwise(dims))
        self.head = EnsembleLinear(n, dims[-1], out_dim)
        self.film = Film(n, emb_dim, hidden) if film else None

    @property
    def input_layer(self) -> EnsembleLinear:
        layer = self.layers[0]
        assert isinstance(layer, EnsembleLinear)
        return layer

    def task_terms(self, emb: torch.Tensor) -> TaskTerms:
        """Instruction embeddings ``(T, e)`` -> their share of the network, per task."""
        first = self.input_layer
        e = emb.unsqueeze(0).expand(self.n, -1, -1)
        bias = torch.baddbmm(first.bias, e, first.weight[:, self.in_dim :])
        mods = self.film(emb, self.n) if self.film is not None else []
        return TaskTerms(bias, mods)

    def first(self, x: torch.Tensor, start: int, stop: int, frozen: bool = False) -> torch.Tensor:
        """The first layer's product of ``x (B, stop - start)`` with its input rows
        ``start:stop`` -> (n, B, h1)."""
        w = self.input_layer.weight[:, start:stop]
        w = w.detach() if frozen else w
        return torch.bmm(x.unsqueeze(0).expand(self.n, -1, -1), w)

    def rest(
        self, pre: torch.Tensor, task: torch.Tensor, terms: TaskTerms, frozen: bool = False
    ) -> torch.Tensor:
        """From the first layer's per-sample products ``pre (n, B, h1)``, with each sample's
        task ``task (B,)`` indexing the rows of ``terms``, to the output ``(n, B, out)``."""
        h = pre + _rows(terms.bias, task)
        for i, layer in enumerate(self.layers):
            if i > 0:
                h = layer(h, frozen)
            if terms.mods:
                gamma, beta = terms.mods[i]
                h = torch.addcmul(h + _rows(beta, task), h, _rows(gamma, task))
            if self.layer_norm:
                h = F.layer_norm(h, h.shape[-1:])
            h = F.relu(h)
        return self.head(h, frozen)


def select_objects(slots: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Object slots ``(B, K, d)`` and the named objects' indices ``(B, H)`` (-1: none) ->
    the named objects' slots in order and the mean slot of the others, ``(B, (H + 1) * d)``.

    ``objects`` conditioning: ``idx[:, h]`` is the ``h``-th object the task names
    (``controllers.learner.tasks.object_indices``), so "reach the red block" and "reach the
    green block" see their block at the same place of the input and share what they learn,
    instead of each learning to pick its block out of every object's features. (A learned
    softmax attention from the instruction over the objects' names found the right objects
    within 4k env steps but kept 5-20 % of the others mixed in, a few centimetres of error
    in the target's position.) A gather, not a product with one-hot rows: at 64 wide the
    batched products cost 0.7 ms of a 4 ms update.
    """
    named = (idx >= 0).unsqueeze(-1)  # (B, H, 1)
    picked = torch.gather(slots, 1, idx.clamp(min=0).unsqueeze(-1).expand(-1, -1, slots.shape[2]))
    picked = picked * named
    n_others = (slots.shape[1] - named.sum(1)).clamp(min=1)  # (B, 1); names are distinct
    others = (slots.sum(1) - picked.sum(1)) / n_others
    return torch.cat([picked.flatten(1), others], dim=-1)


class Critic(nn.Module):
    """Q-ensemble on (observation, action, instruction) -> (n_critics, B).

    A call takes the observation's part of the first layer (``obs_term``) so that the
    critics' pass on the replayed actions and the actor loss's pass on the policy's actions
    share it; ``frozen`` uses detached weights (the actor loss: gradients reach the action).
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        emb_dim: int,
        hidden: tuple[int, ...],
        n: int,
        film: bool,
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.net = EnsembleMLP(n, obs_dim + act_dim, hidden, 1, emb_dim, film, layer_norm)

    def task_terms(self, emb: torch.Tensor) -> TaskTerms:
        return self.net.task_terms(emb)

    def obs_term(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net.first(obs, 0, self.obs_dim)

    def forward(
        self,
        obs_term: torch.Tensor,
        act: torch.Tensor,
        task: torch.Tensor,
        terms: TaskTerms,
        frozen: bool = False,
    ) -> torch.Tensor:
        pre = obs_term + self.net.first(act, self.obs_dim, self.obs_dim + self.act_dim, frozen)
        return self.net.rest(pre, task, terms, frozen).squeeze(-1)


class Actor(nn.Module):
    """Tanh-Gaussian policy: (obs, instruction) -> action in (-1, 1)^act_dim and log-prob."""

    def __init__(
        self, obs_dim: int, act_dim: int, emb_dim: int, hidden: tuple[int, ...], film: bool
    ) -> None:
        super().__init__()
        self.obs_dim = obs_dim
        self.net = EnsembleMLP(1, obs_dim, hidden, 2 * act_dim, emb_dim, film)

    def task_terms(self, emb: torch.Tensor) -> TaskTerms:
        return self.net.task_terms(emb)

    def distribution(
        self, obs: torch.Tensor, task: torch.Tensor, terms: TaskTerms
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pre = self.net.first(obs, 0, self.obs_dim)
        out = self.net.rest(pre, task, terms)[0].float()  # bf16 under autocast
        mean, log_std = out.chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(
        self, obs: torch.Tensor, task: torch.Tensor, terms: TaskTerms, noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reparameterised sample with standard normal ``noise (B, act_dim)``: (action,
        log-prob, deterministic action)."""
        mean, log_std = self.distribution(obs, task, terms)
        std = log_std.exp()
        u = torch.addcmul(mean, std, noise)
        a = torch.tanh(u)
        # log N(u; mean, std) - sum log(1 - tanh(u)^2), the latter in a stable form; (u -
        # mean) / std is the noise itself.
        logp = (-0.5 * noise**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        logp = logp - (2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))).sum(-1)
        return a, logp, torch.tanh(mean)

    def act(
        self,
        obs: torch.Tensor,
        task: torch.Tensor,
        terms: TaskTerms,
        deterministic: bool,
        gen: torch.Generator | None,
    ) -> torch.Tensor:
        """Actions: ``tanh`` of the mean when ``deterministic``, else sampled with noise
        drawn from ``gen`` (the learner's own, for reproducible collection)."""
        mean, log_std = self.distribution(obs, task, terms)
        if deterministic:
            return torch.tanh(mean)
        if gen is None:
            raise ValueError("sampled actions need a generator for their noise; got None")
        noise = torch.randn(mean.shape, generator=gen, device=mean.device, dtype=mean.dtype)
        return torch.tanh(mean + log_std.exp() * noise)
