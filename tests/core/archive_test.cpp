// tests/core/archive_test.cpp: saving values with pel::OutArchive and restoring them with pel::InArchive.
#include "pel/archive.hpp"

#include <array>
#include <bit>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pel/error.hpp"

namespace {

struct Pod {
    std::int32_t a = 0;
    double b = 0;
    std::array<char, 3> c{};
    friend bool operator==(const Pod&, const Pod&) = default;
};

/// Trivially copyable, but lists its fields, so it is saved field by field without padding.
struct Packed {
    std::uint8_t a = 0;
    std::uint64_t b = 0;
    template <class A>
    void fields(A& ar) {
        ar("a", a)("b", b);
    }
    friend bool operator==(const Packed&, const Packed&) = default;
};

struct Inner {
    std::vector<std::int64_t> ids;
    Pod pod;
    template <class A>
    void fields(A& ar) {
        ar("ids", ids)("pod", pod);
    }
    friend bool operator==(const Inner&, const Inner&) = default;
};

struct Record {
    std::string name;
    std::vector<double> values;
    std::uint8_t flag = 0;
    std::array<std::string, 2> tags;
    std::vector<Inner> inners;
    template <class A>
    void fields(A& ar) {
        ar("name", name)("values", values)("flag", flag)("tags", tags)("inners", inners);
    }
    friend bool operator==(const Record&, const Record&) = default;
};

/// Neither trivially copyable nor listing fields: saved through its own pel::Serializer specialisation.
class Handle {
  public:
    Handle() = default;
    explicit Handle(int v) : value_(std::make_unique<int>(v)) {}
    Handle(const Handle& other) : value_(other.value_ ? std::make_unique<int>(*other.value_) : nullptr) {}
    Handle& operator=(const Handle& other) {
        value_ = other.value_ ? std::make_unique<int>(*other.value_) : nullptr;
        return *this;
    }
    ~Handle() = default;
    [[nodiscard]] int get() const { return value_ ? *value_ : -1; }
    void set(int v) { value_ = std::make_unique<int>(v); }

  private:
    std::unique_ptr<int> value_;
};

/// Thrown by GuardAllocator instead of allocating more than a test allows.
struct AllocationTooLarge {};

/// An allocator that refuses large requests, so a test can see whether corrupt input makes a loader allocate.
template <class T>
struct GuardAllocator {
    using value_type = T;
    static constexpr std::size_t kLimitBytes = std::size_t{1} << 20;
    GuardAllocator() = default;
    template <class U>
    GuardAllocator(const GuardAllocator<U>& /*other*/) noexcept {}  // NOLINT: allocators convert implicitly
    T* allocate(std::size_t n) {
        if (n > kLimitBytes / sizeof(T)) throw AllocationTooLarge{};
        return std::allocator<T>{}.allocate(n);
    }
    void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>{}.deallocate(p, n); }
    template <class U>
    friend bool operator==(const GuardAllocator& /*a*/, const GuardAllocator<U>& /*b*/) noexcept {
        return true;
    }
};

template <class T>
T round_trip(const T& value) {
    T out{};
    pel::from_bytes(pel::to_bytes(value), out);
    return out;
}

auto has_code(pel::ExitCode code) {
    return Catch::Matchers::Predicate<pel::Error>([code](const pel::Error& e) { return e.code() == code; },
                                                  "has the expected exit code");
}

/// Every strict prefix of `bytes` fails to load as a T with an io error, and so does `bytes` plus one byte.
template <class T>
void check_truncations_and_trailing_bytes(const std::vector<std::byte>& bytes) {
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        CAPTURE(n, bytes.size());
        T value{};
        CHECK_THROWS_MATCHES(pel::from_bytes(std::span(bytes.data(), n), value), pel::Error,
                             has_code(pel::ExitCode::io));
    }
    std::vector<std::byte> longer = bytes;
    longer.push_back(std::byte{0});
    T value{};
    CHECK_THROWS_MATCHES(pel::from_bytes(longer, value), pel::Error, has_code(pel::ExitCode::io));
    CHECK_THROWS_WITH(pel::from_bytes(longer, value), Catch::Contains("trailing"));
}

std::vector<std::byte> bytes_of_u64(std::uint64_t n) { return pel::to_bytes(n); }

}  // namespace

template <>
struct pel::Serializer<Handle> {
    static void save(OutArchive& a, const Handle& h) { a(static_cast<std::int32_t>(h.get())); }
    static void load(InArchive& a, Handle& h) {
        std::int32_t v = 0;
        a(v);
        h.set(v);
    }
};

