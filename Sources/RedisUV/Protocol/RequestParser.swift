#if canImport(Glibc)
import Glibc
#endif

/// Resumable RESP request parser (multibulk and inline), as Redis's processMultibulkBuffer /
/// processInlineBuffer.
///
/// It never copies multibulk arguments: they are recorded as (offset, length) into the buffer
/// being parsed. When a frame is incomplete the caller keeps the bytes from `frameStart` on
/// and calls `rebase(by:)` so the recorded offsets follow them; parsing then resumes where it
/// stopped (no re-parse from the start, so huge pipelines and huge arguments stay linear).
struct RequestParser {
    enum Outcome: Equatable {
        /// A whole command is parsed: `argc` arguments are in `argOffsets/argLengths`.
        case command
        /// More bytes are needed; nothing before `frameStart` is needed any more.
        case incomplete
        /// An empty command (`*0`, `*-1`, empty inline line): consumed, nothing to run.
        case empty
        /// Redis's exact "Protocol error: ..." text (without the "-ERR " prefix).
        case protocolError(String)
    }

    enum RequestKind { case unknown, multibulk, inline }

    struct Limits {
        var maxBulkLength: Int = 512 * 1024 * 1024   // proto-max-bulk-len
        var maxInline: Int = 64 * 1024               // PROTO_INLINE_MAX_SIZE
        var maxMultibulk: Int = Int(Int32.max)       // Redis 7.0 rejects counts over INT_MAX
        /// Redis refuses big requests from clients that still have to AUTH.
        var unauthenticated: Bool = false
    }

    var kind: RequestKind = .unknown
    /// Arguments still to read for the current multibulk command (0 = header not read yet).
    var multibulkRemaining: Int = 0
    /// Length of the bulk being read, -1 while its `$` header is not read yet.
    var bulkLength: Int = -1
    /// Where the current command starts and where parsing resumes.
    var frameStart: Int = 0
    var position: Int = 0
    var argc: Int = 0
    var argOffsets: [Int] = []
    var argLengths: [Int] = []
    /// Inline arguments are unescaped here (they cannot point into the input).
    var inlineStorage: [UInt8] = []
    var argsAreInline = false
    /// Length of the big bulk being waited for, so the caller can pre-size its buffer.
    var pendingBulkEnd: Int { bulkLength >= 0 ? position + bulkLength + 2 : 0 }

    init() {
        argOffsets.reserveCapacity(16)
        argLengths.reserveCapacity(16)
    }

    /// Forgets a finished command; the next parse starts at `position`.
    @inline(__always)
    mutating func resetCommand() {
        kind = .unknown
        multibulkRemaining = 0
        bulkLength = -1
        argc = 0
        argsAreInline = false
        frameStart = position
    }

    /// The caller moved the bytes from `frameStart` on to the start of another buffer.
    mutating func rebase(by delta: Int) {
        frameStart -= delta
        position -= delta
        if !argsAreInline {
            for i in 0..<argc { argOffsets[i] -= delta }
        }
    }

    @inline(__always)
    private mutating func pushArg(_ offset: Int, _ length: Int) {
        if argc < argOffsets.count {
            argOffsets[argc] = offset
            argLengths[argc] = length
        } else {
            argOffsets.append(offset)
            argLengths.append(length)
        }
        argc &+= 1
    }

    /// Parses at most one command from `buf[position...]`.
    mutating func parse(_ buf: UnsafeRawBufferPointer, limits: Limits) -> Outcome {
        let end = buf.count
        if kind == .unknown {
            if position >= end { return .incomplete }
            kind = buf[position] == UInt8(ascii: "*") ? .multibulk : .inline
        }
        if kind == .inline { return parseInline(buf, limits: limits) }
        return parseMultibulk(buf, limits: limits)
    }

    private mutating func parseMultibulk(_ buf: UnsafeRawBufferPointer, limits: Limits) -> Outcome {
        let end = buf.count
        let base = buf.baseAddress!
        if multibulkRemaining == 0 {
            // "*<count>\r\n"
            guard let cr = findByte(13, in: base, from: position, to: end) else {
                if end - position > limits.maxInline { return .protocolError("Protocol error: too big mbulk count string") }
                return .incomplete
            }
            if cr + 1 >= end { return .incomplete }
            guard let n = parseStrictInt(base + position + 1, cr - position - 1), n <= limits.maxMultibulk else {
                return .protocolError("Protocol error: invalid multibulk length")
            }
            if n > 10 && limits.unauthenticated { return .protocolError("Protocol error: unauthenticated multibulk length") }
            position = cr + 2
            if n <= 0 {
                resetCommand()
                return .empty
            }
            multibulkRemaining = n
            argc = 0
            argsAreInline = false
        }
        while multibulkRemaining > 0 {
            if bulkLength == -1 {
                guard let cr = findByte(13, in: base, from: position, to: end) else {
                    if end - position > limits.maxInline { return .protocolError("Protocol error: too big bulk count string") }
                    return .incomplete
                }
                if cr + 1 >= end { return .incomplete }
                let first = buf[position]
                if first != UInt8(ascii: "$") {
                    return .protocolError("Protocol error: expected '$', got '\(Character(Unicode.Scalar(first)))'")
                }
                guard let n = parseStrictInt(base + position + 1, cr - position - 1), n >= 0, n <= limits.maxBulkLength else {
                    return .protocolError("Protocol error: invalid bulk length")
                }
                if n > 16384 && limits.unauthenticated { return .protocolError("Protocol error: unauthenticated bulk length") }
                position = cr + 2
                bulkLength = n
            }
            // The bulk and its trailing CRLF (Redis skips those two bytes unchecked).
            if end - position < bulkLength + 2 { return .incomplete }
            pushArg(position, bulkLength)
            position += bulkLength + 2
            bulkLength = -1
            multibulkRemaining -= 1
        }
        return .command
    }

