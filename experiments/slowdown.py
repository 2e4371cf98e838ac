r"""The single-neuron learning slowdown: quadratic cost versus cross-entropy.

One sigmoid neuron, input x=1, target y=0, trained by gradient descent from
w=b=v for each initialisation v. With the quadratic cost the output error is
(a - y) sigma'(z), and sigma'(4) ~ 0.018 makes the neuron starting at w=b=2
crawl; with cross-entropy the error is a - y and both starts learn fast.

All initialisations and learning rates of a pairing train in one vmapped,
jit-compiled call. Writes summary.json, summary.md, curves.csv and
slowdown.png to --workdir.

Example:
  python -m experiments.slowdown --workdir=out/slowdown
  python -m experiments.slowdown --workdir=out/book --preset=nielsen_ch3
"""

import dataclasses
import functools
import itertools
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

import lossjax
from experiments import cli
from lossjax import plotting, results
from lossjax.losses import SIGMOID_PAIRINGS

UPDATE_GRADIENT = "dC/dz"
UPDATE_WIDGET = "dC/da (book widget)"

# Chapter 3 of "Neural Networks and Deep Learning": two starts, and a learning
# rate per cost (the cross-entropy one is 30x smaller).
NIELSEN_CH3_INITS = ((0.6, 0.9), (2.0, 2.0))
NIELSEN_CH3_LRS = {"sigmoid_mse": (0.15,), "sigmoid_bce": (0.005,)}


@dataclasses.dataclass(frozen=True)
class SlowdownConfig:
  """What to train.

  Attributes:
    inits: ``(w0, b0)`` starting points.
    learning_rates: per pairing, the learning rates to train with.
    epochs: gradient steps (one example, so one step per epoch).
    widget_rule: also train ``sigmoid_bce`` with the book widget's dC/da.
    x: the input.
    y: the target output, in [0, 1].
  """

  inits: tuple[tuple[float, float], ...] = ((0.0, 0.0), (2.0, 2.0))
  learning_rates: Mapping[str, tuple[float, ...]] = dataclasses.field(
    default_factory=lambda: {"sigmoid_mse": (0.15,), "sigmoid_bce": (0.15,)}
  )
  epochs: int = 300
  widget_rule: bool = False
  x: float = 1.0
  y: float = 0.0

  def __post_init__(self):
    if not self.inits:
      raise ValueError("inits is empty: give at least one (w0, b0).")
    if not self.learning_rates:
      raise ValueError("no pairing to train: give at least one.")
    for pairing, lrs in self.learning_rates.items():
      if pairing not in SIGMOID_PAIRINGS:
        raise ValueError(
          f"pairing {pairing!r} does not fit a single output neuron: use "
          f"{' or '.join(SIGMOID_PAIRINGS)} (softmax of one logit is "
          "constant 1)."
        )
      if not lrs or min(lrs) <= 0:
        raise ValueError(f"learning rates for {pairing} must be > 0: {lrs}.")
    if self.widget_rule and "sigmoid_bce" not in self.learning_rates:
      raise ValueError("the widget rule applies to sigmoid_bce; include it.")
    if self.epochs < 1:
      raise ValueError(f"epochs must be >= 1, got {self.epochs}.")
    if not 0.0 <= self.y <= 1.0:
      raise ValueError(f"the target y must lie in [0, 1], got {self.y}.")


def nielsen_ch3_config() -> SlowdownConfig:
  """The book's chapter 3 settings, with the widget's rule alongside."""
  return SlowdownConfig(
    inits=NIELSEN_CH3_INITS,
    learning_rates=NIELSEN_CH3_LRS,
    epochs=300,
    widget_rule=True,
  )


def epochs_to_halve(outputs: np.ndarray, y: float) -> int | None:
  """First epoch at which ``|a - y|`` is at most half its initial value."""
  error = np.abs(np.asarray(outputs) - y)
  hits = np.flatnonzero(error <= 0.5 * error[0])
  return int(hits[0]) if hits.size else None


