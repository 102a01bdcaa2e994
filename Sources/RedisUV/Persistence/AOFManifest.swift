/// Redis 7.0's multi-part AOF manifest (aof.c's aofManifest): which files, in which
/// order, make up the append-only data. One line per file,
/// `file <name> seq <n> type <b|h|i>`: the base (an RDB or AOF snapshot), the incr
/// files appended to since, and history files (the previous generation, deleted once a
/// rewrite made them useless). Parsing and formatting are pure; AOF.swift does the I/O.
struct AOFManifest: Equatable {
    enum FileType: Character, Equatable {
        case base = "b", history = "h", incr = "i"
    }

    struct FileInfo: Equatable {
        var name: String
        var seq: Int
        var type: FileType
    }

    var base: FileInfo?
    var incrs: [FileInfo] = []
    var history: [FileInfo] = []
    /// The highest sequence numbers handed out (Redis's curr_base_file_seq / curr_incr_file_seq).
    var currentBaseSeq = 0
    var currentIncrSeq = 0

    struct ParseError: Error, Equatable { let message: String }

    /// Redis's aofLoadManifestFromFile: every line must end with a newline; comments
    /// (`#`) and empty lines are skipped; keys may come in any order.
    static func parse(_ text: String) throws -> AOFManifest {
        var m = AOFManifest()
        var maxIncrSeq = 0
        if text.isEmpty { throw ParseError(message: "Found an empty AOF manifest") }
        guard text.hasSuffix("\n") else { throw ParseError(message: "The AOF manifest file is invalid format") }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.hasPrefix("#") { continue }
            var storage: [UInt8] = []
            var ranges: [(Int, Int)] = []
            let ok = Array(line.utf8).withUnsafeBytes { splitArgs($0, into: &storage, ranges: &ranges) }
            guard ok else { throw ParseError(message: "Invalid AOF manifest file format") }
            if ranges.isEmpty { continue }
            let words = ranges.map { Array(storage[$0.0..<($0.0 + $0.1)]) }
            guard words.count % 2 == 0 else { throw ParseError(message: "Invalid AOF manifest file format") }
            var name: String?, seq: Int?, type: FileType?
            for i in stride(from: 0, to: words.count, by: 2) {
                let key = String(decoding: words[i], as: UTF8.self)
                let value = String(decoding: words[i + 1], as: UTF8.self)
                switch key {
                case "file": name = value
                case "seq": seq = Int(value)
                case "type": type = value.count == 1 ? FileType(rawValue: value.first!) : nil
                default: break  // unknown keys are for future versions
                }
            }
            guard let name, let seq, let type else { throw ParseError(message: "Invalid AOF manifest file format") }
            let info = FileInfo(name: name, seq: seq, type: type)
            switch type {
            case .base:
                if m.base != nil { throw ParseError(message: "Found duplicate base file information") }
                m.base = info
                m.currentBaseSeq = seq
            case .history:
                m.history.append(info)
            case .incr:
                if seq <= maxIncrSeq { throw ParseError(message: "Found a non-monotonic sequence number") }
                m.incrs.append(info)
                m.currentIncrSeq = seq
                maxIncrSeq = seq
            }
        }
        return m
    }

    /// Redis's getAofManifestAsString: the base first, then history, then incr files.
    func format() -> String {
        var out = ""
        func line(_ f: FileInfo) {
            out += "file \(Self.quoted(f.name)) seq \(f.seq) type \(f.type.rawValue)\n"
        }
        if let base { line(base) }
        history.forEach(line)
        incrs.forEach(line)
        return out
    }

    /// A name as Redis writes it (sdscatrepr when it holds a space or anything unusual).
    static func quoted(_ name: String) -> String {
        let plain = name.utf8.allSatisfy { $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "'") && $0 != UInt8(ascii: "\\") }
        return plain && !name.isEmpty ? name : quoteForConfig(name)
    }

    /// Redis's getNewBaseFileNameAndMarkPreAsHistory: a new base (RDB with the preamble,
    /// else AOF); the old one becomes history.
    mutating func newBase(prefix: String, rdbPreamble: Bool) -> String {
        if let old = base {
            history.append(FileInfo(name: old.name, seq: old.seq, type: .history))
        }
        currentBaseSeq += 1
        let name = "\(prefix).\(currentBaseSeq).base.\(rdbPreamble ? "rdb" : "aof")"
        base = FileInfo(name: name, seq: currentBaseSeq, type: .base)
        return name
    }

    /// Redis's getNewIncrAofName: a new incr file, appended to from now on.
    mutating func newIncr(prefix: String) -> String {
        currentIncrSeq += 1
        let name = "\(prefix).\(currentIncrSeq).incr.aof"
        incrs.append(FileInfo(name: name, seq: currentIncrSeq, type: .incr))
        return name
    }

    /// Redis's markRewrittenIncrAofAsHistory: after a rewrite, every incr file but the last
    /// (the one opened when the rewrite started) is covered by the new base.
    mutating func markRewrittenIncrsAsHistory() {
        guard incrs.count > 1 else { return }
        for f in incrs.dropLast() { history.append(FileInfo(name: f.name, seq: f.seq, type: .history)) }
        incrs = [incrs[incrs.count - 1]]
    }

    /// The file to append to (the last incr), nil when there is none yet.
    var lastIncr: String? { incrs.last?.name }
}
