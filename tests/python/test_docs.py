"""The examples in docs/python.md and the README's Python section run as written, each in a
fresh interpreter (they start their own embedded broker)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from conftest import REPO

FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def examples() -> List[Tuple[str, str]]:
    found = []
    for path, section in [(REPO / "docs" / "python.md", None), (REPO / "README.md", "## Python")]:
        text = path.read_text()
        if section is not None:
            start = text.index(section)
            end = text.find("\n## ", start + len(section))
            text = text[start:end if end != -1 else None]
        for i, match in enumerate(FENCE.finditer(text)):
            found.append((f"{path.name}[{i}]", match.group(1)))
    return found


EXAMPLES = examples()


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("name, code", EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_example_runs(name: str, code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 0, f"{name} failed:\n{code}\n--- stderr\n{result.stderr}"
