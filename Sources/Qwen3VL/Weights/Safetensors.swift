public import Qwen3VLPrompt
public import Foundation

extension Qwen3VL {
    /// One `.safetensors` file, mapped read-only, with its header parsed and checked.
    ///
    /// Layout: an 8-byte little-endian header length `n`, `n` bytes of JSON mapping each tensor name to
    /// `{dtype, shape, data_offsets: [begin, end]}` (plus an optional `__metadata__` of strings), then the
    /// data section, which the offsets index. Everything in the header is checked when the file is
    /// opened, so a tensor view can never point outside the mapping: a damaged download fails here with
    /// a message instead of crashing the engine later.
    public struct Safetensors: Sendable {
        /// The element types the engine reads. Released Qwen3-VL weights are BF16; F32 and F16 appear in
        /// conversions and test files.
        public enum DType: String, Sendable {
            case f32 = "F32"
            case f16 = "F16"
            case bf16 = "BF16"

            public var byteSize: Int {
                switch self {
                case .f32: 4
                case .f16, .bf16: 2
                }
            }
        }

        /// Where a tensor lives inside the data section, after validation.
        struct Entry: Sendable {
            let dtype: DType
            let shape: [Int]
            let range: Range<Int>
        }

        /// Larger headers than this are refused before parsing; real ones are well under 1 MiB, and the
        /// reference `safetensors` implementation uses the same 100 MB limit.
        static let maximumHeaderLength = 100_000_000

        public let url: URL
        /// The free-form `__metadata__` strings (for example `{"format": "pt"}`).
        public let metadata: [String: String]
        private let file: MappedFile
        private let entries: [String: Entry]
        private let dataStart: Int

        /// Maps and validates the file at `url`.
        public init(contentsOf url: URL) throws {
            try self.init(file: MappedFile(path: url.path), url: url)
        }

        /// Validates a file's bytes already in memory (a copy is kept); `url` names the file in errors.
        /// Fuzzing reads through it, without writing a file per input.
        package init(bytes: some Collection<UInt8>, url: URL) throws {
            try self.init(file: MappedFile(copying: bytes, path: url.path), url: url)
        }

        private init(file: MappedFile, url: URL) throws {
            self.url = url
            self.file = file
            let path = url.path
            let bytes = file.bytes
            guard bytes.count >= 8 else {
                throw WeightsError(.truncated, "\(path): \(bytes.count) bytes, too short for the 8-byte header length")
            }
            let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
            guard declared <= UInt64(bytes.count - 8) else {
                throw WeightsError(.truncated, "\(path): header length \(declared) exceeds the \(bytes.count - 8) bytes after the length field")
            }
            guard declared <= UInt64(Self.maximumHeaderLength) else {
                throw WeightsError(.invalidHeader, "\(path): header length \(declared) is over the \(Self.maximumHeaderLength)-byte limit")
            }
            let headerLength = Int(declared)
            dataStart = 8 + headerLength
            let header = Data(bytes[8..<dataStart])
            (entries, metadata) = try Self.parseHeader(header, dataSize: bytes.count - dataStart, path: path)
        }

        /// Every tensor name in the file, sorted.
        public var names: [String] { entries.keys.sorted() }

        public func contains(_ name: String) -> Bool { entries[name] != nil }

        /// A zero-copy view of the tensor `name`; throws `.missingTensor` if the file has none.
        public func tensor(named name: String) throws -> TensorView {
            guard let entry = entries[name] else {
                throw WeightsError(.missingTensor, "\(url.path): no tensor named \(name)")
            }
            return TensorView(
                name: name, dtype: entry.dtype, shape: entry.shape, file: file,
                byteRange: (dataStart + entry.range.lowerBound)..<(dataStart + entry.range.upperBound))
        }

        /// Checks every header entry against the data section (`dataSize` bytes) and returns the table.
        private static func parseHeader(_ header: Data, dataSize: Int, path: String) throws -> ([String: Entry], [String: String]) {
            let json: Any
            do {
                json = try JSONSerialization.jsonObject(with: header)
            } catch {
                throw WeightsError(.invalidHeader, "\(path): header is not valid JSON")
            }
            guard let table = json as? [String: Any] else {
                throw WeightsError(.invalidHeader, "\(path): header is not a JSON object")
            }
            var entries: [String: Entry] = [:]
            var metadata: [String: String] = [:]
            for (name, value) in table {
                if name == "__metadata__" {
                    guard let strings = value as? [String: String] else {
                        throw WeightsError(.invalidHeader, "\(path): __metadata__ is not an object of strings")
                    }
                    metadata = strings
                    continue
                }
                entries[name] = try parseEntry(name, value, dataSize: dataSize, path: path)
            }
            // Two tensors sharing bytes would mean the header is lying about at least one of them.
            let sorted = entries.sorted { ($0.value.range.lowerBound, $0.value.range.upperBound) < ($1.value.range.lowerBound, $1.value.range.upperBound) }
            for (previous, next) in zip(sorted, sorted.dropFirst()) where next.value.range.lowerBound < previous.value.range.upperBound {
                throw WeightsError(.invalidHeader, "\(path): tensors \(previous.key) and \(next.key) overlap in the data section")
            }
            return (entries, metadata)
        }

