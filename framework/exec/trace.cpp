// exec/trace.cpp: the chunk log and the Chrome trace file.
#include "exec/trace.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <sstream>

#include "pel/archive.hpp"
#include "pel/error.hpp"

namespace pel::exec {

namespace {

/// Instant events kept per rank: they are rare (steals, pauses, checkpoints), but a pathological run must not grow
/// without bound.
constexpr std::size_t kInstantCap = 100000;

/// `text` as the inside of a JSON string.
std::string json_escaped(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += hex;
                } else {
                    out += c;
                }
        }
    }
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

/// The rows of one column of the chunk log that this rank writes, from `first` on.
template <class T, class Field>
io::RowBlock column(const std::vector<ChunkEvent>& events, std::uint64_t first, Field field) {
    std::vector<T> values;
    values.reserve(events.size());
    for (const ChunkEvent& e : events) values.push_back(static_cast<T>(field(e)));
    const auto bytes = std::as_bytes(std::span(values));
    return {first, values.size(), std::vector<std::byte>(bytes.begin(), bytes.end())};
}

}  // namespace

Trace::Trace(int threads, std::uint64_t cap, double origin)
    : threads_(static_cast<std::size_t>(std::max(threads, 1))),
      per_thread_cap_(cap / static_cast<std::uint64_t>(std::max(threads, 1))),
      origin_(origin) {}

void Trace::instant(int thread, double at, std::string name, std::string detail) {
    const std::lock_guard lock(mutex_);
    if (instants_.size() >= kInstantCap) {
        ++instants_dropped_;
        return;
    }
    instants_.push_back({thread, at - origin_, std::move(name), std::move(detail)});
}

std::vector<ChunkEvent> Trace::chunks() const {
    std::vector<ChunkEvent> all;
    for (const PerThread& t : threads_) all.insert(all.end(), t.events.begin(), t.events.end());
    std::stable_sort(all.begin(), all.end(), [](const ChunkEvent& a, const ChunkEvent& b) {
        return a.start_s < b.start_s || (a.start_s == b.start_s && a.thread < b.thread);
    });
    return all;
}

std::vector<InstantEvent> Trace::instants() const {
    const std::lock_guard lock(mutex_);
    return instants_;
}

std::uint64_t Trace::dropped() const {
    std::uint64_t n = 0;
    for (const PerThread& t : threads_) n += t.dropped;
    const std::lock_guard lock(mutex_);
    return n + instants_dropped_;
}

void write_chunk_log(io::ResultsFile& out, const mpi::Comm& comm, const Trace& trace) {
    const std::vector<ChunkEvent> mine = trace.chunks();
    const std::vector<double> counts = comm.allgather(static_cast<double>(mine.size()));
    std::uint64_t first = 0;
    std::uint64_t total = 0;
    for (int r = 0; r < comm.size(); ++r) {
        const auto n = static_cast<std::uint64_t>(counts[static_cast<std::size_t>(r)]);
        if (r < comm.rank()) first += n;
        total += n;
    }
    const auto rank = comm.rank();
    const auto write = [&](const char* name, ScalarType type, io::RowBlock block) {
        const std::string path = std::string("stats/chunk_log/") + name;
        out.create_dataset(path, type, {total});
        out.write_rows(path, {std::move(block)});
    };
    write("rank", ScalarType::i32, column<std::int32_t>(mine, first, [rank](const ChunkEvent&) { return rank; }));
    write("thread", ScalarType::i32, column<std::int32_t>(mine, first, [](const ChunkEvent& e) { return e.thread; }));
    write("phase", ScalarType::i32, column<std::int32_t>(mine, first, [](const ChunkEvent& e) { return e.phase; }));
    write("begin", ScalarType::u64, column<std::uint64_t>(mine, first, [](const ChunkEvent& e) { return e.begin; }));
    write("end", ScalarType::u64, column<std::uint64_t>(mine, first, [](const ChunkEvent& e) { return e.end; }));
    write("start_s", ScalarType::f64, column<double>(mine, first, [](const ChunkEvent& e) { return e.start_s; }));
    write("stop_s", ScalarType::f64, column<double>(mine, first, [](const ChunkEvent& e) { return e.stop_s; }));
    const std::uint64_t dropped = comm.allreduce_sum(trace.dropped());
    out.attribute_on("stats/chunk_log", "dropped", ScalarType::u64, &dropped);
}

