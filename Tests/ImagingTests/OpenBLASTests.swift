import COpenBLAS
import TestSupport
import Testing
import TestSupportCore

/// The OpenBLAS link works and its sgemm agrees with a naive product under whatever kernel the CPU
/// detection picked (OPENBLAS_CORETYPE); a mis-detected core has computed wrong results on some CPUs.
@Suite("OpenBLAS system library")
struct OpenBLASTests {
    @Test(arguments: [(1, 7, 5), (17, 33, 65), (64, 128, 96)])
    func sgemmMatchesNaiveProduct(m: Int, n: Int, k: Int) {
        var generator = SeededGenerator()
        let a = (0..<m * k).map { _ in Float.random(in: -1...1, using: &generator) }
        let w = (0..<n * k).map { _ in Float.random(in: -1...1, using: &generator) } // [n, k], as a Linear weight
        var y = [Float](repeating: 0, count: m * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), w, Int32(k), 0, &y, Int32(n))
        var worst: Float = 0
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k { sum += a[i * k + p] * w[j * k + p] }
                worst = max(worst, abs(sum - y[i * n + j]))
            }
        }
        #expect(worst < 1e-4, "max |naive - sgemm| = \(worst) on core \(String(cString: openblas_get_corename())); \(generator)")
    }
}
