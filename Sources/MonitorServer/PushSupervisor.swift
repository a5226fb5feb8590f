import Foundation
import MonitorModels
import Synchronization

/// Runs one `PushDriver` per push agent: started when one is added (or found at start), stopped when
/// it is deleted. Wakes of an agent's `next` key (a job assigned, a cancel) reach its driver at once.
final class PushSupervisor: @unchecked Sendable {
    private let core: ServiceCore
    private let drivers = Mutex<[String: PushDriver]>([:])
    /// Every agent uuid seen at the last sync: a wake for one of them that has no driver is a pull agent's.
    private let known = Mutex<Set<String>>([])
    private let cond = NSCondition()
    private var stopping = false
    private var resync = true

    init(core: ServiceCore) { self.core = core }

    /// Starts the thread that keeps the drivers in step with the agents.
    func start() {
        let t = Thread { [self] in run() }
        t.name = "mms-push-supervisor"
        t.start()
    }

    /// Stops every driver.
    func stop() {
        cond.withLock {
            stopping = true
            cond.signal()
        }
        for d in drivers.withLock({ Array($0.values) }) { d.stop() }
    }

    /// A hub wake: drivers named by an `agentNext` key look at their work now; an unknown uuid may be a new agent.
    func woke(_ keys: Set<WaitKey>?) {
        guard let keys else {
            for d in drivers.withLock({ Array($0.values) }) { d.poke() }
            return
        }
        var unknown = false
        for case .agentNext(let uuid) in keys {
            if let d = drivers.withLock({ $0[uuid] }) { d.poke() } else if !known.withLock({ $0.contains(uuid) }) { unknown = true }
        }
        if unknown { cond.withLock { resync = true; cond.signal() } }
    }

    private func run() {
        while true {
            let stop = cond.withLock { () -> Bool in
                if !stopping && !resync { _ = cond.wait(until: Date().addingTimeInterval(1)) }
                resync = false
                return stopping
            }
            if stop { return }
            sync()
        }
    }

    private func sync() {
        let (wanted, all) = core.agentUUIDsByKind()
        known.withLock { $0 = all }
        let (started, gone) = drivers.withLock { d -> ([PushDriver], [PushDriver]) in
            var started: [PushDriver] = []
            for uuid in wanted where d[uuid] == nil {
                let driver = PushDriver(uuid: uuid, core: core)
                d[uuid] = driver
                started.append(driver)
            }
            let gone = d.keys.filter { !wanted.contains($0) }.compactMap { d.removeValue(forKey: $0) }
            return (started, gone)
        }
        for d in started { d.start() }
        for d in gone { d.stop() }
    }
}
