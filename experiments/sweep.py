r"""Sweep a grid of pairings x init scales x learning rates x seeds.

Each pairing's configurations train in chunks; a chunk is one vmapped,
jit-compiled program whose configuration axis is sharded over every device
(all local devices, or all processes' devices after jax.distributed). Finished
chunks are saved atomically under --workdir/chunks and skipped when the same
command runs again, so an interrupted sweep resumes.

Writes to --workdir: sweep.json (the grid), metrics.jsonl (one row per
configuration and epoch), summary.csv (one row per configuration),
heatmap.png (epochs to reach --target_cost over init scale x learning rate,
per pairing) and curves.png (median cost versus epoch per init scale).

Examples:
  python -m experiments.sweep --task=neuron \
      --pairings=sigmoid_mse,sigmoid_bce --init_scales=0,0.5,1,1.5,2,2.5,3,3.5,4 \
      --lrs=0.01,0.03,0.1,0.3,1,3 --seeds=0 --epochs=300 --workdir=out/sweep_neuron
  python -m experiments.sweep --flagfile=experiments/studies/mlp_fashion.flags
  # Two processes (e.g. two hosts); run one command per process:
  python -m experiments.sweep ... --coordinator_address=host0:1234 \
      --num_processes=2 --process_id=0
"""

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import jax
import numpy as np
from absl import app, flags

from experiments import cli
from lossjax import data, plotting, results
from lossjax.losses import PAIRINGS
from lossjax.sweep import (
  SweepResult,
  SweepSpec,
  metric_rows,
  run_sweep,
  summary_rows,
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


HEATMAP_METRICS = ("epochs_to_target", "final_cost", "final_accuracy")


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
  )
  grids = {p: _median_grid(rows, p, scales, lrs, metric) for p in spec.pairings}
  colors = plotting.matplotlib.colors
  if metric == "epochs_to_target":
    norm, cmap = colors.LogNorm(vmin=1, vmax=spec.epochs), "viridis_r"
    label = f"epochs until cost < {spec.target_cost:g}"
    fmt = "{:.0f}".format
  elif metric == "final_cost":
    finite = np.concatenate([g[np.isfinite(g)] for g, _ in grids.values()])
    low, high = (finite.min(), finite.max()) if finite.size else (1e-3, 1)
    norm = colors.LogNorm(vmin=max(low, 1e-12), vmax=max(high, low * 10))
    cmap, label, fmt = "viridis_r", "final cost", "{:.2g}".format
  else:
    norm, cmap = colors.Normalize(vmin=0, vmax=1), "viridis"
    label, fmt = "final validation accuracy", "{:.0%}".format
  for ax, pairing in zip(axes[0], spec.pairings, strict=True):
    grid, diverged = grids[pairing]
    shown = np.maximum(grid, 1) if metric == "epochs_to_target" else grid
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
      title=f"{plotting.PAIRING_LABELS[pairing]}",
      xlabel="learning rate",
      ylabel="init scale (w=b=v)" if spec.task == "neuron" else "init scale",
    )
  fig.colorbar(image, ax=axes[0].tolist(), label=f"{label} (median over seeds)")
  return plotting.save_figure(fig, path)


def plot_curves(result: SweepResult, path: Path) -> Path:
  """Median cost over seeds versus epoch: rows = pairings, columns = lrs."""
  plt = plotting.plt
  spec = result.spec
  scales, lrs = sorted(spec.init_scales), sorted(spec.lrs)
  fig, axes = plt.subplots(
    len(spec.pairings),
    len(lrs),
    figsize=(2.8 * len(lrs), 2.4 * len(spec.pairings)),
    squeeze=False,
    sharex=True,
    sharey="row",
  )
  colors = plotting.plt.cm.viridis(np.linspace(0, 0.9, len(scales)))
  for row, pairing in zip(axes, spec.pairings, strict=True):
    arrays = result.arrays[pairing]
    for ax, lr in zip(row, lrs, strict=True):
      for color, scale in zip(colors, scales, strict=True):
        pick = (arrays["lr"] == lr) & (arrays["init_scale"] == scale)
        median = np.median(arrays["cost"][pick], axis=0)
        ax.plot(median, color=color, label=f"{scale:g}")
      ax.set_yscale("log")
      ax.set_title(f"{pairing}, eta={lr:g}", fontsize=9)
      ax.axhline(spec.target_cost, color="grey", linestyle=":", linewidth=1)
    row[0].set_ylabel("median cost")
  for ax in axes[-1]:
    ax.set_xlabel("epoch")
  handles, labels = axes[0][-1].get_legend_handles_labels()
  fig.tight_layout(rect=(0, 0, 0.93, 1))
  fig.legend(
    handles,
    labels,
    title="init scale",
    loc="center right",
    fontsize=8,
    title_fontsize=8,
  )
  return plotting.save_figure(fig, path)