        private static func parseEntry(_ name: String, _ value: Any, dataSize: Int, path: String) throws -> Entry {
            func invalid(_ problem: String) -> WeightsError {
                WeightsError(.invalidHeader, "\(path): tensor \(name): \(problem)")
            }
            guard let fields = value as? [String: Any] else { throw invalid("entry is not a JSON object") }
            guard let dtypeName = fields["dtype"] as? String else { throw invalid("no dtype string") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw WeightsError(.unsupportedDType, "\(path): tensor \(name) has dtype \(dtypeName); only F32, F16 and BF16 are supported")
            }
            guard let shapeValues = fields["shape"] as? [Any], let shape = naturals(shapeValues) else {
                throw invalid("shape is not a list of non-negative integers")
            }
            guard let offsetValues = fields["data_offsets"] as? [Any], let offsets = naturals(offsetValues), offsets.count == 2 else {
                throw invalid("data_offsets is not two non-negative integers")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin <= end, end <= dataSize else {
                throw invalid("data_offsets [\(begin), \(end)] lie outside the \(dataSize)-byte data section")
            }
            var byteCount = dtype.byteSize
            for dimension in shape {
                let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw invalid("shape \(shape) is too large") }
                byteCount = product
            }
            guard byteCount == end - begin else {
                throw WeightsError(.shapeMismatch, "\(path): tensor \(name): shape \(shape) of \(dtypeName) needs \(byteCount) bytes but data_offsets span \(end - begin)")
            }
            return Entry(dtype: dtype, shape: shape, range: begin..<end)
        }

        /// The values as `Int`s if every one is a non-negative integer (JSON `1.5`, `-1` or `true` are not).
        private static func naturals(_ values: [Any]) -> [Int]? {
            var result: [Int] = []
            result.reserveCapacity(values.count)
            for value in values {
                guard let number = value as? NSNumber, !isBoolean(number),
                      let integer = Int(exactly: number.doubleValue), integer >= 0,
                      number.int64Value == Int64(integer)
                else { return nil }
                result.append(integer)
            }
            return result
        }

        private static func isBoolean(_ number: NSNumber) -> Bool {
            String(cString: number.objCType) == "c"
        }
    }

    /// One tensor inside a mapped safetensors file: its dtype, shape and bytes, without copying them.
    ///
    /// Holds a reference to the mapping, so the bytes stay valid for as long as the view exists.
    public struct TensorView: Sendable {
        public let name: String
        public let dtype: Safetensors.DType
        public let shape: [Int]
        private let file: MappedFile
        private let byteRange: Range<Int>

        init(name: String, dtype: Safetensors.DType, shape: [Int], file: MappedFile, byteRange: Range<Int>) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.file = file
            self.byteRange = byteRange
        }

        /// The number of elements (the product of the shape; 1 for a scalar).
        public var elementCount: Int { shape.reduce(1, *) }
        public var byteCount: Int { byteRange.count }

        /// Calls `body` with the tensor's raw little-endian bytes, straight from the mapping. The pointer
        /// is only valid inside `body`, and may not be aligned to the element size (the header length is
        /// arbitrary), so read with `loadUnaligned`.
        public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
            try withExtendedLifetime(file) {
                try body(UnsafeRawBufferPointer(rebasing: file.bytes[byteRange]))
            }
        }

        /// Lets the kernel drop the tensor's resident pages (they load again from the file if read):
        /// for a tensor whose values were copied into another form. The C call is `madvise(MADV_DONTNEED)`.
        /// Nothing for bytes held in memory, which `MADV_DONTNEED` would turn to zeros.
        func releasePages() {
            guard file.isMapped else { return }
            withUnsafeBytes { POSIX.releasePages($0) }
        }

        /// The elements converted to `Float` (exact for all three dtypes: BF16 and F16 both widen losslessly).
        public func floats() -> [Float] {
            let count = elementCount
            return withUnsafeBytes { raw in
                [Float](unsafeUninitializedCapacity: count) { out, initialized in
                    switch dtype {
                    case .f32:
                        for i in 0..<count {
                            out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                        }
                    case .bf16:
                        // BF16 is the top half of an IEEE float32.
                        for i in 0..<count {
                            let half = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                            out[i] = Float(bitPattern: UInt32(half) << 16)
                        }
                    case .f16:
                        for i in 0..<count {
                            let half = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                            out[i] = Float(Float16(bitPattern: half))
                        }
                    }
                    initialized = count
                }
            }
        }
    }
}
