import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_documents_every_variable_the_settings_read():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, config.settings, config.env; print(' '.join(sorted(config.env.READ)))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    readme = (ROOT / "README.md").read_text()
    undocumented = [name for name in result.stdout.split() if f"`{name}`" not in readme]
    assert undocumented == []


def test_the_readme_shows_the_two_commands_first():
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make run") < readme.index("## Configuration")
    assert "make test" in readme
