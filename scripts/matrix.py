#!/usr/bin/env python3
"""Turns what the end-to-end suites recorded into the interop table of README.md.

    scripts/matrix.py INTEROP_DIR [README]

INTEROP_DIR has one directory per bridge (named as testbed.sh names it), written by
scripts/test.sh:

    <bridge>/<adapter>.tsv   feature <TAB> pass|skip|fault <TAB> detail   (testbed/kit/src/matrix.rs)
    <bridge>/bridge.env      SAM_BRIDGE_VERSION=, SAM_VERSION_MAX=, WALL_S=, TESTS_PASSED=, ...

A feature that some adapter recorded somewhere but that an adapter run on a bridge did not
record there is shown as FAIL: a test records only when it passed or when the bridge said no.
Prints the table (Markdown) and, given README, replaces the text between the
`<!-- interop-matrix:begin -->` and `<!-- interop-matrix:end -->` lines with it.
Exit status 1 when any cell is FAIL.
"""

import os
import sys
import time

BRIDGE_ORDER = ["i2pd-2.45", "i2pd-2.59", "emissary"]
# Rows are grouped by the command they exercise, in this order (then as first recorded).
ROW_GROUPS = [
    "HELLO", "PING", "DEST GENERATE", "SESSION CREATE", "saved keys", "QUIT", "session close",
    "PRIMARY", "SESSION REMOVE", "NAMING LOOKUP", "STREAM CONNECT", "stream:", "STREAM:",
    "STREAM ACCEPT", "STREAM FORWARD", "DATAGRAM", "RAW", "i2plib",
]
# Longer details go to a footnote instead of the cell.
MAX_CELL_DETAIL = 40


def row_group(feature):
    for rank, prefix in enumerate(ROW_GROUPS):
        if feature.startswith(prefix):
            return rank
    return len(ROW_GROUPS)
BEGIN = "<!-- interop-matrix:begin -->"
END = "<!-- interop-matrix:end -->"


def read_env(path):
    env = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep:
                    env[key] = value.strip('"')
    return env


def read_bridge(directory):
    """{adapter: {feature: (status, detail)}} in first-recorded order, plus the feature order."""
    adapters, order = {}, []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".tsv"):
            continue
        records = {}
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 3:
                    continue
                feature, status, detail = parts
                records[feature] = (status, detail)
                if feature not in order:
                    order.append(feature)
        adapters[name[: -len(".tsv")]] = records
    return adapters, order


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    root = sys.argv[1]
    present = [b for b in os.listdir(root) if os.path.isdir(os.path.join(root, b))]
    bridges = [b for b in BRIDGE_ORDER if b in present] + sorted(
        b for b in present if b not in BRIDGE_ORDER
    )
    data, envs, features = {}, {}, []
    for bridge in bridges:
        data[bridge], order = read_bridge(os.path.join(root, bridge))
        envs[bridge] = read_env(os.path.join(root, bridge, "bridge.env"))
        features += [f for f in order if f not in features]
    # Which adapters are expected to record a feature: all that recorded it on some bridge.
    expected = {f: set() for f in features}
    for bridge in bridges:
        for adapter, records in data[bridge].items():
            for feature in records:
                expected[feature].add(adapter)

    notes, failed = [], False
    header = ["feature"]
    for bridge in bridges:
        env = envs[bridge]
        label = f"{bridge} ({env.get('SAM_BRIDGE_VERSION', '?')}, SAM {env.get('SAM_VERSION_MAX', '?')})"
        header.append(label)
    rows = []
    for feature in sorted(features, key=lambda f: (row_group(f), features.index(f))):
        row = [feature]
        for bridge in bridges:
            ran = [a for a in data[bridge] if a in expected[feature]]
            got = {a: data[bridge][a].get(feature) for a in ran}
            missing = sorted(a for a, r in got.items() if r is None)
            passes = [r for r in got.values() if r and r[0] == "pass"]
            skips = [r for r in got.values() if r and r[0] == "skip"]
            faults = [r for r in got.values() if r and r[0] == "fault"]
            if not ran:
                cell = "not run"
            elif missing:
                failed = True
                cell = "**FAIL** (" + ", ".join(missing) + ")"
            elif faults:
                notes.append(f"{bridge}: {faults[0][1]}")
                cell = f"**bridge fault** {len(faults)}/{len(ran)} [{len(notes)}]"
                if passes:
                    cell = f"pass {len(passes)}/{len(ran)}, " + cell
            elif skips and not passes:
                notes.append(f"{bridge}: {skips[0][1]}")
                cell = f"not offered [{len(notes)}]"
            elif skips:
                notes.append(f"{bridge}: {skips[0][1]}")
                cell = f"pass {len(passes)}/{len(ran)}, not offered {len(skips)}/{len(ran)} [{len(notes)}]"
            else:
                detail = passes[0][1]
                if len(detail) > MAX_CELL_DETAIL:
                    notes.append(f"{bridge}: {detail}")
                    cell = f"pass [{len(notes)}]"
                else:
                    cell = "pass" + (f" ({detail})" if detail else "")
            row.append(cell.replace("|", "\\|"))
        rows.append(row)

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    out.append("")
    for i, note in enumerate(notes, 1):
        out.append(f"[{i}] {note.replace('|', '/')}  ")
    out.append("")
    runs = []
    for bridge in bridges:
        env = envs[bridge]
        adapters = ", ".join(sorted(data[bridge])) or "none"
        faults = sum(
            1 for records in data[bridge].values() for r in records.values() if r[0] == "fault"
        )
        retried_file = os.path.join(root, bridge, "retried")
        retried = ""
        if os.path.exists(retried_file):
            with open(retried_file, encoding="utf-8") as f:
                names = ", ".join(line.strip() for line in f if line.strip())
            retried = f"; run again after a failure: {names}"
        runs.append(
            f"{bridge}: {env.get('TESTS_PASSED', '?')} tests passed, {env.get('TESTS_FAILED', '?')} failed"
            f" in {env.get('WALL_S', '?')} s ({adapters}), {faults} bridge fault(s) recorded{retried}"
        )
    out.append(
        f"Generated by `./scripts/test.sh` on {time.strftime('%Y-%m-%d')} from what each scenario "
        "recorded (`testbed/kit/src/matrix.rs`); \"not offered\" quotes the bridge's own answer. "
        + "; ".join(runs)
        + "."
    )
    table = "\n".join(out)
    print(table)

    if len(sys.argv) == 3:
        readme = sys.argv[2]
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            with open(readme, "w", encoding="utf-8") as f:
                f.write(head + BEGIN + "\n" + table + "\n" + END + tail)
        else:
            print(f"matrix.py: {readme} has no {BEGIN} / {END} lines; not updated", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
