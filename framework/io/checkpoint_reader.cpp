// io/checkpoint_reader.cpp: reading one checkpoint file back, verified: its index (the small parts) whole, its bulk
// by ranges, segment by segment. The layout is in io/checkpoint_format.hpp.
#include <algorithm>
#include <cstring>

#include "io/checkpoint_file.hpp"
#include "io/checkpoint_format.hpp"
#include "io/checksum.hpp"
#include "pel/error.hpp"

namespace fs = std::filesystem;

namespace pel::io {

namespace {

using namespace checkpoint_format;

/// Opens 1-d dataset `name` of unsigned integers of `element` bytes (u8 or u64), checking its type and shape;
/// `extent` is set to its length.
h5::Handle open_vector(hid_t file, const char* name, std::size_t element, const std::string& where,
                       std::uint64_t& extent) {
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) throw Error::Io(where + ": dataset '" + name + "' is missing");
    h5::Handle ds = h5::checked(H5Dopen2(file, name, H5P_DEFAULT), where + ": cannot open dataset '" + name + "'");
    h5::Handle type = h5::checked(H5Dget_type(ds.id()), where + ": H5Dget_type");
    h5::Handle space = h5::checked(H5Dget_space(ds.id()), where + ": H5Dget_space");
    if (H5Tget_class(type.id()) != H5T_INTEGER || H5Tget_size(type.id()) != element ||
        H5Sget_simple_extent_ndims(space.id()) != 1) {
        throw Error::Io(where + ": dataset '" + name + "' has the wrong type or shape");
    }
    hsize_t n = 0;
    h5::check(H5Sget_simple_extent_dims(space.id(), &n, nullptr), where + ": H5Sget_simple_extent_dims");
    extent = n;
    return ds;
}

/// Reads elements [from, from + into.size() / element) of 1-d dataset `ds` into `into`.
void read_range(hid_t ds, std::size_t element, std::uint64_t from, std::span<std::byte> into, const std::string& what) {
    const hsize_t count = into.size() / element;
    if (count == 0) return;
    const hsize_t start = from;
    h5::Handle file_space = h5::checked(H5Dget_space(ds), what + ": H5Dget_space");
    h5::Handle mem_space = h5::checked(H5Screate_simple(1, &count, nullptr), "H5Screate_simple");
    h5::check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
              what + ": H5Sselect_hyperslab");
    const hid_t memory = element == 1 ? H5T_NATIVE_UINT8 : H5T_NATIVE_UINT64;
    h5::check(H5Dread(ds, memory, mem_space.id(), file_space.id(), H5P_DEFAULT, into.data()), what);
}

/// Reads the whole of 1-d dataset `name` of u64.
std::vector<std::uint64_t> read_u64s(hid_t file, const char* name, const std::string& where) {
    std::uint64_t n = 0;
    h5::Handle ds = open_vector(file, name, 8, where, n);
    std::vector<std::uint64_t> values(n);
    read_range(ds.id(), 8, 0, std::as_writable_bytes(std::span(values)),
               where + ": cannot read dataset '" + std::string(name) + "'");
    return values;
}

std::uint64_t sum_of(const std::vector<std::uint64_t>& values) {
    std::uint64_t total = 0;
    for (const std::uint64_t v : values) total += v;
    return total;
}

/// Opens checkpoint `path` read-only with the serial driver (a reader needs no other rank), after checking it is
/// an HDF5 file at all.
h5::Handle open_file(const fs::path& path, const std::string& where) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw Error::Io(where + " does not exist or is not a file");
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw Error::Io(where + " is not an HDF5 file (damaged or truncated)");
    }
    return h5::checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open " + where);
}

}  // namespace

std::vector<std::byte> CheckpointIndex::to_bytes() const {
    OutArchive out;
    out(path.string())(sequence);
    save_attributes(out, attributes);
    out(meta)(records)(bulk_sizes)(segment_bytes)(segment_sums);
    return out.take();
}

