"""Float64 for exactness tests, switched on inside each test and restored."""

import chex
import jax


class X64TestCase(chex.TestCase):
  """A ``chex.TestCase`` whose tests run with ``jax_enable_x64`` on."""

  def setUp(self):
    super().setUp()
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    self.addCleanup(jax.config.update, "jax_enable_x64", previous)
