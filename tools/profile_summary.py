#!/usr/bin/env python3
"""Where did the time go? Summarises a Chrome trace written by LibTorch's profiler (e.g.
`policy_sampling_bench --profile DIR`) as self time per operator: an operator's duration minus the
durations of the operators nested inside it on the same thread. Standard library only.

  python3 tools/profile_summary.py out/profile/ode_b64.json [--top 20]
"""
import argparse
import collections
import json


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trace")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    with open(args.trace) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    spans = [e for e in events if e.get("ph") == "X" and "dur" in e]
    self_us = collections.Counter()
    calls = collections.Counter()
    by_thread = collections.defaultdict(list)
    for e in spans:
        by_thread[e.get("tid")].append(e)
    for thread_spans in by_thread.values():
        thread_spans.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # [end, event]
        for e in thread_spans:
            while stack and stack[-1][0] <= e["ts"]:
                stack.pop()
            self_us[e["name"]] += e["dur"]
            calls[e["name"]] += 1
            if stack:
                self_us[stack[-1][1]["name"]] -= e["dur"]
            stack.append([e["ts"] + e["dur"], e])
    total = sum(self_us.values())
    print(f"{'operator':40s} {'self ms':>9s} {'share':>6s} {'calls':>7s}")
    for name, us in self_us.most_common(args.top):
        print(f"{name[:40]:40s} {us / 1e3:9.1f} {100 * us / max(total, 1):5.1f}% {calls[name]:7d}")
    print(f"{'total':40s} {total / 1e3:9.1f}")


if __name__ == "__main__":
    main()