    private mutating func parseInline(_ buf: UnsafeRawBufferPointer, limits: Limits) -> Outcome {
        let end = buf.count
        let base = buf.baseAddress!
        guard let nl = findByte(10, in: base, from: position, to: end) else {
            if end - position > limits.maxInline { return .protocolError("Protocol error: too big inline request") }
            return .incomplete
        }
        var lineEnd = nl
        if lineEnd > position && buf[lineEnd - 1] == 13 { lineEnd -= 1 }
        let line = UnsafeRawBufferPointer(start: base + position, count: lineEnd - position)
        argc = 0
        inlineStorage.removeAll(keepingCapacity: true)
        var ranges: [(Int, Int)] = []
        guard splitArgs(line, into: &inlineStorage, ranges: &ranges) else {
            return .protocolError("Protocol error: unbalanced quotes in request")
        }
        position = nl + 1
        if ranges.isEmpty {
            resetCommand()
            return .empty
        }
        for (o, l) in ranges { pushArg(o, l) }
        argsAreInline = true
        return .command
    }
}

@inline(__always)
func findByte(_ byte: UInt8, in base: UnsafeRawPointer, from: Int, to end: Int) -> Int? {
    if from >= end { return nil }
    guard let p = memchr(base + from, Int32(byte), end - from) else { return nil }
    return UnsafeRawPointer(p) - base
}

/// Redis's string2ll: optional '-', digits, no leading zeros (except "0"), no spaces, no '+',
/// fits in Int64.
@inline(__always)
func parseStrictInt(_ p: UnsafeRawPointer, _ n: Int) -> Int? {
    if n <= 0 || n > 20 { return nil }
    var i = 0
    var negative = false
    if p.load(fromByteOffset: 0, as: UInt8.self) == UInt8(ascii: "-") {
        negative = true
        i = 1
        if n == 1 { return nil }
    }
    let first = p.load(fromByteOffset: i, as: UInt8.self)
    if first == UInt8(ascii: "0") {
        return (n == 1) ? 0 : nil
    }
    var v: UInt64 = 0
    while i < n {
        let c = p.load(fromByteOffset: i, as: UInt8.self) &- 48
        if c > 9 { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(UInt64(c))
        if o1 || o2 { return nil }
        v = a
        i += 1
    }
    if negative {
        if v > UInt64(Int64.max) + 1 { return nil }
        return Int(Int64(bitPattern: 0 &- v))
    }
    if v > UInt64(Int64.max) { return nil }
    return Int(v)
}

func parseStrictInt(_ b: UnsafeRawBufferPointer) -> Int? {
    guard let base = b.baseAddress else { return nil }
    return parseStrictInt(base, b.count)
}

/// Redis's sdssplitargs: whitespace-separated words, "double quoted" with escapes
/// (\n \r \t \b \a \\ \" \xHH), 'single quoted' with \' only. A closing quote must be
/// followed by a space or the end. Appends the unescaped words to `storage` and their ranges.
func splitArgs(_ line: UnsafeRawBufferPointer, into storage: inout [UInt8], ranges: inout [(Int, Int)]) -> Bool {
    var i = 0
    let n = line.count
    func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 10 || c == 13 || c == 9 || c == 11 || c == 12 }
    func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: return Int(c - 48)
        case 97...102: return Int(c - 87)
        case 65...70: return Int(c - 55)
        default: return nil
        }
    }
    while true {
        while i < n && isSpace(line[i]) { i += 1 }
        if i >= n { return true }
        var inDouble = false, inSingle = false, done = false
        let start = storage.count
        while !done {
            if inDouble {
                if i >= n { return false }
                let c = line[i]
                if c == UInt8(ascii: "\\") && i + 3 < n && line[i + 1] == UInt8(ascii: "x"),
                   let h = hexValue(line[i + 2]), let l = hexValue(line[i + 3]) {
                    storage.append(UInt8(h * 16 + l)); i += 3
                } else if c == UInt8(ascii: "\\") && i + 1 < n {
                    i += 1
                    switch line[i] {
                    case UInt8(ascii: "n"): storage.append(10)
                    case UInt8(ascii: "r"): storage.append(13)
                    case UInt8(ascii: "t"): storage.append(9)
                    case UInt8(ascii: "b"): storage.append(8)
                    case UInt8(ascii: "a"): storage.append(7)
                    default: storage.append(line[i])
                    }
                } else if c == UInt8(ascii: "\"") {
                    if i + 1 < n && !isSpace(line[i + 1]) { return false }
                    done = true
                } else {
                    storage.append(c)
                }
            } else if inSingle {
                if i >= n { return false }
                let c = line[i]
                if c == UInt8(ascii: "\\") && i + 1 < n && line[i + 1] == UInt8(ascii: "'") {
                    i += 1; storage.append(UInt8(ascii: "'"))
                } else if c == UInt8(ascii: "'") {
                    if i + 1 < n && !isSpace(line[i + 1]) { return false }
                    done = true
                } else {
                    storage.append(c)
                }
            } else {
                if i >= n { done = true; break }
                let c = line[i]
                switch c {
                case 32, 10, 13, 9, 0: done = true
                case UInt8(ascii: "\""): inDouble = true
                case UInt8(ascii: "'"): inSingle = true
                default: storage.append(c)
                }
            }
            if i < n { i += 1 }
        }
        ranges.append((start, storage.count - start))
    }
}
