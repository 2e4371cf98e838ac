"""The Markdown pages: README.md (the front page) and docs/**/*.md.

Result blocks (``<!-- results:NAME (source) -->`` ... ``<!-- /results:NAME
-->``) hold tables copied from the committed results; the tests read them
here, wherever a page keeps them.
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = (README, *sorted((REPO / "docs").rglob("*.md")))


def read(path: Path) -> str:
  return path.read_text(encoding="utf-8")


def all_text() -> str:
  """Every page's text, one after another."""
  return "\n".join(read(p) for p in PAGES)


def block(name: str) -> str:
  """The body of result block ``name``; ``AssertionError`` if no page or
  more than one has it."""
  found = [
    m.group(1)
    for p in PAGES
    for m in re.finditer(
      rf"<!-- results:{re.escape(name)} .*?-->\n(.*?)<!-- /results:{re.escape(name)} -->",
      read(p),
      re.S,
    )
  ]
  if len(found) != 1:
    raise AssertionError(
      f"{len(found)} result blocks named {name} in the pages"
    )
  return found[0]


FIGURE = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.png)\)")


def embedded_figures() -> list[Path]:
  """Every figure a page embeds (``![...](....png)``), resolved."""
  return sorted(
    {
      (page.parent / target).resolve()
      for page in PAGES
      for target in FIGURE.findall(read(page))
    }
  )
