import Foundation
import MonitorModels

extension AppState {
    /// Keys while a prompt, form or input line is open.
    mutating func handleModalKey(_ key: Key) -> [Effect] {
        switch modal {
        case .confirm(let c):
            switch key {
            case .char("y"), .char("Y"):
                modal = nil
                if c.clearsMarks { marked = [] }
                return [c.effect]
            case .char("n"), .char("N"), .escape:
                modal = nil
                message = Message("nothing changed")
            default: break
            }
            return []
        case .filter:
            return filterKey(key)
        case .search(let text):
            return searchKey(key, text)
        case .command(let input):
            return commandKey(key, input)
        case .form(var f):
            let effects = formKey(key, &f)
            if case .form = modal { modal = .form(f) }
            return effects
        case nil:
            return []
        }
    }

    mutating func filterKey(_ key: Key) -> [Effect] {
        var text = currentFilter
        switch key {
        case .enter: modal = nil; return []
        case .escape: modal = nil; text = ""
        case .backspace, .delete: if !text.isEmpty { text.removeLast() }
        case .char(let ch): text.append(ch)
        default: return []
        }
        currentFilter = text
        switch view {
        case .jobs: recomputeJobs()
        case .audit: recomputeAudit()
        default: recomputeAgents()
        }
        return []
    }

    mutating func searchKey(_ key: Key, _ text: String) -> [Effect] {
        var text = text
        switch key {
        case .escape: modal = nil; return []
        case .backspace, .delete: if !text.isEmpty { text.removeLast() }
        case .char(let ch): text.append(ch)
        case .enter:
            modal = nil
            guard var l = log else { return [] }
            var effects: [Effect] = l.searching == nil ? [] : [.cancelSearch]
            l.search = text
            l.match = nil
            l.searching = nil
            if !text.isEmpty { effects += startSearch(&l, forward: true, fresh: true) }
            log = l
            return effects + logFollowUps()
        default: return []
        }
        modal = .search(text)
        return []
    }

    /// Edits a form; Enter on the last field submits it.
    mutating func formKey(_ key: Key, _ f: inout Form) -> [Effect] {
        let field = f.fields[f.focus]
        switch key {
        case .escape:
            modal = nil
            message = Message("nothing changed")
        case .tab, .down: moveFocus(&f, by: 1)
        case .backTab, .up: moveFocus(&f, by: -1)
        case .enter:
            if field.kind == .lines {
                let lines = field.lines
                if let last = lines.last, !last.trimmingCharacters(in: .whitespaces).isEmpty {
                    f.fields[f.focus].value += "\n"
                    return []
                }
                if lines.count > 1 { f.fields[f.focus].value.removeLast() }
            }
            if f.focus == f.fields.count - 1 { return submit(&f) }
            moveFocus(&f, by: 1)
        case .backspace, .delete:
            if field.editable, field.kind != .toggle, !field.value.isEmpty { f.fields[f.focus].value.removeLast() }
        case .char(let ch):
            guard field.editable else { return [] }
            if field.kind == .toggle {
                if ch == " " { f.fields[f.focus].value = field.value == "yes" ? "no" : "yes" }
                if ch == "y" || ch == "n" { f.fields[f.focus].value = ch == "y" ? "yes" : "no" }
            } else {
                f.fields[f.focus].value.append(ch)
            }
        default: break
        }
        return []
    }

    func moveFocus(_ f: inout Form, by step: Int) {
        var i = f.focus
        for _ in f.fields {
            i = (i + step + f.fields.count) % f.fields.count
            if f.fields[i].editable { break }
        }
        f.focus = i
    }

    /// The push agent a form describes, or nil with the problem shown in the form.
    func pushAgentRequest(_ f: inout Form) -> PushAgentRequest? {
        let request = PushAgentRequest(
            name: f.value("Name").trimmingCharacters(in: .whitespaces), url: f.value("URL").trimmingCharacters(in: .whitespaces),
            authTokenSecret: f.value("Secret"), resources: commaList(f.value("Resources")),
            environments: commaList(f.value("Environments")))
        let url = URLComponents(string: request.url)
        let problem = Validation.nameProblem(request.name, field: "name")
            ?? (["http", "https"].contains(url?.scheme ?? "") && !(url?.host ?? "").isEmpty ? nil : "the URL must be http:// or https:// with a host")
            ?? (request.authTokenSecret.utf8.count >= PushAgentRequest.minimumSecretBytes ? nil : "the secret must be at least 16 bytes")
            ?? Validation.tagListProblem(request.resources, field: "resources")
            ?? Validation.tagListProblem(request.environments, field: "environments")
        f.error = problem
        return problem == nil ? request : nil
    }

    /// Checks a form and turns it into its effect, or shows what is wrong in the form.
    mutating func submit(_ f: inout Form) -> [Effect] {
        let effect: Effect
        switch f.kind {
        case .editAgent(let uuid):
            let res = commaList(f.value("Resources")), envs = commaList(f.value("Environments"))
            if let p = Validation.tagListProblem(res, field: "resources") ?? Validation.tagListProblem(envs, field: "environments") {
                f.error = p
                return []
            }
            effect = .editAgent(uuid: uuid, AgentPatch(resources: res, environments: envs))
        case .pushAgent:
            guard let request = pushAgentRequest(&f) else { return [] }
            if let path = caCertPath(f) {  // the form stays open until the file is read (caCertRead)
                message = Message("reading \(path)…")
                return [.readCACert(path: path)]
            }
            effect = .addPushAgent(request)
        case .newJob:
            let commands = f.value("Commands").split(separator: "\n").map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            let spec = JobSpec(name: f.value("Name").trimmingCharacters(in: .whitespaces), commands: commands,
                               resources: commaList(f.value("Resources")))
            if let p = Validation.nameProblem(spec.name, field: "name") { f.error = p; return [] }
            if commands.isEmpty { f.error = "type at least one command"; return [] }
            if let p = Validation.jobSpecProblem(spec) { f.error = p; return [] }
            effect = .createJob(spec)
        case .configEntry(let existing):
            let name = existing ?? f.value("Name").trimmingCharacters(in: .whitespaces)
            let value = f.value("Value")
            if !Validation.isConfigName(name) { f.error = "the name must match [A-Za-z_][A-Za-z0-9_]{0,63}"; return [] }
            if value.utf8.count > Validation.maxConfigValueBytes { f.error = "the value is longer than 64 KiB"; return [] }
            if f.isSecret, value.isEmpty { f.error = "type the secret's value (it is never shown again)"; return [] }
            effect = .putConfig(name: name, ConfigEntryInput(value: value, secret: f.isSecret))
        case .disable(let uuids):
            return submitDisable(&f, uuids: uuids)
        }
        modal = nil
        message = Message("sending…")
        return [effect]
    }
}
