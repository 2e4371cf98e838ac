"""Saturation in deep networks (Glorot & Bengio 2010; the book's ch. 5).

MLPs with 1 to 5 hidden layers of each hidden activation (sigmoid, tanh,
relu by default), N(0, 1) initialisation ("large") versus Glorot
initialisation, under each pairing. Per layer and per epoch: mean and spread
of the activations, the fraction of saturated units (sigmoid below 0.01 or
above 0.99, tanh beyond +-0.98, relu at 0: dead; see
:class:`lossjax.HiddenActivation`) and the gradient norm. Writes
``metrics.jsonl`` as it trains, then ``summary.json``/``.md`` and the figures
``layers_depth<D>_<activation>.png`` and ``grad_ratio.png``.
"""

import dataclasses
import functools
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lossjax import config as cfg
from lossjax import config_fields
from lossjax.core.init import INITIALIZERS
from lossjax.core.pairings import Pairing
from lossjax.datasets.data import DataConfig, check_batch_size
from lossjax.metrics.evals import ClassificationEval
from lossjax.output import plotting, progress, records, results
from lossjax.training import classify


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  """The study: depths x initialisations x pairings."""

  data: DataConfig = DataConfig(train_size=20_000, eval_size=1_000)
  depths: tuple[int, ...] = cfg.field(
    (1, 2, 3, 4, 5),
    "Numbers of hidden layers.",
    check=cfg.all_of(cfg.nonempty_unique, cfg.each(cfg.at_least(1))),
  )
  width: int = cfg.field(30, "Units per hidden layer.", check=cfg.at_least(1))
  hidden_activations: tuple[str, ...] = cfg.field(
    ("sigmoid", "tanh", "relu"),
    "Hidden activations to compare: names of lossjax.HIDDEN_ACTIVATIONS or "
    "package.module:attribute.",
    check=cfg.all_of(
      cfg.nonempty_unique, cfg.each(config_fields.hidden_activation_check)
    ),
  )
  inits: tuple[str, ...] = cfg.field(
    ("large", "glorot"),
    "Initialisers to compare.",
    check=cfg.all_of(cfg.nonempty_unique, cfg.each(cfg.one_of(INITIALIZERS))),
  )
  pairings: tuple[Pairing, ...] = config_fields.pairings_field(
    ("sigmoid_mse", "softmax_nll")
  )
  lrs: tuple = config_fields.lrs_field()
  epochs: int = config_fields.epochs_field(10)
  batch_size: int = cfg.field(10, "Mini-batch size.", check=cfg.at_least(1))
  seeds: tuple[int, ...] = config_fields.seeds_field()
  window: int | None = config_fields.window_field()

  NOT_IN_FINGERPRINT = ("window",)  # equal results up to round-off

  def validate(self):
    config_fields.check_lrs_cover(self.lrs, self.pairings)

  def groups(self) -> list[tuple[tuple, classify.GroupConfig, list]]:
    """``((depth, activation, init), group, runs)`` for every setting: all
    pairings, rates and seeds of a setting train in one program."""
    out = []
    for depth, activation, init in itertools.product(
      self.depths, self.hidden_activations, self.inits
    ):
      group = classify.GroupConfig(
        pairings=self.pairings,
        hidden=(self.width,) * depth,
        init=init,
        batch_size=self.batch_size,
        epochs=self.epochs,
        window=self.window,
        hidden_activation=activation,
      )
      runs = [
        classify.RunConfig(seed=s, lr=lr, pairing=pairing)
        for pairing in self.pairings
        for lr in config_fields.lrs_for(self.lrs, pairing)
        for s in self.seeds
      ]
      out.append(((depth, activation, init), group, runs))
    return out


PRESETS = {}


@dataclasses.dataclass
class Result(classify.TrainingResult):
  """The saturation study's rows (``metrics.jsonl``) and their summary."""

  @functools.cached_property
  def summary(self) -> list[dict]:
    """:func:`summarize` of the rows, computed once (after :func:`run`):
    summary.json, summary.md, the figures and the report read it."""
    return summarize(self.rows)

  def at(self, depth: int, activation: str, init: str, pairing: str) -> dict:
    """The summary row of one (depth, hidden activation, init, pairing)."""
    for r in self.summary:
      if (r["depth"], r["hidden_activation"], r["init"], r["pairing"]) == (
        depth,
        activation,
        init,
        pairing,
      ):
        return r
    raise KeyError(
      f"no saturation run of depth {depth}, {activation}, {init}, {pairing}"
    )


