#!/usr/bin/env bash
# Run redis-uv like redis-server:  ./your_program.sh [redis.conf] [--port N ...]
#
# Builds .build/release/redis-uv first when it is missing or older than any
# file in Sources/ or Package.swift (quiet: output only on failure), and
# installs libuv1-dev and Lua 5.1 first when missing (scripts/install-deps). Arguments keep
# the caller's working directory (a relative --dir means the caller's cwd).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/.build/release/redis-uv"

needs_build() {
  [ -x "$bin" ] || return 0
  [ -n "$(find "$here/Sources" "$here/Package.swift" -newer "$bin" -print -quit 2>/dev/null)" ]
}

if needs_build; then
  (
    cd "$here"
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    if ! pkg-config --exists libuv lua5.1 lua5.1-cjson lua5.1-bitop >/dev/null 2>&1; then
      if ! scripts/install-deps >"$log" 2>&1 </dev/null; then
        cat "$log" >&2
        exit 1
      fi
    fi
    if ! swift build -c release --product redis-uv >"$log" 2>&1 </dev/null; then
      cat "$log" >&2
      echo "your_program.sh: build failed" >&2
      exit 1
    fi
    # A no-op build may leave the binary's mtime alone: mark it fresh so the
    # next start does not rebuild again.
    touch "$bin"
  )
fi

exec "$bin" "$@"
