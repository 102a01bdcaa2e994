"""redis-py's ACL helpers against a server; prints what they return as JSON.

Usage: python3 acl_helpers.py PORT. The Swift test ACLRedisPyTests runs it against
redis-server and redis-uv and compares the output. Lists whose order Redis leaves to
its hash tables (single-command rules, ACL CAT members) are sorted first.
"""
import json
import sys

import redis


def norm(value):
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items() if k not in ("age-seconds", "client-info")}
    if isinstance(value, (list, tuple, set)):
        items = [norm(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str) and " " in value:
        return rules_key(value)
    return value


def rules_key(text):
    """ACL rules with each run of single-command rules (+get -set ...) sorted."""
    out, run = [], []
    for w in text.replace("(", "( ").replace(")", " )").split(" "):
        if w[:1] in "+-" and w[1:2] != "@" and w:
            run.append(w)
            continue
        out += sorted(run) + [w]
        run = []
    return " ".join(out + sorted(run))


def main():
    port = int(sys.argv[1])
    r = redis.Redis(port=port, decode_responses=True)
    out = []

    def step(name, fn):
        try:
            out.append([name, norm(fn())])
        except redis.RedisError as e:
            out.append([name, "error", type(e).__name__, str(e)])

    step("setuser", lambda: r.acl_setuser("py", enabled=True, passwords=["+pw1", "+pw2"],
                                          keys=["k:*"], channels=["ch:*"],
                                          commands=["+get", "+set", "+@hash", "-hdel"],
                                          selectors=[("+lpush", "~l:*")]))
    step("getuser", lambda: r.acl_getuser("py"))
    step("getuser-missing", lambda: r.acl_getuser("nobody"))
    step("setuser-reset", lambda: r.acl_setuser("py2", reset=True, enabled=True, nopass=True,
                                                categories=["+@read"], commands=["-get"],
                                                keys=["a"], reset_keys=True))
    step("getuser2", lambda: r.acl_getuser("py2"))
    step("users", lambda: r.acl_users())
    step("list", lambda: r.acl_list())
    step("whoami", lambda: r.acl_whoami())
    step("cat", lambda: r.acl_cat())
    step("cat-hash", lambda: r.acl_cat("hash"))
    step("dryrun-ok", lambda: r.acl_dryrun("py", "get", "k:1"))
    step("dryrun-no", lambda: r.acl_dryrun("py", "get", "other"))
    step("genpass-len", lambda: len(r.acl_genpass()))
    step("genpass-bits", lambda: len(r.acl_genpass(64)))
    step("log-reset", lambda: r.acl_log_reset())

    u = redis.Redis(port=port, decode_responses=True)
    step("auth-bad", lambda: u.auth("wrong", username="py"))
    step("auth", lambda: u.auth("pw1", username="py"))
    step("as-py-get", lambda: u.get("k:1"))
    step("as-py-denied-key", lambda: u.get("other"))
    step("as-py-denied-cmd", lambda: u.incr("k:1"))
    step("as-py-hset", lambda: u.hset("k:h", "f", "v"))
    step("as-py-selector", lambda: u.lpush("l:1", "x"))
    step("log", lambda: r.acl_log())
    step("log-1", lambda: r.acl_log(count=1))
    step("deluser", lambda: r.acl_deluser("py", "py2", "nobody"))
    step("log-reset2", lambda: r.acl_log_reset())
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
