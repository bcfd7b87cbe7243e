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
    }
}
