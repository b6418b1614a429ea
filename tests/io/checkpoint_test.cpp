// tests/io/checkpoint_test.cpp: the checkpoint store under MPI: round trips with records and bulks of every size,
// ranges of the bulk read segment by segment, pruning, and damaged or unwritable files: a truncated or bit-flipped
// checkpoint is named and skipped, a flipped bulk byte is found by the read that touches its segment, a failed write
// throws the same error on every rank and leaves earlier checkpoints as they were; a link at the temporary's name is
// never followed; the stored checksums of a fixed checkpoint are pinned.
#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <hdf5.h>
#include <iterator>
#include <map>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

#include "io/arrays.hpp"
#include "io/checkpoint_dir.hpp"
#include "support/scratch.hpp"

namespace fs = std::filesystem;
using pel::io::CheckpointData;

namespace {

const std::string kMarker = "PEL-CHECKPOINT-TEST-MARKER";

std::vector<std::byte> pattern(std::size_t size, unsigned salt) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>((i * 131 + std::size_t{salt} * 29 + 7) & 0xff);
    return bytes;
}

/// `bytes` with kMarker written at `at`, so a test can find this spot in the file.
std::vector<std::byte> with_marker(std::vector<std::byte> bytes, std::size_t at) {
    for (std::size_t i = 0; i < kMarker.size(); ++i) bytes[at + i] = static_cast<std::byte>(kMarker[i]);
    return bytes;
}

/// Rank r's blob: sizes differ per rank, and rank 0's is empty when there are several ranks.
std::vector<std::byte> blob_of(int rank, int ranks, unsigned salt) {
    const std::size_t size = rank == 0 && ranks > 1 ? 0 : 5000 + 7919 * static_cast<std::size_t>(rank);
    return pattern(size, salt + static_cast<unsigned>(rank));
}

/// Rank r's record beside a bulk of `blob`: small, and never empty.
std::vector<std::byte> record_of(int rank, unsigned salt) {
    return pattern(40 + 3 * static_cast<std::size_t>(rank), salt * 7 + static_cast<unsigned>(rank));
}

/// `blob` as a bulk of three spans (one of them empty), so the writer joins spans.
std::vector<std::span<const std::byte>> spans_of(const std::vector<std::byte>& blob) {
    const std::span<const std::byte> all(blob);
    const std::size_t a = blob.size() / 3, b = blob.size() / 2;
    return {all.first(a), all.subspan(a, 0), all.subspan(a, b - a), all.subspan(b)};
}

/// A part with `record` and `blob` as its bulk.
pel::io::CheckpointPart part_of(const std::vector<std::byte>& record, const std::vector<std::byte>& blob) {
    return {record, spans_of(blob)};
}

/// The newest checkpoint in `dir` that reads back whole, with a warning per damaged newer one.
std::optional<CheckpointData> newest_valid(const fs::path& dir, std::vector<std::string>& warnings) {
    for (const fs::path& path : pel::io::list_checkpoints(dir)) {
        try {
            return pel::io::read_checkpoint(path);
        } catch (const pel::Error& e) {
            warnings.push_back(std::string(e.what()) + "; skipped");
        }
    }
    return std::nullopt;
}

/// Rank 0's `value`, on every rank. \note collective
bool from_root(const pel::mpi::Comm& comm, bool value) {
    std::vector<std::byte> b{static_cast<std::byte>(value ? 1 : 0)};
    comm.bcast_bytes(b, 0);
    return b.at(0) == std::byte{1};
}

/// Rank 0's `text`, on every rank. \note collective
std::string text_from_root(const pel::mpi::Comm& comm, const std::string& text) {
    std::vector<std::byte> b;
    for (char c : text) b.push_back(static_cast<std::byte>(c));
    comm.bcast_bytes(b, 0);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// Flips one bit of the byte just after the first kMarker in `file`. False if the marker is not there.
bool flip_after_marker(const fs::path& file) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto at = std::search(bytes.begin(), bytes.end(), kMarker.begin(), kMarker.end());
    if (at == bytes.end()) return false;
    const auto offset = (at - bytes.begin()) + static_cast<std::ptrdiff_t>(kMarker.size()) / 2;
    const char flipped = static_cast<char>(bytes[static_cast<std::size_t>(offset)] ^ 0x04);
    f.clear();
    f.seekp(offset);
    f.write(&flipped, 1);
    return static_cast<bool>(f);
}

