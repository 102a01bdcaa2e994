/// Keyspace access from a command, as Redis's lookupKeyRead/lookupKeyWrite and the
/// *OrReply helpers: they reply with the error themselves and return nil, so a handler
/// just returns.
extension Client {
    @inline(__always) func lookupRead(_ key: UnsafeRawBufferPointer) -> KeyEntry? {
        if let e = db.lookupRead(key, now: server.cachedTimeMs, lruClock: server.lruClock) { return e }
        noteKeyMiss(key)
        return nil
    }

    /// A read that leaves the access time alone (Redis's LOOKUP_NOTOUCH: EXISTS, TYPE, TTL).
    @inline(__always) func lookupReadNoTouch(_ key: UnsafeRawBufferPointer) -> KeyEntry? {
        if let e = db.lookupReadNoTouch(key, now: server.cachedTimeMs) { return e }
        noteKeyMiss(key)
        return nil
    }

    /// The `keymiss` notification Redis's lookupKeyReadWithFlags fires for a missing key
    /// (class `m`). Costs one flag test, and only on misses.
    @inline(__always) func noteKeyMiss(_ key: UnsafeRawBufferPointer) {
        server.notifyKeyspaceEvent(KeyspaceEventFlags.keyMiss, "keymiss", key, db.id)
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

/// The result of looking up a key that must hold a given type.
enum TypedLookup<T> {
    case missing
    /// The key holds another type; WRONGTYPE was already replied.
    case wrongType
    case found(KeyEntry, T)
}

extension Client {
    /// The value object of `key` when it holds `type` (Redis's lookupKey*+checkType).
    /// Replies WRONGTYPE itself for another type; a missing key is left to the caller.
    @inline(__always)
    func lookupValue<T: KeyspaceValue>(_ key: UnsafeRawBufferPointer, _ type: ValueType, as: T.Type,
                                       write: Bool) -> TypedLookup<T> {
        guard let e = write ? lookupWrite(key) : lookupRead(key) else { return .missing }
        guard e.type == type, let object = e.object else {
            addReplyErrorWrongType()
            return .wrongType
        }
        return .found(e, unsafeDowncast(object, to: T.self))
    }

    /// `lookupValue` for a slot-stored type (list, hash, set, sorted set): a view of the entry's word
    /// (`type` is `T.valueType`, spelled out as for the object-held types).
    @inline(__always)
    func lookupValue<T: SlotStoredValue>(_ key: UnsafeRawBufferPointer, _ type: ValueType, as: T.Type,
                                         write: Bool) -> TypedLookup<T> {
        guard let e = write ? lookupWrite(key) : lookupRead(key) else { return .missing }
        guard e.type == T.valueType else {
            addReplyErrorWrongType()
            return .wrongType
        }
        return .found(e, T(entry: e))
    }

    /// Stores a slot-stored value under `key` (absent): its word moves into a new entry
    /// (leaving `value`'s detached entry empty); returns the view of the stored value.
    @discardableResult
    func addValue<T: SlotStoredValue>(_ key: UnsafeRawBufferPointer, _ value: T) -> T {
        addValue(key, word: value.entry.takeSlotWord(), as: T.self)
    }

    /// Stores a new slot-stored value given by its word (now owned by the new entry) under
    /// `key` (absent); returns the view of the stored value.
    @discardableResult
    func addValue<T: SlotStoredValue>(_ key: UnsafeRawBufferPointer, word: UInt, as: T.Type) -> T {
        let e = KeyEntry.make(key: key, word: word, type: T.valueType, lru: server.lruClock)
        db.add(e)
        return T(entry: e)
    }

    /// Stores a new collection under `key` (absent): one KeyEntry whose object is `value`.
    @discardableResult
    func addValue(_ key: UnsafeRawBufferPointer, _ value: KeyspaceValue, type: ValueType) -> KeyEntry {
        let e = KeyEntry.make(key: key, object: value, type: type, lru: server.lruClock)
        db.add(e)
        return e
    }
}
