// SPDX-License-Identifier: MIT
#include "formats/structure.hpp"

#include "util/error.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <vector>

namespace hfmodels::formats {

namespace {

// Reads from the file front to back, refusing to read past its end.
class Reader {
public:
  Reader(const std::filesystem::path& path, std::uint64_t size)
      : m_in(path, std::ios::binary), m_size(size) {
    if (!m_in) {
      throw Error(ErrorKind::failure, "cannot read " + path.string(), "it cannot be opened");
    }
  }

  std::uint64_t offset() const { return m_offset; }
  std::uint64_t left() const { return m_size - m_offset; }

  // False when the file ends first.
  bool read(void* data, std::uint64_t count) {
    if (count > left()) {
      return false;
    }
    m_in.read(static_cast<char*>(data), static_cast<std::streamsize>(count));
    m_offset += count;
    return static_cast<bool>(m_in);
  }

  template<typename T>
  bool value(T& out) {
    std::array<unsigned char, sizeof(T)> bytes{};
    if (!read(bytes.data(), bytes.size())) {
      return false;
    }
    // Little-endian on disk, whatever this machine is.
    std::uint64_t result = 0;
    for (std::size_t i = bytes.size(); i-- > 0;) {
      result = (result << 8) | bytes[i];
    }
    out = static_cast<T>(result);
    return true;
  }

