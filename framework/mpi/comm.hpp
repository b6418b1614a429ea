// mpi/comm.hpp: a communicator as an RAII value, the point-to-point and collective calls pel uses, and agree(),
// which turns an error on some ranks into the same error on every rank.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mpi.h>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pel/error.hpp"

namespace pel::mpi {

/// Throws pel::Error naming `what` and MPI's own message unless `rc` is MPI_SUCCESS.
void check(int rc, const char* what);

/// Source and tag of a received or probed message.
struct Status {
    int source = -1;
    int tag = -1;
    std::size_t bytes = 0;
};

/// Matches any source in recv and probe.
inline constexpr int any_source = MPI_ANY_SOURCE;

/// A pending non-blocking operation. Dropping one that is still active (destroyed, or moved over) never blocks,
/// so an exception that unwinds past an unanswered receive does not hang the rank: it is given up as by cancel().
class Request {
  public:
    /// What the operation is, which decides how it is given up.
    enum class Kind {
        receive,  ///< cancelled: afterwards MPI no longer touches its buffer
        other,    ///< cannot be cancelled (a send, a collective): freed, it completes on its own
    };

    Request() = default;
    /// Takes over `r`, an operation of the given kind.
    Request(MPI_Request r, Kind kind) : request_(r), kind_(kind) {}
    Request(Request&& other) noexcept : request_(std::exchange(other.request_, MPI_REQUEST_NULL)), kind_(other.kind_) {}
    Request& operator=(Request&& other) noexcept {
        if (this != &other) {
            give_up();
            request_ = std::exchange(other.request_, MPI_REQUEST_NULL);
            kind_ = other.kind_;
        }
        return *this;
    }
    ~Request() { give_up(); }

    [[nodiscard]] bool active() const noexcept { return request_ != MPI_REQUEST_NULL; }
    /// True if the operation has completed (the request is then inactive).
    bool test();
    /// Gives the operation up without waiting for any other rank; the request is inactive afterwards. A receive
    /// is cancelled: true if it was, its buffer untouched; false if its message had already arrived, and is then
    /// in the buffer (and no longer for a later receive). Either way MPI writes nothing to the buffer after this
    /// returns, so it may be freed. Any other operation is freed and finishes on its own: its buffer must stay as
    /// it is until the operation is known to be done some other way; returns false. Throws pel::Error if MPI
    /// fails (the destructor does the same, quietly).
    bool cancel();

  private:
    /// cancel() for the destructor and move-assignment: never throws, never blocks.
    void give_up() noexcept;

    MPI_Request request_ = MPI_REQUEST_NULL;
    Kind kind_ = Kind::receive;
};

/// An owned duplicate of a communicator, with errors returned (and turned into exceptions) instead of aborting.
class Comm {
  public:
    /// \note collective over `parent`.
    explicit Comm(MPI_Comm parent = MPI_COMM_WORLD);
    ~Comm();
    Comm(const Comm&) = delete;
    Comm& operator=(const Comm&) = delete;

    [[nodiscard]] int rank() const noexcept { return rank_; }
    [[nodiscard]] int size() const noexcept { return size_; }
    [[nodiscard]] MPI_Comm native() const noexcept { return comm_; }
    /// How many ranks of this communicator share this rank's node (shared memory). \note collective
    [[nodiscard]] int node_ranks() const;
    /// The ranks of this communicator that give the same `color`, ordered by `key`; null on a rank whose color is
    /// negative (it joins none). \note collective
    [[nodiscard]] std::unique_ptr<Comm> split(int color, int key) const;
    /// The lowest rank of this communicator on this rank's node (shared memory). \note collective
    [[nodiscard]] int node_first_rank() const;

    /// Sends a trivially copyable value.
    template <class T>
    void send(const T& value, int dest, int tag) const {
        static_assert(std::is_trivially_copyable_v<T>);
        send_bytes(std::as_bytes(std::span{&value, 1}), dest, tag);
    }
    /// Receives a trivially copyable value; the message must be exactly sizeof(T) bytes.
    template <class T>
    Status recv(T& value, int source, int tag) const {
        static_assert(std::is_trivially_copyable_v<T>);
        return recv_exact(std::as_writable_bytes(std::span{&value, 1}), source, tag);
    }
    /// Starts receiving a trivially copyable value into `value`, which must outlive the request.
    template <class T>
    Request irecv(T& value, int source, int tag) const {
        static_assert(std::is_trivially_copyable_v<T>);
        return irecv_bytes(std::as_writable_bytes(std::span{&value, 1}), source, tag);
    }

