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
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lossjax import config as cfg
from lossjax.metrics import calibration, stats
from lossjax.output import progress, records, results
from lossjax.studies import (
  calibration_report,
  compare,
  compare_summary,
  label_noise,
  run_times,
)

# Where a statistic is read in each seed's runs (and "epoch:N").
AT = ("selected", "last", "drop", "temperature")


@dataclasses.dataclass(frozen=True)
class Side:
  """One side of a comparison: a pairing's selected-rate runs in a study.

  Attributes:
    study: the folder under the results directory (e.g.
      ``mnist_label_noise/noise_60``).
    pairing: the pairing's name.
    metric: the per-epoch metric (``test_accuracy``, ``test_nll``, ...).
    at: ``selected`` (each seed's best validation epoch), ``last``, ``drop``
      (selected minus last: what the last epochs lost), ``epoch:N`` (epoch
      ``N``) or ``temperature`` (the temperature fitted at the selected
      epoch; ``metric`` unused).
    hidden: the architecture, where the study has several.
    scale: multiplies the values (100: a fraction as points).
    lr: read the runs of this rate (``None``: the rate selected on
      validation), e.g. to compare pairings at the same position of their
      rate grids.
  """

  study: str
  pairing: str
  metric: str = "test_accuracy"
  at: str = "selected"
  hidden: tuple[int, ...] | None = None
  scale: float = 1.0
  lr: float | None = None

  def label(self) -> str:
    where = f" [{records.hidden_text(self.hidden)}]" if self.hidden else ""
    at = "" if self.at in ("selected", "temperature") else f" ({self.at})"
    rate = "" if self.lr is None else f" at lr {self.lr:g}"
    return f"{self.pairing}{where}{rate}{at}"


@dataclasses.dataclass(frozen=True)
class Claim:
  """A difference the README states.

  Attributes:
    id: a short stable name.
    section: the README section that states it.
    says: the README's words for the difference: a test checks that they
      are in the README while the claim holds and gone when it does not.
      ``None``: a measured comparison the README does not state as a
      difference (a finding, e.g. a tie).
    statistic: what is compared, in words, with its unit.
    a, b: the two sides (``b=None``: ``a`` against ``reference``).
    expects: the stated direction of ``a - b``: ``stats.HIGHER`` or
      ``stats.LOWER``.
    reference: the value ``a`` is compared with when ``b`` is ``None``.
  """

  id: str
  section: str
  says: str | None
  statistic: str
  a: Side
  b: Side | None
  expects: str
  reference: float = 0.0


def _points(study: str, pairing: str, **kw) -> Side:
  return Side(study, pairing, scale=100.0, **kw)


NOISE = "mnist_label_noise/noise_{}"
PAIR_NOISE = "mnist_label_noise_pair/noise_40"


def _top_rate(pairing: str) -> float:
  """The upper rate of ``pairing``'s grid in the label-noise preset: its
  clean optimum (the grid adds the rate below it)."""
  grid = label_noise.PRESETS["mnist"]["lrs"]
  return max(lr for name, lr in grid if name == pairing)


CALIBRATION = "mnist_label_noise/noise_0"
TEST_ACC = "test accuracy at the best validation epoch (points)"

