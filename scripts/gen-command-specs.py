#!/usr/bin/env python3
"""Generate Sources/RedisUV/Engine/CommandSpecs.generated.swift from Redis's
per-command JSON files (src/commands/*.json of Redis 7.0.15, BSD licensed; the
license is kept in scripts/redis-7.0-commands.COPYING).

Usage (from anywhere):
    python3 scripts/gen-command-specs.py [PATH_TO_JSON_FOLDER]

PATH_TO_JSON_FOLDER defaults to ../shared/redis-7.0-commands relative to the
repository root. Only the Python standard library is used.

What the output holds: one Swift raw string literal with the facts as JSON, one
top-level command per line (so diffs stay readable), minified within a line.
Each command keeps Redis's own JSON field names, minus the C-only ones
("function", "get_keys_function"), plus "name" (lowercase) and "subcommands"
(the container's subcommands, nested, sorted by name). The derived facts that
Redis computes at startup (implicit ACL categories, movablekeys, the legacy
first/last/step range) are computed by CommandSpec.swift, the same way Redis
does, so that the data here stays a verbatim copy of the source facts.

The few transformations that Redis's own build applies when it turns the JSON
into src/commands.c (utils/generate-command-code.py) are applied here too, so
the output holds what Redis 7.0.15 actually has compiled in:
  - argument names are lowercased ("ID" -> "id"),
  - argument tokens are uppercased ("m" -> "M") and read as the C string
    literal they end up in (MIGRATE's token '""' becomes the empty string),
  - the group "sorted_set" is printed by Redis as "sorted-set".

Commands flagged ONLY_SENTINEL at the top level (the SENTINEL container and its
subcommands) are left out: a Redis server not in sentinel mode does not
register them (populateCommandTable in server.c), and COMMAND COUNT does not
count them.
"""

import glob
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(REPO_ROOT, "Sources", "RedisUV", "Engine", "CommandSpecs.generated.swift")
COPYING_OUT = os.path.join(REPO_ROOT, "scripts", "redis-7.0-commands.COPYING")

# Fields of a command kept in the output, in this order. Anything not listed
# here and not in DROPPED_COMMAND_FIELDS is an error, so a schema change is seen.
COMMAND_FIELDS = [
    "summary", "complexity", "group", "since", "arity", "container",
    "history", "deprecated_since", "replaced_by", "doc_flags",
    "command_flags", "acl_categories", "command_tips", "key_specs", "arguments",
]
DROPPED_COMMAND_FIELDS = {"function", "get_keys_function"}
ARGUMENT_FIELDS = {
    "name", "type", "display", "display_text", "key_spec_index", "token", "summary",
    "since", "deprecated_since", "optional", "multiple", "multiple_token", "value",
    "arguments",
}
KEY_SPEC_FIELDS = {"notes", "flags", "begin_search", "find_keys"}


def fail(msg):
    sys.stderr.write("gen-command-specs: %s\n" % msg)
    sys.exit(1)


# The group names COMMAND DOCS prints (the COMMAND_GROUP_* table of server.c).
GROUP_NAMES = {"sorted_set": "sorted-set"}


def c_literal_value(text):
    """The value of the C string literal '"' + text + '"' that
    generate-command-code.py writes: adjacent literals concatenate, so a text
    of '""' yields the empty string. Only quotes are handled; backslashes are
    rejected by check_strings."""
    return text.replace('"', "")


