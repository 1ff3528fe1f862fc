"""Build hook: a wheel of tracker that runs without the checkout.

The checkout keeps templates/ and migrations/ at the top level, beside tracker/ and plugins/. A wheel holds
only packages, so building copies those two folders into the built package (tracker/templates,
tracker/migrations), where tracker/__init__.py looks first; an editable install or a checkout finds them at
the top level as before. The translations are compiled from their .po files at build time (the .mo files
are not in git), so the wheel carries compiled catalogues. Everything else is in setup.cfg.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# A top-level folder of the checkout -> where the built package holds it.
BUNDLED = {"templates": Path("tracker", "templates"), "migrations": Path("tracker", "migrations")}
TRANSLATIONS = Path("tracker", "translations")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's folders where they are
            return
        build = Path(self.build_lib)
        for source, target in BUNDLED.items():
            shutil.rmtree(build / target, ignore_errors=True)
            shutil.copytree(HERE / source, build / target,
                            ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"))
        self._compile_translations(build)

    def _compile_translations(self, build: Path) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted((HERE / TRANSLATIONS).glob("*/LC_MESSAGES/*.po")):
            locale = po.parent.parent.name
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
            mo = build / po.relative_to(HERE).with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with mo.open("wb") as fh:
                write_mo(fh, catalog)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        build = Path(self.build_lib)
        extra = [path for target in BUNDLED.values() for path in (build / target).rglob("*") if path.is_file()]
        extra += (build / TRANSLATIONS).glob("*/LC_MESSAGES/*.mo")
        return sorted(set(outputs) | {str(path) for path in extra})


setup(cmdclass={"build_py": BuildPyWithData})
