// sched/policy.cpp: chunk sizes. Every technique's formula is written once, in Dispenser::chunk_size.
#include "sched/policy.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "pel/error.hpp"

namespace pel::sched {

namespace {

struct Named {
    const char* name;
    Technique technique;
};
constexpr Named kTechniques[] = {{"static", Technique::static_block},
                                 {"ss", Technique::ss},
                                 {"gss", Technique::gss},
                                 {"tss", Technique::tss},
                                 {"fac2", Technique::fac2},
                                 {"awf", Technique::awf},
                                 {"fsc", Technique::fsc},
                                 {"mfsc", Technique::mfsc},
                                 {"wf", Technique::wf},
                                 {"awf-b", Technique::awf_b},
                                 {"awf-c", Technique::awf_c},
                                 {"awf-d", Technique::awf_d},
                                 {"awf-e", Technique::awf_e},
                                 {"af", Technique::af},
                                 {"auto", Technique::automatic}};

/// The techniques whose chunk comes from Dispenser::factoring_units.
bool sized_in_units(Technique t) {
    switch (t) {
        case Technique::fsc:
        case Technique::mfsc:
        case Technique::wf:
        case Technique::awf_b:
        case Technique::awf_c:
        case Technique::awf_d:
        case Technique::awf_e:
        case Technique::af:
            return true;
        default:
            return false;
    }
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

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
    : Dispenser(params, items, ranks, {ItemRange{0, items}}) {}

Dispenser::Dispenser(Params params, std::uint64_t items, int ranks, std::vector<ItemRange> todo)
    : params_(params),
      items_(items),
      ranks_(std::max(ranks, 1)),
      todo_(std::move(todo)),
      items_done_(static_cast<std::size_t>(ranks_)),
      busy_s_(static_cast<std::size_t>(ranks_)),
      items_given_(static_cast<std::size_t>(ranks_)),
      cost_given_(static_cast<std::size_t>(ranks_)),
      rate_(static_cast<std::size_t>(ranks_)),
      stats_(ranks_) {
    params_.chunk_size = std::max<std::uint64_t>(params_.chunk_size, 1);
    if (params_.technique == Technique::automatic) params_.technique = kColdTechnique;  // chosen for no phase yet
    if (!params_.weights.empty()) {
        if (params_.weights.size() != static_cast<std::size_t>(ranks_)) {
            throw Error::Usage("--weights: " + std::to_string(params_.weights.size()) + " weights given for " +
                               std::to_string(ranks_) + " ranks (one per rank)");
        }
        double sum = 0;
        for (const double w : params_.weights) {
            if (!(w > 0) || !std::isfinite(w)) throw Error::Usage("--weights: every weight must be a positive number");
            sum += w;
        }
        for (const double w : params_.weights) wf_weights_.push_back(w * ranks_ / sum);  // a mean of 1
    }
    std::erase_if(todo_, [](const ItemRange& r) { return r.empty(); });
    std::uint64_t to_do = 0;
    for (const ItemRange& r : todo_) {
        if (r.end > items_ || (to_do > 0 && r.begin < order_.back().end)) {
            throw Error::Internal("a dispenser's items to do are not sorted, disjoint ranges of the phase");
        }
        order_.push_back(r);
        to_do += r.size();
    }
    if (order_.empty()) order_.push_back({items_, items_});
    next_ = order_.front().begin;
    granted_ = items_ - to_do;  // what is done already counts as granted
    todo_items_ = to_do;
    todo_units_ = static_cast<double>(to_do);
    if (params_.technique == Technique::tss) {
        // Tzen & Ni, "Trapezoid self-scheduling" (IEEE TPDS 1993): first chunk f = N / 2P, last l, C = 2N / (f + l)
        // chunks, each delta = (f - l) / (C - 1) smaller than the one before.
        const auto p = static_cast<double>(ranks_);
        const double last = static_cast<double>(params_.chunk_size);
        const auto n = static_cast<double>(remaining());
        const double first = std::max(last, std::ceil(n / (2 * p)));
        const double chunks = std::ceil(2 * n / (first + last));
        tss_size_ = first;
        tss_step_ = chunks > 1 ? (first - last) / (chunks - 1) : 0;
    }
}

void Dispenser::set_profile(CostProfile profile) {
    if (profile.items() != items_ || profile.empty() || started_) return;
    profile_ = std::move(profile);
    for (const ItemRange& r : todo_) todo_cost_ += profile_.cumulative(r.end) - profile_.cumulative(r.begin);
    todo_units_ = todo_cost_;
    if (params_.technique == Technique::static_block) return;
    // Longest processing time first (Graham, "Bounds on multiprocessing timing anomalies", SIAM J. Appl. Math.
    // 1969): items are not divisible, so a long one started late sets the makespan. Heavy bins go first, costliest
    // first, each alone. The rest follow by falling cost class (per-item cost within a factor of two), each class
    // in item order: the phase ends on its cheapest items, and items of like cost still form long contiguous chunks.
    const double heavy = kHeavyShare * todo_cost_ / static_cast<double>(ranks_);
    struct Heavy {
        ItemRange items;
        double per_item;
    };
    struct Piece {
        ItemRange items;
        int cost_class;  ///< floor(log2(cost per item))
    };
    std::vector<Heavy> first;
    std::vector<Piece> rest;
    const std::size_t bins = profile_.bins().size();
    for (const ItemRange& r : todo_) {
        for (std::size_t b = CostProfile::bin_of(r.begin, items_, bins); b < bins; ++b) {
            const ItemRange bin = profile_.bin_items(b);
            if (bin.begin >= r.end) break;
            const ItemRange piece{std::max(bin.begin, r.begin), std::min(bin.end, r.end)};
            const double per_item = profile_.bins()[b] / static_cast<double>(bin.size());
            if (per_item > heavy) {
                first.push_back({piece, per_item});
            } else {
                const int cost_class = per_item > 0 ? std::ilogb(per_item) : INT_MIN;
                rest.push_back({piece, cost_class});
            }
        }
    }
    std::stable_sort(first.begin(), first.end(),
                     [](const Heavy& a, const Heavy& b) { return a.per_item > b.per_item; });
    std::stable_sort(rest.begin(), rest.end(),
                     [](const Piece& a, const Piece& b) { return a.cost_class > b.cost_class; });
    std::vector<ItemRange> order;
    for (const Heavy& h : first) order.push_back(h.items);
    for (const Piece& p : rest) {
        if (!order.empty() && order.size() > first.size() && order.back().end == p.items.begin) {
            order.back().end = p.items.end;  // the same class (sorted, stable), and contiguous
        } else {
            order.push_back(p.items);
        }
    }
    if (order == todo_) return;
    order_ = std::move(order);
    segment_ = 0;
    next_ = order_.front().begin;
}

void Dispenser::report(int rank, const Report& work, double now) {
    const auto r = static_cast<std::size_t>(rank);
    if (r >= items_done_.size() || (work.items == 0 && work.busy_s <= 0)) return;
    // In units: items, or with a profile their expected seconds at the mean expected cost of the rank's grants.
    const double per_item =
        items_given_[r] > 0 && cost_given_[r] > 0 ? cost_given_[r] / static_cast<double>(items_given_[r]) : 1.0;
    stats_.add(rank, static_cast<double>(work.items) * (profile_.empty() ? 1.0 : per_item), work.busy_s, now);
    const double before = rate_[r];
    items_done_[r] += work.items;
    busy_s_[r] += work.busy_s;
    const double after = rate_[r] = measure_rate(r);
    // Keep the sum and count of measured rates current, so that weight() costs the same at any rank count.
    rate_sum_ += after - before;
    measured_ += (after > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
}

double Dispenser::measure_rate(std::size_t r) const {
    if (busy_s_[r] <= 0 || items_done_[r] == 0) return 0.0;
    // Items per busy second; with a profile, expected seconds per busy second, reckoning the items done at the mean
    // expected cost of the items granted to the rank (costly items first would otherwise make their ranks look slow).
    const double per_item =
        items_given_[r] > 0 && cost_given_[r] > 0 ? cost_given_[r] / static_cast<double>(items_given_[r]) : 1.0;
    return static_cast<double>(items_done_[r]) * per_item / busy_s_[r];
}

double Dispenser::weight(int rank) const {
    // A rank's weight is its rate over the mean rate of the measured ranks.
    const auto r = static_cast<std::size_t>(rank);
    if (measured_ == 0 || r >= rate_.size() || rate_[r] <= 0) return 1.0;
    const double mean = rate_sum_ / measured_;
    return std::clamp(rate_[r] / mean, 0.05, 20.0);
}

std::uint64_t Dispenser::chunk_size(int rank) {
    const std::uint64_t left = items_ - granted_;
    const auto p = static_cast<std::uint64_t>(ranks_);
    const std::uint64_t least = params_.chunk_size;
    if (sized_in_units(params_.technique)) {
        const double units = factoring_units(rank, profile_.empty() ? static_cast<double>(left) : remaining_cost());
        if (!(units > 0)) return least;
        if (profile_.empty()) return std::max(least, static_cast<std::uint64_t>(std::llround(units)));
        return std::max(least, profile_.end_for_cost(next_, units) - next_);
    }
    if (!profile_.empty() && params_.technique != Technique::ss) {
        // The same techniques in units of expected time: a chunk is as many items as cost the technique's share.
        const double remaining = std::max(profile_.total() - granted_cost_, 0.0);
        const double per_item = profile_.total() / static_cast<double>(items_);
        const auto items_costing = [&](double seconds) {
            return std::max(least, profile_.end_for_cost(next_, seconds) - next_);
        };
        switch (params_.technique) {
            case Technique::gss:
                return items_costing(remaining / static_cast<double>(p));
            case Technique::tss: {
                const double size = tss_size_;
                tss_size_ = std::max(tss_size_ - tss_step_, static_cast<double>(least));
                return items_costing(size * per_item);
            }
            case Technique::fac2:
            case Technique::awf: {
                if (batch_left_ == 0) {
                    batch_cost_ = remaining / static_cast<double>(2 * p);
                    batch_left_ = ranks_;
                }
                --batch_left_;
                return items_costing(params_.technique == Technique::awf ? weight(rank) * batch_cost_ : batch_cost_);
            }
            default:
                break;
        }
    }
    switch (params_.technique) {
        case Technique::fsc:
        case Technique::mfsc:
        case Technique::wf:
        case Technique::awf_b:
        case Technique::awf_c:
        case Technique::awf_d:
        case Technique::awf_e:
        case Technique::af:
            break;  // sized above, in units
        case Technique::automatic:
            break;  // resolved in the constructor
        case Technique::static_block:
            return 0;  // handled in next()
        case Technique::ss:
            return least;
        case Technique::gss:
            // Polychronopoulos & Kuck, "Guided self-scheduling" (IEEE TC 1987): chunk = ceil(remaining / P).
            return std::max(least, ceil_div(left, p));
        case Technique::tss: {
            const auto size = static_cast<std::uint64_t>(std::ceil(tss_size_));
            tss_size_ = std::max(tss_size_ - tss_step_, static_cast<double>(least));
            return std::max(least, size);
        }
        case Technique::fac2:
        case Technique::awf: {
            // Flynn Hummel, Schonberg & Flynn, "Factoring" (CACM 1992), practical FAC2: each batch hands out half of
            // what remains as P equal chunks, ceil(remaining / 2P). AWF (Banicescu & Velusamy, 2001; chunk-level
            // variant AWF-C, Carino & Banicescu 2008) scales each chunk by the requesting rank's relative speed.
            if (batch_left_ == 0) {
                batch_size_ = std::max(least, ceil_div(left, 2 * p));
                batch_left_ = ranks_;
            }
            --batch_left_;
            if (params_.technique == Technique::fac2) return batch_size_;
            const double weighted = std::round(weight(rank) * static_cast<double>(batch_size_));
            return std::max(least, static_cast<std::uint64_t>(weighted));
        }
    }
    return least;
}

double Dispenser::factoring_units(int rank, double left) {
    const bool counting = profile_.empty();
    const auto p = static_cast<double>(ranks_);
    // fac2's share, ceil(R / 2P) items, or R / 2P expected seconds.
    const auto half_share = [&](double remaining) {
        return counting ? std::ceil(remaining / (2 * p)) : remaining / (2 * p);
    };
    switch (params_.technique) {
        case Technique::fsc:
            return fsc_units();  // 0 until known: chunks of --chunk-size meanwhile
        case Technique::mfsc:
            if (fixed_units_ == 0) {
                // mFSC (Banicescu et al.; as DLS4LB computes it): one size giving about as many chunks as factoring,
                // which hands out P log2(N / P) of them: k = T ln 2 / ln T with T = ceil(N / P).
                const auto n = static_cast<double>(std::max<std::uint64_t>(todo_items_, 1));
                const double t = std::ceil(n / p);
                const double k = t > 1 ? std::round(t * std::log(2.0) / std::log(t)) : 1;
                fixed_units_ = counting ? k : k * todo_units_ / n;  // with a profile, k items of mean cost
            }
            return fixed_units_;
        case Technique::wf:
        case Technique::awf_b:
        case Technique::awf_d: {
            // Weighted factoring (Flynn Hummel, Schmidt, Uma & Wein, "Load-sharing in heterogeneous systems via
            // weighted factoring", SPAA 1996): fac2's batches, rank i's chunk w_i x R / 2P with weights of mean 1.
            // AWF-B and AWF-D (Carino & Banicescu, "Dynamic load balancing with adaptive factoring methods in
            // scientific applications", J. Supercomputing 2008) measure the weights: from kernel time (B) or from
            // wall time between requests, scheduling overhead included (D), the time of a rank's j-th report
            // counting j times; the batch is sized when it starts.
            if (batch_left_ == 0) {
                batch_units_ = half_share(left);
                batch_left_ = ranks_;
                if (params_.technique == Technique::wf && wf_weights_.empty() && measured_ == ranks_) {
                    // wf without --weights: each rank's speed relative to the mean, fixed at the first batch that
                    // starts once every rank has reported (not simply the second batch: requests sent ahead with
                    // nothing done yet start it before anything is measured).
                    for (int i = 0; i < ranks_; ++i) wf_weights_.push_back(weight(i));
                }
            }
            --batch_left_;
            const double w = params_.technique == Technique::wf      ? wf_weight(rank)
                             : params_.technique == Technique::awf_b ? stats_.ranked_weight(rank)
                                                                     : stats_.elapsed_weight(rank);
            return w * batch_units_;
        }
        case Technique::awf_c:
        case Technique::awf_e: {
            // AWF-C and AWF-E (Carino & Banicescu 2008): the chunk-level variants, w_i x R / 2P from what remains at
            // each request, weights as AWF-B and AWF-D.
            const double w =
                params_.technique == Technique::awf_c ? stats_.ranked_weight(rank) : stats_.elapsed_weight(rank);
            return w * half_share(left);
        }
        case Technique::af: {
            // Adaptive factoring (Banicescu & Liu, "Analyzing the scalability of dynamic loop scheduling using
            // adaptive factoring", HPC Symposium 2000): from each rank's mean mu_i and variance sigma_i^2 of item
            // time, D = sum sigma_i^2 / mu_i, T = (sum 1 / mu_i)^-1, rank r's chunk is
            // (D + 2 T R - sqrt(D^2 + 4 D T R)) / (2 mu_r). A rank not yet measured gets --chunk-size (as in DLS4LB);
            // the sums are over the measured ranks, scaled to P (the others counted as their average). As DLS4LB,
            // no chunk exceeds N / 2P.
            const double mu = stats_.of(rank).mean();
            const RankSum& inverse = stats_.af_inverse_mean();
            if (!(mu > 0) || inverse.measured == 0) return 0;
            const double scale = p / inverse.measured;
            const double t = 1 / (inverse.sum * scale);
            const double d = stats_.af_d().sum * scale;
            const double k = (d + 2 * t * left - std::sqrt(d * d + 4 * d * t * left)) / (2 * mu);
            return std::min(k, half_share(todo_units_));
        }
        default:
            return 0;
    }
}

double Dispenser::fsc_units() {
    if (fixed_units_ > 0) return fixed_units_;
    // Fixed size chunking (Kruskal & Weiss, "Allocating independent subtasks on parallel processors", IEEE TSE
    // 1985): k = (sqrt(2) N h / (sigma P sqrt(ln P)))^(2/3) items, h the overhead of a chunk, sigma the standard
    // deviation of an item's time. sigma comes from the profile, else from the first two reports of any ranks
    // (until then chunks have --chunk-size items); the size is then fixed for the phase.
    const auto todo_items = static_cast<double>(std::max<std::uint64_t>(todo_items_, 1));
    double sigma = 0;
    double per_item = 1;  // units per item
    if (!profile_.empty()) {
        const double mean = profile_.total() / static_cast<double>(items_);
        double spread = 0;
        for (std::size_t b = 0; b < profile_.bins().size(); ++b) {
            const auto size = static_cast<double>(profile_.bin_items(b).size());
            if (size == 0) continue;
            const double d = profile_.bins()[b] / size - mean;
            spread += size * d * d;
        }
        sigma = std::sqrt(spread / static_cast<double>(items_));
        per_item = todo_units_ / todo_items;
    } else {
        const RankMeasure& all = stats_.pooled();
        if (all.reports < 2) return 0;
        sigma = std::sqrt(all.variance());
    }
    const auto p = static_cast<double>(ranks_);
    const double block = std::ceil(todo_items / p);
    double k = block;  // one rank, or no spread at all: one block each is best
    if (ranks_ > 1 && sigma > 0) {
        k = std::pow(std::sqrt(2.0) * todo_items * params_.chunk_overhead_s / (sigma * p * std::sqrt(std::log(p))),
                     2.0 / 3.0);
        k = std::clamp(std::ceil(k), static_cast<double>(params_.chunk_size), std::max(block, 1.0));
    }
    fixed_units_ = k * per_item;
    return fixed_units_;
}

double Dispenser::wf_weight(int rank) const {
    const auto r = static_cast<std::size_t>(rank);
    return r < wf_weights_.size() ? wf_weights_[r] : 1.0;
}

void Dispenser::cut_static_blocks() {
    // Block k is [k n / P, (k + 1) n / P): equal counts, or with a profile equal expected costs.
    const auto p = static_cast<std::uint64_t>(ranks_);
    const auto block_start = [&](std::uint64_t k) -> std::uint64_t {
        if (profile_.empty()) return pel::block_start(k, items_, p);
        if (k == 0) return 0;
        if (k >= p) return items_;
        return profile_.end_for_cost(0, profile_.total() * static_cast<double>(k) / static_cast<double>(p));
    };
    static_left_.assign(p, {});
    for (std::uint64_t k = 0; k < p; ++k) {
        const ItemRange block{block_start(k), block_start(k + 1)};
        for (const ItemRange& r : todo_) {
            const ItemRange piece{std::max(block.begin, r.begin), std::min(block.end, r.end)};
            if (!piece.empty()) static_left_[k].push_back(piece);
        }
    }
    static_cut_ = true;
}

std::optional<ItemRange> Dispenser::next(int rank) {
    started_ = true;
    if (params_.technique == Technique::static_block) {
        if (!static_cut_) cut_static_blocks();
        // Rank r owns block r (less what is done), granted on its requests whenever they come.
        const auto r = static_cast<std::size_t>(rank);
        if (r >= static_left_.size() || static_left_[r].empty()) return std::nullopt;
        const ItemRange chunk = static_left_[r].front();
        static_left_[r].erase(static_left_[r].begin());
        granted_ += chunk.size();
        return chunk;
    }
    if (granted_ == items_) return std::nullopt;
    while (next_ == order_[segment_].end) next_ = order_[++segment_].begin;
    const std::uint64_t size = std::min(chunk_size(rank), order_[segment_].end - next_);
    const ItemRange chunk{next_, next_ + size};
    next_ += size;
    granted_ += size;
    if (!profile_.empty()) {
        const double cost = profile_.cumulative(chunk.end) - profile_.cumulative(chunk.begin);
        granted_cost_ += cost;
        items_given_[static_cast<std::size_t>(rank)] += size;
        cost_given_[static_cast<std::size_t>(rank)] += cost;
    }
    return chunk;
}

}  // namespace pel::sched
