/// Redis's sdscatrepr on bytes: `bytes` appended to `out` double-quoted, with C escapes
/// for quotes, backslashes and control characters and \xNN for the rest.
func appendRepr(_ out: inout [UInt8], _ bytes: UnsafeRawBufferPointer) {
    let hex: [UInt8] = Array("0123456789abcdef".utf8)
    out.append(UInt8(ascii: "\""))
    for b in bytes {
        switch b {
        case UInt8(ascii: "\\"), UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
        case 10: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
        case 13: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
        case 9: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
        case 7: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "a"))
        case 8: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
        case 32...126: out.append(b)
        default:
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(b >> 4)], hex[Int(b & 15)]])
        }
    }
    out.append(UInt8(ascii: "\""))
}

func appendRepr(_ out: inout [UInt8], _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { appendRepr(&out, $0) }
}
