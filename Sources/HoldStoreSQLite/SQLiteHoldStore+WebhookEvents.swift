import ChittyCharge
import SQLiteNIO

extension SQLiteHoldStore {
    public func recordWebhookEvent(_ event: WebhookEventRecord, update: HoldReplacement?) async throws -> Bool {
        let eventBinds = WebhookEventRow.binds(for: event)
        var guardedBinds: [SQLiteData]?
        if let update {
            let expected = update.expected
            guardedBinds = try HoldRow.binds(for: update.replacement) + [
                SQLiteData(expected.updatedAt), .text(expected.status.rawValue),
                .integer(expected.amountCapturable), .integer(expected.amountReceived),
            ]
        }
        let holdUpdate = guardedBinds
        defer { if let update { holdCache.invalidate(id: update.replacement.id) } }
        return try await write("recordWebhookEvent") { db in
            guard try await !db.rows(WebhookEventRow.insertIfNew, eventBinds).isEmpty else { return false }
            if let holdUpdate, try await db.rows(HoldRow.updateIfUnchanged, holdUpdate).isEmpty {
                // Throwing rolls the event back too: the caller judges it again.
                throw HoldStoreError.conflict("hold \(update?.replacement.id ?? "") changed since it was read")
            }
            return true
        }
    }

    public func webhookEvents(holdID: String) async throws -> [WebhookEventRecord] {
        try await read("webhookEvents(holdID:)") { db in
            try await db.rows(WebhookEventRow.selectByHold, [.text(holdID)]).map(WebhookEventRow.decode)
        }
    }
}
