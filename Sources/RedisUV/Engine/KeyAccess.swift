/// Keyspace access from a command, as Redis's lookupKeyRead/lookupKeyWrite and the
/// *OrReply helpers: they reply with the error themselves and return nil, so a handler
/// just returns.
extension Client {
    @inline(__always) func lookupRead(_ key: UnsafeRawBufferPointer) -> KeyEntry? {
        db.lookupRead(key, now: server.cachedTimeMs, lruClock: server.lruClock)
    }

    @inline(__always) func lookupWrite(_ key: UnsafeRawBufferPointer) -> KeyEntry? {
        db.lookupWrite(key, now: server.cachedTimeMs, lruClock: server.lruClock)
    }

    /// The string entry at `key`, nil when missing (after replying `missingReply`), or nil
    /// after a WRONGTYPE error.
    @inline(__always) func lookupStringReadOrReply(_ key: UnsafeRawBufferPointer, nullOnMissing: Bool = true) -> KeyEntry? {
        guard let e = lookupRead(key) else {
            if nullOnMissing { addReplyNull() }
            return nil
        }
        if e.type != .string {
            addReplyErrorWrongType()
            return nil
        }
        return e
    }

    /// Argument `i` as a 64-bit integer, or nil after replying Redis's error.
    @inline(__always) func intArgOrReply(_ argv: Argv, _ i: Int, error: String = "value is not an integer or out of range") -> Int? {
        if let v = parseStrictInt(argv[i]) { return v }
        addReplyError(error)
        return nil
    }

    /// Marks a write: counts a change for save points (Redis's server.dirty++).
    @inline(__always) func noteWrite(_ changes: Int = 1) {
        server.dirty &+= changes
    }
}

/// What OBJECT ENCODING would say for a freshly stored string (Redis's tryObjectEncoding):
/// integers that round-trip are "int", short strings "embstr", the rest "raw".
@inline(__always)
func stringEncoding(for value: UnsafeRawBufferPointer) -> StringEncoding {
    if value.count <= 20 && parseStrictInt(value) != nil { return .int }
    return value.count <= 44 ? .embstr : .raw
}
