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

/// Process-level controls Redis applies at start-up (Server/ProcessSettings.swift).
enum ProcessControl {
    /// Redis's setproctitle: the memory of argv (and the environment after it, once the
    /// environment has been moved away) that /proc/PID/cmdline shows. Claimed once.
    static func claimTitleArea() -> UnsafeMutableRawBufferPointer? {
        var len = 0
        guard let base = ruv_proc_title_area(CommandLine.argc, CommandLine.unsafeArgv, &len), len > 1 else { return nil }
        return UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(base), count: len)
    }

    /// prctl(PR_SET_THP_DISABLE, 1): no transparent huge pages for this process, so a
    /// fork's copy-on-write copies 4 KB pages, not 2 MB ones (Redis's disable-thp).
    static func disableTransparentHugePages() -> Bool { ruv_disable_thp() == 0 }
}
