"""Study configurations as data, and the one mechanism that makes flags of them.

A study's configuration is a frozen :class:`Config` dataclass. Each field
says, in its metadata, what it means (``help``), how to read it from text
(``parse``) and what values it accepts (``check``); the shared fields
(:func:`pairings_field`, :func:`seeds_field`, :func:`lrs_field`, ...) are
defined once here, so ``--pairings`` or ``--seeds`` mean and check the same
thing in every study. Values are coerced (lists from JSON to tuples, pairing
names to :class:`lossjax.Pairing` values) and checked when the config is
built, from Python, from flags or from a ``config.json``: nothing reaches a
study unchecked.

:func:`define_flags` turns a config class into absl flags (nested configs
are flattened), plus ``--workdir``, ``--preset`` and ``--config``;
:func:`config_from_flags` builds the config: defaults, then the preset (a
dict of field values), then a ``config.json`` of an earlier run, then the
flags given on the command line.
"""

import dataclasses
import hashlib
import json
import math
import os
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from absl import flags

from lossjax.pairings import PAIRINGS, Pairing, pairing_spec, resolve_pairing

# ---------------------------------------------------------------------------
# Fields.


def field(
  default: Any,
  help: str,  # noqa: A002 - the absl word for it
  *,
  parse: Callable[[str], Any] | None = None,
  format: Callable[[Any], str] | None = None,  # noqa: A002
  check: Callable[[Any], None] | None = None,
  choices: tuple[str, ...] | None = None,
) -> Any:
  """A config field with its help text, text parser and value check.

  ``parse`` reads the flag's text (default: by the field's type) and
  ``format`` writes a value as text ``parse`` reads back (the flag's shown
  default, the presets' help); give both or neither. ``check`` raises
  ``ValueError`` for values the field does not accept; ``choices`` makes
  the field an enumeration (an absl enum flag, checked by the config too).
  """
  if (parse is None) != (format is None):
    raise TypeError("give a field both parse= and format=, or neither.")
  if choices is not None:
    check = all_of(one_of(choices), *([check] if check else []))
  return dataclasses.field(
    default=default,
    metadata={
      "help": help,
      "parse": parse,
      "format": format,
      "check": check,
      "choices": choices,
    },
  )


def _number(kind: type) -> Callable[[str], Any]:
  def parse(text: str):
    try:
      return kind(text)
    except ValueError:
      raise ValueError(
        f"{text!r} is not a{'n integer' if kind is int else ' number'}"
      ) from None

  return parse


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
  return lambda text: None if text.lower() in ("", "none") else parse(text)


def _split_top_level(text: str) -> list[str]:
  """Splits on commas outside parentheses: ``a,f(k=1,m=2)`` -> 2 items."""
  items, depth, current = [], 0, []
  for char in text:
    depth += {"(": 1, ")": -1}.get(char, 0)
    if char == "," and depth == 0:
      items.append("".join(current))
      current = []
    else:
      current.append(char)
  return [*items, "".join(current)]


def _list(parse: Callable[[str], Any]) -> Callable[[str], tuple]:
  def parse_list(text: str) -> tuple:
    return tuple(
      parse(item.strip()) for item in _split_top_level(text) if item.strip()
    )

  return parse_list


def _bool(text: str) -> bool:
  lowered = text.lower()
  if lowered in ("1", "true", "yes"):
    return True
  if lowered in ("0", "false", "no"):
    return False
  raise ValueError(f"{text!r} is not true or false")


def number_text(value: float) -> str:
  """The shortest text that reads back as exactly ``value``."""
  short = f"{value:g}"
  return short if float(short) == value else repr(float(value))


_PARSERS = {int: _number(int), float: _number(float), str: str, bool: _bool}


def _parser_for(annotation: Any) -> Callable[[str], Any]:
  origin = typing.get_origin(annotation)
  args = typing.get_args(annotation)
  if origin in (typing.Union, types.UnionType) and type(None) in args:
    (inner,) = [a for a in args if a is not type(None)]
    return _optional(_parser_for(inner))
  if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
    return _list(_parser_for(args[0]))
  if annotation is Pairing:
    return resolve_pairing
  if annotation in _PARSERS:
    return _PARSERS[annotation]
  raise TypeError(f"no text parser for {annotation}; give field(parse=...).")


