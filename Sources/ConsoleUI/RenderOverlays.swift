import Foundation

/// Draws an empty box with a title, centred; returns the inside rectangle (x, y, width, height).
func drawBox(_ b: inout ScreenBuffer, title: String, width: Int, height: Int) -> (x: Int, y: Int, w: Int, h: Int) {
    let w = max(10, min(width, b.size.width - 2))
    let h = max(3, min(height, b.size.height - 2))
    let x = max(0, (b.size.width - w) / 2)
    let y = max(0, (b.size.height - h) / 2)
    for row in y..<(y + h) {
        b.fill(y: row, x: x, width: w, style: .prompt)
        b.put("│", y: row, x: x, style: .prompt)
        b.put("│", y: row, x: x + w - 1, style: .prompt)
    }
    let line = String(repeating: "─", count: max(0, w - 2))
    b.put("┌" + line + "┐", y: y, x: x, style: .prompt)
    b.put("└" + line + "┘", y: y + h - 1, x: x, style: .prompt)
    b.put(" \(title) ".clipped(to: w - 4), y: y, x: x + 2, style: .bold)
    return (x + 2, y + 1, w - 4, h - 2)
}

/// Splits text into lines of at most `width` columns at spaces.
func wrapWords(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ") {
        let candidate = current.isEmpty ? String(word) : current + " " + word
        if CharWidth.of(text: candidate) > width, !current.isEmpty {
            lines.append(current)
            current = String(word)
        } else {
            current = candidate
        }
    }
    if !current.isEmpty { lines.append(current) }
    return lines
}

/// Help: the keys of the current view and the keys that work everywhere.
func renderHelp(_ s: AppState, _ b: inout ScreenBuffer) {
    let sections = KeyHints.help(s.view)
    let rows = sections.reduce(0) { $0 + $1.keys.count + 2 }
    let box = drawBox(&b, title: "Help · \(KeyHints.title(s.view)) (Esc closes)", width: 74, height: rows + 1)
    var y = box.y
    for section in sections {
        guard y < box.y + box.h else { break }
        b.put(section.title, y: y, x: box.x, width: box.w, style: .bold)
        y += 1
        for k in section.keys where y < box.y + box.h {
            let denied = k.isDenied(to: s.me)
            b.put(k.key, y: y, x: box.x + 1, width: 10, style: denied ? .denied : .key)
            let word = denied ? "\(k.word) (\(k.needs?.rawValue ?? "") role)" : k.word
            b.put(word, y: y, x: box.x + 12, width: box.w - 12, style: denied ? .denied : .prompt)
            y += 1
        }
        y += 1
    }
}

/// A y/n question in a box.
func renderConfirm(_ c: Confirm, _ b: inout ScreenBuffer) {
    let width = min(64, b.size.width - 4)
    let lines = wrapWords(c.question, width: width - 4)
    let box = drawBox(&b, title: "Confirm", width: width, height: lines.count + 4)
    for (i, line) in lines.enumerated() { b.put(line, y: box.y + i, x: box.x, width: box.w, style: .prompt) }
    let y = box.y + lines.count + 1
    var x = b.put("y", y: y, x: box.x, style: .key)
    x += b.put(" yes   ", y: y, x: box.x + x, style: .prompt)
    x += b.put("n", y: y, x: box.x + x, style: .key)
    b.put(" no", y: y, x: box.x + x, style: .prompt)
}

/// A form in a box: one row per field (several for command lines), the focused field's hint, and any error.
func renderForm(_ f: Form, _ b: inout ScreenBuffer) {
    let labelWidth = 14
    let commandRows = f.fields.reduce(0) { $0 + ($1.kind == .lines ? min(6, max(1, $1.lines.count)) : 1) }
    let box = drawBox(&b, title: f.title, width: 76, height: commandRows + 5)
    var y = box.y
    let valueWidth = box.w - labelWidth
    for (i, field) in f.fields.enumerated() {
        let focused = i == f.focus
        b.put(field.label, y: y, x: box.x, width: labelWidth - 1, style: focused ? .bold : .prompt)
        var shown: [String]
        switch field.kind {
        case .toggle: shown = [field.value == "yes" ? "[x] yes" : "[ ] no"]
        case .secretText where f.isSecret, .password: shown = [""]
        case .lines: shown = Array(field.lines.suffix(6))
        case .text, .secretText: shown = [field.value]
        }
        if shown.isEmpty { shown = [""] }
        for (k, text) in shown.enumerated() {
            let last = k == shown.count - 1
            let room = valueWidth - (focused && last ? 1 : 0)
            // Keep the end of long input visible: that is where the operator types.
            var visible = text
            while CharWidth.of(text: visible) > room, !visible.isEmpty { visible.removeFirst() }
            let style: Style = field.editable ? .input : .dim
            b.fill(y: y, x: box.x + labelWidth, width: valueWidth, style: style)
            var x = b.put(visible, y: y, x: box.x + labelWidth, width: valueWidth, style: style)
            if (field.kind == .secretText && f.isSecret) || field.kind == .password {
                b.put("(not echoed)", y: y, x: box.x + labelWidth + 2, width: valueWidth - 2, style: .dim)
                x = 0
            }
            if focused, last, field.kind != .toggle { b.put(" ", y: y, x: box.x + labelWidth + x, width: 1, style: .selected) }
            y += 1
        }
    }
    y += 1
    if let error = f.error {
        b.put(error, y: y, x: box.x, width: box.w, style: .error)
    } else {
        let focused = f.fields[f.focus]
        let hint = focused.kind == .secretText && f.isSecret ? "secret: what you type is not shown, and never shown again" : focused.hint
        b.put(hint, y: y, x: box.x, width: box.w, style: .dim)
    }
    b.put("Tab next field · Enter next, on the last field submits · Esc cancel", y: y + 1, x: box.x, width: box.w, style: .dim)
}
