// tests/mpi/comm_test.cpp: the communicator wrapper and agreement on errors, at any rank count.
#include "mpi/comm.hpp"

#include <catch2/catch.hpp>

using pel::mpi::AgreedError;
using pel::mpi::Comm;

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
