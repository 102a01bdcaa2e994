import CLibUV

/// glibc allocator figures, through the C shim (mallinfo2 and malloc_usable_size are
/// not visible to Swift's Glibc module).
enum Allocator {
    /// Bytes in use (uordblks + hblkhd) and obtained from the system (arena + hblkhd).
    static func totals() -> (used: Int, active: Int) {
        var used = 0, obtained = 0
        ruv_malloc_totals(&used, &obtained)
        return (used, obtained)
    }

    /// Starts fetching the memory at `p` into the cache without waiting for it.
    @inline(__always) static func prefetch(_ p: UnsafeRawPointer) { ruv_prefetch(p) }

    /// The bytes really reserved for an allocation.
    static func usableSize(_ p: UnsafeRawPointer) -> Int {
        ruv_malloc_usable_size(UnsafeMutableRawPointer(mutating: p))
    }
}
