#pragma once
// Calls from Java go through these wrappers so every native failure reaches Java as one
// exception whose message starts with the stable error kind ("[model_load] ..."); the Java
// side (dev.loupe.LoupeException) turns that prefix back into an ErrorKind. JavaCPP itself
// maps any std::exception to RuntimeException(what()).
#include <new>
#include <stdexcept>
#include <string>

#include "loupe/loupe.h"

namespace loupe::jni {

template <class Call>
auto with_error_kind(Call&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("[out_of_memory] native allocation failed");
  } catch (const std::exception& error) {
    throw std::runtime_error(std::string("[") + loupe::error_kind_of(error) + "] " + error.what());
  } catch (...) {
    throw std::runtime_error("[internal] unknown native exception");
  }
}

inline std::string version() {
  return with_error_kind([] { return loupe::version(); });
}

inline loupe::ModelInfo inspect_model(const std::string& model_dir) {
  return with_error_kind([&] { return loupe::inspect_model(model_dir); });
}

}  // namespace loupe::jni
