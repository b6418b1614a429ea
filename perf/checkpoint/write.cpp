// perf/checkpoint/write.cpp: `mpirun -np N pel_bench_checkpoint DIR BYTES [SEQUENCE]` writes one checkpoint of
// BYTES in total (split evenly over the ranks, keep 1) into DIR and prints {"bytes": B, "seconds": S} on rank 0:
// the slowest rank's time for write_checkpoint, from the barrier before it to its return (fsync and rename
// included). `pel_bench_checkpoint --checksum BYTES` prints the checksum's speed on one core instead.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "io/checkpoint_dir.hpp"
#include "io/checksum.hpp"
#include "io/h5.hpp"
#include "mpi/environment.hpp"

namespace {

/// Fills `bytes` with a cheap non-constant pattern, touching every page before the timing starts.
std::vector<std::byte> make_blob(std::uint64_t size, int rank) {
    std::vector<std::byte> bytes(size);
    std::uint64_t x = 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(rank + 1);
    for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::memcpy(bytes.data() + i, &x, sizeof x);
    }
    return bytes;
}

int checksum_speed(std::uint64_t size) {
    const auto bytes = make_blob(size, 0);
    std::vector<double> seconds;
    std::uint64_t sink = 0;
    for (int rep = 0; rep < 7; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        sink ^= pel::io::checksum(bytes);
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(seconds.begin(), seconds.end());
    std::printf("{\"bytes\": %llu, \"seconds\": %.6f, \"gb_s\": %.3f, \"sum\": \"%016llx\"}\n",
                static_cast<unsigned long long>(size), seconds[3], static_cast<double>(size) / seconds[3] / 1e9,
                static_cast<unsigned long long>(sink));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--checksum") == 0)
        return checksum_speed(std::strtoull(argv[2], nullptr, 10));
    if (argc < 3) {
        std::fprintf(stderr, "usage: pel_bench_checkpoint DIR BYTES [SEQUENCE] | --checksum BYTES\n");
        return 2;
    }
    pel::mpi::Environment env(argc, argv);
    pel::h5::silence_library_errors();
    const pel::mpi::Comm comm;
    const std::uint64_t total = std::strtoull(argv[2], nullptr, 10);
    const std::uint64_t sequence = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
    const auto ranks = static_cast<std::uint64_t>(comm.size());
    const auto me = static_cast<std::uint64_t>(comm.rank());
    const auto blob = make_blob(total / ranks + (me < total % ranks ? 1 : 0), comm.rank());
    const std::vector<std::byte> meta(4096, std::byte{1});
    try {
        comm.barrier();
        const auto t0 = std::chrono::steady_clock::now();
        pel::io::write_checkpoint(comm, argv[1], sequence, {{"job", "bench"}}, meta, {{}, {blob}}, 1);
        const double mine = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double slowest = comm.allreduce_max(mine);
        if (comm.rank() == 0) {
            std::printf("{\"bytes\": %llu, \"seconds\": %.6f}\n", static_cast<unsigned long long>(total), slowest);
        }
    } catch (const pel::Error& e) {
        if (comm.rank() == 0) std::fprintf(stderr, "pel_bench_checkpoint: %s\n", e.what());
        return 1;
    }
    return 0;
}
