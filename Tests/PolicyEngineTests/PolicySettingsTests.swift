import Foundation
import JSON
import Testing
@testable import PolicyEngine

/// `settings.json`: the policy's data as a read-only table, part of the revision.
@Suite("Policy settings")
struct PolicySettingsTests {
    static let readsSettings = """
        local settings = require("settings")
        function hold_limit(req)
          local own = settings.limits[req.property_id or ""]
          local max = own or settings.default_limit
          return { allow = req.amount <= max, max_amount = max, tier = settings.tier_name,
                   details = { rate = settings.rate, rate_type = math.type(settings.rate), whole = math.type(settings.default_limit),
                               origins = #settings.origins, quote = settings.tricky, flag = settings.enabled } }
        end
        """
    static let settings = """
        {"limits": {"prop_lake": 1000}, "default_limit": 5000, "tier_name": "NEW_GUEST", "rate": 1.0,
         "origins": ["https://a.example", "https://b.example"], "tricky": "a \\"quoted\\" ]] \\\\ end\\n", "enabled": false}
        """

    @Test func aPolicyReadsItsSettingsWithTheirJSONTypes() throws {
        let revision = try makeRevision(Self.readsSettings, modules: ["settings.json": Self.settings])
        let lake = revision.holdLimit(.init(amount: 1500, propertyID: "prop_lake"))
        #expect(lake.error == nil)
        #expect(lake.decision.allow == false)
        #expect(lake.decision.maxAmount == 1000)
        let elsewhere = revision.holdLimit(.init(amount: 1500, propertyID: "prop_other"))
        #expect(elsewhere.decision.allow == true)
        #expect(elsewhere.decision.maxAmount == 5000)
        let details = try #require(elsewhere.decision.details)
        #expect(details["rate"] == .integer(1) || details["rate"] == .number(1.0))
        #expect(details["rate_type"] == "float", "1.0 stays a float")
        #expect(details["whole"] == "integer")
        #expect(details["origins"] == 2)
        #expect(details["quote"] == "a \"quoted\" ]] \\ end\n", "text survives quotes, brackets and escapes")
        #expect(details["flag"] == false)
    }

    @Test func aWriteToSettingsIsAPolicyError() {
        let error = loadError("""
            local settings = require("settings")
            function hold_limit(req)
              settings.default_limit = 1
              return { allow = true, max_amount = settings.default_limit, tier = "T" }
            end
            """, modules: ["settings.json": Self.settings])
        #expect(error?.message.contains("read-only") == true || error?.message.contains("frozen") == true, "\(String(describing: error))")
    }

    @Test func brokenSettingsAreRefusedWithLineAndColumn() {
        let broken = loadError("function cors(req) return { allow = true } end", modules: ["settings.json": "{\n  \"a\": 1,\n  \"b\": ,\n}"])
        #expect(broken?.message.hasPrefix("settings.json:3:") == true, "\(String(describing: broken))")
        let notObject = loadError("function cors(req) return { allow = true } end", modules: ["settings.json": "[1, 2]"])
        #expect(notObject?.message.contains("must be a JSON object") == true)
        let hole = loadError("function cors(req) return { allow = true } end", modules: ["settings.json": #"{"origins": ["a", null]}"#])
        #expect(hole?.message == "settings.json: origins[2] is null inside a list; Lua lists cannot hold null (remove it)")
        let both = loadError("function cors(req) return { allow = true } end", modules: ["settings.json": "{}", "settings.lua": "return {}"])
        #expect(both?.message.contains("keep one") == true)
    }

    @Test func theGeneratedChunkQuotesEveryByteItCannotWriteAsIs() {
        let source = PolicySettings.luaSource(["k\"]": .string("\u{0}é\n\"\\"), "n": .number(0.1), "big": .integer(Int64.min)])
        #expect(source.contains(#"["k\034]"]="\000\195\169\010\034\092""#))
        #expect(source.contains("[\"n\"]=0.10000000000000001"))
        #expect(source.contains("math.mininteger"))
    }
}
