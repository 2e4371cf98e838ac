"""Feed-forward networks on MNIST-family data: does the pairing matter? (seed 000)

Trains MLPs ``[784, hidden..., 10]`` with sigmoid hidden layers (or
``hidden_activation``'s) under each pairing, every (seed, learning rate) of
a pairing and architecture in one vmapped, jit-compiled program, and records
per epoch: training cost,
validation and test accuracy, calibration (ECE, NLL, Brier score; see
:mod:`lossjax.calibration`), the mean output slope (how saturated the
outputs are), the output error ``|dC/dz|``, each layer's gradient norm and,
with label noise, the fraction of mislabelled training examples fitted to
their wrong label (``memorised``). Each run's temperature is fitted on
validation at its selected (best-validation) and last epoch
(``temperature.jsonl``), and the selected runs' test probabilities are saved
(``test_probabilities.npz``). ``metrics.jsonl`` gets one line per
configuration and epoch as each epoch finishes, so an interrupted run keeps
what it finished.
"""

import dataclasses
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lossjax import classify, plotting, records, results
from lossjax import config as cfg
from lossjax.data import DataConfig, check_batch_size
from lossjax.pairings import Pairing
from lossjax.studies import (
  calibration_report,
  multilabel_report,
  seed_spread,
  selected_epochs,
)
from lossjax.train_state import OPTIMIZERS


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  """Everything one comparison trains (see each field's help)."""

  data: DataConfig = DataConfig()
  pairings: tuple[Pairing, ...] = cfg.pairings_field(
    ("sigmoid_mse", "sigmoid_bce", "softmax_nll", "softmax_mse")
  )
  hidden: tuple[tuple[int, ...], ...] = cfg.hidden_field()
  hidden_activation: str = cfg.hidden_activation_field()
  lrs: tuple = cfg.lrs_field()
  batch_size: int = cfg.field(10, "Mini-batch size.", check=cfg.at_least(1))
  epochs: int = cfg.epochs_field(30)
  seeds: tuple[int, ...] = cfg.seeds_field()
  init: str = cfg.init_field()
  init_scale: float = cfg.field(
    1.0, "Multiplies every initial weight and bias.", check=cfg.finite
  )
  l2: float = cfg.field(
    0.0,
    "L2 regularisation lambda, as in the book: cost + lambda/(2n) sum w^2 "
    "(weights only).",
    check=cfg.all_of(cfg.finite, cfg.at_least(0)),
  )
  optimizer: str = cfg.field(
    "sgd", "Optax optimiser.", check=cfg.one_of(OPTIMIZERS)
  )
  window: int | None = cfg.window_field()

  def validate(self):
    cfg.check_lrs_cover(self.lrs, self.pairings)

  def groups(
    self,
  ) -> list[tuple[classify.GroupConfig, list[classify.RunConfig]]]:
    """(pairing, architecture) groups and their runs (seeds x rates)."""
    out = []
    for hidden in self.hidden:
      for p in self.pairings:
        group = classify.GroupConfig(
          pairing=p,
          hidden=hidden,
          init=self.init,
          batch_size=self.batch_size,
          epochs=self.epochs,
          optimizer=self.optimizer,
          l2=self.l2,
          window=self.window,
          hidden_activation=self.hidden_activation,
        )
        runs = [
          classify.RunConfig(seed=s, lr=lr, init_scale=self.init_scale)
          for lr in cfg.lrs_for(self.lrs, p)
          for s in self.seeds
        ]
        out.append((group, runs))
    return out


