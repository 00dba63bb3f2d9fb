import ChittyCharge
import Foundation

/// The PaymentIntent status machine of a card hold:
/// `requires_payment_method → requires_confirmation → requires_action → requires_capture
/// → succeeded | canceled`, with Stripe's errors for every step out of order.
extension StripeEmulator {
    /// How long an authorization lasts before Stripe releases it (Stripe's hold docs).
    enum HoldDuration {
        static let customerInitiated: TimeInterval = 7 * 86_400
        /// Visa merchant-initiated (off-session) authorizations.
        static let visaMerchantInitiated: TimeInterval = 4 * 86_400 + 18 * 3_600
        static let extended: TimeInterval = 30 * 86_400
    }

    static let cancelableStatuses: [PaymentIntentStatus] = [
        .requiresPaymentMethod, .requiresCapture, .requiresConfirmation, .requiresAction,
    ]
    static let confirmableStatuses: [PaymentIntentStatus] = [
        .requiresPaymentMethod, .requiresConfirmation, .requiresAction,
    ]

    func execute(_ route: Route, parameters: ParameterReader, keyKind: APIKeyKind)
        -> Result<StripeJSON, StripeEmulatorError>
    {
        do throws(StripeEmulatorError) {
            switch route {
            case .createPaymentIntent:
                return .success(try createPaymentIntent(parameters))
            case .retrievePaymentIntent(let id):
                return .success(try retrievePaymentIntent(id: id, parameters, keyKind: keyKind))
            case .confirmPaymentIntent(let id):
                return .success(try confirmPaymentIntent(id: id, parameters, keyKind: keyKind))
            case .capturePaymentIntent(let id):
                return .success(try capturePaymentIntent(id: id, parameters))
            case .cancelPaymentIntent(let id):
                return .success(try cancelPaymentIntent(id: id, parameters))
            case .retrieveCharge(let id):
                try parameters.rejectUnknown(allowing: ["expand"])
                _ = try parameters.expansions(supported: [])
                guard let charge = chargesByID[id] else {
                    throw .resourceMissing("No such charge: '\(id)'", param: "id")
                }
                return .success(charge.json)
            }
        } catch {
            return .failure(error)
        }
    }

    // MARK: - Create

    private func createPaymentIntent(_ parameters: ParameterReader) throws(StripeEmulatorError) -> StripeJSON {
        try parameters.rejectUnknown(allowing: [
            "amount", "currency", "capture_method", "description", "receipt_email", "metadata", "customer",
            "payment_method", "confirm", "off_session", "return_url", "payment_method_types",
            "payment_method_options", "expand",
        ])
        try parameters.rejectUnknownNested("payment_method_options", allowing: ["card": ["request_extended_authorization"]])
        let expand = try parameters.expansions(supported: ["latest_charge"])
        guard let amount = try parameters.integer("amount") else { throw .missingParameter("amount") }
        guard let currencyParameter = try parameters.string("currency") else { throw .missingParameter("currency") }
        let currency = currencyParameter.lowercased()
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw .invalidParameter("Invalid currency: \(currencyParameter).", param: "currency")
        }
        try Self.checkAmount(amount, currency: currency, param: "amount")
        let captureMethod = try parameters.oneOf("capture_method", ["automatic", "automatic_async", "manual"]) ?? "automatic"
        let description = try parameters.string("description")
        let receiptEmail = try parameters.string("receipt_email")
        if let receiptEmail, !Self.looksLikeEmail(receiptEmail) {
            throw .invalidParameter("Invalid email address: \(receiptEmail)", param: "receipt_email", code: "email_invalid")
        }
        let metadata = try parameters.metadata() ?? [:]
        let customer = try parameters.string("customer")
        let paymentMethod = try parameters.string("payment_method")
        if let paymentMethod, TestPaymentMethod.named(paymentMethod) == nil {
            throw .resourceMissing("No such PaymentMethod: '\(paymentMethod)'", param: "payment_method", status: 400)
        }
        let confirm = try parameters.boolean("confirm") ?? false
        let offSession = try Self.offSession(parameters)
        if offSession, !confirm {
            throw .invalidParameter("You can only set `off_session` when `confirm` is true.", param: "off_session")
        }
        if try parameters.string("return_url") != nil, !confirm {
            throw .invalidParameter("You can only set `return_url` when `confirm` is true.", param: "return_url")
        }
        let paymentMethodTypes = try parameters.stringList("payment_method_types") ?? []
        for type in paymentMethodTypes where type != "card" {
            throw .invalidParameter(
                "The payment method type \"\(type)\" is invalid. The Stripe emulator supports only \"card\".",
                param: "payment_method_types")
        }
        let extendedAuthorizationParam = "payment_method_options[card][request_extended_authorization]"
        let extendedAuthorization = try parameters.string(
            parameters.form["payment_method_options"]?.dictionaryValue?["card"]?.dictionaryValue?["request_extended_authorization"],
            param: extendedAuthorizationParam)
        if let extendedAuthorization, !["if_available", "never"].contains(extendedAuthorization) {
            throw .invalidParameter(
                "Invalid \(extendedAuthorizationParam): must be one of if_available or never",
                param: extendedAuthorizationParam)
        }
        if confirm, paymentMethod == nil {
            throw .invalidParameter(
                "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
                param: "payment_method", code: "parameter_missing")
        }

