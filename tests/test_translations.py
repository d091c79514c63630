"""The German catalogue is complete and current: `make messages` would change nothing (every
marked string is in it, none is left over), no entry is untranslated or fuzzy, and the
compiled .mo holds the same translations as the .po. Needs GNU gettext (msgfmt, msgattrib),
as `make messages` does."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SOURCES = ["learnhub", "programs", "champions", "reports", "templates", "manage.py", "Makefile"]
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]


def catalogue(root: Path, language: str) -> Path:
    return root / "learnhub" / "locale" / language / "LC_MESSAGES" / "django.po"


def gettext_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} (GNU gettext) is needed to check the translations: apt-get install gettext")
    return path


def msgids(output: str) -> list[str]:
    """The msgids of the entries in msgattrib's output, the header left out."""
    return [m for m in re.findall(r'^msgid "(.*)"$', output, flags=re.M) if m]


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """A copy of the sources with `make messages` run in it: its catalogues are what the
    repository's would be if the strings were collected now."""
    copy = tmp_path_factory.mktemp("messages")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, copy / name)
    env = {**os.environ, "DATABASE_URL": "sqlite://:memory:", "REDIS_URL": "", "DEBUG": "true"}
    options = re.search(r"^MESSAGES_OPTIONS := (.*?)(?<!\\)$", (ROOT / "Makefile").read_text(), flags=re.M | re.S)
    assert options is not None
    arguments = options.group(1).replace("\\\n", " ").split()
    command = [sys.executable, "manage.py", "makemessages", *[f"--locale={code}" for code in LANGUAGES], *arguments]
    subprocess.run(command, cwd=copy, env=env, check=True, capture_output=True, text=True)
    return copy


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_string_is_in_the_catalogue(collected, language):
    committed = catalogue(ROOT, language).read_text(encoding="utf-8")
    current = catalogue(collected, language).read_text(encoding="utf-8")
    added = sorted(set(msgids(current)) - set(msgids(committed)))
    gone = sorted(set(msgids(committed)) - set(msgids(current)))
    assert (added, gone) == ([], []), "run `make messages`, translate and `make compilemessages`"
    assert current == committed, "run `make messages` and commit learnhub/locale"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_string_is_left_untranslated_or_fuzzy(collected, language):
    po = str(catalogue(collected, language))
    msgattrib = gettext_tool("msgattrib")
    untranslated = subprocess.run([msgattrib, "--untranslated", po], check=True, capture_output=True, text=True)
    fuzzy = subprocess.run([msgattrib, "--only-fuzzy", po], check=True, capture_output=True, text=True)
    assert msgids(untranslated.stdout) == []
    assert msgids(fuzzy.stdout) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_the_current_one(tmp_path, language):
    po = catalogue(ROOT, language)
    compiled = tmp_path / "django.mo"
    subprocess.run([gettext_tool("msgfmt"), "--check", "-o", str(compiled), str(po)], check=True)
    with compiled.open("rb") as fresh, po.with_suffix(".mo").open("rb") as committed:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(fresh)._catalog, (
            "run `make compilemessages` and commit the .mo"
        )
