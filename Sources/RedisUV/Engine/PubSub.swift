#if canImport(Glibc)
import Glibc
#endif

/// Pub/sub (Redis 7.0's pubsub.c and notify.c): the server's channel → subscribers and
/// pattern → subscribers maps, each client's own subscriptions, message delivery, and
/// keyspace notifications published through it.
///
/// Delivery order is Redis 7.0's: a channel's subscribers in the order they subscribed
/// (7.0 keeps them in a list), then every matching pattern's subscribers. Patterns are
/// walked in the order they were first subscribed (Redis walks its dict, whose order is
/// seeded at random per process, so no client can rely on an order between patterns).

/// One channel (or pattern, or shard channel) with at least one subscriber.
final class PubSubChannel {
    let name: [UInt8]
    let hash: UInt64
    /// In subscription order. Strong references: a client leaves every channel before it
    /// is forgotten (Server.forgetClient).
    var subscribers: [Client] = []
    /// The next channel whose name has the same 64-bit hash (practically never set).
    var sameHash: PubSubChannel?

    init(name: [UInt8], hash: UInt64) {
        self.name = name
        self.hash = hash
    }
}

/// Channels by name. Looked up by the argument bytes without building a key: a Swift
/// Dictionary keyed by the 64-bit hash, chained on the (rare) collisions.
struct PubSubChannelMap {
    private var byHash: [UInt64: PubSubChannel] = [:]
    /// In creation order (PUBSUB CHANNELS; pattern matching on PUBLISH).
    private(set) var ordered: [PubSubChannel] = []
    let seed: UInt64

    init(seed: UInt64) { self.seed = seed }

    var count: Int { ordered.count }
    var isEmpty: Bool { ordered.isEmpty }

    @inline(__always)
    func hash(_ name: UnsafeRawBufferPointer) -> UInt64 {
        hashKeyBytes(name.baseAddress, name.count, seed: seed)
    }

    @inline(__always)
    func find(_ name: UnsafeRawBufferPointer) -> PubSubChannel? {
        if byHash.isEmpty { return nil }
        var ch = byHash[hash(name)]
        while let c = ch {
            if c.name.withUnsafeBytes({ bytesEqual($0, name) }) { return c }
            ch = c.sameHash
        }
        return nil
    }

    mutating func findOrInsert(_ name: UnsafeRawBufferPointer) -> PubSubChannel {
        if let c = find(name) { return c }
        let h = hash(name)
        let c = PubSubChannel(name: Array(name), hash: h)
        c.sameHash = byHash[h]
        byHash[h] = c
        ordered.append(c)
        return c
    }

    mutating func remove(_ ch: PubSubChannel) {
        if byHash[ch.hash] === ch {
            byHash[ch.hash] = ch.sameHash
        } else {
            var prev = byHash[ch.hash]
            while let p = prev, p.sameHash !== ch { prev = p.sameHash }
            prev?.sameHash = ch.sameHash
        }
        ch.sameHash = nil
        if let i = ordered.firstIndex(where: { $0 === ch }) { ordered.remove(at: i) }
    }
}

/// The server's side (Redis's server.pubsub_channels, pubsub_patterns,
/// pubsubshard_channels), plus scratch buffers reused by every publish.
final class PubSubState {
    var channels: PubSubChannelMap
    var patterns: PubSubChannelMap
    var shardChannels: PubSubChannelMap
    /// A message's bytes after its aggregate header, built once per publish.
    var body = ByteBuffer()
    /// The `$len channel $len message` tail shared by every pmessage of one publish.
    var tail = ByteBuffer()
    /// A keyspace notification's channel name.
    var eventChannel = ByteBuffer()

    init(seed: UInt64) {
        channels = PubSubChannelMap(seed: seed)
        patterns = PubSubChannelMap(seed: seed ^ 0x5bd1_e995)
        shardChannels = PubSubChannelMap(seed: seed ^ 0x27d4_eb2f)
    }

    deinit {
        body.release()
        tail.release()
        eventChannel.release()
    }
}

/// What one client is subscribed to (Redis's c->pubsub_channels, pubsub_patterns,
/// pubsubshard_channels), in subscription order. Exists only while the client is
/// subscribed to something: `Client.pubsub != nil` is Redis's CLIENT_PUBSUB flag.
final class ClientPubSub {
    var channels: [PubSubChannel] = []
    var patterns: [PubSubChannel] = []
    var shardChannels: [PubSubChannel] = []

    /// Redis's clientSubscriptionsCount: channels + patterns (what the confirmations count).
    var count: Int { channels.count + patterns.count }
    var total: Int { channels.count + patterns.count + shardChannels.count }
}

/// Which of the three subscription spaces a command works on.
enum PubSubKind {
    case channel, pattern, shard

    var subscribeWord: StaticString {
        switch self {
        case .channel: return "$9\r\nsubscribe\r\n"
        case .pattern: return "$10\r\npsubscribe\r\n"
        case .shard: return "$10\r\nssubscribe\r\n"
        }
    }
    var unsubscribeWord: StaticString {
        switch self {
        case .channel: return "$11\r\nunsubscribe\r\n"
        case .pattern: return "$12\r\npunsubscribe\r\n"
        case .shard: return "$12\r\nsunsubscribe\r\n"
        }
    }
}

