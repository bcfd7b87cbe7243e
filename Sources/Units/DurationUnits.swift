/// Durations as the rest of the program counts them: seconds and milliseconds as `Double` (for
/// records, logs and messages), whole milliseconds (for input-event times) and nanoseconds (for
/// `timespec` and SwiftNIO), computed in this one place.
extension Duration {
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    public var milliseconds: Double { seconds * 1e3 }

    /// Whole milliseconds, rounded down.
    public var wholeMilliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    /// Whole nanoseconds, or `Int64.max` when they do not fit.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }
}
