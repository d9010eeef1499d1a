import NIOCore
import NIOPosix
import SubnetDHTCore

/// Owns one `DHTCore` on one NIO event loop: datagrams from the socket and timer firings go
/// into the core, its effects go out to the socket or resume waiting callers. Every method
/// runs on `eventLoop` (checked in debug builds); that confinement is what makes the
/// `@unchecked Sendable` sound. One loop per node, because on small machines a cross-thread
/// hop per datagram costs more than handling the datagram.
final class UDPShell: @unchecked Sendable {
    let eventLoop: any EventLoop
    private var core: DHTCore
    private var channel: (any Channel)?
    private var waiters: [OperationID: CheckedContinuation<OperationResult?, any Error>] = [:]
    private var timer: Scheduled<Void>?
    private var timerDeadline: Timestamp?
    private var closed = false
    /// The effects being carried out; its storage passes back and forth with the core's.
    private var effectBatch: [CoreEffect] = []
    /// Datagrams written during the current read batch, not flushed yet.
    private var unflushedWrites = false
    /// Where the socket is bound: decides which destinations it can reach at all.
    private var local: Endpoint?
    /// The datagram being answered and NIO's address for its source: an answer to it reuses
    /// that address rather than building one (an allocation per answer).
    private var replyAddress: (source: Endpoint, address: SocketAddress)?
    /// Binds a fresh socket at the same address, used when NIO closes the channel after a
    /// send error it does not tolerate (a firewall's EPERM, an unreachable network).
    var rebind: (@Sendable () -> EventLoopFuture<any Channel>)?
    /// Datagrams not sent because the socket cannot reach their destination.
    private(set) var unreachableDrops = 0
    private(set) var socketReopens = 0
    private(set) var signaturesCheckedAhead = 0
    /// Receives the core's events other than finished operations (membership, heartbeat, pruning).
    var onEvent: (@Sendable (CoreEvent) -> Void)?

    /// Where store queries' signatures are checked ahead of the core; nil: the core checks
    /// them itself, on the loop.
    private let signatureCheckPool: NIOThreadPool?
    /// Datagrams of the current read batch waiting to go to `signatureCheckPool`.
    private var awaitingCheck: [(bytes: [UInt8], source: Endpoint)] = []
    /// Datagrams on the pool now. Past `maxChecksInFlight` the core checks them itself: the
    /// pool's queue stays bounded under a flood, and nothing is dropped for it.
    private var checksInFlight = 0
    static let maxChecksInFlight = 512
    /// A read batch's datagrams to check go to the pool in at most this many work items, so
    /// that two workers share a batch and the loop is woken at most twice for it.
    static let checkWorkItemsPerBatch = 2

    init(core: DHTCore, eventLoop: any EventLoop, signatureCheckPool: NIOThreadPool? = nil) {
        self.core = core
        self.eventLoop = eventLoop
        self.signatureCheckPool = signatureCheckPool
    }

    func attach(_ channel: any Channel) {
        eventLoop.preconditionInEventLoop()
        self.channel = channel
        local = channel.localAddress.flatMap(Endpoint.init)
        channel.closeFuture.whenComplete { [self] _ in
            guard !closed, self.channel === channel else { return }
            self.channel = nil
            socketReopens += 1
            reopen()
        }
        rescheduleTimer()
    }

    /// Rebinds after an unexpected close, retrying each second until it works or the node stops:
    /// a node must not go silently deaf.
    private func reopen() {
        guard !closed, let rebind else { return }
        rebind().whenComplete { [self] result in
            switch result {
            case .success(let channel):
                if closed { channel.close(promise: nil) } else { attach(channel) }
            case .failure:
                eventLoop.scheduleTask(in: .seconds(1)) { self.reopen() }
            }
        }
    }

    /// Whether this socket can send to `destination`: a loopback socket reaches only loopback
    /// addresses, an IPv4 socket only IPv4 ones. Sending anyway fails, and NIO closes the
    /// channel on most send errors.
    private func canReach(_ destination: Endpoint) -> Bool {
        guard destination.isValidDestination, let local else { return false }
        if local.address.isIPv4 && !destination.address.isIPv4 { return false }
        if local.address.isLoopback && !destination.address.isLoopback { return false }
        return true
    }

    /// Runs `body` against the core on the loop and carries out the effects it produced.
    func withCore<T: Sendable>(_ body: @escaping @Sendable (inout DHTCore, Timestamp) -> T) async throws -> T {
        try await eventLoop.submit { () -> T in
            let value = body(&self.core, SystemClock.now())
            self.flushEffects()
            return value
        }.get()
    }

    /// Starts an operation on the core and waits for its result.
    func perform(_ start: @escaping @Sendable (inout DHTCore, Timestamp) -> OperationID) async throws -> OperationResult {
        guard let result = try await performIfStarted({ core, now in start(&core, now) }) else {
            throw DHTNodeError.unexpectedResult
        }
        return result
    }

