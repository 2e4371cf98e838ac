r"""Runs every study and writes one report.md answering the seed questions.

See lossjax/studies/report.py. Data: --data_dir, else an offline IDX copy
under $LOSSJAX_DATA_DIR or ../shared/data (folder mnist), else TFDS's
prepared mnist; --dataset=fashion_mnist for the harder data. --size is
--preset (quick or full).

Examples:
  python -m experiments.report --size=quick --workdir=out/report
  python -m experiments.report --size=full --workdir=out/report_full
"""

from absl import flags

from lossjax import cli
from lossjax.studies import report

if __name__ == "__main__":
  cli.define(report)
  flags.DEFINE_alias("size", "preset")
  cli.start(cli.main(report))
