"""How the seeds of one setting spread, and which of them got stuck.

The book reports one run per setting. Over several seeds a setting has a
distribution of outcomes, and a run from a saturated start can *stall*: stop
on a plateau far below its siblings, typically because some classes are never
predicted (the failure seed 000 describes: "my network failed pretty badly").

Definition used everywhere in lossjax: a seed is **stalled** at a statistic
(its final-epoch or its best-epoch test accuracy) when that accuracy is more
than :data:`STALL_MARGIN` percentage points below the best seed of the same
setting at the same statistic. Healthy seeds of a setting differ by well under
one point on MNIST-family data, so the margin separates the plateaus from the
noise; measuring against the best seed (not the median) still flags the
stalls when most seeds of a setting stall.

The comparison study (:mod:`lossjax.studies.compare`) calls these functions
on its per-epoch rows; nothing here knows which setting is the book's.
"""

import dataclasses
import math
import statistics
from collections.abc import Sequence

from lossjax.output import plotting, records, results
from lossjax.output.results import Column, column_table
from lossjax.studies.over_seeds import Range

# Percentage points below the setting's best seed that count as stalled.
STALL_MARGIN = 5.0
# A class is *rarely predicted* when the network assigns it fewer examples
# than this fraction of an even share (n / num_classes); 0 is never.
RARE_SHARE = 0.2


def rarely_predicted(counts: Sequence[int]) -> list[tuple[int, int]]:
  """``(class, count)`` of each class predicted for fewer than
  :data:`RARE_SHARE` of an even share of the examples."""
  even = sum(counts) / len(counts)
  return [(k, n) for k, n in enumerate(counts) if n < RARE_SHARE * even]


def spread(values: Sequence[float | None]) -> dict[str, float | None]:
  """Median, minimum, maximum, mean and sample std of the present values."""
  present = [v for v in values if v is not None and math.isfinite(v)]
  mean, std = records.mean_and_spread(present)
  if not present:
    return dict.fromkeys(("median", "min", "max", "mean", "std"))
  return {
    "median": statistics.median(present),
    "min": min(present),
    "max": max(present),
    "mean": mean,
    "std": std,
  }


def stalled(values: Sequence[float | None]) -> list[bool]:
  """Per value: more than :data:`STALL_MARGIN` below the largest value.

  A missing or non-finite value (a diverged run) counts as stalled.
  """
  present = [v for v in values if v is not None and math.isfinite(v)]
  if not present:
    return [True] * len(values)
  top = max(present)
  return [
    v is None or not math.isfinite(v) or v < top - STALL_MARGIN for v in values
  ]


def seed_outcome(seed_rows: Sequence[dict]) -> dict:
  """One seed's outcome from its per-epoch rows (epoch 0 included or not).

  Accuracies in percent; ``rarely_predicted``: :func:`rarely_predicted`
  of the test set at the final epoch (``None`` when the rows predate the
  ``test_predicted_counts`` record).
  """
  rows = sorted(seed_rows, key=lambda r: r["epoch"])
  trained = [r for r in rows if r["epoch"] > 0] or rows
  last = trained[-1]
  scored = [r for r in trained if r["test_accuracy"] is not None]
  # The first epoch with the best accuracy.
  top = max(
    scored, key=lambda r: (r["test_accuracy"], -r["epoch"]), default=None
  )
  counts = last.get("test_predicted_counts")
  return {
    "seed": last["seed"],
    "final": percent(last["test_accuracy"]),
    "best": None if top is None else percent(top["test_accuracy"]),
    "best_epoch": None if top is None else top["epoch"],
    "rarely_predicted": None if counts is None else rarely_predicted(counts),
  }


def percent(value: float | None) -> float | None:
  """A fraction as a percentage; ``None`` stays ``None``."""
  return None if value is None else 100 * value


