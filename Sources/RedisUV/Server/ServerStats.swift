/// INFO stats counters (Redis's server.stat_*).
final class ServerStats {
    var totalCommands = 0
    var totalConnections = 0
    var rejectedConnections = 0
    var errorReplies = 0
    /// Error replies by their code ("ERR", "WRONGTYPE", ...), for INFO errorstats.
    var errorCodes: [String: Int] = [:]
    var netInputBytes = 0
    var netOutputBytes = 0
    var expiredTimeCapReached = 0
    var keyspace = KeyspaceStats()

    func noteErrorReply(_ text: String) {
        errorReplies &+= 1
        // "-WRONGTYPE Operation..." → "WRONGTYPE"
        let body = text.utf8.dropFirst()
        let code = body.prefix { $0 != 32 }
        errorCodes[String(decoding: code, as: UTF8.self), default: 0] += 1
    }

    func reset() {
        totalCommands = 0
        totalConnections = 0
        rejectedConnections = 0
        errorReplies = 0
        errorCodes = [:]
        netInputBytes = 0
        netOutputBytes = 0
        expiredTimeCapReached = 0
        keyspace.hits = 0
        keyspace.misses = 0
        keyspace.expiredKeys = 0
        keyspace.expiredStaleSamples = 0
    }
}
