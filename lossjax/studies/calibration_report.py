"""What a comparison says about its outputs as probabilities, and wrong labels.

The comparison study (:mod:`lossjax.studies.compare`) records calibration per
epoch and fits a temperature at each run's selected and last epoch; this
module turns those into its summary fields, its Markdown tables, the
reliability diagrams and ``test_probabilities.npz``.
"""

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from lossjax.datasets.data import DataConfig
from lossjax.metrics import calibration
from lossjax.output import plotting, records, results
from lossjax.output.results import Column, column_table
from lossjax.studies import selected_epochs
from lossjax.studies.over_seeds import OverSeeds

# Per-epoch metrics summarised at the selected and at the last epoch.
EPOCH_METRICS = (
  "test_ece",
  "test_nll",
  "test_brier",
  "memorised",
  "memorised_chance",
)
# Metrics of temperature.jsonl (fitted at the selected and the last epoch).
SCALED_METRICS = (
  "temperature",
  "test_ece_scaled",
  "test_nll_scaled",
  "test_brier_scaled",
)
PROBABILITIES_FILE = "test_probabilities.npz"
SCALED_FIGURE = "reliability_scaled.png"


@dataclasses.dataclass(frozen=True)
class CalibrationSummary:
  """Calibration and memorisation over seeds: a summary row's part.

  ECE, NLL and Brier as the library computes them (a fraction, nats,
  ``[0, 2]``); ``memorised``: the fraction of mislabelled training examples
  assigned to their wrong label, ``memorised_chance`` its chance level
  (``None`` without label noise); the temperature fitted on validation and
  the test metrics after it (``temperature.jsonl``).
  """

  test_ece: OverSeeds
  test_nll: OverSeeds
  test_brier: OverSeeds
  memorised: OverSeeds
  memorised_chance: OverSeeds
  temperature: OverSeeds
  test_ece_scaled: OverSeeds
  test_nll_scaled: OverSeeds
  test_brier_scaled: OverSeeds

  @classmethod
  def of(
    cls,
    selected: Sequence[dict],
    last: Sequence[dict],
    scaled_selected: Sequence[dict | None],
    scaled_last: Sequence[dict | None],
  ) -> "CalibrationSummary | None":
    """``selected``/``last``: each seed's per-epoch row at its best
    validation epoch and at its last; ``scaled_*``: each seed's
    ``temperature.jsonl`` row there (or ``None``). ``None`` for rows
    recorded before the library measured calibration (no ``test_ece``)."""
    if not any("test_ece" in r for r in selected):
      return None

    def over_seeds(at_best, at_last, metric):
      return OverSeeds.of(
        *(
          [None if r is None else r.get(metric) for r in rows]
          for rows in (at_best, at_last)
        )
      )

    return cls(
      **{m: over_seeds(selected, last, m) for m in EPOCH_METRICS},
      **{
        m: over_seeds(scaled_selected, scaled_last, m) for m in SCALED_METRICS
      },
    )


def _num(value, digits=3) -> str:
  return results.format_value(value, digits)


def _mean_at(row, at: str, metric: Callable[[CalibrationSummary], OverSeeds]):
  """The mean over seeds of ``metric`` (a field of the row's calibration) at
  ``at``: ``"selected"`` (each seed's best validation epoch) or ``"last"``."""
  over = metric(row.calibration)
  return (over.at_best_val if at == "selected" else over.final).mean


def _test_accuracy(row, at: str) -> str:
  mean = (row.test_at_best_val if at == "selected" else row.final_test).mean
  return "-" if mean is None else f"{mean:.2f}"


