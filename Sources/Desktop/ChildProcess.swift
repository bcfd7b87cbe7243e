public import Foundation
import Glibc

/// A child process started with `posix_spawn`, with default signal handling and an empty signal mask.
///
/// Foundation's `Process` passes on the spawning thread's blocked signals, and threads of the Swift
/// runtime (test runners, Dispatch) block SIGTERM: a server started that way ignores `terminate()`.
public final class ChildProcess {
    public let pid: pid_t
    public let executable: String
    private var exitStatus: Int32?

    /// Where a standard stream of the child goes.
    public enum Stream {
        case inherit
        case null
        /// This descriptor (dup'ed into the child; the caller keeps its own copy).
        case descriptor(Int32)
    }

    /// Starts `executable` with `arguments`. Corresponding call: `posix_spawn`.
    public init(_ executable: URL, arguments: [String] = [], environment: [String: String],
                stdin: Stream = .null, stdout: Stream = .inherit, stderr: Stream = .inherit) throws(DesktopError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (stream, target) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            switch stream {
            case .inherit: break
            case .null: posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, target)
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable.path, &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw DesktopError(.process, "cannot start \(executable.path): \(String(cString: strerror(status)))")
        }
        self.pid = pid
        self.executable = executable.path
    }

    deinit {
        terminate()
    }

    /// Whether the child is still running (reaps it when it has exited).
    public var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid || result < 0 {
            exitStatus = result == pid ? Self.decode(status) : -1
            return false
        }
        return true
    }

    /// Waits for the child to exit (at most `timeout` seconds when given) and returns its status:
    /// the exit code, or 128 + signal number when a signal ended it; nil on timeout.
    @discardableResult
    public func wait(timeout: Double? = nil) -> Int32? {
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while isRunning {
            if let deadline, Date() > deadline { return nil }
            usleep(5_000)
        }
        return exitStatus
    }

    /// Sends SIGTERM, waits up to `grace` seconds, then SIGKILL; always reaps the child.
    public func terminate(grace: Double = 2) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if wait(timeout: grace) == nil {
            kill(pid, SIGKILL)
            wait()
        }
    }

    /// Sends a signal.
    public func signal(_ number: Int32) { kill(pid, number) }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