TEST_CASE("Archive round trips trivially copyable values", "[core][archive]") {
    CHECK(round_trip(std::int32_t{-5}) == -5);
    CHECK(round_trip(std::numeric_limits<std::uint64_t>::max()) == std::numeric_limits<std::uint64_t>::max());
    CHECK(round_trip(true));
    CHECK(std::bit_cast<std::uint64_t>(round_trip(-0.0)) == std::bit_cast<std::uint64_t>(-0.0));
    const Pod pod{-7, 2.5, {'x', '\0', 'z'}};
    CHECK(round_trip(pod) == pod);
    CHECK(pel::to_bytes(pod).size() == sizeof(Pod));  // saved as its bytes
}

TEST_CASE("Archive round trips strings", "[core][archive]") {
    for (const std::string& s : {std::string(), std::string("hello"), std::string("with\0nul", 8),
                                 std::string("caf\xc3\xa9 \xe2\x82\xac"), std::string(100000, 'q')}) {
        CAPTURE(s.size());
        CHECK(round_trip(s) == s);
        CHECK(pel::to_bytes(s).size() == 8 + s.size());  // a 64-bit length, then the bytes
    }
    SECTION("loading replaces what was there") {
        std::string target = "old contents that are longer";
        pel::from_bytes(pel::to_bytes(std::string("new")), target);
        CHECK(target == "new");
    }
}

TEST_CASE("Archive round trips vectors", "[core][archive]") {
    const std::vector<double> doubles{1.0, -2.5, 1e300, std::numeric_limits<double>::denorm_min()};
    CHECK(round_trip(doubles) == doubles);
    CHECK(round_trip(std::vector<double>{}).empty());
    CHECK(pel::to_bytes(doubles).size() == 8 + doubles.size() * sizeof(double));

    const std::vector<Pod> pods{{1, 1.5, {'a', 'b', 'c'}}, {2, -0.5, {}}};
    CHECK(round_trip(pods) == pods);

    const std::vector<std::string> strings{"", "a", std::string(1000, 'b'), "tail"};
    CHECK(round_trip(strings) == strings);

    const std::vector<std::vector<std::string>> nested{{}, {"x"}, {"", "yy", "zzz"}, {std::string(300, 'w')}};
    CHECK(round_trip(nested) == nested);

    const std::vector<Packed> packed{{1, 2}, {3, 4}};
    CHECK(round_trip(packed) == packed);
    CHECK(pel::to_bytes(packed).size() == 8 + 2 * 9);  // element by element, through fields()

    SECTION("loading replaces what was there") {
        std::vector<std::string> target{"stale", "stale", "stale", "stale", "stale"};
        pel::from_bytes(pel::to_bytes(std::vector<std::string>{"fresh"}), target);
        CHECK(target == std::vector<std::string>{"fresh"});
        std::vector<double> numbers(10, 9.0);
        pel::from_bytes(pel::to_bytes(std::vector<double>{1.0}), numbers);
        CHECK(numbers == std::vector<double>{1.0});
    }
}

TEST_CASE("Archive round trips std::array", "[core][archive]") {
    const std::array<int, 4> ints{1, -2, 3, -4};
    CHECK(round_trip(ints) == ints);
    CHECK(pel::to_bytes(ints).size() == sizeof(ints));

    const std::array<std::string, 3> strings{"a", "", "ccc"};
    CHECK(round_trip(strings) == strings);

    const std::array<std::vector<int>, 2> vectors{std::vector<int>{1, 2, 3}, std::vector<int>{}};
    CHECK(round_trip(vectors) == vectors);
}

TEST_CASE("Archive round trips a struct that lists its fields", "[core][archive]") {
    Record r;
    r.name = "run 7";
    r.values = {0.25, -8.0};
    r.flag = 3;
    r.tags = {"alpha", "beta"};
    r.inners = {Inner{{1, 2, 3}, Pod{4, 5.0, {'p', 'q', 'r'}}}, Inner{{}, Pod{}}};
    CHECK(round_trip(r) == r);

    SECTION("a trivially copyable struct with fields() is saved field by field") {
        const Packed p{0xab, 0x0102030405060708ULL};
        CHECK(pel::to_bytes(p).size() == 9);
        CHECK(round_trip(p) == p);
    }
    SECTION("fields are written in the order listed") {
        pel::OutArchive out;
        out(std::string("run 7"));
        const std::vector<std::byte> head = out.bytes();
        const std::vector<std::byte> all = pel::to_bytes(r);
        REQUIRE(all.size() > head.size());
        CHECK(std::equal(head.begin(), head.end(), all.begin()));
    }
}