        let id = StripeObjectID.make("pi_")
        let intent = EmulatedPaymentIntent(
            id: id, clientSecret: "\(id)_secret_\(StripeObjectID.make("", length: 25))", created: clock.now(),
            amount: amount, amountCapturable: 0, amountReceived: 0, captureMethod: captureMethod, currency: currency,
            customer: customer, description: description, receiptEmail: receiptEmail, metadata: metadata,
            // As sent; without the parameter Stripe would pick from the Dashboard's
            // automatic payment methods, which for this emulator is only `card`.
            paymentMethod: paymentMethod, paymentMethodTypes: paymentMethodTypes.isEmpty ? ["card"] : paymentMethodTypes,
            requestExtendedAuthorization: extendedAuthorization,
            paymentIntentStatus: paymentMethod == nil ? .requiresPaymentMethod : .requiresConfirmation)
        paymentIntentsByID[id] = intent
        paymentIntentIDs.append(id)
        recordEvent("payment_intent.created", intentJSON(intent, expand: []))

        guard confirm else { return intentJSON(intent, expand: expand) }
        let confirmed = try confirmPaymentIntent(id: id, paymentMethod: paymentMethod, offSession: offSession)
        return intentJSON(confirmed, expand: expand)
    }

    // MARK: - Retrieve

    private func retrievePaymentIntent(id: String, _ parameters: ParameterReader, keyKind: APIKeyKind)
        throws(StripeEmulatorError) -> StripeJSON
    {
        try parameters.rejectUnknown(allowing: ["expand", "client_secret"])
        let expand = try parameters.expansions(supported: ["latest_charge"])
        let intent = try existingPaymentIntent(id: id)
        try checkClientSecret(parameters, intent: intent, keyKind: keyKind)
        return intentJSON(intent, expand: expand)
    }

    // MARK: - Confirm

    private func confirmPaymentIntent(id: String, _ parameters: ParameterReader, keyKind: APIKeyKind)
        throws(StripeEmulatorError) -> StripeJSON
    {
        try parameters.rejectUnknown(allowing: ["payment_method", "off_session", "return_url", "expand", "client_secret"])
        let expand = try parameters.expansions(supported: ["latest_charge"])
        let paymentMethod = try parameters.string("payment_method")
        let offSession = try Self.offSession(parameters)
        _ = try parameters.string("return_url")
        let intent = try existingPaymentIntent(id: id)
        try checkClientSecret(parameters, intent: intent, keyKind: keyKind)
        return intentJSON(try confirmPaymentIntent(id: id, paymentMethod: paymentMethod, offSession: offSession),
                          expand: expand)
    }

    /// Confirmation, shared by create with `confirm=true`, the confirm route and the
    /// `confirm(id:paymentMethod:)` shortcut.
    func confirmPaymentIntent(id: String, paymentMethod: String?, offSession: Bool)
        throws(StripeEmulatorError) -> EmulatedPaymentIntent
    {
        var intent = try existingPaymentIntent(id: id)
        guard Self.confirmableStatuses.contains(intent.paymentIntentStatus) else {
            let message = intent.paymentIntentStatus == .succeeded
                ? "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed."
                : "You cannot confirm this PaymentIntent because it has a status of \(intent.status). Only a PaymentIntent with one of the following statuses may be confirmed: requires_payment_method, requires_confirmation, requires_action."
            throw .unexpectedState(message, paymentIntentID: id)
        }
        guard let paymentMethodID = paymentMethod ?? intent.paymentMethod else {
            throw StripeEmulatorError.invalidParameter(
                "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
                param: "payment_method", code: "parameter_missing"
            ).about(paymentIntent: id)
        }
        guard let method = TestPaymentMethod.named(paymentMethodID) else {
            throw .resourceMissing("No such PaymentMethod: '\(paymentMethodID)'", param: "payment_method", status: 400)
        }
        // Confirming again with the card that asked for 3-D Secure stands for the customer
        // completing the challenge in the browser.
        let completesAuthentication = intent.paymentIntentStatus == .requiresAction && intent.paymentMethod == paymentMethodID
        intent.paymentMethod = paymentMethodID
        let now = clock.now()

        switch method.outcome {
        case .authorized:
            return authorize(&intent, with: method, offSession: offSession, now: now)
        case .authenticationRequired where completesAuthentication:
            return authorize(&intent, with: method, offSession: offSession, now: now)
        case .authenticationRequired where offSession:
            throw decline(&intent, with: method, code: "authentication_required", declineCode: "authentication_required",
                          message: "Your card was declined. This transaction requires authentication.", now: now)
        case .authenticationRequired:
            intent.paymentIntentStatus = .requiresAction
            intent.lastPaymentError = nil
            paymentIntentsByID[id] = intent
            recordEvent("payment_intent.requires_action", intentJSON(intent, expand: []))
            return intent
        case .declined(let declineCode, let message):
            throw decline(&intent, with: method, code: "card_declined", declineCode: declineCode, message: message, now: now)
        }
    }

    private func authorize(_ intent: inout EmulatedPaymentIntent, with method: TestPaymentMethod, offSession: Bool,
                           now: Date) -> EmulatedPaymentIntent {
        let extended = intent.requestExtendedAuthorization == "if_available"
        let holdDuration = extended ? HoldDuration.extended
            : (offSession && method.brand == "visa") ? HoldDuration.visaMerchantInitiated
            : HoldDuration.customerInitiated
        var charge = EmulatedCharge(
            id: StripeObjectID.make("ch_"), paymentIntentID: intent.id, amount: intent.amount, amountCaptured: 0,
            amountRefunded: 0, captured: false, refunded: false, created: now, currency: intent.currency,
            customer: intent.customer, description: intent.description, receiptEmail: intent.receiptEmail,
            metadata: intent.metadata, paymentMethod: method, status: "succeeded",
            captureBefore: intent.isManualCapture ? now.addingTimeInterval(holdDuration) : nil,
            extendedAuthorization: extended && intent.isManualCapture, offSession: offSession)
        intent.lastPaymentError = nil
        intent.failedPaymentMethod = nil
        intent.latestChargeID = charge.id
        if intent.isManualCapture {
            intent.paymentIntentStatus = .requiresCapture
            intent.amountCapturable = intent.amount
        } else {
            charge.captured = true
            charge.amountCaptured = charge.amount
            intent.paymentIntentStatus = .succeeded
            intent.amountReceived = intent.amount
        }
        chargesByID[charge.id] = charge
        paymentIntentsByID[intent.id] = intent
        recordEvent("charge.succeeded", charge.json)
        recordEvent(intent.isManualCapture ? "payment_intent.amount_capturable_updated" : "payment_intent.succeeded",
                    intentJSON(intent, expand: []))
        return intent
    }

    /// Records a failed charge, puts the intent back to `requires_payment_method` with
    /// `last_payment_error`, and returns the 402 to throw.
    private func decline(_ intent: inout EmulatedPaymentIntent, with method: TestPaymentMethod, code: String,
                         declineCode: String, message: String, now: Date) -> StripeEmulatorError {
        let charge = EmulatedCharge(
            id: StripeObjectID.make("ch_"), paymentIntentID: intent.id, amount: intent.amount, amountCaptured: 0,
            amountRefunded: 0, captured: false, refunded: false, created: now, currency: intent.currency,
            customer: intent.customer, description: intent.description, receiptEmail: intent.receiptEmail,
            metadata: intent.metadata, paymentMethod: method, status: "failed", failureCode: code,
            failureMessage: message, declineCode: declineCode, captureBefore: nil, extendedAuthorization: false,
            offSession: false)
        let error = StripeEmulatorError(httpStatus: 402, type: "card_error", code: code, declineCode: declineCode,
                                        message: message, chargeID: charge.id, paymentIntentID: intent.id)
        intent.paymentIntentStatus = .requiresPaymentMethod
        intent.paymentMethod = nil
        intent.failedPaymentMethod = method.id
        intent.lastPaymentError = error
        intent.latestChargeID = charge.id
        chargesByID[charge.id] = charge
        paymentIntentsByID[intent.id] = intent
        recordEvent("charge.failed", charge.json)
        recordEvent("payment_intent.payment_failed", intentJSON(intent, expand: []))
        return error
    }

    // MARK: - Capture

    private func capturePaymentIntent(id: String, _ parameters: ParameterReader) throws(StripeEmulatorError) -> StripeJSON {
        try parameters.rejectUnknown(allowing: ["amount_to_capture", "final_capture", "metadata", "expand"])
        let expand = try parameters.expansions(supported: ["latest_charge"])
        let amountToCapture = try parameters.integer("amount_to_capture")
        if try parameters.boolean("final_capture") == false {
            throw .invalidParameter(
                "final_capture=false needs multicapture, which the Stripe emulator does not offer.",
                param: "final_capture")
        }
        let metadata = try parameters.metadata()
        var intent = try existingPaymentIntent(id: id)

        if intent.authorizationExpired {
            throw StripeEmulatorError(
                httpStatus: 400, type: "invalid_request_error", code: "charge_expired_for_capture",
                message: "The charge cannot be captured as the authorization has expired. Auth and capture charges must be captured within the authorization period (see the charge's capture_before).",
                chargeID: intent.latestChargeID, paymentIntentID: id)
        }
        guard intent.paymentIntentStatus == .requiresCapture, let chargeID = intent.latestChargeID, var charge = chargesByID[chargeID] else {
            let message = intent.paymentIntentStatus == .succeeded
                ? "This PaymentIntent could not be captured because it has already been captured."
                : "This PaymentIntent could not be captured because it has a status of \(intent.status). Only a PaymentIntent with one of the following statuses may be captured: requires_capture."
            throw .unexpectedState(message, paymentIntentID: id)
        }
        let amount = amountToCapture ?? intent.amountCapturable
        guard amount <= intent.amountCapturable else {
            var error = StripeEmulatorError.invalidParameter(
                "The amount to capture (\(amount)) is greater than the amount capturable (\(intent.amountCapturable)).",
                param: "amount_to_capture", code: "amount_too_large")
            error.paymentIntentID = id
            throw error
        }
        try Self.checkAmount(amount, currency: intent.currency, param: "amount_to_capture")

        if let metadata { intent.metadata.merge(metadata) { _, new in new } }
        intent.paymentIntentStatus = .succeeded
        intent.amountReceived = amount
        intent.amountCapturable = 0
        charge.captured = true
        charge.amountCaptured = amount
        // Stripe reports the released remainder of a partial capture as refunded.
        charge.amountRefunded = charge.amount - amount
        chargesByID[chargeID] = charge
        paymentIntentsByID[id] = intent
        recordEvent("charge.captured", charge.json)
        recordEvent("payment_intent.succeeded", intentJSON(intent, expand: []))
        return intentJSON(intent, expand: expand)
    }

    // MARK: - Cancel

    private func cancelPaymentIntent(id: String, _ parameters: ParameterReader) throws(StripeEmulatorError) -> StripeJSON {
        try parameters.rejectUnknown(allowing: ["cancellation_reason", "expand"])
        let expand = try parameters.expansions(supported: ["latest_charge"])
        let reason = try parameters.oneOf(
            "cancellation_reason", ["duplicate", "fraudulent", "requested_by_customer", "abandoned"])
        var intent = try existingPaymentIntent(id: id)
        guard Self.cancelableStatuses.contains(intent.paymentIntentStatus) else {
            throw .unexpectedState(
                "You cannot cancel this PaymentIntent because it has a status of \(intent.status). Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.",
                paymentIntentID: id)
        }
        let releasesHold = intent.paymentIntentStatus == .requiresCapture
        intent.paymentIntentStatus = .canceled
        intent.canceledAt = clock.now()
        intent.cancellationReason = reason
        intent.amountCapturable = 0
        if releasesHold, let chargeID = intent.latestChargeID, var charge = chargesByID[chargeID] {
            charge.amountRefunded = charge.amount
            charge.refunded = true
            chargesByID[chargeID] = charge
            recordEvent("charge.refunded", charge.json)
        }
        paymentIntentsByID[id] = intent
        recordEvent("payment_intent.canceled", intentJSON(intent, expand: []))
        return intentJSON(intent, expand: expand)
    }

    // MARK: - Helpers

    func intentJSON(_ intent: EmulatedPaymentIntent, expand: Set<String>) -> StripeJSON {
        let charge = expand.contains("latest_charge") ? intent.latestChargeID.flatMap { chargesByID[$0] } : nil
        return intent.json(expandedLatestCharge: charge)
    }

    func recordEvent(_ type: String, _ object: StripeJSON, at date: Date? = nil) {
        let event = EmulatedEvent(id: StripeObjectID.make("evt_"), type: type, created: date ?? clock.now(), object: object)
        appendBounded(event, to: &eventLog)
        deliverIfConfigured(event)
    }

    /// With a publishable key the client secret proves the browser may see the intent.
    private func checkClientSecret(_ parameters: ParameterReader, intent: EmulatedPaymentIntent, keyKind: APIKeyKind)
        throws(StripeEmulatorError)
    {
        let secret = try parameters.string("client_secret")
        if keyKind == .publishable, secret == nil { throw .missingParameter("client_secret") }
        if let secret, secret != intent.clientSecret {
            throw .invalidParameter(
                "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
                param: "client_secret")
        }
    }

    /// `off_session` is a boolean, or `one_off` / `recurring` (both meaning true).
    private static func offSession(_ parameters: ParameterReader) throws(StripeEmulatorError) -> Bool {
        switch try parameters.string("off_session") {
        case nil, "false": false
        case "true", "one_off", "recurring": true
        case let other?: throw .invalidParameter("Invalid boolean: \(other)", param: "off_session")
        }
    }

    /// Stripe's minimum charge amounts (in minor units) for common currencies.
    static let minimumAmounts: [String: Int] = [
        "usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50, "nzd": 50, "sgd": 50,
        "jpy": 50, "dkk": 250, "nok": 300, "sek": 300, "hkd": 400, "mxn": 1000, "pln": 200,
    ]
    static let maximumAmount = 99_999_999

    static func checkAmount(_ amount: Int, currency: String, param: String) throws(StripeEmulatorError) {
        let minimum = minimumAmounts[currency] ?? 50
        if amount < minimum {
            let symbol = ["usd": "$", "eur": "€", "gbp": "£"][currency] ?? ""
            let formatted = currency == "jpy"
                ? "¥\(minimum)"
                : "\(symbol)\(minimum / 100).\(String(format: "%02d", minimum % 100))"
            throw .invalidParameter("Amount must be at least \(formatted) \(currency)", param: param, code: "amount_too_small")
        }
        if amount > maximumAmount {
            throw .invalidParameter("Amount must be no more than 999,999.99 \(currency)", param: param, code: "amount_too_large")
        }
    }

    static func looksLikeEmail(_ string: String) -> Bool {
        let parts = string.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !string.contains(" ")
    }
}
