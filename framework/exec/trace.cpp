// exec/trace.cpp: the per-thread event buffers and the Chrome trace file.
#include "exec/trace.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <span>
#include <sstream>
#include <string_view>

#include "pel/archive.hpp"
#include "pel/durable_file.hpp"
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

/// Formatted text into a DurableFile, a megabyte at a time.
class TextOut {
  public:
    explicit TextOut(DurableFile& file) : file_(file) {}
    void puts(std::string_view text) {
        buffer_ += text;
        if (buffer_.size() >= kFlushBytes) flush();
    }
    [[gnu::format(printf, 2, 3)]] void printf(const char* format, ...) {
        char line[512];
        std::va_list args;
        va_start(args, format);
        const int n = std::vsnprintf(line, sizeof line, format, args);
        va_end(args);
        if (n < 0) throw Error::Internal("trace file: bad format");
        if (static_cast<std::size_t>(n) < sizeof line) {
            puts(std::string_view(line, static_cast<std::size_t>(n)));
            return;
        }
        std::string long_line(static_cast<std::size_t>(n) + 1, '\0');
        va_start(args, format);
        std::vsnprintf(long_line.data(), long_line.size(), format, args);
        va_end(args);
        long_line.pop_back();
        puts(long_line);
    }
    void flush() {
        file_.write(buffer_);
        buffer_.clear();
    }

  private:
    static constexpr std::size_t kFlushBytes = std::size_t{1} << 20;
    DurableFile& file_;
    std::string buffer_;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

/// Writes the Chrome trace file `path` from every rank's events, durably. Rank 0 only.
void write_chrome_trace(const std::string& path, int ranks, int threads,
                        const std::vector<std::vector<std::byte>>& all_chunks,
                        const std::vector<std::vector<std::byte>>& all_instants, const std::string& hosts,
                        const std::string& job, std::uint64_t dropped) {
    DurableFile file = DurableFile::create(path);
    TextOut f(file);
    const std::vector<std::string> host = lines_of(hosts);
    f.printf(
        "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"job\":\"%s\",\"ranks\":%d,\"threads\":%d,"
        "\"dropped_events\":%llu},\n\"traceEvents\":[\n",
        json_escaped(job).c_str(), ranks, threads, static_cast<unsigned long long>(dropped));
    bool first = true;
    const auto sep = [&] {
        if (!first) f.puts(",\n");
        first = false;
    };
    for (int r = 0; r < ranks; ++r) {
        const auto ur = static_cast<std::size_t>(r);
        const std::string name =
            "rank " + std::to_string(r) + (ur < host.size() ? " (" + host[ur] + ")" : std::string());
        sep();
        f.printf(R"({"name":"process_name","ph":"M","pid":%d,"args":{"name":"%s"}})", r, json_escaped(name).c_str());
        sep();
        f.printf(R"({"name":"process_sort_index","ph":"M","pid":%d,"args":{"sort_index":%d}})", r, r);
        for (int t = 0; t <= threads; ++t) {
            const std::string thread = t < threads ? "thread " + std::to_string(t)
                                                   : (r == 0 ? std::string("scheduler") : std::string("helper"));
            sep();
            f.printf(R"({"name":"thread_name","ph":"M","pid":%d,"tid":%d,"args":{"name":"%s"}})", r, t, thread.c_str());
        }
        const auto& bytes = all_chunks[ur];
        std::vector<ChunkEvent> events(bytes.size() / sizeof(ChunkEvent));
        std::memcpy(events.data(), bytes.data(), events.size() * sizeof(ChunkEvent));
        for (const ChunkEvent& e : events) {
            sep();
            f.printf(R"J({"name":"[%llu, %llu)","cat":"chunk","ph":"X","ts":%.3f,"dur":%.3f,"pid":%d,)J"
                     R"J("tid":%d,"args":{"phase":%d,"begin":%llu,"end":%llu,"items":%llu}})J",
                     static_cast<unsigned long long>(e.begin), static_cast<unsigned long long>(e.end), e.start_s * 1e6,
                     (e.stop_s - e.start_s) * 1e6, r, e.thread, e.phase, static_cast<unsigned long long>(e.begin),
                     static_cast<unsigned long long>(e.end), static_cast<unsigned long long>(e.end - e.begin));
        }
        std::vector<InstantEvent> instants;
        InArchive in(all_instants[ur]);
        in(instants);
        for (const InstantEvent& e : instants) {
            sep();
            f.printf(R"({"name":"%s","cat":"event","ph":"i","s":"p","ts":%.3f,"pid":%d,"tid":%d,)"
                     R"("args":{"detail":"%s"}})",
                     json_escaped(e.name).c_str(), e.at_s * 1e6, r, e.thread, json_escaped(e.detail).c_str());
        }
    }
    f.puts("\n]}\n");
    f.flush();
    file.commit();
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
        try {
            write_chrome_trace(path, comm.size(), trace.threads(), all_chunks, all_instants, hosts, job, dropped);
        } catch (const Error& e) {
            throw Error(e.code(), std::string("trace file: ") + e.what());
        }
    });
}

}  // namespace pel::exec