/// Replaces text attribute `name` of `file` with `value`, behind pel's back (serial HDF5). False on failure.
bool rewrite_attribute(const fs::path& file, const char* name, const std::string& value) {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return false;
    bool ok = H5Adelete(f, name) >= 0;
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, value.size());
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attr = H5Acreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    ok = ok && attr >= 0 && H5Awrite(attr, type, value.data()) >= 0;
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    return H5Fclose(f) >= 0 && ok;
}

/// Runs `write` expecting every rank to throw; returns this rank's message (empty if it did not throw) and checks
/// the error is an I/O error with the same text on every rank. \note collective
template <class Write>
std::string expect_io_error_everywhere(const pel::mpi::Comm& comm, Write&& write) {
    std::string message;
    try {
        write();
        FAIL_CHECK("no error on rank " << comm.rank());
    } catch (const pel::Error& e) {
        CHECK(e.code() == pel::ExitCode::io);
        message = e.what();
    }
    CHECK(text_from_root(comm, message) == message);
    return message;
}

void check_same(const CheckpointData& a, const CheckpointData& b) {
    CHECK(a.index.sequence == b.index.sequence);
    CHECK(a.index.attributes == b.index.attributes);
    CHECK(a.index.meta == b.index.meta);
    CHECK(a.index.records == b.index.records);
    CHECK(a.bulks == b.bulks);
}

}  // namespace

TEST_CASE("a checkpoint round-trips rank 0's attributes and meta and every rank's record and bulk",
          "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    const fs::path dir = fs::path(scratch.path()) / "new" / "ckpts";  // made by write_checkpoint
    const std::map<std::string, std::string> attributes{{"job", "synthetic"},
                                                        {"job_version", "2"},
                                                        {"options_hash", "9f86d081884c7d65"},
                                                        {"empty", ""},
                                                        {"text", "h\xc3\xa9llo \"w\"\nline 2"},
                                                        {"binary", std::string("a\0b\0", 4)}};
    // Other ranks pass other attributes and meta: only rank 0's are stored.
    const auto mine_attributes = comm.rank() == 0 ? attributes : std::map<std::string, std::string>{{"ignored", "yes"}};
    const auto meta = pattern(3000 + static_cast<std::size_t>(comm.rank()), 99);
    const auto blob = blob_of(comm.rank(), comm.size(), 1);

    const auto record = record_of(comm.rank(), 1);
    const fs::path path = pel::io::write_checkpoint(comm, dir, 7, mine_attributes, meta, part_of(record, blob), 3);
    CHECK(path == dir / "ckpt-00000007.h5");
    CHECK(fs::exists(path));
    CHECK_FALSE(fs::exists(dir / "ckpt-00000007.h5.part"));
    CHECK(pel::io::list_checkpoints(dir) == std::vector<fs::path>{path});

    const CheckpointData data = pel::io::read_checkpoint(path);
    CHECK(data.index.path == path);
    CHECK(data.index.sequence == 7);
    CHECK(data.index.attributes == attributes);
    CHECK(data.index.meta == pattern(3000, 99));
    REQUIRE(data.bulks.size() == static_cast<std::size_t>(comm.size()));
    REQUIRE(data.index.records.size() == static_cast<std::size_t>(comm.size()));
    for (int r = 0; r < comm.size(); ++r) {
        CHECK(data.bulks[static_cast<std::size_t>(r)] == blob_of(r, comm.size(), 1));
        CHECK(data.index.records[static_cast<std::size_t>(r)] == record_of(r, 1));
    }
    // The index travels as bytes to the other ranks of a resume.
    const auto copy = pel::io::CheckpointIndex::from_bytes(data.index.to_bytes());
    CHECK(copy.path == path);
    CHECK(copy.attributes == attributes);
    CHECK(copy.records == data.index.records);
    CHECK(copy.segment_sums == data.index.segment_sums);
    comm.barrier();
}

