"""Shared test setup."""

import gc
import os
from pathlib import Path

# The tests check what programs compute, not how fast: XLA's backend
# optimisation level 0 compiles them about twice as fast (the suite's time is
# mostly XLA compilation), and XLA:CPU's older fusion emitters in place of the
# MLIR ones a third faster again (the fast suite from a cold cache: 3:09 ->
# 2:14 on 2 cores); both compute the same values up to round-off, which the
# float64 exactness tests bound. Set before JAX starts its backend, and
# inherited by the subprocesses the tests start. A test that must reproduce
# committed float32 results bit for bit runs the study in a subprocess with
# the flags as they were (``DEFAULT_XLA_FLAGS``), as a user's command runs.
# (pytest-xdist's workers inherit both variables from the main process.)
DEFAULT_XLA_FLAGS = os.environ.setdefault(
  "LOSSJAX_TEST_DEFAULT_XLA_FLAGS", os.environ.get("XLA_FLAGS", "")
)
if "xla_backend_optimization_level" not in DEFAULT_XLA_FLAGS:
  os.environ["XLA_FLAGS"] = (
    DEFAULT_XLA_FLAGS
    + " --xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
  ).strip()

import jax  # noqa: E402
import pytest  # noqa: E402

# JAX's persistent compilation cache, shared by the suite's worker processes,
# the CLI subprocesses the tests start (they read the environment) and the
# slow suite that `.ci/run` runs after the fast one. Most of the suite's time
# is XLA compilation, and many modules compile the same programs (a group's
# training loop at a tiny shape, its evaluator): each is compiled once and
# read back after that, also after the per-module `jax.clear_caches()` below.
# LOSSJAX_TEST_JAX_CACHE names another folder, or "off" to compile afresh.
_CACHE = os.environ.setdefault(
  "LOSSJAX_TEST_JAX_CACHE",
  str(Path(__file__).resolve().parents[1] / ".pytest_cache" / "jax"),
)
if _CACHE != "off":
  os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _CACHE)
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
  jax.config.update("jax_compilation_cache_dir", _CACHE)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture(autouse=True, scope="module")
def _fresh_jax_caches():
  """Each test module ends by dropping JAX's compiled programs.

  The slow suite runs every integration test in one process, and no module
  reuses another's programs. Kept loaded, they add up: the report's test
  alone leaves about 22,000 memory maps, and past the kernel's limit
  (vm.max_map_count, 65,530) XLA's compiler segfaults, as `.ci/run` did.
  Clearing brings the process back to under 1,000. (A program used again
  after the clearing is read back from the persistent cache above; keeping
  them in the fast suite's workers measured no faster.)
  """
  yield
  jax.clear_caches()
  gc.collect()
