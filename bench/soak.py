"""`make soak`: 50 kill -9s of the daemons and the front-end under load; reports lost and corrupt objects."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.cluster import Cluster  # noqa: E402
from tests.load import crash_rounds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="coffer-soak-"))
    cluster = Cluster(root).start()
    try:
        report = crash_rounds(cluster, args.rounds)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    summary = {"kills": report["rounds"], "acknowledged": report["acked"], "lost": len(report["lost"]),
               "corrupt": len(report["corrupt"]), "fsck_missing": len(report["fsck"]["missing"]),
               "orphans_reclaimed": report["gc"]["deleted"], "client_errors_seen": report["client_errors"]}
    for k, v in summary.items():
        print(f"{k:22} {v}")
    out = Path(__file__).resolve().parent / "results" / "soak.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "report": report}, indent=2))
    return 0 if summary["lost"] == summary["corrupt"] == summary["fsck_missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