def _train_group(
  config: SlowdownConfig, pairing: str, update_rule: str
) -> tuple[list[dict], list[dict]]:
  """Trains every (init, lr) of one pairing and rule in one vmapped call."""
  grid = list(itertools.product(config.inits, config.learning_rates[pairing]))
  w0 = jnp.array([init[0] for init, _ in grid], jnp.float32)
  b0 = jnp.array([init[1] for init, _ in grid], jnp.float32)
  lrs = jnp.array([lr for _, lr in grid], jnp.float32)
  params = jax.vmap(lossjax.neuron_params)(w0, b0)
  x = jnp.full((1, 1), config.x, jnp.float32)
  targets = jnp.full((1, 1), config.y, jnp.float32)
  _, history = lossjax.fit_many(
    params,
    x,
    targets,
    lrs,
    jax.random.split(jax.random.key(0), len(grid)),
    eval_data=(x, targets),
    pairing=pairing,
    epochs=config.epochs,
    grad_fn=_widget_grads(pairing) if update_rule == UPDATE_WIDGET else None,
    eval_fn=_neuron_eval(pairing),
  )
  outputs = np.asarray(history["output"])
  costs = np.asarray(history["loss"])
  records, curves = [], []
  for i, ((w, b), lr) in enumerate(grid):
    z0 = w * config.x + b
    records.append(
      {
        "pairing": pairing,
        "update_rule": update_rule,
        "w0": w,
        "b0": b,
        "lr": lr,
        "epochs": config.epochs,
        "z0": z0,
        "sigma_prime_z0": float(lossjax.sigmoid_prime(z0)),
        "initial_output": float(outputs[i, 0]),
        "final_output": float(outputs[i, -1]),
        "final_loss": float(costs[i, -1]),
        "epochs_to_halve": epochs_to_halve(outputs[i], config.y),
      }
    )
    for epoch in range(config.epochs + 1):
      curves.append(
        {
          "pairing": pairing,
          "update_rule": update_rule,
          "w0": w,
          "b0": b,
          "lr": lr,
          "epoch": epoch,
          "output": float(outputs[i, epoch]),
          "loss": float(costs[i, epoch]),
        }
      )
  return records, curves


# fit_many compiles once per distinct static argument, so the callables it is
# given are built once per pairing and reused.
@functools.cache
def _neuron_eval(pairing: str):
  def evaluate(params, data):
    x, targets = data
    logits = lossjax.mlp_logits(params, x)
    return {
      "output": lossjax.output_activation(pairing, logits)[0, 0],
      "loss": lossjax.loss(pairing, logits, targets)[0],
    }

  return evaluate


@functools.cache
def _widget_grads(pairing: str):
  def grads(params, x, targets):
    return lossjax.dc_da_grads(params, x, targets, pairing=pairing)

  return grads


def run_slowdown(config: SlowdownConfig) -> tuple[list[dict], list[dict]]:
  """Trains every configuration; returns ``(records, curves)``.

  ``records`` has one dict per configuration (the ``summary.json`` rows);
  ``curves`` has one dict per configuration and epoch (0 = initial).
  """
  groups = [(p, UPDATE_GRADIENT) for p in config.learning_rates]
  if config.widget_rule:
    groups.append(("sigmoid_bce", UPDATE_WIDGET))
  records, curves = [], []
  for pairing, rule in groups:
    group_records, group_curves = _train_group(config, pairing, rule)
    records += group_records
    curves += group_curves
  return records, curves


SUMMARY_COLUMNS = (
  "pairing",
  "update_rule",
  "w0",
  "b0",
  "lr",
  "sigma_prime_z0",
  "initial_output",
  "epochs_to_halve",
  "final_output",
  "final_loss",
)


