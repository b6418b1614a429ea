// jobs/kmeans: Lloyd's k-means over the rows of a [points, dims] dataset, one phase per iteration until the
// centroids stop moving (or a maximum), then a phase "assign" that writes each point's cluster. Sums are
// pel::ExactSum and ties go to the lowest cluster, so the result is bit-identical on any layout. The points are an
// item input (point i is item i): each rank reads only the points of the batches it runs, so no rank holds them all.
// The centroids are needed everywhere, so the job asks for each phase's total on every rank.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <unordered_set>
#include <vector>

#include <pel/exact_sum.hpp>
#include <pel/plugin.hpp>
#include <pel/random.hpp>

namespace {

/// What one pass over the points adds up to: per-cluster coordinate sums and sizes, and the inertia.
struct ClusterSums {
    std::vector<pel::ExactSum> sums;    ///< [k * dims]: sum of the coordinates of each cluster's points
    std::vector<std::uint64_t> counts;  ///< [k]: points in each cluster
    pel::ExactSum inertia;              ///< sum of squared distances to the nearest centroid

    void merge(const ClusterSums& other) {
        if (sums.size() < other.sums.size()) sums.resize(other.sums.size());
        if (counts.size() < other.counts.size()) counts.resize(other.counts.size());
        for (std::size_t i = 0; i < other.sums.size(); ++i) sums[i].merge(other.sums[i]);
        for (std::size_t i = 0; i < other.counts.size(); ++i) counts[i] += other.counts[i];
        inertia.merge(other.inertia);
    }
    template <class A>
    void fields(A& a) {
        a("sums", sums)("counts", counts)("inertia", inertia);
    }
};

/// Where the job is: iterating, writing the assignments, or finished.
enum class Stage : std::uint8_t { iterate, assign, done };

class KMeans final : public pel::Job<ClusterSums> {
  public:
    void declare_options(pel::Options& o) override {
        o.add("input", input_, "HDF5 file holding the points").path();
        o.add("dataset", dataset_, "dataset of the points, [points, dims] numbers");
        o.add("points", points_wanted_, "cluster the first this many points (0: all of them)").range(0, 1e15);
        o.add("k", k_, "number of clusters").range(1, 1 << 20);
        o.add("max-iterations", max_iterations_, "most Lloyd iterations to run").range(1, 1e9);
        o.add("tolerance", tolerance_, "converged when no centroid moves farther than this").min(0);
        o.add("seed", seed_, "seed of the initial centroids (and of generated points)");
        o.add("generate", generate_, "if > 0 and the input file is missing, first write this many points to it")
            .range(0, 1e10);
        o.add("generate-dims", generate_dims_, "dimensions of generated points").range(1, 1 << 16);
        o.add("generate-clusters", generate_clusters_, "gaussian blobs the generated points are drawn around")
            .range(1, 1 << 20);
    }

    void setup(pel::SetupContext& ctx) override {
        if (generate_ > 0 && !ctx.file_exists(input_)) generate(ctx);
        points_in_ = ctx.item_input<double>(input_, dataset_, 1, static_cast<std::uint64_t>(points_wanted_));
        if (points_in_.dims.size() != 2) {
            throw pel::Error::Usage("kmeans: dataset '" + dataset_ + "' in '" + input_ + "' is " +
                                    std::to_string(points_in_.dims.size()) + "-D; it must be 2-D [points, dims]");
        }
        points_ = points_in_.items;
        dims_ = points_in_.dims[1];
        if (dims_ == 0) throw pel::Error::Usage("kmeans: the points in '" + input_ + "' have 0 coordinates");
        const auto k = static_cast<std::uint64_t>(k_);
        if (points_ < k) {
            throw pel::Error::Usage("kmeans: k = " + std::to_string(k) +
                                    " clusters need at least as many points, but '" + input_ + "' has " +
                                    std::to_string(points_));
        }
        ctx.total_on_every_rank();  // every rank's kernel needs the new centroids
        assignments_ = ctx.item_output<std::int32_t>("assignments", points_, 1, "cluster of each point, 0 .. k-1");
        ctx.result_dataset("centroids");
        ctx.result_dataset("cluster_sizes");
        for (const char* name : {"iterations", "converged", "inertia", "last_move"}) ctx.result_attribute(name);
        initial_centroids(ctx);
        if (ctx.rank() == 0) {
            ctx.log("kmeans: " + std::to_string(points_) + " points in " + std::to_string(dims_) +
                    " dims, k = " + std::to_string(k));
        }
    }