    void send_bytes(std::span<const std::byte> data, int dest, int tag) const;
    Status recv_exact(std::span<std::byte> data, int source, int tag) const;
    Request irecv_bytes(std::span<std::byte> data, int source, int tag) const;
    /// A matching message if one has arrived, without receiving it.
    [[nodiscard]] std::optional<Status> iprobe(int source, int tag) const;

    /// \note collective
    void barrier() const;
    /// A barrier whose waiting ranks sleep instead of spinning, so that on an oversubscribed node the ranks still
    /// on their way get the cores (and everyone leaves within about 0.1 ms of the last arrival). \note collective
    void quiet_barrier() const;
    /// Makes `data` on every rank equal to `data` on `root`. \note collective
    void bcast_bytes(std::vector<std::byte>& data, int root) const;
    /// Every rank's `data`, on `root` only (empty elsewhere). \note collective
    [[nodiscard]] std::vector<std::vector<std::byte>> gather_bytes(std::span<const std::byte> data, int root) const;
    /// Sends send[r] to rank r and returns what every rank sent to this one (element r from rank r).
    /// \note collective
    [[nodiscard]] std::vector<std::vector<std::byte>> alltoall_bytes(
        const std::vector<std::vector<std::byte>>& send) const;
    /// \note collective
    [[nodiscard]] std::int64_t allreduce_min(std::int64_t value) const;
    /// \note collective
    [[nodiscard]] std::int64_t allreduce_max(std::int64_t value) const;
    /// \note collective
    [[nodiscard]] std::uint64_t allreduce_sum(std::uint64_t value) const;
    /// \note collective
    [[nodiscard]] double allreduce_max(double value) const;
    /// Sums `values` element-wise over all ranks, in place. \note collective
    void allreduce_sum(std::vector<double>& values) const;
    /// Every rank's value, on every rank. \note collective
    [[nodiscard]] std::vector<double> allgather(double value) const;

  private:
    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0;
    int size_ = 1;
};

/// An error every rank knows of, raised by agree(); main prints it once, on rank 0.
class AgreedError : public Error {
  public:
    AgreedError(ExitCode code, const std::string& message, int origin) : Error(code, message), origin_(origin) {}
    /// The lowest rank on which the error happened.
    [[nodiscard]] int origin() const noexcept { return origin_; }

  private:
    int origin_;
};

/// Runs `step` on every rank, then agrees: if it threw on any rank, every rank throws an AgreedError carrying the
/// error of the lowest failing rank. \note collective
template <class Step>
auto agree(const Comm& comm, Step&& step) -> decltype(step());

/// Settles the outcome of a step that caught its own error: every rank passes the error it had, if any; if any
/// rank had one, every rank throws an AgreedError carrying the error of the lowest failing rank. agree() is this
/// around a step that throws. \note collective
void agree_on_outcome(const Comm& comm, const std::optional<Error>& local);

template <class Step>
auto agree(const Comm& comm, Step&& step) -> decltype(step()) {
    using Result = decltype(step());
    std::optional<Error> failure;
    if constexpr (std::is_void_v<Result>) {
        try {
            step();
        } catch (const AgreedError&) {
            throw;  // every rank already knows; settling again would mismatch collectives
        } catch (const Error& e) {
            failure = e;
        } catch (const std::exception& e) {
            failure = Error::Failure(e.what());
        }
        agree_on_outcome(comm, failure);
    } else {
        std::optional<Result> result;
        try {
            result.emplace(step());
        } catch (const AgreedError&) {
            throw;
        } catch (const Error& e) {
            failure = e;
        } catch (const std::exception& e) {
            failure = Error::Failure(e.what());
        }
        agree_on_outcome(comm, failure);
        return std::move(*result);
    }
}

}  // namespace pel::mpi
