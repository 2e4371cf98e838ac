"""A comparison on multi-label data: its summary fields, table and figure.

The comparison study (:mod:`lossjax.studies.compare`) trains on multi-label
data (``--multilabel=K``, :mod:`lossjax.datasets.multilabel`) with
:class:`lossjax.metrics.evals.MultiLabelEval`; this module summarises those rows at
each seed's best validation epoch (validation exact-set accuracy) and
writes the test examples' ``source_indices`` and ``targets``.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lossjax.metrics.evals import LABEL_COUNTS
from lossjax.output import plotting, records, results

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


def summary_fields(selected: Sequence[dict], last: Sequence[dict]) -> dict:
  """Mean and std over seeds, at the best validation epoch and the last.

  Keys ``<metric>_at_best_val_{mean,std}`` and ``final_<metric>_{mean,
  std}`` for :data:`METRICS`, and ``test_exact_set_accuracy_<c>_labels_...``
  for each number of labels ``c`` the test set has. No fields for rows of
  single-label data.
  """
  if not any("test_exact_set_accuracy" in r for r in selected):
    return {}
  fields = {}
  for name, rows in (("{}_at_best_val", selected), ("final_{}", last)):
    for metric in METRICS:
      key = name.format(metric)
      fields[f"{key}_mean"], fields[f"{key}_std"] = records.mean_and_spread(
        [r.get(metric) for r in rows]
      )
    for count in LABEL_COUNTS:
      values = [_by_count(r, count) for r in rows]
      if all(v is None for v in values):
        continue
      key = name.format(f"test_exact_set_accuracy_{count}_labels")
      fields[f"{key}_mean"], fields[f"{key}_std"] = records.mean_and_spread(
        values
      )
  return fields


def counts_of(rows: Sequence[dict]) -> list[int]:
  """The numbers of labels the summary rows report accuracy for."""
  return [
    c
    for c in LABEL_COUNTS
    if any(
      f"test_exact_set_accuracy_{c}_labels_at_best_val_mean" in r for r in rows
    )
  ]


def _pct(value) -> str:
  return "-" if value is None else f"{100 * value:.2f}"


def table(rows: Sequence[dict]) -> str:
  """The selected rates at the best validation epoch."""
  counts = counts_of(rows)
  headers = [
    "pairing",
    "lr",
    "exact-set %",
    *(f"exact-set % ({c} label{'s' * (c > 1)})" for c in counts),
    "top-k set %",
    "micro F1",
    "macro F1",
    "mean AP",
    "threshold",
  ]

  def cells(r):
    def get(metric):
      return r.get(f"{metric}_at_best_val_mean")

    return [
      r["pairing"],
      f"{r['lr']:g}",
      _pct(get("test_exact_set_accuracy")),
      *(_pct(get(f"test_exact_set_accuracy_{c}_labels")) for c in counts),
      _pct(get("test_top_k_set_accuracy")),
      results.format_value(get("test_micro_f1"), 3),
      results.format_value(get("test_macro_f1"), 3),
      results.format_value(get("test_average_precision"), 3),
      results.format_value(get("threshold"), 2),
    ]

  return "\n".join(results.table_lines(headers, map(cells, rows))) + "\n"


def sections(selected_rows: Sequence[dict]) -> list[str]:
  """summary.md's multi-label part (none for single-label data)."""
  if (
    not selected_rows
    or "test_exact_set_accuracy_at_best_val_mean" not in (selected_rows[0])
  ):
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


def plot_label_counts(rows: Sequence[dict], pairings: dict, path: Path) -> Path:
  """Exact-set accuracy by number of labels, one bar group per pairing."""
  plt = plotting.plt
  counts = counts_of(rows)
  fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(rows), 4))
  width = 0.8 / max(len(counts), 1)
  shades = (1.0, 0.7, 0.45, 0.3, 0.2)
  for j, count in enumerate(counts):
    key = f"test_exact_set_accuracy_{count}_labels_at_best_val_mean"
    values = [100 * (r.get(key) or 0.0) for r in rows]
    ax.bar(
      [i + (j - (len(counts) - 1) / 2) * width for i in range(len(rows))],
      values,
      width=width,
      color=[pairings[r["pairing"]].display_color for r in rows],
      alpha=shades[j],
      edgecolor="black",
      linewidth=0.5,
      label=f"{count} label{'s' * (count > 1)}",
    )
  ax.set_xticks(
    range(len(rows)),
    [pairings[r["pairing"]].display_label for r in rows],
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
