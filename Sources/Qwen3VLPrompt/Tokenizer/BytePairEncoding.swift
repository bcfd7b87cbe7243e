/// The BPE merge table and the merge loop, on token ids rather than strings.
struct BytePairEncoding: Sendable {
    /// What merging a pair produces, and how early: lower ranks merge first.
    struct Merge: Sendable {
        var rank: Int32
        var result: Int32
    }

    /// Keyed by `(left << 32) | right` so a lookup hashes one integer instead of two strings.
    let merges: [UInt64: Merge]
    /// The single-byte token for each byte value, where every piece starts.
    let byteTokens: [Int32]

    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Appends the tokens of one pre-token to `output`.
    ///
    /// The symbols form a linked list in index arrays; candidate pairs sit in a min-heap keyed
    /// `(rank << 32) | leftIndex`, so the lowest rank wins and, among equal ranks, the leftmost, as in HF
    /// `tokenizers`. Entries are not removed when a merge invalidates them (lazy deletion): a popped entry
    /// is used only if the pair now at that position still has that rank, and a rank names one pair.
    func encode(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let count = piece.count
        if count == 1 {
            output.append(byteTokens[Int(piece[0])])
            return
        }
        var ids = piece.map { byteTokens[Int($0)] }
        var next = Array(1...count)  // `count` means "none"
        var previous = Array(-1..<(count - 1))  // -1 means "none"
        var heap = MinHeap()
        func push(_ left: Int) {
            if let merge = merges[Self.key(ids[left], ids[next[left]])] {
                heap.push(UInt64(merge.rank) << 32 | UInt64(left))
            }
        }
        for left in 0..<(count - 1) { push(left) }
        while let entry = heap.pop() {
            let left = Int(entry & 0xFFFF_FFFF)
            let right = next[left]
            guard ids[left] >= 0, right < count,
                let merge = merges[Self.key(ids[left], ids[right])], UInt64(merge.rank) == entry >> 32
            else { continue }
            ids[left] = merge.result
            ids[right] = -1
            next[left] = next[right]
            if next[right] < count { previous[next[right]] = left }
            if previous[left] >= 0 { push(previous[left]) }
            if next[left] < count { push(left) }
        }
        var index = 0
        while index < count {
            output.append(ids[index])
            index = next[index]
        }
    }
}

/// A binary min-heap of packed `(rank, position)` entries.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ item: UInt64) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < items.count else { break }
            let right = left + 1
            let smaller = right < items.count && items[right] < items[left] ? right : left
            guard items[smaller] < items[parent] else { break }
            items.swapAt(parent, smaller)
            parent = smaller
        }
        return top
    }
}
