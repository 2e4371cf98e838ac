"""The absl flags made of a study's config: the command line's only link to it.

:func:`define_flags` turns a config class into absl flags (nested configs
are flattened), plus ``--workdir``, ``--preset`` and ``--config``;
:func:`config_from_flags` builds the config: defaults, then the preset (a
dict of field values), then a ``config.json`` of an earlier run, then the
flags given on the command line. Only :mod:`lossjax.cli` (and the tests of
the command line) import it, so absl stays out of the library's layers.
"""

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from absl import flags

from lossjax.config import (
  Config,
  coerce_field,
  is_config,
  load_json,
  number_text,
  parser_for,
)
from lossjax.core.pairings import Pairing, pairing_spec


def _flat_fields(
  cls: type[Config],
) -> Iterator[tuple[tuple[str, ...], dataclasses.Field, Any]]:
  hints = typing.get_type_hints(cls)
  for f in dataclasses.fields(cls):
    if is_config(hints[f.name]):
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
  return format_value(coerce_field(f, annotation, value))


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
    parse = f.metadata.get("parse") or parser_for(annotation)
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
