// exec/checkpoint.cpp: checkpoints as bytes: rank 0's run point, and every rank's finished items and rows.
#include "exec/checkpoint.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
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
/// Version 2: a rank's record holds where its rows are in its bulk, not the rows. Run record version 2: per column,
/// the last finished phase that wrote it (for the rows skipped items left without a value), not only whether one did.
constexpr std::uint32_t kMetaVersion = 2;
constexpr std::uint32_t kRankVersion = 2;

std::string hex(std::uint64_t v) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
    return text;
}

/// Where a row block is: its rows, and the size of their bytes in the bulk.
struct BlockPlace {
    std::uint64_t first = 0;
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
};

void save_places(OutArchive& out, const std::vector<io::RowBlock>& blocks) {
    out(static_cast<std::uint64_t>(blocks.size()));
    for (const auto& b : blocks) out(b.first)(b.count)(static_cast<std::uint64_t>(b.bytes.size()));
}

/// A rank's record (its done items, and where its partial and rows sit in its bulk) and its bulk: the partial,
/// then per column the rows of the phase in progress and those of the last finished phase. The bulk points into
/// `p`, which must outlive it.
std::vector<std::byte> save_rank(const RankProgress& p, std::vector<std::span<const std::byte>>& bulk) {
    OutArchive out;
    out(kRankMagic)(kRankVersion)(p.done)(static_cast<std::uint64_t>(p.partial.size()))(
        static_cast<std::uint64_t>(p.columns.size()));
    bulk.emplace_back(p.partial);
    for (const auto& c : p.columns) {
        out(static_cast<std::uint8_t>(c.wrote ? 1 : 0));
        save_places(out, c.current);
        save_places(out, c.finished);
        for (const auto& b : c.current) bulk.emplace_back(b.bytes);
        for (const auto& b : c.finished) bulk.emplace_back(b.bytes);
    }
    return out.take();
}

/// A writing rank's record, read back.
struct RankRecord {
    struct Column {
        bool wrote = false;
        std::vector<BlockPlace> current;
        std::vector<BlockPlace> finished;
    };
    std::vector<ItemRange> done;
    std::uint64_t partial_bytes = 0;
    std::vector<Column> columns;
    std::uint64_t row_bytes = 0;  ///< of all its blocks
};

void load_places(InArchive& in, std::vector<BlockPlace>& places, std::uint64_t& row_bytes) {
    std::uint64_t n = 0;
    in(n);
    if (n > in.remaining()) throw Error::Io("saved state is corrupt: " + std::to_string(n) + " row blocks");
    for (std::uint64_t i = 0; i < n; ++i) {
        BlockPlace& b = places.emplace_back();
        in(b.first)(b.count)(b.bytes);
        if (b.count == 0 ? b.bytes != 0 : b.bytes % b.count != 0) {
            throw Error::Io("a row block holds " + std::to_string(b.bytes) + " bytes for " + std::to_string(b.count) +
                            " rows");
        }
        row_bytes += b.bytes;
    }
}

/// Reads the record `bytes` of a rank whose bulk holds `bulk_bytes`, for a job of `columns` item outputs.
RankRecord load_rank(std::span<const std::byte> bytes, std::size_t columns, std::uint64_t bulk_bytes) {
    InArchive in(bytes);
    std::uint32_t magic = 0, version = 0;
    in(magic)(version);
    if (magic != kRankMagic || version != kRankVersion) throw Error::Io("not a pel rank record of version 2");
    RankRecord r;
    std::uint64_t n = 0;
    in(r.done)(r.partial_bytes)(n);
    if (n != columns) {
        throw Error::Io("it has " + std::to_string(n) + " item outputs, the job declares " + std::to_string(columns));
    }
    r.columns.resize(columns);
    for (auto& c : r.columns) {
        std::uint8_t wrote = 0;
        in(wrote);
        c.wrote = wrote != 0;
        load_places(in, c.current, r.row_bytes);
        load_places(in, c.finished, r.row_bytes);
    }
    if (!in.at_end()) throw Error::Io("a rank record has trailing bytes");
    if (r.partial_bytes + r.row_bytes != bulk_bytes) throw Error::Io("a rank record does not match its bulk");
    return r;
}

