"""Prompt templates, one file per message, rendered by ``experimenter.planner.prompts``."""
