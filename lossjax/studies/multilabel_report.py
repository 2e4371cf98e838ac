"""A comparison on multi-label data: its summary fields, table and figure.

The comparison study (:mod:`lossjax.studies.compare`) trains on multi-label
data (``--multilabel=K``, :mod:`lossjax.datasets.multilabel`) with
:class:`lossjax.metrics.evals.MultiLabelEval`; this module summarises those rows at
each seed's best validation epoch (validation exact-set accuracy) and
writes the test examples' ``source_indices`` and ``targets``.
"""

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lossjax.metrics.evals import LABEL_COUNTS
from lossjax.output import plotting, results
from lossjax.output.results import Column, column_table
from lossjax.studies.over_seeds import OverSeeds

METRICS = (
  "test_exact_set_accuracy",
  "test_micro_f1",
  "test_macro_f1",
  "test_average_precision",
  "test_top_k_set_accuracy",
  "threshold",
)
TEST_FILE = "multilabel_test.npz"


def _by_count(row: dict, count: int):
  values = row.get("test_exact_set_accuracy_by_count") or []
  return values[count - 1] if count <= len(values) else None


@dataclasses.dataclass(frozen=True)
class ByLabelCount:
  """Exact-set accuracy over seeds per number of labels in the example (the
  counts the test set has). JSON keys
  ``test_exact_set_accuracy_<count>_labels_...`` (:class:`OverSeeds`)."""

  accuracy: dict[int, OverSeeds]

  def json_keys(self, name: str) -> dict:
    del name  # the keys name the count
    out = {}
    for count, over in self.accuracy.items():
      out.update(over.json_keys(f"test_exact_set_accuracy_{count}_labels"))
    return out


@dataclasses.dataclass(frozen=True)
class MultilabelSummary:
  """Multi-label test metrics over seeds: a summary row's part (see
  :class:`lossjax.metrics.evals.MultiLabelEval`; fractions)."""

  test_exact_set_accuracy: OverSeeds
  test_micro_f1: OverSeeds
  test_macro_f1: OverSeeds
  test_average_precision: OverSeeds
  test_top_k_set_accuracy: OverSeeds
  threshold: OverSeeds
  by_label_count: ByLabelCount

  @classmethod
  def of(
    cls, selected: Sequence[dict], last: Sequence[dict]
  ) -> "MultilabelSummary | None":
    """At each seed's best validation epoch (``selected``) and its last;
    ``None`` for rows of single-label data."""
    if not any("test_exact_set_accuracy" in r for r in selected):
      return None
    by_count = {}
    for count in LABEL_COUNTS:
      at_best, at_last = (
        [_by_count(r, count) for r in rows] for rows in (selected, last)
      )
      if any(v is not None for v in (*at_best, *at_last)):
        by_count[count] = OverSeeds.of(at_best, at_last)
    return cls(
      **{
        metric: OverSeeds.of(
          [r.get(metric) for r in selected], [r.get(metric) for r in last]
        )
        for metric in METRICS
      },
      by_label_count=ByLabelCount(by_count),
    )


def counts_of(rows: Sequence) -> list[int]:
  """The numbers of labels the summary rows report accuracy for."""
  return [
    c
    for c in LABEL_COUNTS
    if any(
      r.multilabel is not None and c in r.multilabel.by_label_count.accuracy
      for r in rows
    )
  ]


def _at_best_val(row, metric: Callable[[MultilabelSummary], OverSeeds]):
  """The mean over seeds of ``metric`` (a field of the row's multi-label
  summary) at each seed's best validation epoch."""
  return metric(row.multilabel).at_best_val.mean


def _count_at_best_val(row, count: int):
  over = row.multilabel.by_label_count.accuracy.get(count)
  return None if over is None else over.at_best_val.mean


