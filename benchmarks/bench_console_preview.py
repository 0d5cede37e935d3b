"""Speed of the console's rules preview over every member; prints numbers, asserts nothing.

    .venv/bin/python benchmarks/bench_console_preview.py                  # 2,469 synthetic members
    .venv/bin/python benchmarks/bench_console_preview.py --members 20000

The console previews against the artifact of the served model version (read once and kept) and keeps the
live rules' batch, so the first preview assembles two batches and the next ones only the draft's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.bench_rules import synthetic_artifact
from engine.artifact import write_artifact
from engine.config import CONFIG_DIR
from engine.console.preview import PreviewRunner
from engine.rules.config import load_rules, parse_rules_text


def main() -> None:
    """Print the first and a repeated preview's wall time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=2469, help="members (Complete Journey: 2,469)")
    args = parser.parse_args()
    live = load_rules(CONFIG_DIR / "rules.toml")
    text = (CONFIG_DIR / "rules.toml").read_text().replace("max_reward_share = 0.5", "max_reward_share = 0.4")
    draft = parse_rules_text(text, "draft", base_dir=CONFIG_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        write_artifact(synthetic_artifact(args.members), Path(tmp) / "bench")
        runner = PreviewRunner(Path(tmp))
        start = time.perf_counter()
        runner.artifact("bench")
        read_s = time.perf_counter() - start
        first = runner.run("bench", live, draft)
        again = runner.run("bench", live, draft)
    print(f"members {args.members}: artifact read {read_s:.2f} s (once per served version)")
    print(f"first preview (live + draft batches) {first.seconds:.2f} s; next previews {again.seconds:.2f} s")


if __name__ == "__main__":
    main()