/// This rank's share of the checkpoint of `index`, whose records are `records`, read with `reader`: the done items
/// and partials of the writing ranks w with w % ranks == rank, and of all rows (every writing rank's, in rank order,
/// as one run of bytes) those whose first byte falls in this rank's near-equal part of the run.
void read_share(const io::CheckpointIndex& index, const std::vector<RankRecord>& records, io::CheckpointReader& reader,
                std::uint64_t rank, std::uint64_t ranks, Resumed& r) {
    std::uint64_t all_rows = 0;
    for (const RankRecord& w : records) all_rows += w.row_bytes;
    const std::uint64_t lo = block_start(rank, all_rows, ranks);
    const std::uint64_t hi = block_start(rank + 1, all_rows, ranks);
    std::uint64_t run = 0;  // where the writing rank's rows start in the run of all rows
    for (std::size_t w = 0; w < records.size(); ++w) {
        const RankRecord& record = records[w];
        if (w % ranks == rank) {
            r.mine.done.insert(r.mine.done.end(), record.done.begin(), record.done.end());
            if (record.partial_bytes > 0) reader.read(w, 0, r.partials.emplace_back(record.partial_bytes));
            for (std::size_t c = 0; c < record.columns.size(); ++c) {
                r.mine.columns[c].wrote = r.mine.columns[c].wrote || record.columns[c].wrote;
            }
        }
        std::uint64_t at = record.partial_bytes;  // in the writing rank's bulk
        for (std::size_t c = 0; c < record.columns.size(); ++c) {
            for (const bool current : {true, false}) {
                for (const BlockPlace& place : current ? record.columns[c].current : record.columns[c].finished) {
                    const std::uint64_t start = run + at - record.partial_bytes;  // in the run of all rows
                    at += place.bytes;
                    if (place.count == 0 || start >= hi || start + place.bytes <= lo) continue;
                    const std::uint64_t row = place.bytes / place.count;
                    const auto first_at_or_after = [&](std::uint64_t byte) {
                        return byte <= start ? 0 : std::min(place.count, (byte - start + row - 1) / row);
                    };
                    const std::uint64_t from = first_at_or_after(lo), to = first_at_or_after(hi);
                    if (to <= from) continue;
                    auto& into = current ? r.mine.columns[c].current : r.mine.columns[c].finished;
                    io::RowBlock& block = into.emplace_back();
                    block.first = place.first + from;
                    block.count = to - from;
                    block.bytes.resize(block.count * row);
                    reader.read(w, at - place.bytes + from * row, block.bytes);
                }
            }
        }
        run += record.row_bytes;
    }
    r.bytes_read = reader.bytes_read();
    for (const std::uint64_t size : index.bulk_sizes) r.bytes_stored += size;
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

/// The items of [0, items) not in `done` (sorted, merged).
std::vector<ItemRange> complement(const std::vector<ItemRange>& done, std::uint64_t items) {
    std::vector<ItemRange> todo;
    std::uint64_t next = 0;
    for (const ItemRange& d : done) {
        if (d.begin > next) todo.push_back({next, d.begin});
        next = std::max(next, d.end);
    }
    if (next < items) todo.push_back({next, items});
    return todo;
}

std::uint64_t count(const std::vector<ItemRange>& ranges) {
    std::uint64_t n = 0;
    for (const ItemRange& r : ranges) n += r.size();
    return n;
}

/// Every rank's done ranges, merged, on rank 0 (empty elsewhere). \note collective
std::vector<ItemRange> gather_done(const mpi::Comm& comm, const std::vector<ItemRange>& mine) {
    OutArchive out;
    out(mine);
    const auto all = comm.gather_bytes(out.bytes(), 0);
    std::vector<ItemRange> done;
    for (const auto& bytes : all) {
        std::vector<ItemRange> theirs;
        InArchive in(bytes);
        in(theirs);
        done.insert(done.end(), theirs.begin(), theirs.end());
    }
    return merged(std::move(done));
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
        out(kMetaMagic)(kMetaVersion)(point.phase)(point.job_state)(point.written_in)(point.skipped);
        meta = out.take();
    }
    io::CheckpointPart part;
    const std::vector<std::byte> record = save_rank(mine, part.bulk);
    part.record = record;
    const auto path =
        io::write_checkpoint(comm_, settings_.dir, sequence_, attributes, meta, part, std::max(settings_.keep, 1));
    ++sequence_;
    last_cost_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char line[200];
    std::snprintf(line, sizeof line, "checkpoint %s written in %.3f s (phase %llu, %llu items done)",
                  path.string().c_str(), last_cost_s_, static_cast<unsigned long long>(point.phase),
                  static_cast<unsigned long long>(done_items));
    if (comm_.rank() == 0) log_.info(line);
}

std::string Checkpointer::refusal(const io::CheckpointIndex& index) const {
    const auto attr = [&](const std::string& key) {
        const auto it = index.attributes.find(key);
        return it == index.attributes.end() ? std::string() : it->second;
    };
    const std::string where = "checkpoint '" + index.path.string() + "'";
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
    if (differs.empty()) return {};
    if (!settings_.force) {
        throw Error::Usage(where + " was written with " + differs +
                           "; rerun with the same options, or --force-resume to use it anyway");
    }
    return where + " was written with " + differs + "; resuming anyway (--force-resume)";
}

