import Desktop
import Foundation
import TestSupport
import TestSupportCore
import Testing

/// `POST /v1/files` and chat parts that name an upload, driven by the official `openai` package.
@Suite("qwen-agent serve: image uploads on /v1/files")
struct ServeFileTests {
    @Test func anUploadedImageAnswersLikeItsDataURL() throws {
        let server = try ServeProcess(["--model", ServeOpenAITests.model, "--tokenizer", ServeOpenAITests.tokenizer, "--max-upload-mb", "1"])
        let tooLarge = server.folder.appendingPathComponent("large.png")
        var generator = SeededGenerator(seed: 15)
        try Data((0..<(3 << 19)).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: tooLarge)
        let client = try runClient("openai_files.py", [server.base, "tiny-tied", ServeOpenAITests.image, "What is in the picture?", "10", tooLarge.path])
        #expect(client.status == 0, "\(client.stderr)\nthe server's log:\n\(server.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(client.stdout.utf8)) as? [String: Any], "\(client.stdout)")
        let uploaded = try #require(result["uploaded"] as? [String: Any])
        let id = try #require(uploaded["id"] as? String)
        #expect(id.hasPrefix("file-") && uploaded["purpose"] as? String == "vision" && uploaded["filename"] as? String == "image-0.png", "\(uploaded)")
        let size = try FileManager.default.attributesOfItem(atPath: ServeOpenAITests.image)[.size] as? Int
        #expect(uploaded["bytes"] as? Int == size)
        #expect(result["retrieved"] as? String == id)
        #expect(result["listed"] as? [String] == [id])

        let byFile = try #require(result["by_file"] as? [String: Any]), byURL = try #require(result["by_data_url"] as? [String: Any])
        #expect((byFile["prompt_tokens"] as? Int ?? 0) > 20, "the image's rows are in the prompt: \(byFile)")
        #expect(byFile["content"] as? String == byURL["content"] as? String && byFile["reasoning"] as? String == byURL["reasoning"] as? String
                && byFile["prompt_tokens"] as? Int == byURL["prompt_tokens"] as? Int, "\(byFile) vs \(byURL)")
        #expect(!((byFile["reasoning"] as? String) ?? "").isEmpty)

        let unknown = try #require(result["unknown_id"] as? [String: Any])
        #expect(unknown["status"] as? Int == 404 && (unknown["message"] as? String ?? "").contains("no uploaded file 'file-nosuchupload'"), "\(unknown)")
        let large = try #require(result["too_large"] as? [String: Any])
        #expect(large["status"] as? Int == 413 && (large["message"] as? String ?? "").contains("--max-upload-mb"), "\(large)")
        #expect(result["deleted"] as? Bool == true)
        #expect((result["after_delete"] as? [String: Any])?["status"] as? Int == 404)
        #expect(result["listed_after"] as? [String] == [])
        #expect(server.stop() == 0)
    }

    @Test func uploadsThatAreNotImagesAreRefused() throws {
        let server = try ServeProcess(["--transcript", ServeTaskTests.transcript])
        let text = server.folder.appendingPathComponent("notes.txt")
        try Data("not a picture".utf8).write(to: text)
        let notImage = try curl(server.base + "/v1/files", ["-F", "purpose=vision", "-F", "file=@\(text.path)"])
        #expect(notImage.status == 400 && (notImage.errorMessage ?? "").contains("not a PNG image"), "\(notImage.body)")
        let wrongPurpose = try curl(server.base + "/v1/files", ["-F", "purpose=fine-tune", "-F", "file=@\(ServeOpenAITests.image)"])
        #expect(wrongPurpose.status == 400 && (wrongPurpose.errorMessage ?? "").contains("purpose=vision"), "\(wrongPurpose.body)")
        let notMultipart = try curl(server.base + "/v1/files", ["-X", "POST", "--data-binary", "@\(ServeOpenAITests.image)"])
        #expect(notMultipart.status == 415 && (notMultipart.errorMessage ?? "").contains("multipart/form-data"), "\(notMultipart.body)")
        #expect((try curl(server.base + "/v1/files").json?["data"] as? [Any])?.isEmpty == true, "nothing was kept")
        #expect(server.stop() == 0)
    }
}
