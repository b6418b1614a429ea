// tests/unit_main.cpp: main of the unit test executable (no MPI); Catch2 supplies it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
