// mpi/comm.cpp: the raw MPI calls behind pel::mpi::Comm.
#include "mpi/comm.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <sched.h>
#include <thread>

namespace pel::mpi {

namespace {

int to_int_count(std::size_t bytes) {
    if (bytes > static_cast<std::size_t>(INT_MAX)) {
        throw Error::Failure("an MPI message of " + std::to_string(bytes) + " bytes is too large (limit 2 GiB)");
    }
    return static_cast<int>(bytes);
}

}  // namespace

void check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    MPI_Error_string(rc, text, &length);
    throw Error::Failure(std::string(what) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

bool Request::test() {
    int done = 0;
    check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), "MPI_Test");
    return done != 0;
}

bool Request::cancel() {
    if (request_ == MPI_REQUEST_NULL) return false;
    if (kind_ != Kind::receive) {
        check(MPI_Request_free(&request_), "MPI_Request_free");
        return false;
    }
    // A receive marked for cancellation completes without any other rank's help (the MPI standard, on
    // MPI_Cancel), so this wait is local and prompt: either the cancel took, or the message had arrived first.
    check(MPI_Cancel(&request_), "MPI_Cancel");
    MPI_Status status;
    check(MPI_Wait(&request_, &status), "MPI_Wait");
    int cancelled = 0;
    check(MPI_Test_cancelled(&status, &cancelled), "MPI_Test_cancelled");
    return cancelled != 0;
}

void Request::give_up() noexcept {
    if (request_ == MPI_REQUEST_NULL) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized != 0) {
        request_ = MPI_REQUEST_NULL;  // MPI is gone, and with it the operation
        return;
    }
    try {
        cancel();
    } catch (...) {
        // MPI refused the cancel or the wait: free the request rather than block. A receive's buffer may then
        // still be written, which only a broken MPI makes happen.
        if (request_ != MPI_REQUEST_NULL) MPI_Request_free(&request_);
        request_ = MPI_REQUEST_NULL;
    }
}

Comm::Comm(MPI_Comm parent) {
    check(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Comm::~Comm() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (comm_ != MPI_COMM_NULL && finalized == 0) MPI_Comm_free(&comm_);
}

int Comm::node_ranks() const {
    MPI_Comm node = MPI_COMM_NULL;
    check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
    int size = 0;
    const int rc = MPI_Comm_size(node, &size);
    MPI_Comm_free(&node);
    check(rc, "MPI_Comm_size");
    return size;
}

std::unique_ptr<Comm> Comm::split(int color, int key) const {
    MPI_Comm part = MPI_COMM_NULL;
    check(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, &part), "MPI_Comm_split");
    if (part == MPI_COMM_NULL) return nullptr;
    // The Comm keeps a duplicate (with errors returned), like every Comm; the split itself is freed here.
    std::unique_ptr<Comm> owned;
    try {
        owned = std::make_unique<Comm>(part);
    } catch (...) {
        MPI_Comm_free(&part);
        throw;
    }
    MPI_Comm_free(&part);
    return owned;
}

int Comm::node_first_rank() const {
    MPI_Comm node = MPI_COMM_NULL;
    check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
    int first = rank_;
    const int rc = MPI_Allreduce(&rank_, &first, 1, MPI_INT, MPI_MIN, node);
    MPI_Comm_free(&node);
    check(rc, "MPI_Allreduce");
    return first;
}

void Comm::send_bytes(std::span<const std::byte> data, int dest, int tag) const {
    check(MPI_Send(data.data(), to_int_count(data.size()), MPI_BYTE, dest, tag, comm_), "MPI_Send");
}

Status Comm::recv_exact(std::span<std::byte> data, int source, int tag) const {
    MPI_Status st;
    check(MPI_Recv(data.data(), to_int_count(data.size()), MPI_BYTE, source, tag, comm_, &st), "MPI_Recv");
    int count = 0;
    check(MPI_Get_count(&st, MPI_BYTE, &count), "MPI_Get_count");
    if (static_cast<std::size_t>(count) != data.size()) {
        throw Error::Internal("message from rank " + std::to_string(st.MPI_SOURCE) + " has " + std::to_string(count) +
                              " bytes, expected " + std::to_string(data.size()));
    }
    return {st.MPI_SOURCE, st.MPI_TAG, data.size()};
}

Request Comm::irecv_bytes(std::span<std::byte> data, int source, int tag) const {
    MPI_Request r = MPI_REQUEST_NULL;
    check(MPI_Irecv(data.data(), to_int_count(data.size()), MPI_BYTE, source, tag, comm_, &r), "MPI_Irecv");
    return Request(r, Request::Kind::receive);
}

std::optional<Status> Comm::iprobe(int source, int tag) const {
    int flag = 0;
    MPI_Status st;
    check(MPI_Iprobe(source, tag, comm_, &flag, &st), "MPI_Iprobe");
    if (flag == 0) return std::nullopt;
    int count = 0;
    check(MPI_Get_count(&st, MPI_BYTE, &count), "MPI_Get_count");
    return Status{st.MPI_SOURCE, st.MPI_TAG, static_cast<std::size_t>(count)};
}

void Comm::barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }

