import Foundation
import JSON
import Testing
@testable import PolicyEngine

/// The shipped `policies/` folder: it loads, passes its own cases, gets the origin wildcard
/// right, and agrees with the compiled built-in defaults it mirrors.
@Suite struct DefaultPolicyTests {
    let revision: PolicyRevision

    init() throws {
        revision = try PolicyRevision(sources: PolicySourceSet(directory: defaultPolicyDirectory), logger: quietLogger)
    }

    @Test func definesEveryHook() {
        #expect(Set(revision.definedHooks.keys) == Set(PolicyHook.allCases))
    }

    @Test func passesItsOwnTestCases() {
        let (cases, broken) = PolicyTestSuite.load(directory: defaultPolicyDirectory)
        #expect(broken.isEmpty)
        #expect(cases.count >= 40)
        let failures = PolicyTestSuite.run(cases, on: revision).filter { !$0.passed }
        #expect(failures.isEmpty, "\(failures.map { "\($0.name): \($0.failure ?? "")" })")
    }

    static let wildcardAllowed = ["https://app.chitty.cc", "https://a.b.chitty.cc", "https://chitty.cc", "HTTPS://App.Chitty.CC"]
    static let wildcardRefused = [
        "https://evilchitty.cc", "https://chitty.cc.evil.com", "https://app.chitty.cc.evil.com", "http://app.chitty.cc",
        "https://app.chitty.cc:8443", "https://user@app.chitty.cc", "https://user:pw@app.chitty.cc", "https://app.chitty.cc/",
        "https://.chitty.cc", "https://app..chitty.cc", "null", "", "https://*.chitty.cc", "https://app.chitty.cc?x=1",
        "https://app.chitty.cc#frag", "https://[::1]", "app.chitty.cc", "https://app.chitty.cc.", "https://app_chitty.cc",
        "https://app.chitty.cc:", "https://app.chitty.cc:123456", "javascript://app.chitty.cc",
    ]

    @Test(arguments: wildcardAllowed)
    func wildcardAllows(_ origin: String) {
        #expect(revision.cors(.init(origin: origin)).decision.allow, "policy refused \(origin)")
        #expect(OriginAllowList([]).allows(origin), "built-in refused \(origin)")
    }

    @Test(arguments: wildcardRefused)
    func wildcardRefuses(_ origin: String) {
        #expect(!revision.cors(.init(origin: origin)).decision.allow, "policy allowed \(origin)")
        #expect(!OriginAllowList([]).allows(origin), "built-in allowed \(origin)")
    }

    /// Every origin × allow-list pair decides the same in Lua and in Swift.
    @Test func originMatchingAgreesWithTheBuiltIn() {
        let lists: [[String]] = [
            [], ["*"], ["https://example.com"], ["https://*.example.com:8443"], ["http://localhost:3000"],
            ["https://app*.chitty.cc", "*.chitty.cc", "https://*chitty.cc"], ["HTTPS://*.Example.COM"],
        ]
        let origins = Self.wildcardAllowed + Self.wildcardRefused + [
            "https://example.com", "https://www.example.com", "https://a.example.com:8443", "https://example.com:8443",
            "http://localhost:3000", "http://localhost:3001", "https://appx.chitty.cc",
        ]
        for list in lists {
            for origin in origins {
                let policy = revision.cors(.init(origin: origin, allowedOrigins: list)).decision.allow
                let builtIn = CORSHook.builtInDecision(for: .init(origin: origin, allowedOrigins: list)).allow
                #expect(policy == builtIn, "\(origin) against \(list): policy \(policy), built-in \(builtIn)")
            }
        }
    }

