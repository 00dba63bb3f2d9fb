import JSON
import Testing
@testable import PolicyEngine

/// `metadata` reaches Lua as a lazily decoded table (lazy.c). Whatever a policy does with
/// it, it must behave exactly like a plain table holding the same fields.
@Suite struct LazyInputTests {
    static let metadata: [String: JSONValue] = [
        "guest_tier": "VERIFIED_GUEST", "nights": 3, "rate": 129.5, "pets": false,
        "tags": ["quiet", "late"], "address": ["city": "Austin"],
    ]

    /// Runs `body` (Lua statements that set `out`, using `m` = req.metadata) and returns `out`.
    func run(_ body: String) throws -> JSONValue? {
        let revision = try makeRevision("""
            function hold_limit(req)
              local m = req.metadata
              local out
              if req.client == "good" then
                \(body)
              end
              return { allow = true, max_amount = 1, tier = "T", details = { out = out } }
            end
            """)
        let evaluation = revision.holdLimit(.init(amount: 100, metadata: Self.metadata, client: "good"))
        #expect(evaluation.error == nil, "\(String(describing: evaluation.error))")
        return evaluation.decision.details?["out"]
    }

    @Test func fieldsReadByName() throws {
        #expect(try run("out = { m.guest_tier, m.nights, m.rate, m.pets, m.tags[2], m.address.city, tostring(m.missing) }")
            == ["VERIFIED_GUEST", 3, 129.5, false, "late", "Austin", "nil"])
    }

    @Test func typeIsTable() throws {
        #expect(try run("out = type(m)") == "table")
    }

    @Test func pairsSeesEveryFieldOnce() throws {
        #expect(try run("local n = 0 for k, v in pairs(m) do n = n + 1 end out = n") == 6)
        #expect(try run("local _ = m.nights local n = 0 for k, v in pairs(m) do n = n + 1 end out = n") == 6)
    }

    @Test func nextAndRawgetSeeEveryField() throws {
        #expect(try run("out = { next(m) ~= nil, rawget(m, 'nights') }") == [true, 3])
    }

    @Test func assigningNilRemovesAFieldForGood() throws {
        #expect(try run("local _ = m.nights m.nights = nil out = tostring(m.nights)") == "nil")
        #expect(try run("m.nights = nil out = tostring(m.nights)") == "nil")
        #expect(try run("rawset(m, 'nights', nil) out = tostring(m.nights)") == "nil")
        #expect(try run("m.nights = nil local n = 0 for _ in pairs(m) do n = n + 1 end out = n") == 5)
    }

    @Test func assignedValuesWin() throws {
        #expect(try run("m.nights = 9 out = m.nights") == 9)
        #expect(try run("m.extra = 'x' local n = 0 for _ in pairs(m) do n = n + 1 end out = { m.extra, n }") == ["x", 7])
    }

    @Test func returningTheTableReturnsEveryField() throws {
        #expect(try run("local _ = m.nights m.pets = nil out = m") == [
            "guest_tier": "VERIFIED_GUEST", "nights": 3, "rate": 129.5, "tags": ["quiet", "late"], "address": ["city": "Austin"],
        ])
    }

    @Test func lengthAndMetatablesBehave() throws {
        #expect(try run("out = #m") == 0)
        #expect(try run("setmetatable(m, { __index = function() return 'default' end }) out = { m.nights, m.nope }") == [3, "default"])
    }

    @Test func theSameTableIsSeenThroughEveryReference() throws {
        #expect(try run("local a, b = req.metadata, req.metadata out = rawequal(a, b) and a.nights == b.nights") == true)
    }

    @Test func theInputTableItselfIsComplete() throws {
        // Top-level inputs are lazy too; absent optional fields (nil) are not keys.
        #expect(try run("""
            local keys = {}
            for k in pairs(req) do keys[#keys + 1] = k end
            table.sort(keys)
            out = { table.concat(keys, ","), getmetatable(req) == false or getmetatable(req) == nil }
            """) == ["amount,client,currency,description,metadata", true])
    }

    @Test func emptyMetadataIsAnEmptyTable() throws {
        let revision = try makeRevision("""
            function hold_limit(req)
              return { allow = next(req.metadata) == nil and req.metadata.guest_tier == nil, max_amount = 1, tier = "T" }
            end
            """)
        #expect(revision.holdLimit(.init(amount: 100, metadata: [:])).decision.allow)
    }

    @Test func aReferenceCannotBeKeptPastTheCall() throws {
        // Keeping inputs between calls is outside the contract, and a module-level local
        // is put back after each call (ModuleFreezeTests), so the next call never sees it.
        // (Were one kept, the table stops being lazy when its call ends and never reads the
        // old input buffer: ccl_end_lazy_objects.)
        let revision = try makeRevision("""
            local kept
            function hold_limit(req)
              local before = kept and { tostring(kept.guest_tier), tostring(kept.nights) } or {}
              kept = req.metadata
              local _ = kept.guest_tier
              return { allow = true, max_amount = 1, tier = "T", details = { before = before } }
            end
            """)
        _ = revision.holdLimit(.init(amount: 100, metadata: Self.metadata))
        let second = revision.holdLimit(.init(amount: 100, metadata: ["guest_tier": "OTHER"]))
        #expect(second.decision.details?["before"] == [:])
    }

    @Test func manyFieldsFallBackToAPlainTable() throws {
        var many: [String: JSONValue] = [:]
        for i in 0..<100 { many["k\(i)"] = .integer(Int64(i)) }
        let revision = try makeRevision("""
            function hold_limit(req)
              local n = 0 for _ in pairs(req.metadata) do n = n + 1 end
              return { allow = true, max_amount = n + (req.metadata.k42 or 0), tier = "T" }
            end
            """)
        #expect(revision.holdLimit(.init(amount: 100, metadata: many)).decision.maxAmount == 142)
    }
}
