// exec/log_test.cpp: one_line, which makes every logged and reported message one safe line.
#include "exec/log.hpp"

#include <catch2/catch.hpp>

using pel::exec::one_line;

TEST_CASE("one_line keeps printable text and valid UTF-8 as it is", "[log]") {
    CHECK(one_line("cannot write 'out.h5': No space left") == "cannot write 'out.h5': No space left");
    CHECK(one_line("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xb5s") ==
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xb5s");
}

TEST_CASE("one_line shows control characters, the newline among them, as \\xNN", "[log]") {
    CHECK(one_line("x\x1b]0;pwned\x07\x1b[2J") == "x\\x1b]0;pwned\\x07\\x1b[2J");
    CHECK(one_line("a\nb\rc\td") == "a\\x0ab\\x0dc\\x09d");
    CHECK(one_line(std::string("a\0b", 3)) == "a\\x00b");
    CHECK(one_line("\x7f") == "\\x7f");
    CHECK(one_line("h\xc2\x9b"
                   "31m") == "h\\xc2\\x9b31m");  // a C1 control (CSI), obeyed by some terminals
}

TEST_CASE("one_line shows bytes that are not UTF-8 as \\xNN, one at a time", "[log]") {
    CHECK(one_line("\xff\xfe") == "\\xff\\xfe");
    CHECK(one_line("caf\xc3") == "caf\\xc3");                       // cut short at the end
    CHECK(one_line("\xc3(") == "\\xc3(");                           // a lead byte without its continuation
    CHECK(one_line("\xc0\xaf") == "\\xc0\\xaf");                    // overlong
    CHECK(one_line("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // a surrogate
    CHECK(one_line("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
    CHECK(one_line("\x80\xc3\xa9") == "\\x80\xc3\xa9");             // a stray continuation, then a valid character
}