PRESETS = {
  # "Neural Networks and Deep Learning", chapters 1 and 3: 50,000 training
  # images, batch 10, 30 epochs, N(0, 1) weights and biases. The book reports
  # one run per setting; ten seeds say how often a setting gets stuck.
  "nielsen": {
    "pairings": ["sigmoid_mse", "sigmoid_bce"],
    "hidden": [[30], [100]],
    "lrs": [["sigmoid_mse", 3.0], ["sigmoid_bce", 0.5]],
    "batch_size": 10,
    "epochs": 30,
    "init": "large",
    "seeds": list(range(10)),
  },
  # Seed 000's question, "are the gradients the same?": the four pairings
  # from the book's large initialisation, with the output error at epochs 0
  # and 1 (the book's rates: 3.0 for the quadratic costs, 0.5 for the rest).
  "pairings": {
    "hidden": [[30]],
    "init": "large",
    "epochs": 10,
    "seeds": [0, 1, 2],
  },
  # Issue 19: does the output pairing still decide the speed of learning
  # when the hidden layers do not saturate? relu hidden layers, each
  # pairing on its own 4-rate grid (selected on validation), from the book's
  # N(0, 1) initialisation (run it again with --init=normalized).
  "relu": {
    "pairings": ["sigmoid_mse", "sigmoid_bce", "softmax_nll", "identity_mse"],
    "hidden": [[30]],
    "hidden_activation": "relu",
    "lrs": cfg.rate_grid(
      (("sigmoid_mse",), (0.1, 0.3, 1.0, 3.0)),
      (("sigmoid_bce", "softmax_nll"), (0.015, 0.05, 0.15, 0.5)),
      (("identity_mse",), (0.001, 0.003, 0.01, 0.03)),
    ),
    "init": "large",
    "epochs": 10,
    "seeds": [0, 1, 2],
  },
  # "Is the student right?": 7 pairings, each on its own 5-rate grid,
  # normalised initialisation, the rate selected on validation.
  "square_loss": {
    "pairings": [
      "sigmoid_mse",
      "softmax_mse",
      "sigmoid_bce",
      "softmax_nll",
      "smoothed_nll(eps=0.1)",
      "identity_mse",
      "rescaled_mse(k=3,m=5)",
    ],
    "hidden": [[100]],
    "lrs": cfg.rate_grid(
      (("sigmoid_mse", "softmax_mse"), (0.3, 1.0, 3.0, 10.0, 30.0)),
      (
        ("sigmoid_bce", "softmax_nll", "smoothed_nll(eps=0.1)"),
        (0.03, 0.1, 0.3, 1.0, 3.0),
      ),
      (("identity_mse",), (0.003, 0.01, 0.03, 0.1, 0.3)),
      (("rescaled_mse(k=3,m=5)",), (0.001, 0.003, 0.01, 0.03, 0.1)),
    ),
    "batch_size": 10,
    "epochs": 30,
    "init": "normalized",
    "seeds": [0, 1, 2],
  },
}

PRESETS["multilabel"] = {
  # Issue 18: seed 001's guideline on data where an image can carry several
  # labels: 1 to 3 MNIST digits side by side ([2352, 100, 10]), each
  # pairing on a 2-rate grid (its single-label optimum in
  # --preset=square_loss and the next rate up or down), selected on
  # validation exact-set accuracy. The single-label half of the guideline is
  # --preset=square_loss (the same pairings, [784, 100, 10]).
  "data": {"multilabel": 3},
  "pairings": [
    "sigmoid_bce",
    "softmax_nll",
    "sigmoid_mse",
    "softmax_mse",
    "identity_mse",
  ],
  "hidden": [[100]],
  "lrs": cfg.rate_grid(
    (("sigmoid_mse", "softmax_mse"), (1.0, 3.0)),
    (("sigmoid_bce", "softmax_nll"), (0.1, 0.3)),
    (("identity_mse",), (0.03, 0.1)),
  ),
  "batch_size": 10,
  "epochs": 30,
  "init": "normalized",
  "seeds": [0, 1, 2],
}

# The book's MNIST test accuracies (%) for its settings: (pairing, hidden,
# lr) with N(0, 1) init, batch 10 and 30 epochs.
BOOK_REFERENCE = {
  ("sigmoid_mse", (30,), 3.0): 95.42,
  ("sigmoid_mse", (100,), 3.0): 96.59,
  ("sigmoid_bce", (30,), 0.5): 95.49,
  ("sigmoid_bce", (100,), 0.5): 96.82,
}


def book_reference(config: Config, pairing: str, hidden, lr) -> float | None:
  """The book's number for these settings, if the book ran them."""
  if (
    config.init,
    config.batch_size,
    config.epochs,
    config.hidden_activation,
  ) != ("large", 10, 30, "sigmoid"):
    return None
  return BOOK_REFERENCE.get((pairing, tuple(hidden), lr))


