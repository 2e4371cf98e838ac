"""Claims as data: each difference the README states, evaluated from the
committed results with its interval and a verdict.

A :class:`Claim` names two sides (a pairing's runs in a committed study
folder, and the statistic read from each seed), the direction the README
states, and the README's own words for it (``says``). :func:`run` pairs the
two sides seed by seed and gives :func:`lossjax.metrics.stats.paired_over_seeds`'s
interval and verdict: ``higher`` or ``lower`` only when the interval
excludes 0 *and* the study has at least :data:`lossjax.metrics.stats.MIN_SEEDS`
seeds; otherwise ``tie`` or ``too few seeds``. A claim *holds* when its
verdict is the stated direction. ``tests/studies/test_claims.py`` fails when
the README still says the words of a claim that does not hold, or when the
committed ``claims.json`` is not what the committed results give.

Run: ``python -m experiments.claims --workdir=experiments/results/claims``
(seconds: it reads results, it trains nothing).
"""

import dataclasses
import functools
import os
from pathlib import Path

import numpy as np

from lossjax import config as cfg
from lossjax.metrics import calibration, stats
from lossjax.output import progress, records, results
from lossjax.studies import (
  calibration_report,
  compare,
  compare_summary,
  run_times,
)
from lossjax.studies.claims_list import (
  AT,
  CALIBRATION,
  CLAIMS,
  FINDINGS,
  Claim,
  Side,
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  """Which results the claims are read from, and how they are judged."""

  results: str = cfg.field(
    "experiments/results",
    "Directory holding the committed study folders the claims read.",
    check=lambda v: _existing_dir(v),
  )
  confidence: float = cfg.field(
    stats.CONFIDENCE,
    "Level of the confidence intervals.",
    check=lambda v: _in_open_unit(v),
  )
  min_seeds: int = cfg.field(
    stats.MIN_SEEDS,
    "Fewest seeds a difference may rest on; fewer is 'too few seeds'.",
    check=cfg.at_least(2),
  )


def _existing_dir(value: str) -> None:
  if not Path(value).is_dir():
    raise ValueError(
      f"{value} is not a directory: give the folder holding the study "
      "results (the repository's experiments/results)."
    )


def _in_open_unit(value: float) -> None:
  if not 0 < value < 1:
    raise ValueError(f"must lie in (0, 1), got {value}")


PRESETS = {}


@dataclasses.dataclass(frozen=True)
class Evaluated:
  """A claim with its per-seed values, interval and verdict."""

  claim: Claim
  seeds: list[int]
  a: list[float]
  b: list[float] | None
  interval: stats.Interval

  @property
  def holds(self) -> bool:
    return self.interval.verdict == self.claim.expects

  def to_json(self) -> dict:
    return {
      "id": self.claim.id,
      "section": self.claim.section,
      "statistic": self.claim.statistic,
      "a": self.claim.a.label(),
      "b": self.claim.b.label() if self.claim.b else self.claim.reference,
      "expects": self.claim.expects,
      "seeds": self.seeds,
      "a_values": self.a,
      "b_values": self.b,
      **self.interval.to_json(),
      "holds": self.holds,
    }


@dataclasses.dataclass(frozen=True)
class Result:
  """Every claim evaluated, each calibration run's ECE beside the ECE a
  perfectly calibrated model with its confidences scores by chance, and the
  findings table (:data:`FINDINGS`)."""

  config: Config
  evaluated: list[Evaluated]
  ece_chance: list[dict]

  @functools.cached_property
  def findings(self) -> str:
    """:func:`findings_table` of these claims and the results they read."""
    return findings_table(self, Path(self.config.results))

  @functools.cached_property
  def run_times(self) -> str:
    """Each study's command and time (:func:`run_times.table`)."""
    return run_times.table(Path(self.config.results))


def ece_chance_rows(folder: Path, draws: int = 200) -> list[dict]:
  """Per selected pairing of a calibration study: its test ECE (mean over
  seeds, at the selected epoch, from the saved probabilities) and the
  chance level of a calibrated model with the same confidences (the mean
  and the 95% quantile of :func:`lossjax.metrics.stats.ece_chance_level`, averaged
  over seeds)."""
  saved = calibration_report.read_probabilities(
    folder / calibration_report.PROBABILITIES_FILE
  )
  if saved is None:
    return []
  probabilities, labels = saved
  _, selected = _runs(os.fspath(folder))
  rows = []
  for row in selected:
    hidden = records.hidden_sizes(row.hidden)
    runs = [
      p
      for (pairing, h, lr, _), (_, p) in sorted(probabilities.items())
      if (pairing, h, lr) == (row.pairing, hidden, row.lr)
    ]
    if not runs:
      continue
    eces, means, uppers = [], [], []
    for p in runs:
      eces.append(float(calibration.expected_calibration_error(p, labels)))
      mean, upper = stats.ece_chance_level(p.max(axis=1), draws=draws)
      means.append(mean)
      uppers.append(upper)
    rows.append(
      {
        "pairing": row.pairing,
        "seeds": len(runs),
        "ece": 100 * float(np.mean(eces)),
        "chance_mean": 100 * float(np.mean(means)),
        "chance_95": 100 * float(np.mean(uppers)),
      }
    )
  return rows


@functools.lru_cache(maxsize=32)
def _runs(folder: str) -> dict:
  result = compare.load(folder)
  return compare_summary.seed_runs(result), result.summary.selected


def _side_values(root: Path, side: Side) -> tuple[list[int], list[float]]:
  if side.at not in AT and not side.at.startswith("epoch:"):
    raise ValueError(f"{side}: at must be one of {AT} or epoch:N")
  runs, selected = _runs(os.fspath(root / side.study))
  rows = [
    r
    for r in selected
    if r.pairing == side.pairing
    and (side.hidden is None or r.hidden == records.hidden_text(side.hidden))
  ]
  if len(rows) != 1:
    raise ValueError(
      f"{root / side.study}: {len(rows)} selected settings for {side.label()}"
    )
  hidden = records.hidden_sizes(rows[0].hidden)
  lr = rows[0].lr if side.lr is None else side.lr
  if (side.pairing, hidden, lr) not in runs:
    raise ValueError(f"{root / side.study}: no runs of {side.label()}")
  seed_runs = runs[(side.pairing, hidden, lr)]
  if side.at == "temperature":
    values = [r["temperature"] for r in seed_runs.scaled_selected]
  elif side.at == "selected":
    values = seed_runs.at_selected(side.metric)
  elif side.at == "last":
    values = seed_runs.at_last(side.metric)
  elif side.at.startswith("epoch:"):
    epoch = int(side.at.removeprefix("epoch:"))
    values = [
      next(r[side.metric] for r in rows if r["epoch"] == epoch)
      for rows in seed_runs.rows
    ]
  else:
    values = [
      s - t
      for s, t in zip(
        seed_runs.at_selected(side.metric),
        seed_runs.at_last(side.metric),
        strict=True,
      )
    ]
  return seed_runs.seeds, [side.scale * v for v in values]


def evaluate(claim: Claim, config: Config) -> Evaluated:
  """One claim from the results under ``config.results``."""
  root = Path(config.results)
  seeds, a = _side_values(root, claim.a)
  b = None
  if claim.b is not None:
    seeds_b, b = _side_values(root, claim.b)
    if seeds_b != seeds:
      raise ValueError(
        f"{claim.id}: the sides' seeds differ ({seeds}, {seeds_b})"
      )
  interval = stats.paired_over_seeds(
    a,
    b,
    reference=claim.reference,
    confidence=config.confidence,
    min_seeds=config.min_seeds,
  )
  return Evaluated(claim, seeds, a, b, interval)


def run(config: Config, *, workdir: Path | None = None, log=progress.info):
  """Evaluates every claim of :data:`CLAIMS`."""
  del workdir
  _runs.cache_clear()
  evaluated = []
  for claim in CLAIMS:
    evaluated.append(evaluate(claim, config))
    log(f"{claim.id}: {evaluated[-1].interval.verdict}")
  chance = ece_chance_rows(Path(config.results) / CALIBRATION)
  return Result(config, evaluated, chance)


def _claim_text(e: Evaluated) -> str:
  i = e.interval
  return (
    f"{e.claim.a.label()} - {e.claim.b.label() if e.claim.b else e.claim.reference}: "
    f"{_number(i.estimate)} [{_number(i.low)}, {_number(i.high)}], "
    f"{i.n} seeds: {i.verdict}"
  )


def findings_table(result: Result, root: Path) -> str:
  """The README's findings: one row per question, its answer, the key
  number with its interval (from the claims, or read under ``root``) and
  the page (relative to the repository, where the README is)."""
  by_id = {e.claim.id: e for e in result.evaluated}

  def cells(f):
    if f.claims:
      numbers = "; ".join(_claim_text(by_id[c]) for c in f.claims)
    else:
      numbers = f.number(root)
    text = [c.replace("|", "\\|") for c in (f.question, f.answer, numbers)]
    return [*text, f"[{Path(f.page).stem}]({f.page})"]

  headers = [
    "question",
    "answer",
    "key numbers (95% interval over seeds)",
    "page",
  ]
  return "\n".join(results.table_lines(headers, map(cells, FINDINGS))) + "\n"


def _number(value: float) -> str:
  return f"{value:+.3g}" if abs(value) != float("inf") else "∞"


def table(result: Result) -> str:
  """The claims as a Markdown table: one row each."""

  def cells(e):
    i = e.interval
    return [
      e.claim.id,
      e.claim.statistic,
      e.claim.a.label(),
      e.claim.b.label() if e.claim.b else f"{e.claim.reference:g}",
      str(i.n),
      f"{_number(i.estimate)} [{_number(i.low)}, {_number(i.high)}]",
      i.verdict,
      "yes" if e.holds else "no",
    ]

  headers = [
    "claim",
    "statistic",
    "a",
    "b",
    "seeds",
    "a - b [95% interval]",
    "verdict",
    "holds",
  ]
  return (
    "\n".join(results.table_lines(headers, map(cells, result.evaluated))) + "\n"
  )


def ece_table(rows: list[dict]) -> str:
  headers = [
    "pairing",
    "seeds",
    "test ECE %",
    "chance ECE %: mean",
    "chance ECE %: 95%",
  ]
  cells = (
    [
      r["pairing"],
      str(r["seeds"]),
      f"{r['ece']:.2f}",
      f"{r['chance_mean']:.2f}",
      f"{r['chance_95']:.2f}",
    ]
    for r in rows
  )
  return "\n".join(results.table_lines(headers, cells)) + "\n"


def summary(result: Result) -> str:
  held = sum(e.holds for e in result.evaluated)
  chance = (
    "\nECE against its chance level (clean MNIST, the calibration study's "
    "selected runs, recomputed from `test_probabilities.npz`): a perfectly "
    "calibrated model with each run's confidences, on as many test examples, "
    "scores the chance ECE by sampling alone; an ECE below the 95% quantile "
    "cannot be told from calibrated.\n\n" + ece_table(result.ece_chance)
    if result.ece_chance
    else ""
  )
  return (
    "# Claims\n\n"
    f"Each difference the README states, from the committed results: the "
    f"mean of a - b over seeds with the paired t-test's "
    f"{result.config.confidence:.0%} interval. A verdict is a difference "
    f"(higher, lower) only when the interval excludes 0 and the study has "
    f"at least {result.config.min_seeds} seeds. {held} of "
    f"{len(result.evaluated)} claims hold.\n\n" + table(result) + chance
  )


def write(result: Result, workdir: str | Path) -> list[Path]:
  workdir = Path(workdir)
  return [
    results.write_json(
      workdir / "config.json", {"config": result.config.to_json()}
    ),
    results.write_json(
      workdir / "claims.json",
      {
        "claims": [e.to_json() for e in result.evaluated],
        "ece_chance": result.ece_chance,
      },
    ),
    results.atomic_write_text(workdir / "claims.md", summary(result)),
    results.atomic_write_text(workdir / "findings.md", result.findings),
    results.atomic_write_text(workdir / "run_times.md", result.run_times),
  ]