def write_outputs(
  result: SweepResult,
  workdir: str | Path,
  heatmap_metric: str = "epochs_to_target",
) -> list[Path]:
  """metrics.jsonl, summary.csv and the figures (process 0 only)."""
  workdir = Path(workdir)
  rows = summary_rows(result)
  jsonl = "".join(results.json_line(r) for r in metric_rows(result))
  return [
    results.atomic_write_text(workdir / "metrics.jsonl", jsonl),
    results.write_csv(workdir / "summary.csv", rows, SUMMARY_COLUMNS),
    plot_heatmaps(result, rows, workdir / "heatmap.png", heatmap_metric),
    plot_curves(result, workdir / "curves.png"),
  ]


# ----------------------------------------------------------------------------
# Command line.

FLAGS = flags.FLAGS
# MLP task.
# Multi-process (jax.distributed).


def _floats(values):
  return tuple(float(v) for v in values)


def define_flags() -> None:
  """Defines the command-line flags (only when run as a program, so that
  experiment modules can be imported together)."""
  flags.DEFINE_string("workdir", None, "Directory for the results (created).")
  flags.DEFINE_enum(
    "task",
    "neuron",
    ["neuron", "mlp"],
    "neuron: the seed's single neuron (x=1, y=0); mlp: an MLP "
    "classifier on --dataset.",
  )
  flags.DEFINE_list(
    "pairings",
    ["sigmoid_mse", "sigmoid_bce"],
    f"Pairings, from {', '.join(PAIRINGS)} (neuron: sigmoid only).",
  )
  flags.DEFINE_list(
    "init_scales",
    ["0", "1", "2"],
    "Init scales: neuron w=b=v; mlp multiplies the initialiser.",
  )
  flags.DEFINE_list("lrs", ["0.15"], "Learning rates.")
  flags.DEFINE_list("seeds", ["0"], "Seeds (initialisation and batch order).")
  flags.DEFINE_integer(
    "epochs", 300, "Epochs per configuration.", lower_bound=1
  )
  flags.DEFINE_float(
    "target_cost",
    0.05,
    "epochs_to_target: first epoch whose "
    "cost is below this (neuron: the cost; mlp: validation cost).",
  )
  flags.DEFINE_float(
    "divergence_cost",
    1e6,
    "A configuration has diverged at the first epoch whose cost is NaN, "
    "inf or above this.",
  )
  flags.DEFINE_integer(
    "chunk_size",
    64,
    "Configurations per compiled call "
    "(rounded up to a multiple of the device count); lower "
    "it if a chunk does not fit in memory.",
    lower_bound=1,
  )
  flags.DEFINE_enum(
    "optimizer", "sgd", ["sgd", "momentum", "adam"], "Optax optimiser."
  )
  flags.DEFINE_enum(
    "heatmap_metric",
    "epochs_to_target",
    list(HEATMAP_METRICS),
    "What heatmap.png shows per (init scale, lr): epochs to --target_cost, "
    "the final cost, or (mlp) the final validation accuracy.",
  )
  flags.DEFINE_bool(
    "overwrite",
    False,
    "Discard results of a different sweep in --workdir instead of refusing.",
  )
  flags.DEFINE_string("dataset", "fashion_mnist", "mlp: dataset name.")
  flags.DEFINE_string("data_dir", None, "mlp: IDX directory or TFDS data dir.")
  flags.DEFINE_string(
    "hidden", "30", "mlp: hidden sizes joined by 'x', e.g. 100x30."
  )
  flags.DEFINE_enum(
    "init",
    "normalized",
    ["constant", "gaussian", "normalized", "large", "glorot"],
    "mlp: initialiser.",
  )
  flags.DEFINE_integer("batch_size", 10, "mlp: mini-batch size.", lower_bound=1)
  flags.DEFINE_integer(
    "train_size", None, "mlp: first N training examples.", lower_bound=1
  )
  flags.DEFINE_integer(
    "eval_size",
    2000,
    "mlp: validation examples the cost is measured on.",
    lower_bound=1,
  )
  flags.DEFINE_integer(
    "validation_size",
    10_000,
    "mlp: validation examples carved from the end of train.",
    lower_bound=0,
  )
  flags.DEFINE_integer(
    "test_as_train",
    None,
    "mlp: train on the first N test examples (test-only directories).",
    lower_bound=1,
  )
  flags.DEFINE_string(
    "coordinator_address",
    None,
    "host:port of process 0, "
    "for jax.distributed.initialize; unset for one process.",
  )
  flags.DEFINE_integer(
    "num_processes", 1, "Number of processes.", lower_bound=1
  )
  flags.DEFINE_integer("process_id", 0, "This process's index.", lower_bound=0)
  flags.mark_flag_as_required("workdir")
  for _name in ("init_scales", "lrs"):
    flags.register_validator(
      _name,
      lambda v: bool(v) and cli.all_parse(float, v),
      f"--{_name} must be a comma-separated list of numbers",
    )
  flags.register_validator(
    "seeds",
    lambda v: bool(v) and all(x.lstrip("-").isdigit() for x in v),
    "--seeds must be integers",
  )


