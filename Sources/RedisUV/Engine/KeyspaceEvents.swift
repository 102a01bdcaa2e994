/// The two calls every write makes, as in Redis: `signalModifiedKey` (WATCH invalidation,
/// and client-side caching in Redis) and `notifyKeyspaceEvent` (keyspace notifications
/// over pub/sub). Commands call both right after the change, with Redis's event names
/// (t_string.c, t_list.c, ...), so a reader can check one against the other.
extension Server {
    /// A key's value was changed, created, deleted or had its TTL changed (Redis's
    /// signalModifiedKey). Transactions that WATCH it will fail (Engine/Multi.swift).
    @inline(__always)
    func signalModifiedKey(_ db: Database, _ key: UnsafeRawBufferPointer) {
        touchWatchedKey(db, key)
    }

    /// A key was found expired and deleted (Redis's deleteExpiredKeyAndPropagate): the
    /// `expired` event, signalModifiedKey, then a DEL (UNLINK under lazyfree-lazy-expire)
    /// for replicas and the AOF: inside a command it goes before the command's own effect
    /// (both in one MULTI/EXEC), outside (active expiry) at once. A replica never gets
    /// here on its own: its keys expire when its master says so. Called by Database, on
    /// the cold path.
    func keyExpired(_ db: Database, _ key: UnsafeRawBufferPointer) {
        notifyKeyspaceEvent(KeyspaceEventFlags.expired, "expired", key, db.id)
        signalModifiedKey(db, key)
        if repl.master == nil && isPropagating { propagateDeletion(dbid: db.id, key, lazy: config.lazyfreeLazyExpire) }
    }

    /// Every key of `db` changed at once (FLUSHDB, FLUSHALL, SWAPDB; Redis's
    /// signalFlushedDb / touchAllWatchedKeysInDb).
    func signalFlushedDb(_ db: Database) {
        touchAllWatchedKeysInDb(db)
    }

    /// Publishes `__keyspace@<db>__:<key>` → event and `__keyevent@<db>__:<event>` → key
    /// when `notify-keyspace-events` enables `type` (Redis's notifyKeyspaceEvent, notify.c).
    /// `type` is one of KeyspaceEventFlags' class bits. Free when notifications are off.
    @inline(__always)
    func notifyKeyspaceEvent(_ type: Int, _ event: StaticString, _ key: UnsafeRawBufferPointer, _ dbid: Int) {
        let enabled = config.notifyKeyspaceEvents
        if enabled & type == 0 { return }
        if enabled & (KeyspaceEventFlags.keyspace | KeyspaceEventFlags.keyevent) == 0 { return }
        publishKeyspaceEvent(type, event, key, dbid)
    }
}