TEST_CASE("empty meta and blobs, and blobs written in many pieces, round-trip", "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    const fs::path dir = scratch.path();

    const fs::path empty = pel::io::write_checkpoint(comm, dir, 1, {}, {}, {}, 0);
    const CheckpointData none = pel::io::read_checkpoint(empty);
    CHECK(none.index.attributes.empty());
    CHECK(none.index.meta.empty());
    REQUIRE(none.bulks.size() == static_cast<std::size_t>(comm.size()));
    for (const auto& b : none.bulks) CHECK(b.empty());
    for (const auto& r : none.index.records) CHECK(r.empty());

    // 1000-byte pieces and 700-byte segments: ranks need different numbers of rounds, and some none at all.
    const auto blob_size = [](int r) {
        return 2500 * static_cast<std::size_t>(r) + 17 * static_cast<std::size_t>(r % 2);
    };
    const auto meta = pattern(2222, 5);
    const auto blob = pattern(blob_size(comm.rank()), static_cast<unsigned>(comm.rank()));
    const auto record = pattern(blob_size(comm.rank()) / 2, 3);
    const fs::path pieces =
        pel::io::detail::write_checkpoint(comm, dir, 2, {{"k", "v"}}, meta, part_of(record, blob), 0, 1000, 700);
    const CheckpointData data = pel::io::read_checkpoint(pieces);
    CHECK(data.index.meta == meta);
    CHECK(data.index.segment_bytes == 700);
    REQUIRE(data.bulks.size() == static_cast<std::size_t>(comm.size()));
    for (int r = 0; r < comm.size(); ++r) {
        CHECK(data.bulks[static_cast<std::size_t>(r)] == pattern(blob_size(r), static_cast<unsigned>(r)));
        CHECK(data.index.records[static_cast<std::size_t>(r)] == pattern(blob_size(r) / 2, 3));
    }
    comm.barrier();
}

TEST_CASE("keep prunes to the newest checkpoints; listing ignores temporaries and other files", "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    const fs::path dir = scratch.path();
    if (comm.rank() == 0) {
        std::ofstream(dir / "notes.txt") << "not a checkpoint";
        std::ofstream(dir / "ckpt-abc.h5") << "not a checkpoint";
        std::ofstream(dir / "ckpt-00000099.h5.part") << "a crashed write";
    }
    comm.barrier();
    CHECK(pel::io::list_checkpoints(dir).empty());
    CHECK(pel::io::list_checkpoints(dir / "missing").empty());

    const auto blob = blob_of(comm.rank(), comm.size(), 3);
    for (std::uint64_t s = 1; s <= 5; ++s) pel::io::write_checkpoint(comm, dir, s, {}, {}, part_of({}, blob), 3);
    CHECK(pel::io::list_checkpoints(dir) ==
          std::vector<fs::path>{dir / "ckpt-00000005.h5", dir / "ckpt-00000004.h5", dir / "ckpt-00000003.h5"});
    CHECK(fs::exists(dir / "notes.txt"));
    CHECK(fs::exists(dir / "ckpt-abc.h5"));
    CHECK_FALSE(fs::exists(dir / "ckpt-00000099.h5.part"));  // a leftover of a crashed write is cleaned up

    // Past 8 digits names grow, and order is by number, not by name.
    pel::io::write_checkpoint(comm, dir, 123456789, {}, {}, part_of({}, blob), 2);
    CHECK(pel::io::list_checkpoints(dir) == std::vector<fs::path>{dir / "ckpt-123456789.h5", dir / "ckpt-00000005.h5"});
    CHECK(pel::io::read_checkpoint_index(dir / "ckpt-123456789.h5").sequence == 123456789);
    comm.barrier();
}

TEST_CASE("a truncated newest checkpoint is skipped with a warning naming it", "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    const fs::path dir = scratch.path();
    const auto blob = blob_of(comm.rank(), comm.size(), 4);
    pel::io::write_checkpoint(comm, dir, 1, {{"n", "1"}}, pattern(10, 1), part_of({}, blob), 5);
    const fs::path newest = pel::io::write_checkpoint(comm, dir, 2, {{"n", "2"}}, pattern(10, 2), part_of({}, blob), 5);
    if (comm.rank() == 0) fs::resize_file(newest, fs::file_size(newest) / 2);
    comm.barrier();

    CHECK_THROWS_WITH(pel::io::read_checkpoint_index(newest), Catch::Contains("ckpt-00000002.h5"));
    std::vector<std::string> warnings;
    const auto found = newest_valid(dir, warnings);
    REQUIRE(found);
    CHECK(found->index.sequence == 1);
    CHECK(found->index.attributes.at("n") == "1");
    CHECK(found->bulks.at(static_cast<std::size_t>(comm.rank())) == blob);
    REQUIRE(warnings.size() == 1);
    CHECK_THAT(warnings[0], Catch::Contains(newest.string()));
    comm.barrier();
}