void write_trace_file(const std::string& path, const mpi::Comm& comm, const Trace& trace, const std::string& hosts,
                      const std::string& job) {
    const std::vector<ChunkEvent> chunks = trace.chunks();
    const auto chunk_bytes = std::as_bytes(std::span(chunks));
    const auto all_chunks = comm.gather_bytes(chunk_bytes, 0);
    OutArchive archive;
    archive(trace.instants());
    const auto all_instants = comm.gather_bytes(archive.bytes(), 0);
    const std::uint64_t dropped = comm.allreduce_sum(trace.dropped());
    mpi::agree(comm, [&] {
        if (comm.rank() != 0) return;
        const std::string part = path + ".part";
        const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(part.c_str(), "w"), &std::fclose);
        if (!file) throw Error::Io("cannot write trace file '" + part + "': " + std::strerror(errno));
        std::FILE* f = file.get();
        const std::vector<std::string> host = lines_of(hosts);
        const int threads = trace.threads();
        std::fprintf(f,
                     "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"job\":\"%s\",\"ranks\":%d,\"threads\":%d,"
                     "\"dropped_events\":%llu},\n\"traceEvents\":[\n",
                     json_escaped(job).c_str(), comm.size(), threads, static_cast<unsigned long long>(dropped));
        bool first = true;
        const auto sep = [&] {
            if (!first) std::fputs(",\n", f);
            first = false;
        };
        for (int r = 0; r < comm.size(); ++r) {
            const auto ur = static_cast<std::size_t>(r);
            const std::string name =
                "rank " + std::to_string(r) + (ur < host.size() ? " (" + host[ur] + ")" : std::string());
            sep();
            std::fprintf(f, R"({"name":"process_name","ph":"M","pid":%d,"args":{"name":"%s"}})", r,
                         json_escaped(name).c_str());
            sep();
            std::fprintf(f, R"({"name":"process_sort_index","ph":"M","pid":%d,"args":{"sort_index":%d}})", r, r);
            for (int t = 0; t <= threads; ++t) {
                const std::string thread = t < threads ? "thread " + std::to_string(t)
                                                       : (r == 0 ? std::string("scheduler") : std::string("helper"));
                sep();
                std::fprintf(f, R"({"name":"thread_name","ph":"M","pid":%d,"tid":%d,"args":{"name":"%s"}})", r, t,
                             thread.c_str());
            }
            const auto& bytes = all_chunks[ur];
            std::vector<ChunkEvent> events(bytes.size() / sizeof(ChunkEvent));
            std::memcpy(events.data(), bytes.data(), events.size() * sizeof(ChunkEvent));
            for (const ChunkEvent& e : events) {
                sep();
                std::fprintf(f,
                             R"J({"name":"[%llu, %llu)","cat":"chunk","ph":"X","ts":%.3f,"dur":%.3f,"pid":%d,)J"
                             R"J("tid":%d,"args":{"phase":%d,"begin":%llu,"end":%llu,"items":%llu}})J",
                             static_cast<unsigned long long>(e.begin), static_cast<unsigned long long>(e.end),
                             e.start_s * 1e6, (e.stop_s - e.start_s) * 1e6, r, e.thread, e.phase,
                             static_cast<unsigned long long>(e.begin), static_cast<unsigned long long>(e.end),
                             static_cast<unsigned long long>(e.end - e.begin));
            }
            std::vector<InstantEvent> instants;
            InArchive in(all_instants[ur]);
            in(instants);
            for (const InstantEvent& e : instants) {
                sep();
                std::fprintf(f,
                             R"({"name":"%s","cat":"event","ph":"i","s":"p","ts":%.3f,"pid":%d,"tid":%d,)"
                             R"("args":{"detail":"%s"}})",
                             json_escaped(e.name).c_str(), e.at_s * 1e6, r, e.thread, json_escaped(e.detail).c_str());
            }
        }
        std::fputs("\n]}\n", f);
        if (std::ferror(f) != 0 || std::fflush(f) != 0) {
            throw Error::Io("cannot write trace file '" + part + "': " + std::strerror(errno));
        }
        std::error_code ec;
        std::filesystem::rename(part, path, ec);
        if (ec) throw Error::Io("cannot rename trace file '" + part + "' to '" + path + "': " + ec.message());
    });
}

}  // namespace pel::exec