@dataclasses.dataclass
class Result(classify.TrainingResult):
  """A comparison's rows, and what calibration needs beyond them.

  Attributes:
    scaled: one row per run and ``at`` (``"selected"``: the run's best
      validation epoch; ``"last"``): the temperature fitted on validation
      and the test ECE, NLL and Brier score after it (``temperature.jsonl``).
    test_probabilities: ``(pairing, hidden, lr, seed)`` -> ``(epoch,
      probabilities (N, classes))`` on the test split at the run's selected
      epoch (``test_probabilities.npz`` keeps the selected rates' runs).
    test_labels: the test split's labels (multi-hot targets for multi-label
      data).
    test_source_indices: multi-label data only: each test example's source
      images (``multilabel_test.npz``).
  """

  scaled: list[dict] = dataclasses.field(default_factory=list)
  test_probabilities: dict = dataclasses.field(default_factory=dict)
  test_labels: np.ndarray | None = None
  test_source_indices: np.ndarray | None = None


def run(
  config: Config, *, workdir: Path | None = None, log=print, dataset=None
) -> Result:
  """Trains every group; streams ``metrics.jsonl`` and tables into ``workdir``.

  ``dataset``: an already loaded :class:`lossjax.data.Dataset` to use as it is
  instead of loading ``config.data``.
  """
  config = config.replace(data=config.data.resolved())  # what ran
  dataset = dataset or config.data.load()
  check_batch_size(config.batch_size, len(dataset.train))
  log(dataset.describe())
  data = classify.DeviceData.from_dataset(dataset)
  result = Result(
    config,
    [],
    dataset.describe(),
    test_labels=np.asarray(dataset.test.labels),
    test_source_indices=dataset.test.source_indices,
  )
  if workdir is not None:
    result.write_config(workdir)
  with (
    records.JsonlWriter.maybe(workdir, "metrics.jsonl") as out,
    records.JsonlWriter.maybe(
      None if data.multilabel else workdir, "temperature.jsonl"
    ) as scaled_out,
  ):
    for group, runs in config.groups():
      label = f"{group.pairing.name} hidden={list(group.hidden)}"
      start = time.perf_counter()
      # Calibration reads class labels; multi-label data has label sets.
      tracker = (
        selected_epochs.NoTracker()
        if data.multilabel
        else selected_epochs.SelectedEpochs(group, data)
      )
      for epoch in classify.train_group(group, runs, data):
        rows = [
          {
            "pairing": group.pairing.name,
            "hidden": list(group.hidden),
            "lr": run.lr,
            "seed": run.seed,
            "init": group.init,
            "init_scale": run.init_scale,
            **row,
          }
          for run, row in zip(runs, epoch.rows, strict=True)
        ]
        out.write(rows)
        result.rows += rows
        tracker.update(rows, epoch.params)
        log(_progress_line(label, rows, group.epochs, start))
      scaled = tracker.scaled_rows(runs)
      scaled_out.write(scaled)
      result.scaled += scaled
      result.test_probabilities.update(tracker.selected_test(runs))
      if workdir is not None:  # tables after every group survive a kill
        write(result, workdir, figures=False)
  return result


def _progress_line(label, rows, epochs, start) -> str:
  accuracy, _ = records.mean_and_spread([r["test_accuracy"] for r in rows])
  cost, _ = records.mean_and_spread([r["train_cost"] for r in rows])
  cost_text = "-" if cost is None else f"{cost:.4f}"
  acc_text = "-" if accuracy is None else f"{100 * accuracy:.2f}%"
  return (
    f"[{label}] epoch {rows[0]['epoch']}/{epochs}  train cost {cost_text}  "
    f"test acc {acc_text}  ({time.perf_counter() - start:.1f}s)"
  )


def _group_key(row: dict) -> tuple:
  return (row["pairing"], tuple(row["hidden"]), row["lr"])