# The README's stated differences. Each claim's numbers are the committed
# study's; the direction is the one the README gives.
CLAIMS = (
  Claim(
    id="book_cross_entropy_beats_quadratic_100",
    section="The book's experiment on the book's data: full MNIST",
    says="number is what a *lucky* run gives",
    statistic="final test accuracy, [784, 100, 10] (points)",
    a=_points("mnist_nielsen", "sigmoid_bce", at="last", hidden=(100,)),
    b=_points("mnist_nielsen", "sigmoid_mse", at="last", hidden=(100,)),
    expects=stats.HIGHER,
  ),
  Claim(
    id="book_cross_entropy_beats_quadratic_30",
    section="The book's experiment on the book's data: full MNIST",
    says=None,
    statistic="final test accuracy, [784, 30, 10] (points)",
    a=_points("mnist_nielsen", "sigmoid_bce", at="last", hidden=(30,)),
    b=_points("mnist_nielsen", "sigmoid_mse", at="last", hidden=(30,)),
    expects=stats.HIGHER,
  ),
  Claim(
    id="square_loss_trails_log_likelihood",
    section="Is the student right?",
    says="it trails cross-entropy: on MNIST",
    statistic=TEST_ACC,
    a=_points("mnist_square_loss", "identity_mse"),
    b=_points("mnist_square_loss", "softmax_nll"),
    expects=stats.LOWER,
  ),
  Claim(
    id="rescaling_recovers_part_of_the_gap",
    section="Is the student right?",
    says="Hui & Belkin's rescaling recovers part of the gap",
    statistic=TEST_ACC,
    a=_points("mnist_square_loss", "rescaled_mse(k=3,m=5)"),
    b=_points("mnist_square_loss", "identity_mse"),
    expects=stats.HIGHER,
  ),
  Claim(
    id="log_likelihood_over_confident",
    section="Are the outputs probabilities?",
    says="measured over-confident, in the direction Guo et al. measured",
    statistic="temperature fitted on validation at the selected epoch, minus 1",
    a=Side(CALIBRATION, "softmax_nll", at="temperature"),
    b=None,
    reference=1.0,
    expects=stats.HIGHER,
  ),
  Claim(
    id="softmax_square_loss_lower_nll",
    section="Are the outputs probabilities?",
    says="a lower NLL as trained than the log-likelihood itself",
    statistic="test NLL at the selected epoch",
    a=Side(CALIBRATION, "softmax_mse", metric="test_nll"),
    b=Side(CALIBRATION, "softmax_nll", metric="test_nll"),
    expects=stats.LOWER,
  ),
  Claim(
    id="cross_entropy_better_calibrated_than_quadratic",
    section="Are the outputs probabilities?",
    says="sigmoid + cross-entropy is better\ncalibrated than sigmoid + quadratic",
    statistic="test ECE at the selected epoch (points)",
    a=_points(CALIBRATION, "sigmoid_bce", metric="test_ece"),
    b=_points(CALIBRATION, "sigmoid_mse", metric="test_ece"),
    expects=stats.LOWER,
  ),
  Claim(
    id="log_likelihood_grows_over_confident",
    section="Are the outputs probabilities?",
    says="growing over-confidence Guo et al. found in large networks\nshows here",
    statistic="test ECE, epoch 30 minus epoch 5 (points)",
    a=_points(CALIBRATION, "softmax_nll", metric="test_ece", at="last"),
    b=_points(CALIBRATION, "softmax_nll", metric="test_ece", at="epoch:5"),
    expects=stats.HIGHER,
  ),
  *(
    Claim(
      id=f"quadratic_first_at_{level}_noise",
      section="What if labels are wrong?",
      says=f"sigmoid + quadratic is ahead at {level}% noise",
      statistic=f"{TEST_ACC}, {level}% noise",
      a=_points(NOISE.format(level), "sigmoid_mse"),
      b=_points(NOISE.format(level), "softmax_nll"),
      expects=stats.HIGHER,
    )
    for level in (20, 40, 60)
  ),
  Claim(
    id="log_likelihood_loses_most_late_at_60_noise",
    section="What if labels are wrong?",
    says="the log-likelihood lost the most between its selected and its",
    statistic="test accuracy lost from the selected to the last epoch, "
    "60% noise (points)",
    a=_points(NOISE.format(60), "softmax_nll", at="drop"),
    b=_points(NOISE.format(60), "sigmoid_mse", at="drop"),
    expects=stats.HIGHER,
  ),
  # The same comparison at the same position of the two rate grids (each
  # pairing's clean optimum, the upper rate of its grid), not at the rate
  # each happened to select at 60% noise.
  Claim(
    id="log_likelihood_loses_most_late_at_60_noise_same_rate",
    section="What if labels are wrong?",
    says=None,
    statistic="test accuracy lost from the selected to the last epoch, "
    "60% noise, each pairing at its clean optimum (points)",
    a=_points(
      NOISE.format(60), "softmax_nll", at="drop", lr=_top_rate("softmax_nll")
    ),
    b=_points(
      NOISE.format(60), "sigmoid_mse", at="drop", lr=_top_rate("sigmoid_mse")
    ),
    expects=stats.HIGHER,
  ),
  # Pair-flip noise (c -> c + 1) at 40%: the same two comparisons.
  Claim(
    id="quadratic_first_at_40_pair_noise",
    section="What if labels are wrong?",
    says=None,
    statistic=f"{TEST_ACC}, 40% pair noise",
    a=_points(PAIR_NOISE, "sigmoid_mse"),
    b=_points(PAIR_NOISE, "softmax_nll"),
    expects=stats.HIGHER,
  ),
  Claim(
    id="log_likelihood_loses_most_late_at_40_pair_noise",
    section="What if labels are wrong?",
    says=None,
    statistic="test accuracy lost from the selected to the last epoch, "
    "40% pair noise (points)",
    a=_points(PAIR_NOISE, "softmax_nll", at="drop"),
    b=_points(PAIR_NOISE, "sigmoid_mse", at="drop"),
    expects=stats.HIGHER,
  ),
  Claim(
    id="relu_cross_entropy_beats_quadratic_from_large_weights",
    section="Any hidden activation",
    says=None,
    statistic=f"{TEST_ACC}, relu hidden layer, N(0, 1) weights",
    a=_points("mnist_relu_large", "sigmoid_bce"),
    b=_points("mnist_relu_large", "sigmoid_mse"),
    expects=stats.HIGHER,
  ),
  Claim(
    id="multilabel_sigmoid_beats_softmax_exact_set",
    section="Exclusive or independent classes?",
    says="these runs agree with it: on multi-label data",
    statistic="test exact-set accuracy at the selected epoch (points)",
    a=_points(
      "mnist_multilabel", "sigmoid_bce", metric="test_exact_set_accuracy"
    ),
    b=_points(
      "mnist_multilabel", "softmax_nll", metric="test_exact_set_accuracy"
    ),
    expects=stats.HIGHER,
  ),
  # Without a threshold: the k highest scores against the k true labels.
  # What is left of the gap is the softmax's ranking; the rest, its
  # threshold.
  Claim(
    id="multilabel_sigmoid_beats_softmax_top_k",
    section="Exclusive or independent classes?",
    says=None,
    statistic="test top-k set accuracy at the selected epoch (points)",
    a=_points(
      "mnist_multilabel", "sigmoid_bce", metric="test_top_k_set_accuracy"
    ),
    b=_points(
      "mnist_multilabel", "softmax_nll", metric="test_top_k_set_accuracy"
    ),
    expects=stats.HIGHER,
  ),
)


