/// The replica's side of the link to its master as side-effect-free state machines (the
/// REPL_STATE_* steps of Redis 7.0's syncWithMaster, readSyncBulkPayload and the timeouts of
/// replicationCron): events go in (connected, a reply line, a clock tick), actions come out
/// (send these commands, log this, the sync can start, give up and retry later). The driver
/// (ReplicaSide.swift) owns the socket, the file and the clock; tests drive these with a
/// fake clock and no sockets.
struct ReplicaHandshake {
    struct Settings: Equatable {
        var masterauth: String? = nil
        var masteruser: String? = nil
        /// What REPLCONF listening-port announces (replica-announce-port, else our port).
        var listeningPort: Int = 6379
        /// replica-announce-ip: sent as REPLCONF ip-address when set.
        var announceIP: String? = nil
        /// The history to continue (Redis's cached master): its replid and the offset of
        /// the last byte we have; nil sends PSYNC ? -1.
        var cachedReplid: [UInt8]? = nil
        var cachedOffset: Int64 = -1
        /// repl-timeout, seconds.
        var timeoutSeconds: Int = 60
        /// We are failing over to this master (FAILOVER): PSYNC carries FAILOVER, and a
        /// refusal ends the failover instead of falling back to SYNC.
        var failover = false
    }

    /// Where the link stands (Redis's repl_state). INFO and ROLE name these through `roleName`.
    enum Step: Equatable {
        /// The TCP connection is being made (REPL_STATE_CONNECTING).
        case connecting
        case receivePong
        case receiveAuth
        case receivePort
        case receiveIP
        case receiveCapa
        case receivePsync
        /// The RDB payload is being received (REPL_STATE_TRANSFER).
        case transfer
        /// Synced: the link carries the command stream (REPL_STATE_CONNECTED).
        case connected
        /// Given up: the driver closes the link and reconnects from the cron.
        case failed
    }

    enum LogLevel: Equatable { case notice, warning }

    /// How the master answered PSYNC (or SYNC).
    enum SyncKind: Equatable {
        /// +FULLRESYNC <replid> <offset>: an RDB follows, then the stream from `offset`.
        /// A malformed reply gives an all-zero replid and offset -1, as Redis keeps.
        case full(replid: [UInt8], offset: Int64)
        /// +CONTINUE [<replid>]: the stream follows at once. `newReplid` is set when the
        /// master announced a history other than the cached one.
        case partial(newReplid: [UInt8]?)
        /// PSYNC not understood: SYNC was sent, an RDB follows, offsets are unknown.
        case legacy
    }

    enum Action: Equatable {
        /// Commands to write, each as its arguments (sent as multibulk).
        case send([[String]])
        /// Raw bytes to write (the legacy inline "SYNC\r\n").
        case sendRaw(String)
        case log(LogLevel, String)
        /// The handshake is over; what follows on the socket is described by the kind.
        case sync(SyncKind)
        /// Close the link; the cron reconnects (Redis's `goto error` / cancelReplicationHandshake).
        case abort
        /// The failover target refused PSYNC FAILOVER: the failover is aborted.
        case failoverRejected
    }

    let settings: Settings
    private(set) var step: Step = .connecting
    /// Last I/O on the link, ms (Redis's repl_transfer_lastio during the handshake and the
    /// transfer, the master client's lastinteraction once connected).
    private(set) var lastIO: Int64

    init(settings: Settings, now: Int64) {
        self.settings = settings
        lastIO = now
    }

    /// ROLE's state name for this step (Redis: "handshake" for every handshake step).
    var roleName: String {
        switch step {
        case .connecting: return "connecting"
        case .transfer: return "sync"
        case .connected: return "connected"
        case .failed: return "connect"
        default: return "handshake"
        }
    }

    var inHandshake: Bool {
        switch step {
        case .receivePong, .receiveAuth, .receivePort, .receiveIP, .receiveCapa, .receivePsync: return true
        default: return false
        }
    }

    // MARK: events

