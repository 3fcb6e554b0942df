"""Datasets for other learners: an experiment's collected episodes as NumPy arrays that load
without this project (``experimenter dataset export``; the layout: README.md, "Datasets").

``placement`` finds each episode's transitions in the learner's replay, ``replay_copy``
reads that replay while a daemon may save it, ``export`` computes the rewards and
assembles the arrays and their description, ``files`` writes the folder atomically.
"""

from experimenter.dataset.export import ARRAYS, ExportReport, export_dataset
from experimenter.dataset.files import FORMAT, FORMAT_VERSION
from experimenter.dataset.placement import SOURCES, DatasetError

__all__ = [
    "ARRAYS",
    "FORMAT",
    "FORMAT_VERSION",
    "SOURCES",
    "DatasetError",
    "ExportReport",
    "export_dataset",
]
