"""Each run's probabilities at its selected and last epoch, and temperatures.

While the comparison study (:mod:`lossjax.studies.compare`) trains a group,
:class:`SelectedEpochs` keeps every run's validation and test class
probabilities at its best validation epoch (the first, as
:func:`lossjax.studies.compare_summary.summarize` selects it) and at the last, then
fits each run's temperature on validation at both
(:func:`lossjax.metrics.calibration.scaled_metrics`): the rows of
``temperature.jsonl`` and the arrays of ``test_probabilities.npz``.
"""

import math
from collections.abc import Sequence

from lossjax.metrics import calibration
from lossjax.output import results
from lossjax.training import classify

# The splits whose probabilities the comparison keeps (train_group's
# ``probabilities=``).
SPLITS = ("validation", "test")


class SelectedEpochs:
  """Each run's validation and test probabilities at its best validation
  epoch and at the last (one group; see the module docstring). Feed it each
  epoch of :func:`lossjax.training.classify.train_group` run with
  ``probabilities=SPLITS``."""

  def __init__(self, group: classify.GroupConfig, data: classify.DeviceData):
    self.group = group
    self.val = data.eval["validation"]
    self.test = data.eval["test"]
    self.best_accuracy: dict[int, float] = {}
    self.kept: dict[str, dict[int, tuple]] = {"selected": {}, "last": {}}

  def update(self, epoch: classify.GroupEpoch) -> None:
    rows = epoch.rows
    number = rows[0]["epoch"]
    if number == 0:
      return
    improved = [
      i
      for i, r in enumerate(rows)
      if r["val_accuracy"] is not None
      and r["val_accuracy"] > self.best_accuracy.get(i, -math.inf)
    ]
    last = number == self.group.epochs
    if not improved and not last:
      return
    wanted = set(range(len(rows))) if last else set(improved)
    val = epoch.probabilities.of("validation", wanted)
    test = epoch.probabilities.of("test", wanted)
    for i in improved:
      self.best_accuracy[i] = rows[i]["val_accuracy"]
      self.kept["selected"][i] = (number, val[i], test[i])
    if last:
      self.kept["last"] = {
        i: (number, val[i], test[i]) for i in range(len(rows))
      }

  def scaled_rows(self, runs: Sequence[classify.RunConfig]) -> list[dict]:
    """Temperature (fitted on validation) and test metrics after it."""
    rows = []
    for at, kept in self.kept.items():
      for i, (epoch, val, test) in sorted(kept.items()):
        metrics = calibration.scaled_metrics(
          (val, self.val[1]), (test, self.test[1])
        )
        rows.append(
          results.json_safe(
            {
              **run_key(self.group, runs[i]),
              "at": at,
              "epoch": epoch,
              **{
                k if k == "temperature" else f"test_{k}": float(v)
                for k, v in metrics.items()
              },
            }
          )
        )
    return rows

  def selected_test(self, runs: Sequence[classify.RunConfig]) -> dict:
    return {
      probability_key(run_key(self.group, runs[i])): (epoch, test)
      for i, (epoch, _, test) in self.kept["selected"].items()
    }


class NoTracker:
  """:class:`SelectedEpochs` for data without class labels (multi-label)."""

  def update(self, epoch) -> None:
    del epoch

  def scaled_rows(self, runs) -> list[dict]:
    del runs
    return []

  def selected_test(self, runs) -> dict:
    del runs
    return {}


def run_key(group: classify.GroupConfig, run: classify.RunConfig) -> dict:
  return {
    "pairing": group.pairing_of(run).name,
    "hidden": list(group.hidden),
    "lr": run.lr,
    "seed": run.seed,
  }


def probability_key(row: dict) -> tuple:
  return (row["pairing"], tuple(row["hidden"]), row["lr"], row["seed"])