TEST_CASE("Archive uses a Serializer specialisation for other types", "[core][archive]") {
    CHECK(round_trip(Handle(42)).get() == 42);
    const std::vector<Handle> handles{Handle(1), Handle(2)};
    const auto back = round_trip(handles);
    REQUIRE(back.size() == 2);
    CHECK(back[0].get() == 1);
    CHECK(back[1].get() == 2);
}

TEST_CASE("Archive reads several values from one buffer", "[core][archive]") {
    pel::OutArchive out;
    out(std::int16_t{3})("label", std::string("abc"))(std::vector<float>{1.5f});
    const std::vector<std::byte> bytes = out.take();
    pel::InArchive in(bytes);
    std::int16_t i = 0;
    std::string s;
    std::vector<float> v;
    in(i);
    CHECK_FALSE(in.at_end());
    in("label", s)(v);
    CHECK(in.at_end());
    CHECK(i == 3);
    CHECK(s == "abc");
    CHECK(v == std::vector<float>{1.5f});
    float extra = 0;
    CHECK_THROWS_MATCHES(in(extra), pel::Error, has_code(pel::ExitCode::io));
}

TEST_CASE("Archive: truncated input and trailing bytes are io errors", "[core][archive]") {
    check_truncations_and_trailing_bytes<std::int64_t>(pel::to_bytes(std::int64_t{77}));
    check_truncations_and_trailing_bytes<Pod>(pel::to_bytes(Pod{1, 2.0, {'a', 'b', 'c'}}));
    check_truncations_and_trailing_bytes<std::string>(pel::to_bytes(std::string("truncate me")));
    check_truncations_and_trailing_bytes<std::vector<double>>(pel::to_bytes(std::vector<double>{1, 2, 3}));
    check_truncations_and_trailing_bytes<std::vector<std::vector<std::string>>>(
        pel::to_bytes(std::vector<std::vector<std::string>>{{"a", "bb"}, {}, {"ccc"}}));
    check_truncations_and_trailing_bytes<std::array<std::string, 2>>(
        pel::to_bytes(std::array<std::string, 2>{"x", "yz"}));
    Record r;
    r.name = "n";
    r.values = {1.0};
    r.tags = {"t", ""};
    r.inners = {Inner{{5}, Pod{}}};
    check_truncations_and_trailing_bytes<Record>(pel::to_bytes(r));

    SECTION("an empty buffer") {
        std::string s;
        CHECK_THROWS_MATCHES(pel::from_bytes({}, s), pel::Error, has_code(pel::ExitCode::io));
    }
}

TEST_CASE("Archive: absurd lengths are io errors", "[core][archive]") {
    SECTION("a string longer than 2^30 bytes") {
        std::string s;
        CHECK_THROWS_MATCHES(pel::from_bytes(bytes_of_u64((std::uint64_t{1} << 30) + 1), s), pel::Error,
                             has_code(pel::ExitCode::io));
    }
    SECTION("a vector of more than 2^40 bytes") {
        std::vector<double> v;
        CHECK_THROWS_MATCHES(pel::from_bytes(bytes_of_u64(std::uint64_t{1} << 40), v), pel::Error,
                             has_code(pel::ExitCode::io));
        std::vector<std::string> strings;
        CHECK_THROWS_MATCHES(pel::from_bytes(bytes_of_u64(std::numeric_limits<std::uint64_t>::max()), strings),
                             pel::Error, has_code(pel::ExitCode::io));
    }
}

// A corrupt or truncated length must not make the loader allocate before it notices the input is too short.
TEST_CASE("Archive: a vector length beyond the input is an io error before any allocation", "[core][archive]") {
    SECTION("trivially copyable elements") {
        std::vector<double, GuardAllocator<double>> v;  // 2^30 doubles claimed, 8 GiB, with no bytes behind them
        CHECK_THROWS_MATCHES(pel::from_bytes(bytes_of_u64(std::uint64_t{1} << 30), v), pel::Error,
                             has_code(pel::ExitCode::io));
    }
    SECTION("elements saved one by one") {
        std::vector<std::string, GuardAllocator<std::string>> v;
        CHECK_THROWS_MATCHES(pel::from_bytes(bytes_of_u64(std::uint64_t{1} << 30), v), pel::Error,
                             has_code(pel::ExitCode::io));
    }
}
