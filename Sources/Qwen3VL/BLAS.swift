internal import COpenBLAS
import Foundation

extension Qwen3VL {
    /// Which OpenBLAS kernels run, and which should.
    ///
    /// Debian 12's OpenBLAS 0.3.21 does not recognise these machines' CPUs and falls back to its
    /// generic "Prescott" kernels, 4–5× slower on sgemm. It reads `OPENBLAS_CORETYPE` only when the
    /// library loads, so the choice has to be in the environment before the process starts: the
    /// CLI re-executes itself once with it set (see `qwen-agent generate`).
    public enum BLAS {
        /// The kernel family OpenBLAS picked, e.g. "Haswell", "SkylakeX", "Prescott".
        public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

        /// The strongest core type the CPU's flags (`/proc/cpuinfo`) support, or nil when nothing
        /// better than the generic kernels is known to be safe.
        public static func recommendedCoreType() -> String? {
            recommendedCoreType(cpuinfo: try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
        }

        /// The same, for the text of a `/proc/cpuinfo`.
        public static func recommendedCoreType(cpuinfo: String?) -> String? {
            guard let flagsLine = cpuinfo?.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
            let flags = Set(flagsLine.split(separator: " ").map(String.init))
            if flags.isSuperset(of: ["avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512_bf16"]) { return "COOPERLAKE" }
            if flags.isSuperset(of: ["avx512f", "avx512vl", "avx512bw", "avx512dq"]) { return "SKYLAKEX" }
            if flags.isSuperset(of: ["avx2", "fma"]) { return "HASWELL" }
            return nil
        }

        /// Multiplies small random matrices with the loaded kernels and compares with a plain loop:
        /// a kernel mis-detected for this CPU can compute wrong results, not only slow ones.
        public static func selfCheck() -> Bool {
            let m = 7, n = 33, k = 65
            var random = SplitMix64(seed: 1)
            let a = (0..<m * k).map { _ in Float(Double(random.next() >> 11) / Double(1 << 53)) - 0.5 }
            let b = (0..<n * k).map { _ in Float(Double(random.next() >> 11) / Double(1 << 53)) - 0.5 }
            var c = [Float](repeating: 0, count: m * n)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k), 0, &c, Int32(n))
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Float = 0
                    for p in 0..<k { sum += a[i * k + p] * b[j * k + p] }
                    if abs(sum - c[i * n + j]) > 1e-3 { return false }
                }
            }
            return true
        }
    }
}
