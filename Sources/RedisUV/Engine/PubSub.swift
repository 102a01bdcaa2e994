/// Pub/sub (Redis's pubsub.c). Placeholder hook, filled in by the pub/sub work.
extension Server {
    /// Publishes a keyspace notification (called by notifyKeyspaceEvent once the class is
    /// enabled).
    func publishKeyspaceEvent(_ type: Int, _ event: StaticString, _ key: UnsafeRawBufferPointer, _ dbid: Int) {}
}
