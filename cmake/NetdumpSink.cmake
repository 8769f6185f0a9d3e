# SPDX-License-Identifier: BSD-2-Clause
# nd_add_sink(NAME SOURCES src... [LIBS lib...])
# Builds sinks/NAME as NAME.so: a MODULE with hidden visibility that
# exports only its descriptor, refuses undefined symbols at link time, sits
# in the build tree's sinks/ folder and installs beside the daemon's others.
# Its sources, as absolute paths, are the global property
# ND_SINK_SOURCES_NAME, for unit tests that compile a module in.
function(nd_add_sink name)
  cmake_parse_arguments(ARG "NOINSTALL" "" "SOURCES;LIBS" ${ARGN})
  set(abs)
  foreach(src ${ARG_SOURCES})
    get_filename_component(a ${src} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND abs ${a})
  endforeach()
  set_property(GLOBAL PROPERTY ND_SINK_SOURCES_${name} ${abs})
  add_library(sink_${name} MODULE ${ARG_SOURCES}
    ${PROJECT_SOURCE_DIR}/sinks/common/sinkutil.c)
  set_target_properties(sink_${name} PROPERTIES
    OUTPUT_NAME ${name} PREFIX ""
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${ND_SINK_BUILD_DIR})
  target_include_directories(sink_${name} PRIVATE
    ${PROJECT_SOURCE_DIR}/core/include ${PROJECT_SOURCE_DIR}/sinks/common)
  target_link_options(sink_${name} PRIVATE -Wl,--no-undefined -Wl,-z,defs)
  target_link_libraries(sink_${name} PRIVATE ${ARG_LIBS})
  if(NOT ARG_NOINSTALL)
    install(TARGETS sink_${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/netdump-server)
  endif()
endfunction()
