// perf/peer_dls/dls_peer.cpp: a plain MPI master-worker written from the dynamic loop scheduling papers, the peer
// pel's scheduler is measured against. Rank 0 is the master and also computes (as in DLS4LB and Carino & Banicescu's
// load balancing tool): between its own items it answers requests. Techniques: fac (practical factoring, FAC2: Flynn
// Hummel, Schonberg & Flynn 1992) and awf-c (chunk-level adaptive weighted factoring: Carino & Banicescu 2008).
// Items sleep the costs read from a file of float64 microseconds (one per item), so many ranks on few cores measure
// scheduling, not CPU sharing. Prints one JSON line: the technique, ranks, makespan and chunks.
//
// Usage: mpirun -np P pel_peer_dls --costs FILE --technique fac|awf-c [--min-chunk 1] [--request-at 0.15]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mpi.h>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kRequestTag = 1;  // worker -> master: {rank's mean item time (s), or -1 when not measured}
constexpr int kWorkTag = 2;     // master -> worker: {start, size}; size 0 ends the loop

struct Options {
    std::string costs;
    std::string technique = "fac";
    std::int64_t min_chunk = 1;
    double request_at = 0.15;  ///< a worker asks for its next chunk when this share of its chunk is left (DLS4LB)
};

/// Bad input: every rank reads the same arguments and file, so every rank comes here; rank 0 says why, once.
[[noreturn]] void fail(const std::string& message) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) std::fprintf(stderr, "pel_peer_dls: error: %s\n", message.c_str());
    MPI_Finalize();
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(a + " needs a value");
            return argv[++i];
        };
        if (a == "--costs") {
            o.costs = value();
        } else if (a == "--technique") {
            o.technique = value();
        } else if (a == "--min-chunk") {
            o.min_chunk = std::max<std::int64_t>(1, std::atoll(value().c_str()));
        } else if (a == "--request-at") {
            o.request_at = std::atof(value().c_str());
        } else {
            fail("unknown option '" + a + "'");
        }
    }
    if (o.costs.empty()) fail("--costs FILE is required");
    if (o.technique != "fac" && o.technique != "awf-c") fail("--technique: '" + o.technique + "' (known: fac, awf-c)");
    return o;
}

std::vector<double> read_costs(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) fail("cannot open '" + path + "'");
    const auto bytes = static_cast<std::size_t>(in.tellg());
    std::vector<double> costs(bytes / sizeof(double));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(costs.data()), static_cast<std::streamsize>(costs.size() * sizeof(double)));
    if (!in || costs.empty()) fail("'" + path + "' holds no float64 costs");
    return costs;
}

void sleep_item(double cost_us) { std::this_thread::sleep_for(std::chrono::duration<double, std::micro>(cost_us)); }

/// The master's chunk sizes, one call per request.
class Chunker {
  public:
    Chunker(const Options& o, std::int64_t items, int ranks)
        : technique_(o.technique), least_(o.min_chunk), left_(items), ranks_(ranks), mean_(ranks, -1.0) {}

    /// The next chunk's size for `rank`, whose reported mean item time is `mean` (< 0: not measured).
    std::int64_t next(int rank, double mean) {
        if (left_ == 0) return 0;
        const auto p = static_cast<std::int64_t>(ranks_);
        std::int64_t size = least_;
        if (technique_ == "fac") {
            // FAC2: batches of P chunks, each ceil(R / 2P) of what remains when the batch starts.
            if (batch_left_ == 0) {
                batch_size_ = std::max(least_, (left_ + 2 * p - 1) / (2 * p));
                batch_left_ = ranks_;
            }
            --batch_left_;
            size = batch_size_;
        } else {
            // AWF-C: w_r x ceil(R / 2P) at each request; w_r = (1 / mu_r) normalised to a mean of 1 over the ranks
            // measured. A rank not yet measured gets the smallest chunk (as DLS4LB does).
            if (mean > 0) {
                if (mean_[rank] <= 0) ++measured_;
                inverse_sum_ += 1 / mean - (mean_[rank] > 0 ? 1 / mean_[rank] : 0);
                mean_[rank] = mean;
            }
            if (mean_[rank] > 0) {
                const double weight = (1 / mean_[rank]) / (inverse_sum_ / measured_);
                const double share = static_cast<double>((left_ + 2 * p - 1) / (2 * p));
                size = std::max(least_, static_cast<std::int64_t>(std::llround(weight * share)));
            }
        }
        size = std::min(size, left_);
        left_ -= size;
        return size;
    }

  private:
    std::string technique_;
    std::int64_t least_;
    std::int64_t left_;
    int ranks_;
    std::int64_t batch_size_ = 0;
    int batch_left_ = 0;
    std::vector<double> mean_;
    double inverse_sum_ = 0;
    int measured_ = 0;
};

