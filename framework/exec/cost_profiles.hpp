// exec/cost_profiles.hpp: measured item costs by item count. A phase sizes its chunks by the costs the last phase
// (or the saved run) with as many items measured; the last phase's are saved for the next run (--cost-profile).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mpi/comm.hpp"
#include "sched/cost_profile.hpp"

namespace pel::exec {

class CostProfiles {
  public:
    /// Loads the profile saved in `path` if the file exists (an empty path: none is loaded or saved). \note collective
    CostProfiles(const mpi::Comm& comm, std::string path);

    /// The costs measured for a phase of `items` items, if any.
    [[nodiscard]] const sched::CostProfile* find(std::uint64_t items) const;
    /// The mean cost of an item (thread-seconds) in the profile loaded at the start; 0 without one.
    [[nodiscard]] double mean_item_s() const noexcept { return loaded_mean_s_; }
    /// Keeps what a phase of `items` items measured: seconds per bin, summed over every rank.
    void learn(std::uint64_t items, std::vector<double> bin_seconds);
    /// Saves the last profile learned to the path given, if any (rank 0 writes). \note collective
    void save() const;

  private:
    const mpi::Comm& comm_;
    std::string path_;
    std::map<std::uint64_t, sched::CostProfile> profiles_;
    std::uint64_t last_ = 0;  ///< item count of the last phase learned
    double loaded_mean_s_ = 0;
};

}  // namespace pel::exec
