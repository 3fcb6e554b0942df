"""The objects a task names: the default scene's names, and what may stand for a scene.

The language names objects by the scene's object names (colours: "the red block"); which
objects exist, their sizes and where the table is are the arena's business
(``controllers/layout.py``). A scene is given to the language as anything that names its
objects: the arena's ``SceneConfig`` or ``ObsLayout``, or the names themselves, so that
validating a spec needs no physics and no numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeAlias, runtime_checkable

DEFAULT_OBJECTS: tuple[str, ...] = ("red", "green", "blue")
"""The default scene's objects, in observation order (the arena's ``SceneConfig()``)."""


@runtime_checkable
class NamesObjects(Protocol):
    """A scene that names its objects, such as the arena's ``SceneConfig`` and ``ObsLayout``."""

    @property
    def object_names(self) -> tuple[str, ...]: ...


SceneLike: TypeAlias = NamesObjects | Iterable[str]
"""What names the scene's objects: a layout, a scene config or the names themselves."""


def object_names(scene: SceneLike) -> tuple[str, ...]:
    """The scene's object names, from a layout, a scene config or an iterable of names."""
    if isinstance(scene, NamesObjects):
        return scene.object_names
    if isinstance(scene, str):
        raise TypeError("give the object names as a list of strings, not one string")
    return tuple(scene)