  bool skip(std::uint64_t count) {
    if (count > left()) {
      return false;
    }
    m_in.seekg(static_cast<std::streamoff>(count), std::ios::cur);
    m_offset += count;
    return static_cast<bool>(m_in);
  }

private:
  std::ifstream m_in;
  std::uint64_t m_size;
  std::uint64_t m_offset = 0;
};

bool ends_with(std::string_view path, std::string_view suffix) {
  return path.size() >= suffix.size() &&
         util::to_lower(path.substr(path.size() - suffix.size())) == suffix;
}

// A login page, an error page or a proxy's notice saved under the model's name: what a
// download tool that follows a redirect to an HTML page leaves behind.
bool looks_like_html(std::string_view start) {
  std::size_t i = 0;
  if (start.starts_with("\xEF\xBB\xBF")) {
    i = 3;
  }
  while (i < start.size() &&
         (start[i] == ' ' || start[i] == '\t' || start[i] == '\r' || start[i] == '\n')) {
    ++i;
  }
  const std::string head = util::to_lower(start.substr(i, 64));
  return head.starts_with("<!doctype html") || head.starts_with("<html") ||
         head.starts_with("<head") || head.starts_with("<!--") || head.starts_with("<body");
}

// ggml tensor types: block size in elements and bytes per block (ggml.c's type_traits). A type
// not listed is checked for its offset only.
struct TypeSize {
  std::uint32_t block;
  std::uint32_t bytes;
};
std::optional<TypeSize> ggml_type_size(std::uint32_t type) {
  static const std::array<std::pair<std::uint32_t, TypeSize>, 32> sizes = {{
      {0, {1, 4}},      {1, {1, 2}},      {2, {32, 18}},    {3, {32, 20}},    {6, {32, 22}},
      {7, {32, 24}},    {8, {32, 34}},    {9, {32, 36}},    {10, {256, 84}},  {11, {256, 110}},
      {12, {256, 144}}, {13, {256, 176}}, {14, {256, 210}}, {15, {256, 292}}, {16, {256, 66}},
      {17, {256, 74}},  {18, {256, 98}},  {19, {256, 50}},  {20, {32, 18}},   {21, {256, 110}},
      {22, {256, 82}},  {23, {256, 136}}, {24, {1, 1}},     {25, {1, 2}},     {26, {1, 4}},
      {27, {1, 8}},     {28, {1, 8}},     {29, {256, 56}},  {30, {1, 2}},     {34, {256, 54}},
      {35, {256, 66}},  {39, {32, 17}},
  }};
  for (const auto& [id, size] : sizes) {
    if (id == type) {
      return size;
    }
  }
  return std::nullopt;
}

std::optional<std::string> gguf_problem(Reader& in) {
  std::array<char, 4> magic{};
  std::uint32_t version = 0;
  std::uint64_t tensors = 0;
  std::uint64_t values = 0;
  if (!in.read(magic.data(), 4) || std::memcmp(magic.data(), "GGUF", 4) != 0) {
    return "not a GGUF file: it does not start with `GGUF`";
  }
  if (!in.value(version) || !in.value(tensors) || !in.value(values)) {
    return "a GGUF file cut short in its header";
  }
  if (version < 2 || version > 3) {
    return "GGUF version " + std::to_string(version) + " (2 and 3 are the versions in use)";
  }
  // Every tensor info takes at least 24 bytes and every value 12: counts beyond what the file
  // could hold are a damaged header, refused before anything is read for them.
  // Beyond what any model has (the largest hold tens of thousands of tensors): a bound on what
  // an untrusted header makes this allocate.
  constexpr std::uint64_t k_max_tensors = 1u << 20;
  if (tensors > in.left() / 24 || values > in.left() / 12 || tensors > k_max_tensors) {
    return "a GGUF header whose counts (" + std::to_string(tensors) + " tensors, " +
           std::to_string(values) + " values) exceed the file";
  }
  std::uint64_t alignment = 32;
  const auto read_string = [&](std::string* out) -> bool {
    std::uint64_t length = 0;
    if (!in.value(length) || length > in.left()) {
      return false;
    }
    if (out && length <= 256) {
      out->resize(length);
      return in.read(out->data(), length);
    }
    return in.skip(length);
  };
  constexpr std::array<std::uint32_t, 13> scalar_bytes = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  const auto skip_value = [&](std::uint32_t type, std::uint64_t* number) -> bool {
    if (type == 8) {
      return read_string(nullptr);
    }
    if (type == 9) {
      std::uint32_t item_type = 0;
      std::uint64_t count = 0;
      if (!in.value(item_type) || !in.value(count) || item_type == 9 || item_type > 12) {
        return false;
      }
      if (item_type == 8) {
        for (std::uint64_t i = 0; i < count; ++i) {
          if (!read_string(nullptr)) {
            return false;
          }
        }
        return true;
      }
      const std::uint64_t bytes = scalar_bytes[item_type];
      return count <= in.left() / bytes && in.skip(count * bytes);
    }
    if (type > 12) {
      return false;
    }
    if (number && (type == 4 || type == 5)) {
      std::uint32_t value = 0;
      const bool ok = in.value(value);
      *number = value;
      return ok;
    }
    if (number && (type == 10 || type == 11)) {
      return in.value(*number);
    }
    return in.skip(scalar_bytes[type]);
  };
  for (std::uint64_t i = 0; i < values; ++i) {
    std::string key;
    std::uint32_t type = 0;
    if (!read_string(&key) || !in.value(type)) {
      return "a GGUF file cut short in its metadata";
    }
    std::uint64_t number = 0;
    if (!skip_value(type, key == "general.alignment" ? &number : nullptr)) {
      return "a GGUF file whose metadata value `" + key + "` is damaged or cut short";
    }
    if (key == "general.alignment") {
      if (number == 0 || number > 65536 || (number & (number - 1)) != 0) {
        return "a GGUF file with an alignment of " + std::to_string(number);
      }
      alignment = number;
    }
  }
  struct Tensor {
    std::string name;
    std::uint64_t offset = 0;
    std::optional<std::uint64_t> bytes;
  };
  std::vector<Tensor> infos;
  for (std::uint64_t i = 0; i < tensors; ++i) {
    Tensor tensor;
    std::uint32_t dims = 0;
    if (!read_string(&tensor.name) || !in.value(dims) || dims > 8) {
      return "a GGUF file cut short in its tensor table";
    }
    std::uint64_t elements = 1;
    bool overflow = false;
    for (std::uint32_t d = 0; d < dims; ++d) {
      std::uint64_t extent = 0;
      if (!in.value(extent)) {
        return "a GGUF file cut short in its tensor table";
      }
      overflow = overflow || (extent != 0 && elements > UINT64_MAX / extent);
      elements *= extent;
    }
    std::uint32_t type = 0;
    if (!in.value(type) || !in.value(tensor.offset)) {
      return "a GGUF file cut short in its tensor table";
    }
    if (const auto size = ggml_type_size(type)) {
      const std::uint64_t blocks = elements / size->block;
      if (overflow || blocks > UINT64_MAX / size->bytes) {
        return "a GGUF file whose tensor `" + tensor.name + "` has an impossible size";
      }
      tensor.bytes = blocks * size->bytes;
    }
    infos.push_back(std::move(tensor));
  }
  const std::uint64_t data_start = (in.offset() + alignment - 1) / alignment * alignment;
  const std::uint64_t file_size = in.offset() + in.left();
  for (const auto& tensor : infos) {
    const std::uint64_t end = tensor.bytes ? tensor.offset + *tensor.bytes : tensor.offset;
    if (data_start > file_size || end > file_size - data_start || end < tensor.offset) {
      return "a GGUF file cut short: tensor `" + tensor.name + "` ends at byte " +
             std::to_string(data_start + end) + " of " + std::to_string(file_size);
    }
  }
  return std::nullopt;
}

std::optional<std::string> safetensors_problem(Reader& in, std::uint64_t size) {
  std::uint64_t length = 0;
  if (!in.value(length)) {
    return "not a safetensors file: shorter than its 8-byte header length";
  }
  // The format caps the header at 100 MB.
  if (length > in.left() || length > 100'000'000) {
    return "not a safetensors file, or one cut short: its header length (" +
           std::to_string(length) + " bytes) exceeds the file";
  }
  std::string header(length, '\0');
  in.read(header.data(), length);
  const auto json = nlohmann::json::parse(header, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return "not a safetensors file: its header is not a JSON object";
  }
  std::uint64_t extent = 0;
  for (const auto& [name, tensor] : json.items()) {
    if (name == "__metadata__") {
      continue;
    }
    const auto offsets = tensor.is_object() ? tensor.find("data_offsets") : tensor.end();
    if (!tensor.is_object() || offsets == tensor.end() || !offsets->is_array() ||
        offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned() ||
        (*offsets)[0].get<std::uint64_t>() > (*offsets)[1].get<std::uint64_t>()) {
      return "a safetensors header whose tensor `" + name + "` has no valid data_offsets";
    }
    extent = std::max(extent, (*offsets)[1].get<std::uint64_t>());
  }
  // `length` fits the file (checked above), so this cannot wrap.
  const std::uint64_t data = size - 8 - length;
  if (extent != data) {
    const std::string described =
        extent > UINT64_MAX - 8 - length ? "more than 2^64" : std::to_string(8 + length + extent);
    return "a safetensors file of " + std::to_string(size) + " bytes whose header describes " +
           described + (extent > data ? " (cut short)" : " (bytes left over)");
  }
  return std::nullopt;
}

} // namespace

bool is_html_page(const std::filesystem::path& path, std::string_view repo_path,
                  std::uint64_t size) {
  if (ends_with(repo_path, ".html") || ends_with(repo_path, ".htm") ||
      ends_with(repo_path, ".md")) {
    return false;
  }
  std::array<char, 256> start{};
  const std::uint64_t peek = std::min<std::uint64_t>(size, start.size());
  Reader head(path, size);
  head.read(start.data(), peek);
  return looks_like_html(std::string_view(start.data(), peek));
}

std::optional<std::string> structure_problem(const std::filesystem::path& path,
                                             std::string_view repo_path, std::uint64_t size) {
  Reader in(path, size);
  if (ends_with(repo_path, ".gguf")) {
    return gguf_problem(in);
  }
  if (ends_with(repo_path, ".safetensors")) {
    return safetensors_problem(in, size);
  }
  if (ends_with(repo_path, ".json") && size <= (64u << 20)) {
    std::string text(size, '\0');
    in.read(text.data(), size);
    if (nlohmann::json::parse(text, nullptr, false).is_discarded()) {
      return "not valid JSON";
    }
  }
  return std::nullopt;
}

} // namespace hfmodels::formats
