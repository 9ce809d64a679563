"""A lower layer never imports a higher one (DESIGN.md, "Architecture")."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "funnelboard"

# lower number = lower layer; a module may import its own layer or lower ones only
LAYERS: dict[str, int] = {
    "errors": 0, "issues": 0,
    "schema": 1, "channels": 1,
    "settings": 2,
    "ingest": 3, "store": 3, "demo": 3, "docs_gen": 3, "metrics": 3, "auth": 3,
    "workspace": 4, "plan": 4,
    "services": 5, "charts": 5,
    "dashboard": 5,
    "cli": 6, "web": 6,
}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "funnelboard" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def test_every_package_is_placed_in_a_layer() -> None:
    top = {p.stem for p in SRC.iterdir() if p.suffix == ".py" and p.stem != "__init__"}
    top |= {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert top <= set(LAYERS), f"place {sorted(top - set(LAYERS))} in LAYERS"


def test_lower_layers_do_not_import_higher_ones() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        own = _layer(".".join(rel.parts))
        if own is None:
            continue
        for module in _imports(path):
            other = _layer(module)
            if other is not None and other > own:
                wrong.append(f"{'.'.join(rel.parts)} imports {module}")
    assert not wrong, "\n".join(wrong)
