/// Rules as ACL LIST, ACL GETUSER and ACL SAVE print them (Redis 7.0's ACLDescribeUser
/// and ACLDescribeSelectorCommandRules): the command bitmap is compacted into +@all/-@all,
/// then the best-fitting categories, then single commands, replayed on a scratch
/// selector so that the text rebuilds exactly the same bitmap.
extension ACLSelector {
    /// Redis's ACLCountCategoryBitsForSelector.
    func countCategory(_ bit: UInt32) -> (on: Int, off: Int) {
        var on = 0, off = 0
        for e in ACLCommandIndex.entries where e.categoryBits & bit != 0 {
            if allowed.contains(e.id) { on += 1 } else { off += 1 }
        }
        return (on, off)
    }

    var commandRules: String {
        var rules: [String] = []
        var fake = ACLSelector(root: false, pubsubDefaultAll: false)
        let additive: Bool
        if futureCommands {
            additive = false
            rules.append("+@all")
            _ = fake.apply(Array("+@all".utf8))
        } else {
            additive = true
            rules.append("-@all")
            _ = fake.apply(Array("-@all".utf8))
        }
        var temp = ACLSelector(root: false, pubsubDefaultAll: false)
        temp.allowed = allowed
        var applied = Array(repeating: false, count: ACLCommandIndex.categories.count)
        while true {
            var best = -1
            var minDiff = Int.max, maxSame = 0
            for j in 0..<ACLCommandIndex.categories.count where !applied[j] {
                let (on, off) = temp.countCategory(1 << UInt32(j))
                let diff = additive ? off : on
                let same = additive ? on : off
                if same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)) {
                    best = j
                    minDiff = diff
                    maxSame = same
                }
            }
            if best == -1 { break }
            let bit: UInt32 = 1 << UInt32(best)
            fake.changeCategory(bit, additive)
            temp.changeCategory(bit, !additive)
            rules.append((additive ? "+@" : "-@") + ACLCommandIndex.categories[best])
            applied[best] = true
        }
        // Single commands (Redis walks its dict in hash order; we walk in name order).
        for top in ACLCommandIndex.topLevelIDs {
            describeSingle(top, &fake, &rules)
            for sub in ACLCommandIndex.entries[top].subcommandIDs { describeSingle(sub, &fake, &rules) }
        }
        return rules.joined(separator: " ")
    }

    private func describeSingle(_ id: Int, _ fake: inout ACLSelector, _ rules: inout [String]) {
        let user = allowed.contains(id)
        let name = ACLCommandIndex.entries[id].spec.fullName
        if user != fake.allowed.contains(id) {
            rules.append((user ? "+" : "-") + name)
            fake.changePerm(id, user)
        }
        if !user, let args = firstArgs[id] {
            for a in args { rules.append("+" + name + "|" + String(decoding: a, as: UTF8.self)) }
        }
    }

    static func patternString(_ p: KeyPattern) -> String {
        let prefix = p.read && p.write ? "~" : p.read ? "%R~" : "%W~"
        return prefix + String(decoding: p.pattern, as: UTF8.self)
    }

    /// Redis's ACLDescribeSelector: keys, channels, then command rules.
    var description: String {
        var res = ""
        if allKeys {
            res += "~* "
        } else {
            for p in keyPatterns { res += ACLSelector.patternString(p) + " " }
        }
        if allChannels {
            res += "&* "
        } else {
            res += "resetchannels "
            for c in channels { res += "&" + String(decoding: c, as: UTF8.self) + " " }
        }
        return res + commandRules
    }

    /// GETUSER's "keys" value.
    var keysDescription: String {
        allKeys ? "~*" : keyPatterns.map(ACLSelector.patternString).joined(separator: " ")
    }

    /// GETUSER's "channels" value.
    var channelsDescription: String {
        allChannels ? "&*" : channels.map { "&" + String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }
}

extension ACLUser {
    var flagNames: [String] { Flags.described.compactMap { flags.contains($0.0) ? $0.1 : nil } }

    /// Redis's ACLDescribeUser (what follows "user <name> " in ACL LIST and the ACL file).
    var description: String {
        var res = ""
        for f in flagNames { res += f + " " }
        for p in passwords { res += "#" + p + " " }
        for s in selectors {
            if s.isRoot { res += s.description } else { res += " (" + s.description + ")" }
        }
        return res
    }

    /// "user <name> <rules>" (ACL LIST, ACL SAVE).
    var configLine: String { "user " + nameString + " " + description }
}