/// A rank's chunk-weighted mean item time for AWF-C: chunk j's time counts j times (Carino & Banicescu 2008).
struct Mean {
    double weighted_time = 0;
    double weighted_items = 0;
    int chunks = 0;
    void add(double seconds, std::int64_t items) {
        ++chunks;
        weighted_time += chunks * seconds;
        weighted_items += chunks * static_cast<double>(items);
    }
    [[nodiscard]] double value() const { return weighted_items > 0 ? weighted_time / weighted_items : -1; }
};

}  // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    int ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    const Options o = parse(argc, argv);
    const std::vector<double> costs = read_costs(o.costs);
    const auto items = static_cast<std::int64_t>(costs.size());

    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    std::int64_t done = 0;
    std::int64_t chunks = 0;  // counted by the master
    Mean mean;
    if (rank == 0) {
        Chunker chunker(o, items, ranks);
        std::int64_t next_item = 0;
        int ended = 0;
        const auto grant = [&](int to, double their_mean) {
            std::int64_t msg[2] = {next_item, chunker.next(to, their_mean)};
            next_item += msg[1];
            if (msg[1] > 0) ++chunks;
            if (msg[1] == 0) ++ended;
            if (to != 0) MPI_Send(msg, 2, MPI_INT64_T, to, kWorkTag, MPI_COMM_WORLD);
            return std::pair{msg[0], msg[1]};
        };
        const auto serve = [&](bool wait) {
            int flag = 0;
            MPI_Status st;
            if (wait) {
                MPI_Probe(MPI_ANY_SOURCE, kRequestTag, MPI_COMM_WORLD, &st);
                flag = 1;
            } else {
                MPI_Iprobe(MPI_ANY_SOURCE, kRequestTag, MPI_COMM_WORLD, &flag, &st);
            }
            while (flag) {
                double their_mean = -1;
                MPI_Recv(&their_mean, 1, MPI_DOUBLE, st.MPI_SOURCE, kRequestTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                grant(st.MPI_SOURCE, their_mean);
                MPI_Iprobe(MPI_ANY_SOURCE, kRequestTag, MPI_COMM_WORLD, &flag, &st);
            }
        };
        // Every rank's first chunk, the master's included, in rank order.
        auto own = grant(0, -1);
        for (int r = 1; r < ranks; ++r) grant(r, -1);
        while (own.second > 0) {
            // The master computes its chunk item by item and answers requests between items; its mean counts only
            // the items' time.
            double busy = 0;
            for (std::int64_t i = own.first; i < own.first + own.second; ++i) {
                const double t0 = MPI_Wtime();
                sleep_item(costs[static_cast<std::size_t>(i)]);
                busy += MPI_Wtime() - t0;
                serve(false);
            }
            done += own.second;
            mean.add(busy, own.second);
            own = grant(0, mean.value());
        }
        while (ended < ranks) serve(true);
    } else {
        std::int64_t chunk[2];
        MPI_Recv(chunk, 2, MPI_INT64_T, 0, kWorkTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Request pending = MPI_REQUEST_NULL;
        std::int64_t next[2] = {0, 0};
        double my_mean = -1;
        while (chunk[1] > 0) {
            const std::int64_t ask_when = std::max<std::int64_t>(
                1, static_cast<std::int64_t>(std::ceil(o.request_at * static_cast<double>(chunk[1]))));
            const double t0 = MPI_Wtime();
            bool asked = false;
            for (std::int64_t i = 0; i < chunk[1]; ++i) {
                sleep_item(costs[static_cast<std::size_t>(chunk[0] + i)]);
                if (!asked && chunk[1] - (i + 1) <= ask_when) {
                    // Ask ahead, reporting the mean as of the items done so far in this chunk (as DLS4LB does).
                    Mean now = mean;
                    now.add(MPI_Wtime() - t0, i + 1);
                    my_mean = now.value();
                    MPI_Send(&my_mean, 1, MPI_DOUBLE, 0, kRequestTag, MPI_COMM_WORLD);
                    MPI_Irecv(next, 2, MPI_INT64_T, 0, kWorkTag, MPI_COMM_WORLD, &pending);
                    asked = true;
                }
            }
            done += chunk[1];
            mean.add(MPI_Wtime() - t0, chunk[1]);
            MPI_Wait(&pending, MPI_STATUS_IGNORE);
            chunk[0] = next[0];
            chunk[1] = next[1];
        }
    }
    const double mine = MPI_Wtime() - start;
    double makespan = 0;
    std::int64_t total = 0;
    std::int64_t all_chunks = 0;
    MPI_Reduce(&mine, &makespan, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&done, &total, 1, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&chunks, &all_chunks, 1, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        if (total != items) {  // a bug in this program, not bad input: stop every rank
            std::fprintf(stderr, "pel_peer_dls: error: items done %lld of %lld\n", static_cast<long long>(total),
                         static_cast<long long>(items));
            MPI_Abort(MPI_COMM_WORLD, 3);
        }
        std::printf("{\"tool\": \"dls-%s\", \"ranks\": %d, \"items\": %lld, \"makespan_s\": %.6f, \"chunks\": %lld}\n",
                    o.technique.c_str(), ranks, static_cast<long long>(total), makespan,
                    static_cast<long long>(all_chunks));
    }
    MPI_Finalize();
    return 0;
}