def summarize(result: Result) -> list[dict]:
  """One row per (pairing, architecture, lr): mean and spread over seeds."""
  summary = []
  scaled = {
    (selected_epochs.probability_key(r), r["at"]): r for r in result.scaled
  }
  for (pairing, hidden, lr), group in records.group_rows(
    result.rows, _group_key
  ).items():
    by_seed = records.group_rows(group, lambda r: (r["seed"],))
    outcomes, at_best_val, best_vals, diverged = [], [], [], 0
    selected_rows, last_rows, scaled_selected, scaled_last = [], [], [], []
    for seed_rows in by_seed.values():
      trained = [r for r in seed_rows if r["epoch"] > 0] or seed_rows
      diverged += not _finite(trained[-1]["train_cost"])
      outcomes.append(seed_spread.seed_outcome(seed_rows))
      best_val = max(
        trained,
        key=lambda r: (
          -math.inf if r["val_accuracy"] is None else r["val_accuracy"]
        ),
      )
      at_best_val.append(best_val["test_accuracy"])
      best_vals.append(best_val["val_accuracy"])
      selected_rows.append(best_val)
      last_rows.append(trained[-1])
      key = selected_epochs.probability_key(best_val)
      scaled_selected.append(scaled.get((key, "selected")))
      scaled_last.append(scaled.get((key, "last")))
    errors = {
      epoch: records.mean_and_spread(
        [r["output_error"] for r in group if r["epoch"] == epoch]
      )[0]
      for epoch in (0, 1)
    }
    row = {
      "pairing": pairing,
      "hidden": "-".join(map(str, hidden)),
      "lr": lr,
      "seeds": len(by_seed),
      "epochs": max(r["epoch"] for r in group),
      "diverged_seeds": diverged,
      "output_error_epoch0": errors[0],
      "output_error_epoch1": errors[1],
      "book_test_accuracy": book_reference(result.config, pairing, hidden, lr),
    }
    for name, values in (
      ("final_test", [o["final"] for o in outcomes]),
      ("best_test", [o["best"] for o in outcomes]),
      ("test_at_best_val", [seed_spread.percent(v) for v in at_best_val]),
      ("best_val", [seed_spread.percent(v) for v in best_vals]),
    ):
      row[f"{name}_mean"], row[f"{name}_std"] = records.mean_and_spread(values)
    row.update(seed_spread.summary_fields(outcomes))
    row.update(
      calibration_report.summary_fields(
        selected_rows, last_rows, scaled_selected, scaled_last
      )
    )
    row.update(multilabel_report.summary_fields(selected_rows, last_rows))
    summary.append(row)
  _mark_selected(summary)
  return summary


def _mark_selected(summary: list[dict]) -> None:
  """Per (pairing, architecture): ``selected`` is the rate with the best mean
  validation accuracy (its best epoch, averaged over seeds); the smaller rate
  wins a tie. Test accuracy plays no part in the choice."""
  groups = records.group_rows(summary, lambda r: (r["pairing"], r["hidden"]))
  for rows in groups.values():
    best = max(
      rows,
      key=lambda r: (
        -math.inf if r["best_val_mean"] is None else r["best_val_mean"],
        -r["lr"],
      ),
    )
    for r in rows:
      r["selected"] = r is best


def selected_rows(
  result: Result, summary_rows: Sequence[dict] | None = None
) -> list[dict]:
  """The per-epoch rows of the selected rate of each (pairing, architecture).

  ``summary_rows``: :func:`summarize`'s rows if the caller has them.
  """
  if summary_rows is None:
    summary_rows = summarize(result)
  chosen = {
    (r["pairing"], r["hidden"], r["lr"]) for r in summary_rows if r["selected"]
  }
  return [
    r
    for r in result.rows
    if (r["pairing"], "-".join(map(str, r["hidden"])), r["lr"]) in chosen
  ]


def _finite(value) -> bool:
  return value is not None and math.isfinite(value)


