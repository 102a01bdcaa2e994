import Foundation

/// Compares two replies under masks; nil when they match, else why not.
enum ReplyComparator {
    static func compare(_ expected: RespValue, _ actual: RespValue, masks: [ReplyMask]) -> String? {
        if masks.contains(.any) {
            return expected.type == actual.type ? nil
                : "reply types differ: \(expected.typeName) vs \(actual.typeName) (@mask any)"
        }
        if masks.contains(.helloMap) {
            return compareHello(expected, actual, masks: masks)
        }
        return compare(expected, actual, masks: masks, top: true, path: "reply")
    }

    private static func compare(_ e: RespValue, _ a: RespValue, masks: [ReplyMask],
                                top: Bool, path: String) -> String? {
        if e.raw == a.raw { return nil }
        if let ea = e.attribute, let aa = a.attribute {
            if ea.count != aa.count { return "\(path): attributes differ" }
            for (i, (x, y)) in zip(ea, aa).enumerated() {
                if let why = compare(x, y, masks: masks, top: false, path: "\(path) attribute[\(i)]") { return why }
            }
        } else if (e.attribute == nil) != (a.attribute == nil) {
            return "\(path): only one reply has an attribute"
        }
        if e.type != a.type || e.isNull != a.isNull {
            return "\(path): \(e.typeName) vs \(a.typeName)"
        }
        // Integer leaves.
        if e.type == UInt8(ascii: ":") {
            if masks.contains(.int) { return nil }
            if masks.contains(.ttlApprox), let x = e.integer, let y = a.integer, abs(x - y) <= 1 { return nil }
            return "\(path): integers differ"
        }
        // Bulk-like leaves.
        if e.isBulkLike, let ep = e.payload, let ap = a.payload {
            if masks.contains(.bulk) { return nil }
            if masks.contains(.aclRules) && aclRulesKey(ep) == aclRulesKey(ap) { return nil }
            let regexes = masks.compactMap { m -> NSRegularExpression? in
                if case .lines(let r) = m { return try? NSRegularExpression(pattern: r) }
                return nil
            }
            if !regexes.isEmpty {
                let el = keptLines(ep, regexes), al = keptLines(ap, regexes)
                if el == al { return nil }
                let firstDiff = (0..<min(el.count, al.count)).first { el[$0] != al[$0] } ?? min(el.count, al.count)
                let show = { (l: [[UInt8]]) in firstDiff < l.count ? "\"\(RespEscape.escape(l[firstDiff]))\"" : "(none)" }
                return "\(path): after dropping masked lines, line \(firstDiff + 1) differs: \(show(el)) vs \(show(al))"
            }
            return "\(path): strings differ"
        }
        if e.isAggregate {
            if e.children.count != a.children.count {
                return "\(path): \(e.typeName) of \(e.children.count) vs \(a.children.count) elements"
            }
            if top && masks.contains(.sorted) {
                return compareMultiset(e, a, masks: masks, path: path)
            }
            let fields = Set(masks.compactMap { m -> String? in if case .field(let n) = m { return n }; return nil })
            var skipNext = false
            for (i, (x, y)) in zip(e.children, a.children).enumerated() {
                if skipNext { skipNext = false; continue }
                if let why = compare(x, y, masks: masks, top: false, path: "\(path)[\(i)]") { return why }
                if !fields.isEmpty, x.isBulkLike, let t = x.text, fields.contains(t) { skipNext = true }
            }
            return nil
        }
        return "\(path): replies differ"
    }

    /// Elements (or key/value pairs of a map) as a multiset.
    private static func compareMultiset(_ e: RespValue, _ a: RespValue, masks: [ReplyMask], path: String) -> String? {
        let stride = e.type == UInt8(ascii: "%") ? 2 : 1
        func groups(_ v: RespValue) -> [[RespValue]] {
            Swift.stride(from: 0, to: v.children.count, by: stride).map { Array(v.children[$0..<($0 + stride)]) }
        }
        var remaining = groups(a)
        for g in groups(e) {
            let hit = remaining.firstIndex { cand in
                zip(g, cand).allSatisfy { compare($0, $1, masks: masks, top: false, path: path) == nil }
            }
            guard let hit else {
                return "\(path): element \"\(RespEscape.escape(g.flatMap(\.raw)))\" missing (@mask sorted)"
            }
            remaining.remove(at: hit)
        }
        return nil
    }

