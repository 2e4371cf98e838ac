"""A setting's metrics over its seeds: the typed fields of a summary row.

A comparison's summary has one row per (pairing, architecture, rate)
(:class:`lossjax.studies.compare_summary.SummaryRow`). Its fields are the
values below, grouped into parts (the spread over seeds, calibration,
multi-label metrics); ``summary.json`` spells them out as flat keys
(``final_test_mean``, ``test_ece_at_best_val_std``, ...) by one rule,
:func:`flat_json`, so a new field is a new key without a writer to change.
"""

import dataclasses
from collections.abc import Sequence

from lossjax.output import records


@dataclasses.dataclass(frozen=True)
class MeanStd:
  """Mean and sample standard deviation over seeds (``None``: no value).

  JSON keys ``<name>_mean`` and ``<name>_std``.
  """

  mean: float | None = None
  std: float | None = None

  @classmethod
  def of(cls, values: Sequence[float | None]) -> "MeanStd":
    """Of the present values (:func:`lossjax.output.records.mean_and_spread`)."""
    return cls(*records.mean_and_spread(values))

  def json_keys(self, name: str) -> dict:
    return {f"{name}_mean": self.mean, f"{name}_std": self.std}

  def text(self) -> str:
    """A table cell: ``97.31 ± 0.12``, or ``-`` without a value."""
    return "-" if self.mean is None else f"{self.mean:.2f} ± {self.std:.2f}"


@dataclasses.dataclass(frozen=True)
class Range:
  """Median, minimum and maximum over seeds.

  JSON keys ``<name>_median``, ``<name>_min`` and ``<name>_max``.
  """

  median: float | None = None
  min: float | None = None
  max: float | None = None

  def json_keys(self, name: str) -> dict:
    return {f"{name}_{k}": v for k, v in dataclasses.asdict(self).items()}


@dataclasses.dataclass(frozen=True)
class OverSeeds:
  """A metric over seeds at each seed's selected epoch (its best validation
  accuracy) and at its last.

  JSON keys ``<name>_at_best_val_{mean,std}`` and ``final_<name>_{mean,std}``.
  """

  at_best_val: MeanStd
  final: MeanStd

  @classmethod
  def of(
    cls, at_best_val: Sequence[float | None], final: Sequence[float | None]
  ) -> "OverSeeds":
    """From each seed's value at its selected epoch and at its last."""
    return cls(MeanStd.of(at_best_val), MeanStd.of(final))

  def json_keys(self, name: str) -> dict:
    return {
      **self.at_best_val.json_keys(f"{name}_at_best_val"),
      **self.final.json_keys(f"final_{name}"),
    }


def part(**kwargs) -> dataclasses.Field:
  """A field that holds a nested part (a dataclass of fields, or ``None``
  where the run has none): :func:`flat_json` adds its keys unprefixed."""
  return dataclasses.field(metadata={"part": True}, **kwargs)


def flat_json(value) -> dict:
  """The flat JSON keys of a summary dataclass, in field order.

  A field whose value has ``json_keys`` (:class:`MeanStd`, :class:`Range`,
  :class:`OverSeeds`) expands to its keys under the field's name; a
  :func:`part` adds its own fields' keys (none when it is ``None``); any
  other field is one key.
  """
  out = {}
  for field in dataclasses.fields(value):
    item = getattr(value, field.name)
    if field.metadata.get("part"):
      if item is not None:
        out.update(flat_json(item))
    elif hasattr(item, "json_keys"):
      out.update(item.json_keys(field.name))
    else:
      out[field.name] = item
  return out
