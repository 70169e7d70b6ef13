"""lmcourse: the package behind the course's chapter notebooks.

Importing it is cheap on purpose (the CLI validates arguments in milliseconds): TensorFlow
and Keras are imported only by the functions that need them. ``start_chapter`` is the first
call of every notebook.
"""

import os as _os

# Must be set before TensorFlow is imported anywhere in the process; a learner's own value wins.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

from lmcourse.config import start_chapter  # noqa: E402
from lmcourse.params import ConfigError  # noqa: E402

__all__ = ["ConfigError", "start_chapter", "__version__"]
