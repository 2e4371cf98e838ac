r"""Feed-forward networks on MNIST-family data: does the pairing matter?

Trains MLPs [784, hidden..., 10] with sigmoid hidden layers under each
output-activation/cost pairing, several seeds of a pairing and architecture
in one vmapped, jit-compiled program, and records per epoch: training cost,
validation and test accuracy, the mean output slope (sigma'(z) for sigmoid
outputs; how saturated they are), the output error |dC/dz|, and each layer's
gradient norm.

Writes to --workdir: config.json, metrics.jsonl (one line per configuration
and epoch, written as each epoch finishes), summary.md, and the figures
accuracy.png, output_error.png, saturation.png and grad_norm.png.

Examples:
  python -m experiments.mnist --dataset=fashion_mnist \
      --data_dir=../shared/data/fashion-mnist --epochs=3 --workdir=out/fmnist
  python -m experiments.mnist --preset=nielsen --dataset=mnist --workdir=out/book
"""

import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from absl import app, flags

import lossjax
from experiments import cli
from lossjax import classify, data, plotting, records, results

# Learning rates used when --lr is not given: the book's eta for the
# quadratic (3.0) and cross-entropy (0.5) costs; softmax + quadratic has the
# quadratic cost's small gradients, so it gets the larger rate too.
DEFAULT_LRS = {
  "sigmoid_mse": 3.0,
  "sigmoid_bce": 0.5,
  "softmax_nll": 0.5,
  "softmax_mse": 3.0,
}

# "Neural Networks and Deep Learning", chapters 1 and 3: MNIST, 50,000
# training images, batch 10, 30 epochs, N(0, 1) weights and biases.
NIELSEN = {
  "pairings": ("sigmoid_mse", "sigmoid_bce"),
  "hidden": ((30,), (100,)),
  "lrs": {"sigmoid_mse": 3.0, "sigmoid_bce": 0.5},
  "batch_size": 10,
  "epochs": 30,
  "init": "large",
}
# The book's reported test accuracies (%), for the summary.
NIELSEN_REFERENCE = {
  ("sigmoid_mse", (30,)): 95.42,
  ("sigmoid_mse", (100,)): 96.59,
  ("sigmoid_bce", (30,)): 95.49,
  ("sigmoid_bce", (100,)): 96.82,
}


@dataclasses.dataclass(frozen=True)
class MnistConfig:
  """Everything one invocation trains (see the flags for meanings)."""

  dataset: str = "mnist"
  data_dir: str | None = None
  source: str = "auto"
  pairings: tuple[str, ...] = lossjax.PAIRINGS
  hidden: tuple[tuple[int, ...], ...] = ((30,),)
  lrs: dict[str, float] = dataclasses.field(
    default_factory=lambda: dict(DEFAULT_LRS)
  )
  batch_size: int = 10
  epochs: int = 30
  seeds: tuple[int, ...] = (0,)
  init: str = "normalized"
  init_scale: float = 1.0
  l2: float = 0.0
  optimizer: str = "sgd"
  validation_size: int = 10_000
  train_size: int | None = None
  eval_size: int | None = None
  test_as_train: int | None = None
  preset: str | None = None

  def __post_init__(self):
    for pairing in self.pairings:
      lossjax.check_pairing(pairing)
      if pairing not in self.lrs:
        raise ValueError(f"no learning rate for {pairing}.")
    if self.init not in lossjax.INITIALIZERS:
      raise ValueError(
        f"Unknown initialiser {self.init!r}; choose from "
        f"{', '.join(lossjax.INITIALIZERS)}."
      )
    if self.optimizer not in lossjax.OPTIMIZERS:
      raise ValueError(
        f"Unknown optimizer {self.optimizer!r}; choose from "
        f"{', '.join(lossjax.OPTIMIZERS)}."
      )
    if not self.seeds:
      raise ValueError("give at least one seed.")

  def groups(self) -> list[classify.GroupConfig]:
    return [
      classify.GroupConfig(
        pairing=pairing,
        hidden=hidden,
        init=self.init,
        batch_size=self.batch_size,
        epochs=self.epochs,
        optimizer=self.optimizer,
        l2=self.l2,
      )
      for hidden in self.hidden
      for pairing in self.pairings
    ]

  def runs(self, pairing: str) -> list[classify.RunConfig]:
    return [
      classify.RunConfig(
        seed=s, lr=self.lrs[pairing], init_scale=self.init_scale
      )
      for s in self.seeds
    ]


