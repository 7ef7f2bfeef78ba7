# CUDA detection. LOUPE_CUDA=AUTO builds the CUDA backend when nvcc is found: under
# CUDAToolkit_ROOT, in the project-local toolchain scripts/install-cuda-toolchain puts
# in .toolchain/cuda (PyPI wheels), or on the PATH. Sets LOUPE_HAVE_CUDA.
#
# The backend becomes its own shared library, libloupe_cuda.so, which libloupe loads
# with dlopen only when a CUDA device is asked for: libloupe itself never links cudart
# or cuBLASLt and runs on machines without them.
set(LOUPE_HAVE_CUDA OFF)
if(NOT LOUPE_CUDA STREQUAL "OFF")
  set(_local_cuda ${PROJECT_SOURCE_DIR}/../.toolchain/cuda)
  if(NOT CUDAToolkit_ROOT AND EXISTS ${_local_cuda}/bin/nvcc)
    get_filename_component(_local_cuda ${_local_cuda} ABSOLUTE)
    set(CUDAToolkit_ROOT ${_local_cuda} CACHE PATH "CUDA toolkit used for the CUDA backend" FORCE)
  endif()
  if(CUDAToolkit_ROOT AND NOT CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_COMPILER ${CUDAToolkit_ROOT}/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_ARCHITECTURES ${LOUPE_CUDA_ARCHITECTURES})
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
    enable_language(CUDA)
    # CMake < 3.26 does not know nvcc's C++20 switch; the sources share C++20 headers.
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    # CMake < 3.27 tags CUDA::nvToolsExt as deprecated even when the library is absent,
    # as it is from CUDA 13 on; an empty placeholder target lets FindCUDAToolkit finish.
    if(CMAKE_VERSION VERSION_LESS 3.27 AND NOT TARGET CUDA::nvToolsExt)
      add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
    endif()
    find_package(CUDAToolkit REQUIRED)
    set(LOUPE_HAVE_CUDA ON)
  elseif(LOUPE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "LOUPE_CUDA=ON but no CUDA compiler was found (run scripts/install-cuda-toolchain)")
  endif()
endif()
message(STATUS "loupe: CUDA backend ${LOUPE_HAVE_CUDA} (architectures ${LOUPE_CUDA_ARCHITECTURES}, nvcc: ${CMAKE_CUDA_COMPILER})")
