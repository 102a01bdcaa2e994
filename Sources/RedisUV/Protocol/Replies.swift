#if canImport(Glibc)
import Glibc
#endif

/// Reply helpers, as Redis's addReply* family: each appends one RESP value to the client's
/// output buffer, encoded for the client's protocol version (RESP2 or RESP3). Nothing here
/// does I/O; `beforeSleep` flushes.
extension Client {
    @inline(__always) func addReplyRaw(_ s: StaticString) { out.append(s) }
    @inline(__always) func addReplyRaw(_ b: UnsafeRawBufferPointer) { out.append(b) }

    @inline(__always) func addReplyOK() { out.append("+OK\r\n") }

    /// `+status`
    func addReplyStatus(_ s: String) {
        out.append(byte: UInt8(ascii: "+"))
        out.append(s)
        out.append("\r\n")
    }

    /// Redis's addReplyError: `msg` without a leading '-' gets the "ERR " code.
    /// Newlines would break the protocol, so they become spaces, as Redis does.
    func addReplyError(_ msg: String) {
        var text = msg
        if text.utf8.first != UInt8(ascii: "-") { text = "-ERR " + text }
        if text.utf8.contains(13) || text.utf8.contains(10) {
            text = String(decoding: text.utf8.map { $0 == 13 || $0 == 10 ? 32 : $0 }, as: UTF8.self)
        }
        out.append(text)
        out.append("\r\n")
        server.stats.noteErrorReply(text)
    }

    @inline(__always) func addReplyErrorSyntax() { addReplyError("syntax error") }
    @inline(__always) func addReplyErrorWrongType() {
        addReplyError("-WRONGTYPE Operation against a key holding the wrong kind of value")
    }
    @inline(__always) func addReplyErrorNotInteger() { addReplyError("value is not an integer or out of range") }
    @inline(__always) func addReplyErrorNotFloat() { addReplyError("value is not a valid float") }

    /// `:n`
    @inline(__always) func addReplyInt(_ v: Int) {
        let dst = out.reserve(24)
        dst.storeBytes(of: UInt8(ascii: ":"), as: UInt8.self)
        var n = 1 + formatDecimal(v, into: dst + 1)
        (dst + n).storeBytes(of: 0x0A0D as UInt16, as: UInt16.self)  // "\r\n"
        n += 2
        out.count += n
    }

    @inline(__always) private func addHeader(_ prefix: UInt8, _ v: Int) {
        let dst = out.reserve(24)
        dst.storeBytes(of: prefix, as: UInt8.self)
        var n = 1 + formatDecimal(v, into: dst + 1)
        (dst + n).storeBytes(of: 0x0A0D as UInt16, as: UInt16.self)
        n += 2
        out.count += n
    }

    /// `$len\r\n<bytes>\r\n`
    @inline(__always) func addReplyBulk(_ b: UnsafeRawBufferPointer) {
        let n = b.count
        let dst = out.reserve(n + 26)
        dst.storeBytes(of: UInt8(ascii: "$"), as: UInt8.self)
        var off = 1 + formatDecimal(n, into: dst + 1)
        (dst + off).storeBytes(of: 0x0A0D as UInt16, as: UInt16.self)
        off += 2
        if n > 0 { (dst + off).copyMemory(from: b.baseAddress!, byteCount: n) }
        off += n
        (dst + off).storeBytes(of: 0x0A0D as UInt16, as: UInt16.self)
        out.count += off + 2
    }

    func addReplyBulk(_ bytes: [UInt8]) { bytes.withUnsafeBytes { addReplyBulk($0) } }
    func addReplyBulk(_ s: String) {
        var s = s
        s.withUTF8 { addReplyBulk(UnsafeRawBufferPointer($0)) }
    }
    func addReplyBulk(_ s: StaticString) {
        addReplyBulk(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }
    /// A bulk holding the decimal form of `v` (Redis's addReplyBulkLongLong).
    func addReplyBulkInt(_ v: Int) {
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { p in
            let n = formatDecimal(v, into: p.baseAddress!)
            addReplyBulk(UnsafeRawBufferPointer(start: p.baseAddress, count: n))
        }
    }

    /// Null bulk: `$-1` in RESP2, `_` in RESP3.
    @inline(__always) func addReplyNull() {
        if resp == 2 { out.append("$-1\r\n") } else { out.append("_\r\n") }
    }
    /// Null array: `*-1` in RESP2, `_` in RESP3.
    @inline(__always) func addReplyNullArray() {
        if resp == 2 { out.append("*-1\r\n") } else { out.append("_\r\n") }
    }

    @inline(__always) func addReplyArrayLen(_ n: Int) { addHeader(UInt8(ascii: "*"), n) }
    /// A map of `n` pairs: `%n` in RESP3, a flat array of 2n in RESP2.
    func addReplyMapLen(_ n: Int) {
        if resp == 2 { addHeader(UInt8(ascii: "*"), n * 2) } else { addHeader(UInt8(ascii: "%"), n) }
    }
    /// `~n` in RESP3, `*n` in RESP2.
    func addReplySetLen(_ n: Int) { addHeader(resp == 2 ? UInt8(ascii: "*") : UInt8(ascii: "~"), n) }
    /// `>n` in RESP3, `*n` in RESP2.
    func addReplyPushLen(_ n: Int) { addHeader(resp == 2 ? UInt8(ascii: "*") : UInt8(ascii: ">"), n) }
    /// `|n` (RESP3 only; callers check the protocol).
    func addReplyAttributeLen(_ n: Int) { addHeader(UInt8(ascii: "|"), n) }

    /// `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    func addReplyBool(_ b: Bool) {
        if resp == 2 { addReplyInt(b ? 1 : 0) } else { out.append(b ? "#t\r\n" : "#f\r\n") }
    }