def _coerce(annotation: Any, value: Any) -> Any:
  """``value`` (from Python or JSON) as the annotated type."""
  origin = typing.get_origin(annotation)
  args = typing.get_args(annotation)
  if value is None:
    return None
  if origin in (typing.Union, types.UnionType):
    inner = [a for a in args if a is not type(None)]
    return _coerce(inner[0], value) if len(inner) == 1 else value
  if origin is tuple:
    if isinstance(value, (str, bytes)) or not isinstance(
      value, typing.Iterable
    ):
      raise ValueError(f"expected a list, got {value!r}")
    if len(args) == 2 and args[1] is Ellipsis:
      return tuple(_coerce(args[0], v) for v in value)
    return tuple(_coerce(a, v) for a, v in zip(args, value, strict=True))
  if annotation is Pairing:
    return resolve_pairing(value)
  if (
    annotation is float
    and isinstance(value, int)
    and not isinstance(value, bool)
  ):
    return float(value)
  if annotation in (int, float, str, bool) and not isinstance(
    value, annotation
  ):
    raise ValueError(f"expected {annotation.__name__}, got {value!r}")
  return value


def _coerce_field(f: dataclasses.Field, annotation: Any, value: Any) -> Any:
  """``value`` as field ``f`` holds it: its own ``coerce``, else by type."""
  coerce = f.metadata.get("coerce")
  return coerce(value) if coerce else _coerce(annotation, value)


# ---------------------------------------------------------------------------
# Checks shared by the fields.


def positive(value: float) -> None:
  if not (
    isinstance(value, (int, float)) and math.isfinite(value) and value > 0
  ):
    raise ValueError(f"must be a positive finite number, got {value}")


def finite(value: float) -> None:
  if not math.isfinite(value):
    raise ValueError(f"must be finite, got {value}")


def at_least(bound: int) -> Callable[[Any], None]:
  def check(value):
    if value is not None and value < bound:
      raise ValueError(f"must be >= {bound}, got {value}")

  return check


def one_of(choices: tuple[str, ...]) -> Callable[[str], None]:
  def check(value):
    if value not in choices:
      raise ValueError(f"{value!r} is not one of: {', '.join(choices)}")

  return check


def nonempty_unique(values: tuple, *, key=lambda v: v) -> None:
  if not values:
    raise ValueError("is empty: give at least one")
  unique(values, key=key)


def unique(values: tuple, *, key=lambda v: v) -> None:
  """No value twice (an empty list is fine)."""
  seen = [key(v) for v in values]
  duplicates = sorted({str(k) for k in seen if seen.count(k) > 1})
  if duplicates:
    raise ValueError(f"lists {', '.join(duplicates)} more than once")


def each(check: Callable[[Any], None]) -> Callable[[tuple], None]:
  def check_all(values):
    for value in values:
      check(value)

  return check_all


def all_of(*checks: Callable[[Any], None]) -> Callable[[Any], None]:
  def check(value):
    for c in checks:
      c(value)

  return check


# ---------------------------------------------------------------------------
# The shared fields: one meaning, one check, wherever they appear.


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
    return (name, _number(float)(rate))
  return _number(float)(text)


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
      "parse": _list(_parse_lr),
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
  sizes = tuple(_number(int)(part) for part in text.split("x"))
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
    parse=_list(_parse_architecture),
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
  from lossjax.hidden import resolve_hidden_activation

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
  from lossjax.init import INITIALIZERS

  return field(
    default,
    "Initialiser: normalized = N(0,1/n_in) weights, N(0,1) biases; large = "
    "N(0,1) (the book's chapter 1); glorot (for sigmoid and tanh layers); he "
    "(for relu layers); gaussian; constant.",
    choices=tuple(INITIALIZERS),
  )


