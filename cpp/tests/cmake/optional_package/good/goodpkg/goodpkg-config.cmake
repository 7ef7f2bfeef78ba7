# A package config that loads: the module must turn it on.
add_library(Good::good INTERFACE IMPORTED)
set(goodpkg_FOUND TRUE)
