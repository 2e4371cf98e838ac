r"""Saturation in deep sigmoid networks (Glorot & Bengio 2010; the book's ch. 5).

MLPs with 1 to 5 sigmoid hidden layers on Fashion-MNIST, N(0, 1)
initialisation ("large") versus normalised Glorot initialisation, with
sigmoid + quadratic versus softmax + log-likelihood outputs. Per layer and per
epoch: mean and spread of the activations, the fraction of saturated units
(activation < 0.01 or > 0.99) and the gradient norm.

Writes config.json, metrics.jsonl, summary.json, summary.md and the figures
layers_depth<D>.png (per-layer curves of the deepest network) and
grad_ratio.png (first / last hidden layer gradient norm versus depth).

Example:
  python -m experiments.saturation --data_dir=../shared/data/fashion-mnist \
      --workdir=out/saturation
"""

import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from absl import app, flags

from experiments import cli
from lossjax import classify, data, plotting, records, results
from lossjax.saturation import saturation_eval

DEFAULT_LRS = {"sigmoid_mse": 3.0, "softmax_nll": 0.5}


@dataclasses.dataclass(frozen=True)
class SaturationConfig:
  """The study: depths x initialisations x pairings (see the flags)."""

  dataset: str = "fashion_mnist"
  data_dir: str | None = None
  depths: tuple[int, ...] = (1, 2, 3, 4, 5)
  width: int = 30
  inits: tuple[str, ...] = ("large", "glorot")
  pairings: tuple[str, ...] = ("sigmoid_mse", "softmax_nll")
  lrs: dict[str, float] = dataclasses.field(
    default_factory=lambda: dict(DEFAULT_LRS)
  )
  epochs: int = 10
  batch_size: int = 10
  seeds: tuple[int, ...] = (0,)
  train_size: int | None = 20_000
  eval_size: int | None = 1_000

  def __post_init__(self):
    if not self.depths or min(self.depths) < 1:
      raise ValueError(f"depths must be >= 1, got {self.depths}.")
    missing = [p for p in self.pairings if p not in self.lrs]
    if missing:
      raise ValueError(f"no learning rate for {missing}.")


def run_saturation(
  config: SaturationConfig,
  workdir: str | Path,
  *,
  dataset: data.Dataset | None = None,
  log=print,
) -> list[dict]:
  """Trains every (depth, init, pairing); writes metrics as it goes."""
  workdir = Path(workdir)
  if dataset is not None:  # a loaded dataset still gets this study's size
    dataset = dataset.with_train_size(config.train_size)
  dataset = dataset or data.load_dataset(
    config.dataset,
    data_dir=config.data_dir,
    train_size=config.train_size,
    eval_size=config.eval_size,
  )
  log(dataset.describe())
  results.write_json(
    workdir / "config.json",
    {**dataclasses.asdict(config), "data": dataset.describe()},
  )
  device_data = classify.DeviceData.from_dataset(dataset)
  rows = []
  with records.JsonlWriter(workdir / "metrics.jsonl", truncate=True) as out:
    for depth in config.depths:
      for init in config.inits:
        for pairing in config.pairings:
          group = classify.GroupConfig(
            pairing=pairing,
            hidden=(config.width,) * depth,
            init=init,
            batch_size=config.batch_size,
            epochs=config.epochs,
          )
          runs = [
            classify.RunConfig(seed=s, lr=config.lrs[pairing])
            for s in config.seeds
          ]
          start = time.perf_counter()
          for epoch_rows in classify.train_group(
            group, runs, device_data, eval_fn=saturation_eval(pairing)
          ):
            new = [
              {
                "depth": depth,
                "init": init,
                "pairing": pairing,
                "seed": run.seed,
                **row,
              }
              for run, row in zip(runs, epoch_rows, strict=True)
            ]
            out.write(new)
            rows += new
          last = new[0]
          log(
            f"depth {depth} {init:>6} {pairing}: test acc "
            f"{100 * last['test_accuracy']:.1f}%, saturated (last hidden) "
            f"{100 * last['saturated'][-1]:.0f}%, |dC/db| first/last hidden "
            f"{_ratio(new[0])}  ({time.perf_counter() - start:.1f}s)"
          )
  return rows