    std::optional<pel::Phase> next_phase(const pel::Context& /*ctx*/) override {
        switch (stage_) {
            case Stage::iterate:
                return pel::Phase{"iteration " + std::to_string(iterations_ + 1), points_};
            case Stage::assign:
                return pel::Phase{"assign", points_};
            case Stage::done:
                return std::nullopt;
        }
        return std::nullopt;
    }

    [[nodiscard]] ClusterSums empty_partial(const pel::Context& /*ctx*/) const override {
        ClusterSums s;
        s.sums.resize(centroids_.size());
        s.counts.resize(static_cast<std::size_t>(k_));
        return s;
    }

    void process(pel::ItemRange items, ClusterSums& sums, pel::ItemSink& out, const pel::Context& ctx) const override {
        const auto k = static_cast<std::size_t>(k_);
        const auto d = static_cast<std::size_t>(dims_);
        for (std::uint64_t i = items.begin; i < items.end; ++i) {
            const double* x = ctx.input(points_in_, i).data();
            for (std::size_t j = 0; j < d; ++j) {
                if (!std::isfinite(x[j])) {
                    throw pel::Error::Io("kmeans: point " + std::to_string(i) + " in '" + input_ +
                                         "' has a coordinate that is not a finite number");
                }
            }
            std::size_t best = 0;
            double best_dist = std::numeric_limits<double>::infinity();
            for (std::size_t c = 0; c < k; ++c) {
                const double* m = centroids_.data() + c * d;
                double dist = 0;
                for (std::size_t j = 0; j < d; ++j) dist += (x[j] - m[j]) * (x[j] - m[j]);
                if (dist < best_dist) {  // strict: a tie keeps the lower cluster
                    best_dist = dist;
                    best = c;
                }
            }
            ++sums.counts[best];
            sums.inertia.add(best_dist);
            if (stage_ == Stage::assign) {
                out.row(assignments_, i)[0] = static_cast<std::int32_t>(best);
            } else {
                for (std::size_t j = 0; j < d; ++j) sums.sums[best * d + j].add(x[j]);
            }
        }
    }

    void end_phase(const ClusterSums& total, const pel::Context& ctx) override {
        inertia_ = total.inertia.value();
        sizes_ = total.counts;
        if (stage_ == Stage::assign) {
            stage_ = Stage::done;
            return;
        }
        const auto d = static_cast<std::size_t>(dims_);
        double max_move = 0;
        for (std::size_t c = 0; c < sizes_.size(); ++c) {
            if (sizes_[c] == 0) continue;  // an empty cluster keeps its centroid
            double move = 0;
            for (std::size_t j = 0; j < d; ++j) {
                const double updated = total.sums[c * d + j].value() / static_cast<double>(sizes_[c]);
                move += (updated - centroids_[c * d + j]) * (updated - centroids_[c * d + j]);
                centroids_[c * d + j] = updated;
            }
            max_move = std::max(max_move, std::sqrt(move));
        }
        ++iterations_;
        last_move_ = max_move;
        converged_ = max_move <= tolerance_;
        if (converged_ || iterations_ >= max_iterations_) stage_ = Stage::assign;
        if (ctx.rank() == 0) {
            ctx.log("kmeans: iteration " + std::to_string(iterations_) + ": inertia " + text(inertia_) +
                    ", largest centroid move " + text(max_move));
        }
        if (stage_ == Stage::assign && !converged_ && ctx.rank() == 0) {
            ctx.warn("kmeans: not converged after " + std::to_string(iterations_) + " iterations (largest move " +
                     text(max_move) + " > tolerance " + text(tolerance_) + ")");
        }
    }

    void write_results(pel::ResultSink& sink, const pel::Context& /*ctx*/) const override {
        const auto k = static_cast<std::uint64_t>(k_);
        sink.dataset<double>("centroids", {k, dims_}, centroids_, "final centroid of each cluster, [k, dims]");
        sink.dataset<std::uint64_t>("cluster_sizes", {k}, sizes_, "points assigned to each cluster");
        sink.attribute("iterations", iterations_);
        sink.attribute("converged", std::int64_t{converged_ ? 1 : 0});
        sink.attribute("inertia", inertia_);
        sink.attribute("last_move", last_move_);
    }

    void save_state(pel::OutArchive& out) const override {
        out(stage_)(iterations_)(converged_)(centroids_)(inertia_)(last_move_)(sizes_);
    }
    void load_state(pel::InArchive& in) override {
        in(stage_)(iterations_)(converged_)(centroids_)(inertia_)(last_move_)(sizes_);
        if (dims_ > 0 && centroids_.size() != static_cast<std::size_t>(k_) * dims_) {
            throw pel::Error::Io("kmeans: saved state has " + std::to_string(centroids_.size()) +
                                 " centroid coordinates, expected k * dims = " + std::to_string(k_ * dims_));
        }
    }