    /// Like `perform`, for starts that may decline (nil: nothing was started).
    func performIfStarted(_ start: @escaping @Sendable (inout DHTCore, Timestamp) -> OperationID?) async throws -> OperationResult? {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<OperationResult?, any Error>) in
            eventLoop.execute {
                guard !self.closed else {
                    continuation.resume(throwing: DHTNodeError.shutDown)
                    return
                }
                guard let id = start(&self.core, SystemClock.now()) else {
                    continuation.resume(returning: nil)
                    return
                }
                self.waiters[id] = continuation
                self.flushEffects()
            }
        }
    }

    /// One datagram of a read batch: answered at once, but written without a flush; the
    /// batch's end (`readComplete`) flushes them together, which lets NIO send them with one
    /// sendmmsg, and re-arms the timer once per batch rather than once per datagram.
    ///
    /// A datagram that may be a signed store goes to the signature pool first, unless its
    /// source is over its rate limit (the core drops it unread) or the pool is full.
    func receive(_ bytes: [UInt8], from source: Endpoint, address: SocketAddress) {
        let now = SystemClock.now()
        if signatureCheckPool != nil, checksInFlight + awaitingCheck.count < Self.maxChecksInFlight,
            SignaturePrecheck.mayBeSignedStore(bytes), !core.isRateLimited(source, now: now) {
            awaitingCheck.append((bytes, source))
            return
        }
        replyAddress = (source, address)
        core.receive(bytes, from: source, now: now)
        if writeEffects() { unflushedWrites = true }
        replyAddress = nil
    }

    /// The end of a read batch.
    func readComplete() {
        sendAwaitingCheck()
        if unflushedWrites {
            unflushedWrites = false
            channel?.flush()
        }
        rescheduleTimer()
    }

    /// Hands the batch's datagrams to check to the pool; each work item comes back to the loop
    /// with its datagrams decoded and their signatures judged, and the core takes them with that.
    private func sendAwaitingCheck() {
        guard let pool = signatureCheckPool, !awaitingCheck.isEmpty else { return }
        let chunkSize = (awaitingCheck.count + Self.checkWorkItemsPerBatch - 1) / Self.checkWorkItemsPerBatch
        for start in stride(from: 0, to: awaitingCheck.count, by: chunkSize) {
            let chunk = Array(awaitingCheck[start..<min(start + chunkSize, awaitingCheck.count)])
            checksInFlight += chunk.count
            pool.submit { [self] _ in
                // A pool already shut down still returns the datagrams: the core checks them.
                let prechecked = SignaturePrecheck.check(chunk.lazy.map(\.bytes))
                eventLoop.execute { self.receiveChecked(chunk, prechecked: prechecked) }
            }
        }
        awaitingCheck.removeAll(keepingCapacity: true)
    }

    private func receiveChecked(_ chunk: [(bytes: [UInt8], source: Endpoint)], prechecked: [PrecheckedDatagram]) {
        checksInFlight -= chunk.count
        signaturesCheckedAhead += chunk.count
        guard !closed else { return }
        for ((bytes, source), checked) in zip(chunk, prechecked) {
            core.receive(bytes, prechecked: checked, from: source, now: SystemClock.now())
        }
        flushEffects()
    }

    func close() {
        eventLoop.preconditionInEventLoop()
        closed = true
        channel?.close(promise: nil)
        timer?.cancel()
        timer = nil
        for (_, waiter) in waiters { waiter.resume(throwing: DHTNodeError.shutDown) }
        waiters.removeAll()
    }

    private func flushEffects() {
        if writeEffects() || unflushedWrites {
            unflushedWrites = false
            channel?.flush()
        }
        rescheduleTimer()
    }

    /// Writes the core's datagrams to the channel (unflushed) and hands out its events;
    /// returns whether anything was written.
    private func writeEffects() -> Bool {
        core.takeEffects(into: &effectBatch)
        guard !effectBatch.isEmpty else { return false }
        var wrote = false
        for effect in effectBatch {
            switch effect {
            case .send(let bytes, let destination):
                guard let channel, !closed else { continue }
                guard canReach(destination) else {
                    unreachableDrops += 1
                    continue
                }
                let address = replyAddress.flatMap { $0.source == destination ? $0.address : nil }
                    ?? destination.socketAddress(ipv6Socket: local?.address.isIPv4 == false)
                let buffer = channel.allocator.buffer(bytes: bytes)
                channel.write(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
                wrote = true
            case .event(.operationFinished(let id, let result)):
                waiters.removeValue(forKey: id)?.resume(returning: result)
            case .event(let event):
                onEvent?(event)
            }
        }
        return wrote
    }

    /// Keeps one timer armed for the core's next wake-up. A timer armed earlier than needed
    /// is kept: it fires, ticks the core (which finds nothing due) and re-arms. Cancelling and
    /// scheduling again whenever the wake-up moves later cost more than that under load.
    private func rescheduleTimer() {
        guard !closed else { return }
        let deadline = core.nextWakeup
        if let timerDeadline, timerDeadline <= deadline, timer != nil { return }
        timer?.cancel()
        timerDeadline = deadline
        // At least 1 ms: a wake-up left in the past must not turn into a busy loop.
        let delay = max(1, deadline.milliseconds - SystemClock.now().milliseconds)
        timer = eventLoop.scheduleTask(in: .milliseconds(delay)) { [self] in
            timer = nil
            timerDeadline = nil
            core.tick(now: SystemClock.now())
            flushEffects()
        }
    }
}

/// Feeds received datagrams into the shell. Inbound only: the shell writes to the channel itself.
final class DatagramInboundHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let shell: UDPShell

    init(shell: UDPShell) { self.shell = shell }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let source = Endpoint(envelope.remoteAddress) else { return }
        var buffer = envelope.data
        // Oversized datagrams are still handed on so the core counts them; reading is bounded by the socket.
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        shell.receive(bytes, from: source, address: envelope.remoteAddress)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        shell.readComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port-unreachable and the like surface here; a DHT shrugs them off (the request times out).
    }
}
