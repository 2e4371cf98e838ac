"""Each run's probabilities at its selected and last epoch, and temperatures.

While the comparison study (:mod:`lossjax.studies.compare`) trains a group,
:class:`SelectedEpochs` keeps every run's validation and test class
probabilities at its best validation epoch (the first, as
:func:`lossjax.studies.compare.summarize` selects it) and at the last, then
fits each run's temperature on validation at both
(:func:`lossjax.calibration.scaled_metrics`): the rows of
``temperature.jsonl`` and the arrays of ``test_probabilities.npz``.
"""

import functools
import math
from collections.abc import Sequence

import jax
import numpy as np

from lossjax import calibration, classify, results
from lossjax.mlp import mlp_logits


@functools.partial(jax.jit, static_argnums=(0, 1))
def _probabilities(pairing, hidden_activation, params, x):
  """Every run's class probabilities on ``x``: ``(runs, n, classes)``."""

  def one(p):
    logits = mlp_logits(p, x, activation=hidden_activation)
    return pairing.class_probabilities(logits)

  return jax.vmap(one)(params)


class SelectedEpochs:
  """Each run's validation and test probabilities at its best validation
  epoch and at the last (one group; see the module docstring)."""

  def __init__(
    self,
    group: classify.GroupConfig,
    runs: Sequence[classify.RunConfig],
    data: classify.DeviceData,
  ):
    self.group = group
    self.val = data.eval["validation"]
    self.test = data.eval["test"]
    self.best_accuracy: dict[int, float] = {}
    self.kept: dict[str, dict[int, tuple]] = {"selected": {}, "last": {}}
    index = np.array([group.pairing_index(r) for r in runs])
    self.members = {
      k: np.flatnonzero(index == k) for k in dict.fromkeys(index.tolist())
    }

  def _probabilities(self, params, x, wanted) -> dict[int, np.ndarray]:
    """The class probabilities on ``x`` of the runs ``wanted``, computed for
    every run of each pairing concerned (one compiled shape per pairing)."""
    out = {}
    for k, members in self.members.items():
      if not set(members.tolist()) & wanted:
        continue
      subset = jax.tree.map(lambda v, m=members: v[m], params)
      values = np.asarray(
        _probabilities(
          self.group.pairings[k], self.group.hidden_activation, subset, x
        )
      )
      out.update(zip(members.tolist(), values, strict=True))
    return out

  def update(self, rows: Sequence[dict], params) -> None:
    epoch = rows[0]["epoch"]
    if epoch == 0:
      return
    improved = [
      i
      for i, r in enumerate(rows)
      if r["val_accuracy"] is not None
      and r["val_accuracy"] > self.best_accuracy.get(i, -math.inf)
    ]
    last = epoch == self.group.epochs
    if not improved and not last:
      return
    wanted = set(range(len(rows))) if last else set(improved)
    val = self._probabilities(params, self.val[0], wanted)
    test = self._probabilities(params, self.test[0], wanted)
    for i in improved:
      self.best_accuracy[i] = rows[i]["val_accuracy"]
      self.kept["selected"][i] = (epoch, val[i], test[i])
    if last:
      self.kept["last"] = {
        i: (epoch, val[i], test[i]) for i in range(len(rows))
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

  def update(self, rows, params) -> None:
    del rows, params

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
