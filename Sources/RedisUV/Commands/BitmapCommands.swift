/// Bitmap commands on string values (Redis 7.0's bitops.c): SETBIT, GETBIT, BITCOUNT,
/// BITPOS, BITOP, BITFIELD, BITFIELD_RO. The bit helpers are in Support/BitOps.swift.
enum BitmapCommands {
    static let table: [CommandImpl] = [
        CommandImpl("setbit", setbit),
        CommandImpl("getbit", getbit),
        CommandImpl("bitcount", bitcount),
        CommandImpl("bitpos", bitpos),
        CommandImpl("bitop", bitop),
        CommandImpl("bitfield", bitfield),
        CommandImpl("bitfield_ro", bitfieldRO),
    ]

    static let bitOffsetError = "bit offset is not an integer or out of range"

    /// Redis's mustObeyClient: our master's stream and the AOF being loaded (the only
    /// client that runs commands while loading) are not bounded by proto-max-bulk-len.
    @inline(__always)
    static func mustObey(_ c: Client) -> Bool {
        c.flags.contains(.master) || c.server.loading
    }

    /// Redis's getBitOffsetFromArgument: a bit offset below proto-max-bulk-len bytes.
    /// With `bits` > 0 (BITFIELD) a `#N` offset means N * bits (multiplied as C does,
    /// wrapping).
    @inline(__always)
    static func bitOffsetOrReply(_ c: Client, _ arg: UnsafeRawBufferPointer, bits: Int = 0) -> Int? {
        let useHash = bits > 0 && arg.count > 0 && arg[0] == UInt8(ascii: "#")
        guard var offset = parseStrictInt(useHash ? UnsafeRawBufferPointer(rebasing: arg[1...]) : arg) else {
            c.addReplyError(bitOffsetError)
            return nil
        }
        if useHash { offset = offset &* bits }
        if offset < 0 || (!mustObey(c) && (offset >> 3) >= c.server.config.protoMaxBulkLen) {
            c.addReplyError(bitOffsetError)
            return nil
        }
        return offset
    }

    /// Redis's lookupStringForBitCommand: the string at `key` made long enough to hold
    /// bit `maxbit` (zero-padded; a missing key is created), as a raw string. `grew`
    /// tells whether it was created or lengthened. Nil after WRONGTYPE (or, past the 4GB
    /// a value can hold here, the string length error).
    static func stringForBitWrite(_ c: Client, _ key: UnsafeRawBufferPointer, maxbit: Int) -> (KeyEntry, grew: Bool)? {
        let existing = c.lookupWrite(key)
        if let e = existing, e.type != .string {
            c.addReplyErrorWrongType()
            return nil
        }
        let needed = (maxbit >> 3) + 1
        if needed > Int(UInt32.max) {
            c.addReplyError("string exceeds maximum allowed size (proto-max-bulk-len)")
            return nil
        }
        guard let e = existing else {
            let created = KeyEntry.make(key: key, value: StringCommands.emptyBytes, encoding: .raw,
                                        lru: c.server.lruClock, spare: needed)
            created.withMutableValue { p, _ in p.initializeMemory(as: UInt8.self, repeating: 0, count: needed) }
            created.setStringValueLength(needed)
            c.db.add(created)
            return (created, true)
        }
        let old = e.stringValue.count
        e.encoding = .raw  // dbUnshareStringValue
        if needed <= old { return (e, false) }
        // sdsgrowzero: greedy room, the new bytes zeroed.
        let target = StringCommands.entryWithRoom(c, e, for: needed)
        target.withMutableValue { p, _ in (p + old).initializeMemory(as: UInt8.self, repeating: 0, count: needed - old) }
        target.setStringValueLength(needed)
        target.encoding = .raw
        return (target, true)
    }

    // MARK: SETBIT, GETBIT