TEST_CASE("a flipped byte in a bulk, a record, meta or an attribute fails its checksum", "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    const fs::path dir = scratch.path();
    const int last = comm.size() - 1;  // its blob is never empty
    const auto plain = blob_of(comm.rank(), comm.size(), 5);
    const auto marked = comm.rank() == last ? with_marker(plain, 1000) : plain;
    const auto record = record_of(comm.rank(), 5);
    const auto marked_record = comm.rank() == last ? with_marker(pattern(100, 1), 10) : record;
    const fs::path good = pel::io::write_checkpoint(comm, dir, 1, {{"job", "a"}}, {}, part_of(record, plain), 9);
    const fs::path bad_blob = pel::io::write_checkpoint(comm, dir, 2, {{"job", "a"}}, {}, part_of(record, marked), 9);
    CHECK(from_root(comm, comm.rank() != 0 || flip_after_marker(bad_blob)));

    // The index does not cover the bulk: the flip is found by the read of its segment.
    CHECK_NOTHROW(pel::io::read_checkpoint_index(bad_blob));
    CHECK_THROWS_WITH(
        pel::io::read_checkpoint(bad_blob),
        Catch::Contains("ckpt-00000002.h5") &&
            Catch::Contains("checksum mismatch in segment 0 of the bulk of rank " + std::to_string(last)));
    std::vector<std::string> warnings;
    auto found = newest_valid(dir, warnings);
    REQUIRE(found);
    CHECK(found->index.path == good);
    CHECK(found->bulks.at(static_cast<std::size_t>(comm.rank())) == plain);
    REQUIRE(warnings.size() == 1);
    CHECK_THAT(warnings[0], Catch::Contains(bad_blob.string()) && Catch::Contains("checksum mismatch"));

    const fs::path bad_record =
        pel::io::write_checkpoint(comm, dir, 3, {{"job", "a"}}, {}, part_of(marked_record, plain), 9);
    const fs::path bad_meta = pel::io::write_checkpoint(comm, dir, 4, {{"job", "a"}}, with_marker(pattern(100, 3), 10),
                                                        part_of({}, plain), 9);
    const fs::path bad_attribute = pel::io::write_checkpoint(comm, dir, 5, {{"job", "a"}}, {}, part_of({}, plain), 9);
    const fs::path bad_format = pel::io::write_checkpoint(comm, dir, 6, {{"job", "a"}}, {}, part_of({}, plain), 9);
    const fs::path old_format = pel::io::write_checkpoint(comm, dir, 7, {{"job", "a"}}, {}, part_of({}, plain), 9);
    CHECK(from_root(comm, comm.rank() != 0 || (flip_after_marker(bad_record) && flip_after_marker(bad_meta) &&
                                               rewrite_attribute(bad_attribute, "job", "b") &&
                                               rewrite_attribute(bad_format, "pel_checkpoint_format", "3") &&
                                               rewrite_attribute(old_format, "pel_checkpoint_format", "1"))));
    CHECK_THROWS_WITH(pel::io::read_checkpoint_index(bad_record),
                      Catch::Contains("checksum mismatch in the record of rank " + std::to_string(last)));
    CHECK_THROWS_WITH(pel::io::read_checkpoint_index(bad_meta), Catch::Contains("checksum mismatch in meta"));
    CHECK_THROWS_WITH(pel::io::read_checkpoint_index(bad_attribute),
                      Catch::Contains("checksum mismatch in the header"));
    CHECK_THROWS_WITH(pel::io::read_checkpoint_index(bad_format), Catch::Contains("unknown format version '3'"));
    CHECK_THROWS_WITH(pel::io::read_checkpoint_index(old_format),
                      Catch::Contains("format version '1', written by an older pel"));
    warnings.clear();
    found = newest_valid(dir, warnings);
    REQUIRE(found);
    CHECK(found->index.sequence == 1);
    CHECK(warnings.size() == 6);
    comm.barrier();
}