def summary_table(rows: Sequence[dict]) -> str:
  """The Markdown table of :func:`summarize`'s rows.

  A row whose training cost ended non-finite for some seeds is marked
  ``(diverged k/n)`` next to its pairing: its accuracies are those of a
  broken network, not of the pairing.
  """

  def pct(mean, std):
    return "-" if mean is None else f"{mean:.2f} ± {std:.2f}"

  lines = [
    "| pairing | hidden | lr | seeds | epochs | final test % | best test % "
    "| test % at best val | output error (epoch 0 -> 1) | book (MNIST) % |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ]
  for r in rows:
    book = r["book_test_accuracy"]
    name = r["pairing"]
    if r["diverged_seeds"]:
      name += f" (diverged {r['diverged_seeds']}/{r['seeds']})"
    lines.append(
      f"| {name} | {r['hidden']} | {r['lr']:g} | {r['seeds']} | "
      f"{r['epochs']} | {pct(r['final_test_mean'], r['final_test_std'])} | "
      f"{pct(r['best_test_mean'], r['best_test_std'])} | "
      f"{pct(r['test_at_best_val_mean'], r['test_at_best_val_std'])} | "
      f"{results.format_value(r['output_error_epoch0'], 3)} -> "
      f"{results.format_value(r['output_error_epoch1'], 3)} | "
      f"{'-' if book is None else f'{book:.2f}'} |"
    )
  return "\n".join(lines) + "\n"


def summary(
  result: Result,
  rows: Sequence[dict] | None = None,
  *,
  cases: Sequence[dict] | None = None,
) -> str:
  """summary.md; ``rows``: :func:`summarize`'s rows and ``cases``:
  :func:`stalled_cases`, if the caller has them."""
  c = result.config
  rows = summarize(result) if rows is None else rows
  if cases is None:
    cases = stalled_cases(selected_rows(result, rows))
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
        if "multi-label" in result.description
        else []
      ),
      "Accuracies are test-set percentages, mean ± standard deviation over "
      "seeds. *best* is the best epoch; *at best val* is the test accuracy at "
      "the epoch with the best validation accuracy (honest model selection). "
      "*output error* is the mean norm of dC/dz at the output layer on the "
      "validation set, before training (epoch 0) and after one epoch.\n",
      *_grid_note(rows),
      summary_table([r for r in rows if r["selected"]]),
      *_seed_sections(result, rows, cases),
      *calibration_report.sections(
        [r for r in rows if r["selected"]], result.description
      ),
      *multilabel_report.sections([r for r in rows if r["selected"]]),
    ]
  )


def _several_seeds(result: Result) -> bool:
  return len(result.config.seeds) > 1


def stalled_cases(chosen: Sequence[dict]) -> list[dict]:
  """:func:`lossjax.studies.seed_spread.stalled_cases` of the selected
  rates' per-epoch rows ``chosen`` (:func:`selected_rows`)."""
  return seed_spread.stalled_cases(records.group_rows(chosen, _group_key))


def _seed_sections(result: Result, rows, cases) -> list[str]:
  """The spread over seeds and the stalled runs (several seeds only)."""
  if not _several_seeds(result):
    return []
  return [
    "\nSpread over seeds: test accuracy (%) at the final epoch and at each "
    "seed's best epoch; median [min, max], mean ± std, and how many seeds "
    f"*stalled* (more than {seed_spread.STALL_MARGIN:g} points below the "
    "setting's best seed at the same statistic). At the final epoch that "
    "also counts a run that reached its setting's level and dipped at the "
    "end; at the best epoch it counts only runs that never reached it.\n",
    seed_spread.spread_table([r for r in rows if r["selected"]]),
    seed_spread.stalled_text(cases),
  ]


def _grid_note(rows: Sequence[dict]) -> list[str]:
  groups = records.group_rows(rows, lambda r: (r["pairing"], r["hidden"]))
  if all(len(g) == 1 for g in groups.values()):
    return []
  grids = sorted({tuple(sorted(r["lr"] for r in g)) for g in groups.values()})
  text = "; ".join(", ".join(f"{lr:g}" for lr in grid) for grid in grids)
  return [
    f"Each pairing and architecture trained at every rate of its grid "
    f"({text}); the table shows the rate with the best mean validation "
    "accuracy (its best epoch), chosen without looking at the test set. "
    "`summary.json` holds every rate (`selected`: true or false) and "
    "`lr_tuning.png` the whole tuning curve.\n"
  ]


def _curve(rows, metric):
  """Epochs, mean, min and max over seeds of ``metric``."""
  by_epoch = records.group_rows(
    (r for r in rows if r.get(metric) is not None), lambda r: (r["epoch"],)
  )
  epochs = sorted(e for (e,) in by_epoch)
  values = [[r[metric] for r in by_epoch[(e,)]] for e in epochs]
  return (
    epochs,
    [sum(v) / len(v) for v in values],
    [min(v) for v in values],
    [max(v) for v in values],
  )


