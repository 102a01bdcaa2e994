/// A uniformly random entry of a chained hash table (what Redis's dictGetFairRandomKey
/// aims at). A random bucket is accepted with probability chain length / 4, then a random
/// element of its chain is taken, so every element has the same chance as long as no
/// chain is longer than 4 (at these tables' load factor of at most 1, nearly never).
/// Picking a random bucket and then a random element of its chain without that
/// acceptance step favours elements in short chains; Redis's sample of 15 entries from
/// consecutive buckets still does (chi-square about 130 for 100 elements where 100 is
/// fair; this stays near 100). `head(i)` is bucket i's first entry, `next` the chain
/// link, `below(n)` a random number in 0..<n. The table must not be empty.
@inline(__always)
func fairRandomEntry<P>(count: Int, mask: Int, head: (Int) -> P?, next: (P) -> P?, below: (Int) -> Int) -> P {
    let longest = 4
    var tries = 0
    while true {
        tries += 1
        guard let first = head(below(mask + 1)) else { continue }
        var len = 1
        var e = next(first)
        while let cur = e { len += 1; e = next(cur) }
        // After many refusals (a table much emptier than its buckets), take what comes.
        if len < longest && below(longest) >= len && tries < 1000 { continue }
        var k = below(len)
        var pick = first
        while k > 0 { pick = next(pick)!; k -= 1 }
        return pick
    }
}
