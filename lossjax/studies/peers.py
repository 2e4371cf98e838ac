"""The benchmark's peers: the book's NumPy network and PyTorch.

The rows lossjax's loops are set against (:mod:`lossjax.studies.benchmark`):
(a) plain NumPy with per-example backprop, as the book's ``network2.py``
does it; (b) PyTorch eager, one model; (b') ``torch.func.vmap`` over K
models sharing the mini-batches, when torch is installed (the ``bench``
extra). Each times an epoch of the book's network on synthetic data.
"""

import time

import numpy as np

from lossjax.core.reference_numpy import NumpyNetwork

# The book's MNIST-size network and its settings for cross-entropy.
SIZES = (784, 30, 10)
BATCH_SIZE = 10
LEARNING_RATE = 0.5


def best_time(fn, repeats: int) -> float:
  """Seconds of the fastest of ``repeats`` calls of ``fn`` (the least
  disturbed by other work on the machine)."""
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - start)
  return best


def synthetic_data(num_examples: int, seed: int = 0):
  rng = np.random.default_rng(seed)
  x = rng.uniform(size=(num_examples, SIZES[0])).astype(np.float32)
  labels = rng.integers(0, SIZES[-1], num_examples).astype(np.int32)
  return x, labels


def time_numpy(x, labels, *, examples: int) -> float:
  """Seconds per epoch of ``len(x)`` examples, timed on ``examples`` of them."""
  net = NumpyNetwork(list(SIZES))
  one_hot = np.eye(SIZES[-1])[labels[:examples]]
  rng = np.random.default_rng(0)
  seconds = best_time(
    lambda: net.sgd_epoch(
      x[:examples].astype(np.float64),
      one_hot,
      batch_size=BATCH_SIZE,
      eta=LEARNING_RATE,
      rng=rng,
    ),
    repeats=2,
  )
  return seconds * len(x) / examples


def _torch_model(torch):
  return torch.nn.Sequential(
    torch.nn.Linear(SIZES[0], SIZES[1]),
    torch.nn.Sigmoid(),
    torch.nn.Linear(SIZES[1], SIZES[2]),
  )


def _torch_batches(torch, x, labels, examples):
  xs = torch.from_numpy(x[:examples])
  ys = torch.nn.functional.one_hot(
    torch.from_numpy(labels[:examples]).long(), SIZES[-1]
  ).float()
  starts = range(0, examples - BATCH_SIZE + 1, BATCH_SIZE)
  return [(xs[i : i + BATCH_SIZE], ys[i : i + BATCH_SIZE]) for i in starts]


def _torch_cost(torch, logits, targets):
  # Sigmoid + cross-entropy summed over outputs, mean over the batch.
  per_output = torch.nn.functional.binary_cross_entropy_with_logits(
    logits, targets, reduction="sum"
  )
  return per_output / BATCH_SIZE


def time_torch(x, labels, *, examples: int) -> float | None:
  """Seconds per epoch with PyTorch eager, or None if it is not installed."""
  try:
    import torch
  except ImportError:
    return None
  torch.manual_seed(0)
  model = _torch_model(torch)
  optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
  batches = _torch_batches(torch, x, labels, examples)

  def epoch():
    for xb, yb in batches:
      optimizer.zero_grad()
      _torch_cost(torch, model(xb), yb).backward()
      optimizer.step()

  seconds = best_time(epoch, repeats=2)
  return seconds * len(x) / examples


def time_torch_vmap(x, labels, *, examples: int, models: int) -> float | None:
  """Seconds per model-epoch of ``models`` models under ``torch.func.vmap``
  (sharing the mini-batches), or None if torch is not installed."""
  try:
    import torch
    from torch.func import functional_call, grad, stack_module_state, vmap
  except ImportError:
    return None
  torch.manual_seed(0)
  nets = [_torch_model(torch) for _ in range(models)]
  params, buffers = stack_module_state(nets)
  skeleton = _torch_model(torch).to("meta")
  batches = _torch_batches(torch, x, labels, examples)

  def cost(p, b, xb, yb):
    return _torch_cost(torch, functional_call(skeleton, (p, b), (xb,)), yb)

  grads_of_all = vmap(grad(cost), in_dims=(0, 0, None, None))

  def epoch():
    for xb, yb in batches:
      grads = grads_of_all(params, buffers, xb, yb)
      with torch.no_grad():
        for name, value in params.items():
          value.sub_(LEARNING_RATE * grads[name])

  seconds = best_time(epoch, repeats=2)
  return seconds * len(x) / examples / models