    /// The non-blocking connect completed: send PING.
    mutating func connected(now: Int64) -> [Action] {
        guard step == .connecting else { return [] }
        lastIO = now
        step = .receivePong
        return [.log(.notice, "Non blocking connect for SYNC fired the event."), .send([["PING"]])]
    }

    /// The connect failed.
    mutating func connectFailed(_ reason: String, now: Int64) -> [Action] {
        step = .failed
        return [.log(.warning, "Error condition on socket for SYNC: \(reason)"), .abort]
    }

    /// The socket was closed by the other side (or a read failed) before we were synced.
    mutating func linkLost(now: Int64) -> [Action] {
        switch step {
        case .connected, .failed:
            return []
        case .transfer:
            step = .failed
            return [.log(.warning, "I/O error trying to sync with MASTER: connection lost"), .abort]
        default:
            step = .failed
            return [.log(.warning, "Master closed the connection during the handshake"), .abort]
        }
    }

    /// One reply line from the master (CRLF removed) during the handshake.
    mutating func receivedLine(_ line: String, now: Int64) -> [Action] {
        lastIO = now
        switch step {
        case .receivePong:
            if line.hasPrefix("-") && !line.hasPrefix("-NOAUTH") && !line.hasPrefix("-NOPERM")
                && !line.hasPrefix("-ERR operation not permitted") {
                step = .failed
                return [.log(.warning, "Error reply to PING from master: '\(line)'"), .abort]
            }
            var out: [Action] = [.log(.notice, "Master replied to PING, replication can continue...")]
            var cmds: [[String]] = []
            if let auth = settings.masterauth {
                cmds.append(["AUTH"] + (settings.masteruser.map { [$0] } ?? []) + [auth])
            }
            cmds.append(["REPLCONF", "listening-port", String(settings.listeningPort)])
            if let ip = settings.announceIP { cmds.append(["REPLCONF", "ip-address", ip]) }
            cmds.append(["REPLCONF", "capa", "eof", "capa", "psync2"])
            out.append(.send(cmds))
            step = settings.masterauth != nil ? .receiveAuth : .receivePort
            return out
        case .receiveAuth:
            if line.hasPrefix("-") {
                step = .failed
                return [.log(.warning, "Unable to AUTH to MASTER: \(line)"), .abort]
            }
            step = .receivePort
            return []
        case .receivePort:
            step = settings.announceIP != nil ? .receiveIP : .receiveCapa
            if line.hasPrefix("-") {
                return [.log(.notice, "(Non critical) Master does not understand REPLCONF listening-port: \(line)")]
            }
            return []
        case .receiveIP:
            step = .receiveCapa
            if line.hasPrefix("-") {
                return [.log(.notice, "(Non critical) Master does not understand REPLCONF ip-address: \(line)")]
            }
            return []
        case .receiveCapa:
            var out: [Action] = []
            if line.hasPrefix("-") {
                out.append(.log(.notice, "(Non critical) Master does not understand REPLCONF capa: \(line)"))
            }
            step = .receivePsync
            if let id = settings.cachedReplid {
                let replid = String(decoding: id, as: UTF8.self)
                let offset = String(settings.cachedOffset + 1)
                out.append(.log(.notice, "Trying a partial resynchronization (request \(replid):\(offset))."))
                out.append(.send([["PSYNC", replid, offset] + (settings.failover ? ["FAILOVER"] : [])]))
            } else {
                out.append(.log(.notice, "Partial resynchronization not possible (no cached master)"))
                out.append(.send([["PSYNC", "?", "-1"] + (settings.failover ? ["FAILOVER"] : [])]))
            }
            return out
        case .receivePsync:
            return psyncReply(line)
        default:
            return []
        }
    }