@dataclasses.dataclass(frozen=True)
class Spread:
  """One setting's spread over seeds and its stalls: a summary row's part.

  Attributes:
    rarely_predicting_seeds_final: the seeds whose network rarely or never
      predicts some class at the last epoch (:func:`rarely_predicted`), the
      plateau's signature even where every seed sits on it (then none is
      *stalled*, which is relative to the best).
    final_test, best_test: the test accuracy (%) over seeds at the last and
      at the best epoch.
    stalled_final, stalled_best: how many seeds are stalled there;
    stalled_seeds_final, stalled_seeds_best: which.
  """

  rarely_predicting_seeds_final: list[int]
  final_test: Range
  stalled_final: int
  stalled_seeds_final: list[int]
  best_test: Range
  stalled_best: int
  stalled_seeds_best: list[int]

  @classmethod
  def of(cls, outcomes: Sequence[dict]) -> "Spread":
    """From each seed's :func:`seed_outcome`."""
    fields = {
      "rarely_predicting_seeds_final": [
        o["seed"] for o in outcomes if o["rarely_predicted"]
      ]
    }
    for stat in ("final", "best"):
      values = [o[stat] for o in outcomes]
      stats = spread(values)
      fields[f"{stat}_test"] = Range(
        stats["median"], stats["min"], stats["max"]
      )
      flags = stalled(values)
      fields[f"stalled_{stat}"] = sum(flags)
      fields[f"stalled_seeds_{stat}"] = [
        o["seed"] for o, f in zip(outcomes, flags, strict=True) if f
      ]
    return cls(**fields)


def _median_range(stats: Range) -> str:
  if stats.median is None:
    return "-"
  return f"{stats.median:.2f} [{stats.min:.2f}, {stats.max:.2f}]"


# The spread table's columns; its rows are the comparison's summary rows
# (:class:`lossjax.studies.compare_summary.SummaryRow`).
SPREAD_COLUMNS = (
  Column("pairing", lambda r: r.pairing),
  Column("hidden", lambda r: r.hidden),
  Column("lr", lambda r: f"{r.lr:g}"),
  Column("book %", lambda r: _fmt(r.book_test_accuracy)),
  Column("seeds", lambda r: str(r.seeds)),
  Column(
    "final: median [min, max]", lambda r: _median_range(r.spread.final_test)
  ),
  Column("final: mean ± std", lambda r: r.final_test.text()),
  Column("final: stalled", lambda r: f"{r.spread.stalled_final}/{r.seeds}"),
  Column(
    "best: median [min, max]", lambda r: _median_range(r.spread.best_test)
  ),
  Column("best: mean ± std", lambda r: r.best_test.text()),
  Column("best: stalled", lambda r: f"{r.spread.stalled_best}/{r.seeds}"),
)


def spread_table(rows: Sequence) -> str:
  """Markdown: the book's number beside the spread over seeds and the
  stalled count, at the final and at the best epoch (``rows``: the compare
  study's summary rows)."""
  return column_table(SPREAD_COLUMNS, rows)


