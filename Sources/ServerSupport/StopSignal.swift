import Dispatch
import Glibc

/// Ctrl-C and SIGTERM, awaited: a server stops at the first one.
public enum StopSignal {
    /// Returns at the next SIGINT or SIGTERM (which no longer end the process while this waits).
    public static func next() async {
        let (signals, output) = AsyncStream.makeStream(of: Int32.self)
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { output.yield(number) }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        for await _ in signals { return }
    }
}
