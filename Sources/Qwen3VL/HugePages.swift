import Glibc

extension Array where Element: BitwiseCopyable {
    /// `count` zeros in memory the kernel backs with 2 MB pages where it can. Decode attention reads
    /// one KV head's row per cached position, rows 2 KB apart, so with 4 KB pages nearly every read
    /// needed a page walk. Transparent huge pages are commonly enabled only for regions that ask
    /// (`madvise(MADV_HUGEPAGE)`), and a page gets one only when first touched after the asking, so
    /// the zeros are written afterwards.
    static func zerosOnHugePages(count: Int) -> [Element] {
        [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard let base = buffer.baseAddress, count > 0 else { return }
            let bytes = count * MemoryLayout<Element>.stride, huge = 2 << 20
            let first = (Int(bitPattern: base) + huge - 1) / huge * huge, end = (Int(bitPattern: base) + bytes) / huge * huge
            if end > first { _ = madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_HUGEPAGE) }
            UnsafeMutableRawPointer(base).initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            initialized = count
        }
    }
}
