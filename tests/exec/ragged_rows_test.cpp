// tests/exec/ragged_rows_test.cpp: ragged rows travel whole (to their owners, through a checkpoint's row block),
// damaged bytes are refused with an I/O error, and the written values and offsets do not depend on which rank
// held which rows.
#include "exec/ragged_rows.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "io/arrays.hpp"
#include "support/scratch.hpp"

using namespace pel::exec;

namespace {

/// Item i's values: i % 4 of them, i * 10 + k (so items 0, 4, 8, ... are empty).
std::vector<std::int32_t> values_of(std::uint64_t i) {
    std::vector<std::int32_t> v;
    for (std::uint64_t k = 0; k < i % 4; ++k) v.push_back(static_cast<std::int32_t>(i * 10 + k));
    return v;
}

/// The rows of `items` (any order of items that are not repeated), as a batch would collect them.
RaggedRows rows_of(const std::vector<std::uint64_t>& items) {
    RaggedBatch batch(1);
    for (const std::uint64_t i : items) {
        const auto v = values_of(i);
        batch.append(0, i, std::as_bytes(std::span(v)));
    }
    return batch.take(0);
}

template <class T>
std::vector<T> read(const std::string& file, const std::string& name) {
    std::vector<std::uint64_t> dims;
    const auto bytes = pel::io::read_array(file, name, pel::scalar_type_of<T>::value, dims);
    std::vector<T> out(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
}

}  // namespace

TEST_CASE("ragged rows keep their items' values through a row block and a merge", "[exec][ragged]") {
    const RaggedRows a = rows_of({7, 1, 3});
    const RaggedRows b = rows_of({2, 9});
    const RaggedRows both = merged_rows({from_block(to_block(b), 4, 10), from_block(to_block(a), 4, 10)});
    CHECK(both.items == std::vector<std::uint64_t>{1, 2, 3, 7, 9});
    CHECK(both.sizes == std::vector<std::uint64_t>{4, 8, 12, 12, 4});
    std::vector<std::int32_t> values(both.values.size() / 4);
    std::memcpy(values.data(), both.values.data(), both.values.size());
    CHECK(values == std::vector<std::int32_t>{10, 20, 21, 30, 31, 32, 70, 71, 72, 90});
}

TEST_CASE("appends to one item keep their order, whatever came between them", "[exec][ragged]") {
    RaggedBatch batch(2);
    const auto add = [&](std::uint64_t item, std::int32_t value) {
        batch.append(1, item, std::as_bytes(std::span(&value, 1)));
    };
    add(5, 50);
    add(2, 20);
    add(5, 51);
    add(2, 21);
    add(5, 52);
    CHECK_FALSE(batch.touched(0));
    const RaggedRows rows = batch.take(1);
    CHECK(rows.items == std::vector<std::uint64_t>{2, 5});
    CHECK(rows.sizes == std::vector<std::uint64_t>{8, 12});
    std::vector<std::int32_t> values(rows.values.size() / 4);
    std::memcpy(values.data(), rows.values.data(), rows.values.size());
    CHECK(values == std::vector<std::int32_t>{20, 21, 50, 51, 52});
    CHECK_FALSE(batch.touched(1));  // taken
}

TEST_CASE("damaged ragged row blocks are an I/O error, never a crash", "[exec][ragged]") {
    pel::io::RowBlock block = to_block(rows_of({1, 2, 3}));
    SECTION("an item past the output") { CHECK_THROWS_WITH(from_block(block, 4, 3), Catch::Contains("item 3 of 3")); }
    SECTION("values that are not whole elements") {
        CHECK_THROWS_WITH(from_block(block, 8, 10), Catch::Contains("bytes for an item"));
    }
    SECTION("truncated") {
        block.bytes.resize(block.bytes.size() - 1);
        CHECK_THROWS_WITH(from_block(block, 4, 10), Catch::Contains("do not add up"));
    }
    SECTION("a count of items larger than the bytes") {
        block.bytes[7] = std::byte{0x7f};
        CHECK_THROWS_WITH(from_block(block, 4, 10), Catch::Contains("items in"));
    }
    SECTION("more than one row") {
        block.count = 2;
        CHECK_THROWS_WITH(from_block(block, 4, 10), Catch::Contains("not 1"));
    }
}

TEST_CASE("ragged outputs are written the same whichever rank holds which rows", "[exec][ragged]") {
    const pel::mpi::Comm comm;
    const pel::test::ScratchDir dir(comm);
    const std::uint64_t items = 101;
    const auto ranks = static_cast<std::uint64_t>(comm.size());
    const auto me = static_cast<std::uint64_t>(comm.rank());
    const RaggedOutput output{"nested/list", pel::ScalarType::i32, items, 4, "a list per item"};
    // Two ways to deal the items: round robin, and in reverse blocks; both must give the same file.
    for (const bool round_robin : {true, false}) {
        std::vector<std::uint64_t> mine;
        for (std::uint64_t i = 0; i < items; ++i) {
            const std::uint64_t holder = round_robin ? i % ranks : ranks - 1 - i * ranks / items;
            if (holder == me) mine.push_back(i);
        }
        const RaggedRows owned = to_owners(comm, items, {rows_of(mine)});
        const std::string path = dir.file(round_robin ? "rr.h5" : "blocks.h5");
        {
            pel::io::ResultsFile out(comm, path);
            write_ragged(out, comm, output, owned);
            out.commit();
        }
        const auto offsets = read<std::uint64_t>(path, "nested/list/offsets");
        const auto values = read<std::int32_t>(path, "nested/list/values");
        REQUIRE(offsets.size() == items + 1);
        CHECK(offsets.front() == 0);
        CHECK(offsets.back() == values.size());
        for (std::uint64_t i = 0; i < items; ++i) {
            const std::vector<std::int32_t> row(values.begin() + static_cast<std::ptrdiff_t>(offsets[i]),
                                                values.begin() + static_cast<std::ptrdiff_t>(offsets[i + 1]));
            CHECK(row == values_of(i));
        }
    }
}
