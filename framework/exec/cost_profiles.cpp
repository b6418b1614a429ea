// exec/cost_profiles.cpp: measured costs, loaded, learned and saved (see cost_profiles.hpp).
#include "exec/cost_profiles.hpp"

#include <cstring>
#include <filesystem>
#include <span>

#include "io/arrays.hpp"

namespace pel::exec {

CostProfiles::CostProfiles(const mpi::Comm& comm, std::string path) : comm_(comm), path_(std::move(path)) {
    if (path_.empty()) return;
    std::vector<std::byte> bins;  // stays empty without a file; a saved profile always has bins
    std::vector<std::byte> items;
    mpi::agree(comm_, [&] {
        std::error_code ec;
        if (comm_.rank() != 0 || !std::filesystem::exists(path_, ec)) return;
        std::vector<std::uint64_t> dims;
        bins = io::read_array(path_, "bin_seconds", ScalarType::f64, dims);
        items = io::read_array(path_, "items", ScalarType::u64, dims);
        if (bins.empty() || items.size() != sizeof(std::uint64_t)) {
            throw Error::Io("cost profile '" + path_ + "' is malformed");
        }
    });
    comm_.bcast_bytes(bins, 0);
    if (bins.empty()) return;
    comm_.bcast_bytes(items, 0);
    std::uint64_t n = 0;
    std::memcpy(&n, items.data(), sizeof n);
    std::vector<double> seconds(bins.size() / sizeof(double));
    std::memcpy(seconds.data(), bins.data(), seconds.size() * sizeof(double));
    profiles_[n] = sched::CostProfile(n, std::move(seconds));
    if (n > 0) loaded_mean_s_ = profiles_[n].total() / static_cast<double>(n);
}

const sched::CostProfile* CostProfiles::find(std::uint64_t items) const {
    const auto known = profiles_.find(items);
    return known != profiles_.end() ? &known->second : nullptr;
}

void CostProfiles::learn(std::uint64_t items, std::vector<double> bin_seconds) {
    profiles_[items] = sched::CostProfile(items, std::move(bin_seconds));
    last_ = items;
}

void CostProfiles::save() const {
    const sched::CostProfile* profile = find(last_);
    if (path_.empty() || profile == nullptr || profile->bins().empty()) return;
    mpi::agree(comm_, [&] {
        if (comm_.rank() != 0) return;
        const std::uint64_t items = profile->items();
        io::write_arrays(
            path_,
            {{"bin_seconds", ScalarType::f64, {profile->bins().size()}, std::as_bytes(std::span(profile->bins()))},
             {"items", ScalarType::u64, {1}, std::as_bytes(std::span(&items, 1))}});
    });
}

}  // namespace pel::exec
