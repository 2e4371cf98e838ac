"""Sweeps: pairings x init scales x learning rates x seeds, resumable.

The study front of :mod:`lossjax.training.sharded_sweep` (which trains the grid in vmapped,
sharded, resumable chunks): its config, presets, and the writers of
``metrics.jsonl``, ``summary.csv``, ``heatmap.png`` (a metric over init scale
x learning rate, per pairing) and ``curves.png`` (median cost per epoch).
"""

import dataclasses
from pathlib import Path

import numpy as np

from lossjax import config as cfg
from lossjax.output import plotting, progress, results
from lossjax.training.sharded_sweep import SweepResult, SweepSpec, run_sweep
from lossjax.training.sweep_result import metric_rows

HEATMAP_METRICS = ("epochs_to_target", "final_cost", "final_accuracy")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(SweepSpec):
  heatmap_metric: str = cfg.field(
    "epochs_to_target",
    "What heatmap.png shows per (init scale, lr): epochs to the target "
    "(--target_error: |a - y| for the neuron, the validation error for an "
    "MLP), the final "
    "cost, or (mlp) the final validation accuracy.",
    choices=HEATMAP_METRICS,
  )

  def validate(self):
    super().validate()
    if self.task == "neuron" and self.heatmap_metric == "final_accuracy":
      raise ValueError(
        "heatmap_metric: final_accuracy needs --task=mlp (the neuron has no "
        "accuracy); use epochs_to_target or final_cost."
      )


_MLP_STUDY = {
  "task": "mlp",
  "hidden": [30],
  "init": "normalized",
  "pairings": ["sigmoid_mse", "softmax_nll"],
  "init_scales": [0.5, 1, 2, 4],
  "lrs": [0.1, 0.3, 1, 3],
  "seeds": [0, 1],
  "epochs": 10,
  "batch_size": 10,
  "target_error": 0.05,  # 95% validation accuracy
  "heatmap_metric": "final_accuracy",
  "chunk_size": 16,
}

PRESETS = {
  # 64 MLPs on full MNIST: quadratic cost versus log-likelihood over init
  # scale x learning rate, two seeds, 10 epochs.
  "mlp_mnist": {**_MLP_STUDY, "data": {"dataset": "mnist", "eval_size": 2000}},
  # The same on full Fashion-MNIST (harder data).
  "mlp_fashion": {
    **_MLP_STUDY,
    "data": {"dataset": "fashion_mnist", "eval_size": 2000},
  },
}


def run(
  config: Config,
  *,
  workdir: Path | None = None,
  log=progress.info,
  overwrite: bool = False,
) -> SweepResult:
  """Trains what ``workdir`` does not hold yet (a workdir is required)."""
  if workdir is None:
    raise ValueError("a sweep keeps its chunks in a workdir: give one.")
  return run_sweep(config, workdir, overwrite=overwrite, log=log)


def summary(result: SweepResult) -> str:
  return (
    f"{result.chunks_trained} chunks trained, {result.chunks_skipped} reused"
  )


SUMMARY_COLUMNS = (
  "pairing",
  "init_scale",
  "lr",
  "seed",
  "final_cost",
  "epochs_to_target",
  "diverged",
  "diverged_epoch",
  "final_accuracy",
  "final_output",
)


def _median_grid(rows, pairing, scales, lrs, key):
  grid = np.full((len(scales), len(lrs)), np.nan)
  diverged = np.zeros_like(grid, bool)
  for i, scale in enumerate(scales):
    for j, lr in enumerate(lrs):
      cell = [
        r
        for r in rows
        if r["pairing"] == pairing
        and r["init_scale"] == scale
        and r["lr"] == lr
      ]
      values = [r[key] for r in cell if r[key] is not None]
      diverged[i, j] = all(r["diverged"] for r in cell)
      # Median over seeds only when most seeds got there.
      if len(values) * 2 > len(cell):
        grid[i, j] = float(np.median(values))
  return grid, diverged


