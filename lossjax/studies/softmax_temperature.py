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
from lossjax import config_fields
from lossjax.core.pairings import Pairing
from lossjax.output import plotting, progress, results

SHOWN_SCALES = (0.1, 1.0, 10.0, 1e6)


def _parse_logits(text: str) -> tuple[float, ...]:
  return tuple(float(v) for v in text.split(":"))


def _check_logits(values) -> None:
  if not values or any(len(v) < 2 for v in values):
    raise ValueError("give logit vectors of at least two values each")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  pairings: tuple[Pairing, ...] = config_fields.pairings_field(
    ("softmax_nll",), "Their activations are compared with the limit."
  )
  logits: tuple[tuple[float, ...], ...] = cfg.field(
    ((1.0, 2.0, 0.5, 1.9), (1.0, 3.0, 3.0, -1.0)),
    "Logit vectors, each with values joined by ':', e.g. 1:2:0.5,1:3:3:-1.",
    parse=cfg.list_parser(_parse_logits),
    format=lambda vectors: ",".join(
      ":".join(map(cfg.number_text, v)) for v in vectors
    ),
    check=cfg.all_of(cfg.unique, _check_logits),
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


@dataclasses.dataclass(frozen=True)
class Case:
  """One logit vector ``z`` under one pairing: ``activation(c z)`` against
  its ``c -> inf`` limit.

  Attributes:
    logits: ``z``.
    limit: the limit (the one-hot argmax, its mass shared among ties).
    all_finite: whether every activation was finite, at every scale.
    distance_at: the L1 distance to the limit at each of ``SHOWN_SCALES``.
    probs_at_max_scale: the activation at the largest scale.
    first_scale_within_1e_3: the first scale whose distance is below 1e-3
      (``None``: none).
  """

  logits: tuple[float, ...]
  limit: tuple[float, ...]
  all_finite: bool
  distance_at: dict[float, float]
  probs_at_max_scale: tuple[float, ...]
  first_scale_within_1e_3: float | None

  def to_json(self) -> dict:
    return {
      "logits": list(self.logits),
      "limit": list(self.limit),
      "all_finite": self.all_finite,
      "distance_at": {f"{c:g}": d for c, d in self.distance_at.items()},
      "probs_at_max_scale": list(self.probs_at_max_scale),
      "first_scale_within_1e-3": self.first_scale_within_1e_3,
    }


@dataclasses.dataclass(frozen=True)
class Summary:
  """Every case: ``cases[pairing name][case name]`` (see :meth:`Config.cases`).

  ``scales``: the smallest and the largest scale.
  """

  scales: tuple[float, float]
  cases: dict[str, dict[str, Case]]

  def to_json(self) -> dict:
    """``summary.json``."""
    return {
      "scales": list(self.scales),
      "pairings": {
        name: {"cases": {case: c.to_json() for case, c in cases.items()}}
        for name, cases in self.cases.items()
      },
    }


@dataclasses.dataclass
class Result:
  config: Config
  summary: Summary
  arrays: dict


def limit(pairing: Pairing, z: np.ndarray) -> np.ndarray:
  """The ``c -> inf`` limit of ``activation(c z)``."""
  if pairing.kind == "binary":
    return np.where(z > 0, 1.0, np.where(z == 0, 0.5, 0.0))
  winners = (z == z.max()).astype(np.float64)
  return winners / winners.sum()


def run(
  config: Config, *, workdir: Path | None = None, log=progress.info
) -> Result:
  """Distances to the limit for every scale, pairing and logit vector."""
  del workdir, log
  scales = np.logspace(
    np.log10(config.min_scale), np.log10(config.max_scale), config.points
  )
  scales = np.unique(np.concatenate([scales, SHOWN_SCALES]))
  all_cases: dict[str, dict[str, Case]] = {}
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
      cases[name] = Case(
        logits=tuple(float(f"{v:g}") for v in z),
        limit=tuple(target.tolist()),
        all_finite=bool(np.isfinite(a).all()),
        distance_at={
          float(c): float(distance[scales == c][0]) for c in SHOWN_SCALES
        },
        probs_at_max_scale=tuple(a[-1].tolist()),
        first_scale_within_1e_3=(
          float(scales[np.argmax(distance < 1e-3)])
          if (distance < 1e-3).any()
          else None
        ),
      )
    all_cases[p.name] = cases
    arrays["pairings"][p.name] = case_arrays
  summary = Summary((config.min_scale, config.max_scale), all_cases)
  return Result(config, summary, arrays)


def summary(result: Result) -> str:
  lines = ["# activation(c z) against its c -> inf limit", ""]
  for name, cases in result.summary.cases.items():
    for case, values in cases.items():
      lines.append(
        f"- {name}, {case}: distance at c = "
        f"{values.to_json()['distance_at']}; finite: {values.all_finite}"
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
    *results.write_summary(workdir, result.config, result.summary.to_json()),
    plot(result, Path(workdir) / "softmax_temperature.png"),
  ]
