"""The fields every study shares: one meaning, one check, wherever they appear.

``--pairings`` or ``--seeds`` mean and check the same thing in every study
because each study declares them with these functions
(:func:`pairings_field`, :func:`seeds_field`, :func:`lrs_field`, ...), on
top of :func:`lossjax.config.field`.
"""

import dataclasses
from typing import Any

from lossjax.config import (
  all_of,
  at_least,
  each,
  field,
  list_parser,
  nonempty_unique,
  number_parser,
  number_text,
  positive,
  unique,
)
from lossjax.core.pairings import PAIRINGS, Pairing


def pairings_field(default: tuple[str, ...], help: str = "") -> Any:  # noqa: A002
  return field(
    default,
    "Pairings of output activation and cost: built-in names "
    f"({', '.join(PAIRINGS)}), "
    "parametrised ones (smoothed_nll(eps=0.1), rescaled_mse(k=3,m=5)), or "
    "your own as package.module:attribute naming a lossjax.Pairing."
    + (f" {help}" if help else ""),
    check=lambda v: nonempty_unique(v, key=lambda p: p.name),
  )


def seeds_field(default: tuple[int, ...] = (0,)) -> Any:
  return field(
    default,
    "Seeds (initialisation and mini-batch order), distinct integers in "
    "[0, 2**32); runs of several seeds train together in one vmap.",
    check=all_of(nonempty_unique, each(_seed)),
  )


def _seed(value: int) -> None:
  if not 0 <= value < 2**32:
    raise ValueError(f"seed {value} is outside [0, 2**32)")


# A learning-rate entry is a rate for every pairing, or (pairing name, rate).
LrEntry = float | tuple[str, float]


def _parse_lr(text: str) -> LrEntry:
  name, sep, rate = text.rpartition("=")
  if sep:
    return (name, number_parser(float)(rate))
  return number_parser(float)(text)


def _coerce_lrs(values) -> tuple[LrEntry, ...]:
  out = []
  for v in values:
    if isinstance(v, (list, tuple)):
      name, rate = v
      out.append((str(name), float(rate)))
    else:
      out.append(float(v))
  return tuple(out)


def _format_lrs(values: tuple[LrEntry, ...]) -> str:
  return ",".join(
    f"{e[0]}={number_text(e[1])}" if isinstance(e, tuple) else number_text(e)
    for e in values
  )


def _check_lrs(values: tuple[LrEntry, ...]) -> None:
  for entry in values:
    rate = entry[1] if isinstance(entry, tuple) else entry
    positive(rate)
  unique(values, key=_format_lrs_entry)


def _format_lrs_entry(entry: LrEntry) -> str:
  return _format_lrs((entry,))


def lrs_field(
  default: tuple = (),
  help: str = "",  # noqa: A002
  *,
  aliases: tuple[str, ...] = ("lr",),
) -> Any:
  """A learning-rate grid; ``aliases``: other flag names (one study may
  have several rate fields, only one of them ``--lr``)."""
  return dataclasses.field(
    default=default,
    metadata={
      "help": "Learning rates (a grid): each entry a rate for every pairing, "
      "or pairing=rate for one pairing (e.g. sigmoid_mse=0.15,sigmoid_bce=0.005)"
      ". Empty: each pairing's default_lr." + (f" {help}" if help else ""),
      "parse": list_parser(_parse_lr),
      "format": _format_lrs,
      "check": _check_lrs,
      "coerce": _coerce_lrs,
      "aliases": aliases,
    },
  )


def rate_grid(
  *groups: tuple[tuple[str, ...], tuple[float, ...]],
) -> tuple[tuple[str, float], ...]:
  """``pairing=rate`` entries for an lrs field: every rate of each group for
  every pairing named in it, e.g. ``rate_grid((("sigmoid_mse",), (1.0,
  3.0)))``."""
  return tuple(
    (name, rate) for names, rates in groups for name in names for rate in rates
  )


