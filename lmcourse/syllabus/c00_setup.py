"""Chapter 00's parameters and profile values.

Setup: environment, backends, profiles, first tensors.
"""

from __future__ import annotations

from lmcourse.params import Chapter

CHAPTER = Chapter(
    id="00",
    slug="00_setup",
    title="Setup: environment, backends, profiles, first tensors",
)
