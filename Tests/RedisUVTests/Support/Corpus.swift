import Foundation

/// redis-cli's argument splitting (sdssplitargs in Redis' sds.c), on bytes.
///
/// - Outside quotes, arguments are separated by space, tab, CR, LF, VT, FF.
/// - `"..."`: escapes `\n \r \t \b \a \\ \"` and `\xHH`; any other `\c` is `c`.
/// - `'...'`: only `\'` is an escape.
/// - A closing quote must be followed by whitespace or the end of the line.
/// - A quote inside a word starts quoting there (`a"b c"` is `ab c`).
/// Returns nil for unbalanced quotes or a closing quote followed by a non-space
/// (redis-cli says "Invalid argument(s)").
enum SplitArgs {
    static func split(_ line: String) -> [[UInt8]]? { split(Array(line.utf8)) }

    static func split(_ s: [UInt8]) -> [[UInt8]]? {
        var result: [[UInt8]] = []
        var i = 0
        let n = s.count
        func at(_ k: Int) -> UInt8 { k < n ? s[k] : 0 }
        while true {
            while i < n && isSpace(s[i]) { i += 1 }
            if i >= n { return result }
            var inq = false, insq = false, done = false
            var current: [UInt8] = []
            while !done {
                let c = at(i)
                if inq {
                    if c == UInt8(ascii: "\\") && at(i + 1) == UInt8(ascii: "x")
                        && hexValue(at(i + 2)) != nil && hexValue(at(i + 3)) != nil {
                        current.append(hexValue(at(i + 2))! * 16 + hexValue(at(i + 3))!)
                        i += 3
                    } else if c == UInt8(ascii: "\\") && i + 1 < n {
                        i += 1
                        switch s[i] {
                        case UInt8(ascii: "n"): current.append(10)
                        case UInt8(ascii: "r"): current.append(13)
                        case UInt8(ascii: "t"): current.append(9)
                        case UInt8(ascii: "b"): current.append(8)
                        case UInt8(ascii: "a"): current.append(7)
                        default: current.append(s[i])
                        }
                    } else if c == UInt8(ascii: "\"") {
                        if i + 1 < n && !isSpace(s[i + 1]) { return nil }
                        done = true
                    } else if i >= n {
                        return nil  // unterminated "
                    } else {
                        current.append(c)
                    }
                } else if insq {
                    if c == UInt8(ascii: "\\") && at(i + 1) == UInt8(ascii: "'") {
                        i += 1
                        current.append(UInt8(ascii: "'"))
                    } else if c == UInt8(ascii: "'") {
                        if i + 1 < n && !isSpace(s[i + 1]) { return nil }
                        done = true
                    } else if i >= n {
                        return nil  // unterminated '
                    } else {
                        current.append(c)
                    }
                } else {
                    if i >= n || c == 32 || c == 10 || c == 13 || c == 9 || c == 0 {
                        done = true
                    } else if c == UInt8(ascii: "\"") {
                        inq = true
                    } else if c == UInt8(ascii: "'") {
                        insq = true
                    } else {
                        current.append(c)
                    }
                }
                if i < n { i += 1 }
            }
            result.append(current)
        }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// How two replies may differ and still match (`@mask` in a corpus file).
enum ReplyMask: Equatable, CustomStringConvertible {
    /// Any two integer replies match (anywhere in the reply tree).
    case int
    /// Any two non-null bulk strings match (anywhere in the reply tree).
    case bulk
    /// Integers match when they differ by at most 1 (anywhere in the tree).
    case ttlApprox
    /// In bulk/verbatim strings, lines matching the regex are dropped before comparing.
    case lines(String)
    /// The top-level aggregate's elements (map: key/value pairs) compare as a multiset.
    case sorted
    /// Only the top-level reply type must match.
    case any
    /// Internal (used by @resp3): a HELLO map whose `id` and `version` values may differ.
    case helloMap
    /// In bulk strings, ACL rules: runs of single-command rules (+get -set ...) compare as
    /// multisets (Redis prints them in its command dict's hash order, random per process).
    case aclRules
    /// In an aggregate, the element after a bulk string equal to NAME matches anything
    /// (ACL LOG's age-seconds and client-info).
    case field(String)

    var description: String {
        switch self {
        case .int: return "int"
        case .bulk: return "bulk"
        case .ttlApprox: return "ttl-approx"
        case .lines(let r): return "lines \(r)"
        case .sorted: return "sorted"
        case .any: return "any"
        case .helloMap: return "hello-map"
        case .aclRules: return "acl-rules"
        case .field(let n): return "field \(n)"
        }
    }

    static func parse(_ text: String) -> ReplyMask? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("lines ") || trimmed.hasPrefix("lines\t") {
            let regex = String(trimmed.dropFirst(6)).trimmingCharacters(in: .whitespaces)
            guard !regex.isEmpty, (try? NSRegularExpression(pattern: regex)) != nil else { return nil }
            return .lines(regex)
        }
        if trimmed.hasPrefix("field ") {
            let name = String(trimmed.dropFirst(6)).trimmingCharacters(in: .whitespaces)
            return name.isEmpty ? nil : .field(name)
        }
        switch trimmed {
        case "acl-rules": return .aclRules
        case "int": return .int
        case "bulk": return .bulk
        case "ttl-approx": return .ttlApprox
        case "sorted": return .sorted
        case "any": return .any
        default: return nil
        }
    }
}

/// One step of a corpus file.
struct CorpusStep {
    enum Action {
        /// Send a command (multibulk) and compare the replies.
        case command([[UInt8]])
        /// `@send CMD...`: send a command, do not read (read later with `@read`).
        case send([[UInt8]])
        /// `@raw BYTES...`: send exact bytes; read and compare one reply unless `expectReply` is false.
        case raw([UInt8], expectReply: Bool)
        /// `@read`: read one more reply on the current connection and compare.
        case read
        /// `@closed`: both servers must have closed the current connection.
        case closed
        /// `@sleep MS`
        case sleep(milliseconds: Int)
        /// `@conn N`: make connection N current (opened on first use).
        case conn(Int)
        /// `@resp3`: HELLO 3 on the current connection, replies compared.
        case resp3
    }