extension Client {
    /// The subscription list of one kind (nil when not subscribed to anything).
    @inline(__always)
    fileprivate func subscriptions(_ kind: PubSubKind) -> [PubSubChannel] {
        guard let ps = pubsub else { return [] }
        switch kind {
        case .channel: return ps.channels
        case .pattern: return ps.patterns
        case .shard: return ps.shardChannels
        }
    }

    /// `*3`/`>3` header: RESP3 clients get pub/sub traffic as push messages.
    @inline(__always)
    fileprivate func addPushHeader3() {
        if resp == 2 { out.append("*3\r\n") } else { out.append(">3\r\n") }
    }

    /// The count in (un)subscribe confirmations: shard ones count shard channels only.
    fileprivate func subscriptionCount(_ kind: PubSubKind) -> Int {
        guard let ps = pubsub else { return 0 }
        return kind == .shard ? ps.shardChannels.count : ps.count
    }
}

extension Server {
    // MARK: subscribing

    private func map(_ kind: PubSubKind) -> PubSubChannelMap {
        switch kind {
        case .channel: return pubsub.channels
        case .pattern: return pubsub.patterns
        case .shard: return pubsub.shardChannels
        }
    }

    /// Redis's pubsubSubscribeChannel / pubsubSubscribePattern: adds the subscription if
    /// new, and always confirms it.
    func pubsubSubscribe(_ c: Client, _ name: UnsafeRawBufferPointer, _ kind: PubSubKind) {
        let ps: ClientPubSub
        if let existing = c.pubsub { ps = existing } else { ps = ClientPubSub(); c.pubsub = ps }
        let ch: PubSubChannel
        switch kind {
        case .channel: ch = pubsub.channels.findOrInsert(name)
        case .pattern: ch = pubsub.patterns.findOrInsert(name)
        case .shard: ch = pubsub.shardChannels.findOrInsert(name)
        }
        if !ch.subscribers.contains(where: { $0 === c }) {
            ch.subscribers.append(c)
            switch kind {
            case .channel: ps.channels.append(ch)
            case .pattern: ps.patterns.append(ch)
            case .shard: ps.shardChannels.append(ch)
            }
        }
        c.addPushHeader3()
        c.out.append(kind.subscribeWord)
        c.addReplyBulk(name)
        c.addReplyInt(c.subscriptionCount(kind))
    }

    /// Redis's pubsubUnsubscribeChannel / pubsubUnsubscribePattern: removes the
    /// subscription if present; confirms when `notify`. Returns whether it was there.
    @discardableResult
    func pubsubUnsubscribe(_ c: Client, _ name: UnsafeRawBufferPointer, _ kind: PubSubKind, notify: Bool) -> Bool {
        var removed = false
        if let ps = c.pubsub, let ch = map(kind).find(name),
           let i = ch.subscribers.firstIndex(where: { $0 === c }) {
            removed = true
            ch.subscribers.remove(at: i)
            switch kind {
            case .channel: ps.channels.removeAll { $0 === ch }
            case .pattern: ps.patterns.removeAll { $0 === ch }
            case .shard: ps.shardChannels.removeAll { $0 === ch }
            }
            if ch.subscribers.isEmpty {
                switch kind {
                case .channel: pubsub.channels.remove(ch)
                case .pattern: pubsub.patterns.remove(ch)
                case .shard: pubsub.shardChannels.remove(ch)
                }
            }
        }
        if notify {
            c.addPushHeader3()
            c.out.append(kind.unsubscribeWord)
            c.addReplyBulk(name)
            c.addReplyInt(c.subscriptionCount(kind))
        }
        return removed
    }

    /// Redis's pubsubUnsubscribeAllChannels / ...AllPatterns / ...ShardAllChannels: one
    /// confirmation per subscription, or one with a null name when there was none.
    func pubsubUnsubscribeAll(_ c: Client, _ kind: PubSubKind, notify: Bool) {
        let list = c.subscriptions(kind)
        for ch in list {
            ch.name.withUnsafeBytes { _ = pubsubUnsubscribe(c, $0, kind, notify: notify) }
        }
        if notify && list.isEmpty {
            c.addPushHeader3()
            c.out.append(kind.unsubscribeWord)
            c.addReplyNull()
            c.addReplyInt(c.subscriptionCount(kind))
        }
    }

    /// Leaves Pub/Sub mode once nothing is left (Redis clears CLIENT_PUBSUB).
    func pubsubLeaveIfIdle(_ c: Client) {
        if let ps = c.pubsub, ps.total == 0 { c.pubsub = nil }
    }