def _summary(root: Path, study: str) -> list:
  return results.read_json(root / study / "summary.json")


def _slowdown_number(root: Path) -> str:
  rows = _summary(root, "slowdown")
  halve = {
    (r["pairing"], r["w0"]): r["epochs_to_halve"]
    for r in rows
    if r["update_rule"] == "dC/dz"
  }
  return (
    "epochs to halve |a - y| from w = b = 0 / 2: quadratic "
    f"{halve['sigmoid_mse', 0.0]} / {halve['sigmoid_mse', 2.0]}, "
    f"cross-entropy {halve['sigmoid_bce', 0.0]} / "
    f"{halve['sigmoid_bce', 2.0]} (deterministic)"
  )


def _gradients_number(root: Path) -> str:
  rows = [r for r in _summary(root, "mnist_pairings") if r["selected"]]
  return (
    "output error |dC/dz| at epoch 0, [784, 30, 10] from N(0, 1): "
    + ", ".join(f"{r['pairing']} {r['output_error_epoch0']:.2g}" for r in rows)
    + f" (mean of {rows[0]['seeds']} seeds)"
  )


def _convexity_number(root: Path) -> str:
  s = results.read_json(root / "convexity" / "summary.json")
  return (
    "smallest second derivative of the cost in theta: quadratic "
    f"{s['1d_sigmoid_mse']['min_second_derivative']:.3g}, cross-entropy "
    f"{s['1d_sigmoid_bce']['min_second_derivative']:.2g} (float64 Hessians)"
  )