def run(
  config: Config,
  *,
  workdir: Path | None = None,
  log=progress.info,
  dataset=None,
) -> Result:
  """Trains every (depth, init, pairing, rate); streams metrics.jsonl.

  ``dataset``: the data already read
  (:meth:`lossjax.datasets.data.DataConfig.load_source`), e.g. once for several
  studies; ``config.data``'s sizes, label noise and multi-label composition
  are applied to it as to data loaded here.
  """
  dataset = config.data.load(loaded=dataset)
  check_batch_size(config.batch_size, len(dataset.train))
  groups = config.groups()
  classify.check_memory(
    [(g, r) for _, g, r in groups],
    dataset,
    fix="Give a smaller --width or --depths, fewer --seeds, --lrs or "
    "--pairings, or a smaller --eval_size.",
  )
  log(dataset.describe())
  device_data = classify.DeviceData.from_dataset(dataset)
  result = Result(config, [], dataset.describe())
  if workdir is not None:  # first, so an interrupted run says what it was
    result.write_config(workdir)
  with records.JsonlWriter.maybe(workdir, "metrics.jsonl") as out:
    timer = progress.Progress(len(groups) * config.epochs, starts=len(groups))
    for (depth, activation, init), group, runs in groups:
      timer.start()
      # The group config carries the hidden activation to the evaluator.
      evaluator = functools.partial(ClassificationEval, layer_stats=True)
      for epoch in classify.train_group(
        group, runs, device_data, evaluator=evaluator
      ):
        new = [
          {
            "depth": depth,
            "hidden_activation": activation,
            "init": init,
            "pairing": group.pairing_of(run).name,
            "seed": run.seed,
            **row,
          }
          for run, row in zip(runs, epoch.rows, strict=True)
        ]
        out.write(new)
        result.rows += new
      step = timer.done(config.epochs)
      for pairing in config.pairings:
        last = next(r for r in new if r["pairing"] == pairing.name)
        log(
          f"depth {depth} {activation} {init:>6} {pairing.name}: test acc "
          f"{100 * last['test_accuracy']:.1f}%, saturated (last hidden) "
          f"{100 * last['saturated'][-1]:.0f}%, |dC/db| first/last hidden "
          f"{_ratio(last)}  ({step.text()})"
        )
  return result


def summary(result: Result) -> str:
  return WRITEUP + summary_table(result.summary)


def summary_table(summary_rows: Sequence[dict]) -> str:
  """The Markdown table of :func:`summarize`'s rows."""
  return results.markdown_table(summary_rows, SUMMARY_COLUMNS)


def _ratio(row: dict) -> str:
  norms = row["bias_grad_norm"]
  if norms is None or len(norms) < 3:
    return "-"
  return results.format_value(first_over_last(norms[0], norms[-2]), 3)


def first_over_last(first: float | None, last: float | None) -> float | None:
  """The speed-of-learning ratio; ``None`` when the last hidden layer gets
  no gradient at all (every relu unit of it dead) or a run diverged, where
  it is undefined."""
  if first is None or last is None or last == 0:
    return None
  return first / last


def _activation(row: dict) -> str:
  # Rows written before the study compared activations are sigmoid rows.
  return row.get("hidden_activation", "sigmoid")


def summarize(rows: Sequence[dict]) -> list[dict]:
  """One row per (depth, activation, init, pairing): numbers the report
  quotes."""
  summary = []
  groups = records.group_rows(
    rows, lambda r: (r["depth"], _activation(r), r["init"], r["pairing"])
  )
  for (depth, activation, init, pairing), group in groups.items():
    first_epoch = [r for r in group if r["epoch"] == 1]
    final_epoch = max(r["epoch"] for r in group)
    final = [r for r in group if r["epoch"] == final_epoch]
    initial = [r for r in group if r["epoch"] == 0]

    def mean(values):
      # A diverged run records NaN as null: it has no value to average.
      present = [v for v in values if v is not None]
      return float(np.mean(present)) if present else None

    # The book's per-layer speed of learning: |dC/db^l| = |delta^l| (weight
    # gradients scale with the layer's fan-in, so they do not compare across
    # layers). Layers run input to output; [-1] is the output layer.
    first_hidden = mean([r["bias_grad_norm"][0] for r in first_epoch])
    last_hidden = mean([r["bias_grad_norm"][-2] for r in first_epoch])
    summary.append(
      {
        "depth": depth,
        "hidden_activation": activation,
        "init": init,
        "pairing": pairing,
        "final_test_accuracy": mean([r["test_accuracy"] for r in final]),
        "epoch1_grad_norm_first_hidden": first_hidden,
        "epoch1_grad_norm_last_hidden": last_hidden,
        "epoch1_first_over_last": first_over_last(first_hidden, last_hidden),
        "initial_saturated_last_hidden": mean(
          [r["saturated"][-1] for r in initial]
        ),
        "final_saturated_last_hidden": mean(
          [r["saturated"][-1] for r in final]
        ),
        "initial_mean_last_hidden": mean([r["act_mean"][-1] for r in initial]),
        "final_mean_last_hidden": mean([r["act_mean"][-1] for r in final]),
      }
    )
  return summary


