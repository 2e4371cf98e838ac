"""Shared test setup."""

import gc

import jax
import pytest


@pytest.fixture(autouse=True, scope="module")
def _fresh_jax_caches():
  """Each test module ends by dropping JAX's compiled programs.

  The slow suite runs every integration test in one process, and no module
  reuses another's programs. Kept loaded, they add up: the report's test
  alone leaves about 22,000 memory maps, and past the kernel's limit
  (vm.max_map_count, 65,530) XLA's compiler segfaults, as `.ci/run` did.
  Clearing brings the process back to under 1,000.
  """
  yield
  jax.clear_caches()
  gc.collect()
