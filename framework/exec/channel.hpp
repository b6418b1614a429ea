// exec/channel.hpp: the MPI transport of the scheduling protocol (sched/protocol.hpp): each channel is a tag, each
// message one 24-byte envelope.
#pragma once

#include <optional>

#include "mpi/comm.hpp"
#include "sched/protocol.hpp"

namespace pel::exec::channel {

/// Worker to rank 0; rank 0's answers; rank 0's control messages.
constexpr int kToRoot = 101;
constexpr int kAnswer = 102;
constexpr int kControl = 103;

inline void send(const mpi::Comm& comm, const sched::ToRoot& message) { comm.send(sched::encode(message), 0, kToRoot); }
inline void send(const mpi::Comm& comm, int to, const sched::Answer& message) {
    comm.send(sched::encode(message), to, kAnswer);
}
inline void send(const mpi::Comm& comm, int to, const sched::Control& message) {
    comm.send(sched::encode(message), to, kControl);
}

/// The rank whose message to rank 0 has arrived first, if any.
inline std::optional<int> probe_to_root(const mpi::Comm& comm) {
    const auto status = comm.iprobe(mpi::any_source, kToRoot);
    return status ? std::optional<int>(status->source) : std::nullopt;
}
/// Receives the message `source` sent to rank 0.
inline sched::ToRoot receive_to_root(const mpi::Comm& comm, int source) {
    sched::Envelope envelope;
    comm.recv(envelope, source, kToRoot);
    return sched::decode_to_root(envelope);
}

/// True if a control message from rank 0 has arrived.
inline bool control_waiting(const mpi::Comm& comm) { return comm.iprobe(0, kControl).has_value(); }
inline sched::Control receive_control(const mpi::Comm& comm) {
    sched::Envelope envelope;
    comm.recv(envelope, 0, kControl);
    return sched::decode_control(envelope);
}

/// An answer from rank 0 being received in place (keep it where it is until the request completes).
struct PendingAnswer {
    sched::Envelope envelope;
    mpi::Request request;

    /// Posts the receive of rank 0's next answer.
    void post(const mpi::Comm& comm) { request = comm.irecv(envelope, 0, kAnswer); }
    [[nodiscard]] sched::Answer answer() const { return sched::decode_answer(envelope); }
};

}  // namespace pel::exec::channel
