"""The loop assembled: nodes, edges and routers, compiled with a checkpointer.

monitor -> analyze -> [propose -> decompose -> (review)] -> plan -> collect -> train
        -> evaluate -> monitor ...            (finish on a budget, the goal, or nothing left)
"""

from __future__ import annotations

from functools import partial
from typing import Any, cast

from langgraph.graph import END, START, StateGraph

from experimenter.graph import routers
from experimenter.graph.context import Context
from experimenter.graph.nodes import bind
from experimenter.graph.state import LoopState


def build_graph(ctx: Context, checkpointer: Any = None) -> Any:
    """The compiled loop for ``ctx``'s experiment (``thread_id`` = the experiment)."""
    g = StateGraph(LoopState)
    for name, node in bind(ctx).items():
        g.add_node(name, cast(Any, node))  # LangGraph's protocols name the argument
    # Every iteration starts by opening its iteration row and looking at the numbers.
    g.add_edge(START, "monitor")
    g.add_edge("monitor", "analyze")
    # Judge first; stop, grow the curriculum while training slots are free, or just train.
    g.add_conditional_edges("analyze", partial(routers.after_analyze, ctx))
    # Nothing acceptable proposed: train what is already training.
    g.add_conditional_edges("propose", partial(routers.after_propose, ctx))
    # A person looks at decomposed proposals only in review mode.
    g.add_conditional_edges("decompose", partial(routers.after_decompose, ctx))
    g.add_edge("review", "plan")
    # An empty plan means the curriculum is exhausted.
    g.add_conditional_edges("plan", partial(routers.after_plan, ctx))
    # The learning half of the iteration, each step checkpointing the learner.
    g.add_edge("collect", "train")
    g.add_edge("train", "evaluate")
    # Loop until a budget is spent or the goal is learned.
    g.add_conditional_edges("evaluate", partial(routers.after_evaluate, ctx))
    g.add_edge("finish", END)
    return g.compile(checkpointer=checkpointer)


def thread_config(experiment_id: int) -> dict[str, Any]:
    """The checkpointer's key for an experiment."""
    return {"configurable": {"thread_id": f"experiment-{experiment_id}"}, "recursion_limit": 10**9}