CheckpointIndex CheckpointIndex::from_bytes(std::span<const std::byte> bytes) {
    InArchive in(bytes);
    CheckpointIndex index;
    std::string path;
    in(path)(index.sequence);
    index.path = path;
    index.attributes = load_attributes(in);
    in(index.meta)(index.records)(index.bulk_sizes)(index.segment_bytes)(index.segment_sums);
    return index;
}

CheckpointIndex read_checkpoint_index(const std::filesystem::path& path) {
    const h5::QuietErrors quiet;
    const std::string where = "checkpoint '" + path.string() + "'";
    h5::Handle file = open_file(path, where);

    CheckpointIndex index;
    index.path = path;
    if (H5Aexists(file.id(), kFormatAttribute) <= 0) throw Error::Io(where + " is not a pel checkpoint (no format)");
    bool have_sequence = false;
    for (const std::string& name : h5::attribute_names(file.id(), where)) {
        h5::Handle attr = h5::checked(H5Aopen(file.id(), name.c_str(), H5P_DEFAULT),
                                      where + ": cannot open attribute '" + name + "'");
        if (name == kFormatAttribute) {
            const std::string format = h5::read_fixed_text(attr.id(), name, where);
            if (format == "1") {
                throw Error::Io(where +
                                " has format version '1', written by an older pel that this one cannot "
                                "resume from");
            }
            if (format != kFormat) throw Error::Io(where + " has unknown format version '" + format + "'");
        } else if (name == kSequenceAttribute) {
            h5::check(H5Aread(attr.id(), H5T_NATIVE_UINT64, &index.sequence),
                      where + ": cannot read attribute 'sequence'");
            have_sequence = true;
        } else {
            index.attributes.emplace(name, h5::read_fixed_text(attr.id(), name, where));
        }
    }
    if (!have_sequence) throw Error::Io(where + ": attribute 'sequence' is missing");

    const auto sums = read_u64s(file.id(), kChecksums, where);
    const auto record_sizes = read_u64s(file.id(), kRecordSizes, where);
    index.bulk_sizes = read_u64s(file.id(), kBulkSizes, where);
    const std::size_t ranks = record_sizes.size();
    if (sums.size() != 3 + ranks || index.bulk_sizes.size() != ranks) {
        throw Error::Io(where + ": 'checksums', 'record_sizes' and 'bulk_sizes' do not match");
    }
    std::uint64_t meta_size = 0, records_total = 0, bulk_total = 0, segment_count = 0;
    h5::Handle meta = open_vector(file.id(), kMeta, 1, where, meta_size);
    h5::Handle records = open_vector(file.id(), kRecords, 1, where, records_total);
    h5::Handle bulk = open_vector(file.id(), kBulk, 1, where, bulk_total);
    h5::Handle segment_sums = open_vector(file.id(), kSegmentSums, 8, where, segment_count);
    if (H5Aexists(segment_sums.id(), kSegmentBytesAttribute) <= 0) {
        throw Error::Io(where + ": attribute 'segment_bytes' is missing");
    }
    {
        h5::Handle attr = h5::checked(H5Aopen(segment_sums.id(), kSegmentBytesAttribute, H5P_DEFAULT),
                                      where + ": cannot open attribute 'segment_bytes'");
        h5::check(H5Aread(attr.id(), H5T_NATIVE_UINT64, &index.segment_bytes),
                  where + ": cannot read attribute 'segment_bytes'");
    }
    // The header holds every size: verified first, so no damaged size is ever trusted.
    if (checksum(header_record(index.sequence, index.attributes, meta_size, record_sizes, index.bulk_sizes,
                               index.segment_bytes),
                 kHeaderSeed) != sums[kHeaderSeed]) {
        throw Error::Io(where + ": checksum mismatch in the header (attributes, sequence or sizes)");
    }
    std::uint64_t expected_segments = 0;
    for (const std::uint64_t size : index.bulk_sizes) expected_segments += segments(size, index.segment_bytes);
    if (index.segment_bytes == 0 || records_total != sum_of(record_sizes) || bulk_total != sum_of(index.bulk_sizes) ||
        segment_count != expected_segments) {
        throw Error::Io(where + ": the stored sizes do not add up to its datasets");
    }

    index.meta.resize(meta_size);
    read_range(meta.id(), 1, 0, index.meta, where + ": cannot read dataset 'meta'");
    if (checksum(index.meta, kMetaSeed) != sums[kMetaSeed]) throw Error::Io(where + ": checksum mismatch in meta");
    index.segment_sums.resize(segment_count);
    read_range(segment_sums.id(), 8, 0, std::as_writable_bytes(std::span(index.segment_sums)),
               where + ": cannot read dataset 'segment_sums'");
    if (checksum(std::as_bytes(std::span(index.segment_sums)), kSegmentSumsSeed) != sums[kSegmentSumsSeed]) {
        throw Error::Io(where + ": checksum mismatch in the bulk's segment checksums");
    }
    std::uint64_t offset = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
        auto& record = index.records.emplace_back(record_sizes[r]);
        read_range(records.id(), 1, offset, record, where + ": cannot read the record of rank " + std::to_string(r));
        if (checksum(record, record_seed(r)) != sums[record_seed(r)]) {
            throw Error::Io(where + ": checksum mismatch in the record of rank " + std::to_string(r));
        }
        offset += record_sizes[r];
    }
    return index;
}

