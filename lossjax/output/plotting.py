"""Matplotlib set-up shared by the experiments: headless, atomic PNG files."""

import io
import os
from pathlib import Path

import matplotlib
import matplotlib.colors  # noqa: F401 - used as plotting.matplotlib.colors
import matplotlib.ticker  # noqa: F401 - used as plotting.matplotlib.ticker

matplotlib.use("Agg")  # experiments run on servers and in CI: no display.

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from lossjax.output.results import atomic_write_bytes  # noqa: E402


def save_figure(
  fig: plt.Figure, path: str | os.PathLike, *, dpi: int = 120
) -> Path:
  """Lays ``fig`` out tightly, saves it as PNG atomically and closes it.

  A figure made with a layout engine (``layout="constrained"``, which a
  colour bar shared by several panels needs) keeps it: ``tight_layout`` on
  top would move the panels under the colour bar.
  """
  if fig.get_layout_engine() is None:
    fig.tight_layout()
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
  plt.close(fig)
  return atomic_write_bytes(path, buffer.getvalue())


def integer_epochs(ax: plt.Axes, nbins: int | None = None) -> None:
  """Epoch axes get whole-number ticks; ``nbins``: at most that many
  intervals, of 1, 2 or 5 times a power of ten (for narrow panels)."""
  if nbins is None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
  else:
    ax.xaxis.set_major_locator(
      MaxNLocator(nbins=nbins, integer=True, steps=[1, 2, 5, 10])
    )
