/// Redis's dictGetFairRandomKey over a chained hash table: up to 15 entries sampled from
/// consecutive buckets starting at a random one (dictGetSomeKeys, which jumps elsewhere
/// after a run of empty buckets), then one of them uniformly. Picking a random bucket and
/// then a random element of its chain instead favours elements in short chains.
/// `head(i)` is bucket i's first entry, `next` the chain link, `below(n)` a random number
/// in 0..<n. The table must not be empty.
@inline(__always)
func fairRandomEntry<P>(count: Int, mask: Int, head: (Int) -> P?, next: (P) -> P?, below: (Int) -> Int) -> P {
    let wanted = Swift.min(15, count)
    return withUnsafeTemporaryAllocation(of: P.self, capacity: 15) { sample in
        var stored = 0
        var steps = wanted * 10
        var i = below(mask + 1)
        var emptyRun = 0
        sampling: while stored < wanted && steps > 0 {
            steps -= 1
            if let first = head(i) {
                emptyRun = 0
                var e: P? = first
                while let cur = e {
                    sample.initializeElement(at: stored, to: cur)
                    stored += 1
                    if stored == wanted { break sampling }
                    e = next(cur)
                }
            } else {
                emptyRun += 1
                if emptyRun >= 5 && emptyRun > wanted {
                    i = below(mask + 1)
                    emptyRun = 0
                }
            }
            i = (i + 1) & mask
        }
        if stored == 0 {
            // dictGetRandomKey: a random non-empty bucket, a random element of its chain.
            var first: P?
            repeat { first = head(below(mask + 1)) } while first == nil
            var len = 0
            var e = first
            while let cur = e { len += 1; e = next(cur) }
            var k = below(len)
            var pick = first!
            while k > 0 { pick = next(pick)!; k -= 1 }
            return pick
        }
        let pick = sample[below(stored)]
        _ = sample.baseAddress.map { $0.deinitialize(count: stored) }
        return pick
    }
}
