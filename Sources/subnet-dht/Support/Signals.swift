import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Suspends until SIGINT or SIGTERM arrives (or the task is cancelled).
func waitForTerminationSignal() async {
    let (received, continuation) = AsyncStream<Void>.makeStream()
    var sources = [any DispatchSourceSignal]()
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { continuation.yield() }
        source.resume()
        sources.append(source)
    }
    for await _ in received { break }
    for source in sources { source.cancel() }
}
