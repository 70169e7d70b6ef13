"""The ``lmcourse`` command: list chapters, run them with papermill, check the setup.

    lmcourse list
    lmcourse run 01 [--profile smoke] [-p seed=7 ...] [--output DIR] [--json]
    lmcourse run all --profile smoke
    lmcourse doctor
    lmcourse data
    lmcourse bench gpt [--config cpu|full] [...]   (runs benchmarks/gpt_char.py)

Every argument of ``run`` is validated before a kernel starts or a folder is created, so a
typo fails in milliseconds with one line and leaves nothing behind.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmcourse import config, outputs, results
from lmcourse.chapters import CHAPTERS, get_chapter, notebook_path
from lmcourse.params import (
    DEFAULT_PROFILE,
    PROFILE_ENV,
    PROFILE_HELP,
    PROFILES,
    Chapter,
    ConfigError,
)
from lmcourse.paths import BENCHMARKS_DIR

if TYPE_CHECKING:  # papermill takes ~1.5 s to import: only a real run imports it
    from papermill.exceptions import PapermillExecutionError


class CLIError(Exception):
    """Bad usage: printed as one ``lmcourse: error: ...`` line, exit status 2."""


class ChapterFailed(Exception):
    """A cell raised while running a chapter: exit status 1."""


def parse_value(text: str) -> Any:
    """``-p name=value`` text -> a Python value: int, float, bool, None, else the string.

    ``true``/``false``/``none`` are accepted in any case, like papermill's ``-p``.
    """
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, (int, float, str)) else text


def parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CLIError(f"-p {pair!r}: write parameters as name=value, e.g. -p epochs=3")
        if name.strip() == "profile":
            raise CLIError("give the profile with --profile, not -p profile=...")
        params[name.strip()] = parse_value(value)
    return params


def notebook_parameters(path: Path) -> dict[str, str]:
    """Names -> default source text of the notebook's ``parameters`` cell.

    The same answer as ``papermill.inspect_notebook`` (a test checks that for every chapter)
    without importing papermill, which alone takes ~1.5 s: a typo should fail in milliseconds.
    """
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"])
            return {
                node.targets[0].id: ast.get_source_segment(source, node.value) or ""
                for node in ast.parse(source).body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            }
    raise CLIError(f"{path} has no cell tagged 'parameters': tag its first code cell")


@dataclass(frozen=True)
class RunPlan:
    """One chapter's run, validated and resolved once; the rest of the command reads only this.

    ``parameters`` is what papermill injects into the notebook's ``parameters`` cell: the
    resolved profile and the ``-p`` values as given (the notebook resolves the rest itself).
    """

    chapter: Chapter
    profile: str
    parameters: dict[str, Any]


def check_notebook_names(chapter: Chapter, names: dict[str, Any]) -> None:
    """Raise unless the chapter's notebook exists and its ``parameters`` cell has every name."""
    path = notebook_path(chapter)
    if not path.is_file():
        raise CLIError(f"chapter {chapter.id}'s notebook {path} is missing: restore it with git")
    declared = notebook_parameters(path)
    for name in names:
        if name not in declared:
            raise ConfigError(
                f"chapter {chapter.id} has no parameter {name!r}: "
                f"its parameters are {', '.join(declared)}"
            )


def plan_run(chapter: Chapter, profile: str | None, params: dict[str, Any]) -> RunPlan:
    """Check everything about one chapter's run and resolve it once into a :class:`RunPlan`.

    Raises ConfigError/CLIError with one line. Names are checked against the notebook's own
    ``parameters`` cell, values against the chapter's ranges in ``lmcourse.chapters``.
    """
    check_notebook_names(chapter, params)
    # The same resolution the notebook will do, so a bad value fails here, not in a kernel.
    resolved = config.resolve(chapter, profile=profile, **params)
    return RunPlan(chapter, resolved.profile, {"profile": resolved.profile, **params})


def select_chapters(key: str, params: dict[str, Any]) -> list[Chapter]:
    """The chapters ``lmcourse run KEY`` means; with ``all``, every -p name must fit each one."""
    if key != "all":
        return [get_chapter(key)]
    chapters = list(CHAPTERS.values())
    for name in params:  # -p with `all` must name a parameter every chapter has
        for ch in chapters:
            config.check_names(ch, [name])
    return chapters


def plan_runs(key: str, profile: str | None, params: dict[str, Any]) -> list[RunPlan]:
    """Validate a whole ``lmcourse run`` before anything starts: one plan per chapter."""
    if profile is not None:
        config.resolve_profile(profile)  # unknown profile: fail before anything else
    return [plan_run(ch, profile, params) for ch in select_chapters(key, params)]