    /// Redis 7.0's addReplyDouble: `%.17g` text, as a bulk in RESP2, as `,` in RESP3.
    func addReplyDouble(_ d: Double) {
        let text: String
        if d.isInfinite {
            text = d > 0 ? "inf" : "-inf"
        } else {
            text = formatDoubleG17(d)
        }
        if resp == 2 { addReplyBulk(text) } else {
            out.append(byte: UInt8(ascii: ","))
            out.append(text)
            out.append("\r\n")
        }
    }

    /// `(n` in RESP3, a bulk in RESP2.
    func addReplyBigNum(_ digits: String) {
        if resp == 2 { addReplyBulk(digits) } else {
            out.append(byte: UInt8(ascii: "("))
            out.append(digits)
            out.append("\r\n")
        }
    }

    /// Verbatim text: `=len\r\ntxt:...` in RESP3, a plain bulk in RESP2.
    func addReplyVerbatim(_ text: String, format: StaticString = "txt") {
        if resp == 2 { addReplyBulk(text); return }
        let body = text.utf8.count + 4
        addHeader(UInt8(ascii: "="), body)
        out.append(format)
        out.append(byte: UInt8(ascii: ":"))
        out.append(text)
        out.append("\r\n")
    }

    /// An array of status lines, Redis's addReplyHelp: "<CMD> <subcommand> [<arg> ...]. Subcommands are:" first.
    func addReplyHelp(command: String, lines: [String]) {
        addReplyArrayLen(lines.count + 3)  // header, lines, "HELP" and its text
        addReplyStatus("\(command.uppercased()) <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
        for l in lines { addReplyStatus(l) }
        addReplyStatus("HELP")
        addReplyStatus("    Prints this help.")
    }

    /// Array of bulk strings.
    func addReplyBulkArray(_ items: [String]) {
        addReplyArrayLen(items.count)
        for s in items { addReplyBulk(s) }
    }

    // MARK: deferred lengths (Redis's addReplyDeferredLen / setDeferredArrayLen)

    /// Marks where an aggregate header will go once the element count is known.
    func addReplyDeferredLen() -> Int { out.count }

    func setDeferredArrayLen(_ mark: Int, _ n: Int) { insertHeader(at: mark, UInt8(ascii: "*"), n) }
    func setDeferredMapLen(_ mark: Int, _ n: Int) {
        if resp == 2 { insertHeader(at: mark, UInt8(ascii: "*"), n * 2) } else { insertHeader(at: mark, UInt8(ascii: "%"), n) }
    }
    func setDeferredSetLen(_ mark: Int, _ n: Int) {
        insertHeader(at: mark, resp == 2 ? UInt8(ascii: "*") : UInt8(ascii: "~"), n)
    }

    private func insertHeader(at mark: Int, _ prefix: UInt8, _ n: Int) {
        var tmp: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { p in
            let base = p.baseAddress!
            base.storeBytes(of: prefix, as: UInt8.self)
            var len = 1 + formatDecimal(n, into: base + 1)
            (base + len).storeBytes(of: 0x0A0D as UInt16, as: UInt16.self)
            len += 2
            _ = out.reserve(len)
            let start = out.base! + mark
            memmove(start + len, start, out.count - mark)
            start.copyMemory(from: base, byteCount: len)
            out.count += len
        }
    }
}

/// `%.17g`, as Redis 7.0 formats doubles in replies.
func formatDoubleG17(_ d: Double) -> String {
    formatC("%.17g", d)
}

/// snprintf with one double argument (startup and slow paths only).
func formatC(_ fmt: String, _ d: Double) -> String {
    var buf = [CChar](repeating: 0, count: 64)
    _ = withVaList([d]) { vsnprintf(&buf, 64, fmt, $0) }
    return stringFromCBuffer(buf)
}
