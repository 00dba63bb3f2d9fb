import ChittyCharge
import Foundation
import HTTPTypes
import Hummingbird
import JSON

/// `/api/holds…`: thin HTTP over the hold services. Input is checked here (content type, body
/// size, ids, query parameters) so nothing malformed reaches the service or Stripe. Every
/// read and action passes the client's `holdAccess`: another client's hold is not found.
struct HoldRoutes {
    typealias Context = ChittyChargeRequestContext

    let services: HoldServices
    /// Shared by every route that answers with one hold.
    let bodies: HoldBodyCache

    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    func register(on group: RouterGroup<Context>) {
        group.post(use: create)
        registerReads(on: group)
        group.post("{id}/capture", use: capture)
        group.post("{id}/cancel", use: cancel)
        group.post("{id}/booking-events", use: recordBookingEvent)
    }

    /// The read routes alone: what `/admin/holds` serves, with every hold in reach.
    func registerReads(on group: RouterGroup<Context>) {
        group.get(use: list)
        group.get("by-chitty-id/{chitty_id}", use: showByChittyID)
        group.get("{id}", use: show)
        group.get("{id}/events", use: events)
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> Response {
        let body = try await Self.jsonBody(request, context: context, required: true)
        let holdRequest = try HoldRequest.parse(body, defaultCurrency: services.configuration.defaultCurrency)
        var idempotencyKey: String?
        if let key = request.headers[Self.idempotencyKeyHeader] {
            guard !key.isEmpty, key.count <= 255, key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                throw APIError(.badRequest, "Idempotency-Key must be 1 to 255 printable ASCII characters", code: "invalid_idempotency_key")
            }
            idempotencyKey = key
        }
        let placement = try await services.placement.placeHold(holdRequest, client: context.client ?? ClientAuthenticator.sharedTokenClientName, idempotencyKey: idempotencyKey, logger: context.logger)
        RequestLogFields.current?.holdID = placement.hold.id
        var headers: HTTPFields = [:]
        if placement.replayed { headers[Self.replayedHeader] = "true" }
        return APIError.jsonResponse(HoldJSON.body(HoldJSON.object(placement.hold, flags: services.planner.flags(for: placement.hold), includeClientSecret: true)), status: .created, headers: headers)
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.holdID(context)
        let refresh = request.uri.queryParameters["refresh"].map { $0 == "true" || $0 == "1" } ?? false
        let hold = try await services.queries.hold(id: id, refresh: refresh, access: context.holdAccess, logger: context.logger)
        return holdResponse(hold)
    }

    /// 200 with the hold's JSON, written once per version of the hold.
    func holdResponse(_ hold: Hold) -> Response {
        let body = bodies.body(for: hold) { HoldJSON.body(HoldJSON.object($0, flags: services.planner.flags(for: $0))) }
        return Response(status: .ok, headers: [.contentType: APIError.jsonContentType], body: .init(byteBuffer: body))
    }

