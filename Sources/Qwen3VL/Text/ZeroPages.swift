import Glibc
import Qwen3VLPrompt

extension Qwen3VL {
    /// `count` zeros that take memory only where they are written: an anonymous mapping (`mmap` with
    /// `MAP_NORESERVE`) whose pages the kernel zeroes when first touched, unmapped (`munmap`) with the
    /// object. The KV cache keeps room for the tokens to come this way: room costs address space, and
    /// only stored tokens cost memory. (Zeroing the whole room up front, on 2 MB pages, took 0.7–0.9 s
    /// of a 2B model's agent step on these VMs, more than writing the keys and values themselves.)
    final class ZeroPages<Element: BitwiseCopyable>: RandomAccessCollection {
        /// The first element; valid while this object lives.
        let base: UnsafeMutablePointer<Element>
        let count: Int
        private let bytes: Int

        init(count: Int) {
            precondition(count >= 0)
            self.count = count
            bytes = Swift.max(1, count * MemoryLayout<Element>.stride)
            let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            guard let address, address != MAP_FAILED else {
                fatalError("cannot map \(bytes) bytes for the KV cache: \(String(cString: strerror(errno)))")
            }
            base = address.bindMemory(to: Element.self, capacity: count)
        }

        deinit { munmap(base, bytes) }

        var startIndex: Int { 0 }
        var endIndex: Int { count }
        subscript(position: Int) -> Element {
            precondition(position >= 0 && position < count, "index out of range")
            return base[position]
        }
    }
}
