"""The code base stays tidy: one name per module, one definition per name,
no dead code (issue 20 found a shared module name, a constant defined
twice and a function nothing called)."""

import ast
import collections
import re
from pathlib import Path

from absl.testing import absltest

from tests import pages

REPO = Path(__file__).resolve().parents[1]


def library_files() -> list[Path]:
  return sorted((REPO / "lossjax").rglob("*.py"))


class CodebaseTest(absltest.TestCase):
  def test_module_names_are_unique(self):
    # lossjax/sweep.py and lossjax/studies/sweep.py were easy to confuse.
    seen: dict[str, Path] = {}
    for path in library_files():
      if path.name == "__init__.py":
        continue
      self.assertNotIn(path.stem, seen, f"{path} and {seen.get(path.stem)}")
      seen[path.stem] = path

  def test_no_module_binds_a_top_level_name_twice(self):
    for path in library_files():
      names = []
      for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign):
          names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(
          node.target, ast.Name
        ):
          names.append(node.target.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
          names.append(node.name)
      twice = sorted({n for n in names if names.count(n) > 1})
      self.assertEqual(twice, [], path)

  def test_every_function_and_class_is_used(self):
    # A definition is used when its name appears anywhere else: in the
    # library, a script, a test or the pages (README.md, docs/). Decorated
    # definitions are registered by their decorator (e.g. a custom_jvp rule).
    sources = [
      *library_files(),
      *(REPO / "experiments").glob("*.py"),
      *(REPO / "tests").rglob("*.py"),
      *pages.PAGES,
    ]
    words = collections.Counter(
      re.findall(r"\w+", "\n".join(p.read_text() for p in sources))
    )
    unused = []
    for path in library_files():
      for node in ast.parse(path.read_text()).body:
        if (
          isinstance(node, (ast.FunctionDef, ast.ClassDef))
          and not node.decorator_list
          and words[node.name] < 2
        ):
          unused.append(f"{path.relative_to(REPO)}: {node.name}")
    self.assertEqual(unused, [])


if __name__ == "__main__":
  absltest.main()


class LayersTest(absltest.TestCase):
  def test_absl_flags_only_in_the_command_line_layer(self):
    # Issue 29: config.py defined the flags, and data.py and sharded_sweep.py
    # import config, so absl's flags sat under the data layer.
    command_line = {"cli.py", "config_flags.py"}
    importers = sorted(
      str(path.relative_to(REPO))
      for path in library_files()
      if path.name not in command_line
      and any(
        isinstance(node, ast.ImportFrom)
        and node.module == "absl"
        and any(a.name == "flags" for a in node.names)
        or isinstance(node, ast.Import)
        and any(a.name == "absl.flags" for a in node.names)
        or isinstance(node, ast.ImportFrom)
        and node.module in ("lossjax.config_flags", "lossjax")
        and any(a.name == "config_flags" for a in node.names)
        for node in ast.walk(ast.parse(path.read_text()))
      )
    )
    self.assertEqual(importers, [])

  def test_each_folder_imports_only_from_the_layers_above_it(self):
    # Issue 29: the layers are folders (docs/library.md, "Code map"). A
    # module may import its own layer and the layers before it in LAYERS.
    layers = [
      ["lossjax.core"],
      ["lossjax.config", "lossjax.config_fields"],
      ["lossjax.datasets"],
      ["lossjax.metrics"],
      ["lossjax.output"],
      ["lossjax.training"],
      ["lossjax.studies"],
      ["lossjax.config_flags", "lossjax.cli"],
    ]

    def layer_of(module: str) -> int:
      for i, prefixes in enumerate(layers):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
          return i
      raise AssertionError(f"{module} is in no layer")

    upward = []
    for path in library_files():
      rel = path.relative_to(REPO).with_suffix("")
      parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
      module = ".".join(parts)
      if module == "lossjax":  # the public names, gathered from every layer
        continue
      for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
          targets = [
            f"{node.module}.{a.name}"
            if node.module == "lossjax"
            else node.module
            for a in node.names
          ]
        elif isinstance(node, ast.Import):
          targets = [a.name for a in node.names]
        else:
          continue
        for target in targets:
          if target.startswith("lossjax.") and layer_of(target) > layer_of(
            module
          ):
            upward.append(f"{module} imports {target}")
    self.assertEqual(upward, [])

  def test_no_library_module_over_500_lines(self):
    # Issue 29: modules stay focused.
    over = {
      path.name: lines
      for path in library_files()
      if (lines := len(path.read_text().splitlines())) > 500
    }
    self.assertEqual(over, {})
