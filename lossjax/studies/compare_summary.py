"""A comparison's summary: one typed row per (pairing, architecture, rate).

:func:`summarize` turns a comparison's per-epoch rows into
:class:`SummaryRow` values (means and spreads over seeds, the rate selected
on validation), the selected rates' curves and their stalled runs. Every
writer reads these: ``summary.json`` (:meth:`SummaryRow.to_json`), the
Markdown tables (each a list of :class:`lossjax.output.results.Column`), the
figures, the label-noise study and the report. A new summary column is a
field of :class:`SummaryRow` (or of one of its parts) and its computation;
the JSON follows by itself.
"""

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lossjax.output import records, results
from lossjax.output.results import Column
from lossjax.studies import (
  calibration_report,
  multilabel_report,
  seed_spread,
  selected_epochs,
)
from lossjax.studies.calibration_report import CalibrationSummary
from lossjax.studies.compare_figures import setting_key
from lossjax.studies.multilabel_report import MultilabelSummary
from lossjax.studies.over_seeds import MeanStd, flat_json, part

if TYPE_CHECKING:
  from lossjax.studies.compare import Config, Result

# The book's MNIST test accuracies (%) for its settings: (pairing, hidden,
# lr) with N(0, 1) init, batch 10 and 30 epochs.
BOOK_REFERENCE = {
  ("sigmoid_mse", (30,), 3.0): 95.42,
  ("sigmoid_mse", (100,), 3.0): 96.59,
  ("sigmoid_bce", (30,), 0.5): 95.49,
  ("sigmoid_bce", (100,), 0.5): 96.82,
}


def book_reference(config: "Config", pairing: str, hidden, lr) -> float | None:
  """The book's number for these settings, if the book ran them."""
  if (
    config.init,
    config.batch_size,
    config.epochs,
    config.hidden_activation,
  ) != ("large", 10, 30, "sigmoid"):
    return None
  return BOOK_REFERENCE.get((pairing, tuple(hidden), lr))


@dataclasses.dataclass(frozen=True)
class SummaryRow:
  """One (pairing, architecture, rate) over its seeds.

  Accuracies in percent. Its JSON (:meth:`to_json`, ``summary.json``) has
  one flat key per value (:func:`lossjax.studies.over_seeds.flat_json`).

  Attributes:
    pairing, hidden, lr: the setting (``hidden`` as text, e.g. ``[30]``).
    seeds: how many seeds trained; epochs: the last epoch trained.
    diverged_seeds: seeds whose training cost ended non-finite.
    output_error_epoch0, output_error_epoch1: the mean norm of dC/dz at the
      output layer on validation, before training and after one epoch.
    book_test_accuracy: the book's number for the setting, if it ran it.
    unfinished_seeds: seeds stopped before the config's last epoch (an
      interrupted run read back; the JSON has the key only when > 0).
    final_test, best_test: test accuracy at the last and at the best epoch.
    test_at_best_val: test accuracy at the best validation epoch.
    best_val: the best validation accuracy.
    spread: the spread over seeds and the stalled runs.
    calibration: calibration and memorisation (``None``: not recorded).
    multilabel: multi-label metrics (``None``: single-label data).
    selected: this rate has the best mean validation accuracy of its
      (pairing, architecture) (:func:`summarize`).
  """

  pairing: str
  hidden: str
  lr: float
  seeds: int
  epochs: int
  diverged_seeds: int
  output_error_epoch0: float | None
  output_error_epoch1: float | None
  book_test_accuracy: float | None
  unfinished_seeds: int
  final_test: MeanStd
  best_test: MeanStd
  test_at_best_val: MeanStd
  best_val: MeanStd
  spread: seed_spread.Spread = part()
  calibration: CalibrationSummary | None = part(default=None)
  multilabel: MultilabelSummary | None = part(default=None)
  selected: bool = False

  def to_json(self) -> dict:
    """``summary.json``'s row: flat keys (``final_test_mean``, ...)."""
    out = flat_json(self)
    if not self.unfinished_seeds:  # only an interrupted run's rows carry it
      del out["unfinished_seeds"]
    return out


