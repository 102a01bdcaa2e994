/// MULTI/EXEC/WATCH state (Redis's multi.c). Placeholder hooks, filled in by the
/// transactions work: until then nothing is watched.
extension Server {
    /// Marks every client watching `key` in `db` as dirty (Redis's touchWatchedKey).
    @inline(__always)
    func touchWatchedKey(_ db: Database, _ key: UnsafeRawBufferPointer) {}

    /// Marks every client watching any key of `db` as dirty (Redis's touchAllWatchedKeysInDb).
    func touchAllWatchedKeysInDb(_ db: Database) {}
}