    /// The hold's history, oldest first: webhooks, reconciliation, scheduled actions and
    /// the policy decisions about it.
    @Sendable func events(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.holdID(context)
        let history = try await services.queries.history(holdID: id, access: context.holdAccess)
        var entries: [(at: Date, value: JSONValue)] = history.events.map { event in
            (event.created, [
                "id": .string(event.id), "type": .string(event.type), "kind": .string(Self.eventKind(event.type)),
                "created": HoldJSON.timestamp(event.created), "received_at": HoldJSON.timestamp(event.receivedAt),
                "outcome": .string(event.outcome.rawValue),
                "detail": event.type.hasPrefix("chittycharge.") ? ((try? JSONDecoder().decode(JSONValue.self, from: event.payload)) ?? .null) : .null,
            ])
        }
        entries += history.decisions.map { decision in
            (decision.createdAt, [
                "id": .string(decision.id), "type": .string(decision.hook), "kind": "decision",
                "created": HoldJSON.timestamp(decision.createdAt), "revision": .string(decision.revision),
                "source": .string(decision.source),
                "decision": (try? JSONDecoder().decode(JSONValue.self, from: decision.decision)) ?? .null,
            ])
        }
        entries += history.bookingEvents.map { event in
            (event.occurredAt, Self.bookingEventEntry(event))
        }
        // Stable: equal times keep events before decisions, each in stored order.
        let ordered = entries.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element.value)
        return APIError.jsonResponse(HoldJSON.body(["object": "list", "data": .array(ordered)]), status: .ok)
    }

    /// What happened to the stay: 201 the first time, 200 with the first answer for a repeat
    /// of the same event id.
    @Sendable func recordBookingEvent(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.holdID(context)
        let body = try await Self.jsonBody(request, context: context, required: true)
        let eventRequest = try BookingEventRequest.parse(body)
        let receipt = try await services.bookingEvents.record(
            eventRequest, holdID: id, client: context.client ?? ClientAuthenticator.sharedTokenClientName,
            access: context.holdAccess, logger: context.logger)
        RequestLogFields.current?.holdID = id
        var headers: HTTPFields = [:]
        if receipt.replayed { headers[Self.replayedHeader] = "true" }
        var object = Self.bookingEventEntry(receipt.event).objectValue ?? [:]
        object["object"] = "booking_event"
        object["hold_id"] = .string(id)
        object["booking"] = receipt.booking.jsonValue
        object["scheduled_action"] = receipt.outcome.scheduledAction.map(HoldJSON.scheduledAction) ?? .null
        object["policy_revision"] = receipt.outcome.revision.map(JSONValue.string) ?? .null
        return APIError.jsonResponse(HoldJSON.body(.object(object)), status: receipt.replayed ? .ok : .created, headers: headers)
    }

    /// A booking event as the hold's history lists it.
    static func bookingEventEntry(_ event: BookingEvent) -> JSONValue {
        [
            "id": .string(event.eventID), "type": .string(event.kind.rawValue), "kind": "booking_event",
            "created": HoldJSON.timestamp(event.occurredAt), "occurred_at": HoldJSON.timestamp(event.occurredAt),
            "received_at": HoldJSON.timestamp(event.receivedAt), "details": .object(event.details),
            "client": .string(event.client),
        ]
    }

    static func eventKind(_ type: String) -> String {
        switch type {
        case HoldHistoryEntryType.reconciled: "reconciliation"
        case HoldHistoryEntryType.scheduledCapture, HoldHistoryEntryType.scheduledRelease, HoldHistoryEntryType.scheduledReauthorization,
             HoldHistoryEntryType.reauthorizationRefused:
            "scheduled_action"
        default: "webhook"
        }
    }

    @Sendable func showByChittyID(_ request: Request, context: Context) async throws -> Response {
        guard let chittyID = context.parameters.get("chitty_id"), !chittyID.isEmpty, chittyID.count <= 255 else {
            throw APIError(.notFound, "No hold with that ChittyID", code: "hold_not_found")
        }
        let hold = try await services.queries.hold(chittyID: chittyID, access: context.holdAccess)
        return holdResponse(hold)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let query = request.uri.queryParameters
        var filter = HoldFilter()
        filter.propertyID = query["property_id"].map(String.init)
        filter.tenantID = query["tenant_id"].map(String.init)
        if let status = query["status"].map(String.init) {
            guard Self.knownStatuses.contains(status) else {
                throw HoldServiceError.invalidInput("status must be one of \(Self.knownStatuses.sorted().joined(separator: ", "))", field: "status")
            }
            filter.status = PaymentIntentStatus(status)
        }
        if let limit = query["limit"] {
            guard let value = Int(limit), (1...100).contains(value) else {
                throw HoldServiceError.invalidInput("limit must be a whole number from 1 to 100", field: "limit")
            }
            filter.limit = value
        }
        filter.startingAfter = query["starting_after"].map(String.init)
        // Only an admin's list spans owners, so only it can narrow to one.
        if let owner = query["owner"].map(String.init) {
            guard context.holdAccess == .everyHold else {
                throw HoldServiceError.invalidInput("owner is a filter of /admin/holds; a client lists the holds it may reach", field: "owner")
            }
            filter.owners = [owner]
        }
        let requested = filter.limit
        // One extra tells whether another page exists.
        filter.limit = requested + 1
        var holds = try await services.queries.holds(matching: filter, access: context.holdAccess)
        let hasMore = holds.count > requested
        if hasMore { holds.removeLast(holds.count - requested) }
        let body: JSONValue = [
            "object": "list",
            "data": .array(holds.map { HoldJSON.object($0, flags: services.planner.flags(for: $0)) }),
            "has_more": .bool(hasMore),
            "next_starting_after": hasMore ? (holds.last.map { .string($0.id) } ?? .null) : .null,
        ]
        return APIError.jsonResponse(HoldJSON.body(body), status: .ok)
    }

    @Sendable func capture(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.holdID(context)
        let body = try await Self.jsonBody(request, context: context, required: false)
        var amount: Int?
        if !body.isEmpty {
            guard let value = try? JSONValue(jsonData: body), case .object(let fields) = value else {
                throw HoldServiceError.invalidInput("The request body must be a JSON object such as {\"amount_to_capture\": 5000}")
            }
            if let raw = fields["amount_to_capture"], raw != .null {
                guard let number = raw.integerValue, number > 0, number <= Int64(HoldRequest.maxAmount) else {
                    throw HoldServiceError.invalidInput("amount_to_capture must be a positive whole number of cents", field: "amount_to_capture")
                }
                amount = Int(number)
            }
        }
        let receipt = try await services.operations.capture(holdID: id, amount: amount, access: context.holdAccess, logger: context.logger)
        return APIError.jsonResponse(JSONCoding.encode(receipt), status: .ok)
    }

    @Sendable func cancel(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.holdID(context)
        let body = try await Self.jsonBody(request, context: context, required: false)
        if !body.isEmpty, (try? JSONValue(jsonData: body))?.objectValue == nil {
            throw HoldServiceError.invalidInput("The request body must be empty or a JSON object")
        }
        let receipt = try await services.operations.cancel(holdID: id, access: context.holdAccess, logger: context.logger)
        return APIError.jsonResponse(JSONCoding.encode(receipt), status: .ok)
    }

    static let knownStatuses: Set<String> = [
        "requires_payment_method", "requires_confirmation", "requires_action", "processing",
        "requires_capture", "succeeded", "canceled",
    ]

    /// A PaymentIntent id: anything else cannot be a hold, so it is 404 without a lookup.
    static func holdID(_ context: Context) throws -> String {
        guard let id = context.parameters.get("id"), id.hasPrefix("pi_"), id.count <= 255,
              id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else {
            throw HoldServiceError.notFound(holdID: context.parameters.get("id").map { String($0.prefix(80)) } ?? "")
        }
        return id
    }

    /// The body as bytes, refusing non-JSON content types (415) and bodies over the limit (413).
    static func jsonBody(_ request: Request, context: Context, required: Bool) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize {
            throw APIError(.contentTooLarge, "The request body is larger than \(context.maxUploadSize) bytes", code: "body_too_large")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        if buffer.readableBytes == 0 && !required { return Data() }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
            throw APIError(.unsupportedMediaType, "Send the body as JSON with Content-Type: application/json", code: "unsupported_media_type")
        }
        return Data(buffer.readableBytesView)
    }
}
