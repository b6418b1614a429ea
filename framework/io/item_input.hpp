// io/item_input.hpp: one input dataset whose rows belong to items, open on this rank, read a range of items at a
// time (an HDF5 hyperslab, independent of the other ranks), so that no rank ever holds the whole dataset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/h5.hpp"
#include "pel/types.hpp"

namespace pel::io {

/// The shape of an item input, as the job sees it.
struct ItemInputShape {
    std::vector<std::uint64_t> dims;    ///< the dataset's extent, slowest first
    std::uint64_t items = 0;            ///< items it holds: dims[0] / rows_per_item
    std::uint64_t values_per_item = 0;  ///< rows_per_item times the values of one row
};

/// Dataset `dataset` of file `file`, open for reading ranges of items. Serial: each rank opens its own, and reads
/// only what it asks for; one thread at a time.
class ItemInputFile {
  public:
    /// Opens the dataset and checks it: it exists, holds numbers, has at least one dimension, and its rows divide
    /// into items of `rows_per_item`. `items` > 0: the job needs that many items, and the dataset must have them
    /// (the items beyond are not read). Each failure is one line naming the file and the dataset.
    ItemInputFile(const std::string& file, const std::string& dataset, ScalarType type, std::uint64_t rows_per_item,
                  std::uint64_t items);

    [[nodiscard]] const ItemInputShape& shape() const noexcept { return shape_; }
    /// Bytes of one item's values, as read (in the job's type).
    [[nodiscard]] std::size_t item_bytes() const noexcept { return item_bytes_; }
    /// Reads the values of items [first, first + count) into `into` (count * item_bytes() bytes).
    void read(std::uint64_t first, std::uint64_t count, std::span<std::byte> into) const;

  private:
    std::string file_;
    std::string dataset_;
    ScalarType type_;
    std::uint64_t rows_per_item_;
    ItemInputShape shape_;
    std::size_t item_bytes_ = 0;
    h5::Handle f_;
    h5::Handle ds_;
};

}  // namespace pel::io
