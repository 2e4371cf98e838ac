"""Study configurations as data: the base class, its parsing and checks.

A study's configuration is a frozen :class:`Config` dataclass. Each field
says, in its metadata, what it means (``help``), how to read it from text
(``parse``) and what values it accepts (``check``). Values are coerced
(lists from JSON to tuples, pairing names to :class:`lossjax.Pairing`
values) and checked when the config is built, from Python, from flags or
from a ``config.json``: nothing reaches a study unchecked.

The fields every study shares (``--pairings``, ``--seeds``, ``--lrs``, ...)
live in :mod:`lossjax.config_fields`; the absl flags made of a config, in
:mod:`lossjax.config_flags`, which only the command line imports.
"""

import dataclasses
import hashlib
import json
import math
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lossjax.core.pairings import Pairing, pairing_spec, resolve_pairing

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


def number_parser(kind: type) -> Callable[[str], Any]:
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


def list_parser(parse: Callable[[str], Any]) -> Callable[[str], tuple]:
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


_PARSERS = {
  int: number_parser(int),
  float: number_parser(float),
  str: str,
  bool: _bool,
}


def parser_for(annotation: Any) -> Callable[[str], Any]:
  origin = typing.get_origin(annotation)
  args = typing.get_args(annotation)
  if origin in (typing.Union, types.UnionType) and type(None) in args:
    (inner,) = [a for a in args if a is not type(None)]
    return _optional(parser_for(inner))
  if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
    return list_parser(parser_for(args[0]))
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


def coerce_field(f: dataclasses.Field, annotation: Any, value: Any) -> Any:
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
      if is_config(hints[f.name]):
        value = _nested(f.name, hints[f.name], value)
      try:
        value = coerce_field(f, hints[f.name], value)
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
  # them resumes the run (see lossjax.output.run_folder).
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

  def recast(self, cls: type["Config"], **changes) -> "Config":
    """A ``cls`` with this config's values for the fields both have, and
    ``changes``: a study's config built from another's (a label-noise study
    from a comparison, a level's comparison from its study) without naming
    each shared field."""
    shared = {f.name for f in dataclasses.fields(cls)} & {
      f.name for f in dataclasses.fields(self)
    }
    return cls(**{**{name: getattr(self, name) for name in shared}, **changes})


def is_config(annotation: Any) -> bool:
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
