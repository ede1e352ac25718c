"""Loading a big rules file: load time and memory for N rules (default 20 000), this tree
against a baseline commit, on the same machine state (rounds interleaved, back to back).

The file is generated: a few lists and macros, then N rules of the kinds real rules files
hold (event types, process and file conditions through the macros and lists, an output with
fields, tags). Each round loads it in a fresh interpreter as ``sentry run`` does
(:func:`sentry.pipeline.load_ruleset` with the output compiler: YAML, checks, macro
expansion, compilation of every condition and output) and reports the CPU time of the load
(the machine is shared: wall time is printed too, but CPU time is what compares) and the
memory it took (peak RSS minus the RSS after the imports).

The baseline (``--baseline REV``, default ``bdc7691``: the tree before issue 13's
reliability work) is checked out in a temporary git worktree and removed afterwards.
Prints the best of ``--rounds`` (3) of each and the ratios now/baseline.

Usage: python bench/rules_load.py [--rules N] [--baseline REV] [--rounds K] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEAD = """
- list: shells
  items: [bash, sh, zsh, dash, ksh]
- list: sensitive_dirs
  items: [/etc, /root, /boot, /usr/lib/systemd]
- macro: opened_for_write
  condition: evt.type in (open, openat, openat2) and evt.is_open_write = true
- macro: spawned
  condition: evt.type = execve and evt.dir = <
- macro: in_sensitive_dir
  condition: fd.directory in (sensitive_dirs)
"""
KINDS = [
    "opened_for_write and in_sensitive_dir and proc.name = app{i}",
    "spawned and proc.pname = svc{i} and proc.name in (shells)",
    "evt.type = connect and fd.sport = {port} and not proc.name in (shells)",
    "opened_for_write and fd.name startswith /var/lib/app{i}/ and user.name != root",
    'spawned and proc.cmdline contains "--flag{i}" and container.id != host',
]

# Measured in a child so that each load starts from a fresh interpreter.
MEASURE = r"""
import json, resource, sys, time
def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
from sentry.cli.run import output_compiler
from sentry.pipeline import load_ruleset
base = rss_kb()
start, cpu = time.perf_counter(), time.process_time()
if sys.argv[2] == "profile":
    import cProfile, pstats
    prof = cProfile.Profile()
    prof.enable()
ruleset, defs = load_ruleset([sys.argv[1]], output_compiler=output_compiler())
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
if sys.argv[2] == "profile":
    prof.disable()
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "cpu": cpu, "rules": len(ruleset), "errors": len(defs.errors),
                  "mb": (peak - base) / 1024}))
"""


def generate(path: Path, n: int) -> None:
    parts = [HEAD]
    for i in range(n):
        cond = KINDS[i % len(KINDS)].format(i=i, port=1024 + i % 60000)
        parts.append(
            f"- rule: Generated rule {i}\n"
            f"  desc: generated rule number {i} for the load benchmark\n"
            f"  condition: {cond}\n"
            f"  output: rule {i} (user=%user.name command=%proc.cmdline file=%fd.name)\n"
            f"  priority: {('WARNING', 'NOTICE', 'ERROR')[i % 3]}\n"
            f"  tags: [bench, kind{i % len(KINDS)}]\n"
        )
    path.write_text("".join(parts))


def measure(python_dir: Path, rules: Path, profile: bool = False) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(python_dir))
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(rules), "profile" if profile else "-"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"load failed under {python_dir}:\n{done.stderr[-3000:]}")
    if profile:
        print(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=int, default=20_000)
    ap.add_argument("--baseline", default="bdc7691")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile one load of this tree")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sentry-rules-load-") as tmp:
        rules = Path(tmp) / "rules.yaml"
        generate(rules, args.rules)
        print(f"{args.rules} rules, {rules.stat().st_size >> 10} KiB of YAML")
        if args.profile:
            measure(ROOT / "python", rules, profile=True)
            return
        old = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old), args.baseline],
            check=True,
        )
        try:
            runs: dict[str, list[dict[str, float]]] = {"baseline": [], "now": []}
            for _ in range(args.rounds):
                runs["baseline"].append(measure(old / "python", rules))
                runs["now"].append(measure(ROOT / "python", rules))
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False
            )
    for name, rounds in runs.items():
        cpu = min(r["cpu"] for r in rounds)
        wall = min(r["seconds"] for r in rounds)
        mb = min(r["mb"] for r in rounds)
        r = rounds[0]
        label = args.baseline if name == "baseline" else "this tree"
        print(
            f"{name:9} {label:>10}: {cpu:6.2f} CPU-s ({wall:6.2f} s wall)  {mb:7.1f} MB  "
            f"({r['rules']:.0f} rules, {r['errors']:.0f} errors)  CPU-s of each round: "
            + ", ".join(f"{x['cpu']:.2f}" for x in rounds)
        )

    def best(name: str, key: str) -> float:
        return min(r[key] for r in runs[name])

    print(
        f"now/baseline: CPU time {best('now', 'cpu') / best('baseline', 'cpu'):.2f}x, "
        f"memory {best('now', 'mb') / best('baseline', 'mb'):.2f}x"
    )


if __name__ == "__main__":
    main()