# The calibration table's columns. A row is (summary row, "selected" or
# "last"): each pairing at its selected epoch and at its last.
CALIBRATION_COLUMNS = (
  Column("pairing", lambda c: c[0].pairing),
  Column("lr", lambda c: f"{c[0].lr:g}"),
  Column("epoch", lambda c: c[1]),
  Column("test %", lambda c: _test_accuracy(*c)),
  Column(
    "ECE %", lambda c: results.percent_text(_mean_at(*c, lambda m: m.test_ece))
  ),
  Column("NLL", lambda c: _num(_mean_at(*c, lambda m: m.test_nll))),
  Column("Brier", lambda c: _num(_mean_at(*c, lambda m: m.test_brier))),
  Column("T", lambda c: _num(_mean_at(*c, lambda m: m.temperature))),
  Column(
    "ECE % after T",
    lambda c: results.percent_text(_mean_at(*c, lambda m: m.test_ece_scaled)),
  ),
  Column(
    "NLL after T", lambda c: _num(_mean_at(*c, lambda m: m.test_nll_scaled))
  ),
  Column(
    "Brier after T", lambda c: _num(_mean_at(*c, lambda m: m.test_brier_scaled))
  ),
)


def calibration_table(rows: Sequence) -> str:
  """The selected rates' calibration, at the selected and the last epoch."""
  return column_table(
    CALIBRATION_COLUMNS, ((r, at) for r in rows for at in ("selected", "last"))
  )


MEMORISED_COLUMNS = (
  Column("pairing", lambda r: r.pairing),
  Column("lr", lambda r: f"{r.lr:g}"),
  Column("test % at best val", lambda r: _num(r.test_at_best_val.mean, 4)),
  Column("test % last", lambda r: _num(r.final_test.mean, 4)),
  Column(
    "memorised % at best val",
    lambda r: results.percent_text(r.calibration.memorised.at_best_val.mean),
  ),
  Column(
    "memorised % last",
    lambda r: results.percent_text(r.calibration.memorised.final.mean),
  ),
  Column(
    "chance % last",
    lambda r: results.percent_text(r.calibration.memorised_chance.final.mean),
  ),
)


def memorised_table(rows: Sequence) -> str:
  """Test accuracy and memorisation at the selected and the last epoch."""
  return column_table(MEMORISED_COLUMNS, rows)


def sections(selected_rows: Sequence, data: DataConfig) -> list[str]:
  """summary.md's calibration and (with label noise) memorisation parts."""
  if not selected_rows or selected_rows[0].calibration is None:
    return []  # a run from before calibration was recorded
  out = [
    "\n## Are the outputs probabilities?\n",
    "Test-set calibration of each pairing's class probabilities "
    "(`Pairing.class_probabilities`), mean over seeds, at the selected epoch "
    "(each seed's best validation epoch) and at the last. ECE: expected "
    f"calibration error, {calibration.NUM_BINS} equal-width confidence bins "
    "(Guo et al. 2017); NLL: mean -ln p(label), nats; Brier: mean squared "
    "distance to the one-hot label, in [0, 2]. T: the temperature fitted on "
    "the validation set (T > 1: the outputs were over-confident); *after T*: "
    "the same metrics at that temperature. `reliability.png` and "
    f"`{SCALED_FIGURE}` draw them, with each bin's share of examples; "
    f"`{PROBABILITIES_FILE}` holds the probabilities.\n",
    calibration_table(selected_rows),
  ]
  if selected_rows[0].calibration.memorised.final.mean is not None:
    out += [
      "\n## What if labels are wrong?\n",
      f"Labels: {data.noise_description()}. Test accuracy (%) on "
      "clean test labels, at the best validation epoch (validation labels "
      f"are {'clean' if data.clean_validation else 'as noisy as the training labels'}) "
      "and at the last; *memorised*: the fraction of mislabelled training "
      "examples the network assigns to their wrong label; *chance*: what it "
      "would be if the network's errors on them ignored the wrong label (its "
      "error rate on them over k - 1).\n",
      memorised_table(selected_rows),
    ]
  return out