def config_from_json(path: str | Path) -> MnistConfig:
  """The configuration a previous run saved in its ``config.json``."""
  saved = json.loads(Path(path).read_text())
  fields = {f.name for f in dataclasses.fields(MnistConfig)}
  values = {k: v for k, v in saved.items() if k in fields}
  values["hidden"] = tuple(tuple(h) for h in values["hidden"])
  for name in ("pairings", "seeds"):
    values[name] = tuple(values[name])
  return MnistConfig(**values)


def report_only(workdir: str | Path) -> list[Path]:
  """Redraws summary and figures from a run's config.json and metrics.jsonl."""
  workdir = Path(workdir)
  for name in ("config.json", "metrics.jsonl"):
    if not (workdir / name).is_file():
      raise FileNotFoundError(
        f"{workdir / name} not found: --report_only needs the workdir of an "
        "earlier run."
      )
  config = config_from_json(workdir / "config.json")
  return write_report(
    workdir, records.read_jsonl(workdir / "metrics.jsonl"), config
  )


def load(config: MnistConfig) -> data.Dataset:
  return data.load_dataset(
    config.dataset,
    data_dir=config.data_dir,
    source=config.source,
    validation_size=config.validation_size,
    train_size=config.train_size,
    eval_size=config.eval_size,
    test_as_train=config.test_as_train,
  )


def run_mnist(
  config: MnistConfig,
  workdir: str | Path,
  *,
  dataset: data.Dataset | None = None,
  log=print,
) -> list[dict]:
  """Trains every group, writing metrics as it goes; returns all rows."""
  workdir = Path(workdir)
  dataset = dataset or load(config)
  log(dataset.describe())
  results.write_json(
    workdir / "config.json",
    {**dataclasses.asdict(config), "data": dataset.describe()},
  )
  device_data = classify.DeviceData.from_dataset(dataset)
  all_rows: list[dict] = []
  with records.JsonlWriter(workdir / "metrics.jsonl", truncate=True) as out:
    for group in config.groups():
      runs = config.runs(group.pairing)
      label = f"{group.pairing} hidden={list(group.hidden)}"
      start = time.perf_counter()
      for epoch_rows in classify.train_group(group, runs, device_data):
        rows = [
          {
            "pairing": group.pairing,
            "hidden": list(group.hidden),
            "lr": run.lr,
            "seed": run.seed,
            "init": group.init,
            "init_scale": run.init_scale,
            **row,
          }
          for run, row in zip(runs, epoch_rows, strict=True)
        ]
        out.write(rows)
        all_rows += rows
        log(_progress_line(label, rows, group.epochs, start))
      # Cheap tables after every group, so an interrupted run keeps them;
      # figures once at the end (--report_only redraws them from metrics).
      write_report(workdir, all_rows, config, figures=False)
  write_report(workdir, all_rows, config)
  return all_rows


def _progress_line(label, rows, epochs, start) -> str:
  accuracy, _ = records.mean_and_spread([r["test_accuracy"] for r in rows])
  cost, _ = records.mean_and_spread([r["train_cost"] for r in rows])
  epoch = rows[0]["epoch"]
  cost_text = "-" if cost is None else f"{cost:.4f}"
  acc_text = "-" if accuracy is None else f"{100 * accuracy:.2f}%"
  return (
    f"[{label}] epoch {epoch}/{epochs}  train cost {cost_text}  "
    f"test acc {acc_text}  ({time.perf_counter() - start:.1f}s)"
  )


# ----------------------------------------------------------------------------
# Summary and figures, rebuilt from the metric rows.


def _group_key(row: dict) -> tuple:
  return (row["pairing"], tuple(row["hidden"]), row["lr"])


