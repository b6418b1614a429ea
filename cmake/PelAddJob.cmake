# pel_add_job(NAME SOURCES...): builds job plugin NAME as the shared module pel_NAME.so that `pel run NAME` loads.
function(pel_add_job name)
  if(NOT name MATCHES "^[a-z0-9_-]+$")
    message(FATAL_ERROR "pel_add_job: job name '${name}' must use only a-z, 0-9, '-' and '_'")
  endif()
  set(target "pel_job_${name}")
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE pel::core)
  set_target_properties(${target} PROPERTIES PREFIX "" OUTPUT_NAME "pel_${name}"
                                             CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED PEL_JOB_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${PEL_JOB_OUTPUT_DIR}")
  endif()
endfunction()
