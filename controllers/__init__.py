"""The world and its language: MuJoCo block arena, task language, primitives, learner.

Importing this package stays light (no MuJoCo, no torch): it only registers the Gymnasium
id ``experimenter/Blocks-v0`` by name, so that ``gymnasium.make`` finds it after
``import controllers`` (or as ``gymnasium.make("controllers:experimenter/Blocks-v0")``).
"""

import gymnasium

ENV_ID = "experimenter/Blocks-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="controllers.env:BlocksEnv")
