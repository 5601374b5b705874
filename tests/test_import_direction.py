"""Dependencies point one way: features below never import features above. The outbox and the
audit trail are below accounts (they name users by table, never import them); accounts are below
catalog (courses and sessions), catalog is below the registration questions (which name
registrations by table), they are below booking; booking is below roster, certificates and
the CMS. The package that
reacts to a change imports the one that changes (booking receives catalog's capacity_requested
signal; certificates give 我的报名 its certificates as a template global, invoices its 发票 requests).
Invoices are above booking and below the staff pages: the roster shows them, they never import it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
FEATURES = ("app.accounts", "app.catalog", "app.questions", "app.booking", "app.invoices", "app.roster",
            "app.certificates", "app.cms", "app.api", "app.admin", "app.main", "app.demo")
ABOVE_ACCOUNTS = FEATURES[1:]
ABOVE_CATALOG = ("app.questions", "app.booking", "app.invoices", "app.roster", "app.certificates", "app.cms", "app.api",
                 "app.admin", "app.main")
ABOVE_QUESTIONS = ("app.booking", "app.invoices", "app.roster", "app.certificates", "app.cms", "app.api", "app.admin",
                   "app.main")
ABOVE_BOOKING = ("app.invoices", "app.roster", "app.certificates", "app.cms", "app.api", "app.admin", "app.main")


def _imports(package: str, module_level_only: bool) -> dict[str, set[str]]:
    """The modules each file of app/<package> imports: {file: {module, ...}}, relative imports resolved."""
    found = {}
    for path in sorted((APP / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        nodes = tree.body if module_level_only else _walk_runtime(tree)
        names = set()
        for node in nodes:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = ["app", *path.relative_to(APP).with_suffix("").parts][:-node.level]
                    base = ".".join(parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(APP.parent))] = names
    return found


def _walk_runtime(node: ast.AST):
    """ast.walk, minus `if TYPE_CHECKING:` blocks: an import for type hints only is no dependency."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
            continue
        yield from _walk_runtime(child)


def _offending(imports: dict[str, set[str]], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """{file: [forbidden modules it imports]} for the files that import any."""
    def is_forbidden(name: str) -> bool:
        return any(name == package or name.startswith(package + ".") for package in forbidden)

    found = {path: sorted(filter(is_forbidden, names)) for path, names in imports.items()}
    return {path: names for path, names in found.items() if names}


def test_the_checker_sees_the_imports_that_are_there():
    """It reads what it should, so an empty answer below means something."""
    booking = _imports("booking", module_level_only=True)
    assert "app.catalog.models" in booking["app/booking/service.py"]
    assert _offending(booking, ("app.catalog",))  # booking does import catalog: found
    inside_functions = _imports("catalog", module_level_only=False)
    assert any("app.common.db" in names for names in inside_functions.values())
    type_hints_only = _imports("audit", module_level_only=False)["app/audit/models.py"]
    assert "app.accounts.models" not in type_hints_only  # under `if TYPE_CHECKING:`


@pytest.mark.parametrize(("package", "forbidden", "module_level_only"), [
    ("mail", FEATURES, False),  # not even inside a function
    ("audit", FEATURES, False),
    ("accounts", ABOVE_ACCOUNTS, False),
    ("catalog", ABOVE_CATALOG, False),
    ("questions", ABOVE_QUESTIONS, False),
    ("booking", ABOVE_BOOKING, True),
    ("invoices", ABOVE_BOOKING[1:], False),
])
def test_a_feature_does_not_import_the_features_above_it(package, forbidden, module_level_only):
    assert _offending(_imports(package, module_level_only), forbidden) == {}
