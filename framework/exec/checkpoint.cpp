// exec/checkpoint.cpp: checkpoints as bytes: rank 0's run point, and every rank's finished items and rows.
#include "exec/checkpoint.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "io/checkpoint_dir.hpp"
#include "io/checksum.hpp"
#include "pel/archive.hpp"
#include "pel/error.hpp"

namespace pel::exec {

namespace {

constexpr std::uint32_t kMetaMagic = 0x4d4c4550;  // "PELM"
constexpr std::uint32_t kRankMagic = 0x524c4550;  // "PELR"
constexpr std::uint32_t kVersion = 1;

std::string hex(std::uint64_t v) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
    return text;
}

void save_blocks(OutArchive& out, const std::vector<io::RowBlock>& blocks) {
    out(static_cast<std::uint64_t>(blocks.size()));
    for (const auto& b : blocks) out(b.first)(b.count)(b.bytes);
}

void load_blocks(InArchive& in, std::vector<io::RowBlock>& blocks) {
    std::uint64_t n = 0;
    in(n);
    if (n > in.remaining()) throw Error::Io("saved state is corrupt: " + std::to_string(n) + " row blocks");
    for (std::uint64_t i = 0; i < n; ++i) {
        io::RowBlock& b = blocks.emplace_back();
        in(b.first)(b.count)(b.bytes);
    }
}

std::vector<std::byte> save_rank(const RankProgress& p) {
    OutArchive out;
    out(kRankMagic)(kVersion)(p.done)(p.partial)(static_cast<std::uint64_t>(p.columns.size()));
    for (const auto& c : p.columns) {
        out(static_cast<std::uint8_t>(c.wrote ? 1 : 0));
        save_blocks(out, c.current);
        save_blocks(out, c.finished);
    }
    return out.take();
}

/// Adds the progress saved in `bytes` to `into` (columns matched by position); returns the saved partial.
std::vector<std::byte> load_rank(std::span<const std::byte> bytes, std::size_t columns, RankProgress& into) {
    InArchive in(bytes);
    std::uint32_t magic = 0, version = 0;
    in(magic)(version);
    if (magic != kRankMagic || version != kVersion) throw Error::Io("not a pel rank record of version 1");
    std::vector<ItemRange> done;
    std::vector<std::byte> partial;
    std::uint64_t n = 0;
    in(done)(partial)(n);
    if (n != columns) {
        throw Error::Io("it has " + std::to_string(n) + " item outputs, the job declares " + std::to_string(columns));
    }
    into.done.insert(into.done.end(), done.begin(), done.end());
    into.columns.resize(columns);
    for (auto& c : into.columns) {
        std::uint8_t wrote = 0;
        in(wrote);
        c.wrote = c.wrote || wrote != 0;
        load_blocks(in, c.current);
        load_blocks(in, c.finished);
    }
    if (!in.at_end()) throw Error::Io("a rank record has trailing bytes");
    return partial;
}

}  // namespace

std::vector<ItemRange> merged(std::vector<ItemRange> ranges) {
    std::erase_if(ranges, [](const ItemRange& r) { return r.empty(); });
    std::sort(ranges.begin(), ranges.end(), [](const ItemRange& a, const ItemRange& b) { return a.begin < b.begin; });
    std::vector<ItemRange> out;
    for (const ItemRange& r : ranges) {
        if (!out.empty() && r.begin <= out.back().end) {
            out.back().end = std::max(out.back().end, r.end);
        } else {
            out.push_back(r);
        }
    }
    return out;
}

Checkpointer::Checkpointer(const mpi::Comm& comm, CheckpointSettings settings, Identity identity, const Log& log)
    : comm_(comm), settings_(std::move(settings)), identity_(std::move(identity)), log_(log) {}

void Checkpointer::write(const RunPoint& point, const RankProgress& mine, std::uint64_t done_items) {
    const auto t0 = std::chrono::steady_clock::now();
    std::map<std::string, std::string> attributes;
    std::vector<std::byte> meta;
    if (comm_.rank() == 0) {
        attributes = {{"job", identity_.job},
                      {"job_version", identity_.job_version},
                      {"options", identity_.options},
                      {"options_hash", hex(io::checksum(std::as_bytes(std::span(identity_.options))))},
                      {"phase", std::to_string(point.phase)},
                      {"done_items", std::to_string(done_items)},
                      {"ranks", std::to_string(comm_.size())},
                      {"created", exec::utc_now()}};
        OutArchive out;
        out(kMetaMagic)(kVersion)(point.phase)(point.job_state)(point.finished_cols)(point.skipped);
        meta = out.take();
    }
    const std::vector<std::byte> blob = save_rank(mine);
    const auto path =
        io::write_checkpoint(comm_, settings_.dir, sequence_, attributes, meta, blob, std::max(settings_.keep, 1));
    ++sequence_;
    last_cost_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char line[200];
    std::snprintf(line, sizeof line, "checkpoint %s written in %.3f s (phase %llu, %llu items done)",
                  path.string().c_str(), last_cost_s_, static_cast<unsigned long long>(point.phase),
                  static_cast<unsigned long long>(done_items));
    if (comm_.rank() == 0) log_.info(line);
}

