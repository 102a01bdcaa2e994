#if canImport(Glibc)
import Glibc
#endif

/// What SORT needs from the collections it sorts (lists, sets, sorted sets).
protocol SortableCollection {
    /// The elements in the type's own order: list order, set iteration order, sorted
    /// set ascending by score.
    func sortElements() -> [[UInt8]]
}

/// SORT and SORT_RO (Redis's sortCommandGeneric in sort.c).
enum SortCommand {
    static let table: [CommandImpl] = [
        CommandImpl("sort", sort),
        CommandImpl("sort_ro", sortRO),
    ]

    private struct Item {
        let element: [UInt8]
        var score: Double = 0
        var compareBytes: [UInt8]? = nil
    }

    static func sort(_ c: Client, _ argv: Argv) { sortGeneric(c, argv, readonly: false) }
    static func sortRO(_ c: Client, _ argv: Argv) { sortGeneric(c, argv, readonly: true) }

    static func sortGeneric(_ c: Client, _ argv: Argv, readonly: Bool) {
        var desc = false, alpha = false
        var limitStart = 0, limitCount = -1
        var sortBy: [UInt8]? = nil
        var dontSort = false
        var getPatterns: [[UInt8]] = []
        var storeKey: [UInt8]? = nil
        var j = 2
        while j < argv.count {
            let left = argv.count - j - 1
            if argv.equals(j, "asc") {
                desc = false
            } else if argv.equals(j, "desc") {
                desc = true
            } else if argv.equals(j, "alpha") {
                alpha = true
            } else if argv.equals(j, "limit") && left >= 2 {
                guard let s = c.intArgOrReply(argv, j + 1), let n = c.intArgOrReply(argv, j + 2) else { return }
                limitStart = s
                limitCount = n
                j += 2
            } else if argv.equals(j, "store") && left >= 1 && !readonly {
                storeKey = argv.bytes(j + 1)
                j += 1
            } else if argv.equals(j, "by") && left >= 1 {
                let pattern = argv.bytes(j + 1)
                sortBy = pattern
                // BY without '*' sorts by a constant: no sorting at all.
                if !cString(pattern).contains(UInt8(ascii: "*")) { dontSort = true }
                j += 1
            } else if argv.equals(j, "get") && left >= 1 {
                getPatterns.append(argv.bytes(j + 1))
                j += 1
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }

        let key = argv[1]
        let entry = storeKey == nil ? c.lookupRead(key) : c.lookupWrite(key)
        var elements: [[UInt8]] = []
        var type = ValueType.list
        if let entry {
            let collection: SortableCollection? = entry.type == .zset ? SortedSetValue(entry: entry)
                : entry.type == .set ? SetValue(entry: entry)
                : entry.type == .list ? ListValue(entry: entry) : nil
            guard let value = collection else {
                c.addReplyErrorWrongType()
                return
            }
            type = entry.type
            elements = value.sortElements()
        }
        // A set's order is not defined: when the result is stored, sort it anyway so it
        // is the same everywhere (Redis: also under scripting).
        if dontSort && type == .set && storeKey != nil {
            dontSort = false
            alpha = true
            sortBy = nil
        }
        // Without sorting, lists and sorted sets still honour DESC: their own order,
        // reversed (Redis walks them from the tail).
        if dontSort && (type == .zset || type == .list) && desc { elements.reverse() }

        let count = elements.count
        var start = limitStart < 0 ? 0 : limitStart
        var end = limitCount < 0 ? count - 1 : start + limitCount - 1
        if start >= count {
            start = count - 1
            end = count - 2
        }
        if end >= count { end = count - 1 }

        var items = elements.map { Item(element: $0) }
        if !dontSort {
            var conversionError = false
            for i in items.indices {
                var source: [UInt8]? = items[i].element
                if let sortBy {
                    source = lookupKeyByPattern(c, pattern: sortBy, substitute: items[i].element)
                    if source == nil { continue }
                }
                if alpha {
                    if sortBy != nil { items[i].compareBytes = source }
                } else if let s = source {
                    if let d = parseSortScore(s) { items[i].score = d } else { conversionError = true }
                }
            }
            if conversionError {
                c.addReplyError("One or more scores can't be converted into double")
                return
            }
            let byPattern = sortBy != nil
            let storing = storeKey != nil
            items.sort { a, b in
                var cmp: Int
                if !alpha {
                    cmp = a.score < b.score ? -1 : (a.score > b.score ? 1 : 0)
                    if cmp == 0 { cmp = compareBytes(a.element, b.element) }
                } else if byPattern {
                    switch (a.compareBytes, b.compareBytes) {
                    case (nil, nil): cmp = 0
                    case (nil, _): cmp = -1
                    case (_, nil): cmp = 1
                    case let (x?, y?): cmp = storing ? compareBytes(x, y) : collate(x, y)
                    }
                } else {
                    cmp = storing ? compareBytes(a.element, b.element) : collate(a.element, b.element)
                }
                return desc ? cmp > 0 : cmp < 0
            }
        }

        let selected = start <= end && start >= 0 ? Array(items[start...end]) : []
        var output: [[UInt8]?] = []
        for item in selected {
            if getPatterns.isEmpty {
                output.append(item.element)
            } else {
                for p in getPatterns {
                    output.append(lookupKeyByPattern(c, pattern: p, substitute: item.element))
                }
            }
        }

        if let storeKey {
            storeKey.withUnsafeBytes { dest in
                if output.isEmpty {
                    if c.db.delete(dest) {
                        c.server.signalModifiedKey(c.db, dest)
                        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", dest, c.db.id)
                        c.noteWrite()
                    }
                } else {
                    // GET patterns that found nothing store empty strings, as Redis.
                    let list = ListValue(fill: c.server.config.listMaxListpackSize)
                    for o in output { (o ?? []).withUnsafeBytes { list.push($0, atHead: false) } }
                    // The built list's word moves under the key (its detached entry is
                    // left empty), replacing the old value even if it was the input.
                    if let old = c.db.lookup(dest, now: c.server.cachedTimeMs) {
                        let e = KeyEntry.make(key: dest, word: list.entry.takeSlotWord(), type: .list, lru: c.server.lruClock)
                        c.db.replace(old, with: e, keepTTL: false)
                    } else {
                        c.addValue(dest, list)
                    }
                    c.server.signalKeyAsReady(c.db, dest)
                    c.server.signalModifiedKey(c.db, dest)  // setKey's
                    c.server.notifyKeyspaceEvent(KeyspaceEventFlags.list, "sortstore", dest, c.db.id)
                    c.noteWrite(output.count)
                }
            }
            c.addReplyInt(output.count)
        } else {
            c.addReplyArrayLen(output.count)
            for o in output {
                if let o { c.addReplyBulk(o) } else { c.addReplyNull() }
            }
        }
    }

    /// Redis's lookupKeyByPattern: "#" is the element itself; the first '*' is replaced by
    /// the element; "->field" after it reads a hash field; only strings/hashes answer.
    /// The pattern is read as a C string (up to a NUL byte), as Redis does.
    static func lookupKeyByPattern(_ c: Client, pattern fullPattern: [UInt8], substitute: [UInt8]) -> [UInt8]? {
        let pattern = cString(fullPattern)
        if pattern == [UInt8(ascii: "#")] { return substitute }
        guard let star = pattern.firstIndex(of: UInt8(ascii: "*")) else { return nil }
        var fieldStart: Int? = nil
        var i = star + 1
        while i + 1 < pattern.count {
            if pattern[i] == UInt8(ascii: "-") && pattern[i + 1] == UInt8(ascii: ">") {
                if i + 2 < pattern.count { fieldStart = i + 2 }
                break
            }
            i += 1
        }
        let postfixEnd = fieldStart.map { $0 - 2 } ?? pattern.count
        let keyName = Array(pattern[..<star]) + cString(substitute) + Array(pattern[(star + 1)..<postfixEnd])
        return keyName.withUnsafeBytes { k -> [UInt8]? in
            guard let e = c.lookupRead(k) else { return nil }
            if let fieldStart {
                guard e.type == .hash else { return nil }
                let h = HashValue(entry: e)
                return Array(pattern[fieldStart...]).withUnsafeBytes { h.get($0).map { Array($0) } }
            }
            guard e.type == .string else { return nil }
            return Array(e.stringValue)
        }
    }

    /// strtod over the whole value; NaN, overflow or trailing bytes are errors.
    static func parseSortScore(_ b: [UInt8]) -> Double? {
        if b.isEmpty { return 0 }  // strtod("") = 0 with eptr at the end
        var s = b
        s.append(0)
        return s.withUnsafeBufferPointer { p -> Double? in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let base = UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: CChar.self)
            let d = strtod(base, &end)
            guard let end, end.pointee == 0, errno != ERANGE, !d.isNaN else { return nil }
            return d
        }
    }

