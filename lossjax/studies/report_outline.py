"""The report's outline: which study answers which question, in what order.

:class:`Studies` holds the studies' typed results, :data:`SECTIONS` the
questions as values (a key, the question, the body from
:mod:`lossjax.studies.report_sections`), numbered by their position, and
:func:`render` writes them. :mod:`lossjax.studies.report` runs the studies.
"""

import dataclasses
from collections.abc import Callable, Mapping

from lossjax.studies import (
  compare,
  convexity,
  entropy_floor,
  label_noise,
  saturation,
  slowdown,
  softmax_temperature,
)
from lossjax.studies import report_sections as sections
from lossjax.studies.report_sections import BackpropCheck
from lossjax.training.sharded_sweep import SweepResult


@dataclasses.dataclass(frozen=True)
class Studies:
  """Every study the report runs, as the studies' own typed results."""

  mnist: compare.Result
  neuron: slowdown.Result
  book: slowdown.Result
  neuron_linear: slowdown.Result
  backprop: BackpropCheck
  entropy: entropy_floor.Result
  temperature: softmax_temperature.Result
  convexity: convexity.Result
  saturation: saturation.Result
  sweep: SweepResult
  student: compare.Result
  relu: dict[str, compare.Result]
  noise: label_noise.Result
  multilabel: compare.Result


@dataclasses.dataclass(frozen=True)
class Section:
  """One question of report.md, numbered by its position in :data:`SECTIONS`.

  Attributes:
    key: how other sections refer to it.
    title: its heading, without the number.
    body: its Markdown from the studies' typed results and every section's
      number by key.
  """

  key: str
  title: str
  body: Callable[[Studies, Mapping[str, int]], str]


SECTIONS = (
  Section(
    "gradients",
    "Does softmax + cross-entropy really give different gradients? (seed 000)",
    lambda s, n: sections.gradients_body(s.mnist),
  ),
  Section(
    "slowdown",
    "Why does the sigmoid neuron with quadratic cost learn slowly? "
    "(seed 001, §1-2)",
    lambda s, n: sections.slowdown_body(s.neuron, s.book),
  ),
  Section(
    "backprop",
    "Are BP1-BP4 and dC/dz = a - y right? (seed 001, BP1-BP4)",
    lambda s, n: sections.backprop_body(s.backprop),
  ),
  Section(
    "entropy",
    "Why can the cross-entropy not reach 0 for soft targets? "
    "(seed 001, minimum)",
    lambda s, n: sections.entropy_body(s.entropy.summary),
  ),
  Section(
    "temperature",
    "Where does the name softmax come from? (seed 001, §3)",
    lambda s, n: sections.temperature_body(s.temperature.summary),
  ),
  Section(
    "saturation",
    "Does the slowdown compound in deeper sigmoid networks? "
    "(seed 001, §1; Glorot & Bengio 2010)",
    lambda s, n: sections.saturation_body(s.saturation),
  ),
  Section(
    "sweep",
    "How does the slowdown grow with the initial saturation? (sweep)",
    lambda s, n: sections.sweep_body(s.sweep),
  ),
  Section(
    "convexity",
    "Why log-loss rather than squared error on probabilities? (seed 002)",
    lambda s, n: sections.convexity_body(s.convexity.summary),
  ),
  Section(
    "student",
    "Is the student right? Square loss on linear outputs "
    "(seed 000; Hui & Belkin 2021)",
    lambda s, n: sections.student_body(
      s.student,
      s.neuron,
      s.neuron_linear,
      s.convexity.summary,
      data_section=n["gradients"],
    ),
  ),
  Section(
    "relu",
    "Does the pairing still matter when the hidden layers do not saturate? "
    "(BP2)",
    lambda s, n: sections.relu_body(s.relu),
  ),
  Section(
    "calibration",
    "Are the outputs probabilities? (seed 001, softmax; Guo et al. 2017)",
    lambda s, n: sections.calibration_body(s.noise),
  ),
  Section(
    "label_noise",
    "What if labels are wrong? (Ghosh et al. 2017; Zhang & Sabuncu 2018)",
    lambda s, n: sections.noise_body(s.noise),
  ),
  Section(
    "multilabel",
    "Exclusive or independent classes? (seed 001's guideline; seed 002)",
    lambda s, n: sections.multilabel_body(
      s.multilabel, s.noise.levels[0.0], single_label_section=n["calibration"]
    ),
  ),
)
"""report.md's sections in order; adding one is an entry here and its body
function in :mod:`lossjax.studies.report_sections`."""


def render(studies: Studies) -> str:
  """The sections of report.md, numbered by position, from ``studies``."""
  numbers = {s.key: i for i, s in enumerate(SECTIONS, 1)}
  return "\n".join(
    f"## {numbers[s.key]}. {s.title}\n\n{s.body(studies, numbers)}"
    for s in SECTIONS
  )