def default_output(label: str) -> Path:
    return Path("runs") / f"{label}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _kernel_manager_class() -> type:
    """A kernel manager that talks to the kernel over local IPC sockets, not TCP.

    Only the local machine is involved, and ipykernel >= 7 warns on every start over TCP.
    The socket files go to the temp folder under a unique prefix (jupyter_client's default
    is ``kernel-ipc-N`` in the notebook's folder) and are removed when the kernel stops.
    """
    import tempfile
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

        # Same name as jupyter_client's method: it is also called directly, not only as the
        # trait default, and both must give the same prefix for the cleanup to find the files.
        @default("ip")
        def _ip_default(self) -> str:
            if not hasattr(self, "_lmcourse_ipc_prefix"):
                name = f"lmcourse-kernel-{uuid.uuid4().hex[:12]}"
                self._lmcourse_ipc_prefix = os.path.join(tempfile.gettempdir(), name)
            return self._lmcourse_ipc_prefix

    return IPCKernelManager


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block; restore the old ones after."""
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_notebook(chapter: Chapter, parameters: dict[str, Any], dst: Path, progress: bool) -> float:
    """Execute the chapter's notebook into ``dst`` with papermill; return the seconds it took.

    Raises ChapterFailed when a cell raises (the partly executed notebook stays in ``dst``).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    src = notebook_path(chapter)
    dst.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(src),
            str(dst),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(src.parent),
            progress_bar=progress,
            log_output=False,
            kernel_manager_class=_kernel_manager_class(),
        )
    except PapermillExecutionError as e:
        raise ChapterFailed(failure_message(chapter, e, dst)) from None
    return time.perf_counter() - start


def failure_message(chapter: Chapter, error: PapermillExecutionError, dst: Path) -> str:
    """Two lines for a papermill cell error: chapter, cell, the error's last line; where to look."""
    cell = f"cell {error.exec_count}" if error.exec_count else f"cell index {error.cell_index}"
    evalue = str(error.evalue).strip().splitlines()[-1] if str(error.evalue).strip() else ""
    return (
        f"chapter {chapter.id} ({chapter.slug}) failed in {cell}: {error.ename}: {evalue}\n"
        f"  the partly executed notebook is kept for inspection: {dst}"
    )


def write_record(plan: RunPlan, results_file: Path, dst: Path, seconds: float) -> dict[str, Any]:
    """Complete the run's ``results.json`` (what the kernel recorded + how the run went)."""
    record = results.read(results_file) if results_file.is_file() else {"results": {}}
    record.update(
        chapter=plan.chapter.id,
        slug=plan.chapter.slug,
        seconds=round(seconds, 1),
        notebook=str(dst),
        profile=plan.profile,
    )
    results_file.write_text(json.dumps(record, indent=2) + "\n")
    return record


def execute(plan: RunPlan, out: Path, progress: bool) -> dict[str, Any]:
    """Run one chapter's notebook into ``out``; return its results record.

    ``out`` gets the executed notebook and ``results.json``; the kernel also finds ``out``
    in ``$LMCOURSE_RUN_DIR`` for checkpoints and logs.
    """
    dst = out / notebook_path(plan.chapter).name
    results_file = out / "results.json"
    kernel_env = {
        results.RESULTS_ENV: str(results_file.resolve()),
        results.RUN_DIR_ENV: str(out.resolve()),
    }
    with environment(kernel_env):
        seconds = run_notebook(plan.chapter, plan.parameters, dst, progress)
    return write_record(plan, results_file, dst, seconds)


def cmd_run(args: argparse.Namespace) -> int:
    params = parse_params(args.param or [])
    plans = plan_runs(args.chapter, args.profile, params)
    label = "all" if args.chapter == "all" else plans[0].chapter.slug
    out = Path(args.output) if args.output else default_output(label)
    say = (lambda msg: print(msg, file=sys.stderr)) if args.json else print
    asked = {
        "chapters": [p.chapter.id for p in plans],
        "profile": args.profile,
        "parameters": params,
    }
    try:
        with outputs.claim(out, asked) as resumed:
            if resumed:
                say(f"resuming the unfinished run in {out}: its checkpoints are kept")
            records = run_plans(plans, out, say, progress=not args.no_progress)
    except outputs.OutputError as e:
        raise CLIError(str(e)) from None
    payload: Any = records[0] if len(records) == 1 else records
    if len(records) > 1:
        (out / "results.json").write_text(json.dumps(records, indent=2) + "\n")
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(results.format_table(records))
        print(f"\nexecuted notebooks and results.json in {out}")
    return 0


def run_plans(plans: list[RunPlan], out: Path, say: Any, progress: bool) -> list[dict[str, Any]]:
    """Execute each plan into ``out`` (one subfolder per chapter when there are several)."""
    records = []
    for i, plan in enumerate(plans, 1):
        where = out / plan.chapter.slug if len(plans) > 1 else out
        say(
            f"[{i}/{len(plans)}] chapter {plan.chapter.id}: {plan.chapter.title} "
            f"(profile {plan.profile}) -> {where}"
        )
        records.append(execute(plan, where, progress=progress))
        say(f"      done in {records[-1]['seconds']:.1f} s")
    return records


