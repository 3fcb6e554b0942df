"""Each predicate on hand-built states: who holds, and progress that leads to success."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from controllers.layout import ObsLayout
from controllers.predicates import EVALUATORS
from controllers.shaping import shaped
from tasks import PREDICATES

H = 0.025  # half size of the default cubes
HELD = (1.0, 1.0)


def evaluate(
    layout: ObsLayout, pred: str, args: list[str], obs: np.ndarray, **params: Any
) -> tuple[np.ndarray, np.ndarray]:
    """(progress, success) of one atom over a batch (stacked if given a list of states)."""
    p = PREDICATES[pred]
    batch = np.stack(obs) if isinstance(obs, list) else np.atleast_2d(obs)
    progress, success = EVALUATORS[pred](layout, batch, args, p.resolve(params))
    assert progress.shape == success.shape == (batch.shape[0],)
    assert np.all((progress >= 0) & (progress <= 1))
    # The contract every predicate keeps: progress is 1 exactly where success holds.
    assert np.array_equal(progress == 1.0, success)
    return progress, success


def strictly_increasing(values: np.ndarray) -> bool:
    return bool(np.all(np.diff(values) > 0))


def test_every_predicate_from_the_design_is_registered() -> None:
    wanted = {"reach", "grasped", "lifted", "above", "on", "near", "left_of", "right_of"}
    wanted |= {"in_front_of", "behind", "on_table", "released", "in_region"}
    assert wanted <= set(PREDICATES)


def test_every_declared_predicate_has_an_evaluator_and_no_other() -> None:
    assert sorted(EVALUATORS) == sorted(PREDICATES)


def test_shaped_is_one_up_to_the_threshold_then_decays() -> None:
    d = np.array([0.0, 0.03, 0.05, 0.13])
    assert shaped(d, 0.03, 0.1).tolist() == pytest.approx([1, 1, np.exp(-0.2), np.exp(-1)])


def test_reach(layout, make_obs) -> None:
    states = [make_obs(gripper=(-0.1, 0.0, H + dz)) for dz in (0.3, 0.1, 0.05, 0.02, 0.0)]
    progress, success = evaluate(layout, "reach", ["red"], states)
    assert success.tolist() == [False, False, False, True, True]
    assert strictly_increasing(progress[:4])


def test_grasped_needs_both_pads(layout, make_obs) -> None:
    at_red = (-0.1, 0.0, H)
    states = [
        make_obs(gripper=(0.0, 0.0, 0.3)),
        make_obs(gripper=at_red),
        make_obs(gripper=at_red, contacts={"red": (1.0, 0.0)}),
        make_obs(gripper=at_red, contacts={"red": HELD}),
    ]
    progress, success = evaluate(layout, "grasped", ["red"], states)
    assert success.tolist() == [False, False, False, True]
    assert strictly_increasing(progress)
    # Holding another block is not holding red.
    _, other = evaluate(layout, "grasped", ["blue"], states[-1])
    assert not other[0]


def test_pads_pressed_on_the_top_face_are_not_a_grasp(layout, make_obs) -> None:
    # Fingers closed past each other, pads resting on the block's top: both touch it, and a
    # policy trained on lift found this and pushed down for 40k steps instead of lifting.
    on_top = make_obs(gripper=(-0.1, 0.0, 3 * H + 0.025), opening=-0.02, contacts={"red": HELD})
    # Fingers half open, pads on the top face either side of the centre.
    straddle = make_obs(gripper=(-0.1, 0.0, 3 * H + 0.025), opening=0.03, contacts={"red": HELD})
    grasp = make_obs(gripper=(-0.1, 0.0, H), opening=0.05, contacts={"red": HELD})
    for pred in ("grasped", "lifted"):
        progress, success = evaluate(layout, pred, ["red"], [on_top, straddle, grasp])
        assert success.tolist() == [False, False, pred == "grasped"]
        assert progress[0] < progress[2] and progress[1] < progress[2]
    assert layout.holding(np.stack([on_top, straddle, grasp]), "red").tolist() == [
        False,
        False,
        True,
    ]


def test_released(layout, make_obs) -> None:
    states = [
        make_obs(contacts={"red": HELD}),
        make_obs(contacts={"red": (0.0, 1.0)}),
        make_obs(),
    ]
    progress, success = evaluate(layout, "released", ["red"], states)
    assert success.tolist() == [False, False, True]
    assert strictly_increasing(progress)


def test_lifted_rewards_grasping_then_height(layout, make_obs) -> None:
    def held_at(z: float) -> np.ndarray:
        return make_obs(
            gripper=(-0.1, 0.0, z), objects={"red": (-0.1, 0.0, z)}, contacts={"red": HELD}
        )

    states = [
        make_obs(gripper=(0.1, 0.1, 0.3)),  # far away
        make_obs(gripper=(-0.1, 0.0, H)),  # at the block
        held_at(H),  # grasped on the table
        held_at(H + 0.05),  # half way
        held_at(H + 0.099),  # just short
        held_at(H + 0.1),  # bottom 10 cm above the table
    ]
    progress, success = evaluate(layout, "lifted", ["red"], states)
    assert success.tolist() == [False] * 5 + [True]
    assert strictly_increasing(progress)
    # A higher target: 10 cm is not 15 cm.
    _, success15 = evaluate(layout, "lifted", ["red"], states[-1], height=0.15)
    assert not success15[0]


def test_on_table(layout, make_obs) -> None:
    states = [
        make_obs(),
        make_obs(objects={"red": (-0.1, 0.0, H + 0.008)}),
        make_obs(objects={"red": (-0.1, 0.0, H + 0.05)}),
        make_obs(objects={"red": (0.1, 0.0, 3 * H)}),  # on blue
    ]
    _, success = evaluate(layout, "on_table", ["red"], states)
    assert success.tolist() == [True, True, False, False]


def test_on_and_above(layout, make_obs) -> None:
    blue = (0.1, 0.0)
    states = {
        "beside": make_obs(objects={"red": (0.0, 0.0)}),
        "hovering": make_obs(objects={"red": (*blue, 3 * H + 0.05)}),
        "hovering off centre": make_obs(objects={"red": (0.13, 0.0, 3 * H + 0.05)}),
        "on": make_obs(objects={"red": (*blue, 3 * H)}),
        "on, a bit off": make_obs(objects={"red": (0.11, 0.0, 3 * H + 0.005)}),
        "on, too far off": make_obs(objects={"red": (0.125, 0.0, 3 * H)}),
    }
    _, on = evaluate(layout, "on", ["red", "blue"], list(states.values()))
    _, above = evaluate(layout, "above", ["red", "blue"], list(states.values()))
    assert dict(zip(states, on.tolist(), strict=True)) == {
        "beside": False,
        "hovering": False,
        "hovering off centre": False,
        "on": True,
        "on, a bit off": True,
        "on, too far off": False,
    }
    assert dict(zip(states, above.tolist(), strict=True)) == {
        "beside": False,
        "hovering": True,
        "hovering off centre": False,  # 3 cm > the 2 cm default margin
        "on": True,  # resting on it is also above it
        "on, a bit off": True,
        "on, too far off": False,
    }
    _, wide = evaluate(layout, "above", ["red", "blue"], states["hovering off centre"], margin=0.05)
    assert wide[0]
    # Blue under red is not above red.
    _, flipped = evaluate(layout, "above", ["blue", "red"], states["on"])
    assert not flipped[0]


def test_on_progress_grows_as_the_block_is_carried_and_lowered(layout, make_obs) -> None:
    def held_at(x: float, z: float) -> np.ndarray:
        return make_obs(gripper=(x, 0.0, z), objects={"red": (x, 0.0, z)}, contacts={"red": HELD})

    path = [held_at(-0.1, 0.14), held_at(0.0, 0.14), held_at(0.1, 0.14), held_at(0.1, 0.1)]
    path.append(held_at(0.1, 3 * H))
    progress, success = evaluate(layout, "on", ["red", "blue"], path)
    assert success.tolist() == [False] * 4 + [True]
    assert strictly_increasing(progress)


def test_near(layout, make_obs) -> None:
    states = [make_obs(objects={"red": (x, 0.0)}) for x in (-0.2, -0.1, 0.02, 0.05)]
    progress, success = evaluate(layout, "near", ["red", "blue"], states)
    assert success.tolist() == [False, False, True, True]
    assert strictly_increasing(progress[:3])
    _, wide = evaluate(layout, "near", ["red", "blue"], states[1], distance=0.25)
    assert wide[0]


@pytest.mark.parametrize(
    ("pred", "a_xy", "holds"),
    [
        ("left_of", (-0.1, 0.0), True),
        ("left_of", (0.08, 0.0), False),  # only 2 cm left of blue: under the 3 cm margin
        ("left_of", (0.2, 0.0), False),
        ("right_of", (0.2, 0.0), True),
        ("right_of", (-0.1, 0.0), False),
        ("in_front_of", (0.1, -0.1), True),  # front = towards the camera = -y
        ("in_front_of", (0.1, 0.1), False),
        ("behind", (0.1, 0.1), True),
        ("behind", (0.1, -0.1), False),
    ],
)
def test_directions(layout, make_obs, pred: str, a_xy: tuple[float, float], holds: bool) -> None:
    _, success = evaluate(layout, pred, ["red", "blue"], make_obs(objects={"red": a_xy}))
    assert success[0] == holds


def test_direction_progress_and_margin(layout, make_obs) -> None:
    states = [make_obs(objects={"red": (x, 0.0)}) for x in (0.3, 0.2, 0.1, 0.08)]
    progress, success = evaluate(layout, "left_of", ["red", "blue"], states)
    assert not success.any()
    assert strictly_increasing(progress)
    _, no_margin = evaluate(layout, "left_of", ["red", "blue"], states[-1], margin=0.0)
    assert no_margin[0]


@pytest.mark.parametrize(
    ("xy", "inside"),
    [
        ((-0.2, 0.0), {"left"}),
        ((0.2, 0.0), {"right"}),
        ((0.0, -0.2), {"front"}),
        ((0.0, 0.2), {"back"}),
        ((0.0, 0.0), {"center"}),
        ((-0.2, 0.2), {"left", "back"}),
        ((0.07, 0.0), set()),  # between center and right
    ],
)
def test_in_region(layout, make_obs, xy: tuple[float, float], inside: set[str]) -> None:
    obs = make_obs(objects={"red": xy})
    holds = {
        r
        for r in ("left", "right", "front", "back", "center")
        if evaluate(layout, "in_region", ["red"], obs, region=r)[1][0]
    }
    assert holds == inside


def test_in_region_progress(layout, make_obs) -> None:
    states = [make_obs(objects={"red": (x, 0.0)}) for x in (0.2, 0.1, 0.0, -0.05, -0.09)]
    progress, success = evaluate(layout, "in_region", ["red"], states, region="left")
    assert success.tolist() == [False] * 4 + [True]
    assert strictly_increasing(progress)


def test_predicates_are_vectorised_row_by_row(layout, make_obs) -> None:
    rng = np.random.default_rng(0)
    batch = np.stack([make_obs() for _ in range(64)])
    batch[:, :] += rng.normal(0, 0.05, batch.shape).astype(np.float32)
    batch[:, 7 + 13 :: 15] = rng.integers(0, 2, (64, 3))  # left contact flags
    for name, pred in PREDICATES.items():
        args = ["red", "blue"][: pred.arity]
        params = {"region": "left"} if name == "in_region" else {}
        progress, success = evaluate(layout, name, args, batch, **params)
        one_by_one = [evaluate(layout, name, args, row, **params) for row in batch]
        assert np.allclose(progress, [p[0] for p, _ in one_by_one])
        assert success.tolist() == [s[0] for _, s in one_by_one]
