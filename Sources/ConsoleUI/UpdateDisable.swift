import Foundation
import MonitorModels

extension Form {
    /// The form `d` opens: an optional reason and how long (blank: until enabled again).
    static func disable(_ targets: [Agent]) -> Form {
        let who = targets.count == 1 ? targets[0].name : "\(targets.count) agents"
        return Form(kind: .disable(uuids: targets.map(\.uuid)), title: "Disable \(who)", fields: [
            FormField("Reason", hint: "optional: why, for the Agents list and the audit log"),
            FormField("For", hint: "30m, 2h, 1d; blank: until someone enables it again"),
        ])
    }
}

/// How long a disable lasts, as typed: "30m", "2h", "1d" (several may be joined: "1h30m").
public enum HoldDuration {
    /// The seconds `text` stands for; nil for blank (until enabled); throws a sentence when it is not a duration.
    public static func parse(_ text: String) throws(HoldDurationError) -> TimeInterval? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t.isEmpty { return nil }
        var total = 0.0
        var digits = ""
        for ch in t {
            if ch.isASCII, ch.isNumber { digits.append(ch); continue }
            guard let n = Double(digits), let unit = ["m": 60.0, "h": 3600.0, "d": 86400.0][String(ch)] else {
                throw HoldDurationError(text: text)
            }
            total += n * unit
            digits = ""
        }
        guard digits.isEmpty, total > 0, total <= 366 * 86400 else { throw HoldDurationError(text: text) }
        return total
    }

    /// "1h 30m", "2d", "45m", "30s": a span said short, for rows and prompts.
    public static func said(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds.rounded()))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        if s < 86400 { return s % 3600 / 60 == 0 ? "\(s / 3600)h" : "\(s / 3600)h \(s % 3600 / 60)m" }
        return s % 86400 / 3600 == 0 ? "\(s / 86400)d" : "\(s / 86400)d \(s % 86400 / 3600)h"
    }
}

/// A duration that could not be read.
public struct HoldDurationError: Error, Equatable, CustomStringConvertible {
    public var text: String
    public var description: String { "\"\(text)\" is not a duration: type 30m, 2h or 1d, or leave it blank" }
}

extension AppState {
    /// Turns the filled disable form into the y/n confirmation, with its impact.
    mutating func submitDisable(_ f: inout Form, uuids: [String]) -> [Effect] {
        let seconds: TimeInterval?
        do { seconds = try HoldDuration.parse(f.value("For")) } catch { f.error = error.description; return [] }
        confirmDisable(uuids: uuids, reason: f.value("Reason").trimmingCharacters(in: .whitespaces), seconds: seconds)
        return []
    }

    /// Asks y/n before disabling `uuids` (for `seconds`, nil: until enabled), naming the jobs left without an agent.
    mutating func confirmDisable(uuids: [String], reason: String, seconds: TimeInterval?) {
        let until = seconds.map { now.addingTimeInterval($0) }
        let names = uuids.compactMap { agents[$0]?.name }
        let who = names.count == 1 ? names[0] : "\(names.count) agents"
        let span = seconds.map { " for \(HoldDuration.said($0))" } ?? " until enabled again"
        let why = reason.isEmpty ? "" : " (\(reason))"
        modal = .confirm(Confirm(
            question: "Disable \(who)\(span)\(why)? Running jobs finish; no new work is given." + impact(removing: Set(uuids)),
            effect: .disable(uuids: uuids, reason: reason.isEmpty ? nil : reason, until: until), clearsMarks: true))
    }

    /// " 2 jobs would have no agent: #41 build-gpu, #44 render": the scheduled jobs that an enabled agent could
    /// run now and none could once `removed` are disabled or deleted (the server's matching rule); "" when none.
    func impact(removing removed: Set<String>) -> String {
        let stranded = JobMatching.stranded(jobs: jobs.values, agents: agents.values, removing: removed)
        guard !stranded.isEmpty else { return "" }
        let shown = stranded.prefix(4).map { "#\($0.id) \($0.name)" }.joined(separator: ", ")
        let more = stranded.count > 4 ? ", …" : ""
        let head = stranded.count == 1 ? "1 job would have no agent" : "\(stranded.count) jobs would have no agent"
        return " \(head): \(shown)\(more)."
    }
}