    /// HELLO's map: same keys in the same order, values equal except `id`
    /// (client ids depend on how many connections each server saw) and `version`.
    private static func compareHello(_ e: RespValue, _ a: RespValue, masks: [ReplyMask]) -> String? {
        guard e.isAggregate, a.isAggregate, e.type == a.type, e.children.count == a.children.count else {
            return compare(e, a, masks: masks.filter { $0 != .helloMap }, top: true, path: "HELLO reply")
        }
        var i = 0
        while i + 1 < e.children.count {
            let key = e.children[i]
            if key.raw != a.children[i].raw { return "HELLO reply: key \(i / 2) differs" }
            if key.text != "id" && key.text != "version",
               let why = compare(e.children[i + 1], a.children[i + 1], masks: [], top: false,
                                 path: "HELLO reply[\(key.text ?? "?")]") {
                return why
            }
            i += 2
        }
        return nil
    }

    /// ACL rule text with each run of single-command rules sorted.
    static func aclRulesKey(_ bytes: [UInt8]) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
            .replacingOccurrences(of: "(", with: "( ").replacingOccurrences(of: ")", with: " )")
        var out: [String] = []
        var run: [String] = []
        for w in text.split(separator: " ").map(String.init) {
            let single = (w.hasPrefix("+") || w.hasPrefix("-")) && !w.dropFirst().hasPrefix("@")
            if single { run.append(w); continue }
            out += run.sorted()
            run = []
            out.append(w)
        }
        return out + run.sorted()
    }

    private static func keptLines(_ bytes: [UInt8], _ regexes: [NSRegularExpression]) -> [[UInt8]] {
        bytes.split(separator: 10, omittingEmptySubsequences: false).compactMap { sub -> [UInt8]? in
            var line = Array(sub)
            if line.last == 13 { line.removeLast() }
            let s = String(decoding: line, as: UTF8.self)
            let range = NSRange(s.startIndex..., in: s)
            return regexes.contains { $0.firstMatch(in: s, range: range) != nil } ? nil : line
        }
    }
}

/// Runs corpus files against a reference server and a server under test,
/// comparing replies step by step. See CorpusFile for the file syntax.
final class DifferentialHarness {
    struct Side {
        let name: String
        let port: Int
    }

    struct Mismatch: CustomStringConvertible {
        let file: String
        let line: Int
        let command: String
        let masks: [ReplyMask]
        let reason: String
        let expected: String
        let actual: String
        let referenceName: String
        let subjectName: String

        var description: String {
            let w = max(referenceName.count, subjectName.count) + 1
            func pad(_ s: String) -> String { (s + ":").padding(toLength: w, withPad: " ", startingAt: 0) }
            var text = "\(file):\(line): \(command)\n"
            if !masks.isEmpty { text += "  masks: \(masks.map(\.description).joined(separator: ", "))\n" }
            text += "  \(reason)\n"
            text += "  \(pad(referenceName)) \(expected)\n"
            text += "  \(pad(subjectName)) \(actual)"
            return text
        }
    }

    struct FileResult {
        let file: String
        var steps = 0
        var mismatches: [Mismatch] = []
        var errors: [String] = []
        var passed: Bool { mismatches.isEmpty && errors.isEmpty }
    }

    let reference: Side
    let subject: Side
    /// How long to wait for each reply.
    var replyTimeout: TimeInterval = 5
    /// How long `@closed` waits for the server to close.
    var closeTimeout: TimeInterval = 2
    /// Start each file with FLUSHALL on both servers (else the caller gives
    /// fresh servers for each file).
    var resetWithFlushAll = true
    /// Stop a file after this many mismatches (later ones are often fallout).
    var maxMismatchesPerFile = Int(ProcessInfo.processInfo.environment["DIFF_MAX_MISMATCHES"] ?? "") ?? 5