SUMMARY_COLUMNS = (
  "depth",
  "hidden_activation",
  "init",
  "pairing",
  "final_test_accuracy",
  "epoch1_first_over_last",
  "initial_saturated_last_hidden",
  "final_saturated_last_hidden",
  "final_mean_last_hidden",
)


def plot_layers(rows, depth: int, activation: str, path: Path) -> Path:
  """Per-layer curves for one depth and hidden activation: rows = (init,
  pairing), columns = stats."""
  plt = plotting.plt
  groups = records.group_rows(
    (r for r in rows if r["depth"] == depth and _activation(r) == activation),
    lambda r: (r["init"], r["pairing"]),
  )
  fig, axes = plt.subplots(
    len(groups), 3, figsize=(13, 2.8 * len(groups)), squeeze=False
  )
  for ax_row, ((init, pairing), group) in zip(
    axes, groups.items(), strict=True
  ):
    by_epoch = records.group_rows(group, lambda r: (r["epoch"],))
    epochs = sorted(e for (e,) in by_epoch)
    colors = plt.cm.viridis(np.linspace(0, 0.9, depth))

    def series(key, layer, epochs, by_epoch=by_epoch):
      # NaN (a diverged run, recorded as null) leaves a gap in the curve.
      values = [
        [
          r[key][layer]
          for r in by_epoch[(e,)]
          if r[key] is not None and r[key][layer] is not None
        ]
        for e in epochs
      ]
      return np.array([np.mean(v) if v else np.nan for v in values])

    means, grads = [], []
    for layer in range(depth):
      label = f"hidden {layer + 1}"
      mean = series("act_mean", layer, epochs)
      means.append(mean)
      std = series("act_std", layer, epochs)
      ax_row[0].plot(epochs, mean, color=colors[layer], label=label)
      ax_row[0].fill_between(
        epochs, mean - std, mean + std, color=colors[layer], alpha=0.1
      )
      ax_row[1].plot(
        epochs,
        series("saturated", layer, epochs),
        color=colors[layer],
        label=label,
      )
      trained = epochs[1:]
      grads.append(series("bias_grad_norm", layer, trained))
      ax_row[2].plot(
        trained, grads[-1], color=colors[layer], marker=".", label=label
      )
    title = f"{activation}, {init} init, {pairing}"
    ax_row[0].set(title=f"{title}: activation mean ± std", xlabel="epoch")
    ax_row[1].set(
      title="fraction saturated (relu: dead)", ylim=(0, 1), xlabel="epoch"
    )
    ax_row[2].set(title="|dC/db| per layer (speed of learning)", xlabel="epoch")
    if np.any(np.asarray(grads) > 0):
      ax_row[2].set_yscale("log")
    _note_missing(ax_row[0], epochs, means)
    _note_missing(
      ax_row[2], epochs[1:], grads, zero="no gradient (|dC/db| = 0)"
    )
    for ax in ax_row:
      plotting.integer_epochs(ax)
    ax_row[1].legend(fontsize=7)
  return plotting.save_figure(fig, path)


def _note_missing(ax, epochs, curves, *, zero: str | None = None) -> None:
  """Says in the panel from which epoch its curves have no point: not
  finite (a diverged run, recorded as null), or 0 on a log axis (``zero``),
  so an empty stretch of a panel is explained rather than hidden."""
  values = np.asarray(curves, dtype=float)
  if not values.size:
    return
  notes = []
  bad = ~np.isfinite(values).all(axis=0)
  if bad.any():
    notes.append(f"not finite (diverged) from epoch {epochs[np.argmax(bad)]}")
  if zero is not None:
    nil = (np.isfinite(values) & (values <= 0)).any(axis=0)
    if nil.any():
      notes.append(f"{zero} from epoch {epochs[np.argmax(nil)]}")
  if notes:
    ax.text(
      0.98,
      0.95,
      "\n".join(notes),
      transform=ax.transAxes,
      ha="right",
      va="top",
      fontsize=8,
      color="darkred",
    )


