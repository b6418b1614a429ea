// sched/policy.cpp: chunk sizes.
#include "sched/policy.hpp"

#include <algorithm>

#include "pel/error.hpp"

namespace pel::sched {

namespace {

struct Named {
    const char* name;
    Technique technique;
};
constexpr Named kTechniques[] = {{"static", Technique::static_block}, {"ss", Technique::ss}, {"gss", Technique::gss}};

}  // namespace

std::vector<std::string> technique_names() {
    std::vector<std::string> names;
    for (const auto& t : kTechniques) names.emplace_back(t.name);
    return names;
}

Technique parse_technique(const std::string& name) {
    for (const auto& t : kTechniques) {
        if (name == t.name) return t.technique;
    }
    std::string known;
    for (const auto& t : kTechniques) known += std::string(known.empty() ? "" : ", ") + t.name;
    throw Error::Usage("--schedule: unknown technique '" + name + "' (known: " + known + ")");
}

std::string technique_name(Technique technique) {
    for (const auto& t : kTechniques) {
        if (t.technique == technique) return t.name;
    }
    return "unknown";
}

Dispenser::Dispenser(Params params, std::uint64_t items, int ranks)
    : params_(params), items_(items), ranks_(std::max(ranks, 1)), static_taken_(static_cast<std::size_t>(ranks_)) {
    params_.chunk_size = std::max<std::uint64_t>(params_.chunk_size, 1);
}

std::optional<ItemRange> Dispenser::next(int rank) {
    if (params_.technique == Technique::static_block) {
        // Rank r owns block r: [r n / P, (r + 1) n / P). It gets it on its first request, whenever that comes.
        const auto r = static_cast<std::size_t>(rank);
        if (r >= static_taken_.size() || static_taken_[r]) return std::nullopt;
        static_taken_[r] = true;
        const auto p = static_cast<std::uint64_t>(ranks_);
        // floor(r n / P) without overflowing: r (n / P) + floor(r (n mod P) / P).
        const auto block_start = [&](std::uint64_t k) { return k * (items_ / p) + k * (items_ % p) / p; };
        const std::uint64_t begin = block_start(r);
        const std::uint64_t end = block_start(r + 1);
        next_ += end - begin;
        if (begin == end) return std::nullopt;
        return ItemRange{begin, end};
    }
    const std::uint64_t left = items_ - next_;
    if (left == 0) return std::nullopt;
    std::uint64_t size = params_.chunk_size;
    if (params_.technique == Technique::gss) {
        // Polychronopoulos & Kuck, "Guided self-scheduling" (1987): chunk = ceil(remaining / P).
        const auto p = static_cast<std::uint64_t>(ranks_);
        size = std::max(size, left / p + (left % p != 0 ? 1 : 0));
    }
    size = std::min(size, left);
    const ItemRange chunk{next_, next_ + size};
    next_ += size;
    return chunk;
}

}  // namespace pel::sched