    private var refConns: [Int: RespConnection] = [:]
    private var subConns: [Int: RespConnection] = [:]
    private var current = 1

    init(reference: Side, subject: Side) {
        self.reference = reference
        self.subject = subject
    }

    convenience init(reference: ServerProcess, subject: ServerProcess, subjectName: String? = nil) {
        self.init(reference: Side(name: reference.kind.rawValue, port: reference.port),
                  subject: Side(name: subjectName ?? subject.kind.rawValue, port: subject.port))
    }

    private enum Outcome {
        case reply(RespValue)
        case closed([UInt8])
        case timeout([UInt8])
        case failure(String)

        var shown: String {
            switch self {
            case .reply(let v): return "\"\(RespEscape.escape(v.raw))\""
            case .closed(let p): return "(connection closed\(p.isEmpty ? "" : "; partial \"\(RespEscape.escape(p))\""))"
            case .timeout(let p): return "(no reply in time\(p.isEmpty ? "" : "; partial \"\(RespEscape.escape(p))\""))"
            case .failure(let m): return "(\(m))"
            }
        }
    }

    /// Runs one file from a clean state: all connections closed, FLUSHALL on both.
    func run(_ file: CorpusFile) -> FileResult {
        var result = FileResult(file: file.name)
        resetConnections()
        for (side, isRef) in [(reference, true), (subject, false)] where resetWithFlushAll {
            do {
                let conn = try connection(isRef, 1)
                let reply = try conn.call("FLUSHALL")
                if reply != Array("+OK\r\n".utf8) {
                    result.errors.append("\(file.name): FLUSHALL on \(side.name) replied \"\(RespEscape.escape(reply))\"")
                }
            } catch {
                result.errors.append("\(file.name): cannot reset \(side.name) (port \(side.port)): \(error)")
            }
        }
        if !result.errors.isEmpty { return result }
        current = 1

        for step in file.steps {
            result.steps += 1
            var outcomes: (Outcome, Outcome, [ReplyMask])?
            switch step.action {
            case .sleep(let ms):
                usleep(useconds_t(ms) * 1000)
            case .conn(let n):
                current = n
            case .command(let args):
                let r = exchange(true, RespFraming.encodeCommand(args), read: true)
                let s = exchange(false, RespFraming.encodeCommand(args), read: true)
                outcomes = (r, s, step.masks)
            case .send(let args):
                _ = exchange(true, RespFraming.encodeCommand(args), read: false)
                _ = exchange(false, RespFraming.encodeCommand(args), read: false)
            case .raw(let bytes, let expectReply):
                let r = exchange(true, bytes, read: expectReply)
                let s = exchange(false, bytes, read: expectReply)
                if expectReply { outcomes = (r, s, step.masks) }
            case .read:
                outcomes = (readOutcome(true), readOutcome(false), step.masks)
            case .resp3:
                let hello = RespFraming.encodeCommand([Array("HELLO".utf8), Array("3".utf8)])
                let r = exchange(true, hello, read: true)
                let s = exchange(false, hello, read: true)
                outcomes = (r, s, step.masks + [.helloMap])
            case .closed:
                let rc = isClosed(true), sc = isClosed(false)
                if !rc {
                    result.errors.append("\(file.path):\(step.line): @closed but \(reference.name) kept the connection open")
                } else if !sc {
                    result.mismatches.append(Mismatch(
                        file: file.path, line: step.line, command: step.text, masks: [],
                        reason: "the server should have closed the connection", expected: "(closed)",
                        actual: "(still open)", referenceName: reference.name, subjectName: subject.name))
                }
            }
            if let (r, s, masks) = outcomes {
                switch check(r, s, masks: masks) {
                case .match:
                    break
                case .mismatch(let why):
                    result.mismatches.append(Mismatch(
                        file: file.path, line: step.line, command: step.text, masks: step.masks, reason: why,
                        expected: r.shown, actual: s.shown, referenceName: reference.name,
                        subjectName: subject.name))
                case .referenceFailed(let why):
                    result.errors.append("\(file.path):\(step.line): \(step.text): \(why)")
                }
            }
            if result.mismatches.count >= maxMismatchesPerFile || !result.errors.isEmpty {
                if result.mismatches.count >= maxMismatchesPerFile {
                    result.errors.append("\(file.path): stopped after \(maxMismatchesPerFile) mismatches")
                }
                break
            }
        }
        resetConnections()
        return result
    }

    func resetConnections() {
        for c in refConns.values { c.close() }
        for c in subConns.values { c.close() }
        refConns = [:]
        subConns = [:]
        current = 1
    }

    private enum Verdict {
        case match
        case mismatch(String)
        case referenceFailed(String)
    }

    private func check(_ r: Outcome, _ s: Outcome, masks: [ReplyMask]) -> Verdict {
        switch (r, s) {
        case (.reply(let e), .reply(let a)):
            if let why = ReplyComparator.compare(e, a, masks: masks) { return .mismatch(why) }
            return .match
        case (.closed, .closed):
            return .match
        case (.timeout, _), (.failure, _):
            return .referenceFailed("the reference \(reference.name) gave no reply: \(r.shown) "
                                    + "(a blocking command? use @send and @read)")
        default:
            return .mismatch("outcomes differ")
        }
    }

    private func connection(_ isRef: Bool, _ n: Int) throws -> RespConnection {
        if let c = isRef ? refConns[n] : subConns[n] { return c }
        let side = isRef ? reference : subject
        let c = try RespConnection(port: side.port, timeout: replyTimeout)
        if isRef { refConns[n] = c } else { subConns[n] = c }
        return c
    }

    /// Drops a connection the server closed; the next use opens a new one.
    private func forget(_ isRef: Bool) {
        if isRef { refConns[current]?.close(); refConns[current] = nil } else {
            subConns[current]?.close(); subConns[current] = nil
        }
    }

    private func exchange(_ isRef: Bool, _ bytes: [UInt8], read: Bool) -> Outcome {
        do {
            try connection(isRef, current).send(bytes)
        } catch {
            // Writing to a connection the server closed: report as closed.
            forget(isRef)
            return .closed([])
        }
        return read ? readOutcome(isRef) : .closed([])
    }

    private func readOutcome(_ isRef: Bool) -> Outcome {
        do {
            let conn = try connection(isRef, current)
            let bytes = try conn.readReply(timeout: replyTimeout)
            return .reply(try RespValue.parse(bytes))
        } catch RespConnectionError.closed(let partial) {
            forget(isRef)
            return .closed(partial)
        } catch RespConnectionError.timeout(let partial) {
            // A late reply would shift every later one: start afresh.
            forget(isRef)
            return .timeout(partial)
        } catch {
            forget(isRef)
            return .failure("\(error)")
        }
    }

    private func isClosed(_ isRef: Bool) -> Bool {
        guard let conn = try? connection(isRef, current) else { return true }
        let closed = conn.isClosed(timeout: closeTimeout)
        if closed { forget(isRef) }
        return closed
    }
}

/// Lists the corpus files (`*.redis`, sorted by name), filtered by
/// `DIFF_CORPUS_FILTER` (substring of the file name; comma-separated for several).
func corpusFiles(in directory: URL = TestEnvironment.corpusDirectory) throws -> [URL] {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        .filter { $0.hasSuffix(".redis") }
        .sorted()
    let filters = (TestEnvironment.environment["DIFF_CORPUS_FILTER"] ?? "")
        .split(separator: ",").map(String.init).filter { !$0.isEmpty }
    return names
        .filter { name in filters.isEmpty || filters.contains { name.contains($0) } }
        .map { directory.appendingPathComponent($0) }
}
