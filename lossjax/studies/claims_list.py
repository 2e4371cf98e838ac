"""The README's claims and findings, as data (read by :mod:`lossjax.studies.claims`).

A :class:`Claim` is a difference the README states: two sides (a pairing's
runs in a committed study folder and the statistic read from each seed), the
stated direction and the README's words for it. A :class:`Finding` is one
row of the README's findings table: a question, its one-sentence answer as
the claims' verdicts allow, and the claims (or the deterministic number) it
quotes. Adding a claim is one entry in :data:`CLAIMS`.
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path

from lossjax.metrics import stats
from lossjax.output import records, results
from lossjax.studies import label_noise

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