@dataclasses.dataclass(frozen=True)
class Summary:
  """A comparison's summary (see :func:`summarize`).

  Attributes:
    rows: one row per (pairing, architecture, rate), ``selected`` marking
      each (pairing, architecture)'s rate (``summary.json``).
    chosen: the per-epoch rows of the selected rates (the figures' curves).
    cases: the stalled runs among them
      (:func:`lossjax.studies.seed_spread.stalled_cases`).
  """

  rows: list[SummaryRow]
  chosen: list[dict]
  cases: list[dict]

  @property
  def selected(self) -> list[SummaryRow]:
    """The rows of the selected rates, in summary order."""
    return [r for r in self.rows if r.selected]

  def by_pairing(self) -> dict[str, SummaryRow]:
    """The selected rows by pairing name (one architecture)."""
    return {r.pairing: r for r in self.selected}

  def to_json(self) -> list[dict]:
    """``summary.json``: every row."""
    return [r.to_json() for r in self.rows]


def summarize(result: "Result") -> Summary:
  """The summary of ``result``: per-rate rows, the selected rates' curves
  and their stalled runs. Use ``result.summary``, which computes it once."""
  rows = _mark_selected(
    [
      summary_row(result, setting, runs)
      for setting, runs in seed_runs(result).items()
    ]
  )
  chosen = _selected_curves(result, rows)
  return Summary(rows, chosen, stalled_cases(chosen))


@dataclasses.dataclass(frozen=True)
class SeedRuns:
  """One setting's (pairing, architecture, rate) runs, seed by seed.

  Every list has one entry per seed, in the order the seeds trained; the
  summary's means and spreads, and the claims' paired comparisons
  (:mod:`lossjax.studies.claims`), are computed from these.

  Attributes:
    seeds: the seeds.
    rows: each seed's per-epoch rows.
    selected: each seed's row at its best validation accuracy (its
      "selected" epoch; the first of equal ones).
    last: each seed's last trained epoch.
    scaled_selected, scaled_last: each seed's temperature row at those
      epochs (``None``: none fitted).
  """

  seeds: list[int]
  rows: list[list[dict]]
  selected: list[dict]
  last: list[dict]
  scaled_selected: list[dict | None]
  scaled_last: list[dict | None]

  def at_selected(self, metric: str) -> list:
    """``metric`` of each seed at its selected epoch."""
    return [r[metric] for r in self.selected]

  def at_last(self, metric: str) -> list:
    """``metric`` of each seed at its last epoch."""
    return [r[metric] for r in self.last]


def seed_runs(result: "Result") -> dict[tuple, SeedRuns]:
  """Every setting ``(pairing, hidden, lr)``'s :class:`SeedRuns`, in config
  order."""
  scaled = {
    (selected_epochs.probability_key(r), r["at"]): r for r in result.scaled
  }
  out = {}
  for setting, group in _in_config_order(
    result.config, records.group_rows(result.rows, setting_key)
  ).items():
    by_seed = records.group_rows(group, lambda r: (r["seed"],))
    runs = SeedRuns([], [], [], [], [], [])
    for (seed,), seed_rows in by_seed.items():
      trained = [r for r in seed_rows if r["epoch"] > 0] or seed_rows
      best_val = max(
        trained,
        key=lambda r: (
          -math.inf if r["val_accuracy"] is None else r["val_accuracy"]
        ),
      )
      key = selected_epochs.probability_key(best_val)
      runs.seeds.append(seed)
      runs.rows.append(seed_rows)
      runs.selected.append(best_val)
      runs.last.append(trained[-1])
      runs.scaled_selected.append(scaled.get((key, "selected")))
      runs.scaled_last.append(scaled.get((key, "last")))
    out[setting] = runs
  return out


