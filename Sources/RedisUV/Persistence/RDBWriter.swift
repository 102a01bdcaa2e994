#if canImport(Glibc)
import Glibc
#endif

/// Builds RDB bytes (Redis's rio writing side): into memory for DUMP, or through a
/// buffer into a file descriptor for SAVE. Keeps the CRC64 of everything written.
final class RDBWriter {
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0
    /// Target file, or -1 to keep everything in memory.
    private let fd: Int32
    private(set) var crc: UInt64 = 0
    /// Bytes already handed to the file.
    private(set) var flushed = 0
    /// The first write error (errno), after which writes are dropped.
    private(set) var writeErrno: Int32 = 0
    /// LZF-compress strings over 20 bytes (rdbcompression).
    let compress: Bool
    /// LZF's hash table, reused for every string this writer compresses.
    private let lzf = LZFState()
    /// Scratch for blobs built before they are written (listpacks, intsets).
    private var blob: UnsafeMutableRawPointer? = nil
    private var blobCapacity = 0

    /// fdatasync after this many bytes written (rdb-save-incremental-fsync and
    /// aof-rewrite-incremental-fsync: Redis's rioSetAutoSync, 4 MB), 0 = never: a big save
    /// then does not leave gigabytes for one final fsync to push at once.
    var autoSyncBytes = 0
    private var unsynced = 0

    private func wrote(_ n: Int) {
        guard autoSyncBytes > 0 else { return }
        unsynced += n
        if unsynced >= autoSyncBytes {
            _ = fdatasync(fd)
            unsynced = 0
        }
    }

    init(fd: Int32 = -1, compress: Bool) {
        self.fd = fd
        self.compress = compress
        capacity = fd >= 0 ? 1 << 16 : 256
        buffer = malloc(capacity)!
    }

    deinit {
        free(buffer)
        free(blob)
    }

    /// Builds a blob of exactly `n` bytes in scratch memory and writes it as a string.
    func blobString(_ n: Int, _ body: (UnsafeMutableRawPointer) -> Void) {
        if n > blobCapacity {
            free(blob)
            blobCapacity = max(n, 256)
            blob = malloc(blobCapacity)!
        }
        body(blob!)
        string(UnsafeRawBufferPointer(start: blob, count: n))
    }

    var totalBytes: Int { flushed + used }

    private func grow(_ extra: Int) {
        if fd >= 0 && used > 0 {
            flush()
            if extra <= capacity { return }
        }
        if used + extra > capacity {
            capacity = max(capacity * 2, used + extra)
            buffer = realloc(buffer, capacity)!
        }
    }

    /// Sends the buffer to the file (no-op in memory mode).
    func flush() {
        guard fd >= 0, used > 0 else { return }
        crc = CRC64.update(crc, UnsafeRawBufferPointer(start: buffer, count: used))
        if writeErrno == 0 {
            var off = 0
            while off < used {
                let n = write(fd, buffer + off, used - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    writeErrno = errno
                    break
                }
                off += n
            }
            wrote(off)
        }
        flushed += used
        used = 0
    }

    /// The bytes written so far (memory mode).
    var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: buffer, count: used)) }

    /// CRC64 of everything written (memory mode: computed now).
    func checksum() -> UInt64 {
        if fd >= 0 { flush(); return crc }
        return CRC64.update(0, UnsafeRawBufferPointer(start: buffer, count: used))
    }

    @inline(__always) func byte(_ b: UInt8) {
        if used + 1 > capacity { grow(1) }
        buffer.storeBytes(of: b, toByteOffset: used, as: UInt8.self)
        used += 1
    }

    func raw(_ b: UnsafeRawBufferPointer) {
        guard b.count > 0 else { return }
        if fd >= 0 && b.count >= capacity {
            flush()
            // Large blocks go straight through the checksum and the file.
            crc = CRC64.update(crc, b)
            if writeErrno == 0 {
                var off = 0
                while off < b.count {
                    let n = write(fd, b.baseAddress! + off, b.count - off)
                    if n < 0 { if errno == EINTR { continue }; writeErrno = errno; break }
                    off += n
                }
                wrote(off)
            }
            flushed += b.count
            return
        }
        if used + b.count > capacity { grow(b.count) }
        (buffer + used).copyMemory(from: b.baseAddress!, byteCount: b.count)
        used += b.count
    }

    func raw(_ b: [UInt8]) { b.withUnsafeBytes { raw($0) } }
    func raw(_ s: String) { var s = s; s.withUTF8 { raw(UnsafeRawBufferPointer($0)) } }

    /// Reserves `n` bytes and lets `body` fill them (listpack blobs built in place).
    func fill(_ n: Int, _ body: (UnsafeMutableRawPointer) -> Void) {
        if used + n > capacity { grow(n) }
        if used + n > capacity { capacity = used + n; buffer = realloc(buffer, capacity)! }
        body(buffer + used)
        used += n
    }

    func uint32LE(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { raw($0) } }
    func uint64LE(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { raw($0) } }
    func millisecondTime(_ t: Int64) { uint64LE(UInt64(bitPattern: t)) }
    func binaryDouble(_ d: Double) { uint64LE(d.bitPattern) }

    /// rdbSaveLen.
    func length(_ n: Int) {
        if n < 1 << 6 {
            byte(UInt8(n))
        } else if n < 1 << 14 {
            byte(UInt8((n >> 8) | 0x40))
            byte(UInt8(n & 0xFF))
        } else if n <= Int(UInt32.max) {
            byte(RDB.len32bit)
            withUnsafeBytes(of: UInt32(n).bigEndian) { raw($0) }
        } else {
            byte(RDB.len64bit)
            withUnsafeBytes(of: UInt64(n).bigEndian) { raw($0) }
        }
    }

    /// rdbEncodeInteger: the special int8/16/32 encodings; false when `v` needs more.
    func encodedInteger(_ v: Int) -> Bool {
        if v >= -(1 << 7) && v <= (1 << 7) - 1 {
            byte(RDB.encVal << 6 | UInt8(RDB.encInt8))
            byte(UInt8(truncatingIfNeeded: v))
        } else if v >= -(1 << 15) && v <= (1 << 15) - 1 {
            byte(RDB.encVal << 6 | UInt8(RDB.encInt16))
            byte(UInt8(truncatingIfNeeded: v))
            byte(UInt8(truncatingIfNeeded: v >> 8))
        } else if v >= -(1 << 31) && v <= (1 << 31) - 1 {
            byte(RDB.encVal << 6 | UInt8(RDB.encInt32))
            uint32LE(UInt32(bitPattern: Int32(v)))
        } else {
            return false
        }
        return true
    }

    /// rdbSaveRawString: integer-encoded when the text is a canonical int32, LZF when
    /// compression is on and it pays (over 20 bytes), else length + bytes.
    func string(_ s: UnsafeRawBufferPointer) {
        let n = s.count
        if n <= 11, let v = parseStrictInt(s), encodedInteger(v) { return }
        if compress && n > 20, let c = LZF.compress(s, limit: n - 4, state: lzf) {
            byte(RDB.encVal << 6 | UInt8(RDB.encLZF))
            length(c.count)
            length(n)
            raw(c)
            return
        }
        length(n)
        raw(s)
    }

    func string(_ b: [UInt8]) { b.withUnsafeBytes { string($0) } }
    func string(_ s: String) { var s = s; s.withUTF8 { string(UnsafeRawBufferPointer($0)) } }

    /// rdbSaveAuxFieldStrStr.
    func aux(_ key: String, _ value: String) {
        byte(RDB.opAux)
        string(key)
        string(value)
    }
}