    let line: Int
    let text: String
    let action: Action
    let masks: [ReplyMask]

    /// Whether this step reads a reply (and so consumes pending masks).
    var readsReply: Bool {
        switch action {
        case .command, .read, .resp3: return true
        case .raw(_, let expectReply): return expectReply
        default: return false
        }
    }
}

struct CorpusError: Error, CustomStringConvertible {
    let file: String
    let line: Int
    let message: String
    var description: String { "\(file):\(line): corpus error: \(message)" }
}

/// A parsed corpus file (`Tests/corpus/*.redis`). Syntax, one item per line:
///
///     # comment (whole line)                 blank lines are ignored too
///     SET key "a\r\nb\x00c"                  a command, redis-cli quoting
///     @mask int                              masks for the next reply only (may stack)
///     @mask lines ^(uptime|run_id):          ... (see ReplyMask)
///     @raw "PING\r\n"                        exact bytes (args concatenated), read one reply
///     @raw-noreply "*1\r\n$4\r\nPI"          exact bytes, no reply read
///     @send BLPOP list 0                     command without reading its reply
///     @read                                  read and compare one reply
///     @closed                                server must close the connection
///     @sleep 100                             milliseconds, both sides
///     @conn 2                                switch to connection 2 (default 1)
///     @resp3                                 HELLO 3 on the current connection
struct CorpusFile {
    let name: String
    let path: String
    let steps: [CorpusStep]

    static func load(_ url: URL) throws -> CorpusFile {
        let data = try Data(contentsOf: url)
        return try parse(Array(data), name: url.lastPathComponent, path: url.path)
    }

    static func parse(_ text: String, name: String = "inline.redis") throws -> CorpusFile {
        try parse(Array(text.utf8), name: name, path: name)
    }

    static func parse(_ bytes: [UInt8], name: String, path: String) throws -> CorpusFile {
        var steps: [CorpusStep] = []
        var pending: [ReplyMask] = []
        var pendingLine = 0
        let lines = bytes.split(separator: 10, omittingEmptySubsequences: false)
        for (index, rawLine) in lines.enumerated() {
            let lineNo = index + 1
            var lineBytes = Array(rawLine)
            if lineBytes.last == 13 { lineBytes.removeLast() }
            let text = String(decoding: lineBytes, as: UTF8.self)
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            func fail(_ message: String) -> CorpusError {
                CorpusError(file: name, line: lineNo, message: "\(message): \(trimmed)")
            }
            func args(_ rest: Substring) throws -> [[UInt8]] {
                guard let a = SplitArgs.split(String(rest)) else { throw fail("cannot split arguments (quotes)") }
                return a
            }

            var action: CorpusStep.Action
            if trimmed.hasPrefix("@") {
                let word = trimmed.prefix { !$0.isWhitespace }
                let rest = trimmed.dropFirst(word.count).drop { $0.isWhitespace }
                switch word {
                case "@mask":
                    guard let mask = ReplyMask.parse(String(rest)) else { throw fail("unknown mask or bad regex") }
                    pending.append(mask)
                    pendingLine = lineNo
                    continue
                case "@raw", "@raw-noreply":
                    let parts = try args(rest)
                    guard !parts.isEmpty else { throw fail("@raw needs bytes") }
                    action = .raw(parts.flatMap { $0 }, expectReply: word == "@raw")
                case "@send":
                    let parts = try args(rest)
                    guard !parts.isEmpty else { throw fail("@send needs a command") }
                    action = .send(parts)
                case "@read":
                    guard rest.isEmpty else { throw fail("@read takes no argument") }
                    action = .read
                case "@closed":
                    guard rest.isEmpty else { throw fail("@closed takes no argument") }
                    action = .closed
                case "@sleep":
                    guard let ms = Int(rest), ms >= 0 else { throw fail("@sleep needs milliseconds") }
                    action = .sleep(milliseconds: ms)
                case "@conn":
                    guard let n = Int(rest), n >= 1 else { throw fail("@conn needs a number >= 1") }
                    action = .conn(n)
                case "@resp3":
                    guard rest.isEmpty else { throw fail("@resp3 takes no argument") }
                    action = .resp3
                default:
                    throw fail("unknown directive \(word)")
                }
            } else {
                let parts = try args(Substring(trimmed))
                guard !parts.isEmpty else { continue }
                action = .command(parts)
            }
            let step = CorpusStep(line: lineNo, text: trimmed, action: action, masks: [])
            if step.readsReply {
                steps.append(CorpusStep(line: lineNo, text: trimmed, action: action, masks: pending))
                pending = []
            } else {
                steps.append(step)
            }
        }
        if !pending.isEmpty {
            throw CorpusError(file: name, line: pendingLine, message: "@mask with no reply after it")
        }
        return CorpusFile(name: name, path: path, steps: steps)
    }
}
