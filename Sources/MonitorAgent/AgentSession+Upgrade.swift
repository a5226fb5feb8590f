import Foundation
import MonitorModels
import ServerAPIClient

/// The binary this agent runs and how far an upgrade to the server's has come.
struct UpgradeState: Sendable {
    /// Path and SHA-256 of the running binary (nil in tests that run a session in-process: no upgrades).
    var runningPath: String?
    var runningSHA256: String?
    /// The SHA-256 being upgraded to: set from the moment the agent decides until it exits or gives up.
    var target: String?
    /// A failed attempt: no new one before this.
    var retryAt: ContinuousClock.Instant?
    var retryBackoff = Backoff(initial: .seconds(30), cap: .seconds(600))
    /// The refused SHA-256 last logged (rolled back, or --no-auto-upgrade), so a refusal is logged once.
    var refusedLogged: String?
}

/// Self-upgrade (contract, "Agent self-upgrade"): when the server offers another binary the agent says it is
/// `upgrading` (the server gives it no new work), finishes its job, downloads the binary, checks its SHA-256
/// and `version`, installs it in WORK_DIR/bin and exits with 75; its supervisor starts the new one.
extension AgentSession {
    /// True while an upgrade is decided: pings say `upgrading` and, once no job runs, no poll is opened.
    var isUpgrading: Bool { upgrade.target != nil }

    /// A ping answer (or a version answer) offered `offered`: starts an upgrade when it is another binary than
    /// this one, upgrades are on, and it was neither rolled back nor failed a moment ago.
    func considerUpgrade(offered: String?, serverVersion: String) {
        guard !stopping, upgrade.target == nil, let offered, let mine = upgrade.runningSHA256, offered != mine else { return }
        guard options.autoUpgrade else {
            if upgrade.refusedLogged != offered {
                log("the server offers agent binary \(offered.prefix(12)) (this one is \(mine.prefix(12))); "
                    + "not upgrading: --no-auto-upgrade")
                upgrade.refusedLogged = offered
            }
            return
        }
        if AgentBinaryDir(workDir: options.workDir).rolledBack().contains(offered) {
            if upgrade.refusedLogged != offered {
                log("not upgrading to the server's agent binary \(offered.prefix(12)): it was rolled back here before")
                upgrade.refusedLogged = offered
            }
            return
        }
        if let retryAt = upgrade.retryAt, ContinuousClock.now < retryAt { return }
        upgrade.target = offered
        log("the server offers agent binary \(offered.prefix(12)) (this one is \(mine.prefix(12))): upgrading"
            + (current.map { " once job \($0.jobId) has finished" } ?? "") + "; taking no new work")
        Task { await self.upgradeWhenIdle(offered, serverVersion: serverVersion) }
    }

    /// Waits for the running job to end, then downloads and installs the binary and ends the session.
    func upgradeWhenIdle(_ target: String, serverVersion: String) async {
        await sendPing()  // status Upgrading (or the job's state) now, so no new job is assigned meanwhile
        while current != nil && !stopping { await sleepUnlessStopping(.milliseconds(50)) }
        if stopping { return }
        await sendPing()
        do throws(UpgradeProblem) {
            let version = try await downloadAndInstall(expected: target, serverVersion: serverVersion)
            finishForUpgrade(.upgraded("installed mms-agent \(version) (SHA-256 \(target)) in \(options.workDir)/bin; "
                + "exiting so the supervisor starts it"))
        } catch {
            upgrade.target = nil
            let delay = upgrade.retryBackoff.next()
            upgrade.retryAt = .now + delay
            log("upgrade failed: \(error.description); keeping this binary and trying again in \(delay.components.seconds) s")
            await sendPing()
        }
    }

    /// Downloads the server's binary and installs it in WORK_DIR/bin; returns its version.
    func downloadAndInstall(expected: String?, serverVersion: String) async throws(UpgradeProblem) -> String {
        let download: AgentBinaryDownload
        do {
            download = try await api.agentBinary()
        } catch {
            throw UpgradeProblem("cannot download the agent binary: \(error.description)")
        }
        return try AgentBinaryDir(workDir: options.workDir).install(
            download.bytes, headerSHA256: download.sha256, expected: expected, serverVersion: serverVersion,
            running: upgrade.runningPath ?? AgentBinaryDir.ownExecutable())
    }

    /// The binary is installed: the session ends (no job runs) and `run` throws `error` (exit 75).
    func finishForUpgrade(_ error: AgentError) {
        log(error.description)
        fatal = error
        stopping = true
    }

    /// Registration answered 409 version_mismatch: when the server offers a binary (and upgrades are on, and it
    /// was not rolled back here) install it and return `.upgraded`; otherwise nil (the agent exits with 4).
    func upgradeForVersionMismatch(serverVersion: String) async -> AgentError? {
        guard options.autoUpgrade, upgrade.runningSHA256 != nil,
              let offered = try? await api.version().agentSHA256, offered != upgrade.runningSHA256,
              !AgentBinaryDir(workDir: options.workDir).rolledBack().contains(offered) else { return nil }
        log("this agent (\(MMSVersion.current)) cannot work with server \(serverVersion); installing the server's agent binary")
        do throws(UpgradeProblem) {
            let version = try await downloadAndInstall(expected: offered, serverVersion: serverVersion)
            return .upgraded("installed mms-agent \(version) (SHA-256 \(offered)) in \(options.workDir)/bin; "
                + "exiting so the supervisor starts it")
        } catch {
            log("upgrade failed: \(error.description)")
            return nil
        }
    }

    /// The state a ping reports: `upgrading` once an upgrade is decided (the job id still says which job runs).
    var reportedRuntimeState: RuntimeState {
        if isUpgrading { return .upgrading }
        return current?.runtimeState ?? .idle
    }

    /// One ping now, outside the ping loop's rhythm (its answer is handled as usual; a failure is left to the loop).
    func sendPing() async {
        let request = PingRequest(runtimeState: reportedRuntimeState, jobId: current?.jobId,
                                  freeSpaceBytes: Host.freeSpace(options.workDir), binarySHA256: upgrade.runningSHA256)
        if let answer = try? await api.ping(identity.uuid, request) { await handle(answer) }
    }
}