def plot_heatmaps(
  result: SweepResult, rows, path: Path, metric: str = "epochs_to_target"
) -> Path:
  """``metric`` over init scale x learning rate, one panel per pairing.

  Cells hold the median over seeds; grey cells never reached the target
  (``epochs_to_target``) or diverged (``div``).
  """
  plt = plotting.plt
  spec = result.spec
  scales, lrs = sorted(spec.init_scales), sorted(spec.lrs)
  fig, axes = plt.subplots(
    1,
    len(spec.pairings),
    figsize=(1.1 * len(lrs) * len(spec.pairings) + 2, 0.45 * len(scales) + 2),
    squeeze=False,
    layout="constrained",  # room for the colour bar the panels share
  )
  names = [p.name for p in spec.pairings]
  by_name = {p.name: p for p in spec.pairings}
  grids = {p: _median_grid(rows, p, scales, lrs, metric) for p in names}
  colors = plotting.matplotlib.colors
  if metric == "epochs_to_target":
    norm, cmap = colors.LogNorm(vmin=1, vmax=spec.epochs), "viridis_r"
    label = f"epochs until {spec.target_text()}"
    fmt = "{:.0f}".format
  elif metric == "final_cost":
    finite = np.concatenate([g[np.isfinite(g)] for g, _ in grids.values()])
    low, high = (finite.min(), finite.max()) if finite.size else (1e-3, 1)
    norm = colors.LogNorm(vmin=max(low, 1e-12), vmax=max(high, low * 10))
    cmap, label, fmt = "viridis_r", "final cost", "{:.2g}".format
  else:
    # Coloured by the error on a log scale: on 0-100% accuracy, 89% and 96%
    # were one colour; as errors, 11% and 4%, they are far apart.
    errors = np.concatenate([1 - g[np.isfinite(g)] for g, _ in grids.values()])
    low, high = (errors.min(), errors.max()) if errors.size else (0.01, 1)
    low = max(low, 1e-3)
    norm = colors.LogNorm(vmin=low, vmax=max(high, low * 10))
    cmap = "viridis_r"
    label = "final validation error, log scale; cells: accuracy"
    fmt = "{:.1%}".format
  for ax, pairing in zip(axes[0], names, strict=True):
    grid, diverged = grids[pairing]
    if metric == "epochs_to_target":
      shown = np.maximum(grid, 1)
    elif metric == "final_accuracy":
      shown = np.maximum(1 - grid, 1e-3)
    else:
      shown = grid
    image = ax.imshow(
      np.ma.masked_invalid(shown),
      norm=norm,
      cmap=cmap,
      origin="lower",
      aspect="auto",
    )
    ax.set_facecolor("0.85")
    for i in range(len(scales)):
      for j in range(len(lrs)):
        value = grid[i, j]
        if diverged[i, j]:
          text = "div"
        elif np.isnan(value):
          text = f">{spec.epochs}" if metric == "epochs_to_target" else "-"
        else:
          text = fmt(value)
        # Light text on the dark end of the colour map (high values of
        # viridis_r, low values of viridis).
        position = float(norm(shown[i, j])) if np.isfinite(value) else 0.0
        dark = np.isfinite(value) and (
          position > 0.55 if cmap == "viridis_r" else position < 0.45
        )
        ax.text(
          j,
          i,
          text,
          ha="center",
          va="center",
          fontsize=7,
          color="white" if dark else "black",
        )
    ax.set_xticks(range(len(lrs)), [f"{v:g}" for v in lrs])
    ax.set_yticks(range(len(scales)), [f"{v:g}" for v in scales])
    ax.set(
      title=by_name[pairing].display_label,
      xlabel="learning rate",
      ylabel="init scale (w=b=v)" if spec.task == "neuron" else "init scale",
    )
  bar = fig.colorbar(
    image, ax=axes[0].tolist(), label=f"{label} (median over seeds)"
  )
  if metric == "final_accuracy":
    percent = plotting.matplotlib.ticker.PercentFormatter(1, decimals=0)
    bar.ax.yaxis.set_major_formatter(percent)
    bar.ax.yaxis.set_minor_formatter(percent)
  return plotting.save_figure(fig, path)


def plot_curves(result: SweepResult, path: Path) -> Path:
  """Median over seeds versus epoch of what ``epochs_to_target`` reads (the
  output error |a - y| for the neuron, the validation error for an MLP: one
  quantity for every pairing): rows = pairings, columns = lrs."""
  plt = plotting.plt
  spec = result.spec
  scales, lrs = sorted(spec.init_scales), sorted(spec.lrs)
  fig, axes = plt.subplots(
    len(spec.pairings),
    len(lrs),
    figsize=(2.8 * len(lrs), 2.4 * len(spec.pairings)),
    squeeze=False,
    sharex=True,
    sharey=True,  # one scale: the pairings are compared
  )
  colors = plotting.plt.cm.viridis(np.linspace(0, 0.9, len(scales)))
  neuron = spec.task == "neuron"
  what = "|a - y|" if neuron else "validation error"
  for row, pairing in zip(axes, [p.name for p in spec.pairings], strict=True):
    arrays = result.arrays[pairing]
    traced = spec.traced_error(arrays)
    for ax, lr in zip(row, lrs, strict=True):
      for color, scale in zip(colors, scales, strict=True):
        pick = (arrays["lr"] == lr) & (arrays["init_scale"] == scale)
        median = np.median(traced[pick], axis=0)
        ax.plot(median, color=color, label=f"{scale:g}")
      ax.set_yscale("log")
      ax.set_title(f"{pairing}, eta={lr:g}", fontsize=9)
      ax.axhline(spec.target_error, color="grey", linestyle=":", linewidth=1)
    row[0].set_ylabel(f"median {what}")
  for ax in axes[-1]:
    ax.set_xlabel("epoch")
    plotting.integer_epochs(ax, nbins=4)  # shared: every panel's x axis
  handles, labels = axes[0][-1].get_legend_handles_labels()
  # One layout, kept by save_figure: room on the right for the legend.
  fig.set_layout_engine("tight", rect=(0, 0, 0.93, 1))
  fig.legend(
    handles,
    labels,
    title="init scale",
    loc="center right",
    fontsize=8,
    title_fontsize=8,
  )
  return plotting.save_figure(fig, path)


def write(result: SweepResult, workdir: str | Path) -> list[Path]:
  """metrics.jsonl, summary.csv and the figures (process 0 only)."""
  workdir = Path(workdir)
  heatmap_metric = result.spec.heatmap_metric
  rows = result.summary
  jsonl = "".join(results.json_line(r) for r in metric_rows(result))
  return [
    results.atomic_write_text(workdir / "metrics.jsonl", jsonl),
    results.write_csv(workdir / "summary.csv", rows, SUMMARY_COLUMNS),
    plot_heatmaps(result, rows, workdir / "heatmap.png", heatmap_metric),
    plot_curves(result, workdir / "curves.png"),
  ]
