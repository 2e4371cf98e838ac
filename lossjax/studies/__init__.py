"""The studies, as library code a notebook can call.

Each module provides ``Config`` (a :class:`lossjax.config.Config`),
``PRESETS`` (named field values), ``run(config, *, workdir=None, log=print)
-> Result``, ``write(result, workdir) -> paths`` (tables, JSON, figures) and
``summary(result) -> str``. ``experiments/<study>.py`` only turns flags into
a config and calls them (:mod:`lossjax.cli`).
"""

# Every study module, in the order the README presents them.
STUDIES = (
  "slowdown",
  "compare",
  "label_noise",
  "sweep",
  "convexity",
  "softmax_temperature",
  "entropy_floor",
  "saturation",
  "benchmark",
  "report",
)
