#if canImport(Glibc)
import Glibc
#endif

/// A growable run of bytes in one malloc'ed block, owned by exactly one holder.
///
/// Value semantics are deliberately *not* provided: copying the struct copies the pointer.
/// The owner calls `release()` exactly once (client close, write completion). This is what
/// lets the reply buffer be handed to an in-flight `uv_write` without a copy.
struct ByteBuffer {
    private(set) var base: UnsafeMutableRawPointer?
    var count: Int = 0
    private(set) var capacity: Int = 0

    init() {}

    init(capacity: Int) {
        if capacity > 0 {
            base = malloc(capacity)
            self.capacity = capacity
        }
    }

    var isEmpty: Bool { count == 0 }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    mutating func release() {
        free(base)
        base = nil
        count = 0
        capacity = 0
    }

    /// Makes room for `extra` more bytes and returns where they go.
    @inline(__always)
    mutating func reserve(_ extra: Int) -> UnsafeMutableRawPointer {
        if count &+ extra > capacity { grow(to: count &+ extra) }
        return base.unsafelyUnwrapped + count
    }

    @inline(never)
    mutating func grow(to needed: Int) {
        var newCapacity = capacity < 256 ? 256 : capacity
        while newCapacity < needed { newCapacity = newCapacity < (1 << 20) ? newCapacity * 2 : newCapacity + newCapacity / 2 }
        guard let p = realloc(base, newCapacity) else { fatalError("out of memory growing a buffer to \(newCapacity) bytes") }
        base = p
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ p: UnsafeRawPointer?, count n: Int) {
        if n == 0 { return }
        let dst = reserve(n)
        dst.copyMemory(from: p.unsafelyUnwrapped, byteCount: n)
        count &+= n
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        append(bytes.baseAddress, count: bytes.count)
    }

    @inline(__always)
    mutating func append(byte: UInt8) {
        let dst = reserve(1)
        dst.storeBytes(of: byte, as: UInt8.self)
        count &+= 1
    }

    @inline(__always)
    mutating func append(_ s: StaticString) {
        append(UnsafeRawPointer(s.utf8Start), count: s.utf8CodeUnitCount)
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `v` in decimal without going through String.
    @inline(__always)
    mutating func appendDecimal(_ v: Int) {
        let dst = reserve(20)
        count &+= formatDecimal(v, into: dst)
    }

    /// Drops the first `n` bytes, keeping the rest at the front.
    mutating func removeFirst(_ n: Int) {
        if n >= count { count = 0; return }
        if n > 0 {
            memmove(base!, base! + n, count - n)
            count -= n
        }
    }

    /// Shrinks an idle, oversized buffer so one big reply does not pin memory forever.
    mutating func trim(ifCapacityOver limit: Int, keep: Int) {
        if count == 0 && capacity > limit {
            free(base)
            base = keep > 0 ? malloc(keep) : nil
            capacity = keep
        }
    }
}

/// Writes `v` as decimal ASCII at `dst` (at most 20 bytes) and returns the length.
@inline(__always)
func formatDecimal(_ v: Int, into dst: UnsafeMutableRawPointer) -> Int {
    if v >= 0 && v < 10 {
        dst.storeBytes(of: UInt8(truncatingIfNeeded: v) &+ 48, as: UInt8.self)
        return 1
    }
    var u = v < 0 ? UInt64(bitPattern: Int64(v)).magnitudeOfNegative : UInt64(v)
    var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch on the stack
    return withUnsafeMutableBytes(of: &tmp) { scratch -> Int in
        var i = 24
        repeat {
            i -= 1
            scratch[i] = UInt8(truncatingIfNeeded: u % 10) &+ 48
            u /= 10
        } while u != 0
        if v < 0 { i -= 1; scratch[i] = UInt8(ascii: "-") }
        let n = 24 - i
        dst.copyMemory(from: scratch.baseAddress! + i, byteCount: n)
        return n
    }
}

extension UInt64 {
    /// |x| for a negative Int64 bit pattern, without overflowing on Int64.min.
    @inline(__always) var magnitudeOfNegative: UInt64 { (~self) &+ 1 }
}