def healthy_partner(outcomes: Sequence[dict], stalled_seeds) -> dict | None:
  """The seed, not in ``stalled_seeds``, whose final accuracy is the median
  of those seeds."""
  healthy = [
    o
    for o in outcomes
    if o["seed"] not in stalled_seeds and o["final"] is not None
  ]
  if not healthy:
    return None
  healthy.sort(key=lambda o: o["final"])
  return healthy[(len(healthy) - 1) // 2]


def stalled_cases(by_setting: dict[tuple, list[dict]]) -> list[dict]:
  """Each setting with stalled runs, beside a healthy run.

  A run counts here when even its *best* epoch is stalled (it never reached
  its setting's level); a run that reached it and dipped at the end is
  stalled at the final epoch only, and is not a plateau.

  ``by_setting``: (pairing, hidden, lr) -> per-epoch rows. Returns one dict
  per setting with a stalled seed: ``setting``, ``stalled`` (a list, worst
  first) and ``healthy`` (the median healthy seed, or ``None``), each run a
  :func:`seed_outcome` plus its per-epoch ``rows``.
  """
  cases = []
  for setting, rows in by_setting.items():
    by_seed = records.group_rows(rows, lambda r: (r["seed"],))
    outcomes = [seed_outcome(seed_rows) for seed_rows in by_seed.values()]
    if len(outcomes) < 2:
      continue
    flags = stalled([o["best"] for o in outcomes])
    stuck = [o for o, f in zip(outcomes, flags, strict=True) if f]
    if not stuck:
      continue
    partner = healthy_partner(outcomes, {o["seed"] for o in stuck})

    def with_rows(outcome, by_seed=by_seed):
      return {**outcome, "rows": by_seed[(outcome["seed"],)]}

    cases.append(
      {
        "setting": setting,
        "stalled": [
          with_rows(o)
          for o in sorted(
            stuck, key=lambda o: -math.inf if o["final"] is None else o["final"]
          )
        ],
        "healthy": None if partner is None else with_rows(partner),
      }
    )
  return cases


def _at_epoch(rows, epoch, metric):
  for r in rows:
    if r["epoch"] == epoch:
      return r.get(metric)
  return None


def stalled_text(cases: Sequence[dict]) -> str:
  """Markdown: what the per-epoch records show inside each stalled run."""
  # Short: the terms are defined once, in docs/methods.md.
  if not cases:
    return "No run stalled at its best epoch.\n"
  lines = [
    "**Stalled runs** at their best epoch, each beside its setting's median "
    "healthy seed (docs/methods.md):\n",
  ]
  table = []
  for case in cases:
    pairing, hidden, lr = case["setting"]
    name = f"{pairing} [{records.hidden_text(hidden)}] eta={lr:g}"
    runs = [(run, "stalled") for run in case["stalled"]]
    if case["healthy"] is not None:
      runs.insert(0, (case["healthy"], "healthy"))
    for run, role in runs:
      rows, last = run["rows"], max(r["epoch"] for r in run["rows"])
      rare = run["rarely_predicted"]
      table.append(
        [
          name,
          f"{run['seed']} ({role})",
          _fmt(run["final"]),
          _fmt(run["best"]),
          _classes(rare),
          f"{_fmt3(_at_epoch(rows, 1, 'output_error'))} -> "
          f"{_fmt3(_at_epoch(rows, last, 'output_error'))}",
          f"{_fmt3(_at_epoch(rows, 1, 'output_slope'))} -> "
          f"{_fmt3(_at_epoch(rows, last, 'output_slope'))}",
        ]
      )
  headers = [
    "setting",
    "seed",
    "final %",
    "best %",
    "rarely predicted",
    "output error (epoch 1 -> last)",
    "output slope (epoch 1 -> last)",
  ]
  return "\n".join([*lines, *results.table_lines(headers, table)]) + "\n"


def _classes(rare):
  if rare is None:
    return "-"
  return ", ".join(f"{k} ({n})" for k, n in rare) or "none"


def _fmt(value):
  return "-" if value is None else f"{value:.2f}"


def _fmt3(value):
  return "-" if value is None else f"{value:.3g}"


def plot_seed_curves(by_setting, book, path, colors=None):
  """Every seed's test-accuracy curve, one panel per setting.

  ``book``: (pairing, hidden, lr) -> the book's number or ``None`` (a dotted
  line). ``colors``: pairing name -> its colour, the one it has in every
  figure. A seed stalled even at its best epoch keeps its pairing's colour
  and is drawn dashed, its last value marked. The panels share one
  accuracy range, from the data (from epoch 1: epoch 0 is chance), so a
  0.5-point spread looks small beside a stall; the legend sits below them.
  """
  plt = plotting.plt
  lines = plotting.matplotlib.lines
  colors = colors or {}
  settings = list(by_setting)
  cols = min(len(settings), 2)
  nrows = math.ceil(len(settings) / cols)
  fig, axes = plt.subplots(
    nrows,
    cols,
    figsize=(6 * cols, 3.4 * nrows + 0.6),
    squeeze=False,
    sharey=True,
    layout="constrained",
  )
  shown = []
  for ax, setting in zip(axes.flat, settings, strict=False):
    pairing, hidden, lr = setting
    color = colors.get(pairing, "tab:blue")
    by_seed = records.group_rows(by_setting[setting], lambda r: (r["seed"],))
    outcomes = [seed_outcome(rows) for rows in by_seed.values()]
    flags = stalled([o["best"] for o in outcomes])
    for (seed,), flag in zip(by_seed, flags, strict=True):
      rows = sorted(
        (
          r
          for r in by_seed[(seed,)]
          if r["epoch"] >= 1 and r["test_accuracy"] is not None
        ),
        key=lambda r: r["epoch"],
      )
      epochs = [r["epoch"] for r in rows]
      values = [100 * r["test_accuracy"] for r in rows]
      shown += values
      ax.plot(
        epochs,
        values,
        color=color,
        linestyle="--" if flag else "-",
        linewidth=1.6 if flag else 0.9,
        alpha=1.0 if flag else 0.6,
      )
      if flag and values:
        ax.plot(epochs[-1], values[-1], marker="x", color=color, markersize=7)
    reference = book.get(setting)
    if reference is not None:
      shown.append(reference)
      ax.axhline(reference, color="black", linestyle=":", linewidth=1)
    ax.set(
      title=f"{pairing} [{records.hidden_text(hidden)}], eta={lr:g}: "
      f"{len(outcomes)} seeds, {sum(flags)} stalled",
      xlabel="epoch",
    )
    plotting.integer_epochs(ax)
  for ax in axes[:, 0]:
    ax.set_ylabel("test accuracy (%)")
  if shown:
    low, high = min(shown), max(shown)
    pad = max(0.5, 0.05 * (high - low))
    axes[0, 0].set_ylim(max(low - pad, 0), min(high + pad, 100))
  for ax in list(axes.flat)[len(settings) :]:
    ax.set_visible(False)
  keys = [
    lines.Line2D([], [], color="grey", linewidth=0.9, label="a seed"),
    lines.Line2D(
      [],
      [],
      color="grey",
      linestyle="--",
      linewidth=1.6,
      marker="x",
      label="a stalled seed (best epoch > 5 points below the best seed)",
    ),
  ]
  if any(book.get(s) is not None for s in settings):
    keys.append(
      lines.Line2D([], [], color="black", linestyle=":", label="the book")
    )
  fig.legend(
    handles=keys, loc="outside lower center", ncols=len(keys), fontsize=8
  )
  return plotting.save_figure(fig, path)


_INSIDE = (
  ("test_accuracy", "test accuracy (%)", False),
  ("output_error", "mean |dC/dz| at the output", True),
  ("output_slope", "mean output slope da/dz", True),
  (
    "val_predicted_counts",
    f"classes predicted < {RARE_SHARE:.0%} of an even share",
    False,
  ),
)


def plot_stalled(cases: Sequence[dict], path):
  """Inside the stalled runs beside a healthy one: a row per setting with
  stalled seeds (:func:`stalled_cases`), a column per per-epoch record."""
  plt = plotting.plt
  fig, axes = plt.subplots(
    len(cases),
    len(_INSIDE),
    figsize=(4 * len(_INSIDE), 3.3 * len(cases)),
    squeeze=False,
  )
  for ax_row, case in zip(axes, cases, strict=True):
    pairing, hidden, lr = case["setting"]
    runs = [("healthy", case["healthy"], "tab:blue")] + [
      ("stalled", run, "tab:red") for run in case["stalled"]
    ]
    for ax, (metric, label, log_scale) in zip(ax_row, _INSIDE, strict=True):
      for role, run, color in runs:
        if run is None:
          continue
        rows = sorted(
          (r for r in run["rows"] if r.get(metric) is not None),
          key=lambda r: r["epoch"],
        )
        values = [_inside_value(metric, r[metric]) for r in rows]
        ax.plot(
          [r["epoch"] for r in rows],
          values,
          color=color,
          marker=".",
          alpha=1.0 if role == "healthy" else 0.6,
          label=f"seed {run['seed']} ({role})",
        )
      if log_scale:
        ax.set_yscale("log")
      ax.set(xlabel="epoch", ylabel=label)
      plotting.integer_epochs(ax)
    ax_row[0].set_title(
      f"{pairing} [{records.hidden_text(hidden)}], eta={lr:g}", fontsize=9
    )
    ax_row[0].legend(fontsize=7)
  return plotting.save_figure(fig, path)


def _inside_value(metric, value):
  if metric == "test_accuracy":
    return 100 * value
  if metric == "val_predicted_counts":
    return len(rarely_predicted(value))
  return value
