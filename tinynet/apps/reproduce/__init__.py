"""``python -m tinynet reproduce``: the 10x10x10x10x4 learning-rate experiment.

setup (the network, the data, the configuration, the jobs), experiment (one
job's training and the whole run), runner (jobs one after the other or in
worker processes), records (the callbacks that record during training),
measures and summary (the numbers), sentences (the explaining sentences, each
computed from its numbers), numbers, report and report_details (REPORT.md),
tables (results.csv) and figures.
"""

from tinynet.apps.reproduce.experiment import run
from tinynet.apps.reproduce.setup import Config

__all__ = ["Config", "run"]
