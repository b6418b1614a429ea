// tests/mpi/comm_test.cpp: the communicator wrapper and agreement on errors, at any rank count.
#include "mpi/comm.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <future>

using pel::mpi::AgreedError;
using pel::mpi::Comm;
using pel::mpi::Request;

namespace {

/// Runs `step` on a thread of its own and waits up to `deadline` for it; true if it returned in time. A step that
/// overruns would hang the suite (a Request that waits for a message no one sends): `unstick` then runs until the
/// step returns (it sends what the step waits for), so the test fails instead of hanging. While the step runs in
/// time only its thread calls MPI (MPI_THREAD_SERIALIZED); unsticking breaks that rule, as a last resort.
template <class Step, class Unstick>
bool returns_within(std::chrono::seconds deadline, Step step, Unstick unstick) {
    auto done = std::async(std::launch::async, step);
    if (done.wait_for(deadline) == std::future_status::ready) return true;
    while (done.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) unstick();
    return false;
}

}  // namespace

TEST_CASE("a duplicated communicator knows its rank and size", "[mpi]") {
    const Comm comm;
    int size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CHECK(comm.size() == size);
    CHECK(comm.rank() >= 0);
    CHECK(comm.rank() < comm.size());
    CHECK(comm.native() != MPI_COMM_WORLD);
}

TEST_CASE("gather_bytes collects every rank's bytes on the root, in rank order", "[mpi]") {
    const Comm comm;
    std::vector<std::byte> mine(static_cast<std::size_t>(comm.rank()) + 1, std::byte(comm.rank() + 1));
    const auto all = comm.gather_bytes(mine, 0);
    if (comm.rank() == 0) {
        REQUIRE(all.size() == static_cast<std::size_t>(comm.size()));
        for (int r = 0; r < comm.size(); ++r) {
            CHECK(all[static_cast<std::size_t>(r)] ==
                  std::vector<std::byte>(static_cast<std::size_t>(r) + 1, std::byte(r + 1)));
        }
    } else {
        CHECK(all.empty());
    }
}

TEST_CASE("bcast_bytes gives every rank the root's bytes, whatever they held", "[mpi]") {
    const Comm comm;
    std::vector<std::byte> data(static_cast<std::size_t>(comm.rank()) * 3, std::byte{9});
    const int root = comm.size() - 1;
    comm.bcast_bytes(data, root);
    CHECK(data == std::vector<std::byte>(static_cast<std::size_t>(root) * 3, std::byte{9}));
}

TEST_CASE("reductions combine every rank's value", "[mpi]") {
    const Comm comm;
    CHECK(comm.allreduce_sum(std::uint64_t{2}) == 2u * static_cast<std::uint64_t>(comm.size()));
    CHECK(comm.allreduce_max(std::int64_t{comm.rank()}) == comm.size() - 1);
    CHECK(comm.allreduce_min(std::int64_t{comm.rank()}) == 0);
    const auto all = comm.allgather(static_cast<double>(comm.rank()) * 0.5);
    REQUIRE(all.size() == static_cast<std::size_t>(comm.size()));
    CHECK(all.back() == static_cast<double>(comm.size() - 1) * 0.5);
}

TEST_CASE("agree returns the step's value when no rank fails", "[mpi]") {
    const Comm comm;
    CHECK(pel::mpi::agree(comm, [&] { return comm.rank() * 2; }) == comm.rank() * 2);
}

TEST_CASE("agree makes an error on one rank the same error on every rank", "[mpi]") {
    const Comm comm;
    const int culprit = comm.size() - 1;
    try {
        pel::mpi::agree(comm, [&] {
            if (comm.rank() == culprit) throw pel::Error::Io("disk on fire on rank " + std::to_string(culprit));
        });
        FAIL("agree did not throw");
    } catch (const AgreedError& e) {
        CHECK(e.origin() == culprit);
        CHECK(e.code() == pel::ExitCode::io);
        CHECK(std::string(e.what()) == "disk on fire on rank " + std::to_string(culprit));
    }
}

TEST_CASE("agree reports the lowest failing rank when several fail", "[mpi]") {
    const Comm comm;
    try {
        pel::mpi::agree(comm, [&] { throw std::runtime_error("rank " + std::to_string(comm.rank())); });
        FAIL("agree did not throw");
    } catch (const AgreedError& e) {
        CHECK(e.origin() == 0);
        CHECK(std::string(e.what()) == "rank 0");
        CHECK(e.code() == pel::ExitCode::failure);
    }
}

TEST_CASE("a nested agreement's error passes through the outer one without another collective", "[mpi]") {
    const Comm comm;
    try {
        pel::mpi::agree(comm, [&] {
            pel::mpi::agree(comm, [&] {
                if (comm.rank() == 0) throw pel::Error::Usage("inner");
            });
        });
        FAIL("agree did not throw");
    } catch (const AgreedError& e) {
        CHECK(std::string(e.what()) == "inner");
    }
    comm.barrier();  // would hang if ranks disagreed on how many collectives ran
}

TEST_CASE("a Request for a receive no one answers is dropped without blocking and without eating later messages",
          "[mpi]") {
    const Comm comm;
    const int self = comm.rank();
    constexpr int kFirst = 11;
    constexpr int kSecond = 12;
    std::uint64_t dropped = 1;
    std::uint64_t moved_over = 2;
    std::uint64_t last = 3;
    const bool in_time = returns_within(
        std::chrono::seconds(10),
        [&] {
            // One destroyed while active; one moved over while active, and what took its place destroyed too.
            { const Request unanswered = comm.irecv(dropped, self, kFirst); }
            Request request = comm.irecv(moved_over, self, kFirst);
            request = comm.irecv(last, self, kSecond);
        },
        [&] {
            comm.send(std::uint64_t{99}, self, kFirst);
            comm.send(std::uint64_t{99}, self, kSecond);
        });
    REQUIRE(in_time);
    CHECK(dropped == 1);  // cancelled: MPI wrote nothing
    CHECK(moved_over == 2);
    CHECK(last == 3);
    // A cancelled receive is no longer posted: the next message with its tag goes to the next receive.
    comm.send(std::uint64_t{7}, self, kFirst);
    std::uint64_t received = 0;
    comm.recv(received, self, kFirst);
    CHECK(received == 7);
}

TEST_CASE("cancel() tells a cancelled receive from one whose message had arrived", "[mpi]") {
    const Comm comm;
    const int self = comm.rank();
    constexpr int kTag = 13;
    std::uint64_t value = 1;
    Request pending = comm.irecv(value, self, kTag);
    CHECK(pending.cancel());
    CHECK_FALSE(pending.active());
    CHECK(value == 1);
    CHECK_FALSE(pending.cancel());  // nothing left to give up

    comm.send(std::uint64_t{5}, self, kTag);
    while (!comm.iprobe(self, kTag)) {
    }
    Request arrived = comm.irecv(value, self, kTag);
    CHECK_FALSE(arrived.cancel());
    CHECK_FALSE(arrived.active());
    CHECK(value == 5);
}
