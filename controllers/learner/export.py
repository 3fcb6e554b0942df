"""A learned policy for one instruction as a self-contained TorchScript file.

The file holds the deterministic actor of a learner (the averaged actor when it has one,
as ``Learner.act(..., deterministic=True)`` uses it), the instruction encoder and the
instruction's feature ids and object indices, and the observation normaliser: loading it
needs torch alone, no experimenter, database or checkpoint::

    import json, torch
    files = {"metadata.json": ""}
    policy = torch.jit.load("reach.pt", _extra_files=files)
    meta = json.loads(files["metadata.json"])
    action = policy(torch.as_tensor(obs, dtype=torch.float32)[None])[0]

``forward(obs (N, dim)) -> actions (N, action_dim)`` performs the operations of
``SAC.act`` in the same order on the same shapes (the instruction repeated for every row),
so its actions equal the learner's bit for bit on the same device.

The metadata (``metadata.json`` in the file's extra files) says what the policy acts in:
the instruction, the environment id and its scene, the observation's layout (a name per
entry) and the action size. ``load_exported`` reads both back.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from controllers.arena import ACTION_DIM
from controllers.env import ENV_ID
from controllers.layout import GRIPPER_DIM, OBJECT_DIM, ObjectConfig, ObsLayout, SceneConfig
from controllers.learner.files import atomic_write
from controllers.learner.learner import Learner
from controllers.learner.networks import Actor, EnsembleLinear

METADATA_FILE = "metadata.json"
FORMAT = 1
"""Version of the exported file's layout (``metadata["format"]``)."""

_OBJECT_FIELDS = (
    ("pos", ("x", "y", "z")),
    ("quat", ("w", "x", "y", "z")),
    ("vel", ("x", "y", "z")),
    ("rel", ("x", "y", "z")),
    ("touch", ("left", "right")),
)


def observation_names(layout: ObsLayout) -> list[str]:
    """A name for every entry of the observation vector (``controllers.layout``'s table)."""
    names = [f"gripper_pos_{a}" for a in "xyz"]
    names += [f"gripper_vel_{a}" for a in "xyz"]
    names.append("gripper_opening")
    for obj in layout.object_names:
        for part, axes in _OBJECT_FIELDS:
            names += [f"{obj}_{part}_{a}" for a in axes]
    assert len(names) == layout.dim
    return names


