"""The ``experimenter`` command line, generated from typed settings (pydantic-settings).

Each subcommand is a pydantic model: its fields are the flags, their descriptions the help.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, CliApp, CliSubCommand, SettingsConfigDict

from experimenter.config import Settings

log = logging.getLogger("experimenter")


class Demo(BaseModel):
    """Stack the red block on the blue block with the scripted primitives; save a video."""

    episodes: int = Field(20, ge=1, description="Episodes (random starts) to run.")
    seed: int = Field(0, description="Seed of the first episode; episode i uses seed + i.")
    blocks: int = Field(3, ge=2, le=6, description="Cubes on the table (red, green, blue, ...).")
    out: Path | None = Field(None, description="Output folder (default: <data dir>/demo).")
    video: bool = Field(True, description="Render the first episode to a GIF and a filmstrip.")

    def cli_cmd(self) -> None:
        from experimenter.demo import run_demo  # MuJoCo only for commands that need it

        out = self.out or Settings().home / "demo"
        report = run_demo(
            episodes=self.episodes,
            seed=self.seed,
            blocks=self.blocks,
            out_dir=out,
            video=self.video,
        )
        print(
            f"stacked red on blue in {report.successes}/{report.episodes} episodes "
            f"({report.success_rate:.0%}), {report.mean_steps:.0f} control steps on average, "
            f"{report.seconds:.1f} s"
        )
        if report.video:
            print(f"video: {report.video}\nfilmstrip: {report.filmstrip}")


class Main(
    BaseSettings,
    cli_prog_name="experimenter",
    cli_kebab_case=True,
    cli_implicit_flags=True,
):
    """experimenter: an autonomous RL experimenter in a MuJoCo block arena."""

    model_config = SettingsConfigDict(extra="ignore")

    demo: CliSubCommand[Demo]

    def cli_cmd(self) -> None:
        CliApp.run_subcommand(self)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    logging.basicConfig(
        level=Settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("OpenGL").setLevel(logging.WARNING)
    args = sys.argv[1:] if argv is None else argv
    try:
        CliApp.run(Main, cli_args=args)
    except ValidationError as e:
        for err in e.errors():
            where = ".".join(str(x) for x in err["loc"])
            print(
                f"experimenter: {where}: {err['msg']} (got {err.get('input')!r})", file=sys.stderr
            )
        return 2
    except ValueError as e:
        print(f"experimenter: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
