// sched/policy.hpp: chunk-size techniques and the chunk dispenser rank 0 runs for a phase.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pel/types.hpp"

namespace pel::sched {

/// How chunk sizes are chosen.
enum class Technique {
    static_block,  ///< one contiguous block per rank (the baseline)
    ss,            ///< self-scheduling: every chunk has --chunk-size items
    gss,           ///< guided self-scheduling: remaining / ranks, at least --chunk-size
};

/// Every technique's name, as --schedule takes it.
std::vector<std::string> technique_names();
/// The technique called `name`; throws pel::Error (usage) listing the known names otherwise.
Technique parse_technique(const std::string& name);
std::string technique_name(Technique technique);

/// Settings of a technique.
struct Params {
    Technique technique = Technique::gss;
    std::uint64_t chunk_size = 1;  ///< fixed size (ss) or smallest size (gss)
};

/// Hands out the items [0, items) of one phase in chunks, one request at a time. Every item is granted exactly
/// once. Not thread-safe; rank 0 calls it under its scheduling lock.
class Dispenser {
  public:
    Dispenser(Params params, std::uint64_t items, int ranks);

    /// The next chunk for `rank`, or nothing when that rank gets no more work in this phase.
    std::optional<ItemRange> next(int rank);
    /// Items not yet granted.
    [[nodiscard]] std::uint64_t remaining() const noexcept { return items_ - next_; }

  private:
    Params params_;
    std::uint64_t items_;
    int ranks_;
    std::uint64_t next_ = 0;
    std::vector<bool> static_taken_;
};

}  // namespace pel::sched
