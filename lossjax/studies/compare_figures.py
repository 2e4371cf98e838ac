"""The comparison's figures: curves of the selected rates, per-layer
gradient norms and the learning-rate tuning curve.

Each takes a :class:`lossjax.studies.compare.Result` and the per-epoch or
summary rows to draw (from ``result.summary``, computed once).
"""

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lossjax.output import plotting, records


def setting_key(row: dict) -> tuple:
  """``(pairing, hidden sizes, lr)``: one setting, whose seeds are averaged."""
  return (row["pairing"], tuple(row["hidden"]), row["lr"])


def _finite(value) -> bool:
  return value is not None and math.isfinite(value)


def data_text(data) -> str:
  """What a figure's runs trained on, for its title: the dataset, and the
  label noise or multi-label composition when there is one."""
  parts = [data.dataset]
  if data.label_noise:
    parts.append(
      f"{round(100 * data.label_noise)}% {data.label_noise_kind} label noise"
    )
  if data.multilabel is not None:
    parts.append(f"multi-label (1 to {data.multilabel} digits)")
  return ", ".join(parts)


def _curve(rows, metric):
  """Epochs, median, min and max over seeds of ``metric`` (the median: with
  a stalled seed among healthy ones a mean is a curve no run follows)."""
  by_epoch = records.group_rows(
    (r for r in rows if r.get(metric) is not None), lambda r: (r["epoch"],)
  )
  epochs = sorted(e for (e,) in by_epoch)
  values = [[r[metric] for r in by_epoch[(e,)]] for e in epochs]
  return (
    epochs,
    [float(np.median(v)) for v in values],
    [min(v) for v in values],
    [max(v) for v in values],
  )


def plot_metric(
  result,
  metric,
  ylabel,
  path,
  *,
  log_scale=False,
  percent=False,
  rows: Sequence[dict] | None = None,
):
  """One panel per architecture, one line (median, min-max band over seeds)
  per pairing; the title names the data (and its label noise).

  ``rows``: the per-epoch rows to draw (default: the selected rates').
  ``percent`` metrics start at epoch 1 (epoch 0 is chance before training)
  on a range from the data, so sub-point gaps show.
  """
  plt = plotting.plt
  by_name = {p.name: p for p in result.config.pairings}
  rows = result.summary.chosen if rows is None else rows
  archs = list(dict.fromkeys(tuple(r["hidden"]) for r in rows))
  fig, axes = plt.subplots(
    1,
    len(archs),
    figsize=(5.5 * len(archs) + 4, 4),  # + the legend's width
    squeeze=False,
    layout="constrained",
  )
  for ax, arch in zip(axes[0], archs, strict=True):
    arch_rows = [r for r in rows if tuple(r["hidden"]) == arch]
    for (name, _, lr), group in records.group_rows(
      arch_rows, setting_key
    ).items():
      epochs, mean, low, high = _curve(group, metric)
      if percent and epochs and epochs[0] == 0 and len(epochs) > 1:
        epochs, mean, low, high = epochs[1:], mean[1:], low[1:], high[1:]
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
    ax.set(
      title=f"{data_text(result.config.data)}, hidden {list(arch)}",
      xlabel="epoch",
      ylabel=ylabel,
    )
    if log_scale:
      ax.set_yscale("log")
  # Off the data: one legend, right of the panels (a constrained layout
  # keeps the panels' width; tight_layout would squeeze them for it).
  handles, labels = axes[0][-1].get_legend_handles_labels()
  if handles:
    fig.legend(handles, labels, fontsize=8, loc="outside right upper")
  return plotting.save_figure(fig, path)


