// exec/phase_agreement.cpp: the check that every rank's next_phase agrees (see phase_agreement.hpp).
#include "exec/phase_agreement.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace pel::exec {

namespace {

/// FNV-1a over the phase: whether there is one, its item count, its spawn_bytes and its name.
std::int64_t phase_hash(const std::optional<Phase>& phase) {
    std::uint64_t h = 14695981039346656037ull;
    const auto mix = [&h](std::uint64_t byte) {
        h ^= byte;
        h *= 1099511628211ull;
    };
    mix(phase ? 1 : 0);
    if (phase) {
        for (int shift = 0; shift < 64; shift += 8) mix((phase->items >> shift) & 0xff);
        for (int shift = 0; shift < 32; shift += 8) mix((phase->spawn_bytes >> shift) & 0xff);
        for (const char c : phase->name) mix(static_cast<unsigned char>(c));
    }
    return static_cast<std::int64_t>(h);
}

std::string describe(const std::optional<Phase>& phase) {
    if (!phase) return "no phase (the end of the run)";
    // A job's phase name is its own text: bounded, so that a runaway name cannot make a runaway message.
    const std::string name = phase->name.size() > 60 ? phase->name.substr(0, 60) + "..." : phase->name;
    if (phase->spawn_bytes > 0) {
        return "dynamic phase '" + name + "' of payloads up to " + std::to_string(phase->spawn_bytes) + " bytes";
    }
    return "phase '" + name + "' of " + std::to_string(phase->items) + " items";
}

/// "rank 3" or "ranks 0-2, 5".
std::string rank_list(const std::vector<int>& ranks) {
    std::string text = ranks.size() == 1 ? "rank " : "ranks ";
    for (std::size_t i = 0; i < ranks.size();) {
        std::size_t j = i;
        while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
        if (i > 0) text += ", ";
        text += std::to_string(ranks[i]);
        if (j > i) text += "-" + std::to_string(ranks[j]);
        i = j + 1;
    }
    return text;
}

}  // namespace

void check_phase_agreement(const mpi::Comm& comm, int index, const std::optional<Phase>& phase) {
    const std::int64_t hash = phase_hash(phase);
    if (comm.allreduce_min(hash) == comm.allreduce_max(hash)) return;
    const std::string mine = describe(phase);
    const auto all = comm.gather_bytes(std::as_bytes(std::span(mine)), 0);
    mpi::agree(comm, [&] {
        if (comm.rank() != 0) return;
        std::map<std::string, std::vector<int>> ranks_of;  // description -> the ranks that gave it
        std::vector<std::string> order;                    // descriptions in the order of their first rank
        for (std::size_t r = 0; r < all.size(); ++r) {
            std::string text(reinterpret_cast<const char*>(all[r].data()), all[r].size());
            if (!ranks_of.contains(text)) order.push_back(text);
            ranks_of[text].push_back(static_cast<int>(r));
        }
        std::string message = "the job's next_phase differs between ranks at phase " + std::to_string(index) + ": ";
        const std::size_t shown = std::min<std::size_t>(order.size(), 4);
        for (std::size_t i = 0; i < shown; ++i) {
            message += (i == 0 ? "" : "; ") + rank_list(ranks_of[order[i]]) + " got " + order[i];
        }
        if (order.size() > shown) message += "; and " + std::to_string(order.size() - shown) + " more";
        throw Error::Failure(message + " (next_phase must return the same on every rank)");
    });
}

}  // namespace pel::exec
