/// Active expiry (Redis's activeExpireCycle, expire.c): keys whose TTL passed are found
/// and deleted without anyone touching them, so their memory comes back.
///
/// The slow cycle runs from the cron at `hz` within 25% of the cron period; a fast cycle
/// (at most 1 ms) runs before the loop sleeps, but only when the last slow cycle ran out
/// of time. In each database keys with a TTL are checked 20 at a time, resuming where
/// the previous check stopped, and the database is worked on again while more than 10% of
/// a batch had expired. active-expire-effort scales all of these up.
///
/// Redis walks the buckets of its expires dict with db->expires_cursor; here the
/// database's `volatile` array plays that role, walked by `Database.expireCursor`.
final class ActiveExpireState {
    /// The next database to look at (Redis's static current_db).
    var nextDB = 0
    /// The last cycle stopped on its time limit (Redis's static timelimit_exit).
    var timeLimitExit = false
    /// When the last fast cycle started, µs.
    var lastFastCycleUs: Int64 = 0
    /// Running estimate of the share of sampled keys already expired
    /// (Redis's stat_expired_stale_perc, a fraction despite its name).
    var stalePerc: Double = 0
    /// Total time spent in expiry cycles, µs (INFO expire_cycle_cpu_milliseconds).
    var cycleTimeUsedUs: Int64 = 0
}

enum ExpireCycleKind {
    case slow, fast
}

extension Server {
    /// Redis's CRON_DBS_PER_CALL.
    static let expireDBsPerCall = 16

    func activeExpireCycle(_ kind: ExpireCycleKind = .slow) {
        let st = activeExpire
        let effort = config.activeExpireEffort - 1
        let keysPerLoop = 20 + 20 / 4 * effort
        let fastDurationUs = Int64(1000 + 1000 / 4 * effort)
        let slowTimePerc = Int64(25 + 2 * effort)
        let acceptableStale = 10 - effort

        if kind == .fast {
            // Redis compares the stale fraction with a percentage here, so in practice a
            // fast cycle only follows a slow cycle that hit its time limit.
            if !st.timeLimitExit && st.stalePerc < Double(acceptableStale) { return }
        }
        let start = wallClockUs()
        if kind == .fast {
            if start < st.lastFastCycleUs + fastDurationUs * 2 { return }
            st.lastFastCycleUs = start
        }

        var dbsPerCall = Server.expireDBsPerCall
        if dbsPerCall > dbs.count || st.timeLimitExit { dbsPerCall = dbs.count }
        var timeLimitUs = kind == .fast ? fastDurationUs : slowTimePerc * 1_000_000 / Int64(Swift.max(1, config.hz)) / 100
        if timeLimitUs <= 0 { timeLimitUs = 1 }
        st.timeLimitExit = false

        var totalSampled = 0
        var totalExpired = 0
        var iteration = 0
        var j = 0
        while j < dbsPerCall && !st.timeLimitExit {
            let db = dbs[st.nextDB % dbs.count]
            st.nextDB = (st.nextDB + 1) % dbs.count
            j += 1
            var sampled = 0
            var expired = 0
            repeat {
                iteration += 1
                if db.volatileCount == 0 {
                    db.avgTTL = 0
                    break
                }
                (sampled, expired) = expireBatch(db, limit: Swift.min(db.volatileCount, keysPerLoop))
                totalSampled += sampled
                totalExpired += expired
                if iteration & 0xF == 0 && wallClockUs() - start > timeLimitUs {
                    st.timeLimitExit = true
                    stats.expiredTimeCapReached += 1
                    break
                }
            } while sampled == 0 || expired * 100 / sampled > acceptableStale
        }

        st.cycleTimeUsedUs += wallClockUs() - start
        let current = totalSampled > 0 ? Double(totalExpired) / Double(totalSampled) : 0
        st.stalePerc = current * 0.05 + st.stalePerc * 0.95
    }

    /// Checks up to `limit` keys with a TTL from the database's expiry cursor on, deleting
    /// the expired ones and folding the others' TTLs into avg_ttl. Returns (sampled, expired).
    private func expireBatch(_ db: Database, limit: Int) -> (Int, Int) {
        let now = wallClockMs()
        var sampled = 0
        var expired = 0
        var ttlSum: Int64 = 0
        var ttlSamples: Int64 = 0
        while sampled < limit && db.volatileCount > 0 {
            if db.expireCursor >= db.volatileCount { db.expireCursor = 0 }
            let v = db.volatile[db.expireCursor]
            let ttl = v.expireAt - now
            if now > v.expireAt {
                // The last entry moves into this slot, so the cursor stays put.
                db.deleteExpired(v.entry)  // `expired` event and signalModifiedKey, as Redis
                expired += 1
            } else {
                db.expireCursor += 1
            }
            if ttl > 0 {
                ttlSum += ttl
                ttlSamples += 1
            }
            sampled += 1
        }
        if ttlSamples > 0 {
            // Running average: 2% this sample, 98% history.
            let avg = ttlSum / ttlSamples
            if db.avgTTL == 0 { db.avgTTL = avg }
            db.avgTTL = (db.avgTTL / 50) * 49 + avg / 50
        }
        return (sampled, expired)
    }
}