def write_probabilities(
  path: Path,
  selected: Sequence[tuple],
  probabilities: Mapping[tuple, tuple[int, np.ndarray]],
  labels: np.ndarray,
  temperatures: Mapping[tuple, float | None],
) -> Path | None:
  """``test_probabilities.npz`` for the runs ``selected`` (their keys).

  Keys: ``probabilities`` (runs x N x classes, float32), ``labels`` (N
  integers), and per run ``pairings``, ``hidden``, ``lrs``, ``seeds``,
  ``epochs`` (the selected epoch) and ``temperatures`` (NaN: none fitted).
  """
  keys = [k for k in selected if k in probabilities]
  if not keys:
    return None
  return results.write_npz(
    path,
    compressed=True,
    probabilities=np.stack([probabilities[k][1] for k in keys]).astype(
      np.float32
    ),
    labels=np.asarray(labels, np.int32),
    pairings=np.array([k[0] for k in keys]),
    hidden=np.array([records.hidden_text(k[1]) for k in keys]),
    lrs=np.array([k[2] for k in keys], np.float64),
    seeds=np.array([k[3] for k in keys], np.int64),
    epochs=np.array([probabilities[k][0] for k in keys], np.int64),
    temperatures=np.array(
      [
        math.nan if temperatures.get(k) is None else temperatures[k]
        for k in keys
      ],
      np.float64,
    ),
  )


def read_probabilities(path: Path) -> tuple[dict, np.ndarray] | None:
  """:func:`write_probabilities`'s file as ``(probabilities, labels)``."""
  if not path.is_file():
    return None
  with np.load(path) as saved:
    probabilities = {
      (
        str(name),
        records.hidden_sizes(hidden),
        float(lr),
        int(s),
      ): (
        int(epoch),
        p,
      )
      for name, hidden, lr, s, epoch, p in zip(
        saved["pairings"],
        saved["hidden"],
        saved["lrs"],
        saved["seeds"],
        saved["epochs"],
        saved["probabilities"],
        strict=True,
      )
    }
    return probabilities, saved["labels"]


