import ChittyCharge
import Foundation
import JSON
import Testing

/// The money a backtest's changes move, and how a report writes it.
@Suite("Backtest impact")
struct BacktestImpactTests {
    @Test func moneyIsWrittenInDollarsWithGroupingOrWithItsCurrency() {
        #expect(BacktestFormat.money(1_150_000) == "$11,500.00")
        #expect(BacktestFormat.money(5) == "$0.05")
        #expect(BacktestFormat.money(-30_000) == "-$300.00")
        #expect(BacktestFormat.money(123_456, currency: "eur") == "1,234.56 EUR")
        #expect(BacktestFormat.money(["usd": 30_000, "eur": 0], signed: true) == "+$300.00")
        #expect(BacktestFormat.money([:]) == "$0.00")
        #expect(BacktestFormat.time(seconds: 1_752_336_000) == "2025-07-12 16:00 UTC")
        #expect(BacktestFormat.time(seconds: 1_752_336_007) == "2025-07-12 16:00:07 UTC")
    }

    @Test func aScheduleChangeMovesTheCapturedAmount() {
        let input: JSONValue = ["amount": 50_000]
        let release: JSONValue = ["action": "release", "at": 1_752_336_000]
        let fee: JSONValue = ["action": "capture", "at": 1_752_336_000, "amount": 10_000]
        let whole: JSONValue = ["action": "capture", "at": 1_752_336_000]
        #expect(PolicyBacktest.captureChange(input: input, stored: release, candidate: fee) == 10_000, "a no-show fee added")
        #expect(PolicyBacktest.captureChange(input: input, stored: fee, candidate: release) == -10_000, "a fee dropped")
        #expect(PolicyBacktest.captureChange(input: input, stored: fee, candidate: whole) == 40_000, "no amount captures the whole hold")
        #expect(PolicyBacktest.captureChange(input: input, stored: release, candidate: ["action": "none"]) == 0)
    }
}