def plot_grad_norms(result, path, rows: Sequence[dict] | None = None):
  """Per-layer gradient norm versus epoch: a panel per pairing and architecture.

  ``rows``: the per-epoch rows to draw (default: the selected rates').
  """
  plt = plotting.plt
  rows = result.summary.chosen if rows is None else rows
  groups = records.group_rows(
    (r for r in rows if r["grad_norm"] is not None),
    setting_key,
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
    # A diverged run records its non-finite norms as null: its epochs are
    # drawn as gaps (NaN), and the title says from when.
    broken = [
      e
      for e in epochs
      if any(not _finite(v) for r in by_epoch[(e,)] for v in r["grad_norm"])
    ]
    drawn = False
    for layer in range(num_layers):
      means = [
        float(
          np.mean(
            [
              math.nan
              if r["grad_norm"][layer] is None
              else r["grad_norm"][layer]
              for r in by_epoch[(e,)]
            ]
          )
        )
        for e in epochs
      ]
      drawn |= any(math.isfinite(m) and m > 0 for m in means)
      name = "output" if layer == num_layers - 1 else f"hidden {layer + 1}"
      ax.plot(epochs, means, marker=".", label=f"layer {layer + 1} ({name})")
    ax.set(
      title=f"{pairing} {list(hidden)}, eta={lr:g}"
      + (f"\nnon-finite from epoch {broken[0]}" if broken else ""),
      xlabel="epoch",
      ylabel="mean gradient norm",
    )
    if drawn:  # a log axis needs a positive value to draw
      ax.set_yscale("log")
    else:
      ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
      ax.text(
        0.5, 0.5, "no finite gradient norm", ha="center", transform=ax.transAxes
      )
    plotting.integer_epochs(ax)
    ax.legend(fontsize=8)
  fig.suptitle(f"Gradient norm per layer: {data_text(result.config.data)}")
  return plotting.save_figure(fig, path)


FIGURES = (
  ("test_accuracy", "test accuracy (%)", "accuracy", {"percent": True}),
  ("test_ece", "test expected calibration error (%)", "ece", {"percent": True}),
  (
    "test_nll",
    "test NLL (nats, probabilities floored at 1e-6)",
    "nll",
    {"log_scale": True},
  ),
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


def plot_lr_tuning(result, rows: Sequence, path: Path, runs: dict) -> Path:
  """Accuracy against learning rate, per pairing: the tuning curve.

  Test accuracy at the best validation epoch, the mean over seeds with the
  range of the seeds as its bar (never past 0 or 100%); the selected rate
  is circled. Per architecture two panels: the whole range (where a rate
  collapses) and the same curves zoomed on the selected rates, where the
  pairings differ by tenths of a point. ``runs``: each setting's
  :class:`lossjax.studies.compare_summary.SeedRuns`; ``rows``: the summary
  rows (:class:`lossjax.studies.compare_summary.SummaryRow`).
  """
  plt = plotting.plt
  by_name = {p.name: p for p in result.config.pairings}
  archs = list(dict.fromkeys(r.hidden for r in rows))
  fig, axes = plt.subplots(
    len(archs), 2, figsize=(12, 4.2 * len(archs)), squeeze=False
  )
  for (full, zoom), arch in zip(axes, archs, strict=True):
    chosen = []
    for name, group in records.group_rows(
      [r for r in rows if r.hidden == arch], lambda r: (r.pairing,)
    ).items():
      pairing = by_name[name[0]]
      group = sorted(group, key=lambda r: r.lr)
      hidden = records.hidden_sizes(arch)
      values = [
        [
          100 * v
          for v in runs[(name[0], hidden, r.lr)].at_selected("test_accuracy")
          if v is not None
        ]
        for r in group
      ]
      means = [np.mean(v) if v else math.nan for v in values]
      bars = [
        [m - min(v) if v else 0.0 for m, v in zip(means, values, strict=True)],
        [max(v) - m if v else 0.0 for m, v in zip(means, values, strict=True)],
      ]
      for ax in (full, zoom):
        ax.errorbar(
          [r.lr for r in group],
          means,
          yerr=bars,
          color=pairing.display_color,
          marker="o",
          capsize=3,
          label=pairing.display_label,
        )
      for r, m, v in zip(group, means, values, strict=True):
        if r.selected and v:
          chosen += v
          for ax in (full, zoom):
            ax.scatter(
              [r.lr],
              [m],
              s=160,
              facecolors="none",
              edgecolors=pairing.display_color,
            )
    for ax in (full, zoom):
      ax.set_xscale("log")
      ax.set(xlabel="learning rate", ylabel="test accuracy (%)")
    full.set_title(f"hidden {arch}: test accuracy at the best validation epoch")
    if chosen:
      low, high = min(chosen), max(chosen)
      pad = max(0.3, 0.25 * (high - low))
      zoom.set_ylim(low - 3 * pad, min(high + pad, 100))
    zoom.set_title(f"hidden {arch}: zoomed on the selected rates (circled)")
    full.legend(fontsize=8, loc="lower left")
  return plotting.save_figure(fig, path)