    @Test func holdLimitsAgreeWithTheBuiltIn() {
        let tiers: [JSONValue?] = [nil, "NEW_GUEST", "VERIFIED_GUEST", "PREMIUM_PROPERTY", "GOLD", 7, "new_guest"]
        let amounts: [Int64] = [0, 1, 49, 50, 51, 249_999, 250_000, 250_001, 500_000, 500_001, 1_000_000, 1_000_001, 9_000_000]
        for tier in tiers {
            for amount in amounts {
                let input = HoldLimitHook.Input(amount: amount, metadata: tier.map { ["guest_tier": $0] } ?? [:])
                let policy = revision.holdLimit(input)
                #expect(policy.error == nil)
                #expect(policy.decision == HoldLimitHook.builtInDecision(for: input), "tier \(String(describing: tier)), amount \(amount)")
            }
        }
    }

    @Test func rateLimitAgreesWithTheBuiltIn() {
        let input = RateLimitHook.Input(client: "rental-app", route: "/api/holds", method: "POST", ip: "10.0.0.1")
        #expect(revision.rateLimit(input).decision == RateLimitHook.builtInDecision(for: input))
    }

    @Test func releasesFortyEightHoursAfterCheckOutOrReauthorizesALongStay() {
        var hold = HoldScheduleHook.smokeInput
        hold.captureBefore = "2026-03-20T11:00:00Z"
        hold.metadata = ["check_out": "2026-03-10T11:00:00-05:00"]
        #expect(revision.holdSchedule(hold).decision == .init(action: .release, at: 1773158400 + 48 * 3600))
        // The same stay, but the hold lapses before the release would come.
        hold.captureBefore = "2026-03-08T12:00:00Z"
        #expect(revision.holdSchedule(hold).decision == .init(action: .reauthorize, at: 1772971200 - 24 * 3600))
        hold.metadata = [:]
        #expect(revision.holdSchedule(hold).decision == .init(action: .none))
    }
}

@Suite struct PolicyTestSuiteTests {
    @Test func reportsFailuresAndBrokenCases() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("tests"), withIntermediateDirectories: true)
        try "function cors(req) if req.origin == 'boom' then error('kaput') end return { allow = req.origin == 'ok' } end"
            .write(to: folder.appendingPathComponent("policy.lua"), atomically: true, encoding: .utf8)
        try #"""
            [
              {"name": "passes", "hook": "cors", "input": {"origin": "ok"}, "expect": {"allow": true}},
              {"name": "wrong expectation", "hook": "cors", "input": {"origin": "no"}, "expect": {"allow": true}},
              {"name": "expected error", "hook": "cors", "input": {"origin": "boom"}, "expect_error": "kaput"},
              {"name": "unexpected error", "hook": "cors", "input": {"origin": "boom"}, "expect": {"allow": false}},
              {"name": "unknown hook", "hook": "corz", "input": {}, "expect": {}},
              {"name": "no expectation", "hook": "cors", "input": {}}
            ]
            """#.write(to: folder.appendingPathComponent("tests/cases.json"), atomically: true, encoding: .utf8)
        try "[{".write(to: folder.appendingPathComponent("tests/broken.json"), atomically: true, encoding: .utf8)

        let revision = try PolicyRevision(sources: PolicySourceSet(directory: folder.path), logger: quietLogger)
        let (cases, broken) = PolicyTestSuite.load(directory: folder.path)
        let outcomes = broken + PolicyTestSuite.run(cases, on: revision)
        let byName = Dictionary(outcomes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(outcomes.count == 7)
        #expect(byName["passes"]?.passed == true)
        #expect(byName["expected error"]?.passed == true)
        #expect(byName["wrong expectation"]?.failure == #"expected {"allow":true}, got {"allow":false}"#)
        #expect(byName["unexpected error"]?.failure == "policy error: policy.lua:1: kaput")
        #expect(byName["unknown hook"]?.failure?.hasPrefix("unknown hook 'corz'") == true)
        #expect(byName["no expectation"]?.failure?.contains("needs \"expect\"") == true)
        #expect(byName["(file)"]?.file == "tests/broken.json")
        #expect(byName["(file)"]?.failure?.hasPrefix("not valid JSON") == true)
    }
}