def table(rows: Sequence) -> str:
  """The selected rates at the best validation epoch."""
  columns = [
    Column("pairing", lambda r: r.pairing),
    Column("lr", lambda r: f"{r.lr:g}"),
    Column(
      "exact-set %",
      lambda r: results.percent_text(
        _at_best_val(r, lambda m: m.test_exact_set_accuracy)
      ),
    ),
    *(
      Column(
        f"exact-set % ({c} label{'s' * (c > 1)})",
        lambda r, c=c: results.percent_text(_count_at_best_val(r, c)),
      )
      for c in counts_of(rows)
    ),
    Column(
      "top-k set %",
      lambda r: results.percent_text(
        _at_best_val(r, lambda m: m.test_top_k_set_accuracy)
      ),
    ),
    *(
      Column(
        header,
        lambda r, m=metric, d=digits: results.format_value(
          _at_best_val(r, m), d
        ),
      )
      for header, metric, digits in (
        ("micro F1", lambda m: m.test_micro_f1, 3),
        ("macro F1", lambda m: m.test_macro_f1, 3),
        ("mean AP", lambda m: m.test_average_precision, 3),
        ("threshold", lambda m: m.threshold, 2),
      )
    ),
  ]
  return column_table(columns, rows)


def sections(selected_rows: Sequence) -> list[str]:
  """summary.md's multi-label part (none for single-label data)."""
  if not selected_rows or selected_rows[0].multilabel is None:
    return []
  return [
    # Bold, not a heading: the table is embedded in a page that has its own.
    "\n**Exclusive or independent classes?**\n",
    "Multi-label test set, mean over seeds at each seed's best validation "
    "epoch (by validation exact-set accuracy). A label is predicted when its "
    "score (`Pairing.label_scores`: the unit's activation clipped to [0, 1], "
    "or the softmax's share) reaches the threshold chosen on validation. "
    "*exact-set*: the predicted set equals the true set; by number of "
    "labels in the example; *top-k set*: the example's k highest scores are "
    "its k labels (k its true number of labels; threshold-free, so a bad "
    "ranking is told apart from a bad threshold); micro/macro F1 at the "
    "threshold; mean AP: per-class average precision, threshold-free. "
    f"`{TEST_FILE}` holds the test "
    "examples' source indices and targets; `label_count.png` draws the "
    "accuracy by number of labels.\n",
    table(selected_rows),
  ]


def write_test_examples(
  path: Path, source_indices: np.ndarray, targets: np.ndarray
) -> Path:
  """``multilabel_test.npz``: ``source_indices`` (N x K, ``-1``: blank slot,
  else an index into the source's test split) and ``targets`` (N x 10)."""
  return results.write_npz(
    path,
    compressed=True,
    source_indices=np.asarray(source_indices, np.int64),
    targets=np.asarray(targets, np.float32),
  )


def read_test_examples(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
  if not path.is_file():
    return None
  with np.load(path) as saved:
    return saved["source_indices"], saved["targets"]


def plot_label_counts(rows: Sequence, pairings: dict, path: Path) -> Path:
  """Exact-set accuracy by number of labels, one bar group per pairing."""
  plt = plotting.plt
  counts = counts_of(rows)
  fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(rows), 4))
  width = 0.8 / max(len(counts), 1)
  shades = (1.0, 0.7, 0.45, 0.3, 0.2)
  for j, count in enumerate(counts):
    values = [100 * (_count_at_best_val(r, count) or 0.0) for r in rows]
    ax.bar(
      [i + (j - (len(counts) - 1) / 2) * width for i in range(len(rows))],
      values,
      width=width,
      color=[pairings[r.pairing].display_color for r in rows],
      alpha=shades[j],
      edgecolor="black",
      linewidth=0.5,
      label=f"{count} label{'s' * (count > 1)}",
    )
  ax.set_xticks(
    range(len(rows)),
    [pairings[r.pairing].display_label for r in rows],
    rotation=20,
    ha="right",
    fontsize=8,
  )
  ax.set(
    ylabel="exact-set accuracy (%)",
    title="Multi-label test set: exact-set accuracy by number of labels",
  )
  ax.legend(fontsize=8)
  return plotting.save_figure(fig, path)