std::optional<Resumed> Checkpointer::resume(std::size_t columns) {
    // Rank 0 lists the checkpoints (and numbers the next one after every file there).
    std::vector<std::filesystem::path> candidates;
    mpi::agree(comm_, [&] {
        if (comm_.rank() != 0) return;
        candidates = io::list_checkpoints(settings_.dir);
        for (const auto& path : candidates) {
            sequence_ = std::max<std::uint64_t>(sequence_, io::checkpoint_sequence(path).value_or(0) + 1);
        }
    });
    std::vector<std::byte> seq(sizeof sequence_);
    std::memcpy(seq.data(), &sequence_, sizeof sequence_);
    comm_.bcast_bytes(seq, 0);
    std::memcpy(&sequence_, seq.data(), sizeof sequence_);
    if (!settings_.resume && !settings_.auto_resume) return std::nullopt;

    std::size_t next = 0;  // on rank 0: the next candidate to try
    std::size_t damaged = 0;
    while (true) {
        // Rank 0 picks the newest checkpoint whose small parts check out, and sends them to every rank.
        std::vector<std::byte> chosen;
        mpi::agree(comm_, [&] {
            if (comm_.rank() != 0) return;
            for (; next < candidates.size() && chosen.empty(); ++next) {
                io::CheckpointIndex index;
                try {
                    index = io::read_checkpoint_index(candidates[next]);
                } catch (const Error& e) {
                    log_.warn(std::string(e.what()) + "; trying an older checkpoint");
                    ++damaged;
                    continue;
                }
                if (const std::string warning = refusal(index); !warning.empty()) log_.warn(warning);
                chosen = index.to_bytes();
            }
            if (!chosen.empty()) return;
            if (settings_.resume) {
                throw Error::Io("--resume: no valid checkpoint in '" + settings_.dir + "'" +
                                (damaged == 0 ? "" : " (" + std::to_string(damaged) + " damaged)") +
                                "; run without --resume to start afresh");
            }
            log_.info("no checkpoint in '" + settings_.dir + "': starting afresh");
        });
        comm_.bcast_bytes(chosen, 0);
        if (chosen.empty()) return std::nullopt;

        const io::CheckpointIndex index = io::CheckpointIndex::from_bytes(chosen);
        chosen = {};
        const std::string path = index.path.string();
        Resumed r;
        r.path = path;
        r.sequence = index.sequence;
        // Its records were checked: one that does not fit this job makes the checkpoint unusable, not damaged.
        const std::vector<RankRecord> records = mpi::agree(comm_, [&] {
            try {
                InArchive in(index.meta);
                std::uint32_t magic = 0, version = 0;
                in(magic)(version);
                if (magic != kMetaMagic || version != kMetaVersion)
                    throw Error::Io("not a pel run record of version " + std::to_string(kMetaVersion));
                in(r.point.phase)(r.point.job_state)(r.point.written_in)(r.point.skipped);
                if (r.point.written_in.size() != columns) throw Error::Io("its item outputs differ from the job's");
                std::vector<RankRecord> all;
                std::vector<ItemRange> done;
                for (std::size_t w = 0; w < index.records.size(); ++w) {
                    all.push_back(load_rank(index.records[w], columns, index.bulk_sizes[w]));
                    done.insert(done.end(), all.back().done.begin(), all.back().done.end());
                }
                r.done_all = merged(std::move(done));
                return all;
            } catch (const Error& e) {
                throw Error::Io("checkpoint '" + path + "' cannot be used: " + e.what());
            }
        });

        // Each rank reads its share; a segment that does not check out on any rank sends all to an older one.
        std::optional<Error> damage;
        try {
            io::CheckpointReader reader(index);
            r.mine.columns.resize(columns);
            read_share(index, records, reader, static_cast<std::uint64_t>(comm_.rank()),
                       static_cast<std::uint64_t>(comm_.size()), r);
            r.mine.done = merged(std::move(r.mine.done));
        } catch (const Error& e) {
            damage = e;
        }
        try {
            mpi::agree_on_outcome(comm_, damage);
        } catch (const mpi::AgreedError& e) {
            if (comm_.rank() == 0)
                log_.warn(std::string(e.what()) + " (found by rank " + std::to_string(e.origin()) +
                          "); trying an older checkpoint");
            ++damaged;
            continue;
        }
        return r;
    }
}

void Checkpointer::remove_all() {
    mpi::agree(comm_, [&] {
        if (comm_.rank() == 0) io::remove_checkpoints(settings_.dir);
    });
}

}  // namespace pel::exec
