/// A String from a NUL-terminated C buffer (the `[CChar]` overload of
/// String(cString:) is deprecated).
func stringFromCBuffer(_ buf: [CChar]) -> String {
    let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