def spec_from_flags() -> SweepSpec:
  try:
    hidden = tuple(int(h) for h in FLAGS.hidden.split("x"))
  except ValueError:
    raise ValueError(
      f"--hidden={FLAGS.hidden!r}: use sizes joined by 'x'."
    ) from None
  return SweepSpec(
    task=FLAGS.task,
    pairings=tuple(FLAGS.pairings),
    init_scales=_floats(FLAGS.init_scales),
    lrs=_floats(FLAGS.lrs),
    seeds=tuple(int(s) for s in FLAGS.seeds),
    epochs=FLAGS.epochs,
    target_cost=FLAGS.target_cost,
    divergence_cost=FLAGS.divergence_cost,
    chunk_size=FLAGS.chunk_size,
    optimizer=FLAGS.optimizer,
    dataset=FLAGS.dataset,
    data_dir=FLAGS.data_dir,
    hidden=hidden,
    init=FLAGS.init,
    batch_size=FLAGS.batch_size,
    train_size=FLAGS.train_size,
    eval_size=FLAGS.eval_size,
    validation_size=FLAGS.validation_size,
    test_as_train=FLAGS.test_as_train,
  )


def initialize_distributed() -> None:
  """Joins a multi-process run (JAX's own runtime) when flags ask for one."""
  if FLAGS.num_processes == 1:
    return
  if (
    FLAGS.coordinator_address is None or FLAGS.process_id >= FLAGS.num_processes
  ):
    raise ValueError(
      "--num_processes > 1 needs --coordinator_address=host:port and a "
      "--process_id below --num_processes."
    )
  # CPU processes exchange results through gloo; GPUs/TPUs use their own.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(
    coordinator_address=FLAGS.coordinator_address,
    num_processes=FLAGS.num_processes,
    process_id=FLAGS.process_id,
  )


def main(argv: Sequence[str]) -> None:
  cli.no_positional_arguments(argv)
  try:
    spec = spec_from_flags()
    initialize_distributed()
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  start = time.perf_counter()
  try:
    result = run_sweep(spec, FLAGS.workdir, overwrite=FLAGS.overwrite)
  except (data.DataError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
  if jax.process_index() == 0:
    paths = write_outputs(result, FLAGS.workdir, FLAGS.heatmap_metric)
    print(
      f"{result.chunks_trained} chunks trained, {result.chunks_skipped} "
      f"reused, {time.perf_counter() - start:.1f}s; wrote "
      + ", ".join(str(p) for p in paths)
    )


if __name__ == "__main__":
  define_flags()
  app.run(main)