def summary_markdown(records: Sequence[dict], config: SlowdownConfig) -> str:
  """The summary table with a sentence on how to read it."""
  head = (
    f"# Single-neuron slowdown (x={config.x}, y={config.y}, "
    f"{config.epochs} epochs)\n\n"
    "`epochs_to_halve`: first epoch at which |a - y| is at most half its "
    "initial value (`-` if never). `sigma_prime_z0`: sigma'(w0 x + b0), the "
    "factor the quadratic cost multiplies its error by.\n\n"
  )
  return head + results.markdown_table(records, SUMMARY_COLUMNS)


def plot_slowdown(records: Sequence[dict], curves: Sequence[dict], path: Path):
  """Output and cost versus epoch: one row per initialisation."""
  plt = plotting.plt
  inits = sorted({(r["w0"], r["b0"]) for r in records})
  fig, axes = plt.subplots(
    len(inits), 2, figsize=(11, 3.2 * len(inits)), squeeze=False
  )
  by_config: dict[tuple, list[dict]] = {}
  for row in curves:
    key = (row["pairing"], row["update_rule"], row["w0"], row["b0"], row["lr"])
    by_config.setdefault(key, []).append(row)
  multiple_lrs = len({r["lr"] for r in records}) > 1
  for (pairing, rule, w0, b0, lr), rows in by_config.items():
    ax_out, ax_cost = axes[inits.index((w0, b0))]
    label = plotting.PAIRING_LABELS[pairing]
    if rule != UPDATE_GRADIENT:
      label += f", {rule}"
    if multiple_lrs or rule != UPDATE_GRADIENT:
      label += f", eta={lr:g}"
    style = dict(
      color=plotting.PAIRING_COLORS[pairing],
      linestyle="--" if rule != UPDATE_GRADIENT else "-",
      label=label,
    )
    epochs = [r["epoch"] for r in rows]
    ax_out.plot(epochs, [r["output"] for r in rows], **style)
    ax_cost.plot(epochs, [r["loss"] for r in rows], **style)
  for row_axes, (w0, b0) in zip(axes, inits, strict=True):
    sp = float(lossjax.sigmoid_prime(w0 + b0))
    title = f"w0={w0:g}, b0={b0:g}  (sigma'(z0)={sp:.3g})"
    row_axes[0].set(title=f"output a, {title}", xlabel="epoch", ylabel="a")
    row_axes[0].set_ylim(0, 1)
    row_axes[1].set(title=f"cost, {title}", xlabel="epoch", ylabel="cost")
    row_axes[1].set_yscale("log")
    row_axes[0].legend(fontsize=8)
  fig.tight_layout()
  return plotting.save_figure(fig, path)


def write_outputs(
  workdir: str | Path,
  records: Sequence[dict],
  curves: Sequence[dict],
  config: SlowdownConfig,
) -> list[Path]:
  """Writes summary.json, summary.md, curves.csv and slowdown.png."""
  workdir = Path(workdir)
  summary = [
    {
      k: r[k]
      for k in (
        "pairing",
        "update_rule",
        "w0",
        "b0",
        "lr",
        "epochs",
        "final_output",
        "final_loss",
        "epochs_to_halve",
        "z0",
        "sigma_prime_z0",
        "initial_output",
      )
    }
    for r in records
  ]
  return [
    results.write_json(workdir / "summary.json", summary),
    results.atomic_write_text(
      workdir / "summary.md", summary_markdown(records, config)
    ),
    results.write_csv(
      workdir / "curves.csv",
      curves,
      ("pairing", "update_rule", "w0", "b0", "lr", "epoch", "output", "loss"),
    ),
    plot_slowdown(records, curves, workdir / "slowdown.png"),
  ]


# ----------------------------------------------------------------------------
# Command line.

FLAGS = flags.FLAGS


def _parse_init(text: str) -> tuple[float, float]:
  parts = text.split(":")
  if len(parts) not in (1, 2):
    raise ValueError
  values = [float(p) for p in parts]
  return (values[0], values[-1])


