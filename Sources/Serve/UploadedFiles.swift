import Foundation
import Imaging
import Synchronization

/// `/v1/files`: images uploaded the OpenAI way (multipart, purpose `vision`) and kept in memory for chat
/// requests to name by id. Nothing is written to disk; the files go when the server stops or on DELETE.
final class UploadedFiles: Sendable {
    /// `GET /v1/files/{id}` and the reply to an upload: OpenAI's file object.
    struct Entry: Encodable, Sendable {
        let id: String
        let object = "file"
        let bytes: Int
        let createdAt: Int
        let filename: String
        let purpose: String
        let status = "processed"

        enum CodingKeys: String, CodingKey {
            case id, object, bytes, filename, purpose, status
            case createdAt = "created_at"
        }
    }

    struct Deleted: Encodable {
        let id: String
        let object = "file"
        let deleted = true
    }

    struct Listing: Encodable {
        let object = "list"
        let data: [Entry]
        /// All of them on one page: a paging client stops here.
        let hasMore = false
        enum CodingKeys: String, CodingKey {
            case object, data
            case hasMore = "has_more"
        }
    }

    private struct Stored {
        let entry: Entry
        let image: RGBImage
    }

    /// The largest file (`--max-upload-mb`).
    let fileLimit: Int
    /// The most bytes all uploads together may hold (a few files' worth); an upload past it is refused
    /// until some are deleted.
    var capacity: Int { fileLimit * 8 }
    private let stored = Mutex<[String: Stored]>([:])

    init(fileLimit: Int) {
        self.fileLimit = fileLimit
    }

    /// Keeps the image in `body` (a multipart/form-data upload with a `file` part and `purpose=vision`);
    /// a problem is a one-line message with its status.
    func add(multipart body: [UInt8], contentType: String?) throws(UploadProblem) -> Entry {
        guard let contentType, let boundary = Multipart.boundary(contentType: contentType) else {
            throw UploadProblem(.unsupportedMediaType, "send the file as multipart/form-data with a 'file' part and purpose=vision")
        }
        guard let parts = Multipart.parts(body, boundary: boundary) else {
            throw UploadProblem(.badRequest, "the multipart body does not end with its boundary; send it whole")
        }
        let purpose = parts.first { $0.name == "purpose" }.map { String(decoding: $0.body, as: UTF8.self) }
        guard purpose == "vision" else {
            throw UploadProblem(.badRequest, "purpose '\(purpose ?? "")' is not supported; upload images with purpose=vision")
        }
        guard let file = parts.first(where: { $0.name == "file" }) else {
            throw UploadProblem(.badRequest, "the upload has no 'file' part")
        }
        if file.body.count > fileLimit {
            throw UploadProblem(.contentTooLarge, "the file is larger than \(fileLimit >> 20) MB; upload a smaller image or start serve with a larger --max-upload-mb")
        }
        let image: RGBImage
        do {
            image = try PNG.decode(file.body)
        } catch {
            throw UploadProblem(.badRequest, "the file is not a PNG image that can be read (\(error.message)); upload PNG images")
        }
        let entry = Entry(id: "file-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""), bytes: file.body.count,
                          createdAt: Int(Date().timeIntervalSince1970), filename: file.filename ?? "image.png", purpose: "vision")
        try stored.withLock { stored throws(UploadProblem) in
            let held = stored.values.reduce(0) { $0 + $1.entry.bytes }
            if held + entry.bytes > capacity {
                throw UploadProblem(.contentTooLarge, "the uploads kept here would pass \(capacity >> 20) MB; DELETE /v1/files/{id} the ones no longer needed")
            }
            stored[entry.id] = Stored(entry: entry, image: image)
        }
        return entry
    }

    func entry(_ id: String) -> Entry? { stored.withLock { $0[id]?.entry } }
    func image(_ id: String) -> RGBImage? { stored.withLock { $0[id]?.image } }
    var all: [Entry] { stored.withLock { $0.values.map(\.entry) }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) } }

    /// Whether there was such a file.
    func remove(_ id: String) -> Bool { stored.withLock { $0.removeValue(forKey: id) != nil } }
}

/// Why an upload is refused: the status and the one line the client is told.
struct UploadProblem: Error {
    enum Status { case badRequest, unsupportedMediaType, contentTooLarge }
    let status: Status
    let message: String
    init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// The parts of a multipart/form-data body (RFC 7578), enough for a form's fields and files.
enum Multipart {
    struct Part {
        let name: String?
        let filename: String?
        let body: ArraySlice<UInt8>
    }

    /// The `boundary` parameter of a `multipart/form-data` content type.
    static func boundary(contentType: String) -> String? {
        let fields = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.first?.lowercased() == "multipart/form-data" else { return nil }
        for field in fields.dropFirst() where field.lowercased().hasPrefix("boundary=") {
            let value = field.dropFirst("boundary=".count)
            let unquoted = value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 ? value.dropFirst().dropLast() : value
            return unquoted.isEmpty ? nil : String(unquoted)
        }
        return nil
    }

    /// The parts between the boundaries; nil when the closing boundary is missing.
    static func parts(_ body: [UInt8], boundary: String) -> [Part]? {
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n--\(boundary)".utf8)
        guard var cursor = find(delimiter, in: body, from: 0).map({ $0 + delimiter.count }) else { return nil }
        var parts: [Part] = []
        while true {
            if body[cursor...].starts(with: Array("--".utf8)) { return parts } // the closing boundary
            guard body[cursor...].starts(with: Array("\r\n".utf8)) else { return nil }
            cursor += 2
            guard let end = find(separator, in: body, from: cursor) else { return nil }
            let part = body[cursor..<end]
            let split = find(Array("\r\n\r\n".utf8), in: body, from: cursor).flatMap { $0 < end ? $0 : nil }
            let headers = split.map { String(decoding: body[cursor..<$0], as: UTF8.self) } ?? ""
            let content = split.map { body[($0 + 4)..<end] } ?? part[part.endIndex...]
            parts.append(Part(name: parameter("name", in: headers), filename: parameter("filename", in: headers), body: content))
            cursor = end + separator.count
        }
    }

    /// A quoted parameter of the part's Content-Disposition header.
    private static func parameter(_ name: String, in headers: String) -> String? {
        for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
            for field in line.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where field.hasPrefix(name + "=") {
                let value = field.dropFirst(name.count + 1)
                return value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 ? String(value.dropFirst().dropLast()) : String(value)
            }
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            guard let first = haystack[index...(haystack.count - needle.count)].firstIndex(of: needle[0]) else { return nil }
            if haystack[first..<(first + needle.count)].elementsEqual(needle) { return first }
            index = first + 1
        }
        return nil
    }
}
