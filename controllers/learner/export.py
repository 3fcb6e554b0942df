"""A learned policy for one instruction as a self-contained ``torch.export`` file.

The file holds the learner's deterministic policy under one instruction (the averaged actor
when it has one, as ``Learner.act(..., deterministic=True)`` uses it), with the instruction
encoder, the instruction's feature ids and named objects, and the observation statistics:
loading it needs torch alone, no experimenter, database or checkpoint::

    import json, torch
    files = {"metadata.json": ""}
    policy = torch.export.load("reach.pt2", extra_files=files).module()
    meta = json.loads(files["metadata.json"])
    action = policy(torch.as_tensor(obs, dtype=torch.float32)[None])[0]

``policy(obs (N, dim)) -> actions (N, action_dim)``, for any N: the program ``SAC.act``
runs, traced from the learner's own code (``ExportedPolicy``), so its actions equal the
learner's bit for bit on the CPU.

The metadata (``metadata.json`` in the file's extra files) says what the policy acts in:
the instruction, the environment id and its scene, the observation's layout (a name per
entry) and the action size. ``load_exported`` reads both back.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from controllers.arena import ACTION_DIM
from controllers.env import ENV_ID
from controllers.layout import ObjectConfig, ObsLayout, SceneConfig
from controllers.learner.files import atomic_write
from controllers.learner.learner import Learner
from controllers.learner.sac import network_inputs, policy_actions

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
    """``SAC.act(obs, tokens, objects, deterministic=True)`` under one instruction: raw
    observations ``(N, dim)`` -> actions ``(N, action_dim)`` in (-1, 1).

    Holds copies (the learner may go on training) of what that call reads: the encoder,
    the actor deterministic actions come from, the observation statistics as
    ``Learner.act`` hands them to the agent, the instruction's feature ids and named
    objects; and runs ``SAC``'s own functions on them, so it changes when they do."""

    if TYPE_CHECKING:  # the buffers, for mypy
        tokens: torch.Tensor
        objects: torch.Tensor
        obs_mean: torch.Tensor
        obs_std: torch.Tensor

    def __init__(self, learner: Learner, task: int) -> None:
        super().__init__()
        if learner.cfg.precision != "float32":
            # SAC.act multiplies in bfloat16 under autocast; the exported program does not.
            raise ValueError(
                f"only float32 policies can be exported; this learner acts in "
                f"{learner.cfg.precision}"
            )
        learner.sync_normalizer()  # what Learner.act does before every SAC.act
        agent = learner.agent
        actor = agent.acting_actor(deterministic=True)
        self.encoder = copy.deepcopy(agent.encoder).cpu().requires_grad_(False)
        self.actor = copy.deepcopy(actor).cpu().requires_grad_(False)
        self.clip = float(agent.cfg.obs_clip)
        self.object_view = agent.object_view
        tokens, objects = learner.task_inputs([task])
        for name, t in (
            ("tokens", tokens), ("objects", objects),
            ("obs_mean", agent.obs_mean), ("obs_std", agent.obs_std),
        ):  # fmt: skip
            self.register_buffer(name, t.detach().clone().cpu())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        # One row of the instruction per observation, as Learner.act passes them. (Traced,
        # sizes count as >= 2, so networks._rows gathers where one row would broadcast:
        # the same numbers.)
        n = obs.shape[0]
        objects, tokens = self.objects.expand(n, -1), self.tokens.expand(n, -1)
        x = network_inputs(obs, objects, self.obs_mean, self.obs_std, self.clip, self.object_view)
        return policy_actions(self.encoder, self.actor, x, tokens, deterministic=True, gen=None)


def export_program(learner: Learner, task: int) -> torch.export.ExportedProgram:
    """The learner's deterministic policy for ``task`` (its id) as a program of torch
    operations, for any number of observations."""
    if not 0 <= task < len(learner.tasks.tasks):
        raise ValueError(f"the learner has no task {task} ({len(learner.tasks.tasks)} tasks)")
    module = ExportedPolicy(learner, task)
    # Traced on placeholder values; only the shape matters, its first entry left free.
    example = torch.zeros(2, learner.layout.dim)
    with torch.no_grad():  # as SAC.act runs
        return torch.export.export(
            module, (example,), dynamic_shapes={"obs": {0: torch.export.Dim("batch")}}
        )


def metadata(learner: Learner, task: int) -> dict[str, Any]:
    """What the exported policy acts in (stored with it as ``metadata.json``)."""
    spec = learner.tasks.tasks[task].spec
    return {
        "format": FORMAT,
        # torch.export files are not promised to load in other torch versions.
        "torch_version": torch.__version__,
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


def export_policy(
    learner: Learner, task: int, path: str | Path, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``task``'s deterministic policy and its metadata (plus ``extra``) to ``path``
    (atomically; ``.pt2`` is torch's name for such files); returns the path."""
    path = Path(path)
    program = export_program(learner, task)
    meta = {**metadata(learner, task), **(extra or {})}
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={METADATA_FILE: json.dumps(meta)})
    atomic_write(path, lambda f: f.write(buffer.getbuffer()))
    return path


def load_exported(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """An exported policy (a module on the CPU: observations -> actions) and its metadata."""
    files = {METADATA_FILE: ""}
    program = torch.export.load(path, extra_files=files)
    return program.module(), json.loads(files[METADATA_FILE])


def scene_of(meta: dict[str, Any]) -> SceneConfig:
    """The scene an exported policy was trained in, from its metadata."""
    scene = dict(meta["scene"])
    objects = tuple(
        ObjectConfig(**{**o, "rgba": tuple(o["rgba"]) if o.get("rgba") else None})
        for o in scene.pop("objects")
    )
    return SceneConfig(objects=objects, **scene)
