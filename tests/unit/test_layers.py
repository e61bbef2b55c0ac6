"""The layer contract in pyproject.toml covers the whole base, and it holds.

`make lint` runs import-linter on the contract; this test makes sure a new module directly under
``monitor/`` is put in a layer (otherwise import-linter would not constrain it at all).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_BASE = {"__init__", "__main__", "shell", "incidents"}


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = config["tool"]["importlinter"]["contracts"]
    layers: list[str] = contract["layers"]
    return layers


def test_every_base_module_is_in_the_lowest_layer() -> None:
    base = {name.strip() for name in _layers()[-1].split(":")}
    on_disk = {
        f"monitor.{path.stem}"
        for path in (ROOT / "monitor").iterdir()
        if path.stem not in NOT_BASE and (path.suffix == ".py" or (path / "__init__.py").exists())
    }
    assert on_disk - base == set(), "add these to the base layer in pyproject.toml"
    assert base - on_disk == set(), "the base layer names modules that no longer exist"


def test_the_layer_contract_is_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "1 kept, 0 broken" in run.stdout