    static func setbit(_ c: Client, _ argv: Argv) {
        guard let offset = bitOffsetOrReply(c, argv[2]) else { return }
        guard let on = c.intArgOrReply(argv, 3, error: "bit is not an integer or out of range") else { return }
        if on & ~1 != 0 {
            c.addReplyError("bit is not an integer or out of range")
            return
        }
        let key = argv[1]
        guard let (e, grew) = stringForBitWrite(c, key, maxbit: offset) else { return }
        let byte = offset >> 3
        let mask = UInt8(1) << UInt8(7 - (offset & 7))
        let was = e.withMutableValue { p, _ -> Bool in
            let q = p + byte
            let v = q.load(as: UInt8.self)
            let was = v & mask != 0
            if grew || was != (on == 1) {
                q.storeBytes(of: on == 1 ? v | mask : v & ~mask, as: UInt8.self)
            }
            return was
        }
        // Only a change is a write (nothing signalled, counted or propagated otherwise).
        if grew || was != (on == 1) {
            c.server.signalModifiedKey(c.db, key)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "setbit", key, c.db.id)
            c.noteWrite()
        }
        c.addReplyRaw(was ? ":1\r\n" : ":0\r\n")
    }

    static func getbit(_ c: Client, _ argv: Argv) {
        guard let offset = bitOffsetOrReply(c, argv[2]) else { return }
        guard let e = c.lookupRead(argv[1]) else {
            c.addReplyRaw(":0\r\n")
            return
        }
        guard e.type == .string else { c.addReplyErrorWrongType(); return }
        let s = e.stringValue
        let byte = offset >> 3
        let set = byte < s.count && s[byte] & (UInt8(1) << UInt8(7 - (offset & 7))) != 0
        c.addReplyRaw(set ? ":1\r\n" : ":0\r\n")
    }

    // MARK: BITCOUNT, BITPOS

    /// An inclusive range of a string, in bytes or bits (BITCOUNT/BITPOS's start, end and
    /// BYTE|BIT): negative indexes count from the end and the range is clamped, as Redis
    /// does. In bit mode the masks mark the first and last bytes' bits outside the range.
    struct Range {
        var start: Int
        var end: Int
        var firstMask: UInt8 = 0
        var lastMask: UInt8 = 0

        init(start s: Int, end e: Int, length: Int, bitMode: Bool) {
            let total = bitMode ? length << 3 : length
            var start = s, end = e
            if start < 0 { start = total &+ start }
            if end < 0 { end = total &+ end }
            if start < 0 { start = 0 }
            if end < 0 { end = 0 }
            if end >= total { end = total - 1 }
            if bitMode && start <= end {
                firstMask = ~UInt8(truncatingIfNeeded: (1 << (8 - (start & 7))) - 1)
                lastMask = UInt8(truncatingIfNeeded: (1 << (7 - (end & 7))) - 1)
                start >>= 3
                end >>= 3
            }
            self.start = start
            self.end = end
        }
    }

    /// BYTE or BIT (any other word: syntax error, nil after replying).
    @inline(__always)
    static func bitModeOrReply(_ c: Client, _ argv: Argv, _ i: Int) -> Bool? {
        if StringCommands.optionIs(argv, i, "bit") { return true }
        if StringCommands.optionIs(argv, i, "byte") { return false }
        c.addReplyErrorSyntax()
        return nil
    }

    /// BITCOUNT key [start end [BYTE|BIT]]. Redis 7.0 looks the key up first: a missing
    /// key counts 0 whatever the arguments.
    static func bitcount(_ c: Client, _ argv: Argv) {
        guard let e = c.lookupRead(argv[1]) else {
            c.addReplyRaw(":0\r\n")
            return
        }
        guard e.type == .string else { c.addReplyErrorWrongType(); return }
        let s = e.stringValue
        var range: Range
        if argv.count == 4 || argv.count == 5 {
            guard let start = c.intArgOrReply(argv, 2), let end = c.intArgOrReply(argv, 3) else { return }
            if start < 0 && end < 0 && start > end {
                c.addReplyRaw(":0\r\n")
                return
            }
            var bitMode = false
            if argv.count == 5 {
                guard let m = bitModeOrReply(c, argv, 4) else { return }
                bitMode = m
            }
            range = Range(start: start, end: end, length: s.count, bitMode: bitMode)
        } else if argv.count == 2 {
            range = Range(start: 0, end: s.count - 1, length: s.count, bitMode: false)
        } else {
            c.addReplyErrorSyntax()
            return
        }
        if range.start > range.end {
            c.addReplyRaw(":0\r\n")
            return
        }
        let p = s.baseAddress!
        var count = BitOps.popcount(p + range.start, range.end - range.start + 1)
        // Bits of the edge bytes outside a BIT range are taken off again.
        count -= (p.load(fromByteOffset: range.start, as: UInt8.self) & range.firstMask).nonzeroBitCount
        count -= (p.load(fromByteOffset: range.end, as: UInt8.self) & range.lastMask).nonzeroBitCount
        c.addReplyInt(count)
    }

    /// BITPOS key bit [start [end [BYTE|BIT]]]. The bit is checked first, then (Redis
    /// 7.0) the key: a missing key is all zeros, then the range arguments.
    static func bitpos(_ c: Client, _ argv: Argv) {
        guard let bitArg = c.intArgOrReply(argv, 2) else { return }
        if bitArg != 0 && bitArg != 1 {
            c.addReplyError("The bit argument must be 1 or 0.")
            return
        }
        let bit = bitArg == 1
        guard let e = c.lookupRead(argv[1]) else {
            c.addReplyInt(bit ? -1 : 0)
            return
        }
        guard e.type == .string else { c.addReplyErrorWrongType(); return }
        let s = e.stringValue
        var endGiven = false
        var range: Range
        if argv.count >= 4 && argv.count <= 6 {
            guard let start = c.intArgOrReply(argv, 3) else { return }
            var bitMode = false
            if argv.count == 6 {
                guard let m = bitModeOrReply(c, argv, 5) else { return }
                bitMode = m
            }
            var end = s.count - 1
            if argv.count >= 5 {
                guard let v = c.intArgOrReply(argv, 4) else { return }
                end = v
                endGiven = true
            }
            range = Range(start: start, end: end, length: s.count, bitMode: bitMode)
        } else if argv.count == 3 {
            range = Range(start: 0, end: s.count - 1, length: s.count, bitMode: false)
        } else {
            c.addReplyErrorSyntax()
            return
        }
        if range.start > range.end {
            c.addReplyRaw(":-1\r\n")
            return
        }
        let (pos, bytes, start) = searchBit(s.baseAddress!, range, bit: bit)
        // With an explicit end the string is not zero-padded: no 0 in the range is -1.
        if endGiven && !bit && pos == bytes << 3 {
            c.addReplyRaw(":-1\r\n")
            return
        }
        c.addReplyInt(pos == -1 ? -1 : pos + (start << 3))
    }

    /// Redis's bitposCommand search over a non-empty range: the first byte (masked in BIT
    /// mode), the whole bytes, the last byte (masked). Returns the position relative to
    /// `start` and the bytes left, both as Redis has them when it stops.
    static func searchBit(_ p: UnsafeRawPointer, _ range: Range, bit: Bool) -> (pos: Int, bytes: Int, start: Int) {
        var start = range.start
        var bytes = range.end - range.start + 1
        @inline(__always) func masked(_ byte: UInt8, _ mask: UInt8) -> UInt8 { bit ? byte & ~mask : byte | mask }
        if range.firstMask != 0 {
            var t = masked(p.load(fromByteOffset: start, as: UInt8.self), range.firstMask)
            if range.lastMask != 0 && bytes == 1 { t = masked(t, range.lastMask) }
            let pos = withUnsafeBytes(of: t) { BitOps.bitpos($0.baseAddress!, 1, bit: bit) }
            if bytes == 1 || (pos != -1 && pos != 8) { return (pos, bytes, start) }
            start += 1
            bytes -= 1
        }
        let whole = bytes - (range.lastMask != 0 ? 1 : 0)
        if whole > 0 {
            let pos = BitOps.bitpos(p + start, whole, bit: bit)
            if bytes == whole || (pos != -1 && pos != whole << 3) { return (pos, bytes, start) }
            start += whole
            bytes -= whole
        }
        let t = masked(p.load(fromByteOffset: range.end, as: UInt8.self), range.lastMask)
        let pos = withUnsafeBytes(of: t) { BitOps.bitpos($0.baseAddress!, 1, bit: bit) }
        return (pos, bytes, start)
    }

    // MARK: BITOP

    /// BITOP AND|OR|XOR|NOT destkey key...: missing keys read as empty strings; the
    /// result (as long as the longest source) replaces destkey, or an empty one deletes it.
    static func bitop(_ c: Client, _ argv: Argv) {
        let op: BitOps.Operation
        if StringCommands.optionIs(argv, 1, "and") { op = .and }
        else if StringCommands.optionIs(argv, 1, "or") { op = .or }
        else if StringCommands.optionIs(argv, 1, "xor") { op = .xor }
        else if StringCommands.optionIs(argv, 1, "not") { op = .not }
        else {
            c.addReplyErrorSyntax()
            return
        }
        if op == .not && argv.count != 4 {
            c.addReplyError("BITOP NOT must be called with a single source key.")
            return
        }
        // The sources stay valid below: nothing is written until the result is complete
        // in a new entry.
        var sources: [UnsafeRawBufferPointer] = []
        sources.reserveCapacity(argv.count - 3)
        var entries: [KeyEntry] = []  // kept alive while their bytes are read
        var maxlen = 0
        for j in 3..<argv.count {
            guard let e = c.lookupRead(argv[j]) else {
                sources.append(StringCommands.emptyBytes)
                continue
            }
            guard e.type == .string else { c.addReplyErrorWrongType(); return }
            entries.append(e)
            sources.append(e.stringValue)
            maxlen = Swift.max(maxlen, e.stringValue.count)
        }
        let target = argv[2]
        if maxlen > 0 {
            let result = KeyEntry.make(key: target, value: StringCommands.emptyBytes, encoding: .raw,
                                       lru: c.server.lruClock, spare: maxlen)
            result.withMutableValue { p, _ in BitOps.bitop(op, sources, into: p, count: maxlen) }
            result.setStringValueLength(maxlen)
            withExtendedLifetime(entries) {}
            // setKey: the TTL goes, the result is a raw string.
            if let old = c.lookupWrite(target) {
                c.db.replace(old, with: result, keepTTL: false)
            } else {
                c.db.add(result)
            }
            c.server.signalModifiedKey(c.db, target)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "set", target, c.db.id)
            c.noteWrite()
        } else if c.db.delete(target) {
            c.server.signalModifiedKey(c.db, target)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", target, c.db.id)
            c.noteWrite()
        }
        c.addReplyInt(maxlen)
    }

    // MARK: BITFIELD

    enum FieldOpcode { case get, set, incrby }

    struct FieldOp {
        var offset: Int
        var value: Int64
        var opcode: FieldOpcode
        var overflow: BitOps.Overflow
        var bits: Int
        var signed: Bool
    }

    /// Redis's getBitfieldTypeFromArgument: i1..i64 or u1..u63 (lower-case sign; the
    /// width read up to the first NUL, as C's strlen).
    static func fieldTypeOrReply(_ c: Client, _ arg: UnsafeRawBufferPointer) -> (signed: Bool, bits: Int)? {
        let signed: Bool
        if arg.count > 0 && arg[0] == UInt8(ascii: "i") {
            signed = true
        } else if arg.count > 0 && arg[0] == UInt8(ascii: "u") {
            signed = false
        } else {
            c.addReplyError("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
            return nil
        }
        var end = 1
        while end < arg.count && arg[end] != 0 { end += 1 }
        guard let bits = parseStrictInt(UnsafeRawBufferPointer(rebasing: arg[1..<end])),
              bits >= 1, bits <= (signed ? 64 : 63) else {
            c.addReplyError("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
            return nil
        }
        return (signed, bits)
    }

    static func bitfield(_ c: Client, _ argv: Argv) { bitfieldGeneric(c, argv, readOnlyCommand: false) }
    static func bitfieldRO(_ c: Client, _ argv: Argv) { bitfieldGeneric(c, argv, readOnlyCommand: true) }

    /// Redis's bitfieldGeneric: every subcommand is parsed (first error wins) before the
    /// key is touched; then the operations run in order, one reply each.
    static func bitfieldGeneric(_ c: Client, _ argv: Argv, readOnlyCommand: Bool) {
        var ops: [FieldOp] = []
        var overflow = BitOps.Overflow.wrap
        var readonly = true
        var highestWrite = 0
        var j = 2
        while j < argv.count {
            let remaining = argv.count - j - 1
            let opcode: FieldOpcode
            if StringCommands.optionIs(argv, j, "get") && remaining >= 2 {
                opcode = .get
            } else if StringCommands.optionIs(argv, j, "set") && remaining >= 3 {
                opcode = .set
            } else if StringCommands.optionIs(argv, j, "incrby") && remaining >= 3 {
                opcode = .incrby
            } else if StringCommands.optionIs(argv, j, "overflow") && remaining >= 1 {
                if StringCommands.optionIs(argv, j + 1, "wrap") { overflow = .wrap }
                else if StringCommands.optionIs(argv, j + 1, "sat") { overflow = .sat }
                else if StringCommands.optionIs(argv, j + 1, "fail") { overflow = .fail }
                else {
                    c.addReplyError("Invalid OVERFLOW type specified")
                    return
                }
                j += 2
                continue
            } else {
                c.addReplyErrorSyntax()
                return
            }
            guard let (signed, bits) = fieldTypeOrReply(c, argv[j + 1]),
                  let offset = bitOffsetOrReply(c, argv[j + 2], bits: bits) else { return }
            var value: Int64 = 0
            if opcode != .get {
                readonly = false
                highestWrite = Swift.max(highestWrite, offset &+ bits &- 1)
                guard let v = c.intArgOrReply(argv, j + 3) else { return }
                value = Int64(v)
            }
            ops.append(FieldOp(offset: offset, value: value, opcode: opcode, overflow: overflow, bits: bits, signed: signed))
            j += opcode == .get ? 3 : 4
        }

        let key = argv[1]
        var entry: KeyEntry?
        var grew = false
        if readonly {
            entry = c.lookupRead(key)
            if let e = entry, e.type != .string {
                c.addReplyErrorWrongType()
                return
            }
        } else {
            if readOnlyCommand {
                c.addReplyError("BITFIELD_RO only supports the GET subcommand")
                return
            }
            guard let (e, g) = stringForBitWrite(c, key, maxbit: highestWrite) else { return }
            entry = e
            grew = g
        }

        c.addReplyArrayLen(ops.count)
        var changes = 0
        for op in ops {
            if op.opcode == .get {
                c.addReplyInt(fieldGet(entry?.stringValue, op))
                continue
            }
            // SET and INCRBY: the string is long enough for every write (see above).
            let e = entry!
            let stored: Bool = e.withMutableValue { p, _ in
                if op.signed {
                    let old = BitOps.getSigned(p, op.offset, op.bits)
                    var new: Int64, reply: Int64
                    let (over, limit): (Int, Int64)
                    if op.opcode == .incrby {
                        (over, limit) = BitOps.checkSignedOverflow(old, op.value, op.bits, op.overflow)
                        new = over != 0 ? limit : old &+ op.value
                        reply = new
                    } else {
                        new = op.value
                        (over, limit) = BitOps.checkSignedOverflow(new, 0, op.bits, op.overflow)
                        if over != 0 { new = limit }
                        reply = old
                    }
                    if over != 0 && op.overflow == .fail { return false }
                    c.addReplyInt(Int(reply))
                    BitOps.setUnsigned(p, op.offset, op.bits, UInt64(bitPattern: new))
                    if grew || old != new { changes += 1 }
                } else {
                    let old = BitOps.getUnsigned(p, op.offset, op.bits)
                    var new: UInt64, reply: UInt64
                    let (over, limit): (Int, UInt64)
                    if op.opcode == .incrby {
                        new = old &+ UInt64(bitPattern: op.value)
                        (over, limit) = BitOps.checkUnsignedOverflow(old, op.value, op.bits, op.overflow)
                        if over != 0 { new = limit }
                        reply = new
                    } else {
                        new = UInt64(bitPattern: op.value)
                        (over, limit) = BitOps.checkUnsignedOverflow(new, 0, op.bits, op.overflow)
                        if over != 0 { new = limit }
                        reply = old
                    }
                    if over != 0 && op.overflow == .fail { return false }
                    // (A u63 fits an Int: Redis's addReplyLongLong of the uint64_t.)
                    c.addReplyInt(Int(Int64(bitPattern: reply)))
                    BitOps.setUnsigned(p, op.offset, op.bits, new)
                    if grew || old != new { changes += 1 }
                }
                return true
            }
            if !stored { c.addReplyNull() }
        }
        if changes > 0 {
            c.server.signalModifiedKey(c.db, key)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "setbit", key, c.db.id)
            c.noteWrite(changes)
        }
    }

    /// BITFIELD GET: up to 9 bytes from the field's first byte, zero-padded past the end
    /// of the string (or of a missing key).
    static func fieldGet(_ s: UnsafeRawBufferPointer?, _ op: FieldOp) -> Int {
        var buf: (UInt64, UInt64) = (0, 0)
        let byte = op.offset >> 3
        return withUnsafeMutableBytes(of: &buf) { b in
            if let s, byte < s.count {
                let n = Swift.min(9, s.count - byte)
                b.baseAddress!.copyMemory(from: s.baseAddress! + byte, byteCount: n)
            }
            let rel = op.offset - byte * 8
            if op.signed { return Int(BitOps.getSigned(b.baseAddress!, rel, op.bits)) }
            return Int(Int64(bitPattern: BitOps.getUnsigned(b.baseAddress!, rel, op.bits)))
        }
    }
}
