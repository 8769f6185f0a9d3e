# SPDX-License-Identifier: BSD-2-Clause
# Run one libFuzzer target for SECONDS over CORPUS, seeded from SEEDS
# (called by the fuzz.<name> tests; see CMakeLists.txt).
foreach(v FUZZER SEEDS CORPUS ARTIFACTS NAME SECONDS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_fuzzer.cmake: ${v} is not set")
  endif()
endforeach()

# The fuzzer writes new inputs into its corpus: never into the sources.
file(MAKE_DIRECTORY ${CORPUS} ${ARTIFACTS})
file(GLOB seeds ${SEEDS}/*)
file(COPY ${seeds} DESTINATION ${CORPUS})

execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10
    -print_final_stats=1 -artifact_prefix=${ARTIFACTS}/${NAME}- ${CORPUS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_${NAME} failed (${rc}); the input that "
    "failed is in ${ARTIFACTS}/${NAME}-*")
endif()
