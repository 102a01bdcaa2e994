import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A tick counter (TSC) for timing commands: a few cycles to read, where clock_gettime per
/// command cost ~19% of user time at pipelined load.
@inline(__always) func cycleCount() -> UInt64 { UInt64(ruv_cycles()) }

/// Ticks per microsecond, measured once against CLOCK_MONOTONIC (20 ms).
let cyclesPerMicrosecond: Double = {
    let t0 = monotonicUs()
    let c0 = cycleCount()
    var t1 = t0
    while t1 - t0 < 20_000 { t1 = monotonicUs() }
    let c1 = cycleCount()
    return Swift.max(1e-3, Double(c1 &- c0) / Double(t1 - t0))
}()
