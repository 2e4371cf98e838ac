"""Will a study's networks fit in memory? Checked before anything is written.

A network too large for the device otherwise fails deep inside XLA (an
``Out of memory`` traceback) after the run folder was started. The estimate
is deliberately rough (within a small factor): it counts what a group of
networks holds at once, which is what decides whether it fits.
"""

import os
from collections.abc import Sequence

import jax

FLOAT_BYTES = 4
# Parameters, their gradients, the optimiser's update and the windowed
# loop's per-step copies: about four parameter-sized arrays per network.
PARAMETER_COPIES = 4
# Activations of a forward pass and what its evaluation keeps: about three
# arrays of (examples, units) per layer.
ACTIVATION_COPIES = 3


def available_bytes() -> int | None:
  """Memory the default device can still use: the accelerator's limit, or
  the host's available memory for a CPU; ``None`` if it cannot be told."""
  stats = jax.devices()[0].memory_stats()
  if stats and "bytes_limit" in stats:
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
  try:
    with open("/proc/meminfo", encoding="ascii") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  try:
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (ValueError, OSError, AttributeError):
    return None


def parameter_count(sizes: Sequence[int]) -> int:
  """Weights and biases of an MLP with layer sizes ``sizes``."""
  return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def group_bytes(
  sizes: Sequence[int], networks: int, *, examples: int, data_values: int
) -> int:
  """About the bytes ``networks`` MLPs of layer ``sizes`` need to train
  together and be evaluated on ``examples`` at once, with ``data_values``
  input values (pixels, labels) on the device."""
  parameters = networks * parameter_count(sizes) * PARAMETER_COPIES
  activations = networks * examples * sum(sizes[1:]) * ACTIVATION_COPIES
  return FLOAT_BYTES * (parameters + activations + data_values)


def gigabytes(count: int) -> str:
  return f"{count / 2**30:.1f} GiB"


def check_fits(
  needed: int, what: str, fix: str, *, available: int | None = None
) -> None:
  """``ValueError`` naming ``what`` needs ``needed`` bytes, how much there is
  and ``fix``, when it is more than the device has."""
  available = available_bytes() if available is None else available
  if available is not None and needed > available:
    raise ValueError(
      f"{what} needs about {gigabytes(needed)} of memory, and the device "
      f"({jax.devices()[0].device_kind}) has about {gigabytes(available)} "
      f"free. {fix}"
    )
