/// A small JSON reader for the generated command table, so the server does not link
/// Foundation for JSONSerialization alone: Foundation's libraries cost ~8 MB of resident
/// memory in every redis-uv process (measured with /proc/PID/smaps), more than a tenth of
/// what a million small keys take.
///
/// Values come back as JSONSerialization's shapes without NSNumber: `[String: Any]`,
/// `[Any]`, `String`, `Int` (integral numbers), `Double` (others), `Bool`, and
/// `MiniJSON.null` for null.
enum MiniJSON {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// JSON's null.
    struct Null: Equatable {}
    static let null = Null()

    static func parse(_ text: String) throws -> Any {
        var p = Parser(bytes: Array(text.utf8))
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.b.count else { throw p.fail("trailing bytes") }
        return v
    }

    private struct Parser {
        let b: [UInt8]
        var i = 0

        init(bytes: [UInt8]) { b = bytes }

        func fail(_ m: String) -> Failure { Failure(description: "JSON: \(m) at byte \(i)") }

        mutating func skipSpace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }

        mutating func expect(_ c: UInt8) throws {
            skipSpace()
            guard i < b.count, b[i] == c else { throw fail("expected \(Character(UnicodeScalar(c)))") }
            i += 1
        }

        mutating func value(depth: Int) throws -> Any {
            guard depth < 512 else { throw fail("nested too deep") }
            skipSpace()
            guard i < b.count else { throw fail("unexpected end") }
            switch b[i] {
            case UInt8(ascii: "{"):
                i += 1
                var o: [String: Any] = [:]
                skipSpace()
                if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return o }
                while true {
                    skipSpace()
                    guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let k = try string()
                    try expect(UInt8(ascii: ":"))
                    o[k] = try value(depth: depth + 1)
                    skipSpace()
                    guard i < b.count else { throw fail("unexpected end") }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == UInt8(ascii: "}") { i += 1; return o }
                    throw fail("expected , or }")
                }
            case UInt8(ascii: "["):
                i += 1
                var a: [Any] = []
                skipSpace()
                if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return a }
                while true {
                    a.append(try value(depth: depth + 1))
                    skipSpace()
                    guard i < b.count else { throw fail("unexpected end") }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == UInt8(ascii: "]") { i += 1; return a }
                    throw fail("expected , or ]")
                }
            case UInt8(ascii: "\""):
                return try string()
            case UInt8(ascii: "t"): try literal("true"); return true
            case UInt8(ascii: "f"): try literal("false"); return false
            case UInt8(ascii: "n"): try literal("null"); return MiniJSON.null
            default:
                return try number()
            }
        }

        mutating func literal(_ word: String) throws {
            for c in word.utf8 {
                guard i < b.count, b[i] == c else { throw fail("bad literal") }
                i += 1
            }
        }

        mutating func number() throws -> Any {
            let start = i
            var integral = true
            if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
            while i < b.count {
                let c = b[i]
                if c >= 48 && c <= 57 { i += 1; continue }
                if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                    || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                    integral = false
                    i += 1
                    continue
                }
                break
            }
            let text = String(decoding: b[start..<i], as: UTF8.self)
            if integral, let v = Int(text) { return v }
            if let d = Double(text) { return d }
            i = start
            throw fail("bad number")
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= b.count else { throw fail("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = b[i]
                let d: UInt32
                switch c {
                case 48...57: d = UInt32(c - 48)
                case 65...70: d = UInt32(c - 55)
                case 97...102: d = UInt32(c - 87)
                default: throw fail("bad \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func string() throws -> String {
            i += 1  // the opening quote
            var out: [UInt8] = []
            while true {
                guard i < b.count else { throw fail("unterminated string") }
                let c = b[i]
                i += 1
                if c == UInt8(ascii: "\"") { break }
                if c != UInt8(ascii: "\\") { out.append(c); continue }
                guard i < b.count else { throw fail("unterminated escape") }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800 && scalar < 0xDC00, i + 6 <= b.count,
                       b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + ((low &- 0xDC00) & 0x3FF)
                    }
                    let u = UnicodeScalar(scalar) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw fail("bad escape")
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
