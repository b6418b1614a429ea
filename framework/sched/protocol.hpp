// sched/protocol.hpp: the messages between a worker rank and rank 0 during a phase, one type per meaning, and the
// fixed-size envelope that carries each of them on the wire.
//
// Three channels, each ordered (MPI keeps the order of messages from one rank to another on one tag):
// - to rank 0 (ToRoot): everything a worker says, in the order it says it; every message but StopSignal,
//   ItemsFailed, ItemsGiven and ItemsReturned carries what the worker finished since its previous one (adaptive
//   techniques and the progress figures learn from it);
// - answers (Answer): rank 0's replies, one per WorkRequest and one for the Goodbye, in the order asked, plus the
//   first chunk of a phase, sent unasked;
// - control (Control): what rank 0 tells a worker unasked while it computes: give up work for a thief, or stop
//   claiming because the phase pauses.
#pragma once

#include <bit>
#include <cstdint>
#include <variant>

#include "pel/error.hpp"
#include "pel/types.hpp"
#include "sched/policy.hpp"

namespace pel::sched {

// ----- Worker to rank 0 -----

/// "Give me a chunk." Answered with one Grant, PhaseOver or Abort.
struct WorkRequest {
    Report done;
    bool ahead = false;  ///< sent while the worker still has a chunk in hand (rank 0 may hold it back)
};
/// News from an idle worker, so that rank 0 knows what is left where. Not answered.
struct Update {
    Report done;
};
/// "I am alive", sent every few seconds while heartbeats are on. Not answered.
struct Heartbeat {
    Report done;
};
/// This worker got a stop signal: rank 0 pauses the phase for a checkpoint. Not answered.
struct StopSignal {};
/// The kernel threw on these items: rank 0 runs them again elsewhere (or skips them). Not answered.
struct ItemsFailed {
    ItemRange items;
};
/// The answer to a StealRequest: the items given up (empty: nothing to give).
struct ItemsGiven {
    ItemRange items;
};
/// Every thread of this worker is inside a long item: the items it holds and has not started (chunks granted ahead,
/// the unclaimed rest of its current chunk) go back to rank 0 unasked, to start elsewhere instead of waiting behind
/// it. Not answered.
struct ItemsReturned {
    ItemRange items;
};
/// "I will ask for nothing more this phase." Answered with a GoodbyeAck once no steal from this worker is open.
struct Goodbye {
    Report done;
    bool failed = false;  ///< the worker's kernel threw (without retries): the run ends
};
using ToRoot =
    std::variant<WorkRequest, Update, Heartbeat, StopSignal, ItemsFailed, ItemsGiven, ItemsReturned, Goodbye>;

// ----- Rank 0 to worker: answers -----

/// Where a granted chunk came from.
enum class Origin : std::uint8_t {
    fresh,   ///< from the dispenser (or items to retry)
    held,    ///< for a request held back until the worker had less in hand
    stolen,  ///< taken from a busy rank: the phase's tail has begun
};
/// Items to process.
struct Grant {
    ItemRange items;
    Origin origin = Origin::fresh;
};
/// No more work in this phase for this worker.
struct PhaseOver {};
/// A rank failed: stop claiming and say goodbye.
struct Abort {};
/// The answer to a Goodbye.
struct GoodbyeAck {
    /// A PauseNotice went to this worker before this answer (on the control channel, which is not ordered with
    /// this one): the worker receives it now, so that it cannot leak into the next phase.
    bool pause_notice_sent = false;
};
using Answer = std::variant<Grant, PhaseOver, Abort, GoodbyeAck>;

// ----- Rank 0 to worker: control -----

/// Give up work for idle rank `thief`: answered with ItemsGiven.
struct StealRequest {
    int thief = 0;
};
/// The phase pauses for a checkpoint: stop claiming items; chunks not started stay undone.
struct PauseNotice {};
using Control = std::variant<StealRequest, PauseNotice>;

// ----- The wire -----

/// Every message as 24 bytes: a kind, a flag and two words, whose meaning the kind gives.
struct Envelope {
    std::uint32_t kind = 0;
    std::uint32_t flag = 0;
    std::uint64_t a = 0;
    std::uint64_t b = 0;
};

namespace wire {
/// Kinds are distinct over all three channels, so that a message on the wrong channel is an error, never misread.
enum Kind : std::uint32_t {
    work_request = 1,
    update,
    heartbeat,
    stop_signal,
    items_failed,
    items_given,
    goodbye,
    items_returned,
    grant = 16,
    phase_over,
    abort,
    goodbye_ack,
    steal_request = 32,
    pause_notice,
};
inline Envelope report(Kind kind, const Report& r, std::uint32_t flag = 0) {
    return {kind, flag, r.items, std::bit_cast<std::uint64_t>(r.busy_s)};
}
inline Report report_of(const Envelope& e) { return {e.a, std::bit_cast<double>(e.b)}; }
[[noreturn]] inline void unknown(const Envelope& e, const char* channel) {
    throw Error::Internal("a message of unknown kind " + std::to_string(e.kind) + " on the " + channel + " channel");
}
}  // namespace wire

inline Envelope encode(const ToRoot& message) {
    using namespace wire;
    struct Visit {
        Envelope operator()(const WorkRequest& m) const { return report(work_request, m.done, m.ahead ? 1 : 0); }
        Envelope operator()(const Update& m) const { return report(update, m.done); }
        Envelope operator()(const Heartbeat& m) const { return report(heartbeat, m.done); }
        Envelope operator()(const StopSignal&) const { return {stop_signal, 0, 0, 0}; }
        Envelope operator()(const ItemsFailed& m) const { return {items_failed, 0, m.items.begin, m.items.end}; }
        Envelope operator()(const ItemsGiven& m) const { return {items_given, 0, m.items.begin, m.items.end}; }
        Envelope operator()(const ItemsReturned& m) const { return {items_returned, 0, m.items.begin, m.items.end}; }
        Envelope operator()(const Goodbye& m) const { return report(goodbye, m.done, m.failed ? 1 : 0); }
    };
    return std::visit(Visit{}, message);
}

inline Envelope encode(const Answer& message) {
    using namespace wire;
    struct Visit {
        Envelope operator()(const Grant& m) const {
            return {grant, static_cast<std::uint32_t>(m.origin), m.items.begin, m.items.end};
        }
        Envelope operator()(const PhaseOver&) const { return {phase_over, 0, 0, 0}; }
        Envelope operator()(const Abort&) const { return {abort, 0, 0, 0}; }
        Envelope operator()(const GoodbyeAck& m) const { return {goodbye_ack, m.pause_notice_sent ? 1u : 0u, 0, 0}; }
    };
    return std::visit(Visit{}, message);
}

inline Envelope encode(const Control& message) {
    using namespace wire;
    struct Visit {
        Envelope operator()(const StealRequest& m) const {
            return {steal_request, 0, static_cast<std::uint64_t>(m.thief), 0};
        }
        Envelope operator()(const PauseNotice&) const { return {pause_notice, 0, 0, 0}; }
    };
    return std::visit(Visit{}, message);
}

inline ToRoot decode_to_root(const Envelope& e) {
    using namespace wire;
    switch (e.kind) {
        case work_request:
            return WorkRequest{report_of(e), e.flag != 0};
        case update:
            return Update{report_of(e)};
        case heartbeat:
            return Heartbeat{report_of(e)};
        case stop_signal:
            return StopSignal{};
        case items_failed:
            return ItemsFailed{{e.a, e.b}};
        case items_given:
            return ItemsGiven{{e.a, e.b}};
        case goodbye:
            return Goodbye{report_of(e), e.flag != 0};
        case items_returned:
            return ItemsReturned{{e.a, e.b}};
        default:
            unknown(e, "to-rank-0");
    }
}

inline Answer decode_answer(const Envelope& e) {
    using namespace wire;
    switch (e.kind) {
        case grant:
            if (e.flag > static_cast<std::uint32_t>(Origin::stolen)) unknown(e, "answer");
            return Grant{{e.a, e.b}, static_cast<Origin>(e.flag)};
        case phase_over:
            return PhaseOver{};
        case abort:
            return Abort{};
        case goodbye_ack:
            return GoodbyeAck{e.flag != 0};
        default:
            unknown(e, "answer");
    }
}

inline Control decode_control(const Envelope& e) {
    using namespace wire;
    switch (e.kind) {
        case steal_request:
            return StealRequest{static_cast<int>(e.a)};
        case pause_notice:
            return PauseNotice{};
        default:
            unknown(e, "control");
    }
}

}  // namespace pel::sched