def summarize(
  rows: Sequence[dict], reference: dict | None = None
) -> list[dict]:
  """One row per (pairing, architecture, lr): mean and spread over seeds.

  ``reference`` maps ``(pairing, hidden)`` to a published accuracy (%) shown
  beside the measured ones.
  """
  summary = []
  for (pairing, hidden, lr), group in records.group_rows(
    rows, _group_key
  ).items():
    by_seed = records.group_rows(group, lambda r: (r["seed"],))
    finals, bests, at_best_val = [], [], []
    for seed_rows in by_seed.values():
      trained = [r for r in seed_rows if r["epoch"] > 0] or seed_rows
      finals.append(trained[-1]["test_accuracy"])
      bests.append(max(r["test_accuracy"] for r in trained))
      best_val = max(trained, key=lambda r: r["val_accuracy"])
      at_best_val.append(best_val["test_accuracy"])
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
      "output_error_epoch0": errors[0],
      "output_error_epoch1": errors[1],
      "book_test_accuracy": (reference or {}).get((pairing, hidden)),
    }
    for name, values in (
      ("final_test", finals),
      ("best_test", bests),
      ("test_at_best_val", at_best_val),
    ):
      mean, spread = records.mean_and_spread(values)
      row[f"{name}_mean"] = None if mean is None else 100 * mean
      row[f"{name}_std"] = None if spread is None else 100 * spread
    summary.append(row)
  return summary


