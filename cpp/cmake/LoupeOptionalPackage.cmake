# loupe_optional_package(<name> <result-var> [TARGET <imported-target>]): finds an optional
# CONFIG package without letting it break configure.
#
# `find_package(... QUIET)` is not enough: a package config may itself require a package
# that is missing (Debian's dnnl-config.cmake needs OpenCL) and stop configure with a hard
# error. So the package is first found in a child CMake run; only when that succeeds is it
# found here. <result-var> is set to TRUE or FALSE in the caller's scope, and one status line
# says which and why. The probe's answer is cached per package config location; set
# CMAKE_DISABLE_FIND_PACKAGE_<name>=ON to turn the package off.
function(loupe_optional_package name result_var)
  cmake_parse_arguments(ARG "" "TARGET" "" ${ARGN})
  set(${result_var} FALSE PARENT_SCOPE)
  if(CMAKE_DISABLE_FIND_PACKAGE_${name})
    message(STATUS "loupe: optional ${name} off (CMAKE_DISABLE_FIND_PACKAGE_${name})")
    return()
  endif()

  set(key "${${name}_DIR}|${CMAKE_PREFIX_PATH}")
  if(NOT DEFINED LOUPE_PROBE_${name}_KEY OR NOT LOUPE_PROBE_${name}_KEY STREQUAL key)
    set(dir ${CMAKE_BINARY_DIR}/optional-package-probes/${name})
    set(check "")
    if(ARG_TARGET)
      set(check "if(NOT TARGET ${ARG_TARGET})\n  message(FATAL_ERROR \"no target ${ARG_TARGET}\")\nendif()\n")
    endif()
    file(WRITE ${dir}/src/CMakeLists.txt
      "cmake_minimum_required(VERSION 3.25)\nproject(probe_${name} LANGUAGES C CXX)\n"
      "find_package(${name} CONFIG REQUIRED)\n${check}")
    file(REMOVE_RECURSE ${dir}/build)
    set(args -S ${dir}/src -B ${dir}/build -G ${CMAKE_GENERATOR}
             -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER})
    if(${name}_DIR)
      list(APPEND args -D${name}_DIR=${${name}_DIR})
    endif()
    if(CMAKE_PREFIX_PATH)
      string(REPLACE ";" "\\;" prefix "${CMAKE_PREFIX_PATH}")
      list(APPEND args "-DCMAKE_PREFIX_PATH=${prefix}")
    endif()
    execute_process(COMMAND ${CMAKE_COMMAND} ${args}
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(rc EQUAL 0)
      set(usable TRUE)
      set(why "")
    else()
      set(usable FALSE)
      # The first error line names the cause (package not found, or what its config needs).
      string(REGEX MATCH "CMake Error[^\n]*\n[^\n]*\n?[^\n]*" why "${err}")
      string(REGEX REPLACE "[ \t\n]+" " " why "${why}")
    endif()
    set(LOUPE_PROBE_${name}_KEY "${key}" CACHE INTERNAL "")
    set(LOUPE_PROBE_${name}_USABLE ${usable} CACHE INTERNAL "")
    set(LOUPE_PROBE_${name}_WHY "${why}" CACHE INTERNAL "")
  endif()

  if(NOT LOUPE_PROBE_${name}_USABLE)
    message(STATUS "loupe: optional ${name} off: its package config does not load (${LOUPE_PROBE_${name}_WHY})")
    return()
  endif()
  find_package(${name} CONFIG QUIET)
  if(${name}_FOUND)
    message(STATUS "loupe: optional ${name} on (${${name}_DIR})")
    set(${result_var} TRUE PARENT_SCOPE)
  else()
    message(STATUS "loupe: optional ${name} off: found by the probe but not here")
  endif()
endfunction()
