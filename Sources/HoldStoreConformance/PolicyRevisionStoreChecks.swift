import ChittyCharge
import Foundation

extension HoldStoreConformance {
    static let policyRevisionStoreChecks: [HoldStoreCheck] = [
        HoldStoreCheck("policy revisions keep their files byte for byte, newest activation first") { store in
            // Bytes that are not UTF-8 must survive: Lua sources are bytes, and the revision
            // id is a hash of them.
            let binary = Data([0x2d, 0x2d, 0x20, 0xff, 0xfe, 0x0a])
            let a = revision("rev-a", files: [.init(path: "policy.lua", contents: Data("return 1\n".utf8)),
                                              .init(path: "lib/dates.lua", contents: binary)], at: 0)
            let b = revision("rev-b", at: 100)
            try await store.recordPolicyActivation(a, keep: 5)
            try await store.recordPolicyActivation(b, keep: 5)
            try expectEqual(try await store.policyRevisions(limit: 10), [b, a], "revisions, newest activation first")
            try expectEqual(try await store.policyRevisions(limit: 1), [b], "the most recent revision")
            try expectEqual(try await store.policyRevision(id: "rev-a"), a, "rev-a by id")
            try expectEqual(try await store.policyRevision(id: "rev-none"), nil, "an unknown revision")
        },
        HoldStoreCheck("activating a stored revision again moves it to the front and keeps its files") { store in
            let a = revision("rev-a", at: 0)
            try await store.recordPolicyActivation(a, keep: 5)
            try await store.recordPolicyActivation(revision("rev-b", at: 100), keep: 5)
            // Same id, other files and directory: the first files stay (the id names them).
            var again = revision("rev-a", at: 200, trigger: "rollback")
            again.files = [.init(path: "policy.lua", contents: Data("changed".utf8))]
            again.directory = "elsewhere"
            try await store.recordPolicyActivation(again, keep: 5)
            let listed = try await store.policyRevisions(limit: 10)
            try expectEqual(listed.map(\.id), ["rev-a", "rev-b"], "order after re-activation")
            try expectEqual(listed.first?.files, a.files, "files of the re-activated revision")
            try expectEqual(listed.first?.directory, a.directory, "directory of the re-activated revision")
            try expectEqual(listed.first?.activatedAt, Fixture.time(200), "time of the re-activation")
            try expectEqual(listed.first?.trigger, "rollback", "trigger of the re-activation")
        },
        HoldStoreCheck("an activation keeps who made it and their message; a later one replaces both") { store in
            var a = revision("rev-a", at: 0)
            a.activatedBy = "maria"
            a.message = "Lakeview: $1,000 for new guests"
            try await store.recordPolicyActivation(a, keep: 5)
            try expectEqual(try await store.policyRevision(id: "rev-a"), a, "who and why, as stored")
            try await store.recordPolicyActivation(revision("rev-a", at: 100, trigger: "signal"), keep: 5)
            let again = try await store.policyRevision(id: "rev-a")
            try expectEqual(again?.activatedBy, nil, "a signal names nobody")
            try expectEqual(again?.message, nil, "nor a message")
        },
        HoldStoreCheck("only the most recently activated revisions are kept") { store in
            for index in 0..<6 {
                try await store.recordPolicyActivation(revision("rev-\(index)", at: index * 10), keep: 3)
            }
            try expectEqual(try await store.policyRevisions(limit: 10).map(\.id), ["rev-5", "rev-4", "rev-3"], "kept revisions")
            try expectEqual(try await store.policyRevision(id: "rev-0"), nil, "a forgotten revision")
        },
    ]

    private static func revision(
        _ id: String, files: [PolicyRevisionRecord.File]? = nil, at offset: Int, trigger: String = "api"
    ) -> PolicyRevisionRecord {
        PolicyRevisionRecord(
            id: id, directory: "/etc/chittycharge/policies",
            files: files ?? [.init(path: "policy.lua", contents: Data("-- \(id)\n".utf8))],
            activatedAt: Fixture.time(offset), trigger: trigger)
    }
}
