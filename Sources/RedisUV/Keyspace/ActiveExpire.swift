/// Active expiry (Redis's activeExpireCycle, slow mode, run from the cron at `hz`):
/// sample keys with a TTL in each database, delete the expired ones, and keep going in a
/// database while more than 10% of a sample was stale, within a time budget of 25% of
/// the cron period. Memory of expired keys is reclaimed without anyone touching them.
extension Server {
    func activeExpireCycle() {
        let effort = config.activeExpireEffort - 1
        let keysPerLoop = 20 + 20 / 4 * effort
        let acceptableStale = 10 - effort
        let budgetUs = Int64(1_000_000 * (25 + 2 * effort) / Swift.max(1, config.hz) / 100)
        let start = wallClockUs()
        let now = cachedTimeMs
        var iterations = 0
        for db in dbs where db.volatileCount > 0 {
            while true {
                let num = Swift.min(db.volatileCount, keysPerLoop)
                if num == 0 { break }
                var expired = 0
                var ttlSum: Int64 = 0
                var ttlSamples: Int64 = 0
                for _ in 0..<num {
                    guard let e = db.randomVolatile() else { break }
                    if e.expireAt <= now {
                        db.delete(entry: e)
                        stats.keyspace.expiredKeys += 1
                        expired += 1
                    } else {
                        ttlSum += e.expireAt - now
                        ttlSamples += 1
                    }
                }
                if ttlSamples > 0 {
                    let avg = ttlSum / ttlSamples
                    db.avgTTL = db.avgTTL == 0 ? avg : (db.avgTTL / 50) * 49 + avg / 50
                }
                iterations += 1
                if iterations % 16 == 0 && wallClockUs() - start > budgetUs {
                    stats.expiredTimeCapReached += 1
                    return
                }
                if expired * 100 / num <= acceptableStale { break }
            }
        }
    }
}