def summary_row(result: "Result", setting: tuple, runs: SeedRuns) -> SummaryRow:
  """The row of one setting ``(pairing, hidden, lr)`` (not yet marked
  ``selected``)."""
  pairing, hidden, lr = setting
  group = [r for seed_rows in runs.rows for r in seed_rows]
  outcomes = [seed_spread.seed_outcome(rows) for rows in runs.rows]

  def output_error(epoch):
    return MeanStd.of(
      [r["output_error"] for r in group if r["epoch"] == epoch]
    ).mean

  return SummaryRow(
    pairing=pairing,
    hidden=records.hidden_text(hidden),
    lr=lr,
    seeds=len(runs.seeds),
    epochs=max(r["epoch"] for r in group),
    diverged_seeds=sum(
      r["epoch"] > 0 and not _finite(r["train_cost"]) for r in runs.last
    ),
    output_error_epoch0=output_error(0),
    output_error_epoch1=output_error(1),
    book_test_accuracy=book_reference(result.config, pairing, hidden, lr),
    # A run killed before its last epoch is unfinished, not diverged (its
    # epoch 0 has no training cost at all).
    unfinished_seeds=sum(r["epoch"] < result.config.epochs for r in runs.last),
    final_test=MeanStd.of([o["final"] for o in outcomes]),
    best_test=MeanStd.of([o["best"] for o in outcomes]),
    test_at_best_val=MeanStd.of(
      [seed_spread.percent(v) for v in runs.at_selected("test_accuracy")]
    ),
    best_val=MeanStd.of(
      [seed_spread.percent(v) for v in runs.at_selected("val_accuracy")]
    ),
    spread=seed_spread.Spread.of(outcomes),
    calibration=CalibrationSummary.of(
      runs.selected, runs.last, runs.scaled_selected, runs.scaled_last
    ),
    multilabel=MultilabelSummary.of(runs.selected, runs.last),
  )


def _in_config_order(config: "Config", groups: dict) -> dict:
  """Settings ``(pairing, hidden, lr)`` by architecture, then pairing, as
  the config lists them (a group trains several pairings; on multi-label
  data the groups split them by kind), each pairing's rates as trained."""
  pairings = [p.name for p in config.pairings]
  hidden = [tuple(h) for h in config.hidden]

  def position(key):
    pairing, sizes, _ = key
    return (
      hidden.index(tuple(sizes)) if tuple(sizes) in hidden else len(hidden),
      pairings.index(pairing) if pairing in pairings else len(pairings),
    )

  return dict(sorted(groups.items(), key=lambda item: position(item[0])))


def _mark_selected(rows: list[SummaryRow]) -> list[SummaryRow]:
  """Per (pairing, architecture): ``selected`` is the rate with the best mean
  validation accuracy (its best epoch, averaged over seeds); the smaller rate
  wins a tie. Test accuracy plays no part in the choice."""

  def score(r):
    return (-math.inf if r.best_val.mean is None else r.best_val.mean, -r.lr)

  best = {}
  for r in rows:
    key = (r.pairing, r.hidden)
    if key not in best or score(r) > score(best[key]):
      best[key] = r
  return [
    dataclasses.replace(r, selected=r is best[(r.pairing, r.hidden)])
    for r in rows
  ]


def _selected_curves(
  result: "Result", summary_rows: Sequence[SummaryRow]
) -> list[dict]:
  """The per-epoch rows of the selected rate of each (pairing, architecture)."""
  chosen = {(r.pairing, r.hidden, r.lr) for r in summary_rows if r.selected}
  return [
    r
    for r in result.rows
    if (r["pairing"], records.hidden_text(r["hidden"]), r["lr"]) in chosen
  ]


def stalled_cases(chosen: Sequence[dict]) -> list[dict]:
  """:func:`lossjax.studies.seed_spread.stalled_cases` of the selected
  rates' per-epoch rows ``chosen``."""
  return seed_spread.stalled_cases(records.group_rows(chosen, setting_key))


def _finite(value) -> bool:
  return value is not None and math.isfinite(value)