def plot_metric(
  result: Result,
  metric,
  ylabel,
  path,
  *,
  log_scale=False,
  percent=False,
  rows: Sequence[dict] | None = None,
):
  """One panel per architecture, one line (mean, min-max band) per pairing.

  ``rows``: the per-epoch rows to draw (default: :func:`selected_rows`).
  """
  plt = plotting.plt
  by_name = {p.name: p for p in result.config.pairings}
  rows = selected_rows(result) if rows is None else rows
  archs = list(dict.fromkeys(tuple(r["hidden"]) for r in rows))
  fig, axes = plt.subplots(
    1, len(archs), figsize=(5.5 * len(archs), 4), squeeze=False
  )
  for ax, arch in zip(axes[0], archs, strict=True):
    arch_rows = [r for r in rows if tuple(r["hidden"]) == arch]
    for (name, _, lr), group in records.group_rows(
      arch_rows, _group_key
    ).items():
      epochs, mean, low, high = _curve(group, metric)
      if not epochs:
        continue
      scale = 100 if percent else 1
      color = by_name[name].display_color
      ax.plot(
        epochs,
        [scale * v for v in mean],
        color=color,
        label=f"{by_name[name].display_label}, eta={lr:g}",
      )
      ax.fill_between(
        epochs,
        [scale * v for v in low],
        [scale * v for v in high],
        color=color,
        alpha=0.2,
      )
    ax.set(title=f"hidden {list(arch)}", xlabel="epoch", ylabel=ylabel)
    if log_scale:
      ax.set_yscale("log")
    ax.legend(fontsize=8)
  return plotting.save_figure(fig, path)


def plot_grad_norms(result: Result, path, rows: Sequence[dict] | None = None):
  """Per-layer gradient norm versus epoch: a panel per pairing and architecture.

  ``rows``: the per-epoch rows to draw (default: :func:`selected_rows`).
  """
  plt = plotting.plt
  rows = selected_rows(result) if rows is None else rows
  groups = records.group_rows(
    (r for r in rows if r["grad_norm"] is not None),
    _group_key,
  )
  fig, axes = plt.subplots(
    1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False, sharey=True
  )
  for ax, ((pairing, hidden, lr), group) in zip(
    axes[0], groups.items(), strict=True
  ):
    num_layers = len(group[0]["grad_norm"])
    by_epoch = records.group_rows(group, lambda r: (r["epoch"],))
    epochs = sorted(e for (e,) in by_epoch)
    for layer in range(num_layers):
      means = [
        sum(r["grad_norm"][layer] for r in by_epoch[(e,)]) / len(by_epoch[(e,)])
        for e in epochs
      ]
      name = "output" if layer == num_layers - 1 else f"hidden {layer + 1}"
      ax.plot(epochs, means, marker=".", label=f"layer {layer + 1} ({name})")
    ax.set(
      title=f"{pairing} {list(hidden)}, eta={lr:g}",
      xlabel="epoch",
      ylabel="mean gradient norm",
    )
    ax.set_yscale("log")
    plotting.integer_epochs(ax)
    ax.legend(fontsize=8)
  return plotting.save_figure(fig, path)


FIGURES = (
  ("test_accuracy", "test accuracy (%)", "accuracy", {"percent": True}),
  ("test_ece", "test expected calibration error (%)", "ece", {"percent": True}),
  (
    "memorised",
    "mislabelled training examples fitted to their wrong label (%)",
    "memorised",
    {"percent": True},
  ),
  (
    "output_error",
    "mean |dC/dz| at the output",
    "output_error",
    {"log_scale": True},
  ),
  (
    "output_slope",
    "mean output slope da/dz",
    "saturation",
    {"log_scale": True},
  ),
)


