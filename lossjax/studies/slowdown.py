"""The single-neuron learning slowdown (seed 001; the book's chapter 3).

One neuron, input x, target y, trained by gradient descent from w = b = v
for each initialisation v. With sigmoid + quadratic the output error is
``(a - y) sigma'(z)`` and ``sigma'(4) ~ 0.018`` makes the neuron starting at
w = b = 2 crawl; with cross-entropy the error is ``a - y`` and both starts
learn fast. Any binary pairing runs here; all initialisations and learning
rates of a pairing train in one vmapped, jit-compiled call.
"""

import dataclasses
import itertools
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lossjax import config as cfg
from lossjax import config_fields
from lossjax.core.losses import activation_slope
from lossjax.core.neuron import (
  DcDaGrads,
  check_single_output_pairings,
  neuron_params,
)
from lossjax.core.pairings import Pairing
from lossjax.metrics.evals import NeuronEval
from lossjax.output import plotting, progress, results
from lossjax.training.train import fit_many

UPDATE_GRADIENT = "dC/dz"
UPDATE_WIDGET = "dC/da (book widget)"


def _parse_init(text: str) -> tuple[float, float]:
  parts = text.split(":")
  if len(parts) not in (1, 2):
    raise ValueError(f"{text!r} is not v or w:b")
  values = [float(p) for p in parts]
  return (values[0], values[-1])


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  """What to train (see each field's help)."""

  pairings: tuple[Pairing, ...] = config_fields.pairings_field(
    ("sigmoid_mse", "sigmoid_bce", "identity_mse"),
    "Binary pairings only (one output unit).",
  )
  inits: tuple[tuple[float, float], ...] = cfg.field(
    ((0.0, 0.0), (2.0, 2.0)),
    "Starting points: each entry v means w=b=v; 'w:b' sets them separately.",
    parse=cfg.list_parser(_parse_init),
    format=lambda inits: ",".join(
      cfg.number_text(w)
      if w == b
      else f"{cfg.number_text(w)}:{cfg.number_text(b)}"
      for w, b in inits
    ),
    check=lambda v: (
      cfg.nonempty_unique(v),
      [cfg.each(cfg.finite)(i) for i in v],
    ),
  )
  lrs: tuple = config_fields.lrs_field((0.15,))
  epochs: int = config_fields.epochs_field(300, "Gradient steps (one example).")
  widget_rule: tuple[Pairing, ...] = cfg.field(
    (),
    "Pairings also trained with the book widget's update, which uses dC/da "
    "(1/(1-a) for y=0 with cross-entropy) where the gradient has dC/dz.",
    check=lambda v: cfg.unique(v, key=lambda p: p.name),
  )
  x: float = cfg.field(1.0, "The neuron's input.", check=cfg.finite)
  y: float = cfg.field(0.0, "The target output, in [0, 1].")

  def validate(self):
    check_single_output_pairings(self.pairings)
    config_fields.check_lrs_cover(self.lrs, self.pairings)
    stray = [p.name for p in self.widget_rule if p not in self.pairings]
    if stray:
      raise ValueError(f"widget_rule: {stray} are not in pairings.")
    if not 0.0 <= self.y <= 1.0:
      raise ValueError(f"y: the target must lie in [0, 1], got {self.y}.")


PRESETS = {
  # Chapter 3: two starts, a rate per cost (cross-entropy's 30x smaller),
  # and the widget's rule beside the true gradient.
  "nielsen_ch3": {
    "pairings": ["sigmoid_mse", "sigmoid_bce"],
    "inits": [[0.6, 0.9], [2.0, 2.0]],
    "lrs": [["sigmoid_mse", 0.15], ["sigmoid_bce", 0.005]],
    "epochs": 300,
    "widget_rule": ["sigmoid_bce"],
  },
}


@dataclasses.dataclass
class Result:
  """``records``: one dict per configuration; ``curves``: per epoch too."""

  config: Config
  records: list[dict]
  curves: list[dict]

  def record(
    self, pairing: str, w0: float, update_rule: str = UPDATE_GRADIENT
  ) -> dict:
    """The record of one pairing from ``w = w0`` (the first rate)."""
    found = records_by(
      self.records, pairing=pairing, w0=w0, update_rule=update_rule
    )
    if not found:
      raise KeyError(f"no {pairing} run from w = {w0:g} ({update_rule})")
    return found[0]


def epochs_to_halve(outputs: np.ndarray, y: float) -> int | None:
  """First epoch at which ``|a - y|`` is at most half its initial value."""
  error = np.abs(np.asarray(outputs) - y)
  hits = np.flatnonzero(error <= 0.5 * error[0])
  return int(hits[0]) if hits.size else None


def _train(config: Config, pairing: Pairing, rule: str):
  grid = list(
    itertools.product(config.inits, config_fields.lrs_for(config.lrs, pairing))
  )
  w0 = jnp.array([init[0] for init, _ in grid], jnp.float32)
  b0 = jnp.array([init[1] for init, _ in grid], jnp.float32)
  x = jnp.full((1, 1), config.x, jnp.float32)
  targets = jnp.full((1, 1), config.y, jnp.float32)
  _, history = fit_many(
    jax.vmap(neuron_params)(w0, b0),
    (x, targets),
    jax.random.key(0),  # full batch: the order is irrelevant
    (x, targets),
    learning_rates=jnp.array([lr for _, lr in grid], jnp.float32),
    pairing=pairing,
    epochs=config.epochs,
    grad_fn=DcDaGrads(pairing) if rule == UPDATE_WIDGET else None,
    eval_fn=NeuronEval(pairing),
  )
  outputs, costs = np.asarray(history["output"]), np.asarray(history["cost"])
  records, curves = [], []
  for i, ((w, b), lr) in enumerate(grid):
    z0 = w * config.x + b
    slope = activation_slope(pairing, jnp.full((1,), z0, jnp.float32))
    key = {
      "pairing": pairing.name,
      "update_rule": rule,
      "w0": w,
      "b0": b,
      "lr": lr,
    }
    records.append(
      {
        **key,
        "epochs": config.epochs,
        "final_output": float(outputs[i, -1]),
        "final_loss": float(costs[i, -1]),
        "epochs_to_halve": epochs_to_halve(outputs[i], config.y),
        "z0": z0,
        "sigma_prime_z0": float(slope[0]),
        "initial_output": float(outputs[i, 0]),
      }
    )
    curves += [
      {
        **key,
        "epoch": e,
        "output": float(outputs[i, e]),
        "loss": float(costs[i, e]),
      }
      for e in range(config.epochs + 1)
    ]
  return records, curves


