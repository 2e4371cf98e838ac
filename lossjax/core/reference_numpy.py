"""A plain NumPy network trained the way the book's ``network2.py`` does it.

Per-example backpropagation inside a Python loop over each mini-batch, column
vectors, weights stored ``(n_out, n_in)``: the baseline of the benchmark.
Sigmoid layers throughout with the cross-entropy cost, so the output error is
``a - y``. Written from the book's equations, not copied.
"""

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
  return 1.0 / (1.0 + np.exp(-z))


class NumpyNetwork:
  """Sigmoid MLP with cross-entropy cost, trained by per-example backprop."""

  def __init__(self, sizes: list[int], seed: int = 0):
    rng = np.random.default_rng(seed)
    self.sizes = sizes
    self.weights = [
      rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
      for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    self.biases = [rng.standard_normal((n_out, 1)) for n_out in sizes[1:]]

  def feedforward(self, a: np.ndarray) -> np.ndarray:
    for w, b in zip(self.weights, self.biases, strict=True):
      a = _sigmoid(w @ a + b)
    return a

  def backprop(self, x: np.ndarray, y: np.ndarray):
    """Gradients for one example (column vectors), BP1-BP4."""
    activation, activations, zs = x, [x], []
    for w, b in zip(self.weights, self.biases, strict=True):
      z = w @ activation + b
      zs.append(z)
      activation = _sigmoid(z)
      activations.append(activation)
    delta = activations[-1] - y  # BP1 for sigmoid + cross-entropy
    nabla_b = [np.zeros_like(b) for b in self.biases]
    nabla_w = [np.zeros_like(w) for w in self.weights]
    nabla_b[-1], nabla_w[-1] = delta, delta @ activations[-2].T
    for layer in range(2, len(self.sizes)):
      sp = _sigmoid(zs[-layer]) * (1 - _sigmoid(zs[-layer]))
      delta = (self.weights[-layer + 1].T @ delta) * sp  # BP2
      nabla_b[-layer] = delta  # BP3
      nabla_w[-layer] = delta @ activations[-layer - 1].T  # BP4
    return nabla_b, nabla_w

  def update_mini_batch(self, xs: np.ndarray, ys: np.ndarray, eta: float):
    """One SGD step; ``xs`` ``(m, n_in, 1)``, ``ys`` ``(m, n_out, 1)``."""
    nabla_b = [np.zeros_like(b) for b in self.biases]
    nabla_w = [np.zeros_like(w) for w in self.weights]
    for x, y in zip(xs, ys, strict=True):
      delta_b, delta_w = self.backprop(x, y)
      nabla_b = [nb + d for nb, d in zip(nabla_b, delta_b, strict=True)]
      nabla_w = [nw + d for nw, d in zip(nabla_w, delta_w, strict=True)]
    m = len(xs)
    self.weights = [
      w - (eta / m) * nw for w, nw in zip(self.weights, nabla_w, strict=True)
    ]
    self.biases = [
      b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b, strict=True)
    ]

  def sgd_epoch(
    self,
    xs: np.ndarray,
    ys: np.ndarray,
    *,
    batch_size: int,
    eta: float,
    rng: np.random.Generator,
  ) -> None:
    """One epoch over ``xs`` ``(n, n_in)`` and one-hot ``ys`` ``(n, n_out)``."""
    order = rng.permutation(len(xs))
    xs, ys = xs[order][..., None], ys[order][..., None]
    for start in range(0, len(xs) - batch_size + 1, batch_size):
      self.update_mini_batch(
        xs[start : start + batch_size], ys[start : start + batch_size], eta
      )