@dataclasses.dataclass(frozen=True)
class Finding:
  """One question of the README's findings table.

  Attributes:
    question: the question, as the study's page asks it.
    answer: the answer in one sentence, worded as its claims' verdicts
      allow.
    page: the page that shows it (relative to the repository).
    claims: the ids of the claims whose estimates the row quotes.
    number: for a question without claims (a deterministic result), the key
      number, read from the committed results.
  """

  question: str
  answer: str
  page: str
  claims: tuple[str, ...] = ()
  number: Callable[[Path], str] | None = None


FINDINGS = (
  Finding(
    "Does sigmoid + quadratic learn slowly when saturated?",
    "Yes: the one neuron's error carries sigma'(z); cross-entropy's does not.",
    "docs/studies/slowdown.md",
    number=_slowdown_number,
  ),
  Finding(
    "Does it happen with the book's networks on MNIST?",
    "With 100 hidden units the quadratic cost stalls in 5 of 10 seeds and "
    "cross-entropy in none; with 30 the difference is a tie.",
    "docs/studies/book_mnist.md",
    claims=(
      "book_cross_entropy_beats_quadratic_100",
      "book_cross_entropy_beats_quadratic_30",
    ),
  ),
  Finding(
    "Does softmax + cross-entropy really give different gradients?",
    "Yes: from the same weights its output error is 5 to 10 times the "
    "quadratic costs', which carry the activation's slope.",
    "docs/studies/gradients.md",
    number=_gradients_number,
  ),
  Finding(
    "Is the square loss on linear outputs as good (the student)?",
    "It removes the slowdown but trails the log-likelihood by 1.45 points "
    "in every seed; Hui & Belkin's rescaling recovers 0.6 of them.",
    "docs/studies/square_loss.md",
    claims=(
      "square_loss_trails_log_likelihood",
      "rescaling_recovers_part_of_the_gap",
    ),
  ),
  Finding(
    "Are the outputs probabilities?",
    "Close to calibrated (ECE 0.3-1.0% for the squashed pairings); the "
    "log-likelihood over-confident (T = 1.48), more so as it trains; "
    "sigmoid + cross-entropy better calibrated than sigmoid + quadratic.",
    "docs/studies/calibration.md",
    claims=(
      "log_likelihood_over_confident",
      "cross_entropy_better_calibrated_than_quadratic",
      "log_likelihood_grows_over_confident",
    ),
  ),
  Finding(
    "What if labels are wrong?",
    "At the best noisy-validation epoch sigmoid + quadratic is ahead of the "
    "log-likelihood at 20% and 40% noise by under a point, a tie at 60%; "
    "by the last epoch the log-likelihood has lost the most.",
    "docs/studies/label_noise.md",
    claims=(
      "quadratic_first_at_20_noise",
      "quadratic_first_at_40_noise",
      "quadratic_first_at_60_noise",
      "log_likelihood_loses_most_late_at_60_noise",
    ),
  ),
  Finding(
    "Exclusive or independent classes?",
    "Independent outputs: on multi-label data sigmoid + cross-entropy gets "
    "10.5 points more label sets exactly right than softmax + "
    "log-likelihood, and 5.4 more with the threshold taken away.",
    "docs/studies/multilabel.md",
    claims=(
      "multilabel_sigmoid_beats_softmax_exact_set",
      "multilabel_sigmoid_beats_softmax_top_k",
    ),
  ),
  Finding(
    "Does the pairing matter when hidden layers do not saturate?",
    "Yes when the outputs start saturated (relu, N(0, 1)): cross-entropy "
    "reaches 93% where the quadratic cost reaches 37%.",
    "docs/studies/hidden_activations.md",
    claims=("relu_cross_entropy_beats_quadratic_from_large_weights",),
  ),
  Finding(
    "Why log-loss rather than squared error on probabilities?",
    "Cross-entropy is convex in the weights of a logistic model; the "
    "quadratic cost is not.",
    "docs/studies/more.md",
    number=_convexity_number,
  ),
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