void Comm::quiet_barrier() const {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
    for (int polls = 0;; ++polls) {
        int done = 0;
        check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
        if (done != 0) return;
        if (polls < 16) {
            sched_yield();
        } else {
            std::this_thread::sleep_for(std::chrono::microseconds(std::min(100, 5 << std::min(polls - 16, 5))));
        }
    }
}

void Comm::bcast_bytes(std::vector<std::byte>& data, int root) const {
    auto size = static_cast<std::uint64_t>(data.size());
    check(MPI_Bcast(&size, 1, MPI_UINT64_T, root, comm_), "MPI_Bcast");
    data.resize(size);
    check(MPI_Bcast(data.data(), to_int_count(size), MPI_BYTE, root, comm_), "MPI_Bcast");
}

std::vector<std::vector<std::byte>> Comm::gather_bytes(std::span<const std::byte> data, int root) const {
    const int count = to_int_count(data.size());
    std::vector<int> counts(rank_ == root ? static_cast<std::size_t>(size_) : 0);
    check(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
    std::vector<int> displs(counts.size());
    std::size_t total = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        displs[i] = to_int_count(total);
        total += static_cast<std::size_t>(counts[i]);
    }
    std::vector<std::byte> all(total);
    check(MPI_Gatherv(data.data(), count, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE, root, comm_),
          "MPI_Gatherv");
    std::vector<std::vector<std::byte>> out(counts.size());
    for (std::size_t i = 0; i < counts.size(); ++i) {
        const auto* begin = all.data() + displs[i];
        out[i].assign(begin, begin + counts[i]);
    }
    return out;
}

std::vector<std::vector<std::byte>> Comm::alltoall_bytes(const std::vector<std::vector<std::byte>>& send) const {
    const auto ranks = static_cast<std::size_t>(size_);
    if (send.size() != ranks) throw Error::Internal("alltoall_bytes needs one buffer per rank");
    std::vector<int> send_counts(ranks), send_displs(ranks), recv_counts(ranks), recv_displs(ranks);
    std::vector<std::byte> out;
    std::size_t total = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
        send_counts[r] = to_int_count(send[r].size());
        send_displs[r] = to_int_count(total);
        total += send[r].size();
    }
    out.reserve(total);
    for (const auto& part : send) out.insert(out.end(), part.begin(), part.end());
    check(MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, comm_), "MPI_Alltoall");
    total = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
        recv_displs[r] = to_int_count(total);
        total += static_cast<std::size_t>(recv_counts[r]);
    }
    std::vector<std::byte> in(total);
    check(MPI_Alltoallv(out.data(), send_counts.data(), send_displs.data(), MPI_BYTE, in.data(), recv_counts.data(),
                        recv_displs.data(), MPI_BYTE, comm_),
          "MPI_Alltoallv");
    std::vector<std::vector<std::byte>> received(ranks);
    for (std::size_t r = 0; r < ranks; ++r) {
        const auto* begin = in.data() + recv_displs[r];
        received[r].assign(begin, begin + recv_counts[r]);
    }
    return received;
}

std::int64_t Comm::allreduce_min(std::int64_t value) const {
    std::int64_t out = 0;
    check(MPI_Allreduce(&value, &out, 1, MPI_INT64_T, MPI_MIN, comm_), "MPI_Allreduce");
    return out;
}

std::int64_t Comm::allreduce_max(std::int64_t value) const {
    std::int64_t out = 0;
    check(MPI_Allreduce(&value, &out, 1, MPI_INT64_T, MPI_MAX, comm_), "MPI_Allreduce");
    return out;
}

std::uint64_t Comm::allreduce_sum(std::uint64_t value) const {
    std::uint64_t out = 0;
    check(MPI_Allreduce(&value, &out, 1, MPI_UINT64_T, MPI_SUM, comm_), "MPI_Allreduce");
    return out;
}

double Comm::allreduce_max(double value) const {
    double out = 0;
    check(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
    return out;
}

void Comm::allreduce_sum(std::vector<double>& values) const {
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(), to_int_count(values.size()), MPI_DOUBLE, MPI_SUM, comm_),
          "MPI_Allreduce");
}

std::vector<double> Comm::allgather(double value) const {
    std::vector<double> out(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&value, 1, MPI_DOUBLE, out.data(), 1, MPI_DOUBLE, comm_), "MPI_Allgather");
    return out;
}

void agree_on_outcome(const Comm& comm, const std::optional<Error>& local) {
    const std::int64_t me = local ? comm.rank() : INT64_MAX;
    const std::int64_t first = comm.allreduce_min(me);
    if (first == INT64_MAX) return;
    std::vector<std::byte> payload;
    if (comm.rank() == first) {
        const auto code = static_cast<std::int32_t>(local->code());
        const std::string text = local->what();
        payload.resize(sizeof code + text.size());
        std::memcpy(payload.data(), &code, sizeof code);
        std::memcpy(payload.data() + sizeof code, text.data(), text.size());
    }
    comm.bcast_bytes(payload, static_cast<int>(first));
    std::int32_t code = 0;
    std::memcpy(&code, payload.data(), sizeof code);
    std::string text(reinterpret_cast<const char*>(payload.data()) + sizeof code, payload.size() - sizeof code);
    throw AgreedError(static_cast<ExitCode>(code), text, static_cast<int>(first));
}

}  // namespace pel::mpi
