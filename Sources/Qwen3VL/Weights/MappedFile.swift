import Qwen3VLPrompt
import Glibc

extension Qwen3VL {
    /// A whole file mapped read-only into memory; unmapped when the last reference goes away.
    ///
    /// Weights are gigabytes, so they are mapped rather than read: pages load on first touch and the
    /// kernel can drop them under memory pressure. A class because the mapping has exactly one owner;
    /// tensor views keep it alive by holding a reference. The bytes are never written, so sharing the
    /// object across threads is safe. If another process truncates the file while it is mapped, reads
    /// past the new end raise SIGBUS; nothing in user space can prevent that, so model files must not be
    /// rewritten in place while the engine runs.
    ///
    /// A file's bytes already in memory (fuzzing) are held in a copy of exactly their size instead, so
    /// AddressSanitizer sees a read one byte past the end, which a page-rounded mapping would hide.
    final class MappedFile: @unchecked Sendable {
        let path: String
        /// The file's bytes; empty (and not mapped) for an empty file, since `mmap` rejects length 0.
        let bytes: UnsafeRawBufferPointer
        /// Whether `bytes` is a mapping of the file (and not a copy in memory).
        let isMapped: Bool

        init(path: String) throws {
            self.path = path
            let fd = try POSIX.openReadOnly(path)
            defer { POSIX.close(fd) }
            let size = try POSIX.fileSize(fd, path: path)
            bytes = size == 0 ? UnsafeRawBufferPointer(start: nil, count: 0) : try POSIX.mapReadOnly(fd, size: size, path: path)
            isMapped = true
        }

        /// A copy of `contents`, standing for the file at `path`.
        init(copying contents: some Collection<UInt8>, path: String) {
            self.path = path
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: contents.count, alignment: 16)
            copy.copyBytes(from: contents)
            bytes = UnsafeRawBufferPointer(copy)
            isMapped = false
        }

        deinit {
            if !isMapped {
                bytes.deallocate()
            } else if let base = bytes.baseAddress {
                POSIX.unmap(base, size: bytes.count)
            }
        }
    }

    /// The few Glibc calls the weight loader makes, one function each, so `errno` handling lives in
    /// one place and every failure becomes a `WeightsError` that names the file.
    enum POSIX {
        static func openReadOnly(_ path: String) throws -> Int32 {
            while true {
                let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
                if fd >= 0 { return fd }
                if errno != EINTR { throw failure("cannot open", path) }
            }
        }

        static func fileSize(_ fd: Int32, path: String) throws -> Int {
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw failure("cannot stat", path) }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw WeightsError(.io, "\(path): not a regular file")
            }
            return Int(info.st_size)
        }

        static func mapReadOnly(_ fd: Int32, size: Int, path: String) throws -> UnsafeRawBufferPointer {
            let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let address, address != MAP_FAILED else { throw failure("cannot map", path) }
            return UnsafeRawBufferPointer(start: address, count: size)
        }

        static func unmap(_ address: UnsafeRawPointer, size: Int) {
            munmap(UnsafeMutableRawPointer(mutating: address), size)
        }

        /// Drops the whole pages inside `bytes` of a read-only file mapping from memory; they load again
        /// from the file when touched.
        static func releasePages(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress else { return }
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let first = (Int(bitPattern: base) + page - 1) / page * page, end = (Int(bitPattern: base) + bytes.count) / page * page
            if end > first { _ = madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED) }
        }

        static func close(_ fd: Int32) {
            _ = Glibc.close(fd)
        }

        private static func failure(_ what: String, _ path: String) -> WeightsError {
            WeightsError(.io, "\(path): \(what): \(String(cString: strerror(errno)))")
        }
    }
}