def define_flags() -> None:
  """Defines the command-line flags (only when run as a program, so that
  experiment modules can be imported together)."""
  flags.DEFINE_string("workdir", None, "Directory for the results (created).")
  flags.DEFINE_list(
    "inits",
    ["0", "2"],
    "Starting points: each entry v means w=b=v; 'w:b' sets them separately.",
  )
  flags.DEFINE_list(
    "pairings",
    list(SIGMOID_PAIRINGS),
    f"Pairings to train, from {', '.join(SIGMOID_PAIRINGS)}.",
  )
  flags.DEFINE_list(
    "lr", ["0.15"], "Learning rates (eta); every pairing trains with each."
  )
  flags.DEFINE_integer("epochs", 300, "Gradient steps.", lower_bound=1)
  flags.DEFINE_float("x", 1.0, "The neuron's input.")
  flags.DEFINE_float(
    "y", 0.0, "The target output, in [0, 1].", lower_bound=0.0, upper_bound=1.0
  )
  flags.DEFINE_bool(
    "widget_rule",
    False,
    "Also train the cross-entropy neuron with the book widget's update, which "
    "uses dC/da = 1/(1-a) (for y=0) where the gradient has dC/dz = a.",
  )
  flags.DEFINE_enum(
    "preset",
    None,
    ["nielsen_ch3"],
    "nielsen_ch3: the book's chapter 3 runs (w=0.6,b=0.9 and w=b=2; eta 0.15 "
    "quadratic, 0.005 cross-entropy; with --widget_rule). Replaces --inits, "
    "--pairings, --lr, --epochs and --widget_rule, which must then be left "
    "unset.",
  )
  flags.mark_flag_as_required("workdir")
  flags.register_validator(
    "inits",
    lambda v: bool(v) and cli.all_parse(_parse_init, v),
    "each --inits entry must be a number v (w=b=v) or 'w:b', e.g. 0,2 or 0.6:0.9",
  )
  flags.register_validator(
    "lr",
    lambda v: bool(v) and cli.all_parse(float, v) and min(map(float, v)) > 0,
    "--lr must be a comma-separated list of positive numbers, e.g. 0.15,0.5",
  )
  flags.register_validator(
    "pairings",
    lambda v: bool(v) and set(v) <= set(SIGMOID_PAIRINGS),
    f"--pairings must be a list from {', '.join(SIGMOID_PAIRINGS)} (a single "
    "output neuron cannot use softmax)",
  )


def config_from_flags() -> SlowdownConfig:
  """Builds the configuration from the parsed flags."""
  if FLAGS.preset == "nielsen_ch3":
    overridden = [
      name
      for name in ("inits", "pairings", "lr", "epochs", "widget_rule")
      if FLAGS[name].present
    ]
    if overridden:
      raise app.UsageError(
        f"--preset=nielsen_ch3 sets {', '.join('--' + n for n in overridden)}"
        "; drop them or drop the preset."
      )
    return dataclasses.replace(nielsen_ch3_config(), x=FLAGS.x, y=FLAGS.y)
  lrs = tuple(float(v) for v in FLAGS.lr)
  return SlowdownConfig(
    inits=tuple(_parse_init(v) for v in FLAGS.inits),
    learning_rates={p: lrs for p in FLAGS.pairings},
    epochs=FLAGS.epochs,
    widget_rule=FLAGS.widget_rule,
    x=FLAGS.x,
    y=FLAGS.y,
  )


def main(argv: Sequence[str]) -> None:
  cli.no_positional_arguments(argv)
  try:
    config = config_from_flags()
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  start = time.perf_counter()
  records, curves = run_slowdown(config)
  paths = write_outputs(FLAGS.workdir, records, curves, config)
  logging.info("trained in %.1f s", time.perf_counter() - start)
  print(summary_markdown(records, config))
  print("wrote", ", ".join(str(p) for p in paths))


if __name__ == "__main__":
  define_flags()
  app.run(main)