def cmd_list(args: argparse.Namespace) -> int:
    for chapter in CHAPTERS.values():
        print(f"{chapter.id}  {chapter.title}")
        for name, spec in chapter.all_params.items():
            if name == "profile":
                continue
            if spec.profile_driven:
                shown = ", ".join(f"{p}={chapter.profiles[p][name]!r}" for p in PROFILES)
            else:
                shown = f"default {spec.default!r}"
            print(f"      {name:<16} {spec.describe():<24} {shown}")
    print(f"\nprofiles: {', '.join(f'{p} ({h})' for p, h in PROFILE_HELP.items())}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from lmcourse import data, runtime

    info = runtime.report()
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    status = {**data.verify_all(), **data.verify_packages()}
    for name, state in status.items():
        print(f"{'data ' + name:<{width}}  {state}")
    return 0 if all(s == "ok" for s in status.values()) else 1


def cmd_data(args: argparse.Namespace) -> int:
    from lmcourse import data

    status = data.verify_all()
    for name, row in data.manifest().items():
        state = status[name]
        print(f"{name}  {row.bytes / 1e6:.2f} MB  sha256 {row.sha256[:12]}...  {state}")
        print(f"    source:  {row.source}\n    license: {row.license}\n    {row.description}")
    package_rows = data.package_manifest()
    for key, state in data.verify_packages().items():
        row = package_rows[tuple(key.split("/", 1))]
        print(
            f"{key} (from the installed {row.install})  {row.bytes / 1e6:.2f} MB  "
            f"sha256 {row.sha256[:12]}...  {state}"
        )
        print(f"    source:  {row.source}\n    license: {row.license}\n    {row.description}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check a chapter's exercises (or all chapters') against the learner's answers file."""
    from lmcourse import exercises

    ids = list(CHAPTERS) if args.chapter == "all" else [args.chapter]
    if args.answers and len(ids) > 1:
        raise CLIError("--answers names one file: check one chapter at a time with it")
    passed = True
    for cid in ids:
        try:
            path = Path(args.answers) if args.answers else exercises.answers_file(cid)
            report = exercises.run_checks(cid, path)
        except (ValueError, FileNotFoundError) as e:
            raise CLIError(str(e)) from None
        print(report)
        passed &= report.passed
    return 0 if passed else 1


BENCHMARKS = {"gpt": "gpt_char.py"}


def cmd_bench(args: argparse.Namespace) -> int:
    """Run a benchmark script of the checkout's ``benchmarks/`` folder with the given options."""
    import subprocess

    script = BENCHMARKS_DIR / BENCHMARKS[args.name]
    if not script.is_file():
        raise CLIError(f"{script} is missing: benchmarks run from a git checkout of the course")
    return subprocess.call([sys.executable, str(script), *args.options])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lmcourse", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="chapters, their parameters and profile values").set_defaults(
        func=cmd_list
    )
    run = sub.add_parser("run", help="execute a chapter (or all) with papermill")
    run.add_argument("chapter", help="chapter id (01), slug, or 'all'")
    run.add_argument(
        "--profile",
        help=f"one of {', '.join(PROFILES)} (default: ${PROFILE_ENV} or {DEFAULT_PROFILE})",
    )
    run.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="override a parameter of the chapter's parameters cell (repeatable)",
    )
    run.add_argument(
        "--output",
        help="folder for the executed notebook and results.json "
        "(default runs/<chapter>-<timestamp>/)",
    )
    run.add_argument("--json", action="store_true", help="print only the results JSON to stdout")
    run.add_argument("--no-progress", action="store_true", help="no progress bar over cells")
    run.set_defaults(func=cmd_run)
    sub.add_parser("doctor", help="versions, backend, devices, data checks").set_defaults(
        func=cmd_doctor
    )
    sub.add_parser("data", help="the shipped data files and their checks").set_defaults(
        func=cmd_data
    )
    check = sub.add_parser(
        "check",
        help="check your answers to a chapter's exercises",
        description="Checks the functions in exercises/chNN.py (or --answers FILE) and says "
        "what passes and what is wrong. The solutions are in solutions/chNN.py.",
    )
    check.add_argument("chapter", help="chapter id (04) or 'all'")
    check.add_argument("--answers", help="your answers file (default exercises/chNN.py)")
    check.set_defaults(func=cmd_check)
    bench = sub.add_parser(
        "bench",
        help="run a benchmark (benchmarks/README.md)",
        description="Options after the name go to the script: lmcourse bench gpt --help",
    )
    bench.add_argument("name", choices=sorted(BENCHMARKS))
    bench.add_argument("options", nargs=argparse.REMAINDER, help="options of the script")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, ConfigError) as e:
        print(f"lmcourse: error: {e}", file=sys.stderr)
        return 2
    except ChapterFailed as e:
        print(f"lmcourse: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lmcourse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
