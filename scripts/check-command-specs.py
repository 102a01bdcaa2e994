#!/usr/bin/env python3
"""Check the command table facts of Sources/RedisUV/Engine/CommandSpec*.swift
against a real redis-server (7.0.15): COMMAND COUNT, COMMAND INFO and COMMAND
DOCS for every command and subcommand the real server lists.

Usage:  python3 scripts/check-command-specs.py [--port 7777]

Needs `redis-server` (7.0.15) and `swift` on PATH. It starts its own
redis-server on the port (no persistence) and stops it afterwards, and builds
a throwaway Swift executable (in .build-specs-check/, ignored by git) from the
two CommandSpec files plus a main.swift that dumps the model as JSON.
Exit status 0 when everything matches. Python standard library only.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE = os.path.join(REPO_ROOT, "Sources", "RedisUV", "Engine")
WORK = os.path.join(REPO_ROOT, ".build-specs-check")

PACKAGE_SWIFT = """// swift-tools-version:6.0
import PackageDescription
let package = Package(name: "specdump",
  targets: [.executableTarget(name: "specdump")],
  swiftLanguageModes: [.v6])
"""

MAIN_SWIFT = r"""
import Foundation

func keySpecJSON(_ k: KeySpec) -> [String: Any] {
    var out: [String: Any] = ["flags": k.flags]
    if let notes = k.notes { out["notes"] = notes }
    switch k.beginSearch {
    case .index(let pos): out["begin_search"] = ["type": "index", "spec": ["index": pos]]
    case .keyword(let keyword, let startFrom):
        out["begin_search"] = ["type": "keyword", "spec": ["keyword": keyword, "startfrom": startFrom]]
    case .unknown: out["begin_search"] = ["type": "unknown", "spec": [String: Any]()]
    }
    switch k.findKeys {
    case .range(let last, let step, let limit):
        out["find_keys"] = ["type": "range", "spec": ["lastkey": last, "keystep": step, "limit": limit]]
    case .keynum(let idx, let first, let step):
        out["find_keys"] = ["type": "keynum", "spec": ["keynumidx": idx, "firstkey": first, "keystep": step]]
    case .unknown: out["find_keys"] = ["type": "unknown", "spec": [String: Any]()]
    }
    return out
}

func argJSON(_ a: CommandArgumentSpec) -> [String: Any] {
    var out: [String: Any] = ["name": a.name, "type": a.type]
    if let v = a.displayText { out["display_text"] = v }
    if let v = a.keySpecIndex { out["key_spec_index"] = v }
    if let v = a.token { out["token"] = v }
    if let v = a.summary { out["summary"] = v }
    if let v = a.since { out["since"] = v }
    if let v = a.deprecatedSince { out["deprecated_since"] = v }
    if !a.flags.redisNames.isEmpty { out["flags"] = a.flags.redisNames }
    if let v = a.value { out["value"] = v }
    if !a.arguments.isEmpty { out["arguments"] = a.arguments.map(argJSON) }
    return out
}

func commandJSON(_ c: CommandSpec) -> [String: Any] {
    var docs: [String: Any] = ["summary": c.summary, "since": c.since, "group": c.group]
    if !c.complexity.isEmpty { docs["complexity"] = c.complexity }
    if !c.docFlags.isEmpty { docs["doc_flags"] = c.docFlags }
    if let v = c.deprecatedSince { docs["deprecated_since"] = v }
    if let v = c.replacedBy { docs["replaced_by"] = v }
    if !c.history.isEmpty { docs["history"] = c.history.map { [$0.since, $0.change] } }
    if !c.arguments.isEmpty { docs["arguments"] = c.arguments.map(argJSON) }
    return [
        "name": c.fullName, "arity": c.arity, "flags": c.flags.redisNames,
        "first": c.firstKey, "last": c.lastKey, "step": c.keyStep,
        "acl": c.aclCategories, "tips": c.tips, "key_specs": c.keySpecs.map(keySpecJSON),
        "subcommands": c.subcommands.map(\.fullName), "docs": docs,
        "container": c.containerName ?? NSNull(), "short_name": c.name,
        "lookup_ok": CommandSpecs.named(c.fullName) === c,
    ]
}

