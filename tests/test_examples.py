"""Every example runs end to end at a small size (``--small``)."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
NEEDS = {"gan": "tensorflow", "ray": "ray", "arch": None, "checkpoint": None}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    for key, module in NEEDS.items():
        if key in path.stem and module:
            pytest.importorskip(module)
    proc = subprocess.run([sys.executable, str(path), "--small"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.strip(), "an example should say what it did"