TEST_CASE("ranges of a bulk are read segment by segment; a damaged segment fails only the reads that touch it",
          "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    constexpr std::uint64_t segment = 1000;
    // Every rank's bulk: 10,500 bytes, with a marker in its segment 7 on the last rank.
    const auto plain = pattern(10500, static_cast<unsigned>(comm.rank()));
    const int last = comm.size() - 1;
    const auto bulk = comm.rank() == last ? with_marker(plain, 7100) : plain;
    const fs::path path =
        pel::io::detail::write_checkpoint(comm, scratch.path(), 1, {}, {}, part_of({}, bulk), 1, 4096, segment);
    const auto index = pel::io::read_checkpoint_index(path);
    REQUIRE(index.segment_sums.size() == 11 * static_cast<std::size_t>(comm.size()));

    {
        pel::io::CheckpointReader reader(index);  // closed before the flip: HDF5 shares a file opened twice, and caches
        for (int r = 0; r < comm.size(); ++r) {
            const auto expected = r == last ? with_marker(pattern(10500, static_cast<unsigned>(r)), 7100)
                                            : pattern(10500, static_cast<unsigned>(r));
            std::vector<std::byte> got(2500);
            reader.read(static_cast<std::size_t>(r), 1999, got);  // segments 1 to 4
            CHECK(std::equal(got.begin(), got.end(), expected.begin() + 1999));
            std::vector<std::byte> tail(500);
            reader.read(static_cast<std::size_t>(r), 10000, tail);  // the short last segment
            CHECK(std::equal(tail.begin(), tail.end(), expected.begin() + 10000));
        }
        // Whole segments are read, each once while the reads go forward: 4 + 1 per rank.
        CHECK(reader.bytes_read() == (4 * segment + 500) * static_cast<std::uint64_t>(comm.size()));
        std::vector<std::byte> past(2);
        CHECK_THROWS_WITH(reader.read(0, 10499, past), Catch::Contains("past the end"));
    }

    CHECK(from_root(comm, comm.rank() != 0 || flip_after_marker(path)));
    pel::io::CheckpointReader again(index);
    std::vector<std::byte> before(7000), inside(10);
    CHECK_NOTHROW(again.read(static_cast<std::size_t>(last), 0, before));
    CHECK_THROWS_WITH(
        again.read(static_cast<std::size_t>(last), 7990, inside),
        Catch::Contains(path.string()) &&
            Catch::Contains("checksum mismatch in segment 7 of the bulk of rank " + std::to_string(last)));
    // The damaged segment is not kept: reading it again fails again.
    CHECK_THROWS(again.read(static_cast<std::size_t>(last), 7000, inside));
    comm.barrier();
}

TEST_CASE("no valid checkpoint gives nothing, with a warning per damaged file", "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    const fs::path dir = scratch.path();
    std::vector<std::string> warnings;
    CHECK_FALSE(newest_valid(dir, warnings));
    CHECK_FALSE(newest_valid(dir / "missing", warnings));
    CHECK(warnings.empty());

    const auto blob = blob_of(comm.rank(), comm.size(), 6);
    const fs::path one = pel::io::write_checkpoint(comm, dir, 1, {}, {}, part_of({}, blob), 5);
    const fs::path two = pel::io::write_checkpoint(comm, dir, 2, {}, {}, part_of({}, blob), 5);
    if (comm.rank() == 0) {
        fs::resize_file(one, 1000);
        fs::resize_file(two, 0);
        std::ofstream(dir / "ckpt-00000003.h5") << "not HDF5 at all";
    }
    comm.barrier();
    CHECK_FALSE(newest_valid(dir, warnings));
    REQUIRE(warnings.size() == 3);
    CHECK_THAT(warnings[0], Catch::Contains("ckpt-00000003.h5"));
    CHECK_THAT(warnings[1], Catch::Contains(two.string()));
    CHECK_THAT(warnings[2], Catch::Contains(one.string()));
    comm.barrier();
}