class ExportedPolicy(nn.Module):
    """One instruction's deterministic policy: raw observations -> actions in (-1, 1).

    Built from a learner's networks (copied, so the learner may go on training); the
    instruction's feature ids and object indices are buffers. Scriptable."""

    if TYPE_CHECKING:  # the buffers, for mypy (TorchScript cannot read these annotations)
        tokens: torch.Tensor
        objects: torch.Tensor
        obs_mean: torch.Tensor
        obs_std: torch.Tensor
        first_weight: torch.Tensor
        first_bias: torch.Tensor
        film_weight: torch.Tensor
        film_bias: torch.Tensor

    def __init__(self, learner: Learner, task: int) -> None:
        super().__init__()
        cfg = learner.cfg
        if cfg.precision != "float32":
            raise ValueError(
                f"only float32 policies can be exported; this learner acts in {cfg.precision}"
            )
        agent = learner.agent
        actor: Actor = agent.actor_avg if agent.actor_avg is not None else agent.actor
        net = actor.net
        self.obs_dim = learner.layout.dim
        self.in_dim = actor.obs_dim
        self.act_dim = ACTION_DIM
        self.buckets = agent.encoder.buckets
        self.clip = float(cfg.obs_clip)
        self.objects_view = cfg.conditioning == "objects"
        self.gripper_dim = GRIPPER_DIM
        self.object_dim = OBJECT_DIM
        self.hidden = [int(h) for h in cfg.hidden]

        def buffer(name: str, t: torch.Tensor) -> None:
            self.register_buffer(name, t.detach().clone().cpu())

        buffer("tokens", learner._tokens[task : task + 1])
        buffer("objects", learner._objects[task : task + 1])
        buffer("obs_mean", torch.as_tensor(learner.normalizer.mean, dtype=torch.float32))
        buffer("obs_std", torch.as_tensor(learner.normalizer.std(), dtype=torch.float32))
        self.bag = copy.deepcopy(agent.encoder.bag).cpu().requires_grad_(False)
        self.encoder_out = copy.deepcopy(agent.encoder.out).cpu().requires_grad_(False)

        def weights(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
            assert isinstance(layer, EnsembleLinear)
            return layer.weight.detach().clone().cpu(), layer.bias.detach().clone().cpu()

        w, b = weights(net.layers[0])
        buffer("first_weight", w)
        buffer("first_bias", b)
        # The hidden layers after the first, then the head.
        self.layers = nn.ModuleList(_Linear(*weights(layer)) for layer in list(net.layers)[1:])
        self.head = _Linear(*weights(net.head))
        self.film = net.film is not None
        if net.film is not None:
            w, b = weights(net.film.proj)
        else:
            w, b = torch.zeros(0), torch.zeros(0)
        buffer("film_weight", w)
        buffer("film_bias", b)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.dim() != 2 or obs.size(1) != self.obs_dim:
            raise ValueError(
                "observations must have shape (N, " + str(self.obs_dim) + "), got "
                + str(list(obs.shape))
            )  # fmt: skip
        obs = obs.to(torch.float32)
        n = obs.size(0)
        # The instruction's embedding, one row per observation (as Learner.act gathers it).
        tokens = self.tokens.repeat(n, 1)
        emb = self.encoder_out(self.bag(torch.where(tokens < 0, self.buckets, tokens)))
        e = emb.unsqueeze(0).expand(1, -1, -1)
        bias = torch.baddbmm(self.first_bias, e, self.first_weight[:, self.in_dim :])
        mods: list[torch.Tensor] = []
        if self.film:
            mods = [torch.baddbmm(self.film_bias, e, self.film_weight)]
        # The network's input: normalised, the object-centric view when conditioned so.
        x = ((obs - self.obs_mean) / self.obs_std).clamp(-self.clip, self.clip)
        if self.objects_view:
            x = self._object_view(x, self.objects.repeat(n, 1))
        pre = torch.bmm(x.unsqueeze(0).expand(1, -1, -1), self.first_weight[:, 0 : self.in_dim])
        h = self._hidden(pre + bias, 0, mods)
        i = 1
        for layer in self.layers:
            h = self._hidden(layer(h), i, mods)
            i += 1
        out = self.head(h)[0].float()
        mean = out[:, : self.act_dim]
        return torch.tanh(mean)

    def _hidden(self, h: torch.Tensor, i: int, mods: list[torch.Tensor]) -> torch.Tensor:
        """Hidden layer ``i``'s pre-activation -> its output (FiLM, then ReLU)."""
        if self.film:
            start = 2 * sum(self.hidden[:i])
            size = self.hidden[i]
            gamma = mods[0][..., start : start + size]
            beta = mods[0][..., start + size : start + 2 * size]
            h = torch.addcmul(h + beta, h, gamma)
        return torch.relu(h)

    def _object_view(self, obs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """``SAC.inputs``' object-centric view (``networks.select_objects``)."""
        slots = obs[:, self.gripper_dim :].reshape(obs.shape[0], -1, self.object_dim)
        named = (idx >= 0).unsqueeze(-1)
        picked = torch.gather(
            slots, 1, idx.clamp(min=0).unsqueeze(-1).expand(-1, -1, slots.shape[2])
        )
        picked = picked * named
        n_others = (slots.shape[1] - named.sum(1)).clamp(min=1)
        others = (slots.sum(1) - picked.sum(1)) / n_others
        view = torch.cat([picked.flatten(1), others], dim=-1)
        return torch.cat([obs[:, : self.gripper_dim], view], dim=-1)


class _Linear(nn.Module):
    """One member's ``EnsembleLinear`` (weights ``(1, in, out)``): (1, B, in) -> (1, B, out)."""

    if TYPE_CHECKING:
        weight: torch.Tensor
        bias: torch.Tensor

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


def metadata(learner: Learner, task: int) -> dict[str, Any]:
    """What the exported policy acts in (stored with it as ``metadata.json``)."""
    spec = learner.tasks.tasks[task].spec
    return {
        "format": FORMAT,
        "instruction": learner.instruction(task),
        "task": spec.model_dump(mode="json", exclude_none=True),
        "env_id": ENV_ID,
        "scene": dataclasses.asdict(learner.scene),
        "episode_steps": learner.cfg.episode_steps,
        "observation_dim": learner.layout.dim,
        "observation_names": observation_names(learner.layout),
        "action_dim": ACTION_DIM,
        "env_steps": learner.env_steps,
        "updates": learner.updates,
        "deterministic": True,
        "averaged_actor": learner.agent.actor_avg is not None,
    }


def script_policy(learner: Learner, task: int) -> torch.jit.ScriptModule:
    """The learner's deterministic policy for ``task`` (its id) as a TorchScript module."""
    if not 0 <= task < len(learner.tasks.tasks):
        raise ValueError(f"the learner has no task {task} ({len(learner.tasks.tasks)} tasks)")
    module = ExportedPolicy(learner, task).eval()
    with warnings.catch_warnings():
        # TorchScript is deprecated in favour of torch.export, whose files need more than
        # torch to run (AOTInductor); a scripted module is still one file torch loads.
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(module)
    assert isinstance(scripted, torch.jit.ScriptModule)
    return scripted


def export_policy(
    learner: Learner, task: int, path: str | Path, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``task``'s deterministic policy and its metadata (plus ``extra``) to ``path``
    (atomically); returns the path."""
    path = Path(path)
    scripted = script_policy(learner, task)
    meta = {**metadata(learner, task), **(extra or {})}
    tmp = path.with_name(path.name + ".export")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.save(scripted, str(tmp), _extra_files={METADATA_FILE: json.dumps(meta)})
        data = tmp.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    atomic_write(path, lambda f: f.write(data))
    return path


def load_exported(path: str | Path) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """An exported policy (on the CPU) and its metadata."""
    files = {METADATA_FILE: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=files)
    return module, json.loads(files[METADATA_FILE])


def scene_of(meta: dict[str, Any]) -> SceneConfig:
    """The scene an exported policy was trained in, from its metadata."""
    scene = dict(meta["scene"])
    objects = tuple(
        ObjectConfig(**{**o, "rgba": tuple(o["rgba"]) if o.get("rgba") else None})
        for o in scene.pop("objects")
    )
    return SceneConfig(objects=objects, **scene)