std::optional<Resumed> Checkpointer::resume(std::size_t columns) {
    // Rank 0 picks the checkpoint (and numbers the next one after every file there); the others read the same file.
    std::vector<std::byte> chosen;
    mpi::agree(comm_, [&] {
        if (comm_.rank() != 0) return;
        const auto existing = io::list_checkpoints(settings_.dir);
        for (const auto& path : existing) {
            sequence_ = std::max<std::uint64_t>(sequence_, io::checkpoint_sequence(path).value_or(0) + 1);
        }
        if (!settings_.resume && !settings_.auto_resume) return;
        std::vector<std::string> warnings;
        const auto found = io::read_newest_checkpoint(settings_.dir, warnings);
        for (const auto& w : warnings) log_.warn(w + "; trying an older checkpoint");
        if (!found) {
            if (settings_.resume) {
                throw Error::Io("--resume: no valid checkpoint in '" + settings_.dir + "'" +
                                (warnings.empty() ? "" : " (" + std::to_string(warnings.size()) + " damaged)") +
                                "; run without --resume to start afresh");
            }
            log_.info("no checkpoint in '" + settings_.dir + "': starting afresh");
            return;
        }
        const auto attr = [&](const std::string& key) {
            const auto it = found->attributes.find(key);
            return it == found->attributes.end() ? std::string() : it->second;
        };
        const std::string where = "checkpoint '" + found->path.string() + "'";
        if (attr("job") != identity_.job) {
            throw Error::Usage(where + " is from job '" + attr("job") + "', not '" + identity_.job + "'");
        }
        std::string differs;
        if (attr("job_version") != identity_.job_version) {
            differs = "job version " + attr("job_version") + " (this run: " + identity_.job_version + ")";
        } else if (attr("options") != identity_.options) {
            differs = "other options";
            const auto lines = [](const std::string& text) {
                std::vector<std::string> out;
                std::size_t start = 0;
                while (start < text.size()) {
                    const std::size_t end = std::min(text.find('\n', start), text.size());
                    out.push_back(text.substr(start, end - start));
                    start = end + 1;
                }
                return out;
            };
            const auto saved = lines(attr("options")), now = lines(identity_.options);
            for (const auto& l : saved) {
                if (std::find(now.begin(), now.end(), l) == now.end()) {
                    differs += " (it has " + l + ")";
                    break;
                }
            }
        }
        if (!differs.empty()) {
            if (!settings_.force) {
                throw Error::Usage(where + " was written with " + differs +
                                   "; rerun with the same options, or --force-resume to use it anyway");
            }
            log_.warn(where + " was written with " + differs + "; resuming anyway (--force-resume)");
        }
        const std::string path = found->path.string();
        chosen.assign(reinterpret_cast<const std::byte*>(path.data()),
                      reinterpret_cast<const std::byte*>(path.data()) + path.size());
    });
    comm_.bcast_bytes(chosen, 0);
    std::vector<std::byte> seq(sizeof sequence_);
    std::memcpy(seq.data(), &sequence_, sizeof sequence_);
    comm_.bcast_bytes(seq, 0);
    std::memcpy(&sequence_, seq.data(), sizeof sequence_);
    if (chosen.empty()) return std::nullopt;

    const std::string path(reinterpret_cast<const char*>(chosen.data()), chosen.size());
    return mpi::agree(comm_, [&] {
        const io::CheckpointData data = io::read_checkpoint(path);
        Resumed r;
        r.path = path;
        r.sequence = data.sequence;
        try {
            InArchive in(data.meta);
            std::uint32_t magic = 0, version = 0;
            in(magic)(version);
            if (magic != kMetaMagic || version != kVersion) throw Error::Io("not a pel run record of version 1");
            in(r.point.phase)(r.point.job_state)(r.point.finished_cols)(r.point.skipped);
            if (r.point.finished_cols.size() != columns) throw Error::Io("its item outputs differ from the job's");
            std::vector<ItemRange> all;
            for (std::size_t b = 0; b < data.blobs.size(); ++b) {
                RankProgress scratch;
                const bool ours = b % static_cast<std::size_t>(comm_.size()) == static_cast<std::size_t>(comm_.rank());
                auto partial = load_rank(data.blobs[b], columns, ours ? r.mine : scratch);
                if (ours && !partial.empty()) r.partials.push_back(std::move(partial));
                const auto& done = ours ? r.mine.done : scratch.done;
                all.insert(all.end(), done.begin(), done.end());
            }
            r.mine.done = merged(std::move(r.mine.done));
            r.done_all = merged(std::move(all));
            r.mine.columns.resize(columns);
        } catch (const Error& e) {
            throw Error::Io("checkpoint '" + path + "' cannot be used: " + e.what());
        }
        return r;
    });
}

void Checkpointer::remove_all() {
    mpi::agree(comm_, [&] {
        if (comm_.rank() == 0) io::remove_checkpoints(settings_.dir);
    });
}

}  // namespace pel::exec