TEST_CASE("reading a damaged checkpoint prints nothing from HDF5", "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    const auto blob = pattern(5000, 1);
    const fs::path path = pel::io::write_checkpoint(comm, scratch.path(), 1, {}, {}, part_of({}, blob), 1);
    if (comm.rank() == 0) {
        fs::resize_file(path, fs::file_size(path) - 100);
        // HDF5's own printing on, stderr into a file: read_checkpoint must keep both quiet.
        const fs::path captured = fs::path(scratch.path()) / "stderr.txt";
        std::fflush(stderr);
        const int saved = ::dup(STDERR_FILENO);
        REQUIRE(std::freopen(captured.c_str(), "w", stderr) != nullptr);
        H5Eset_auto2(H5E_DEFAULT, reinterpret_cast<H5E_auto2_t>(H5Eprint2), stderr);
        CHECK_THROWS_AS(pel::io::read_checkpoint(path), pel::Error);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        std::fflush(stderr);
        ::dup2(saved, STDERR_FILENO);
        ::close(saved);
        CHECK(fs::file_size(captured) == 0);
    }
    comm.barrier();
}

TEST_CASE("a failed write throws the same I/O error on every rank and leaves earlier checkpoints", "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    const fs::path dir = fs::path(scratch.path()) / "ckpts";
    const auto blob = blob_of(comm.rank(), comm.size(), 7);
    const fs::path first =
        pel::io::write_checkpoint(comm, dir, 1, {{"job", "x"}}, pattern(64, 1), part_of(record_of(0, 7), blob), 3);
    const CheckpointData before = pel::io::read_checkpoint(first);
    if (comm.rank() == 0) std::ofstream(fs::path(scratch.path()) / "plain") << "a regular file";
    comm.barrier();

    SECTION("a directory under a regular file") {
        const fs::path bad = fs::path(scratch.path()) / "plain" / "sub";
        const std::string message = expect_io_error_everywhere(
            comm, [&] { pel::io::write_checkpoint(comm, bad, 2, {}, {}, part_of({}, blob), 3); });
        CHECK_THAT(message, Catch::Contains(bad.string()));
    }
    SECTION("the temporary name is taken by a directory") {
        if (comm.rank() == 0) {
            fs::create_directories(dir / "ckpt-00000002.h5.part" / "inside");
        }
        comm.barrier();
        const std::string message = expect_io_error_everywhere(
            comm, [&] { pel::io::write_checkpoint(comm, dir, 2, {}, {}, part_of({}, blob), 1); });
        CHECK_THAT(message, Catch::Contains("ckpt-00000002.h5.part") && Catch::Contains("Is a directory"));
    }
    SECTION("a write that fails part way, on the last rank only") {
        // RLIMIT_FSIZE makes writes past 64 KiB fail (EFBIG) on that rank, as a full disk would. Not on rank 0:
        // it sets the file's length as HDF5 closes it, which a full disk allows but this limit does not.
        if (comm.size() == 1) return;
        const bool limited = comm.rank() == comm.size() - 1;
        rlimit old{};
        getrlimit(RLIMIT_FSIZE, &old);
        const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
        if (limited) {
            rlimit small = old;
            small.rlim_cur = 64 << 10;
            setrlimit(RLIMIT_FSIZE, &small);
        }
        const auto big = pattern(1 << 20, static_cast<unsigned>(comm.rank()));
        const std::string message = expect_io_error_everywhere(
            comm, [&] { pel::io::write_checkpoint(comm, dir, 2, {}, {}, part_of({}, big), 1); });
        if (limited) setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);
        CHECK_THAT(message, Catch::Contains("ckpt-00000002.h5.part") && Catch::Contains("bytes free in"));
        comm.barrier();
        CHECK_FALSE(fs::exists(dir / "ckpt-00000002.h5.part"));
    }
    comm.barrier();
    CHECK_FALSE(fs::exists(dir / "ckpt-00000002.h5"));
    CHECK(pel::io::list_checkpoints(dir) == std::vector<fs::path>{first});
    check_same(pel::io::read_checkpoint(first), before);
    comm.barrier();
}

TEST_CASE("reserved or empty attribute names are refused on every rank", "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    for (const char* name : {"sequence", "pel_checkpoint_format", ""}) {
        try {
            pel::io::write_checkpoint(comm, scratch.path(), 1, {{name, "x"}}, {}, {}, 1);
            FAIL_CHECK("no error");
        } catch (const pel::Error& e) {
            CHECK(e.code() == pel::ExitCode::internal);
        }
    }
    CHECK(pel::io::list_checkpoints(scratch.path()).empty());
    comm.barrier();
}

