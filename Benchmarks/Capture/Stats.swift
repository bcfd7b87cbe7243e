/// Timing and summary statistics for the benchmark: no dependencies beyond the standard library.

/// Milliseconds in `duration`, as a `Double`.
func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}

/// Median, p10 and p90 of a set of timings in milliseconds.
///
/// Percentiles interpolate linearly between the two nearest ranks (numpy's default), so the Python
/// reference (`Benchmarks/mss_reference.py`) and `scripts/benchmark` compute exactly the same numbers.
struct Summary: Sendable {
    let samples: [Double]
    let sorted: [Double]

    init(_ samples: [Double]) {
        precondition(!samples.isEmpty, "no samples")
        self.samples = samples
        sorted = samples.sorted()
    }

    func percentile(_ p: Double) -> Double {
        let rank = p / 100 * Double(sorted.count - 1)
        let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
    }

    var median: Double { percentile(50) }
    var p10: Double { percentile(10) }
    var p90: Double { percentile(90) }
    var minimum: Double { sorted[0] }
    var mean: Double { samples.reduce(0, +) / Double(samples.count) }
}

/// Runs `body` `warmup` times untimed, then `iterations` times timed; returns milliseconds per call.
func measure(warmup: Int, iterations: Int, _ body: () throws -> Void) rethrows -> [Double] {
    for _ in 0..<warmup { try body() }
    let clock = ContinuousClock()
    var samples: [Double] = []
    samples.reserveCapacity(iterations)
    for _ in 0..<iterations {
        let start = clock.now
        try body()
        samples.append(milliseconds(clock.now - start))
    }
    return samples
}
