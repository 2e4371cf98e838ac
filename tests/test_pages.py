"""The pages a reader reads: a short front page, one page per study, links
that resolve, and no paragraph said twice (issue 28)."""

import re
from pathlib import Path

from absl.testing import absltest

from tests import pages

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


class PagesTest(absltest.TestCase):
  def test_the_front_page_is_short_and_holds_only_the_findings(self):
    text = pages.read(pages.README)
    self.assertLessEqual(len(text.splitlines()), 250)
    blocks = re.findall(r"<!-- results:(\S+) ", text)
    # The findings and the run times; every other block is in docs/.
    self.assertEqual(blocks, ["findings", "run_times"])

  def test_every_page_the_front_page_names_exists(self):
    for page in ("methods", "library", "claims", "benchmark", "development"):
      self.assertTrue((pages.REPO / "docs" / f"{page}.md").is_file(), page)
    studies = list((pages.REPO / "docs" / "studies").glob("*.md"))
    self.assertGreaterEqual(len(studies), 10)

  def test_every_link_and_figure_resolves(self):
    broken = []
    for page in pages.PAGES:
      for target in LINK.findall(pages.read(page)):
        if target.startswith(("http://", "https://")):
          continue
        if not (page.parent / target).resolve().exists():
          broken.append(f"{page.relative_to(pages.REPO)}: {target}")
    self.assertEqual(broken, [])

  def test_no_paragraph_is_said_twice(self):
    # Prose paragraphs (not tables, code or block markers) of some length.
    seen: dict[str, Path] = {}
    twice = []
    for page in pages.PAGES:
      for paragraph in re.split(r"\n\s*\n", pages.read(page)):
        text = " ".join(paragraph.split())
        if len(text) < 120 or text.startswith(("|", "```", "<!--", "#")):
          continue
        if text in seen and seen[text] != page:
          twice.append(f"{seen[text].name} and {page.name}: {text[:60]}...")
        seen.setdefault(text, page)
    self.assertEqual(twice, [])

  def test_every_result_block_names_its_source(self):
    for page in pages.PAGES:
      for name, source in re.findall(
        r"<!-- results:(\S+) \((\S+)\) -->", pages.read(page)
      ):
        with self.subTest(name):
          self.assertTrue((pages.REPO / source).is_file(), source)


if __name__ == "__main__":
  absltest.main()
