"""Benchmark: what the rollout plugin costs on top of pytest and allure-pytest (issue 12).

    .venv/bin/python benchmarks/plugin_cost.py [--tests 1000] [--repeat 7] [--baseline-python PY] [--profile]

Generates `--tests` trivial passing tests (10 modules) and a remote environment file into a temporary
project, then times three pytest runs in interleaved rounds (bare, allure, active, bare, allure, ...),
each as a whole process, start-up included:

    bare    pytest -p no:rollout_gate -p no:allure_pytest
    allure  pytest -p no:rollout_gate --alluredir <tmp>/allure-results
    active  pytest --env=bench           (the plugin active; it writes Allure results itself)

and prints min / median / max per command, wall and CPU (user + system of the finished child: steadier
than wall time on a shared machine), and the active / allure ratio (per round, then its median).
Target: active within 1.2x of allure-pytest alone. `--baseline-python` adds a fourth command, the
active plugin under another interpreter (e.g. another checkout's venv: before / after in one run).
`--profile` runs the active command once under cProfile and prints the 25 most expensive functions.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV_FILE = """\
name: bench
kind: remote
target:
  base_url: http://127.0.0.1:9
  database_url: ${BENCH_DSN}
  connect_timeout: 1
safety:
  allow_writes: false
"""
INI = """\
[pytest]
addopts = -q -p no:cacheprovider -p no:playwright -p no:locust
"""
MODULES = 10


def make_project(root: Path, tests: int) -> None:
    (root / "environments").mkdir()
    (root / "environments" / "bench.yaml").write_text(ENV_FILE)
    (root / "pytest.ini").write_text(INI)
    per_module = tests // MODULES
    for m in range(MODULES):
        count = per_module + (1 if m < tests % MODULES else 0)
        body = "".join(f"def test_{m}_{i}():\n    assert {i} == {i}\n\n\n" for i in range(count))
        (root / f"test_trivial_{m}.py").write_text(body)


def commands(root: Path, baseline_python: str | None) -> dict[str, list[str]]:
    pytest = [sys.executable, "-m", "pytest"]
    cmds = {
        "bare": [*pytest, "-p", "no:rollout_gate", "-p", "no:allure_pytest"],
        "allure": [*pytest, "-p", "no:rollout_gate", f"--alluredir={root / 'allure-only'}", "--clean-alluredir"],
        "active": [*pytest, "--env=bench"],
    }
    if baseline_python:
        cmds["baseline"] = [baseline_python, "-m", "pytest", "--env=bench"]
    return cmds


def run_once(command: list[str], root: Path, environ: dict[str, str], tests: int) -> tuple[float, float]:
    """Wall and CPU seconds of one whole pytest process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=environ, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if f"{tests} passed" not in done.stdout:
        tail = "\n".join(done.stdout.splitlines()[-5:])
        raise SystemExit(f"plugin_cost: {' '.join(command)}: not {tests} passed (exit {done.returncode}):\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def profile(command: list[str], root: Path, environ: dict[str, str]) -> None:
    stats = root / "active.prof"
    subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(stats), *command[1:]],
        cwd=root,
        env=environ,
        capture_output=True,
        check=False,
    )
    import pstats

    pstats.Stats(str(stats)).sort_stats("cumulative").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline-python", help="also time the active plugin under this interpreter")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ROLLOUT_"))}
    environ["BENCH_DSN"] = "postgresql://rg:bench-secret-pw@127.0.0.1:9/app"
    with tempfile.TemporaryDirectory(prefix="rollout-plugin-cost-") as tmp:
        root = Path(tmp)
        make_project(root, args.tests)
        cmds = commands(root, args.baseline_python)
        for command in cmds.values():  # warm-up: imports compiled, page cache filled
            run_once(command, root, environ, args.tests)
        wall: dict[str, list[float]] = {name: [] for name in cmds}
        cpu: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(args.repeat):
            for name, command in cmds.items():
                took, used = run_once(command, root, environ, args.tests)
                wall[name].append(took)
                cpu[name].append(used)
        print(f"{args.tests} trivial passing tests, {args.repeat} interleaved rounds, whole-process seconds")
        print(f"{'':9} {'wall min':>8} {'median':>7} {'max':>6}   {'cpu min':>7} {'median':>7} {'max':>6}")
        for name in cmds:
            w, c = wall[name], cpu[name]
            print(
                f"{name:9} {min(w):8.2f} {statistics.median(w):7.2f} {max(w):6.2f}"
                f"   {min(c):7.2f} {statistics.median(c):7.2f} {max(c):6.2f}"
            )
        for other in [n for n in ("allure", "baseline") if n in cmds]:
            for label, series in (("wall", wall), ("cpu", cpu)):
                ratios = [a / b for a, b in zip(series["active"], series[other], strict=True)]
                print(
                    f"active / {other} ({label}): median {statistics.median(ratios):.2f}x "
                    f"(per round {min(ratios):.2f}-{max(ratios):.2f})"
                )
        for name, command in cmds.items():
            print(f"  {name}: {' '.join(command).replace(str(root), '<tmp>')}")
        if args.profile:
            profile(cmds["active"], root, environ)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
