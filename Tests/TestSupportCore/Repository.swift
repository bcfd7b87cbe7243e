public import Foundation

/// Where the source checkout's folders are, for tests that read committed files.
public enum Repository {
    /// The package root (the folder holding Package.swift).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let fixtures = root.appendingPathComponent("Fixtures")
    public static let agents = root.appendingPathComponent("Agents")
    /// The Python that has the tests' clients (`Tests/requirements.txt`), installed by `scripts/install-deps`.
    public static let testPython = root.appendingPathComponent(".venv-tests/bin/python")
}