    /// Every subscription dropped without confirmations (RESET, a client going away).
    func pubsubUnsubscribeEverything(_ c: Client) {
        guard c.pubsub != nil else { return }
        pubsubUnsubscribeAll(c, .channel, notify: false)
        pubsubUnsubscribeAll(c, .shard, notify: false)
        pubsubUnsubscribeAll(c, .pattern, notify: false)
        c.pubsub = nil
    }

    // MARK: publishing

    /// Redis's pubsubPublishMessage: delivers to the channel's subscribers, then (not for
    /// shard channels) to the subscribers of every matching pattern. Returns the number
    /// of deliveries. Each message's bytes are built once; a subscriber gets them with a
    /// `*`/`>` header for its protocol, one copy.
    func publishMessage(_ channel: UnsafeRawBufferPointer, _ message: UnsafeRawBufferPointer, shard: Bool = false) -> Int {
        var receivers = 0
        let state = pubsub
        if let ch = shard ? state.shardChannels.find(channel) : state.channels.find(channel) {
            state.body.count = 0
            state.body.append(shard ? "$8\r\nsmessage\r\n" : "$7\r\nmessage\r\n")
            appendBulk(&state.body, channel)
            appendBulk(&state.body, message)
            let body = state.body.bytes
            for sub in ch.subscribers {
                receivers &+= 1
                deliver(sub, header: "3\r\n", body, nil)
            }
        }
        if shard || state.patterns.isEmpty { return receivers }
        var tailBuilt = false
        for pat in state.patterns.ordered {
            let matched = pat.name.withUnsafeBytes { globMatch(pattern: $0, string: channel) }
            if !matched { continue }
            if !tailBuilt {
                state.tail.count = 0
                appendBulk(&state.tail, channel)
                appendBulk(&state.tail, message)
                tailBuilt = true
            }
            state.body.count = 0
            state.body.append("$8\r\npmessage\r\n")
            pat.name.withUnsafeBytes { appendBulk(&state.body, $0) }
            let head = state.body.bytes
            let tail = state.tail.bytes
            for sub in pat.subscribers {
                receivers &+= 1
                deliver(sub, header: "4\r\n", head, tail)
            }
        }
        return receivers
    }

    @inline(__always)
    private func deliver(_ sub: Client, header: StaticString, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer?) {
        // A client already condemned by its output limit gets nothing more (Redis's
        // prepareClientToWrite refuses CLIENT_CLOSE_ASAP clients), but still counts.
        if sub.flags.contains(.closeASAP) { return }
        sub.out.append(byte: sub.resp == 2 ? UInt8(ascii: "*") : UInt8(ascii: ">"))
        sub.out.append(header)
        sub.out.append(a)
        if let b { sub.out.append(b) }
        scheduleWrite(sub)
        checkOutputLimits(sub)
    }

    @inline(__always)
    private func appendBulk(_ buf: inout ByteBuffer, _ b: UnsafeRawBufferPointer) {
        buf.append(byte: UInt8(ascii: "$"))
        buf.appendDecimal(b.count)
        buf.append("\r\n")
        buf.append(b)
        buf.append("\r\n")
    }

    // MARK: keyspace notifications

    /// Redis's notifyKeyspaceEvent tail (notify.c), once notifyKeyspaceEvent checked that
    /// `type` and K or E are enabled: `__keyspace@<db>__:<key>` gets the event name,
    /// `__keyevent@<db>__:<event>` gets the key.
    func publishKeyspaceEvent(_ type: Int, _ event: StaticString, _ key: UnsafeRawBufferPointer, _ dbid: Int) {
        let flags = config.notifyKeyspaceEvents
        let eventBytes = UnsafeRawBufferPointer(start: event.utf8Start, count: event.utf8CodeUnitCount)
        if pubsub.channels.isEmpty && pubsub.patterns.isEmpty { return }  // nobody to tell
        if flags & KeyspaceEventFlags.keyspace != 0 {
            pubsub.eventChannel.count = 0
            pubsub.eventChannel.append("__keyspace@")
            pubsub.eventChannel.appendDecimal(dbid)
            pubsub.eventChannel.append("__:")
            pubsub.eventChannel.append(key)
            _ = publishMessage(pubsub.eventChannel.bytes, eventBytes)
        }
        if flags & KeyspaceEventFlags.keyevent != 0 {
            pubsub.eventChannel.count = 0
            pubsub.eventChannel.append("__keyevent@")
            pubsub.eventChannel.appendDecimal(dbid)
            pubsub.eventChannel.append("__:")
            pubsub.eventChannel.append(eventBytes)
            _ = publishMessage(pubsub.eventChannel.bytes, key)
        }
    }

    // MARK: output limits

    /// Soft limits are also checked from cron (Redis's clientsCron), so a subscriber that
    /// stopped reading is closed even when nothing more is published to it.
    func pubsubCron() {
        if pubsub.channels.isEmpty && pubsub.patterns.isEmpty && pubsub.shardChannels.isEmpty { return }
        for c in clients.values where c.pubsub != nil && !c.flags.contains(.closeASAP) {
            checkOutputLimits(c, async: false)
            if c.flags.contains(.closeASAP) { scheduleWrite(c) }
        }
    }
}
