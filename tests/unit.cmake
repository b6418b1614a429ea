# tests/unit.cmake: the unit tests (Catch2, no MPI) and the check that each public core header compiles on its own.
# Included from tests/CMakeLists.txt.

add_executable(pel_unit_tests
  "${CMAKE_CURRENT_LIST_DIR}/unit_main.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/app/config_file_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/app/printable_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/app/job_options_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/app/run_options_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/core/archive_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/core/durable_file_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/core/exact_sum_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/core/job_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/core/merge_check_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/core/options_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/core/random_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/exec/arena_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/exec/levels_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/exec/frontier_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/exec/log_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/exec/result_names_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/io/checksum_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/sched/policy_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/sched/rank_stats_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/sched/techniques_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/sched/scheduler_test.cpp"
  "${CMAKE_CURRENT_LIST_DIR}/sched/selection_test.cpp"

  "${CMAKE_CURRENT_LIST_DIR}/sched/supply_test.cpp")
target_compile_definitions(pel_unit_tests PRIVATE PEL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(pel_unit_tests PRIVATE pel::core pel::sched pel::io pel::exec pel::app Catch2::Catch2 pel_warnings)
add_test(NAME unit COMMAND pel_unit_tests)
set_tests_properties(unit PROPERTIES LABELS "unit" TIMEOUT 60)

# One translation unit per public header of pel::core that includes only that header (twice), so a header that
# leans on an include it does not make, or lacks its include guard, breaks the build. version.hpp is generated.
file(GLOB pel_core_public_headers CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/framework/core/include/pel/*.hpp")
list(TRANSFORM pel_core_public_headers REPLACE "^.*/" "")
list(APPEND pel_core_public_headers version.hpp)
list(REMOVE_DUPLICATES pel_core_public_headers)
set(pel_header_compile_sources "")
foreach(PEL_HEADER IN LISTS pel_core_public_headers)
  string(REGEX REPLACE "\\.hpp$" "" pel_header_stem "${PEL_HEADER}")
  set(pel_header_source "${CMAKE_CURRENT_BINARY_DIR}/header_compile/${pel_header_stem}.cpp")
  configure_file("${CMAKE_CURRENT_LIST_DIR}/core/header_compile_test.cpp.in" "${pel_header_source}" @ONLY)
  list(APPEND pel_header_compile_sources "${pel_header_source}")
endforeach()
add_library(pel_core_header_compile_test OBJECT ${pel_header_compile_sources})
target_link_libraries(pel_core_header_compile_test PRIVATE pel::core pel_warnings)
add_dependencies(pel_unit_tests pel_core_header_compile_test)
