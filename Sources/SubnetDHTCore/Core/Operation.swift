/// A lookup, store, record read or ping in progress, in the phase it has reached.
struct Operation {
    enum Phase {
        /// A ping waits for its answer.
        case pinging
        /// The lookup walks toward its target. A record read (`read`) also gathers the pages
        /// that replicas send with their answers on the way.
        case walking(IterativeLookup, read: RecordRead?)
        /// A record read's walk converged: the remaining pages are read from the closest replicas.
        case paging(IterativeLookup, RecordRead)
        /// A store's walk converged: the stores went out, and their answers are counted.
        case storing(IterativeLookup, StoreProgress)
    }

    /// Who waits for the result.
    enum Owner: Equatable {
        /// The shell: the result goes out as an `operationFinished` event.
        case caller
        /// The core itself (a refresh, the heartbeat, a view read, a rejoin).
        case core(InternalPurpose)
    }

    var phase: Phase
    /// What a store operation stores once its walk converges; nil for every other operation.
    let plan: StorePlan?
    let owner: Owner

    /// The walk, in whichever phase it is: answers that arrive after it converged still
    /// update it, as the result reports what it saw.
    var lookup: IterativeLookup? {
        get {
            switch phase {
            case .pinging: nil
            case .walking(let lookup, _), .paging(let lookup, _), .storing(let lookup, _): lookup
            }
        }
        set {
            guard let newValue else { return }
            switch phase {
            case .pinging: break
            case .walking(_, let read): phase = .walking(newValue, read: read)
            case .paging(_, let read): phase = .paging(newValue, read)
            case .storing(_, let progress): phase = .storing(newValue, progress)
            }
        }
    }

    /// A record read's pages and cursors, walking or paging.
    var read: RecordRead? {
        get {
            switch phase {
            case .walking(_, let read): read
            case .paging(_, let read): read
            case .pinging, .storing: nil
            }
        }
        set {
            guard let newValue else { return }
            switch phase {
            case .walking(let lookup, .some): phase = .walking(lookup, read: newValue)
            case .paging(let lookup, _): phase = .paging(lookup, newValue)
            case .pinging, .walking, .storing: break
            }
        }
    }

    /// The answers to a store's stores, once its walk converged.
    var store: StoreProgress? {
        get {
            if case .storing(_, let progress) = phase { progress } else { nil }
        }
        set {
            guard let newValue, case .storing(let lookup, _) = phase else { return }
            phase = .storing(lookup, newValue)
        }
    }

    /// Whether the walk still decides what is sent next (not yet storing or paging).
    var isWalking: Bool {
        if case .walking = phase { true } else { false }
    }
}

/// A record read: the records merged so far, and where to read further pages.
struct RecordRead {
    var collector: RecordCollector
    /// `more` cursors by replica, learnt during the walk.
    var cursors: [Endpoint: [UInt8]] = [:]
    var pagesRead: [Endpoint: Int] = [:]
    var inFlight = 0
}

struct StoreProgress {
    var waiting: [Endpoint: NodeInfo] = [:]
    var accepted: [NodeInfo] = []
    var rejected: [(NodeInfo, KRPCError)] = []
    var unanswered: [NodeInfo] = []
    var seq: Int64?
}

/// How an announced record is stamped when its stores go out.
public enum RecordStamping: Sendable, Equatable {
    /// Stored as signed.
    case asSigned
    /// Signed again with its expiry counted from when the stores go out (the node's own
    /// heartbeat): counted from the publish's start, the lookup's time came off the record's
    /// life, and readers saw records lapse between two heartbeats.
    case renewedAtStore
}