  private:
    /// Writes --generate points around --generate-clusters gaussian blobs to --input. \note collective
    void generate(pel::SetupContext& ctx) const {
        const auto n = static_cast<std::uint64_t>(generate_);
        const auto d = static_cast<std::uint64_t>(generate_dims_);
        const auto blobs = static_cast<std::uint64_t>(generate_clusters_);
        const auto seed = static_cast<std::uint64_t>(seed_);
        // Blob centres uniform in [-50, 50]^d (stream 2), points normal around them with sd 1 (stream 3), so the
        // blobs are well apart. Streams 2 and 3 keep them independent of the initial centroids' draws (stream 0).
        std::vector<double> centres(blobs * d);
        for (std::uint64_t b = 0; b < blobs; ++b) {
            pel::Rng rng(seed, b, 2);
            for (std::uint64_t j = 0; j < d; ++j) centres[b * d + j] = 100.0 * rng.uniform() - 50.0;
        }
        std::vector<double> data(n * d);
        for (std::uint64_t i = 0; i < n; ++i) {
            pel::Rng rng(seed, i, 3);
            const std::uint64_t b = rng.next_u64() % blobs;
            for (std::uint64_t j = 0; j < d; ++j) data[i * d + j] = centres[b * d + j] + rng.normal();
        }
        // Only rank 0 writes, so only rank 0 makes the directory; write_array then fails on every rank if it could
        // not.
        const std::filesystem::path parent = std::filesystem::path(input_).parent_path();
        if (ctx.rank() == 0 && !parent.empty()) {
            std::error_code ec;
            std::filesystem::create_directories(parent, ec);
            if (ec) ctx.warn("kmeans: cannot create directory '" + parent.string() + "': " + ec.message());
        }
        ctx.write_array<double>(input_, dataset_, {n, d}, data);
        if (ctx.rank() == 0) {
            ctx.log("kmeans: generated " + std::to_string(n) + " points in " + std::to_string(d) + " dims around " +
                    std::to_string(blobs) + " blobs into '" + input_ + "' " + dataset_);
        }
    }

    /// Picks k distinct points as the first centroids: point Rng(seed, j) mod points for j = 0, 1, ..., skipping
    /// points already picked; reads only those. \note collective
    void initial_centroids(pel::SetupContext& ctx) {
        const auto k = static_cast<std::size_t>(k_);
        std::unordered_set<std::uint64_t> taken;
        centroids_.clear();
        centroids_.reserve(k * static_cast<std::size_t>(dims_));
        for (std::uint64_t j = 0; taken.size() < k; ++j) {
            const std::uint64_t p = pel::Rng(static_cast<std::uint64_t>(seed_), j).next_u64() % points_;
            if (!taken.insert(p).second) continue;
            const std::vector<double> point = ctx.read_items(points_in_, {p, p + 1});
            for (double x : point) {
                if (!std::isfinite(x)) {
                    throw pel::Error::Io("kmeans: point " + std::to_string(p) + " in '" + input_ +
                                         "' has a coordinate that is not a finite number");
                }
            }
            centroids_.insert(centroids_.end(), point.begin(), point.end());
        }
    }

    static std::string text(double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.10g", v);
        return buf;
    }

    // Options.
    std::string input_ = "data/kmeans_points.h5";
    std::string dataset_ = "/points";
    std::int64_t k_ = 8;
    std::int64_t max_iterations_ = 50;
    double tolerance_ = 1e-6;
    std::int64_t seed_ = 7;
    std::int64_t points_wanted_ = 0;
    std::int64_t generate_ = 0;
    std::int64_t generate_dims_ = 2;
    std::int64_t generate_clusters_ = 8;

    // Set up once.
    std::uint64_t points_ = 0;
    std::uint64_t dims_ = 0;
    pel::ItemInput<double> points_in_;  ///< the points, read batch by batch
    pel::ItemColumn<std::int32_t> assignments_;

    // Carried between phases (saved by save_state).
    Stage stage_ = Stage::iterate;
    std::int64_t iterations_ = 0;
    bool converged_ = false;
    std::vector<double> centroids_;     ///< [k * dims], row-major
    double inertia_ = 0;                ///< of the last phase: with the centroids it started from
    double last_move_ = 0;              ///< largest centroid move of the last iteration
    std::vector<std::uint64_t> sizes_;  ///< points in each cluster in the last phase
};

}  // namespace

PEL_JOB(KMeans, "kmeans", "1.0", "Lloyd's k-means over the rows of an HDF5 dataset; one phase per iteration")
