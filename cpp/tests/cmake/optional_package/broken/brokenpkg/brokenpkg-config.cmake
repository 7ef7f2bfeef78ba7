# A package config that fails as Debian's dnnl-config.cmake does without OpenCL: its own
# dependency is required, whatever QUIET the caller gave.
find_package(LoupeNoSuchDependency REQUIRED)
add_library(Broken::broken INTERFACE IMPORTED)
