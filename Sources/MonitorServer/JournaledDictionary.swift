/// A dictionary that can remember the first value each key had since `begin()`, so a failed step
/// can be undone by restoring just the entries it touched (copying the whole dispatcher on every
/// change would cost O(agents) per request).
struct JournaledDictionary<Key: Hashable & Sendable, Value: Sendable>: Sequence, Sendable {
    private(set) var storage: [Key: Value] = [:]
    private var undo: [Key: Value?]?

    init() {}

    subscript(key: Key) -> Value? {
        get { storage[key] }
        set {
            remember(key)
            storage[key] = newValue
        }
    }

    var values: Dictionary<Key, Value>.Values { storage.values }
    var keys: Dictionary<Key, Value>.Keys { storage.keys }
    var count: Int { storage.count }
    var isEmpty: Bool { storage.isEmpty }

    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        remember(key)
        return storage.removeValue(forKey: key)
    }

    func makeIterator() -> Dictionary<Key, Value>.Iterator { storage.makeIterator() }

    /// The value `key` had at `begin()` (nil when it was absent or has not been touched since).
    func original(_ key: Key) -> Value?? { undo?[key] }

    /// Starts remembering first values.
    mutating func begin() { undo = [:] }

    /// Forgets what was remembered (the step is kept).
    mutating func keep() { undo = nil }

    /// Puts back every touched entry as it was at `begin()`.
    mutating func rollback() {
        guard let saved = undo else { return }
        undo = nil
        for (key, value) in saved { storage[key] = value }
    }

    private mutating func remember(_ key: Key) {
        if undo != nil, undo?[key] == nil { undo?[key] = .some(storage[key]) }
    }
}