def write(
  result: Result, workdir: str | Path, *, figures: bool = True
) -> list[Path]:
  """summary.json, summary.md and (optionally) the figures."""
  workdir = Path(workdir)
  # Once: every output below derives from these.
  summary_rows = summarize(result)
  chosen = selected_rows(result, summary_rows)
  cases = stalled_cases(chosen)
  paths = [
    results.write_json(workdir / "summary.json", summary_rows),
    results.atomic_write_text(
      workdir / "summary.md", summary(result, summary_rows, cases=cases)
    ),
  ]
  pairings = {p.name: p for p in result.config.pairings}
  paths += calibration_report.write_outputs(
    result.test_probabilities,
    result.scaled,
    result.test_labels,
    summary_rows,
    pairings,
    workdir,
    figures=figures,
  )
  if result.test_source_indices is not None:
    paths.append(
      multilabel_report.write_test_examples(
        workdir / multilabel_report.TEST_FILE,
        result.test_source_indices,
        result.test_labels,
      )
    )
  if figures:
    for metric, ylabel, name, options in FIGURES:
      if not any(r.get(metric) is not None for r in chosen):
        continue  # e.g. memorised, without label noise
      path = workdir / f"{name}.png"
      paths.append(
        plot_metric(result, metric, ylabel, path, rows=chosen, **options)
      )
    paths.append(plot_grad_norms(result, workdir / "grad_norm.png", chosen))
    if _several_seeds(result):
      by_setting = records.group_rows(chosen, _group_key)
      book = {key: book_reference(result.config, *key) for key in by_setting}
      paths.append(
        seed_spread.plot_seed_curves(by_setting, book, workdir / "seeds.png")
      )
      if cases:
        paths.append(seed_spread.plot_stalled(cases, workdir / "stalled.png"))
    if _grid_note(summary_rows):
      paths.append(
        plot_lr_tuning(result, summary_rows, workdir / "lr_tuning.png")
      )
    selected = [r for r in summary_rows if r["selected"]]
    if multilabel_report.counts_of(selected):
      paths.append(
        multilabel_report.plot_label_counts(
          selected, pairings, workdir / "label_count.png"
        )
      )
  return paths


def plot_lr_tuning(result: Result, rows: Sequence[dict], path: Path) -> Path:
  """Accuracy against learning rate, per pairing: the tuning curve.

  Validation accuracy (what selects the rate) and test accuracy at the best
  validation epoch, mean ± std over seeds; the selected rate is circled.
  """
  plt = plotting.plt
  by_name = {p.name: p for p in result.config.pairings}
  archs = list(dict.fromkeys(r["hidden"] for r in rows))
  fig, axes = plt.subplots(
    1, len(archs), figsize=(6 * len(archs), 4.2), squeeze=False
  )
  for ax, arch in zip(axes[0], archs, strict=True):
    for name, group in records.group_rows(
      [r for r in rows if r["hidden"] == arch], lambda r: (r["pairing"],)
    ).items():
      pairing = by_name[name[0]]
      group = sorted(group, key=lambda r: r["lr"])
      lrs = [r["lr"] for r in group]
      test = [r["test_at_best_val_mean"] for r in group]
      ax.errorbar(
        lrs,
        [math.nan if v is None else v for v in test],
        yerr=[r["test_at_best_val_std"] or 0.0 for r in group],
        color=pairing.display_color,
        marker="o",
        capsize=3,
        label=pairing.display_label,
      )
      for r in group:
        if r["selected"] and r["test_at_best_val_mean"] is not None:
          ax.scatter(
            [r["lr"]],
            [r["test_at_best_val_mean"]],
            s=160,
            facecolors="none",
            edgecolors=pairing.display_color,
          )
    ax.set_xscale("log")
    ax.set(
      title=f"hidden {arch}: test accuracy at the best validation epoch",
      xlabel="learning rate",
      ylabel="test accuracy (%)",
    )
    ax.legend(fontsize=8)
  return plotting.save_figure(fig, path)


def load(workdir: str | Path) -> Result:
  """The result of an earlier run, from its config.json and metrics.jsonl."""
  workdir = Path(workdir)
  for name in ("config.json", "metrics.jsonl"):
    if not (workdir / name).is_file():
      raise ValueError(
        f"{workdir / name} not found: it is not the workdir of a run."
      )
  saved = results.read_json(workdir / "config.json")
  config = cfg.from_json(Config, saved["config"])
  rows = records.read_jsonl(workdir / "metrics.jsonl")
  if not rows:
    raise ValueError(
      f"{workdir / 'metrics.jsonl'} holds no finished epoch: nothing to "
      "report. Run the study (without --report_only) first."
    )
  result = Result(config, rows, saved["data"])
  if (workdir / "temperature.jsonl").is_file():
    result.scaled = records.read_jsonl(workdir / "temperature.jsonl")
  saved_probabilities = calibration_report.read_probabilities(
    workdir / calibration_report.PROBABILITIES_FILE
  )
  if saved_probabilities is not None:
    result.test_probabilities, result.test_labels = saved_probabilities
  saved_examples = multilabel_report.read_test_examples(
    workdir / multilabel_report.TEST_FILE
  )
  if saved_examples is not None:
    result.test_source_indices, result.test_labels = saved_examples
  return result
