public import Foundation
import CSpawn
import Glibc
import Synchronization

/// A child process started with `posix_spawn`, with default signal handling, an empty signal mask and
/// no descriptors but its three standard streams.
///
/// Foundation's `Process` passes on the spawning thread's blocked signals, and threads of the Swift
/// runtime (test runners, Dispatch) block SIGTERM: a server started that way ignores `terminate()`.
/// A descriptor another thread opens meanwhile without close-on-exec would otherwise live on in the
/// child: a pipe or socket whose other end waits for it to close then waits as long as the child lives.
public final class ChildProcess: Sendable {
    public let pid: Int32
    public let executable: String
    /// Set once the child is reaped; held while reaping, so two threads never both `waitpid` it.
    private let exitStatus = Mutex<Int32?>(nil)

    /// Where a standard stream of the child goes.
    public enum Stream {
        case inherit
        case null
        /// This descriptor (dup'ed into the child; the caller keeps its own copy).
        case descriptor(Int32)
    }

    /// Starts `executable` with `arguments`, in `directory` when given. Corresponding call: `posix_spawn`.
    public init(_ executable: URL, arguments: [String] = [], environment: [String: String], directory: URL? = nil,
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
        cspawn_addclosefrom(&actions, 3) // after the dup2s, which may read from above 2
        if let directory { cspawn_addchdir(&actions, directory.path) }
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
        exitStatus.withLock { exitStatus in
            guard exitStatus == nil else { return false }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            guard result == pid || result < 0 else { return true }
            exitStatus = result == pid ? Self.decode(status) : -1
            return false
        }
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
        return exitStatus.withLock { $0 }
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