CheckpointReader::CheckpointReader(const CheckpointIndex& index)
    : index_(index), where_("checkpoint '" + index.path.string() + "'") {
    const h5::QuietErrors quiet;
    file_ = open_file(index_.path, where_);
    std::uint64_t extent = 0;
    bulk_ = open_vector(file_.id(), kBulk, 1, where_, extent);
    std::uint64_t offset = 0, segment = 0;
    for (const std::uint64_t size : index_.bulk_sizes) {
        offsets_.push_back(offset);
        first_segment_.push_back(segment);
        offset += size;
        segment += segments(size, index_.segment_bytes);
    }
    if (extent != offset || segment != index_.segment_sums.size()) {
        throw Error::Io(where_ + ": its bulk is not the size its index says");
    }
}

void CheckpointReader::hold(std::size_t rank, std::uint64_t segment) {
    if (rank == held_rank_ && segment == held_segment_) return;
    const std::string which = "segment " + std::to_string(segment) + " of the bulk of rank " + std::to_string(rank);
    held_segment_ = ~std::uint64_t{0};  // nothing valid is held until the new one checks out
    const std::uint64_t from = segment * index_.segment_bytes;
    held_.resize(std::min(index_.segment_bytes, index_.bulk_sizes[rank] - from));
    {
        const h5::QuietErrors quiet;
        read_range(bulk_.id(), 1, offsets_[rank] + from, held_, where_ + ": cannot read " + which);
    }
    bytes_read_ += held_.size();
    if (checksum(held_, segment_seed(rank, segment)) != index_.segment_sums[first_segment_[rank] + segment]) {
        throw Error::Io(where_ + ": checksum mismatch in " + which);
    }
    held_rank_ = rank;
    held_segment_ = segment;
}

void CheckpointReader::read(std::size_t rank, std::uint64_t from, std::span<std::byte> into) {
    if (rank >= index_.bulk_sizes.size() || from > index_.bulk_sizes[rank] ||
        into.size() > index_.bulk_sizes[rank] - from) {
        throw Error::Io(where_ + ": a read past the end of the bulk of rank " + std::to_string(rank));
    }
    std::uint64_t done = 0;
    while (done < into.size()) {
        const std::uint64_t at = from + done;
        const std::uint64_t segment = at / index_.segment_bytes;
        hold(rank, segment);
        const std::uint64_t offset = at - segment * index_.segment_bytes;
        const std::uint64_t take = std::min<std::uint64_t>(held_.size() - offset, into.size() - done);
        std::memcpy(into.data() + done, held_.data() + offset, take);
        done += take;
    }
}

CheckpointData read_checkpoint(const std::filesystem::path& path) {
    CheckpointData data;
    data.index = read_checkpoint_index(path);
    CheckpointReader reader(data.index);
    for (std::size_t r = 0; r < data.index.bulk_sizes.size(); ++r) {
        auto& bulk = data.bulks.emplace_back(data.index.bulk_sizes[r]);
        reader.read(r, 0, bulk);
    }
    return data;
}

}  // namespace pel::io
