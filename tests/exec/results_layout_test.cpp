// tests/exec/results_layout_test.cpp: every record of the run in the results file (provenance, totals, /stats,
// /skipped, /stats/chunk_log) reads back through its typed reader as it was written, under the names and types
// that scripts/pel-plots.py and perf/*.py read.
#include "exec/results_layout.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "io/arrays.hpp"
#include "support/scratch.hpp"

using namespace pel::exec;

namespace {

/// Rank `r`'s chunk events: none on rank 0 (when there are several ranks), 2r + 1 elsewhere, on two threads.
std::vector<ChunkEvent> events_of(int r, int ranks) {
    std::vector<ChunkEvent> events;
    const int n = r == 0 && ranks > 1 ? 0 : 2 * r + 1;
    for (int k = 0; k < n; ++k) {
        const auto begin = static_cast<std::uint64_t>(1000 * r + 10 * k);
        events.push_back(
            {k % 2, k / 3, begin, begin + 5 + static_cast<std::uint64_t>(k), 0.5 * k + r, 0.5 * k + r + 0.25});
    }
    return events;
}

bool same(const RankStats& a, const RankStats& b) {
    return a.items == b.items && a.chunks == b.chunks && a.busy_s == b.busy_s && a.idle_s == b.idle_s &&
           a.wait_s == b.wait_s && a.serve_s == b.serve_s && a.requests == b.requests && a.steals == b.steals;
}

bool same(const ChunkEvent& a, const ChunkEvent& b) {
    return a.thread == b.thread && a.phase == b.phase && a.begin == b.begin && a.end == b.end &&
           a.start_s == b.start_s && a.stop_s == b.stop_s;
}

}  // namespace

TEST_CASE("every record of the results layout reads back as written", "[exec][results]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const std::string path = dir.file("layout.h5");
    const int ranks = comm.size();

    const Provenance provenance{"synthetic",
                                "3",
                                "job = \"synthetic\"\nitems = 10\n",
                                "pel run synthetic --items 10",
                                "1.2.3",
                                "2024-05-06T07:08:09Z",
                                "node-a",
                                "awf",
                                ranks,
                                2,
                                4};
    const RunTotals totals{3, 12.5, "run.ckpt/ckpt-00000001.h5", "7 tasks: 5 succeeded, 2 failed", 102};
    RunSummary summary;
    summary.phases = 3;
    summary.makespan_s = 4.5;
    summary.lower_bound_s = 4.25;
    summary.imbalance = 1.125;
    for (int r = 0; r < ranks; ++r) {
        const auto u = static_cast<std::uint64_t>(r);
        const double d = r;
        summary.ranks.push_back(
            {100 + u, 10 + u, 1.5 + d, 0.25 + d, 0.125 * d, r == 0 ? 0.75 : 0, r == 0 ? 77u : 0u, r == 0 ? 5u : 0u});
        summary.hosts += "node-" + std::to_string(r) + "\n";
    }
    const RunStats stats = RunStats::of(summary, "awf");
    CHECK(stats.efficiency == summary.efficiency());
    CHECK(stats.ranks.at(0).steals == 0);  // not stored
    const std::vector<SkippedItem> skipped{{0, 5, 1}, {2, 99, 0}, {2, 100, static_cast<std::int64_t>(ranks - 1)}};
    Trace trace(2, 1000, 0.0);
    for (const ChunkEvent& e : events_of(comm.rank(), ranks)) {
        trace.chunk(e.thread, e.phase, {e.begin, e.end}, {e.begin, e.end}, e.start_s, e.stop_s);
    }

    {
        pel::io::ResultsFile out(comm, path);
        write_provenance(out, provenance);
        write_stats(out, stats);
        write_run_totals(out, totals);
        write_skipped(out, skipped);
        write_chunk_log(out, comm, trace);
        out.commit();
    }
    comm.barrier();

    CHECK(read_provenance(path) == provenance);
    CHECK(read_run_totals(path) == totals);
    const RunStats back = read_stats(path);
    REQUIRE(back.ranks.size() == stats.ranks.size());
    for (std::size_t r = 0; r < back.ranks.size(); ++r) CHECK(same(back.ranks[r], stats.ranks[r]));
    CHECK(back.makespan_s == stats.makespan_s);
    CHECK(back.lower_bound_s == stats.lower_bound_s);
    CHECK(back.imbalance == stats.imbalance);
    CHECK(back.efficiency == stats.efficiency);
    CHECK(back.schedule == stats.schedule);
    CHECK(back.hosts == stats.hosts);
    const auto skipped_back = read_skipped(path);
    REQUIRE(skipped_back.size() == skipped.size());
    for (std::size_t i = 0; i < skipped.size(); ++i) {
        CHECK(skipped_back[i].phase == skipped[i].phase);
        CHECK(skipped_back[i].item == skipped[i].item);
        CHECK(skipped_back[i].rank == skipped[i].rank);
    }
    const auto log = read_chunk_log(path);
    REQUIRE(log);
    CHECK(log->dropped == 0);
    std::vector<ChunkLogRow> expected;
    for (int r = 0; r < ranks; ++r) {
        for (const ChunkEvent& e : events_of(r, ranks)) expected.push_back({r, e});
    }
    REQUIRE(log->rows.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK(log->rows[i].rank == expected[i].rank);
        CHECK(same(log->rows[i].event, expected[i].event));
    }

    // The names and types other programs read (scripts/pel-plots.py, perf/*.py).
    std::vector<std::uint64_t> dims;
    CHECK(pel::io::read_array(path, "stats/items", pel::ScalarType::u64, dims).size() == 8 * stats.ranks.size());
    CHECK(pel::io::read_array(path, "stats/busy_s", pel::ScalarType::f64, dims).size() == 8 * stats.ranks.size());
    CHECK(pel::io::read_attribute_text(path, "/", "job") == "synthetic");
    CHECK(pel::io::read_attribute_number(path, "/", "threads") == 2);
    CHECK(pel::io::read_attribute_number(path, "stats", "makespan_s") == 4.5);
    CHECK(pel::io::read_attribute_text(path, "stats", "schedule") == "awf");
    CHECK(pel::io::read_attribute_number(path, "/", "skipped_items") == 3);
    CHECK(pel::io::read_attribute_number(path, "stats/chunk_log", "dropped") == 0);
    CHECK(pel::io::read_array(path, "skipped/rank", pel::ScalarType::i64, dims).size() == 8 * skipped.size());
}

TEST_CASE("a run that skipped nothing, recorded no chunks and did not resume has no such records", "[exec][results]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const std::string path = dir.file("bare.h5");
    {
        pel::io::ResultsFile out(comm, path);
        write_run_totals(out, {1, 0.5, "", "", 0});
        write_skipped(out, {});
        out.commit();
    }
    comm.barrier();
    CHECK(read_run_totals(path) == RunTotals{1, 0.5, "", "", 0});
    CHECK_FALSE(pel::io::read_attribute_text(path, "/", "resumed_from"));
    CHECK(read_skipped(path).empty());
    CHECK(pel::io::read_attribute_number(path, "/", "skipped_items") == 0);
    CHECK_FALSE(read_chunk_log(path));
    // No /stats: not a pel results file, said with the file and the attribute.
    CHECK_THROWS_WITH(read_stats(path), Catch::Contains(path) && Catch::Contains("/stats attribute 'makespan_s'"));
    const Provenance none = read_provenance(path);
    CHECK(none.job.empty());
    CHECK(none.threads == 0);
}
