"""The experimenter's loop as a LangGraph ``StateGraph`` (see DESIGN.md, "The loop").

``state`` holds what is checkpointed, ``settings`` what a run is configured with,
``context`` the live objects the nodes use (database, planner, learner, executor),
``nodes`` the steps, ``routers`` the branches and ``graph`` the assembly. ``roster`` says
which skills train and which the loop may call on; ``recipes`` how a skill is executed for
data. Importing this package is light; the nodes load torch and MuJoCo only when they run.
"""
