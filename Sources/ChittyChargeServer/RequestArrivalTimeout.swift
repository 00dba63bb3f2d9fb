import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// HTTP/1.1 with two clocks against slow or silent clients (slowloris): a request must
/// arrive whole — head and body — within `requestTimeout` of its first byte, and a
/// connection with no request in progress is closed after `idleTimeout` (Hummingbird's own
/// idle handling). Without the first, a client trickling a header byte every few seconds
/// holds a connection, and its memory, forever: Hummingbird's idle clock only sees parsed
/// requests, and a half-sent head never becomes one.
struct TimedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let requestTimeout: TimeAmount

    init(responder: @escaping HTTPChannelHandler.Responder, requestTimeout: Duration, idleTimeout: Duration) {
        self.requestTimeout = TimeAmount(requestTimeout)
        self.http1 = HTTP1Channel(
            responder: responder,
            configuration: .init(additionalChannelHandlers: [RequestCompletionWatcher()], idleTimeout: TimeAmount(idleTimeout)))
    }

    /// The watcher of first bytes goes first in the pipeline, ahead of the HTTP decoder, so it
    /// sees bytes that do not yet make a request; the completion watcher sits after the codec
    /// and sees whole parts. The second tells the first through outbound user events.
    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestStartWatcher(timeout: requestTimeout))
        }.flatMap {
            http1.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `TimedHTTP1Channel`'s request-arrival and idle timeouts.
    static func timedHTTP1(requestTimeout: Duration, idleTimeout: Duration) -> HTTPServerBuilder {
        .init { responder in
            TimedHTTP1Channel(responder: responder, requestTimeout: requestTimeout, idleTimeout: idleTimeout)
        }
    }
}

/// Sent down the pipeline when a request has been read whole: the arrival clock stops.
struct RequestArrived: Sendable {}

/// Starts the arrival clock on the first byte of a request and closes the connection when
/// it runs out before `RequestCompletionWatcher` reports the request whole.
final class RequestStartWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Phase {
        /// Between requests: the next byte starts the clock.
        case idle
        /// Bytes of a request have come, not all of it.
        case arriving
        /// Read whole; the response is being made. Bytes now belong to a pipelined request,
        /// which the idle timeout still bounds.
        case handling
    }

    let timeout: TimeAmount
    private var phase = Phase.idle
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .idle {
            phase = .arriving
            let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: timeout) {
                loopBoundContext.value.close(promise: nil)
            }
        }
        context.fireChannelRead(data)
    }

    /// `RequestCompletionWatcher` reports through outbound user events (it is later in the
    /// pipeline, so an outbound event reaches this handler).
    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        switch event {
        case is RequestArrived:
            stopClock()
            phase = .handling
            promise?.succeed()
        case is ResponseFinished:
            phase = .idle
            promise?.succeed()
        default:
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopClock()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopClock()
        context.fireChannelInactive()
    }

    private func stopClock() {
        deadline?.cancel()
        deadline = nil
    }
}

/// Sent down the pipeline when a response has been written to its end: between requests.
struct ResponseFinished: Sendable {}

/// Sees whole HTTP parts: a request's `.end` stops the arrival clock, a response's `.end`
/// makes the connection idle so the next request's first byte starts it again.
final class RequestCompletionWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            context.triggerUserOutboundEvent(RequestArrived(), promise: nil)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        if isEnd {
            context.triggerUserOutboundEvent(ResponseFinished(), promise: nil)
        }
    }
}
