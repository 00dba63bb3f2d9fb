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

/// Starts the arrival clock on the first byte of a request and closes the connection when
/// it runs out before `RequestCompletionWatcher` reports the request whole.
///
/// The clock is a start time, not a timer per request: scheduling and cancelling a task and
/// sending two pipeline events for every request cost about a tenth of a `GET
/// /api/holds/{id}` (Benchmarks/README.md, "Performance against nginx + Lua"). One check is
/// pending at a time; when it fires it closes the connection if the request arriving then
/// has had its `timeout`, or moves itself to that request's deadline. On a keep-alive
/// connection that is one scheduled task per `timeout`, not one per request.
final class RequestStartWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

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
    private var arrivalStarted = NIODeadline.uptimeNanoseconds(0)
    private var check: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .idle {
            phase = .arriving
            arrivalStarted = .now()
            if check == nil { scheduleCheck(at: arrivalStarted + timeout) }
        }
        context.fireChannelRead(data)
    }

    /// The request has been read whole (from `RequestCompletionWatcher`, same event loop).
    func requestArrived() {
        phase = .handling
    }

    /// Its response has been written to the end: the next byte starts a new request.
    func responseFinished() {
        phase = .idle
    }

    private func scheduleCheck(at deadline: NIODeadline) {
        guard let context else { return }
        let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(deadline: deadline) {
            loopBoundSelf.value.checkArrival()
        }
    }

    private func checkArrival() {
        check = nil
        guard phase == .arriving, let context else { return }
        let deadline = arrivalStarted + timeout
        if NIODeadline.now() >= deadline {
            context.close(promise: nil)
        } else {
            scheduleCheck(at: deadline)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopClock()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopClock()
        context.fireChannelInactive()
    }

    private func stopClock() {
        check?.cancel()
        check = nil
    }
}

/// Sees whole HTTP parts: a request's `.end` stops the arrival clock, a response's `.end`
/// makes the connection idle so the next request's first byte starts it again. It tells
/// the connection's `RequestStartWatcher` directly: both live on the channel's event loop.
final class RequestCompletionWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var startWatcher: RequestStartWatcher?

    func handlerAdded(context: ChannelHandlerContext) {
        startWatcher = try? context.pipeline.syncOperations.handler(type: RequestStartWatcher.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        startWatcher = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            startWatcher?.requestArrived()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        if isEnd {
            startWatcher?.responseFinished()
        }
    }
}