def _ratio(row: dict) -> str:
  norms = row["bias_grad_norm"]
  if norms is None or len(norms) < 3:
    return "-"
  return f"{norms[0] / norms[-2]:.3g}"


def summarize(rows: Sequence[dict]) -> list[dict]:
  """One row per (depth, init, pairing): numbers the report quotes."""
  summary = []
  groups = records.group_rows(
    rows, lambda r: (r["depth"], r["init"], r["pairing"])
  )
  for (depth, init, pairing), group in groups.items():
    first_epoch = [r for r in group if r["epoch"] == 1]
    final_epoch = max(r["epoch"] for r in group)
    final = [r for r in group if r["epoch"] == final_epoch]
    initial = [r for r in group if r["epoch"] == 0]

    def mean(values):
      return float(np.mean(values))

    # The book's per-layer speed of learning: |dC/db^l| = |delta^l| (weight
    # gradients scale with the layer's fan-in, so they do not compare across
    # layers). Layers run input to output; [-1] is the output layer.
    first_hidden = mean([r["bias_grad_norm"][0] for r in first_epoch])
    last_hidden = mean([r["bias_grad_norm"][-2] for r in first_epoch])
    summary.append(
      {
        "depth": depth,
        "init": init,
        "pairing": pairing,
        "final_test_accuracy": mean([r["test_accuracy"] for r in final]),
        "epoch1_grad_norm_first_hidden": first_hidden,
        "epoch1_grad_norm_last_hidden": last_hidden,
        "epoch1_first_over_last": first_hidden / last_hidden,
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
  "init",
  "pairing",
  "final_test_accuracy",
  "epoch1_first_over_last",
  "initial_saturated_last_hidden",
  "final_saturated_last_hidden",
  "final_mean_last_hidden",
)


def plot_layers(rows, depth: int, path: Path) -> Path:
  """Per-layer curves for one depth: rows = (init, pairing), columns = stats."""
  plt = plotting.plt
  groups = records.group_rows(
    (r for r in rows if r["depth"] == depth),
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

    def series(key, layer, epochs=epochs, by_epoch=by_epoch):
      return [
        np.mean([r[key][layer] for r in by_epoch[(e,)] if r[key] is not None])
        for e in epochs
      ]

    for layer in range(depth):
      label = f"hidden {layer + 1}"
      mean, std = (
        np.array(series("act_mean", layer)),
        np.array(series("act_std", layer)),
      )
      ax_row[0].plot(epochs, mean, color=colors[layer], label=label)
      ax_row[0].fill_between(
        epochs, mean - std, mean + std, color=colors[layer], alpha=0.1
      )
      ax_row[1].plot(
        epochs, series("saturated", layer), color=colors[layer], label=label
      )
      trained = epochs[1:]
      ax_row[2].plot(
        trained,
        [
          np.mean([r["bias_grad_norm"][layer] for r in by_epoch[(e,)]])
          for e in trained
        ],
        color=colors[layer],
        marker=".",
        label=label,
      )
    title = f"{init} init, {pairing}"
    ax_row[0].set(
      title=f"{title}: activation mean ± std", ylim=(0, 1), xlabel="epoch"
    )
    ax_row[1].set(
      title="fraction saturated (<0.01 or >0.99)", ylim=(0, 1), xlabel="epoch"
    )
    ax_row[2].set(title="|dC/db| per layer (speed of learning)", xlabel="epoch")
    ax_row[2].set_yscale("log")
    for ax in ax_row:
      plotting.integer_epochs(ax)
    ax_row[1].legend(fontsize=7)
  fig.tight_layout()
  return plotting.save_figure(fig, path)


def plot_grad_ratio(summary, path: Path) -> Path:
  plt = plotting.plt
  fig, ax = plt.subplots(figsize=(6.5, 4))
  for (init, pairing), group in records.group_rows(
    summary, lambda r: (r["init"], r["pairing"])
  ).items():
    group = [r for r in group if r["depth"] >= 2]
    if not group:
      continue
    ax.plot(
      [r["depth"] for r in group],
      [r["epoch1_first_over_last"] for r in group],
      marker="o",
      color=plotting.PAIRING_COLORS[pairing],
      linestyle="-" if init == "large" else "--",
      label=f"{init} init, {pairing}",
    )
  ax.axhline(1, color="grey", linewidth=0.8)
  ax.set(
    title="|dC/db|, first / last hidden layer (epoch 1)",
    xlabel="hidden layers",
    ylabel="ratio",
  )
  ax.set_yscale("log")
  ax.legend(fontsize=8)
  fig.tight_layout()
  return plotting.save_figure(fig, path)


def write_report(workdir, rows, config: SaturationConfig) -> list[Path]:
  workdir = Path(workdir)
  summary = summarize(rows)
  table = results.markdown_table(summary, SUMMARY_COLUMNS)
  paths = [
    results.write_json(workdir / "summary.json", summary),
    results.atomic_write_text(
      workdir / "summary.md",
      "# Saturation of sigmoid hidden layers\n\n"
      "`epoch1_first_over_last`: |dC/db| (the book's speed of learning) of "
      "the first hidden layer divided by that of the last hidden layer, "
      "averaged over epoch 1 (< 1: the earlier layer learns more slowly). Saturation: fraction of the "
      "last hidden layer's units below 0.01 or above 0.99 on validation "
      "inputs.\n\n" + table,
    ),
    plot_grad_ratio(summary, workdir / "grad_ratio.png"),
  ]
  deepest = max(config.depths)
  paths.append(
    plot_layers(rows, deepest, workdir / f"layers_depth{deepest}.png")
  )
  return paths


def define_flags() -> None:
  """Command-line flags (defined only when run as a program)."""
  flags.DEFINE_string("workdir", None, "Directory for the results (created).")
  flags.DEFINE_string(
    "dataset",
    "fashion_mnist",
    "Dataset name (TFDS name; labels an IDX directory).",
  )
  flags.DEFINE_string(
    "data_dir",
    None,
    "IDX directory or TFDS data dir; "
    "unset: an offline IDX copy under $LOSSJAX_DATA_DIR or "
    "../shared/data (folder fashion-mnist), else TFDS.",
  )
  flags.DEFINE_list(
    "depths", ["1", "2", "3", "4", "5"], "Numbers of hidden layers."
  )
  flags.DEFINE_integer("width", 30, "Units per hidden layer.", lower_bound=1)
  flags.DEFINE_list("inits", ["large", "glorot"], "Initialisers to compare.")
  flags.DEFINE_list(
    "pairings", ["sigmoid_mse", "softmax_nll"], "Pairings to compare."
  )
  flags.DEFINE_integer("epochs", 10, "Epochs.", lower_bound=1)
  flags.DEFINE_integer("batch_size", 10, "Mini-batch size.", lower_bound=1)
  flags.DEFINE_list("seeds", ["0"], "Seeds (trained together in one vmap).")
  flags.DEFINE_integer(
    "train_size", 20_000, "Training examples used.", lower_bound=1
  )
  flags.DEFINE_integer(
    "eval_size", 1_000, "Validation/test examples used.", lower_bound=1
  )
  flags.mark_flag_as_required("workdir")


def main(argv: Sequence[str]) -> None:
  cli.no_positional_arguments(argv)
  f = flags.FLAGS
  try:
    config = SaturationConfig(
      dataset=f.dataset,
      data_dir=data.data_dir_or_offline_copy(f.dataset, f.data_dir),
      depths=tuple(int(d) for d in f.depths),
      width=f.width,
      inits=tuple(f.inits),
      pairings=tuple(f.pairings),
      epochs=f.epochs,
      batch_size=f.batch_size,
      seeds=tuple(int(s) for s in f.seeds),
      train_size=f.train_size,
      eval_size=f.eval_size,
    )
    for init in config.inits:
      classify.GroupConfig(pairing=config.pairings[0], hidden=(1,), init=init)
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  try:
    rows = run_saturation(config, f.workdir)
  except data.DataError as e:
    print(f"error: could not load {config.dataset}: {e}", file=sys.stderr)
    sys.exit(2)
  paths = write_report(f.workdir, rows, config)
  print(Path(f.workdir, "summary.md").read_text())
  print("wrote", ", ".join(map(str, paths)))


if __name__ == "__main__":
  define_flags()
  app.run(main)
