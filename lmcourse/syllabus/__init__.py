"""One module per chapter: its id, notebook slug, title, parameters and profile table.

Each module defines ``CHAPTER``, a :class:`lmcourse.params.Chapter`; ``lmcourse.chapters``
collects them in order. A chapter's ``parameters`` cell holds exactly its names below
(``profile``, ``seed`` and the chapter's own); the ranges are what ``lmcourse run -p`` and
``start_chapter`` validate.
"""