    static func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let n = min(a.count, b.count)
        let r = a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in n == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, n) } }
        if r != 0 { return r < 0 ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// strcoll of the two values as C strings (Redis's collateStringObjects).
    static func collate(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let x = cString(a) + [0], y = cString(b) + [0]
        let r = x.withUnsafeBufferPointer { pa in
            y.withUnsafeBufferPointer { pb in
                strcoll(UnsafeRawPointer(pa.baseAddress!).assumingMemoryBound(to: CChar.self),
                        UnsafeRawPointer(pb.baseAddress!).assumingMemoryBound(to: CChar.self))
            }
        }
        return r < 0 ? -1 : (r > 0 ? 1 : 0)
    }

    /// The bytes before the first NUL (how C string functions see an argument).
    static func cString(_ b: [UInt8]) -> [UInt8] {
        if let z = b.firstIndex(of: 0) { return Array(b[..<z]) }
        return b
    }
}

extension SetValue: SortableCollection {
    func sortElements() -> [[UInt8]] { members.map { $0.array } }
}

extension SortedSetValue: SortableCollection {
    func sortElements() -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(count)
        forEach { member, _ in out.append(Array(member)) }
        return out
    }
}

extension ListValue: SortableCollection {
    func sortElements() -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(count)
        forEach(from: 0, count: count, reverse: false) { e in
            if let b = e.bytes {
                out.append(Array(UnsafeRawBufferPointer(start: b, count: e.length)))
            } else {
                out.append(Array(String(e.integer).utf8))
            }
        }
        return out
    }
}
