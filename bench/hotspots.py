"""Where the worker spends its time during the end-to-end run: py-spy, top functions.

`measure` runs `bench.e2e` on SQLite once more (without the reference) while ``py-spy record``
samples the worker process and its child processes (the scoring pool, if any) 100 times a
second, every thread (``--function``: one entry per function, not per line). `summarize` turns
the samples into the top functions by cumulative time (the share of busy samples in which the
function was on the stack) and by own time (the share in which it was the innermost frame),
and says how the busy samples split between the worker's event loop, its ``asyncio.to_thread``
pool and its child processes. Samples of threads that were waiting are left out.

py-spy needs ptrace rights over the worker (root, or ``kernel.yama.ptrace_scope`` 0, or
``CAP_SYS_PTRACE`` in a container); where it cannot attach, the profile is skipped with the
reason. It is in the dev extras. Run: ``python -m bench.hotspots [N]``.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench import e2e

_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
# With --subprocesses, each stack starts with one `process PID:"command line"` frame per
# process from the one profiled down; a command line may itself hold ";".
_PROCESSES = re.compile(r'^((?:process \d+:"[^"]*";?)+)')
_PROCESS = re.compile(r'process \d+:"[^"]*"')

# A thread whose innermost frame is one of these is waiting, not working (py-spy's own idle
# test misses waits on a queue, a pipe or in epoll): its samples are left out.
IDLE_LEAVES = (
    ("_worker", "concurrent/futures/thread.py"),
    ("select", "selectors.py"),
    ("Condition.wait", "threading.py"),
    ("Event.wait", "threading.py"),
    ("Thread._wait_for_tstate_lock", "threading.py"),
    ("Queue.get", "queue.py"),
    ("Connection._recv", "multiprocessing/connection.py"),
    ("wait", "multiprocessing/connection.py"),
)
# Frames that sit under everything (thread and process start, the event loop, the CLI): true
# but useless in a cumulative table, so they are not listed (their samples still count).
PLUMBING = (
    "threading.py",
    "concurrent/futures/",
    "multiprocessing/process.py",
    "multiprocessing/spawn.py",
    "multiprocessing/pool.py",
    "<frozen runpy>",
    "typer/",
    "click/",
    "mode/worker.py",
    "monitor/__main__.py",
    "monitor/shell/cli/",
    "monitor/shell/worker.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
)
PARTS = ("worker_event_loop", "worker_thread_pool", "child_processes")
# importlib's own frames, five deep under every import, are listed as one entry.
IMPORTING = "(importing modules: importlib)"


def short_frame(frame: str) -> str:
    """``name (path:line)`` with a checkout path cut to the package: ``(streams/ingest.py:12)``."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    root = str(Path(__file__).resolve().parent.parent) + "/"
    path = match["file"].removeprefix(root)
    line = f":{match['line']}" if match["line"] else ""
    return f"{match['name']} ({path}{line})"


def _parts(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame)
    return (match["name"], match["file"]) if match else (frame, "")


def _idle(leaf: str) -> bool:
    name, path = _parts(leaf)
    return any(
        (name == idle or name.endswith("." + idle)) and path.endswith(where)
        for idle, where in IDLE_LEAVES
    )


def _listed(frame: str) -> bool:
    name, path = _parts(frame)
    return name != "<module>" and not any(p in path for p in PLUMBING)


def parse_line(line: str) -> tuple[int, list[str], int] | None:
    """One line of py-spy's raw output: (process depth, frames outermost first, samples)."""
    stack, _, count_text = line.rstrip().rpartition(" ")
    if not stack or not count_text.isdigit():
        return None
    depth = 0
    processes = _PROCESSES.match(stack)
    if processes:
        depth = len(_PROCESS.findall(processes[1]))
        stack = stack[processes.end() :]
    frames = [short_frame(f) for f in stack.split(";") if f]
    return depth, frames, int(count_text)


def summarize(raw: str, top: int = 25) -> dict[str, Any]:
    """Top functions of py-spy's raw (collapsed-stack) output by cumulative and own samples."""
    cumulative: Counter[str] = Counter()
    own: Counter[str] = Counter()
    where: Counter[str] = Counter()
    total = idle = 0
    for line in raw.splitlines():
        parsed = parse_line(line)
        if parsed is None or not parsed[1]:
            continue
        depth, frames, count = parsed
        if _idle(frames[-1]):
            idle += count
            continue
        total += count
        if depth > 1:
            where["child_processes"] += count
        elif any("concurrent/futures/thread.py" in f for f in frames):
            where["worker_thread_pool"] += count
        else:
            where["worker_event_loop"] += count
        own[frames[-1]] += count
        listed = {f for f in frames if _listed(f) and "(<frozen importlib" not in f}
        if any("(<frozen importlib" in f for f in frames):
            listed.add(IMPORTING)
        for frame in listed:
            cumulative[frame] += count

    def rows(counter: Counter[str], limit: int) -> list[dict[str, Any]]:
        return [
            {"function": name, "samples": n, "share": round(n / total, 4)}
            for name, n in counter.most_common(limit)
        ]

    return {
        "samples": total,
        "idle_samples_left_out": idle,
        "shares": {part: round(where[part] / total, 4) if total else None for part in PARTS},
        "top_cumulative": rows(cumulative, top) if total else [],
        "top_own": rows(own, 10) if total else [],
    }


def measure(n: int, top: int = 25) -> dict[str, Any]:
    """Profile the worker through one end-to-end run of ``n`` mentions on SQLite."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "worker.pyspy.txt"
        run = e2e.measure(n, backend="sqlite", reference=False, profile_to=out)
        summary = summarize(out.read_text(encoding="utf-8", errors="replace"), top)
    summary.update(
        tool="py-spy record --rate 100 --function --subprocesses",
        mentions=n,
        run_seconds=run["seconds"],
    )
    return summary


def split(summary: dict[str, Any]) -> str:
    shares = summary.get("shares") or {}
    labels = {
        "worker_event_loop": "the worker's event loop thread",
        "worker_thread_pool": "its to_thread pool",
        "child_processes": "its child processes",
    }
    return ", ".join(f"{shares[p]:.0%} in {labels[p]}" for p in PARTS if shares.get(p) is not None)


def describe(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['samples']:,} busy samples ({split(summary)}); "
        "top functions by cumulative share:"
    ]
    lines += [f"  {r['share']:6.1%}  {r['function']}" for r in summary["top_cumulative"]]
    lines.append("by own share:")
    lines += [f"  {r['share']:6.1%}  {r['function']}" for r in summary["top_own"]]
    return "\n".join(lines)


def main() -> None:
    print(describe(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)))


if __name__ == "__main__":
    main()