def plot_grad_ratio(summary, path: Path, colors: dict[str, str]) -> Path:
  """First / last hidden layer speed of learning against depth: a panel per
  hidden activation."""
  plt = plotting.plt
  panels = records.group_rows(summary, lambda r: (r["hidden_activation"],))
  fig, axes = plt.subplots(
    1,
    len(panels),
    figsize=(5.5 * len(panels), 4.6),
    squeeze=False,
    sharey=True,
    layout="constrained",
  )
  for ax, ((activation,), rows) in zip(axes[0], panels.items(), strict=True):
    _plot_ratio_panel(ax, rows, colors)
    ax.set_title(f"{activation} hidden layers: |dC/db| first / last (epoch 1)")
  # One legend for every panel, below them (off the data); the panels may
  # have different entries (a diverged run), so they are collected from all.
  entries = {}
  for ax in axes[0]:
    for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
      entries.setdefault(label, handle)
  fig.legend(
    entries.values(),
    entries.keys(),
    fontsize=8,
    loc="outside lower center",
    ncol=3,
  )
  return plotting.save_figure(fig, path)


def _plot_ratio_panel(ax, summary, colors: dict[str, str]) -> None:
  for (init, pairing), group in records.group_rows(
    summary, lambda r: (r["init"], r["pairing"])
  ).items():
    group = [r for r in group if r["depth"] >= 2]
    if not group:
      continue
    ax.plot(
      [r["depth"] for r in group],
      [
        np.nan
        if r["epoch1_first_over_last"] is None
        else r["epoch1_first_over_last"]
        for r in group
      ],  # undefined ratios (a dead last layer) leave a gap
      marker="o",
      color=colors[pairing],
      linestyle="-" if init == "large" else "--",
      label=f"{init} init, {pairing}",
    )
    # A run without a ratio is marked at the top of the panel, not dropped:
    # x where its gradient was not finite (diverged), o where the last
    # layer's was 0 (dead).
    missing = [r for r in group if r["epoch1_first_over_last"] is None]
    for k, r in enumerate(missing):
      diverged = r["epoch1_grad_norm_last_hidden"] is None
      ax.plot(
        r["depth"],
        0.96,
        marker="x" if diverged else "o",
        markersize=9,
        markerfacecolor="none",
        color=colors[pairing],
        transform=ax.get_xaxis_transform(),
        clip_on=False,
        linestyle="none",
        label=None
        if k
        else f"{init} init, {pairing}: "
        + ("diverged" if diverged else "dead last layer"),
      )
  ax.axhline(1, color="grey", linewidth=0.8)
  ax.set(xlabel="hidden layers", ylabel="ratio")
  ax.set_yscale("log")
  plotting.integer_epochs(ax)  # whole numbers of layers


def write(result: "Result", workdir: str | Path) -> list[Path]:
  workdir = Path(workdir)
  rows, config = result.rows, result.config
  paths = [
    result.write_config(workdir),
    results.write_json(workdir / "summary.json", result.summary),
    results.atomic_write_text(workdir / "summary.md", summary(result)),
    plot_grad_ratio(
      result.summary,
      workdir / "grad_ratio.png",
      {p.name: p.display_color for p in config.pairings},
    ),
  ]
  deepest = max(config.depths)
  for activation in config.hidden_activations:
    name = f"layers_depth{deepest}_{layers_file_label(activation)}.png"
    paths.append(plot_layers(rows, deepest, activation, workdir / name))
  return paths


def layers_file_label(activation: str) -> str:
  """The activation as a file-name part (an import string's attribute)."""
  return activation.rsplit(":", 1)[-1]


WRITEUP = (
  "# Saturation of hidden layers\n\n"
  "`epoch1_first_over_last`: |dC/db| (the book's speed of learning) of "
  "the first hidden layer divided by that of the last hidden layer, "
  "averaged over epoch 1 (< 1: the earlier layer learns more slowly). "
  "Saturation: fraction of the last hidden layer's units that pass (almost) "
  "no gradient on validation inputs: sigmoid below 0.01 or above 0.99, tanh "
  "beyond +-0.98, relu at 0 (dead).\n\n"
)
