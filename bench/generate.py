"""`python -m bench.generate --scale S --out DIR`: write the scaled exports (and a manifest)."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from bench.scales import SCALES
from pipeline.demo.stream import write_scaled_exports

MANIFEST = "bench_manifest.json"


def generate(scale: str, inbox: Path, seed: int = 20261101, progress=None) -> dict:
    spec = SCALES[scale]
    started = time.perf_counter()
    summary = write_scaled_exports(inbox, spec, seed, progress=progress)
    manifest = {
        "spec": asdict(spec),
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
        "files": summary.files,
        "rows": summary.rows,
        "bad_rows": summary.bad_rows,
        "bytes": {name: (inbox / name).stat().st_size for name in summary.files},
        "deals": summary.deals,
        "calls": summary.calls,
        "prospects": summary.prospects,
        # The last calendar month is delivered on its own (the incremental build's input);
        # every other file is the history delivery.
        "new_month": summary.new_month,
        "new_month_files": summary.new_month_files,
        "managers": [
            {"name": m.name, "extension": m.extension, "aliases": list(m.aliases)}
            for m in summary.managers
        ],
    }
    (inbox / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    manifest = generate(args.scale, args.out, progress=print)
    print(json.dumps({k: v for k, v in manifest.items() if k != "managers"}, indent=1))


if __name__ == "__main__":
    main()
