// exec/trace.hpp: what each thread of each rank did and when, kept cheaply enough to leave on.
//
// Every batch of items a thread processes is one event (its items, start and stop); steals, pauses, checkpoints
// and signals are instant events. Threads append to buffers of their own, without locks, up to a cap; what does
// not fit is counted. After the run the events become the results file's chunk log (/stats/chunk_log, written by
// exec/results_layout.hpp) and, with --trace, a Chrome trace event file that Perfetto and chrome://tracing open.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "mpi/comm.hpp"
#include "pel/types.hpp"

namespace pel::exec {

/// Items one thread processed one after another from one chunk (one batch or several). Times in seconds since the
/// run's origin.
struct ChunkEvent {
    std::int32_t thread = 0;
    std::int32_t phase = 0;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    double start_s = 0;
    double stop_s = 0;
};

/// Something that happened at one moment: a steal, a pause, a checkpoint, a signal.
struct InstantEvent {
    std::int32_t thread = 0;
    double at_s = 0;
    std::string name;
    std::string detail;
    template <class A>
    void fields(A& a) {
        a(thread)(at_s)(name)(detail);
    }
};

/// One rank's events. chunk() is safe from the rank's compute threads at once (each on its own buffer);
/// instant() from any thread.
class Trace {
  public:
    /// `threads` compute threads (instant events may also come from thread `threads`: rank 0's scheduler or a
    /// worker's helper thread); at most `cap` chunk events kept on this rank, split evenly over its threads.
    /// `origin` is the steady-clock time (seconds) that events count from: the same instant on every rank.
    Trace(int threads, std::uint64_t cap, double origin);

    /// Records a batch of `chunk` (the chunk as granted) that `thread` processed from `start` to `stop`. A batch
    /// that continues the thread's previous one in the same chunk extends its event: one event per chunk with one
    /// thread, and far fewer than one per batch with several.
    void chunk(int thread, int phase, ItemRange chunk, ItemRange batch, double start, double stop) noexcept {
        PerThread& t = threads_[static_cast<std::size_t>(thread)];
        if (!t.events.empty() && t.last_chunk == chunk.begin && t.last_phase == phase &&
            t.events.back().end == batch.begin) {
            t.events.back().end = batch.end;
            t.events.back().stop_s = stop - origin_;
            return;
        }
        t.last_chunk = chunk.begin;
        t.last_phase = phase;
        if (t.events.size() >= per_thread_cap_) {
            ++t.dropped;
            return;
        }
        t.events.push_back({thread, phase, batch.begin, batch.end, start - origin_, stop - origin_});
    }
    void instant(int thread, double at, std::string name, std::string detail);

    /// The number of compute threads.
    [[nodiscard]] int threads() const noexcept { return static_cast<int>(threads_.size()); }
    /// This rank's chunk events in order of start time.
    [[nodiscard]] std::vector<ChunkEvent> chunks() const;
    [[nodiscard]] std::vector<InstantEvent> instants() const;
    /// Events not kept on this rank because of the cap.
    [[nodiscard]] std::uint64_t dropped() const;

  private:
    struct alignas(64) PerThread {
        std::vector<ChunkEvent> events;
        std::uint64_t dropped = 0;
        std::uint64_t last_chunk = UINT64_MAX;  ///< the chunk (its first item) of the last event
        int last_phase = -1;
    };
    std::vector<PerThread> threads_;
    std::uint64_t per_thread_cap_;
    double origin_;
    mutable std::mutex mutex_;
    std::vector<InstantEvent> instants_;
    std::uint64_t instants_dropped_ = 0;
};

/// Gathers every rank's events on rank 0 and writes them to `path` in the Chrome trace event format: a process per
/// rank named with its host (`hosts`, one line per rank), a thread per compute thread, a complete event per batch
/// with its item range, instant events; `otherData` tells how many events were dropped. Written durably (a
/// pel::DurableFile). Throws pel::Error (io) on every rank if the file cannot be written. \note collective
void write_trace_file(const std::string& path, const mpi::Comm& comm, const Trace& trace, const std::string& hosts,
                      const std::string& job);

}  // namespace pel::exec
