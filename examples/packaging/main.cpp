// SPDX-License-Identifier: MIT
// model-info: prints what its shipped model holds. Installed, it finds the model relative to its
// own executable (<exe dir>/../share/model-info/models/chat); run from the build tree, it falls
// back to the cache folder that HFModels::chat gave it at build time.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace {

namespace fs = std::filesystem;

// The model's folder and where it was found. /proc/self/exe is Linux's; macOS would use
// _NSGetExecutablePath and Windows GetModuleFileNameW.
fs::path model_dir(const std::string& name, std::string& where) {
  std::error_code error;
  const auto exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    const auto installed =
        (exe.parent_path() / MODEL_INFO_MODELS_FROM_BIN / name).lexically_normal();
    if (fs::is_directory(installed, error)) {
      where = "installed";
      return installed;
    }
  }
  where = "build tree";
  return HFMODELS_CHAT_DIR;
}

template<typename T>
T read_le(std::ifstream& in) {
  T value{};
  in.read(reinterpret_cast<char*>(&value), sizeof value); // x86 and ARM are little-endian
  if (!in) {
    throw std::runtime_error("truncated file");
  }
  return value;
}

} // namespace

int main() {
  try {
    std::string where;
    const auto dir = model_dir("chat", where);
    std::printf("model chat: %s (%s)\n", dir.c_str(), where.c_str());
    int found = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (entry.path().extension() != ".gguf") {
        continue;
      }
      std::ifstream in(entry.path(), std::ios::binary);
      if (read_le<std::uint32_t>(in) != 0x46554747) { // "GGUF" read little-endian
        throw std::runtime_error(entry.path().string() + " is not a GGUF file");
      }
      const auto version = read_le<std::uint32_t>(in);
      const auto tensors = read_le<std::uint64_t>(in);
      const auto metadata = read_le<std::uint64_t>(in);
      std::printf(
          "%s: %llu bytes, %s, GGUF v%u, %llu tensors, %llu metadata keys\n",
          entry.path().filename().c_str(), static_cast<unsigned long long>(entry.file_size()),
          entry.is_symlink() ? "symlink" : "regular file", version,
          static_cast<unsigned long long>(tensors), static_cast<unsigned long long>(metadata));
      ++found;
    }
    if (found == 0) {
      std::fprintf(stderr, "model-info: no GGUF file in %s\n", dir.c_str());
      return 1;
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "model-info: %s\n", error.what());
    return 1;
  }
  return 0;
}
