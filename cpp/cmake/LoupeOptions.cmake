# Compiler flags shared by every component.
add_compile_options(-Wall -Wextra -Wno-unused-parameter)
if(LOUPE_NATIVE)
  add_compile_options(-march=native)
endif()
if(LOUPE_SANITIZE)
  string(REPLACE ";" "," _san "${LOUPE_SANITIZE}")
  add_compile_options(-fsanitize=${_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_san})
endif()

# loupe_component(<name> SOURCES ... [DEPS ...]): a static PIC library loupe_<name>
# with the public and internal include roots.
function(loupe_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(loupe_${name} STATIC ${ARG_SOURCES})
  target_include_directories(loupe_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(loupe_${name} PUBLIC ${ARG_DEPS})
  set_property(GLOBAL APPEND PROPERTY LOUPE_COMPONENTS loupe_${name})
endfunction()

# loupe_use_built_cuda(<target>): when the CUDA backend is built, <target> (a test or
# bench) loads that freshly built libloupe_cuda.so explicitly, wherever it was linked,
# with the toolkit's runtime beside it. No-op without CUDA.
function(loupe_use_built_cuda target)
  if(TARGET loupe_cuda)
    add_dependencies(${target} loupe_cuda)
    target_compile_definitions(${target} PRIVATE LOUPE_CUDA_LIBRARY_PATH="$<TARGET_FILE:loupe_cuda>"
                                                  LOUPE_CUDA_RUNTIME_DIR="${CUDAToolkit_LIBRARY_DIR}")
  endif()
endfunction()
