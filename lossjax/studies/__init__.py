"""The studies, as library code a notebook can call.

Each module provides ``Config`` (a :class:`lossjax.config.Config`),
``PRESETS`` (named field values), ``run(config, *, workdir=None,
log=progress.info) -> Result``, ``write(result, workdir) -> paths`` (tables,
JSON, figures) and ``summary(result) -> str``. A result summarises itself
once; ``write`` and ``summary`` read that one summary. The data studies'
``dataset=`` is the data as read (``DataConfig.load_source()``), to which
their ``config.data`` applies its options. ``experiments/<study>.py`` only turns flags into
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
  "claims",
)