def summary_markdown(
  summary: Sequence[dict], config: MnistConfig, description: str
) -> str:
  def pct(mean, std):
    return "-" if mean is None else f"{mean:.2f} ± {std:.2f}"

  lines = [
    f"# {config.dataset}: pairings compared\n",
    f"Data: {description}. Init `{config.init}` x {config.init_scale}, "
    f"batch {config.batch_size}, optimizer {config.optimizer}, "
    f"L2 lambda {config.l2}.\n",
    "Accuracies are test-set percentages, mean ± standard deviation over "
    "seeds. *best* is the best epoch; *at best val* is the test accuracy at "
    "the epoch with the best validation accuracy (honest model selection). "
    "*output error* is the mean norm of dC/dz at the output layer on the "
    "validation set, before training (epoch 0) and after one epoch.\n",
    "| pairing | hidden | lr | seeds | epochs | final test % | best test % "
    "| test % at best val | output error (epoch 0 -> 1) | book (MNIST) % |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ]
  for r in summary:
    book = r["book_test_accuracy"]
    lines.append(
      f"| {r['pairing']} | {r['hidden']} | {r['lr']:g} | {r['seeds']} | "
      f"{r['epochs']} | {pct(r['final_test_mean'], r['final_test_std'])} | "
      f"{pct(r['best_test_mean'], r['best_test_std'])} | "
      f"{pct(r['test_at_best_val_mean'], r['test_at_best_val_std'])} | "
      f"{results.format_value(r['output_error_epoch0'], 3)} -> "
      f"{results.format_value(r['output_error_epoch1'], 3)} | "
      f"{'-' if book is None else f'{book:.2f}'} |"
    )
  return "\n".join(lines) + "\n"


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


def plot_metric(rows, metric, ylabel, path, *, log_scale=False, percent=False):
  """One panel per architecture, one line (mean, min-max band) per pairing."""
  plt = plotting.plt
  archs = list(dict.fromkeys(tuple(r["hidden"]) for r in rows))
  fig, axes = plt.subplots(
    1, len(archs), figsize=(5.5 * len(archs), 4), squeeze=False
  )
  for ax, arch in zip(axes[0], archs, strict=True):
    arch_rows = [r for r in rows if tuple(r["hidden"]) == arch]
    for (pairing, _, lr), group in records.group_rows(
      arch_rows, _group_key
    ).items():
      epochs, mean, low, high = _curve(group, metric)
      if not epochs:
        continue
      scale = 100 if percent else 1
      color = plotting.PAIRING_COLORS[pairing]
      ax.plot(
        epochs,
        [scale * v for v in mean],
        color=color,
        label=f"{plotting.PAIRING_LABELS[pairing]}, eta={lr:g}",
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
  fig.tight_layout()
  return plotting.save_figure(fig, path)


def plot_grad_norms(rows, path):
  """Per-layer gradient norm versus epoch: one panel per pairing and architecture."""
  plt = plotting.plt
  groups = records.group_rows(
    (r for r in rows if r["grad_norm"] is not None), _group_key
  )
  fig, axes = plt.subplots(
    1,
    len(groups),
    figsize=(4.2 * len(groups), 3.6),
    squeeze=False,
    sharey=True,
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
  fig.tight_layout()
  return plotting.save_figure(fig, path)


def write_report(
  workdir: str | Path,
  rows: Sequence[dict],
  config: MnistConfig,
  *,
  figures: bool = True,
) -> list[Path]:
  """summary.json, summary.md and (optionally) the figures, from metric rows."""
  workdir = Path(workdir)
  description = json.loads((workdir / "config.json").read_text())["data"]
  reference = NIELSEN_REFERENCE if config.preset == "nielsen" else None
  summary = summarize(rows, reference)
  paths = [
    results.write_json(workdir / "summary.json", summary),
    results.atomic_write_text(
      workdir / "summary.md", summary_markdown(summary, config, description)
    ),
  ]
  if not figures:
    return paths
  for metric, ylabel, name, options in (
    ("test_accuracy", "test accuracy (%)", "accuracy", {"percent": True}),
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
  ):
    paths.append(
      plot_metric(rows, metric, ylabel, workdir / f"{name}.png", **options)
    )
  paths.append(plot_grad_norms(rows, workdir / "grad_norm.png"))
  return paths


# ----------------------------------------------------------------------------
# Command line.

FLAGS = flags.FLAGS


def _parse_hidden(text: str) -> tuple[int, ...]:
  sizes = tuple(int(part) for part in text.split("x"))
  if not sizes or min(sizes) < 1:
    raise ValueError
  return sizes


def define_flags() -> None:
  """Defines the command-line flags (only when run as a program, so that
  experiment modules can be imported together)."""
  flags.DEFINE_string("workdir", None, "Directory for the results (created).")
  flags.DEFINE_string(
    "dataset",
    "mnist",
    "Dataset name: a TFDS name (mnist, fashion_mnist, "
    "kmnist, ...); also labels an IDX directory.",
  )
  flags.DEFINE_string(
    "data_dir",
    None,
    "Directory with the four IDX files (train-images-idx3-"
    "ubyte.gz, ...), or a TFDS data directory. Unset: an offline IDX copy "
    "under $LOSSJAX_DATA_DIR or ../shared/data (folder fashion-mnist for "
    "fashion_mnist), else TFDS's default.",
  )
  flags.DEFINE_enum(
    "source",
    "auto",
    list(data.SOURCES),
    "auto: IDX if --data_dir holds IDX files, else TFDS.",
  )
  flags.DEFINE_list(
    "pairings",
    list(lossjax.PAIRINGS),
    f"Pairings, from {', '.join(lossjax.PAIRINGS)}.",
  )
  flags.DEFINE_list(
    "hidden",
    ["30"],
    "Architectures to train, comma-separated; within one, "
    "hidden sizes joined by 'x'. '30,100' trains [784,30,10] and [784,100,10]; "
    "'100x30' trains [784,100,30,10].",
  )
  flags.DEFINE_list(
    "lr",
    [],
    "Learning rate: one value for every pairing, or one per pairing "
    "in --pairings order. Unset: 3.0 for the quadratic costs, 0.5 for the "
    "cross-entropies (the book's rates).",
  )
  flags.DEFINE_integer("batch_size", 10, "Mini-batch size.", lower_bound=1)
  flags.DEFINE_integer(
    "epochs", 30, "Passes over the training data.", lower_bound=1
  )
  flags.DEFINE_list(
    "seeds",
    ["0"],
    "Seeds (initialisation and shuffling); all "
    "seeds of a pairing train together in one vmapped program.",
  )
  flags.DEFINE_enum(
    "init",
    "normalized",
    list(lossjax.INITIALIZERS),
    "Initialiser: normalized = N(0,1/n_in) weights, N(0,1) "
    "biases; large = N(0,1) (the book's chapter 1); gaussian; "
    "glorot; constant.",
  )
  flags.DEFINE_float(
    "init_scale", 1.0, "Multiplies every initial weight and bias."
  )
  flags.DEFINE_float(
    "l2",
    0.0,
    "L2 regularisation lambda, as in the book: "
    "cost + lambda/(2n) sum w^2 (weights only).",
    lower_bound=0.0,
  )
  flags.DEFINE_enum(
    "optimizer", "sgd", list(lossjax.OPTIMIZERS), "Optax optimiser."
  )
  flags.DEFINE_integer(
    "validation_size",
    10_000,
    "Validation examples carved from the end of the training split.",
    lower_bound=0,
  )
  flags.DEFINE_integer(
    "train_size",
    None,
    "Use only the first N training examples (quick runs).",
    lower_bound=1,
  )
  flags.DEFINE_integer(
    "eval_size",
    None,
    "Use only the first N validation and test examples.",
    lower_bound=1,
  )
  flags.DEFINE_integer(
    "test_as_train",
    None,
    "For a directory with only the "
    "test split (MNIST t10k): train on its first N examples, "
    "test on the rest.",
    lower_bound=1,
  )
  flags.DEFINE_enum(
    "preset",
    None,
    ["nielsen"],
    "nielsen: the book's runs: sigmoid_mse (eta "
    "3.0) and sigmoid_bce (eta 0.5), hidden 30 and 100, batch 10, 30 epochs, "
    "N(0,1) init. Replaces --pairings, --hidden, --lr, --batch_size, --epochs "
    "and --init, which must then be left unset.",
  )
  flags.DEFINE_bool(
    "report_only",
    False,
    "Do not train: redraw summary.md and the figures "
    "from --workdir's config.json and metrics.jsonl (e.g. after an "
    "interrupted run).",
  )
  flags.mark_flag_as_required("workdir")
  flags.register_validator(
    "pairings",
    lambda v: bool(v) and set(v) <= set(lossjax.PAIRINGS),
    f"--pairings must be a list from {', '.join(lossjax.PAIRINGS)}",
  )
  flags.register_validator(
    "hidden",
    lambda v: bool(v) and cli.all_parse(_parse_hidden, v),
    "--hidden must be architectures like 30 or 30,100 or 100x30 (positive sizes)",
  )
  flags.register_validator(
    "lr",
    lambda v: cli.all_parse(float, v) and all(float(x) > 0 for x in v),
    "--lr must be positive numbers",
  )
  flags.register_validator(
    "seeds",
    lambda v: bool(v) and cli.all_parse(int, v),
    "--seeds must be integers, e.g. 0,1,2",
  )


def config_from_flags() -> MnistConfig:
  common = dict(
    dataset=FLAGS.dataset,
    data_dir=data.data_dir_or_offline_copy(FLAGS.dataset, FLAGS.data_dir),
    source=FLAGS.source,
    seeds=tuple(int(s) for s in FLAGS.seeds),
    init_scale=FLAGS.init_scale,
    l2=FLAGS.l2,
    optimizer=FLAGS.optimizer,
    validation_size=FLAGS.validation_size,
    train_size=FLAGS.train_size,
    eval_size=FLAGS.eval_size,
    test_as_train=FLAGS.test_as_train,
  )
  if FLAGS.preset == "nielsen":
    replaced = ("pairings", "hidden", "lr", "batch_size", "epochs", "init")
    clash = [n for n in replaced if FLAGS[n].present]
    if clash:
      raise ValueError(
        f"--preset=nielsen sets {', '.join('--' + n for n in clash)}; drop "
        "them or drop the preset."
      )
    return MnistConfig(
      pairings=NIELSEN["pairings"],
      hidden=NIELSEN["hidden"],
      lrs=dict(NIELSEN["lrs"]),
      batch_size=NIELSEN["batch_size"],
      epochs=NIELSEN["epochs"],
      init=NIELSEN["init"],
      preset="nielsen",
      **common,
    )
  pairings = tuple(FLAGS.pairings)
  lrs = [float(v) for v in FLAGS.lr]
  if not lrs:
    lr_by_pairing = {p: DEFAULT_LRS[p] for p in pairings}
  elif len(lrs) == 1:
    lr_by_pairing = {p: lrs[0] for p in pairings}
  elif len(lrs) == len(pairings):
    lr_by_pairing = dict(zip(pairings, lrs, strict=True))
  else:
    raise ValueError(
      f"--lr has {len(lrs)} values for {len(pairings)} pairings: give one "
      "value, or one per pairing."
    )
  return MnistConfig(
    pairings=pairings,
    hidden=tuple(_parse_hidden(h) for h in FLAGS.hidden),
    lrs=lr_by_pairing,
    batch_size=FLAGS.batch_size,
    epochs=FLAGS.epochs,
    init=FLAGS.init,
    **common,
  )


def main(argv: Sequence[str]) -> None:
  cli.no_positional_arguments(argv)
  if FLAGS.report_only:
    try:
      paths = report_only(FLAGS.workdir)
    except (FileNotFoundError, ValueError) as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(2)
    print("wrote", ", ".join(str(p) for p in paths))
    return
  try:
    config = config_from_flags()
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  try:
    dataset = load(config)
  except data.DataError as e:
    print(f"error: could not load {config.dataset}: {e}", file=sys.stderr)
    sys.exit(2)
  run_mnist(config, FLAGS.workdir, dataset=dataset)
  print(Path(FLAGS.workdir, "summary.md").read_text())


if __name__ == "__main__":
  define_flags()
  app.run(main)