let out: [String: Any] = [
    "count": CommandSpecs.all.count,
    "commands": CommandSpecs.allIncludingSubcommands.map(commandJSON),
]
let data = try! JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
FileHandle.standardOutput.write(data)
"""


# ---------------------------------------------------------------- RESP client

def resp_command(sock, f, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    return resp_read(f)


def resp_read(f):
    line = f.readline()[:-2]
    t, rest = line[:1], line[1:]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        raise RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2].decode()
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [resp_read(f) for _ in range(n)]
    raise RuntimeError("unexpected reply %r" % line)


def pairs(flat):
    """RESP2 flat [k1, v1, k2, v2] -> dict (keeps order)."""
    return dict(zip(flat[::2], flat[1::2]))


# ------------------------------------------------------------- live snapshot

def live_snapshot(port):
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--bind", "127.0.0.1", "--daemonize", "no", "--logfile", ""],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not start on port %d" % port)
        f = sock.makefile("rb")
        version = pairs_from_info(resp_command(sock, f, "INFO", "server")).get("redis_version")
        count = resp_command(sock, f, "COMMAND", "COUNT")
        info = resp_command(sock, f, "COMMAND")
        docs = pairs(resp_command(sock, f, "COMMAND", "DOCS"))
        sock.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return version, count, info, docs


def pairs_from_info(text):
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def live_info_entry(e):
    key_specs = []
    for ks in e[8]:
        d = pairs(ks)
        spec = {"flags": d["flags"]}
        if "notes" in d:
            spec["notes"] = d["notes"]
        for part in ("begin_search", "find_keys"):
            p = pairs(d[part])
            spec[part] = {"type": p["type"], "spec": pairs(p["spec"])}
        key_specs.append(spec)
    return {"name": e[0], "arity": e[1], "flags": e[2], "first": e[3], "last": e[4],
            "step": e[5], "acl": e[6], "tips": e[7], "key_specs": key_specs,
            "subcommands": sorted(s[0] for s in e[9])}


def live_arg(flat, key_orders):
    d = pairs(flat)
    key_orders.add(tuple(d.keys()))
    if "arguments" in d:
        d["arguments"] = [live_arg(a, key_orders) for a in d["arguments"]]
    return d


def live_docs_entry(flat, key_orders):
    d = pairs(flat)
    key_orders.add(("command",) + tuple(d.keys()))
    subs = d.pop("subcommands", None)
    if "arguments" in d:
        d["arguments"] = [live_arg(a, key_orders) for a in d["arguments"]]
    return d, (pairs(subs) if subs else {})


# --------------------------------------------------------------------- main

def model_snapshot():
    src = os.path.join(WORK, "Sources", "specdump")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(WORK, "Package.swift"), "w") as f:
        f.write(PACKAGE_SWIFT)
    with open(os.path.join(src, "main.swift"), "w") as f:
        f.write(MAIN_SWIFT)
    for name in ("CommandSpec.swift", "CommandSpecs.generated.swift"):
        shutil.copyfile(os.path.join(ENGINE, name), os.path.join(src, name))
    subprocess.run(["swift", "build", "--package-path", WORK, "--scratch-path", os.path.join(WORK, ".build"),
                    "-c", "debug"], check=True, stdout=subprocess.DEVNULL)
    binary = subprocess.run(["swift", "build", "--package-path", WORK, "--scratch-path",
                             os.path.join(WORK, ".build"), "--show-bin-path"],
                            check=True, capture_output=True, text=True).stdout.strip()
    t0 = time.time()
    out = subprocess.run([os.path.join(binary, "specdump")], check=True, capture_output=True).stdout
    elapsed = time.time() - t0
    return json.loads(out), elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=7790)
    args = ap.parse_args()

    version, live_count, live_info, live_docs_flat = live_snapshot(args.port)
    model, elapsed = model_snapshot()
    print("redis-server %s: COMMAND COUNT %d; model: %d top-level commands (dump ran in %.2fs)"
          % (version, live_count, model["count"], elapsed))

    problems = []
    if live_count != model["count"]:
        problems.append("COMMAND COUNT: live %d, model %d" % (live_count, model["count"]))

    live = {}
    for e in live_info:
        live[e[0]] = live_info_entry(e)
        for s in e[9]:
            live[s[0]] = live_info_entry(s)
    key_orders = set()
    live_docs = {}
    for name, flat in live_docs_flat.items():
        d, subs = live_docs_entry(flat, key_orders)
        live_docs[name] = d
        for sub_name, sub_flat in subs.items():
            live_docs[sub_name], _ = live_docs_entry(sub_flat, key_orders)

    mine = {c["name"]: c for c in model["commands"]}
    for name in sorted(set(live) - set(mine)):
        problems.append("%s: listed by Redis, missing in the model" % name)
    for name in sorted(set(mine) - set(live)):
        problems.append("%s: in the model, not listed by Redis" % name)

    fields = ["arity", "flags", "first", "last", "step", "acl", "tips", "key_specs", "subcommands"]
    checked = 0
    for name in sorted(set(live) & set(mine)):
        a, b = live[name], mine[name]
        checked += 1
        for field in fields:
            if a[field] != b[field]:
                problems.append("%s %s: live %s, model %s" % (name, field, json.dumps(a[field]), json.dumps(b[field])))
        if not b["lookup_ok"]:
            problems.append("%s: CommandSpecs.named does not find it" % name)
        if name not in live_docs:
            problems.append("%s: no COMMAND DOCS entry" % name)
        else:
            ld, md = live_docs[name], b["docs"]
            for key in sorted(set(ld) | set(md)):
                if ld.get(key) != md.get(key):
                    problems.append("%s docs %s: live %s, model %s"
                                    % (name, key, json.dumps(ld.get(key))[:300], json.dumps(md.get(key))[:300]))

    print("compared %d commands (INFO fields: %s; DOCS: every field)" % (checked, ", ".join(fields)))
    print("COMMAND DOCS key orders seen (for the reply writer):")
    for order in sorted(key_orders):
        print("   ", " ".join(order))
    if problems:
        print("%d MISMATCHES:" % len(problems))
        for p in problems:
            print("  " + p)
        return 1
    print("all match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