def plot_reliability(
  runs_by_pairing: Mapping[str, Sequence[tuple[np.ndarray, float | None]]],
  labels: np.ndarray,
  pairings: Mapping[str, object],
  path: Path,
  *,
  scaled: bool = False,
  columns: int = 4,
) -> Path:
  """Reliability diagrams of each pairing's test probabilities, as trained
  or (``scaled``) at each seed's fitted temperature.

  ``runs_by_pairing``: per pairing name, each seed's ``(test probabilities,
  temperature)``. Bars: accuracy per confidence bin, the seeds' predictions
  pooled; the diagonal is perfect calibration. Under each diagram, the share
  of examples in each bin (log scale): a gap in a near-empty bin weighs
  little in the ECE. The ECE printed is the mean over seeds of each seed's
  ECE, as in the summary table.
  """
  plt = plotting.plt
  names = list(runs_by_pairing)
  columns = min(columns, len(names))
  rows = -(-len(names) // columns)
  fig = plt.figure(figsize=(3.3 * columns, 4.4 * rows), layout="constrained")
  grid = fig.add_gridspec(2 * rows, columns, height_ratios=[3, 1] * rows)
  for i, name in enumerate(names):
    row, column = divmod(i, columns)
    runs = [
      (
        p
        if not scaled or t is None
        else np.asarray(calibration.temperature_scale(p, np.float32(t))),
        t,
      )
      for p, t in runs_by_pairing[name]
    ]
    diagram = fig.add_subplot(grid[2 * row, column])
    counts = fig.add_subplot(grid[2 * row + 1, column], sharex=diagram)
    _draw_bins(diagram, counts, runs, labels, pairings[name])
    temps = [t for _, t in runs if t is not None]
    title = pairings[name].display_label
    if scaled:
      title += f"\nafter T = {np.mean(temps):.2f}" if temps else " (no T)"
    diagram.set_title(title, fontsize=9)
    diagram.tick_params(labelbottom=False)
    if column == 0:
      diagram.set_ylabel("accuracy in bin")
      counts.set_ylabel("examples (%)", fontsize=8)
    counts.set_xlabel("confidence (largest probability)", fontsize=8)
  fig.suptitle(
    f"Reliability on the test set, {'after temperature scaling' if scaled else 'as trained'} "
    f"({calibration.NUM_BINS} bins, {len(next(iter(runs_by_pairing.values())))} "
    "seeds pooled; ECE: mean over seeds)"
  )
  return plotting.save_figure(fig, path)


def mean_seed_ece(per_seed: Sequence[calibration.CalibrationBins]) -> float:
  """The diagrams' ECE: each seed's ECE, then their mean (as the summary
  table averages per seed), not the ECE of the pooled bars."""
  return float(np.mean([float(calibration.bins_ece(b)) for b in per_seed]))


def _draw_bins(ax, count_ax, runs, labels, pairing) -> None:
  """One pairing's diagram on ``ax`` and its bin shares on ``count_ax``."""
  finite = [p for p, _ in runs if np.all(np.isfinite(p))]
  if not finite:
    ax.text(0.5, 0.5, "diverged", ha="center", transform=ax.transAxes)
    return
  labels = np.asarray(labels).astype(np.int32)
  per_seed = [calibration.calibration_bins(p, labels) for p in finite]
  counts = np.sum([np.asarray(b.counts) for b in per_seed], axis=0)
  right = np.sum(
    [np.asarray(b.accuracy) * np.asarray(b.counts) for b in per_seed], axis=0
  )
  edges = np.asarray(per_seed[0].edges)
  occupied = counts > 0
  accuracy = np.where(occupied, right / np.maximum(counts, 1), 0.0)
  width = edges[1] - edges[0]
  style = dict(
    width=width,
    align="edge",
    color=pairing.display_color,
    edgecolor="black",
    linewidth=0.5,
  )
  ax.bar(edges[:-1][occupied], accuracy[occupied], alpha=0.75, **style)
  ax.plot([0, 1], [0, 1], "k--", linewidth=1)
  ece = mean_seed_ece(per_seed)
  diverged = len(runs) - len(finite)
  note = f" ({diverged} diverged)" if diverged else ""
  ax.text(0.04, 0.9, f"ECE {100 * ece:.2f}%{note}", transform=ax.transAxes)
  ax.set(xlim=(0, 1), ylim=(0, 1))
  share = 100 * counts / counts.sum()
  count_ax.bar(edges[:-1][occupied], share[occupied], alpha=0.5, **style)
  count_ax.set_yscale("log")
  count_ax.set_ylim(0.01, 100)
  count_ax.set_yticks([0.01, 1, 100], ["0.01", "1", "100"])
  count_ax.minorticks_off()
  count_ax.tick_params(labelsize=7)


def selected_runs(
  test_probabilities: Mapping[tuple, object], summary_rows: Sequence
) -> list[tuple]:
  """Keys of ``test_probabilities`` (``(pairing, hidden, lr, seed)``) of the
  selected rates' runs, in summary order."""
  keys = []
  for r in summary_rows:
    if r.selected:
      keys += [
        k
        for k in test_probabilities
        if (k[0], records.hidden_text(k[1]), k[2])
        == (r.pairing, r.hidden, r.lr)
      ]
  return keys


def selected_temperatures(scaled: Sequence[dict]) -> dict[tuple, float | None]:
  """Each run's temperature at its selected epoch, by run key."""
  return {
    selected_epochs.probability_key(r): r["temperature"]
    for r in scaled
    if r["at"] == "selected"
  }


def write_outputs(
  test_probabilities: Mapping[tuple, tuple[int, np.ndarray]],
  scaled: Sequence[dict],
  test_labels: np.ndarray | None,
  summary_rows: Sequence,
  pairings: Mapping[str, object],
  workdir: Path,
) -> list[Path]:
  """``test_probabilities.npz``, ``reliability.png`` and
  ``reliability_scaled.png`` of the selected
  runs; nothing for a run without them (multi-label, or from before
  calibration was recorded)."""
  keys = selected_runs(test_probabilities, summary_rows)
  if not keys or test_labels is None:
    return []
  temperatures = selected_temperatures(scaled)
  paths = [
    write_probabilities(
      workdir / PROBABILITIES_FILE,
      keys,
      test_probabilities,
      test_labels,
      temperatures,
    )
  ]
  by_pairing: dict[str, list] = {}
  for key in keys:
    by_pairing.setdefault(key[0], []).append(
      (test_probabilities[key][1], temperatures.get(key))
    )
  for name, scaled in (("reliability.png", False), (SCALED_FIGURE, True)):
    paths.append(
      plot_reliability(
        by_pairing,
        np.asarray(test_labels),
        pairings,
        workdir / name,
        scaled=scaled,
      )
    )
  return paths