# ---------------------------------------------------------------------------
# The base class.


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
  """Base of every study config: coerces and checks each field, once.

  Subclasses add cross-field checks in :meth:`validate`.
  """

  def __post_init__(self):
    hints = typing.get_type_hints(type(self))
    for f in dataclasses.fields(self):
      value = getattr(self, f.name)
      if _is_config(hints[f.name]):
        value = _nested(f.name, hints[f.name], value)
      try:
        value = _coerce_field(f, hints[f.name], value)
        check = f.metadata.get("check")
        if check is not None and value is not None:
          check(value)
      except (ValueError, TypeError) as e:
        raise ValueError(f"{f.name}: {e}") from None
      object.__setattr__(self, f.name, value)
    self.validate()

  def validate(self) -> None:
    """Cross-field checks; raise ``ValueError``."""

  def to_json(self) -> dict:
    """The fields as JSON-ready values (pairings by name or import string)."""
    return {
      f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
    }

  # Fields that do not change what a run computes (how the loop is
  # scheduled, where the data is read from): a rerun that differs only in
  # them resumes the run (see lossjax.run_folder).
  NOT_IN_FINGERPRINT: typing.ClassVar[tuple[str, ...]] = ()

  def identity(self) -> dict:
    """:meth:`to_json` without the fields in ``NOT_IN_FINGERPRINT`` (nested
    configs' too): what the results of a run depend on."""
    out = {}
    for f in dataclasses.fields(self):
      if f.name in self.NOT_IN_FINGERPRINT:
        continue
      value = getattr(self, f.name)
      out[f.name] = (
        value.identity() if isinstance(value, Config) else _jsonable(value)
      )
    return out

  def fingerprint(self) -> str:
    """A short hash of :meth:`identity`: equal for configs whose runs
    compute the same results."""
    text = json.dumps(self.identity(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

  def replace(self, **changes) -> "Config":
    return dataclasses.replace(self, **changes)


def _is_config(annotation: Any) -> bool:
  return isinstance(annotation, type) and issubclass(annotation, Config)


def _nested(name: str, cls: type[Config], value: Any) -> Config:
  """A nested config field's value: a ``cls``, or its fields as a mapping
  (from JSON); anything else is a ``ValueError`` naming the field."""
  if isinstance(value, cls):
    return value
  try:
    return from_json(cls, value)
  except ValueError as e:
    raise ValueError(f"{name}: {e}") from None


def _jsonable(value: Any) -> Any:
  if isinstance(value, Config):
    return value.to_json()
  if isinstance(value, Pairing):
    return pairing_spec(value)
  if isinstance(value, tuple):
    return [_jsonable(v) for v in value]
  return value


def from_json(cls: type[Config], values: Mapping[str, Any]) -> Config:
  """A config from a ``config.json`` dict; unknown keys are errors."""
  if not isinstance(values, Mapping):
    raise ValueError(
      f"a {cls.__name__} is a record of its fields (a JSON object), got "
      f"{type(values).__name__} {values!r:.60}."
    )
  known = {f.name for f in dataclasses.fields(cls)}
  unknown = sorted(set(values) - known)
  if unknown:
    raise ValueError(
      f"{cls.__name__} has no field(s) {', '.join(unknown)} (known: "
      f"{', '.join(sorted(known))})."
    )
  return cls(**values)


def load_json(cls: type[Config], path: str | os.PathLike) -> Config:
  """The config a run saved (its ``config.json``, or the ``config`` key of it)."""
  try:
    saved = json.loads(Path(path).read_text())
  except (OSError, json.JSONDecodeError) as e:
    raise ValueError(f"cannot read config {path}: {e}") from None
  if isinstance(saved, Mapping) and "config" in saved:
    saved = saved["config"]
  try:
    return from_json(cls, saved)
  except ValueError as e:
    raise ValueError(
      f"config {path}: {e} Give the config.json a run wrote (its "
      '"config" record) or a record of the fields.'
    ) from None


# ---------------------------------------------------------------------------
# Flags.


def _flat_fields(
  cls: type[Config],
) -> Iterator[tuple[tuple[str, ...], dataclasses.Field, Any]]:
  hints = typing.get_type_hints(cls)
  for f in dataclasses.fields(cls):
    if _is_config(hints[f.name]):
      for path, inner, annotation in _flat_fields(hints[f.name]):
        yield (f.name, *path), inner, annotation
    else:
      yield (f.name,), f, hints[f.name]


def _formatter_for(annotation: Any) -> Callable[[Any], str]:
  """Writes a value of ``annotation`` as the text its parser reads back."""
  origin = typing.get_origin(annotation)
  args = typing.get_args(annotation)
  if origin in (typing.Union, types.UnionType) and type(None) in args:
    (inner,) = [a for a in args if a is not type(None)]
    inner_format = _formatter_for(inner)
    return lambda v: "none" if v is None else inner_format(v)
  if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
    item = _formatter_for(args[0])
    return lambda v: ",".join(item(x) for x in v)
  if annotation is Pairing:
    return pairing_spec
  if annotation is bool:
    return lambda v: "true" if v else "false"
  if annotation is float:
    return number_text
  if annotation in (int, str):
    return str
  raise TypeError(f"no text format for {annotation}; give field(format=...).")


def field_text(f: dataclasses.Field, annotation: Any, value: Any) -> str:
  """``value`` of field ``f`` as flag text that parses back to it."""
  if value is None:
    return "none"
  format_value = f.metadata.get("format") or _formatter_for(annotation)
  return format_value(_coerce_field(f, annotation, value))


def _default_of(cls: type[Config], path: tuple[str, ...]) -> Any:
  """The default of the (nested) field at ``path``: a nested config's field
  defaults to its value in the outer field's default (e.g. a study's
  ``DataConfig(eval_size=2000)``), not to the inner class's own default."""
  value: Any = cls
  for name in path:
    if isinstance(value, Config):
      value = getattr(value, name)
      continue
    f = {f.name: f for f in dataclasses.fields(value)}[name]
    if f.default is not dataclasses.MISSING:
      value = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
      value = f.default_factory()  # type: ignore[misc]
    else:
      value = typing.get_type_hints(value)[name]
  return value


def _define_field_flag(
  name: str,
  f: dataclasses.Field,
  annotation: Any,
  default: Any,
  *,
  flag_values: flags.FlagValues,
  module_name: str | None,
) -> None:
  """One typed absl flag for a config field.

  Enumerations, booleans, integers and floats get absl's typed flags (typed
  help, ``--noX``); everything else is a string the field's parser reads.
  The config still checks every value, so flags, Python and ``config.json``
  are validated by the same code.
  """
  common = {"flag_values": flag_values, "module_name": module_name}
  help_text = f.metadata["help"]
  kind = _typed_flag_kind(f, annotation)
  if kind == "enum":
    flags.DEFINE_enum(
      name, default, list(f.metadata["choices"]), help_text, **common
    )
  elif kind is not None:
    define = {
      bool: flags.DEFINE_bool,
      int: flags.DEFINE_integer,
      float: flags.DEFINE_float,
    }[kind]
    define(name, default, help_text, **common)
  else:
    flags.DEFINE_string(
      name, field_text(f, annotation, default), help_text, **common
    )


def define_flags(
  cls: type[Config],
  presets: Mapping[str, Mapping[str, Any]] | None = None,
  *,
  workdir_help: str = "Directory for the results (required; created with "
  "the first file a run writes).",
  flag_values: flags.FlagValues = flags.FLAGS,
  module_name: str | None = None,
) -> None:
  """Defines one flag per field of ``cls``, and ``--workdir``, ``--preset``,
  ``--config``. Every value is checked by the config itself when
  :func:`config_from_flags` builds it.

  ``module_name``: the module the flags belong to, whose ``--help`` lists
  them (an experiment script passes ``sys.argv[0]``, absl's name for the
  main module); default: the caller.
  """
  common = {"flag_values": flag_values, "module_name": module_name}
  flags.DEFINE_string("workdir", None, workdir_help, **common)
  flags.DEFINE_string(
    "config",
    None,
    "A config.json written by an earlier run: repeat that run (flags given "
    "as well override its values).",
    **common,
  )
  if presets:
    flags.DEFINE_enum(
      "preset",
      None,
      list(presets),
      "Named settings, applied before the flags given: "
      + "; ".join(
        f"{name}: {describe_preset(cls, values)}"
        for name, values in presets.items()
      ),
      **common,
    )
  for path, f, annotation in _flat_fields(cls):
    name = path[-1]
    _define_field_flag(
      name,
      f,
      annotation,
      _default_of(cls, path),
      flag_values=flag_values,
      module_name=module_name,
    )
    for alias in f.metadata.get("aliases", ()):
      flags.DEFINE_alias(alias, name, **common)


def _preset_items(
  cls: type[Config], values: Mapping[str, Any]
) -> Iterator[tuple[str, dataclasses.Field, Any, Any]]:
  """(flag name, field, annotation, value) of each setting of a preset."""
  fields = {path[-1]: (f, a) for path, f, a in _flat_fields(cls)}
  for name, value in values.items():
    if name in fields:
      yield name, *fields[name], value
    else:  # a nested config given as a dict, e.g. "data": {...}
      for inner, inner_value in value.items():
        yield inner, *fields[inner], inner_value


def describe_preset(cls: type[Config], values: Mapping[str, Any]) -> str:
  """A preset as the flags that set it, ready to paste: ``--k=v --k2=v2``."""
  return " ".join(
    f"--{name}={field_text(f, annotation, v)}"
    for name, f, annotation, v in _preset_items(cls, values)
  )


def _typed_flag_kind(f: dataclasses.Field, annotation: Any) -> Any:
  """Which absl flag type parses field ``f``: ``"enum"``, ``bool``, ``int``
  or ``float``; ``None`` for a string flag that the field's parser reads.
  The one decision :func:`_define_field_flag` and :func:`config_from_flags`
  both follow."""
  if f.metadata.get("choices"):
    return "enum"
  if annotation in (bool, int, float) and not f.metadata.get("parse"):
    return annotation
  return None


def config_from_flags(
  cls: type[Config],
  presets: Mapping[str, Mapping[str, Any]] | None = None,
  *,
  flag_values: flags.FlagValues = flags.FLAGS,
) -> Config:
  """Builds ``cls`` from defaults, ``--preset``, ``--config`` and given flags.

  Raises:
    ValueError: a flag that does not parse, or a value the config rejects;
      the message names the flag.
  """
  values: dict[str, Any] = {}
  nested: dict[str, dict[str, Any]] = {}

  def put(path: tuple[str, ...], value: Any) -> None:
    if len(path) == 1:
      values[path[0]] = value
    else:
      nested.setdefault(path[0], {})[path[1]] = value

  fields = {
    path[-1]: (path, f, annotation) for path, f, annotation in _flat_fields(cls)
  }
  if presets and flag_values["preset"].value:
    for name, _, _, value in _preset_items(
      cls, presets[flag_values["preset"].value]
    ):
      put(fields[name][0], value)
  if flag_values["config"].value:
    saved = load_json(cls, flag_values["config"].value).to_json()
    for path, _, _ in fields.values():
      value: Any = saved
      for part in path:
        value = value[part]
      put(path, value)
  for name, (path, f, annotation) in fields.items():
    flag = flag_values[name]
    if not flag.present:
      continue
    if _typed_flag_kind(f, annotation) is not None:
      put(path, flag.value)
      continue
    parse = f.metadata.get("parse") or _parser_for(annotation)
    try:
      put(path, parse(flag.value))
    except (ValueError, TypeError) as e:
      raise ValueError(f"--{name}={flag.value}: {e}") from None
  for key, inner in nested.items():
    base = values.get(key)
    if base is None:
      base = _default_of(cls, (key,))
    base_values = base.to_json() if isinstance(base, Config) else dict(base)
    values[key] = {**base_values, **inner}
  try:
    return cls(**values)
  except ValueError as e:
    # "field: problem" becomes "--field: problem"; other messages (cross-field
    # checks) stay as they are.
    text = str(e)
    is_field = text.split(":", 1)[0] in fields
    raise ValueError(f"--{text}" if is_field else text) from None
