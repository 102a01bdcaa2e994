/// The server's users and security log (Redis's Users rax, DefaultUser, ACLLog).
final class ACLState {
    /// By name; listed in byte order of the names, as Redis's rax.
    private(set) var users: [[UInt8]: ACLUser] = [:]
    /// Every new connection starts as this user (it is never replaced, only rewritten).
    let defaultUser: ACLUser
    /// Newest first.
    var log: [ACLLogEntry] = []
    /// Users from `user` lines of redis.conf, loaded at start-up (Redis's UsersToLoad).
    var usersToLoad: [[[UInt8]]] = []
    /// acl-pubsub-default is allchannels (new selectors allow every channel).
    var pubsubDefaultAll = false
    var logMaxLen = 128

    /// Our master's link runs as no user at all in Redis (CLIENT LIST says "(superuser)").
    let superuser: ACLUser = {
        let u = ACLUser(name: Array("(superuser)".utf8), pubsubDefaultAll: true)
        for rule in ["+@all", "~*", "&*", "on", "nopass"] { _ = u.apply(Array(rule.utf8), pubsubDefaultAll: true) }
        return u
    }()

    init() {
        defaultUser = ACLState.makeDefaultUser()
        users[defaultUser.name] = defaultUser
    }

    /// The configuration parameters ACLs follow: requirepass, acl-pubsub-default,
    /// acllog-max-len; `user` lines wait for start-up (loadConfiguredUsers).
    func configure(from config: ServerConfig) {
        pubsubDefaultAll = config.aclPubsubDefault == "allchannels"
        logMaxLen = config.acllogMaxLen
        if !config.requirepass.isEmpty { setDefaultPassword(config.requirepass) }
        usersToLoad = []
        for words in config.userLines {
            if appendUserForLoading(words.map { Array($0.utf8) }) != nil { continue }  // checked at parse time
        }
    }

    /// CONFIG SET of an ACL parameter.
    func configChanged(old: ServerConfig, new: ServerConfig) {
        pubsubDefaultAll = new.aclPubsubDefault == "allchannels"
        logMaxLen = new.acllogMaxLen  // (the log shrinks at its next entry, as in Redis)
        if old.requirepass != new.requirepass { setDefaultPassword(new.requirepass) }
    }

    /// Redis's authRequired for a fresh connection: the default user has a password or is off.
    var defaultUserNeedsNoAuth: Bool {
        defaultUser.flags.contains(.nopass) && !defaultUser.flags.contains(.disabled)
    }

    /// Redis's ACLCreateDefaultUser: +@all ~* &* on nopass.
    static func makeDefaultUser() -> ACLUser {
        let u = ACLUser(name: Array("default".utf8), pubsubDefaultAll: false)
        for rule in ["+@all", "~*", "&*", "on", "nopass"] { _ = u.apply(Array(rule.utf8), pubsubDefaultAll: false) }
        return u
    }

    var sortedUsers: [ACLUser] {
        users.values.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }

    func user(named name: [UInt8]) -> ACLUser? { users[name] }
    func user(named name: UnsafeRawBufferPointer) -> ACLUser? { users[Array(name)] }

    func newUser(_ name: [UInt8]) -> ACLUser {
        let u = ACLUser(name: name, pubsubDefaultAll: pubsubDefaultAll)
        users[name] = u
        return u
    }

    @discardableResult
    func removeUser(_ name: [UInt8]) -> ACLUser? { users.removeValue(forKey: name) }

    /// Replaces every user (ACL LOAD); the default user object stays, with the new rules.
    func replaceUsers(_ new: [[UInt8]: ACLUser]) {
        users = new
        if let d = new[defaultUser.name], d !== defaultUser { defaultUser.copyRules(from: d) }
        users[defaultUser.name] = defaultUser
    }

    /// requirepass (Redis's ACLUpdateDefaultUserPassword): "" makes the default user nopass.
    func setDefaultPassword(_ password: String) {
        _ = defaultUser.apply(Array("resetpass".utf8), pubsubDefaultAll: pubsubDefaultAll)
        if password.isEmpty {
            _ = defaultUser.apply(Array("nopass".utf8), pubsubDefaultAll: pubsubDefaultAll)
        } else {
            _ = defaultUser.apply([UInt8(ascii: ">")] + Array(password.utf8), pubsubDefaultAll: pubsubDefaultAll)
        }
    }

    // MARK: log

    enum LogContext: Int {
        case toplevel, multi, lua, module
        var name: String {
            switch self {
            case .toplevel: return "toplevel"
            case .multi: return "multi"
            case .lua: return "lua"
            case .module: return "module"
            }
        }
    }

    /// Redis's addACLLogEntry: a like entry among the ten newest (same reason, context,
    /// object and user, within 60 s) is counted and moved to the front instead.
    func addLogEntry(_ c: Client, reason: ACLDenialReason, context: LogContext, object: [UInt8], username: [UInt8]) {
        let now = c.server.cachedTimeMs
        let info = c.infoLine(executing: nil)
        for i in 0..<min(10, log.count) {
            let e = log[i]
            if e.reason == reason && e.context == context && abs(e.ctime - now) <= 60000
                && e.object == object && e.username == username {
                log.remove(at: i)
                e.count += 1
                e.ctime = now
                e.clientInfo = info
                log.insert(e, at: 0)
                return
            }
        }
        log.insert(ACLLogEntry(reason: reason, context: context, object: object, username: username,
                               ctime: now, clientInfo: info), at: 0)
        if log.count > logMaxLen { log.removeSubrange(logMaxLen...) }
    }
}

final class ACLLogEntry {
    var count = 1
    let reason: ACLDenialReason
    let context: ACLState.LogContext
    let object: [UInt8]
    let username: [UInt8]
    /// Milliseconds of the last time it happened.
    var ctime: Int64
    var clientInfo: String

    init(reason: ACLDenialReason, context: ACLState.LogContext, object: [UInt8], username: [UInt8],
         ctime: Int64, clientInfo: String) {
        self.reason = reason
        self.context = context
        self.object = object
        self.username = username
        self.ctime = ctime
        self.clientInfo = clientInfo
    }
}

extension Server {
    /// Redis's ACLAuthenticateUser: on success the client is authenticated as the user;
    /// on failure the attempt is logged and nothing else changes. Whether the user exists
    /// is not told apart from a wrong password.
    func aclAuthenticate(_ c: Client, user name: UnsafeRawBufferPointer, password: UnsafeRawBufferPointer,
                         commandName: [UInt8]) -> Bool {
        if let u = acl.user(named: name), u.checkPassword(password) {
            c.authenticated = true
            c.user = u
            return true
        }
        acl.addLogEntry(c, reason: .auth, context: c.mstate != nil ? .multi : .toplevel,
                        object: commandName, username: Array(name))
        return false
    }

    /// Redis's ACLFreeUserAndKillClients for a user gone (DELUSER, ACL LOAD): its clients
    /// become unauthenticated default-user clients and are closed; the current one after
    /// its reply.
    func killClients(of u: ACLUser, current: Client?) {
        for other in clientsInOrder where other.user === u {
            other.user = acl.defaultUser
            other.authenticated = false
            if other === current {
                other.flags.insert(.closeAfterReply)
            } else {
                closeClientNow(other)
            }
        }
    }
}