    /// slaveTryPartialResynchronization's reading half.
    private mutating func psyncReply(_ reply: String) -> [Action] {
        // Newlines are the master's keepalive while it prepares its answer.
        if reply.isEmpty { return [] }
        if reply.hasPrefix("+FULLRESYNC") {
            let parts = reply.split(separator: " ", omittingEmptySubsequences: false)
            step = .transfer
            if parts.count >= 3 && parts[1].utf8.count == 40 {
                let id = Array(parts[1].utf8)
                let offset = Int64(parts[2]) ?? 0
                return [.log(.notice, "Full resync from master: \(parts[1]):\(offset)"),
                        .sync(.full(replid: id, offset: offset))]
            }
            return [.log(.warning, "Master replied with wrong +FULLRESYNC syntax."),
                    .sync(.full(replid: Array(repeating: 0, count: 40), offset: -1))]
        }
        if reply.hasPrefix("+CONTINUE") {
            step = .connected
            var out: [Action] = [.log(.notice, "Successful partial resynchronization with master.")]
            var newID: [UInt8]? = nil
            let rest = Array(reply.utf8.dropFirst(10))
            if rest.count == 40 && rest != settings.cachedReplid {
                newID = rest
                out.append(.log(.warning, "Master replication ID changed to \(String(decoding: rest, as: UTF8.self))"))
            }
            out.append(.sync(.partial(newReplid: newID)))
            out.append(.log(.notice, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."))
            return out
        }
        if reply.hasPrefix("-NOMASTERLINK") || reply.hasPrefix("-LOADING") {
            step = .failed
            return [.log(.notice, "Master is currently unable to PSYNC but should be in the future: \(reply)"), .abort]
        }
        var out: [Action] = []
        if reply.hasPrefix("-ERR") {
            out.append(.log(.notice, "Master does not support PSYNC or is in error state (reply: \(reply))"))
        } else {
            out.append(.log(.warning, "Unexpected reply to PSYNC from master: \(reply)"))
        }
        if settings.failover {
            step = .failed
            out.append(.failoverRejected)
            return out
        }
        out.append(.log(.notice, "Retrying with SYNC..."))
        out.append(.sendRaw("SYNC\r\n"))
        out.append(.sync(.legacy))
        step = .transfer
        return out
    }

    /// Bytes of the payload (or a keepalive newline) arrived.
    mutating func transferProgress(now: Int64) { lastIO = now }

    /// The RDB was received and loaded: the link now carries the stream.
    mutating func synced(now: Int64) {
        step = .connected
        lastIO = now
    }

    /// Data from the master once connected (the master client's lastinteraction).
    mutating func masterIO(now: Int64) { lastIO = now }

    /// The periodic check (replicationCron): repl-timeout on every phase.
    mutating func tick(now: Int64) -> [Action] {
        let idle = now - lastIO
        guard idle > Int64(settings.timeoutSeconds) * 1000 else { return [] }
        switch step {
        case .connecting, .receivePong, .receiveAuth, .receivePort, .receiveIP, .receiveCapa, .receivePsync:
            step = .failed
            return [.log(.warning, "Timeout connecting to the MASTER..."), .abort]
        case .transfer:
            step = .failed
            return [.log(.warning, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value."), .abort]
        case .connected:
            step = .failed
            return [.log(.warning, "MASTER timeout: no data nor PING received..."), .abort]
        case .failed:
            return []
        }
    }
}

/// The RDB payload that follows +FULLRESYNC (or SYNC): `$<len>\r\n` and that many bytes, or
/// the diskless `$EOF:<40 bytes>\r\n` ... `<the same 40 bytes>` (Redis's readSyncBulkPayload).
/// Payload bytes go to a sink; the bytes after the payload belong to the command stream.
struct RDBPayloadReceiver {
    enum Event: Equatable {
        case log(String)
        /// A newline the master sends as keepalive before the payload.
        case keepalive
        /// The transfer failed: log the text and drop the link.
        case failed(String)
        /// Every payload byte went to the sink; the stream starts `rest` bytes into the
        /// buffer last fed.
        case complete(rest: Int)
    }

    /// repl_transfer_size: -1 until the preamble is read, 0 for the EOF-mark form.
    private(set) var totalBytes: Int64 = -1
    /// repl_transfer_read.
    private(set) var readBytes: Int64 = 0
    private(set) var eofMark: [UInt8]? = nil
    private(set) var done = false
    /// The last up to 40 bytes, held back in the EOF-mark form until known not to be the mark.
    private var tail: [UInt8] = []
    private var line: [UInt8] = []
    /// "to disk" or "to parser", for the log lines.
    let destination: String

    init(destination: String = "to disk") { self.destination = destination }

    static let markLength = 40

    /// Consumes `buf`, handing payload bytes to `sink`. A sink error ends the transfer.
    mutating func feed(_ buf: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) -> String?) -> [Event] {
        var events: [Event] = []
        var i = 0
        let n = buf.count
        while i < n && !done {
            if totalBytes == -1 {
                // The preamble line (or keepalive newlines, or an error).
                guard let nl = (i..<n).first(where: { buf[$0] == 10 }) else {
                    line.append(contentsOf: buf[i..<n])
                    if line.count > 1024 { events.append(.failed("Bad protocol from MASTER: preamble too long")); done = true }
                    return events
                }
                line.append(contentsOf: buf[i..<nl])
                i = nl + 1
                if line.last == 13 { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                line.removeAll()
                if text.isEmpty {
                    events.append(.keepalive)
                    continue
                }
                if text.hasPrefix("-") {
                    events.append(.failed("MASTER aborted replication with an error: \(text.dropFirst())"))
                    done = true
                    return events
                }
                if !text.hasPrefix("$") {
                    events.append(.failed("Bad protocol from MASTER, the first byte is not '$' (we received '\(text)'), are you sure the host and port are right?"))
                    done = true
                    return events
                }
                let body = Array(text.utf8.dropFirst())
                if body.starts(with: Array("EOF:".utf8)) && body.count >= 4 + RDBPayloadReceiver.markLength {
                    eofMark = Array(body[4..<(4 + RDBPayloadReceiver.markLength)])
                    totalBytes = 0
                    events.append(.log("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF \(destination)"))
                } else {
                    totalBytes = Int64(String(decoding: body, as: UTF8.self)) ?? 0
                    events.append(.log("MASTER <-> REPLICA sync: receiving \(totalBytes) bytes from master \(destination)"))
                    if totalBytes <= 0 {
                        done = true
                        events.append(.complete(rest: i))
                        return events
                    }
                }
                continue
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buf[i..<n])
            if let mark = eofMark {
                readBytes += Int64(chunk.count)
                if let err = feedMarked(chunk, mark: mark, sink: sink) {
                    events.append(.failed(err))
                    done = true
                    return events
                }
                if done { events.append(.complete(rest: n)) }
                return events
            }
            let want = Int(min(Int64(chunk.count), totalBytes - readBytes))
            if let err = sink(UnsafeRawBufferPointer(rebasing: chunk[0..<want])) {
                events.append(.failed(err))
                done = true
                return events
            }
            readBytes += Int64(want)
            i += want
            if readBytes == totalBytes {
                done = true
                events.append(.complete(rest: i))
            }
        }
        return events
    }

    /// The EOF-mark form: everything but the last 40 bytes seen is payload; the transfer
    /// ends when those 40 bytes are the mark (Redis checks only the end of what arrived:
    /// the master sends nothing after the mark until we ACK).
    private mutating func feedMarked(_ chunk: UnsafeRawBufferPointer, mark: [UInt8], sink: (UnsafeRawBufferPointer) -> String?) -> String? {
        let m = RDBPayloadReceiver.markLength
        if chunk.count >= m {
            if !tail.isEmpty {
                if let e = tail.withUnsafeBytes({ sink($0) }) { return e }
                tail.removeAll(keepingCapacity: true)
            }
            let head = UnsafeRawBufferPointer(rebasing: chunk[0..<(chunk.count - m)])
            if !head.isEmpty, let e = sink(head) { return e }
            tail.append(contentsOf: chunk[(chunk.count - m)...])
        } else {
            tail.append(contentsOf: chunk)
            if tail.count > m {
                let extra = tail.count - m
                if let e = tail[0..<extra].withUnsafeBytes({ sink($0) }) { return e }
                tail.removeFirst(extra)
            }
        }
        if tail.count == m && tail == mark {
            done = true
            readBytes -= Int64(m)
            tail.removeAll()
        }
        return nil
    }
}