TEST_CASE("a link planted at a checkpoint's temporary name is never followed", "[io][checkpoint]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    const fs::path dir = scratch.path();
    const fs::path victim = dir / "victim.txt";
    if (comm.rank() == 0) {
        std::ofstream(victim) << "precious";
        fs::create_symlink(victim, dir / "ckpt-00000003.h5.part");
    }
    comm.barrier();
    const auto blob = blob_of(comm.rank(), comm.size(), 8);
    const fs::path path = pel::io::write_checkpoint(comm, dir, 3, {{"job", "x"}}, pattern(10, 1), part_of({}, blob), 2);
    std::ifstream in(victim);
    CHECK(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()) == "precious");
    CHECK_FALSE(fs::exists(fs::symlink_status(dir / "ckpt-00000003.h5.part")));
    CHECK(pel::io::read_checkpoint(path).bulks.at(static_cast<std::size_t>(comm.rank())) == blob);
    comm.barrier();
}

TEST_CASE("the stored checksums are pinned: checkpoints on disk stay readable", "[io][checkpoint]") {
    // Written by pel when its checkpoints took format 2 (a record and a bulk per rank): the same inputs must give the
    // same stored checksums, or files already on disk would read as damaged.
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir scratch(comm);
    const std::map<int, std::vector<std::uint64_t>> pinned{
        {1,
         {0x231AC78906D5F1DDULL, 0x94D0404669418F92ULL, 0x168066863B38867FULL, 0x9F8B774CA37D06ACULL,
          0xB105F9C66B6B469DULL, 0x0A9C4C0CB81E0A90ULL, 0xDF210C48FB4629ADULL}},
        {2,
         {0xD85A59C171F26027ULL, 0x94D0404669418F92ULL, 0x5C0DA7451C2AACA9ULL, 0x9F8B774CA37D06ACULL,
          0x0D0E50410F10488FULL, 0xB105F9C66B6B469DULL, 0x0A9C4C0CB81E0A90ULL, 0xDF210C48FB4629ADULL,
          0x4694088959093A32ULL, 0x879ADB6BEA8C39EBULL, 0x3D9A80FFDAA433FFULL}},
        {4,
         {0x15D16BA2C8A53E67ULL, 0x94D0404669418F92ULL, 0x123699A4D1C5423DULL, 0x9F8B774CA37D06ACULL,
          0x0D0E50410F10488FULL, 0x4E0CE5C6240A04ABULL, 0x22F655476FD5A2F5ULL, 0xB105F9C66B6B469DULL,
          0x0A9C4C0CB81E0A90ULL, 0xDF210C48FB4629ADULL, 0x4694088959093A32ULL, 0x879ADB6BEA8C39EBULL,
          0x3D9A80FFDAA433FFULL, 0x939273943FD1B37BULL, 0xF7DF77C0CDC015D7ULL, 0x8B8ACF4185A137DDULL,
          0x77299BA0050B02FBULL, 0xA6BA8F02A773FC5EULL, 0x14037DF4EFAC11E4ULL}}};
    std::vector<std::byte> meta(100), record(50 + 7 * static_cast<std::size_t>(comm.rank())), bulk(3000);
    for (std::size_t i = 0; i < meta.size(); ++i) meta[i] = static_cast<std::byte>(i * 3);
    for (std::size_t i = 0; i < record.size(); ++i)
        record[i] = static_cast<std::byte>(i * 5 + std::size_t(comm.rank()));
    for (std::size_t i = 0; i < bulk.size(); ++i) bulk[i] = static_cast<std::byte>(i * 11 + std::size_t(comm.rank()));
    const fs::path path = pel::io::detail::write_checkpoint(comm, scratch.path(), 42,
                                                            {{"job", "pin"}, {"options", "a = 1\n"}, {"empty", ""}},
                                                            meta, part_of(record, bulk), 1, 1 << 20, 1024);
    std::vector<std::uint64_t> sums;
    for (const char* name : {"checksums", "segment_sums"}) {
        std::vector<std::uint64_t> dims;
        const auto bytes = pel::io::read_array(path, name, pel::ScalarType::u64, dims);
        const std::size_t at = sums.size();
        sums.resize(at + bytes.size() / 8);
        std::memcpy(sums.data() + at, bytes.data(), bytes.size());
    }
    const auto found = pinned.find(comm.size());
    if (found != pinned.end()) CHECK(sums == found->second);
    CHECK(pel::io::read_checkpoint(path).index.meta == meta);
    comm.barrier();
}
