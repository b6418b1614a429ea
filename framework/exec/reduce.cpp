// exec/reduce.cpp: a phase's partials merged up a binomial tree (see reduce.hpp).
#include "exec/reduce.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "pel/archive.hpp"

namespace pel::exec {

namespace {

/// Tags of the reduction's messages: apart from the scheduling protocol's (exec/channel.hpp), and only used
/// between phases, when none of its messages is in flight.
constexpr int kReduceHeader = 131;
constexpr int kReducePieceTag = 132;

/// What a child sends first: how many bytes follow, or that it failed (then none follow).
struct Header {
    std::uint64_t bytes = 0;
    std::uint64_t failed = 0;
};

void send_partial(const mpi::Comm& comm, const std::vector<std::byte>& bytes, bool failed, int to) {
    comm.send(Header{failed ? 0 : bytes.size(), failed ? 1u : 0u}, to, kReduceHeader);
    if (failed) return;
    for (std::size_t at = 0; at < bytes.size(); at += kReducePiece) {
        const std::size_t n = std::min(kReducePiece, bytes.size() - at);
        comm.send_bytes(std::span(bytes).subspan(at, n), to, kReducePieceTag);
    }
}

/// The bytes of `from`'s partial, or nothing if it failed.
std::optional<std::vector<std::byte>> receive_partial(const mpi::Comm& comm, int from) {
    Header header;
    comm.recv(header, from, kReduceHeader);
    if (header.failed != 0) return std::nullopt;
    std::vector<std::byte> bytes(header.bytes);
    for (std::size_t at = 0; at < bytes.size(); at += kReducePiece) {
        const std::size_t n = std::min(kReducePiece, bytes.size() - at);
        comm.recv_exact(std::span(bytes).subspan(at, n), from, kReducePieceTag);
    }
    return bytes;
}

}  // namespace

void reduce_to_root(JobBase& job, const Context& ctx, const mpi::Comm& comm, AnyPartial& mine) {
    const int rank = comm.rank();
    const int size = comm.size();
    std::optional<Error> failure;
    bool below_failed = false;  // a rank under this one failed: it says why itself, this rank only passes it on
    const auto keep_first = [&](const Error& e) {
        if (!failure) failure = e;
    };
    for (int step = 1; step < size; step <<= 1) {
        if ((rank & step) != 0) {  // this rank's sum goes up to its parent, and its part is done
            std::vector<std::byte> bytes;
            if (!failure && !below_failed) {
                try {
                    OutArchive out;
                    mine.save(out);
                    bytes = out.take();
                } catch (const Error& e) {
                    keep_first(e);
                } catch (const std::exception& e) {
                    keep_first(Error::Failure(e.what()));
                }
            }
            send_partial(comm, bytes, failure.has_value() || below_failed, rank - step);
            break;
        }
        if (rank + step >= size) continue;
        const std::optional<std::vector<std::byte>> child = receive_partial(comm, rank + step);
        if (!child) below_failed = true;
        if (failure || below_failed) continue;
        try {
            auto part = job.new_partial(ctx);
            InArchive in(*child);
            part->load(in);
            mine.merge(*part);
        } catch (const Error& e) {
            keep_first(e);
        } catch (const std::exception& e) {
            keep_first(Error::Failure(e.what()));
        }
    }
    mpi::agree_on_outcome(comm, failure);
}

std::unique_ptr<AnyPartial> total_for_rank(JobBase& job, const Context& ctx, const mpi::Comm& comm,
                                           const AnyPartial& mine, bool everywhere) {
    if (!everywhere) {  // every rank agrees, rank 0 included: the others' empty partial may fail to build
        return mpi::agree(
            comm, [&]() -> std::unique_ptr<AnyPartial> { return comm.rank() == 0 ? nullptr : job.new_partial(ctx); });
    }
    std::vector<std::byte> total = mpi::agree(comm, [&] {
        if (comm.rank() != 0) return std::vector<std::byte>{};
        OutArchive out;
        mine.save(out);
        return out.take();
    });
    comm.bcast_bytes(total, 0);
    return mpi::agree(comm, [&]() -> std::unique_ptr<AnyPartial> {
        if (comm.rank() == 0) return nullptr;
        auto result = job.new_partial(ctx);
        InArchive in(total);
        result->load(in);
        return result;
    });
}

std::unique_ptr<AnyPartial> combine_checked(JobBase& job, const Context& ctx, const mpi::Comm& comm,
                                            const AnyPartial& mine, const std::string& phase) {
    OutArchive local;
    mine.save(local);
    const auto all = comm.gather_bytes(local.bytes(), 0);
    std::vector<std::byte> total = mpi::agree(comm, [&] {
        if (comm.rank() != 0) return std::vector<std::byte>{};
        const auto fold = [&](auto first, auto last) {
            auto sum = job.new_partial(ctx);
            for (auto bytes = first; bytes != last; ++bytes) {
                auto part = job.new_partial(ctx);
                InArchive in(*bytes);
                part->load(in);
                sum->merge(*part);
            }
            OutArchive out;
            sum->save(out);
            return out.take();
        };
        std::vector<std::byte> sum = fold(all.begin(), all.end());
        if (fold(all.rbegin(), all.rend()) != sum) {
            throw Error::Plugin("--check-merge: " + phase +
                                ": merged in rank order and in reverse, the ranks' partials differ (a merge that is "
                                "not exact: use integers, pel::ExactSum or per-item rows)");
        }
        return sum;
    });
    comm.bcast_bytes(total, 0);
    return mpi::agree(comm, [&] {
        auto result = job.new_partial(ctx);
        InArchive in(total);
        result->load(in);
        return result;
    });
}

}  // namespace pel::exec
