"""``python -m tinynet reproduce``: the 10x10x10x10x4 learning-rate experiment.

setup (the network, the data, the configuration), experiment (the training and
the whole run), summary (the numbers), figures and report (the outputs).
"""

from tinynet.apps.reproduce.experiment import run
from tinynet.apps.reproduce.setup import Config

__all__ = ["Config", "run"]
