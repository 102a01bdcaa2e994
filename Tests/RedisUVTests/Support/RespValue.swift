/// One parsed RESP2/RESP3 reply, keeping its raw bytes for exact comparison.
///
///     let v = try RespValue.parse(try conn.readReply())
///     XCTAssertEqual(v.type, UInt8(ascii: "*"))
///     XCTAssertEqual(v.children.map(\.text), ["a", "b"])
struct RespValue: Equatable, CustomStringConvertible {
    /// The type byte: + - : , _ # ( $ ! = * ~ > % (an attribute `|` is not a
    /// value of its own: it is kept in `attribute` of the value it precedes).
    let type: UInt8
    /// All bytes of this reply (with its attribute, when it has one).
    let raw: [UInt8]
    /// The header line after the type byte (a simple type's content, or the
    /// length of a bulk/aggregate).
    let line: [UInt8]
    /// The body of `$ ! =`; nil for a null bulk and for other types.
    let payload: [UInt8]?
    /// Elements of an aggregate; a map (`%`) or attribute has key, value, key, value...
    let children: [RespValue]
    /// The attribute map (`|`) sent before this reply, if any.
    let attribute: [RespValue]?

    /// Parses exactly one reply; trailing bytes are an error.
    static func parse(_ bytes: [UInt8]) throws -> RespValue {
        var pos = 0
        let value = try parse(bytes, at: &pos)
        guard pos == bytes.count else {
            throw RespConnectionError.protocolError("\(bytes.count - pos) bytes after the reply",
                                                    partial: Array(bytes[pos...]))
        }
        return value
    }

    /// Parses the reply at `pos` and moves `pos` past it.
    static func parse(_ b: [UInt8], at pos: inout Int) throws -> RespValue {
        let start = pos
        guard let end = try RespFraming.frameEnd(b, from: start) else {
            throw RespConnectionError.protocolError("incomplete reply", partial: Array(b[start...]))
        }
        let type = b[start]
        let lineEnd = RespFraming.findCRLF(b, from: start + 1)!
        let line = Array(b[(start + 1)..<lineEnd])
        var p = lineEnd + 2
        switch type {
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            let len = RespFraming.parseInt(line)!
            pos = end
            let payload = len < 0 ? nil : Array(b[p..<(p + len)])
            return RespValue(type: type, raw: Array(b[start..<end]), line: line, payload: payload,
                             children: [], attribute: nil)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            let n = RespFraming.parseInt(line)!
            let count = n < 0 ? 0 : ((type == UInt8(ascii: "%") || type == UInt8(ascii: "|")) ? 2 * n : n)
            var children: [RespValue] = []
            for _ in 0..<count { children.append(try parse(b, at: &p)) }
            if type == UInt8(ascii: "|") {
                let inner = try parse(b, at: &p)
                pos = p
                return RespValue(type: inner.type, raw: Array(b[start..<p]), line: inner.line,
                                 payload: inner.payload, children: inner.children, attribute: children)
            }
            pos = p
            return RespValue(type: type, raw: Array(b[start..<p]), line: line, payload: nil,
                             children: children, attribute: nil)
        default:
            pos = end
            return RespValue(type: type, raw: Array(b[start..<end]), line: line, payload: nil,
                             children: [], attribute: nil)
        }
    }

    var isAggregate: Bool { Array("*~>%".utf8).contains(type) }
    var isBulkLike: Bool { Array("$!=".utf8).contains(type) }
    /// `$-1`, `*-1` and `_`.
    var isNull: Bool {
        type == UInt8(ascii: "_") || (type == UInt8(ascii: "$") && payload == nil)
            || (type == UInt8(ascii: "*") && line == Array("-1".utf8))
    }
    /// The value of `:` (and of `(` when it fits).
    var integer: Int64? {
        guard type == UInt8(ascii: ":") || type == UInt8(ascii: "(") else { return nil }
        return Int64(String(decoding: line, as: UTF8.self))
    }
    /// Text of a simple string, error, bulk, verbatim (with its `txt:`), number...
    var text: String? {
        if isAggregate || isNull { return nil }
        return String(decoding: payload ?? line, as: UTF8.self)
    }

    var typeName: String {
        switch type {
        case UInt8(ascii: "+"): return "simple string"
        case UInt8(ascii: "-"): return "error"
        case UInt8(ascii: ":"): return "integer"
        case UInt8(ascii: "$"): return payload == nil ? "null bulk" : "bulk string"
        case UInt8(ascii: "*"): return isNull ? "null array" : "array"
        case UInt8(ascii: "_"): return "null"
        case UInt8(ascii: ","): return "double"
        case UInt8(ascii: "#"): return "boolean"
        case UInt8(ascii: "("): return "big number"
        case UInt8(ascii: "!"): return "blob error"
        case UInt8(ascii: "="): return "verbatim string"
        case UInt8(ascii: "%"): return "map"
        case UInt8(ascii: "~"): return "set"
        case UInt8(ascii: ">"): return "push"
        default: return "type \(RespEscape.escape([type]))"
        }
    }

    var description: String { RespEscape.escape(raw) }
}
