// make_cuda_backend: loads libloupe_cuda.so on first use and asks it for a backend.
// libloupe has no link dependency on CUDA; a machine without the library, the CUDA
// runtime, a driver or a GPU gets Error(NoDevice) carrying the loader's reason.
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/cuda_entry.h"

namespace loupe {
namespace {

using AbiFn = int (*)();
using CreateFn = void* (*)(int, int, char*, size_t, int*);

struct CudaLibrary {
  CreateFn create = nullptr;
  std::string error;  // why it could not be loaded, when create is null
};

// Directory of the module (libloupe.so or an executable) this code was linked into.
std::string own_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_directory), &info) == 0 || !info.dli_fname) return {};
  std::string path = info.dli_fname;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

CudaLibrary load_library() {
  // Candidates in order: an explicit path, next to libloupe, then the loader's search path.
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("LOUPE_CUDA_LIBRARY"); env && *env) candidates.push_back(env);
  if (auto dir = own_directory(); !dir.empty()) candidates.push_back(dir + LOUPE_CUDA_LIBRARY_NAME);
  candidates.push_back(LOUPE_CUDA_LIBRARY_NAME);

  CudaLibrary lib;
  std::string tried;
  for (const auto& path : candidates) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      const std::string reason = why ? why : path;
      if (tried.find(reason) == std::string::npos) tried += (tried.empty() ? "" : "; ") + reason;
      continue;
    }
    auto abi = reinterpret_cast<AbiFn>(dlsym(handle, "loupe_cuda_abi_version"));
    auto create = reinterpret_cast<CreateFn>(dlsym(handle, "loupe_cuda_create_backend"));
    if (!abi || !create) {
      tried += "; " + path + " lacks the loupe_cuda entry points";
      dlclose(handle);
      continue;
    }
    if (abi() != LOUPE_CUDA_ABI_VERSION) {
      tried += "; " + path + " has ABI " + std::to_string(abi()) + ", expected " +
               std::to_string(LOUPE_CUDA_ABI_VERSION);
      dlclose(handle);
      continue;
    }
    lib.create = create;  // kept loaded for the life of the process
    return lib;
  }
  lib.error = "cannot load the CUDA backend (" + tried + ")";
  return lib;
}

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int device_index, CudaAttention attention) {
  static std::once_flag once;
  static CudaLibrary lib;
  std::call_once(once, [] { lib = load_library(); });
  LOUPE_CHECK(lib.create, NoDevice, "cuda:", device_index, " requested but ", lib.error);

  char error[512] = {0};
  int kind = int(ErrorKind::NoDevice);
  void* backend = lib.create(device_index, attention == CudaAttention::Fast ? 1 : 0, error, sizeof error, &kind);
  if (!backend) throw Error(static_cast<ErrorKind>(kind), error);
  return std::unique_ptr<Backend>(static_cast<Backend*>(backend));
}

}  // namespace loupe
