import ChittyCharge
import Foundation

/// The domain records as both stores' tables keep them (same column names and meanings).
extension StoredColumns {
    /// A row of `holds` (the read columns: written ones, the scheduled action, the links
    /// between replaced holds, and the owner).
    public func hold() throws -> Hold {
        Hold(
            id: try string("id"),
            chittyID: try optionalString("chitty_id"),
            chittyIDStatus: try raw(ChittyIDStatus.self, "chitty_id_status"),
            status: PaymentIntentStatus(try string("status")),
            amount: try int("amount"),
            amountCapturable: try int("amount_capturable"),
            amountReceived: try int("amount_received"),
            currency: try string("currency"),
            description: try string("description"),
            customerEmail: try optionalString("customer_email"),
            propertyID: try optionalString("property_id"),
            tenantID: try optionalString("tenant_id"),
            metadata: try metadata("metadata"),
            clientSecret: try optionalString("client_secret"),
            client: try string("client"),
            owner: try string("owner"),
            tier: try string("tier"),
            tierLimit: try int("tier_limit"),
            policyRevision: try string("policy_revision"),
            createOperationKey: try string("create_operation_key"),
            createdAt: try date("created_at"),
            updatedAt: try date("updated_at"),
            captureBefore: try optionalDate("capture_before"),
            capturedAt: try optionalDate("captured_at"),
            canceledAt: try optionalDate("canceled_at"),
            stripeStateAt: try optionalDate("stripe_state_at"),
            scheduledAction: try scheduledAction(),
            replaces: try optionalString("replaces"),
            replacedBy: try optionalString("replaced_by"),
            clientMetadata: try optionalJSONObject("client_metadata")
        )
    }

    /// A row of `booking_events`.
    public func bookingEvent() throws -> BookingEvent {
        BookingEvent(
            holdID: try string("hold_id"), eventID: try string("event_id"), kind: try raw(BookingEvent.Kind.self, "type"),
            occurredAt: try date("occurred_at"), details: try optionalJSONObject("details") ?? [:], client: try string("client"),
            receivedAt: try date("received_at"), outcome: try optionalBookingOutcome("outcome"))
    }

    private func scheduledAction() throws -> ScheduledAction? {
        guard try optionalString("scheduled_action") != nil else { return nil }
        guard let at = try optionalDate("scheduled_at"), let revision = try optionalString("scheduled_revision") else {
            throw HoldStoreError.database("\(context): a scheduled action without its time or revision")
        }
        var lease: ScheduledAction.Lease?
        if let owner = try optionalString("scheduled_owner"), let until = try optionalDate("scheduled_lease_until") {
            lease = ScheduledAction.Lease(owner: owner, until: until)
        }
        return ScheduledAction(
            kind: try raw(ScheduledAction.Kind.self, "scheduled_action"), at: at,
            amount: try optionalInt("scheduled_amount"), revision: revision,
            state: try raw(ScheduledAction.State.self, "scheduled_state"), lease: lease)
    }

    public func createOperation() throws -> CreateOperation {
        CreateOperation(
            key: try string("key"),
            client: try string("client"),
            clientIdempotencyKey: try optionalString("client_idempotency_key"),
            requestHash: try string("request_hash"),
            params: try json(CreatePaymentIntentParams.self, "params"),
            tier: try string("tier"),
            tierLimit: try int("tier_limit"),
            policyRevision: try string("policy_revision"),
            propertyID: try optionalString("property_id"),
            tenantID: try optionalString("tenant_id"),
            state: try raw(OperationState.self, "state"),
            holdID: try optionalString("hold_id"),
            failure: try optionalFailure("failure_body"),
            createdAt: try date("created_at"),
            updatedAt: try date("updated_at"),
            clientMetadata: try optionalJSONObject("client_metadata"))
    }

    /// `response_body` holds the receipt of a succeeded operation or the failure of a failed one.
    public func holdOperation() throws -> HoldOperation {
        let kind = try raw(HoldOperationKind.self, "kind")
        let state = try raw(OperationState.self, "state")
        return HoldOperation(
            key: try string("key"),
            holdID: try string("hold_id"),
            kind: kind,
            amount: try optionalInt("amount"),
            state: state,
            receipt: state == .succeeded ? try optionalReceipt("response_body", kind: kind) : nil,
            failure: state == .failed ? try optionalFailure("response_body") : nil,
            createdAt: try date("created_at"),
            updatedAt: try date("updated_at"))
    }

    public func mintJob() throws -> ChittyIDMintJob {
        ChittyIDMintJob(
            holdID: try string("hold_id"), attempts: try int("attempts"),
            nextAttemptAt: try date("next_attempt_at"), lastError: try optionalString("last_error"))
    }

    public func webhookEvent() throws -> WebhookEventRecord {
        WebhookEventRecord(
            id: try string("id"), type: try string("type"), created: try date("created_at"), payload: try data("payload"),
            holdID: try optionalString("hold_id"), outcome: try raw(WebhookOutcome.self, "outcome"),
            receivedAt: try date("received_at"))
    }

    public func policyDecision() throws -> PolicyDecisionRecord {
        PolicyDecisionRecord(
            id: try string("id"), hook: try string("hook"), revision: try string("revision"), source: try string("source"),
            input: try data("input"), decision: try data("decision"), subject: try optionalString("subject"),
            createdAt: try date("created_at"))
    }

    /// The files are one JSON list (contents base64), written once.
    public func policyRevision() throws -> PolicyRevisionRecord {
        let id = try string("id")
        let files: [PolicyRevisionRecord.File]
        do {
            files = try JSONDecoder().decode([PolicyRevisionRecord.File].self, from: try data("files"))
        } catch {
            throw HoldStoreError.database("policy_revisions \(id): unreadable files: \(error)")
        }
        return PolicyRevisionRecord(
            id: id, directory: try string("directory"), files: files,
            activatedAt: try date("activated_at"), trigger: try string("trigger"),
            activatedBy: try optionalString("activated_by"), message: try optionalString("message"))
    }

    public func instanceHeartbeat() throws -> InstanceHeartbeat {
        InstanceHeartbeat(
            id: try string("id"), address: try string("address"), startedAt: try date("started_at"),
            heartbeatAt: try date("heartbeat_at"), activeRevision: try string("active_revision"),
            revisionProblem: try optionalString("revision_problem"))
    }
}

extension StoredColumns {
    /// A row of `origin_sightings`.
    public func originSighting() throws -> OriginSighting {
        OriginSighting(
            day: try string("day"), origin: try string("origin"), firstSeenAt: try date("first_seen_at"),
            allowed: try int("allowed") != 0, revision: try string("revision"))
    }
}
