// tests/app/printable_test.cpp: app::printable shows a file's control characters instead of sending them on.
#include "app/printable.hpp"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("printable keeps text and newlines and shows control characters", "[app][printable]") {
    using pel::app::printable;
    CHECK(printable("plain text, ünïcödé\nline two\n") == "plain text, ünïcödé\nline two\n");
    CHECK(printable("\x1b]0;title\x07\x1b[2J") == "\\x1b]0;title\\x07\\x1b[2J");
    CHECK(printable("a\rb\tc\x7f") == "a\\x0db\\x09c\\x7f");
    CHECK(printable(std::string("nul\0end", 7)) == "nul\\x00end");
    CHECK(printable("csi \xc2\x9b"
                    "31m") == "csi \\xc2\\x9b31m");  // U+009B, a C1 control
    CHECK(printable("\xc2\xa0") == "\xc2\xa0");      // U+00A0 is not one
}