def _pairing_cell(r: SummaryRow) -> str:
  """The pairing, marked ``(diverged k/n)`` when some seeds' training cost
  ended non-finite (the accuracies are a broken network's, not the
  pairing's) and ``(unfinished k/n: trained to epoch e)`` for an
  interrupted run read back by ``--report_only``."""
  name = r.pairing
  if r.diverged_seeds:
    name += f" (diverged {r.diverged_seeds}/{r.seeds})"
  if r.unfinished_seeds:
    name += (
      f" (unfinished {r.unfinished_seeds}/{r.seeds}: trained to "
      f"epoch {r.epochs})"
    )
  return name


# summary.md's table (and the report's): the columns, header beside cell.
SUMMARY_COLUMNS = (
  Column("pairing", _pairing_cell),
  Column("hidden", lambda r: r.hidden),
  Column("lr", lambda r: f"{r.lr:g}"),
  Column("seeds", lambda r: str(r.seeds)),
  Column("epochs", lambda r: str(r.epochs)),
  Column("final test %", lambda r: r.final_test.text()),
  Column("best test %", lambda r: r.best_test.text()),
  Column("test % at best val", lambda r: r.test_at_best_val.text()),
  Column(
    "output error (epoch 0 -> 1)",
    lambda r: (
      f"{results.format_value(r.output_error_epoch0, 3)} -> "
      f"{results.format_value(r.output_error_epoch1, 3)}"
    ),
  ),
  Column(
    "book (MNIST) %",
    lambda r: (
      "-" if r.book_test_accuracy is None else f"{r.book_test_accuracy:.2f}"
    ),
  ),
)


def summary_table(rows: Sequence[SummaryRow]) -> str:
  """The Markdown table of summary rows (:data:`SUMMARY_COLUMNS`)."""
  return results.column_table(SUMMARY_COLUMNS, rows)


def markdown(result: "Result") -> str:
  """A comparison's summary.md (and what the command line prints), from
  ``result.summary``."""
  c = result.config
  digest = result.summary
  return "\n".join(
    [
      f"# {c.data.dataset}: pairings compared\n",
      f"Data: {result.description}. Init `{c.init}` x {c.init_scale}, "
      f"batch {c.batch_size}, optimizer {c.optimizer}, L2 lambda {c.l2}.\n",
      *(
        [
          "On multi-label data every accuracy is exact-set accuracy (the "
          "predicted label set equals the true one).\n"
        ]
        if c.data.multilabel is not None
        else []
      ),
      "Accuracies are test-set percentages, mean ± standard deviation over "
      "seeds. *best* is the best epoch; *at best val* is the test accuracy at "
      "the epoch with the best validation accuracy (honest model selection). "
      "*output error* is the mean norm of dC/dz at the output layer on the "
      "validation set, before training (epoch 0) and after one epoch.\n",
      *grid_note(digest.rows),
      summary_table(digest.selected),
      *_seed_sections(result, digest),
      *calibration_report.sections(digest.selected, c.data),
      *multilabel_report.sections(digest.selected),
    ]
  )


def _seed_sections(result: "Result", digest: Summary) -> list[str]:
  """The spread over seeds and the stalled runs (several seeds only)."""
  if len(result.config.seeds) < 2:
    return []
  # Short: the terms are defined once, in docs/methods.md.
  return [
    "\nSpread over seeds of the test accuracy (%), final and best epoch "
    "(*stalled*: docs/methods.md):\n",
    seed_spread.spread_table(digest.selected),
    seed_spread.stalled_text(digest.cases),
  ]


def grid_note(rows: Sequence[SummaryRow]) -> list[str]:
  """summary.md's note on the rate grids (none when each pairing and
  architecture trained at one rate)."""
  groups = records.group_rows(rows, lambda r: (r.pairing, r.hidden))
  if all(len(g) == 1 for g in groups.values()):
    return []
  grids = sorted({tuple(sorted(r.lr for r in g)) for g in groups.values()})
  text = "; ".join(", ".join(f"{lr:g}" for lr in grid) for grid in grids)
  return [
    f"Each pairing and architecture trained at every rate of its grid "
    f"({text}); the table shows the rate with the best mean validation "
    "accuracy (its best epoch), chosen without looking at the test set. "
    "`summary.json` holds every rate (`selected`: true or false) and "
    "`lr_tuning.png` the whole tuning curve.\n"
  ]
