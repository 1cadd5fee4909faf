#!/usr/bin/env python3
"""Print a table of a sweep's results.

    wnctl --json job list --project sweep --all | examples/results.py

One row per job: its parameters, priority, status, the worker that ran it,
attempts, run time and the last "result ..." line of its output (or, for a
failed job, the reason), best loss first when the results carry one.
"""
import json
import re
import sys


def result_of(job):
    lines = [l for l in (job.get("output_tail") or "").splitlines() if l.startswith("result ")]
    return lines[-1][len("result "):] if lines else ""


def main():
    data = json.load(sys.stdin)
    jobs = data["jobs"] if isinstance(data, dict) else data
    rows = []
    for j in jobs:
        params = " ".join(f"{k}={v}" for k, v in sorted((j.get("params") or {}).items()))
        res = result_of(j) if j.get("status") == "completed" else (j.get("reason") or "")
        m = re.search(r"loss=([0-9.]+)", res)
        rows.append((float(m.group(1)) if m else float("inf"), j["id"], [
            str(j["id"]), params, str(j.get("priority", 0)), j.get("status", ""),
            j.get("worker", ""), str(j.get("attempt", 0)),
            f"{j.get('duration_ms', 0) / 1000:.2f}s", res]))
    rows.sort(key=lambda r: (r[0], r[1]))
    head = ["ID", "PARAMS", "PRIO", "STATUS", "WORKER", "ATTEMPTS", "TIME", "RESULT"]
    table = [head] + [r[2] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    done = sum(1 for r in rows if r[2][3] == "completed")
    print(f"\n{done} of {len(rows)} jobs completed")


if __name__ == "__main__":
    main()
