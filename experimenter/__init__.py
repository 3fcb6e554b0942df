"""experimenter package."""