def check_strings(where, value):
    """Quotes or backslashes anywhere but in a token would need the C literal
    treatment too (see c_literal_value): refuse them instead of guessing."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "token":
                check_strings(where + "." + k, v)
    elif isinstance(value, list):
        for v in value:
            check_strings(where, v)
    elif isinstance(value, str) and ('"' in value or "\\" in value):
        fail("%s: string with a quote or backslash: %r" % (where, value))


def check_argument(where, arg):
    unknown = set(arg) - ARGUMENT_FIELDS
    if unknown:
        fail("%s: unknown argument fields %s" % (where, sorted(unknown)))
    if "\\" in arg.get("token", ""):
        fail("%s: token with a backslash" % where)
    for sub in arg.get("arguments", []):
        check_argument(where + "/" + arg["name"], sub)


def compiled_argument(arg):
    """The argument as generate-command-code.py compiles it."""
    out = {}
    for key, value in arg.items():
        if key == "name":
            value = value.lower()
        elif key == "token":
            value = c_literal_value(value.upper())
        elif key == "arguments":
            value = [compiled_argument(sub) for sub in value]
        out[key] = value
    return out


def load(folder):
    commands = {}  # (container or None, name) -> dict
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if len(data) != 1:
            fail("%s: expected exactly one command" % path)
        (name, body), = data.items()
        unknown = set(body) - set(COMMAND_FIELDS) - DROPPED_COMMAND_FIELDS
        if unknown:
            fail("%s: unknown command fields %s" % (path, sorted(unknown)))
        for spec in body.get("key_specs", []):
            if set(spec) - KEY_SPEC_FIELDS:
                fail("%s: unknown key spec fields %s" % (path, sorted(set(spec) - KEY_SPEC_FIELDS)))
        for arg in body.get("arguments", []):
            check_argument(path, arg)
        check_strings(path, body)
        out = {"name": name.lower()}
        for field in COMMAND_FIELDS:
            if field in body and field != "container":
                out[field] = body[field]
        if "group" in out:
            out["group"] = GROUP_NAMES.get(out["group"], out["group"])
        if "arguments" in out:
            out["arguments"] = [compiled_argument(arg) for arg in out["arguments"]]
        container = body.get("container")
        key = (container.lower() if container else None, name.lower())
        if key in commands:
            fail("%s: duplicate command %s" % (path, key))
        commands[key] = out
    if not commands:
        fail("no *.json files in %s" % folder)

    top = {name: cmd for (container, name), cmd in commands.items() if container is None}
    for (container, name), cmd in sorted(commands.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        if container is None:
            continue
        parent = top.get(container)
        if parent is None:
            fail("subcommand %s|%s has no container command" % (container, name))
        parent.setdefault("subcommands", []).append(cmd)

    result = []
    for name in sorted(top):
        cmd = top[name]
        if "ONLY_SENTINEL" in cmd.get("command_flags", []):
            continue
        result.append(cmd)
    return result


def raw_string_hashes(text):
    """Smallest number of '#' for a Swift raw multi-line string whose content is text."""
    n = 1
    while ('"' + "#" * n) in text or ("\\" + "#" * n) in text:
        n += 1
    return n


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO_ROOT, "..", "shared", "redis-7.0-commands")
    folder = os.path.abspath(folder)
    commands = load(folder)
    lines = [json.dumps(cmd, separators=(",", ":"), ensure_ascii=False) for cmd in commands]
    body = "[\n" + ",\n".join(lines) + "\n]"
    # Round trip: what Swift will parse is exactly what we meant.
    if json.loads(body) != commands:
        fail("JSON round trip failed")
    hashes = "#" * raw_string_hashes(body)
    total = sum(1 + len(c.get("subcommands", [])) for c in commands)

    swift = []
    swift.append("// GENERATED FILE - DO NOT EDIT.")
    swift.append("//")
    swift.append("// The command table facts (arity, flags, ACL categories, key specs, arguments,")
    swift.append("// history, docs) come from Redis 7.0.15's own per-command JSON files")
    swift.append("// (src/commands/*.json), Copyright (c) 2006-2020, Salvatore Sanfilippo,")
    swift.append("// BSD 3-clause license: see scripts/redis-7.0-commands.COPYING.")
    swift.append("//")
    swift.append("// Regenerate with:  python3 scripts/gen-command-specs.py [path/to/redis-7.0-commands]")
    swift.append("// (default path: ../shared/redis-7.0-commands relative to the repository root).")
    swift.append("// Parsed once at startup by CommandSpecs in CommandSpec.swift.")
    swift.append("// %d top-level commands, %d commands counting subcommands." % (len(commands), total))
    swift.append("")
    swift.append("let generatedCommandSpecsJSON = %s\"\"\"" % hashes)
    swift.append(body)
    swift.append("\"\"\"%s" % hashes)
    swift.append("")
    text = "\n".join(swift)

    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)
    copying = os.path.join(folder, "COPYING")
    if os.path.exists(copying):
        with open(copying, encoding="utf-8") as f:
            lic = f.read()
        with open(COPYING_OUT, "w", encoding="utf-8") as f:
            f.write(lic)
    print("wrote %s: %d top-level commands, %d with subcommands, %d bytes"
          % (os.path.relpath(OUTPUT, REPO_ROOT), len(commands), total, len(text)))


if __name__ == "__main__":
    main()
