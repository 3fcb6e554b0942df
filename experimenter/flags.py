"""A command's flag declared by the setting it sets.

A flag that sets a field of a settings model (``LoopSettings``, ``LearnerConfig``, ...) is not
declared a second time: ``flag(Owner, "name")`` gives the command the owner's field — its
bounds, its validators and its description, which is the flag's help — with the command's
own default where the command differs. The command's field keeps the owner's name (that is
how the command hands the value on) and type (``tests/experimenter/test_cli_flags.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


def flag(owner: type[BaseModel], name: str, *, default: Any = PydanticUndefined) -> Any:
    """The field ``name`` of ``owner`` as a command's flag, defaulting to ``default`` when
    given (else the owner's default). A tuple default becomes a list: a repeated flag
    (``--hidden 128 --hidden 128``) collects a list."""
    info = owner.model_fields[name]
    if default is PydanticUndefined:
        default = info.get_default(call_default_factory=True)
    if isinstance(default, tuple):
        default = list(default)
    # The owner's bounds and validators, and its description, on an annotation of any type:
    # the command's own annotation gives the type.
    annotated: Any = Annotated[Any, *info.metadata, Field(description=info.description)]
    return FieldInfo.from_annotated_attribute(annotated, default)
