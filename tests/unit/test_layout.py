"""The package's layers: a part imports only the parts below it.

    apps > measure > study > answers > search > notes, models > shared (settings, errors, privacy)

Every import of every module under ``chatbot/`` is read with ``ast`` (relative ones, absolute
ones, and those inside functions or ``if TYPE_CHECKING:``) and resolved to the part it lands
in.  Within a part anything goes; across parts the target must sit on a lower level, so
``notes`` and ``models`` (one level) never import each other.  Left out: imports by string
(``importlib``) and subprocess command lines (``python -m chatbot.apps.cli``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "chatbot"
SHARED = ""  # the modules directly in chatbot/: settings, errors, privacy (and the package itself)
LEVELS = {"apps": 6, "measure": 5, "study": 4, "answers": 3, "search": 2, "notes": 1, "models": 1, SHARED: 0}


def module_name(path: str) -> tuple[list[str], bool]:
    """("chatbot/search/index.py" ->) ["chatbot", "search", "index"], and whether it is a package."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        return parts[:-1], True
    return parts, False


def part_of(module: list[str], is_package: bool = False) -> str:
    """The part a dotted module lies in: the subpackage right under chatbot, or SHARED for
    chatbot itself and the modules directly in it."""
    if len(module) >= 3 or (len(module) == 2 and (is_package or module[1] in LEVELS)):
        return module[1]
    return SHARED


def imported_modules(source: str, module: list[str], is_package: bool) -> list[tuple[int, list[str]]]:
    """(line, dotted module) for every import of a chatbot module in ``source``."""
    package = module if is_package else module[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level > len(package):
                    raise ValueError(f"line {node.lineno}: relative import above the package")
                base = package[: len(package) - node.level + 1]
            else:
                base = []
            target = base + (node.module.split(".") if node.module else [])
            if node.module:
                found.append((node.lineno, target))
            else:  # "from . import x": x is a module (or a name) of that package
                found += [(node.lineno, target + [alias.name]) for alias in node.names]
    return [(line, target) for line, target in found if target[0] == "chatbot"]


def layer_violations(sources: dict[str, str]) -> list[str]:
    """One line per import that goes to a part on the importer's own level or above.

    ``sources`` maps a path relative to the repository ("chatbot/notes/load.py") to its code.
    """
    problems = []
    for path, source in sorted(sources.items()):
        module, is_package = module_name(path)
        part = part_of(module, is_package)
        if part not in LEVELS:
            problems.append(f"{path}: part {part!r} is not in the layer table (tests/unit/test_layout.py, README)")
            continue
        for line, target in imported_modules(source, module, is_package):
            other = part_of(target)
            if other == part:
                continue
            if other not in LEVELS:
                problems.append(f"{path}:{line} imports {'.'.join(target)}, whose part {other!r} has no layer")
            elif LEVELS[other] >= LEVELS[part]:
                problems.append(
                    f"{path}:{line} imports {'.'.join(target)}: {part or 'shared'} (level {LEVELS[part]}) may "
                    f"import only parts below it, not {other or 'shared'} (level {LEVELS[other]})"
                )
    return problems


def package_sources() -> dict[str, str]:
    root = PACKAGE.parent
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}


def test_no_part_imports_a_part_on_its_level_or_above():
    assert layer_violations(package_sources()) == []


def test_the_checker_sees_the_imports_between_parts():
    """Guards against a resolver that finds nothing and so passes vacuously."""
    crossings = set()
    for path, source in package_sources().items():
        module, is_package = module_name(path)
        part = part_of(module, is_package)
        for _, target in imported_modules(source, module, is_package):
            if part_of(target) != part:
                crossings.add((part, part_of(target)))
    assert {("apps", "answers"), ("answers", "search"), ("search", "notes"), ("answers", "models"),
            ("measure", "search"), ("notes", SHARED), ("apps", "measure")} <= crossings


def test_every_subpackage_has_a_layer():
    parts = {p.parent.relative_to(PACKAGE).parts[0] for p in PACKAGE.glob("*/__init__.py")}
    assert parts == set(LEVELS) - {SHARED}


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        # upward, relative, inside a function
        ("chatbot/notes/load.py", "def f():\n    from ..answers.answer import Answerer\n",
         "chatbot/notes/load.py:2 imports chatbot.answers.answer: notes (level 1) may import only parts below it, "
         "not answers (level 3)"),
        # the same level: notes and models never import each other
        ("chatbot/models/llm.py", "from chatbot.notes.note import Note\n",
         "chatbot/models/llm.py:1 imports chatbot.notes.note: models (level 1) may import only parts below it, "
         "not notes (level 1)"),
        # shared modules import no part; "import chatbot.x" and TYPE_CHECKING blocks count
        ("chatbot/settings.py", "import typing\nif typing.TYPE_CHECKING:\n    import chatbot.search.embed\n",
         "chatbot/settings.py:3 imports chatbot.search.embed: shared (level 0) may import only parts below it, "
         "not search (level 2)"),
        # "from .. import x" from a nested package names the module x
        ("chatbot/search/index/reader.py", "from ... import measure\n",
         "chatbot/search/index/reader.py:1 imports chatbot.measure: search (level 2) may import only parts below "
         "it, not measure (level 5)"),
        # a part that is not in the table
        ("chatbot/cards/deck.py", "import json\n",
         "chatbot/cards/deck.py: part 'cards' is not in the layer table (tests/unit/test_layout.py, README)"),
    ],
)
def test_the_checker_reports_an_import_at_or_above_its_level(path, source, expected):
    assert layer_violations({path: source}) == [expected]


def test_the_checker_allows_imports_downward_and_within_a_part():
    sources = {
        "chatbot/apps/cli/__init__.py": "from ...errors import UserError\nfrom . import asking\n"
                                        "def f():\n    from ...search.retrieve import build_retriever\n",
        "chatbot/answers/answer.py": "from .cite import check_citations\nfrom ..models.llm import load_model\n",
        "chatbot/notes/load.py": "from . import markdown, pdf, text\nfrom ..errors import CorpusError\n",
        "chatbot/settings.py": "from .errors import UserError\nimport json\nfrom pydantic import Field\n",
        "chatbot/__init__.py": "from .privacy import apply_defaults\n",
    }
    assert layer_violations(sources) == []