def lrs_for(lrs: tuple[LrEntry, ...], pairing: Pairing) -> tuple[float, ...]:
  """The learning rates a pairing trains with under ``lrs`` (see lrs_field).

  Rates given for the pairing by name, else the rates given for every
  pairing, else the pairing's ``default_lr``.

  Raises:
    ValueError: none of the three gives a rate.
  """
  own = tuple(
    rate
    for e in lrs
    if isinstance(e, tuple) and e[0] == pairing.name
    for rate in [e[1]]
  )
  if own:
    return own
  shared = tuple(e for e in lrs if not isinstance(e, tuple))
  if shared:
    return shared
  if pairing.default_lr is not None:
    return (pairing.default_lr,)
  raise ValueError(
    f"no learning rate for pairing {pairing.name!r}: it has no default_lr; "
    f"give --lrs=RATE or --lrs={pairing.name}=RATE."
  )


def check_lrs_cover(
  lrs: tuple[LrEntry, ...], pairings: tuple[Pairing, ...]
) -> None:
  """Every pairing has a rate, and every pairing=rate names a pairing."""
  names = {p.name for p in pairings}
  stray = [e[0] for e in lrs if isinstance(e, tuple) and e[0] not in names]
  if stray:
    raise ValueError(
      f"lrs: rates given for {', '.join(stray)}, which are not in pairings "
      f"({', '.join(sorted(names))})."
    )
  for p in pairings:
    lrs_for(lrs, p)


def _parse_architecture(text: str) -> tuple[int, ...]:
  sizes = tuple(number_parser(int)(part) for part in text.split("x"))
  if min(sizes) < 1:
    raise ValueError(f"hidden sizes must be >= 1, got {text!r}")
  return sizes


def architecture_text(sizes: tuple[int, ...]) -> str:
  """Hidden sizes as ``--hidden`` reads them: ``(100, 30)`` -> ``100x30``."""
  return "x".join(map(str, sizes))


def hidden_field(default: tuple[tuple[int, ...], ...] = ((30,),)) -> Any:
  return field(
    default,
    "Architectures: comma-separated; within one, hidden sizes joined by "
    "'x'. '30,100' trains [784,30,10] and [784,100,10]; '100x30' trains "
    "[784,100,30,10].",
    parse=list_parser(_parse_architecture),
    format=lambda v: ",".join(map(architecture_text, v)),
    check=lambda v: nonempty_unique(v),
  )


def epochs_field(
  default: int, help: str = "Passes over the training data."
) -> Any:  # noqa: A002
  return field(default, help, check=at_least(1))


def window_field() -> Any:
  return field(
    None,
    "Steps per window of the exact windowed SGD, which plain SGD uses when "
    "configurations share a mini-batch order (their first layers then cost "
    "a few large matrix products per window). Unset: the library chooses "
    "(lossjax.choose_window); 0: the generic per-step loop. Both give the "
    "same results up to round-off.",
    check=at_least(0),
  )


def hidden_activation_check(value: str) -> None:
  """Raises ``ValueError`` unless ``value`` names a hidden activation."""
  from lossjax.core.hidden import resolve_hidden_activation

  resolve_hidden_activation(value)


def hidden_activation_field(default: str = "sigmoid") -> Any:
  return field(
    default,
    "Hidden-layer activation: sigmoid (the book's), tanh, relu, identity, or "
    "your own as package.module:attribute naming a lossjax.HiddenActivation "
    "or an element-wise function (its derivative then comes from jax).",
    check=hidden_activation_check,
  )


def init_field(default: str = "normalized") -> Any:
  from lossjax.core.init import INITIALIZERS

  return field(
    default,
    "Initialiser: normalized = N(0,1/n_in) weights, N(0,1) biases; large = "
    "N(0,1) (the book's chapter 1); glorot (for sigmoid and tanh layers); he "
    "(for relu layers); gaussian; constant.",
    choices=tuple(INITIALIZERS),
  )