def run(
  config: Config, *, workdir: Path | None = None, log=progress.info
) -> Result:
  """Trains every configuration (``workdir`` unused: nothing to stream)."""
  del workdir, log
  groups = [(p, UPDATE_GRADIENT) for p in config.pairings]
  groups += [(p, UPDATE_WIDGET) for p in config.widget_rule]
  records, curves = [], []
  for pairing, rule in groups:
    group_records, group_curves = _train(config, pairing, rule)
    records += group_records
    curves += group_curves
  return Result(config, records, curves)


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


def summary(result: Result) -> str:
  """The summary table with a sentence on how to read it."""
  c = result.config
  head = (
    f"# Single-neuron slowdown (x={c.x}, y={c.y}, {c.epochs} epochs)\n\n"
    "`epochs_to_halve`: first epoch at which |a - y| is at most half its "
    "initial value (`-` if never). `sigma_prime_z0`: the output activation's "
    "slope da/dz at z0 = w0 x + b0 (sigma'(z0) for a sigmoid), the factor the "
    "quadratic cost multiplies its error by.\n\n"
  )
  return head + results.markdown_table(result.records, SUMMARY_COLUMNS)


def plot(result: Result, path: Path) -> Path:
  """Output ``a`` and output error versus epoch, one row per
  initialisation. The right panel is what the table measures: ``|a - y|``
  as a fraction of its start, so that every pairing starts at 1 and
  ``epochs_to_halve`` is where its curve crosses the dotted line at 0.5
  (marked), on a linear axis where a plateau looks like one. (The costs
  differ between pairings, and a linear output's falls to 1e-38.)"""
  plt = plotting.plt
  records, curves = result.records, result.curves
  by_name = {p.name: p for p in result.config.pairings}
  inits = sorted({(r["w0"], r["b0"]) for r in records})
  fig, axes = plt.subplots(
    len(inits), 2, figsize=(11, 3.2 * len(inits)), squeeze=False
  )
  by_config: dict[tuple, list[dict]] = {}
  for row in curves:
    key = (row["pairing"], row["update_rule"], row["w0"], row["b0"], row["lr"])
    by_config.setdefault(key, []).append(row)
  multiple_lrs = len({r["lr"] for r in records}) > 1
  for (name, rule, w0, b0, lr), rows in by_config.items():
    ax_out, ax_err = axes[inits.index((w0, b0))]
    pairing = by_name[name]
    label = pairing.display_label
    if rule != UPDATE_GRADIENT:
      label += f", {rule}"
    if multiple_lrs or rule != UPDATE_GRADIENT:
      label += f", eta={lr:g}"
    style = dict(
      color=pairing.display_color,
      linestyle="--" if rule != UPDATE_GRADIENT else "-",
      label=label,
    )
    epochs = [r["epoch"] for r in rows]
    error = np.abs(np.array([r["output"] for r in rows]) - result.config.y)
    ax_out.plot(epochs, [r["output"] for r in rows], **style)
    if error[0] > 0:  # a run that starts at its target has nothing to halve
      relative = error / error[0]
      ax_err.plot(epochs, relative, **style)
      halved = np.flatnonzero(relative <= 0.5)
      if halved.size:
        ax_err.plot(
          epochs[halved[0]],
          relative[halved[0]],
          marker="o",
          color=style["color"],
          markersize=5,
        )
  for row_axes, (w0, b0) in zip(axes, inits, strict=True):
    z0 = w0 * result.config.x + b0
    title = f"w0={w0:g}, b0={b0:g}  (z0={z0:g})"
    row_axes[0].set(title=f"output a, {title}", xlabel="epoch", ylabel="a")
    row_axes[1].set(
      title=f"|a - y| / its start, {title}\n(dot: epochs_to_halve)",
      xlabel="epoch",
      ylabel="fraction of the initial output error",
    )
    row_axes[1].axhline(0.5, color="grey", linestyle=":", linewidth=1)
    row_axes[1].set_ylim(0, 1.05)
    row_axes[0].legend(fontsize=8)
  return plotting.save_figure(fig, path)


def write(result: Result, workdir: str | Path) -> list[Path]:
  """config.json, summary.json, summary.md, curves.csv and slowdown.png."""
  workdir = Path(workdir)
  return [
    *results.write_summary(
      workdir, result.config, result.records, summary(result)
    ),
    results.write_csv(
      workdir / "curves.csv",
      result.curves,
      ("pairing", "update_rule", "w0", "b0", "lr", "epoch", "output", "loss"),
    ),
    plot(result, workdir / "slowdown.png"),
  ]


def records_by(records: Sequence[dict], **match) -> list[dict]:
  """The records whose fields equal ``match`` (e.g. ``pairing="sigmoid_mse"``)."""
  return [r for r in records if all(r[k] == v for k, v in match.items())]
