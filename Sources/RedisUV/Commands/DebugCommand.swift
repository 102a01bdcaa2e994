#if canImport(Glibc)
import Glibc
#endif

/// DEBUG SLEEP / SET-ACTIVE-EXPIRE / OBJECT / HELP (Redis's debug.c). DEBUG is a
/// PROTECTED command: it runs only when enable-debug-command allows it (checked by the
/// dispatcher through `rejectProtected`, before authentication, as Redis does).
enum DebugCommand {
    static let table: [CommandImpl] = [
        CommandImpl("debug", debug),
    ]

    static func debug(_ c: Client, _ argv: Argv) {
        if argv.count == 2 && argv.equals(1, "help") {
            help(c)
        } else if argv.equals(1, "populate") && argv.count >= 3 && argv.count <= 5 {
            populate(c, argv)
        } else if argv.equals(1, "reload") {
            // DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the keyspace, load the file back.
            var save = true, flush = true, merge = false
            for i in 2..<max(2, argv.count) {
                if argv.equals(i, "nosave") { save = false }
                else if argv.equals(i, "noflush") { flush = false }
                else if argv.equals(i, "merge") { merge = true }
                else {
                    c.addReplyError("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
                    return
                }
            }
            if let err = c.server.debugReload(save: save, flush: flush, merge: merge) { c.addReplyError(err) } else { c.addReplyOK() }
        } else if argv.equals(1, "loadaof") {
            c.server.debugLoadAOF()
            c.addReplyOK()
        } else if argv.equals(1, "sleep") && argv.count == 3 {
            sleep(c, argv)
        } else if argv.equals(1, "set-active-expire") && argv.count == 3 {
            // atoi: anything not starting with a non-zero number disables it.
            c.server.config.activeExpireEnabled = KeyExtraction.atoi(argv.bytes(2)) != 0
            c.addReplyOK()
        } else if argv.equals(1, "object") && argv.count == 3 {
            object(c, argv)
        } else {
            let sub = String(decoding: argv[1].prefix(128), as: UTF8.self)
            c.addReplyError("unknown subcommand or wrong number of arguments for '\(sub)'. Try DEBUG HELP.")
        }
    }

    /// DEBUG SLEEP seconds: blocks the whole server (strtod: decimals allowed, garbage is 0,
    /// negative returns at once).
    static func sleep(_ c: Client, _ argv: Argv) {
        let seconds = argv.string(2).withCString { strtod($0, nil) }
        let us = Int64(seconds * 1_000_000)
        if us > 0 {
            var ts = timespec(tv_sec: Int(us / 1_000_000), tv_nsec: Int(us % 1_000_000) * 1000)
            nanosleep(&ts, nil)
        }
        c.server.updateCachedTime()
        c.addReplyOK()
    }

    /// DEBUG OBJECT key: Redis's status line about the value. Looks at the table directly
    /// (no expiry, no LRU update), as Redis does.
    static func object(_ c: Client, _ argv: Argv) {
        guard let e = c.db.table.find(argv[2]) else {
            c.addReplyError("no such key")
            return
        }
        let address = "0x" + String(UInt(bitPattern: Unmanaged.passUnretained(e).toOpaque()), radix: 16)
        let compression = c.server.config.rdbcompression
        let serialized = e.type == .string ? serializedStringLength(e.stringValue, encoding: e.encoding, compression: compression)
            : serializedObjectLength(e, compression: compression)
        let idle = idleSeconds(lru: e.lru, clock: c.server.lruClock)
        c.addReplyStatus("Value at:\(address) refcount:\(refcount(e, c.server.config)) encoding:\(e.encodingName) "
                         + "serializedlength:\(serialized) lru:\(e.lru) lru_seconds_idle:\(idle)")
    }

    /// Redis shares the objects of the integers 0...9999 (refcount INT_MAX) unless
    /// maxmemory with an LRU/LFU policy needs per-key access times.
    static func refcount(_ e: KeyEntry, _ config: ServerConfig) -> Int {
        let needsOwnLRU = config.maxmemory != 0 && (config.maxmemoryPolicy.contains("lru") || config.maxmemoryPolicy.contains("lfu"))
        if e.type == .string && e.encoding == .int && !needsOwnLRU,
           let v = parseStrictInt(e.stringValue), v >= 0 && v < 10000 {
            return Int(Int32.max)
        }
        return 1
    }

    /// Redis's estimateObjectIdleTime in seconds, over the 24-bit LRU clock.
    static func idleSeconds(lru: UInt32, clock: UInt32) -> Int {
        clock >= lru ? Int(clock - lru) : Int(clock) + Int(KeyEntry.lruMask - lru)
    }

    // MARK: POPULATE

    /// DEBUG POPULATE count [prefix] [size]: keys "prefix:N" holding "value:N" (cut or
    /// zero-padded to `size`), existing keys left alone; not counted as changes (as Redis).
    static func populate(_ c: Client, _ argv: Argv) {
        guard let keys = parseStrictInt(argv[2]), keys >= 0 else {
            c.addReplyError("value is out of range, must be positive")
            return
        }
        var size = 0
        if argv.count == 5 {
            guard let v = parseStrictInt(argv[4]), v >= 0 else {
                c.addReplyError("value is out of range, must be positive")
                return
            }
            size = v
        }
        let prefix = argv.count >= 4 ? Array(argv[3]) : Array("key".utf8)
        let lru = c.server.lruClock
        var key = [UInt8]()
        for j in 0..<keys {
            key.removeAll(keepingCapacity: true)
            key += prefix
            key.append(UInt8(ascii: ":"))
            key += Array(String(j).utf8)
            let exists = key.withUnsafeBytes { c.lookupWrite($0) != nil }
            if exists { continue }
            var value = Array("value:\(j)".utf8)
            if size > 0 {
                if value.count > size { value.removeLast(value.count - size) }
                else { value += [UInt8](repeating: 0, count: size - value.count) }
            }
            key.withUnsafeBytes { k in
                value.withUnsafeBytes { v in
                    c.db.add(KeyEntry.make(key: k, value: v, encoding: stringEncoding(for: v), lru: lru))
                    c.server.signalModifiedKey(c.db, k)
                }
            }
        }
        c.addReplyOK()
    }

    // MARK: serialized length (Redis's rdbSavedObjectLen for strings)

    /// The bytes Redis's RDB writer uses for a string value: integers that fit 32 bits
    /// as 2, 3 or 5 bytes; strings over 20 bytes LZF-compressed when that saves at least
    /// 4 bytes (rdbcompression yes); otherwise a length prefix and the bytes.
    static func serializedStringLength(_ value: UnsafeRawBufferPointer, encoding: StringEncoding, compression: Bool) -> Int {
        if let n = integerEncodedLength(value, allowLong: encoding == .int) { return n }
        if compression && value.count > 20 && value.count > 4 {
            let compressed = LZF.compressedLength(value, limit: value.count - 4)
            if compressed > 0 {
                return 1 + rdbLenBytes(compressed) + rdbLenBytes(value.count) + compressed
            }
        }
        return rdbLenBytes(value.count) + value.count
    }

    /// rdbSavedObjectLen for a collection: the bytes RDBObjects.save writes for the value
    /// (without its type byte), counted in memory as Redis counts a rio-less save.
    static func serializedObjectLength(_ e: KeyEntry, compression: Bool) -> Int {
        let w = RDBWriter(compress: compression)
        guard (try? RDBObjects.save(e, to: w, version: RDB.version)) != nil else { return 0 }
        return w.totalBytes - 1
    }

    /// rdbTryIntegerEncoding / rdbSaveLongLongAsStringObject: the value as an 8, 16 or 32
    /// bit integer (1 type byte + the integer). An int-encoded value too large for 32 bits
    /// is written as its decimal text.
    static func integerEncodedLength(_ value: UnsafeRawBufferPointer, allowLong: Bool) -> Int? {
        guard allowLong || value.count <= 11, let v = parseStrictInt(value) else { return nil }
        if v >= -(1 << 7) && v <= (1 << 7) - 1 { return 2 }
        if v >= -(1 << 15) && v <= (1 << 15) - 1 { return 3 }
        if v >= -(1 << 31) && v <= (1 << 31) - 1 { return 5 }
        return allowLong ? rdbLenBytes(value.count) + value.count : nil
    }

    /// rdbSaveLen: 1, 2, 5 or 9 bytes.
    static func rdbLenBytes(_ n: Int) -> Int {
        if n < (1 << 6) { return 1 }
        if n < (1 << 14) { return 2 }
        if n <= Int(UInt32.max) { return 5 }
        return 9
    }

    // MARK: HELP

    static func help(_ c: Client) {
        c.addReplyHelp(command: "debug", lines: [
            "OBJECT <key>",
            "    Show low level info about `key` and associated value.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
        ])
    }

    /// The dispatcher's gate for PROTECTED commands (DEBUG, MODULE): true when the
    /// command was refused (and the error sent), Redis's processCommand check.
    static func rejectProtected(_ c: Client, _ cmd: RedisCommand) -> Bool {
        let isDebug = cmd.spec.name == "debug"
        let setting = isDebug ? c.server.config.enableDebugCommand : c.server.config.enableModuleCommand
        if ConfigCommand.allowProtectedAction(setting, c) { return false }
        let name = isDebug ? "DEBUG" : "MODULE"
        let option = isDebug ? "enable-debug-command" : "enable-module-command"
        c.addReplyError("\(name) command not allowed. If the \(option) option is set to \"local\", you can run it "
                        + "from a local connection, otherwise you need to set this option in the configuration file, "
                        + "and then restart the server.")
        return true
    }
}

// LZF lives in Persistence/LZF.swift (shared with the RDB writer).
