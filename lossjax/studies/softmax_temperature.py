"""Where the name softmax comes from: softmax(c z) tends to argmax (seed 001).

For given logits, computes each pairing's activation of ``c z`` in float32
for c from 0.1 to 1e6 (log spaced) and its L1 distance to the limit: for a
multiclass activation the one-hot vector of argmax z (tied maxima share the
mass equally); for a binary (element-wise) one the step function (1 above
0, 1/2 at 0, 0 below). Checks that nothing is NaN or inf even at c = 1e6.
"""

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lossjax import config as cfg
from lossjax import plotting, results
from lossjax.pairings import Pairing

SHOWN_SCALES = (0.1, 1.0, 10.0, 1e6)


def _parse_logits(text: str) -> tuple[float, ...]:
  return tuple(float(v) for v in text.split(":"))


def _check_logits(values) -> None:
  if not values or any(len(v) < 2 for v in values):
    raise ValueError("give logit vectors of at least two values each")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  pairings: tuple[Pairing, ...] = cfg.pairings_field(
    ("softmax_nll",), "Their activations are compared with the limit."
  )
  logits: tuple[tuple[float, ...], ...] = cfg.field(
    ((1.0, 2.0, 0.5, 1.9), (1.0, 3.0, 3.0, -1.0)),
    "Logit vectors, each with values joined by ':', e.g. 1:2:0.5,1:3:3:-1.",
    parse=cfg._list(_parse_logits),
    check=_check_logits,
  )
  min_scale: float = cfg.field(0.1, "Smallest c.", check=cfg.positive)
  max_scale: float = cfg.field(1e6, "Largest c.", check=cfg.positive)
  points: int = cfg.field(71, "Scales, log-spaced.", check=cfg.at_least(2))

  def validate(self):
    if not self.min_scale < self.max_scale:
      raise ValueError("min_scale must be below max_scale.")

  def cases(self) -> dict[str, tuple[float, ...]]:
    """Named logit vectors: ``distinct``/``tied`` by whether the max repeats."""
    names = []
    for values in self.logits:
      names.append("tied" if values.count(max(values)) > 1 else "distinct")
    if len(set(names)) == len(names):
      return dict(zip(names, self.logits, strict=True))
    return {
      f"{n} {i + 1}": v
      for i, (n, v) in enumerate(zip(names, self.logits, strict=True))
    }


PRESETS = {}


Result = results.ArrayResult


def limit(pairing: Pairing, z: np.ndarray) -> np.ndarray:
  """The ``c -> inf`` limit of ``activation(c z)``."""
  if pairing.kind == "binary":
    return np.where(z > 0, 1.0, np.where(z == 0, 0.5, 0.0))
  winners = (z == z.max()).astype(np.float64)
  return winners / winners.sum()


def run(config: Config, *, workdir: Path | None = None, log=print) -> Result:
  """Distances to the limit for every scale, pairing and logit vector."""
  del workdir, log
  scales = np.logspace(
    np.log10(config.min_scale), np.log10(config.max_scale), config.points
  )
  scales = np.unique(np.concatenate([scales, SHOWN_SCALES]))
  summary = {"scales": [config.min_scale, config.max_scale], "pairings": {}}
  arrays = {"scales": scales, "pairings": {}}
  for p in config.pairings:
    batched = jax.jit(
      jax.vmap(lambda c, z, p=p: p.activation(c * z), in_axes=(0, None))
    )
    cases, case_arrays = {}, {}
    for name, values in config.cases().items():
      z = np.asarray(values, np.float32)
      a = np.asarray(batched(jnp.asarray(scales, jnp.float32), jnp.asarray(z)))
      target = limit(p, z)
      distance = np.abs(a - target).sum(axis=-1)  # L1 (total variation x 2)
      case_arrays[name] = {"probs": a, "distance": distance, "logits": z}
      cases[name] = {
        "logits": [float(f"{v:g}") for v in z],
        "limit": target.tolist(),
        "all_finite": bool(np.isfinite(a).all()),
        "distance_at": {
          f"{c:g}": float(distance[scales == c][0]) for c in SHOWN_SCALES
        },
        "probs_at_max_scale": a[-1].tolist(),
        "first_scale_within_1e-3": (
          float(scales[np.argmax(distance < 1e-3)])
          if (distance < 1e-3).any()
          else None
        ),
      }
    summary["pairings"][p.name] = {"cases": cases}
    arrays["pairings"][p.name] = case_arrays
  return Result(config, summary, arrays)


def summary(result: Result) -> str:
  lines = ["# activation(c z) against its c -> inf limit", ""]
  for name, entry in result.summary["pairings"].items():
    for case, values in entry["cases"].items():
      lines.append(
        f"- {name}, {case}: distance at c = {values['distance_at']}; finite: "
        f"{values['all_finite']}"
      )
  return "\n".join(lines) + "\n"


def plot(result: Result, path: Path) -> Path:
  plt = plotting.plt
  scales = result.arrays["scales"]
  panels = [
    (p, name) for p in result.config.pairings for name in result.config.cases()
  ]
  fig, axes = plt.subplots(
    1, 1 + len(panels), figsize=(5 + 4.5 * len(panels), 4)
  )
  for p in result.config.pairings:
    for name, case in result.arrays["pairings"][p.name].items():
      axes[0].loglog(
        scales,
        np.maximum(case["distance"], 1e-12),
        label=f"{p.name}, {name} [{', '.join(f'{v:g}' for v in case['logits'])}]",
      )
  axes[0].set(
    title="|act(c z) - limit|_1", xlabel="scale c", ylabel="L1 distance"
  )
  axes[0].legend(fontsize=8)
  for ax, (p, name) in zip(axes[1:], panels, strict=True):
    case = result.arrays["pairings"][p.name][name]
    width = 0.8 / len(SHOWN_SCALES)
    k = len(case["logits"])
    for i, c in enumerate(SHOWN_SCALES):
      ax.bar(
        np.arange(k) + i * width,
        case["probs"][scales == c][0],
        width,
        label=f"c={c:g}",
      )
    ax.set_xticks(
      np.arange(k) + 0.4 - width / 2, [f"z={v:g}" for v in case["logits"]]
    )
    ax.set(
      title=f"{p.display_label}, {name}: act(c z)",
      ylabel="activation",
      ylim=(0, 1.05),
    )
    ax.legend(fontsize=8)
  return plotting.save_figure(fig, path)


def write(result: Result, workdir: str | Path) -> list[Path]:
  return [
    *results.write_summary(workdir, result.config, result.summary),
    plot(result, Path(workdir) / "softmax_temperature.png"),
  ]
