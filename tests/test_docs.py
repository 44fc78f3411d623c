"""The repository stands alone: its documents point only at files it has and commands that are
installed, and every command that takes options answers --help."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    return [REPO / name for name in listed]


def test_documents_mention_only_files_that_are_in_the_repository():
    files = tracked_files()
    names = {path.name for path in files}
    texts = [p for p in files if p.suffix in (".md", ".txt", ".py", ".toml")]
    missing = {
        (path.relative_to(REPO).as_posix(), mentioned)
        for path in texts
        for mentioned in re.findall(r"[\w./-]*\b[A-Za-z_-]+\.md\b", path.read_text())
        if Path(mentioned).name not in names
    }
    assert not missing


def test_the_login_command_the_readme_names_is_installed():
    commands = re.findall(r"`([\w-]+)(?: [\w-]+)* login`", (REPO / "README.md").read_text())
    assert commands
    scripts = Path(sys.executable).parent
    for command in commands:
        assert shutil.which(command, path=str(scripts)), f"{command} is not installed"


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("pix2pix.__main__", ["--help"]),
        ("pix2pix.__main__", ["translate", "--help"]),
        ("pix2pix.__main__", ["export", "--help"]),
        ("train.__main__", ["--help"]),
        ("train.evaluate", ["--help"]),
        ("train.combine", ["--help"]),
        ("train.publish", ["--help"]),
        ("train.faces", ["--help"]),
    ],
)
def test_every_command_answers_help(module, argv, capsys):
    import importlib

    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m ") and "--help" in out


def test_train_help_shows_each_default_once(capsys):
    from train.__main__ import main

    with pytest.raises(SystemExit):
        main(["--help"])
    entries = re.split(r"\n  (?=-)", capsys.readouterr().out)[1:]  # after usage and description
    for entry in entries:
        flat = " ".join(entry.split())
        assert flat.count("(default") <= 1, flat
        assert "(default: None)" not in flat and "(default: False)" not in flat
    epochs = next(" ".join(e.split()) for e in entries if e.startswith("--epochs "))
    assert epochs.endswith("(default: 100)")
