"""The arena and what acts in it: MuJoCo block arena, predicate evaluators, primitives, learner.

Importing this package loads nothing else (neither Gymnasium, NumPy, MuJoCo nor torch); the
task language the arena evaluates is its own package, ``tasks``. ``controllers.env`` registers
the Gymnasium id ``experimenter/Blocks-v0`` when it is imported. Gymnasium 1.0 dropped the
plugin entry points that once registered ids on ``import gymnasium``, so a fresh interpreter
names the module in the id instead: ``gymnasium.make("controllers.env:experimenter/Blocks-v0")``.
"""
