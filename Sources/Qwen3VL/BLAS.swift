public import Qwen3VLPrompt
internal import COpenBLAS
import Foundation

extension Qwen3VL {
    /// Which OpenBLAS kernels run, and which should.
    ///
    /// Debian 12's OpenBLAS 0.3.21 does not recognise these machines' CPUs and falls back to its
    /// generic "Prescott" kernels, 4–5× slower on sgemm. It reads `OPENBLAS_CORETYPE` only when the
    /// library loads, so the choice has to be in the environment before the process starts: programs
    /// call ``chooseKernels(warn:)``, which re-executes them once with it set.
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

        /// Makes this process run the best kernels for its CPU, or the ones the user asked for with
        /// `QWEN_AGENT_OPENBLAS_CORETYPE`. An inherited `OPENBLAS_CORETYPE` is replaced, because
        /// environments set it to a safe lowest common denominator (these machines come with
        /// "Haswell", 40% slower here than the AVX-512 kernels their CPUs support). When the choice
        /// differs from what is loaded, sets `OPENBLAS_CORETYPE` and re-executes the program
        /// (`execv("/proc/self/exe")`, same arguments); after that re-execution, if the chosen kernels
        /// fail ``selfCheck()``, says so through `warn` and re-executes once more with the generic ones.
        /// Call it first thing, before any thread starts; it returns when nothing needs to change (or
        /// when `execv` fails, keeping the kernels already loaded). An override OpenBLAS does not know
        /// is reported through `warn` too.
        public static func chooseKernels(warn: (String) -> Void) {
            let environment = ProcessInfo.processInfo.environment
            // A name OpenBLAS does not know is ignored by it without a word: say so.
            if let asked = environment[overrideVariable], asked.uppercased() == environment["OPENBLAS_CORETYPE"]?.uppercased(),
               asked.uppercased() != coreName.uppercased() {
                warn("\(overrideVariable)=\(asked) is not a core type this OpenBLAS knows (e.g. HASWELL, SKYLAKEX, COOPERLAKE); it runs its \(coreName) kernels")
            }
            if environment[chosenMarker] != nil {
                if !selfCheck() {
                    warn("OpenBLAS's \(coreName) kernels computed wrong results here; using its generic kernels")
                    reexec(coreType: "PRESCOTT")
                }
                return
            }
            guard let wanted = environment[overrideVariable] ?? recommendedCoreType(),
                  wanted.uppercased() != environment["OPENBLAS_CORETYPE"]?.uppercased()
            else { return }
            reexec(coreType: wanted)
        }

        /// The user's choice of OpenBLAS core type, which wins over the detected one.
        public static let overrideVariable = "QWEN_AGENT_OPENBLAS_CORETYPE"

        /// Set in the environment of a re-executed process, so a failed self-check is not retried forever.
        private static let chosenMarker = "QWEN_AGENT_BLAS_CHOSEN"

        private static func reexec(coreType: String) {
            setenv("OPENBLAS_CORETYPE", coreType, 1)
            setenv(chosenMarker, coreType, 1)
            let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
            execv("/proc/self/exe", arguments)
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
